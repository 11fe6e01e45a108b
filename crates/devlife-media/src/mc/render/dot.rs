//! `media-ctl --print-dot`: `media_print_topology_dot`.

use super::*;

impl Topology {
    /// `media-ctl --print-dot`: `media_print_topology_dot`.
    pub fn print_dot(&self) -> String {
        let mut out = String::from("digraph board {\n\trankdir=TB\n");
        for (idx, e) in self.entities.iter().enumerate() {
            let devname = e.devname.as_deref().unwrap_or("");
            let id = e.info.id;
            match e.entity_type() {
                MEDIA_ENT_T_DEVNODE => {
                    let _ = writeln!(
                        out,
                        "\tn{id:08x} [label=\"{}\\n{devname}\", shape=box, style=filled, fillcolor=yellow]",
                        e.name()
                    );
                }
                MEDIA_ENT_T_V4L2_SUBDEV => {
                    let _ = write!(out, "\tn{id:08x} [label=\"{{{{");
                    let ports = |out: &mut String, flag: u32| {
                        let mut n = 0;
                        for (j, f) in e.pad_flags.iter().enumerate() {
                            if f & flag == 0 {
                                continue;
                            }
                            let _ = write!(out, "{}<port{j}> {j}", if n > 0 { " | " } else { "" });
                            n += 1;
                        }
                    };
                    ports(&mut out, MEDIA_PAD_FL_SINK);
                    let _ = write!(out, "}} | {}\\n{devname} | {{", e.name());
                    ports(&mut out, MEDIA_PAD_FL_SOURCE);
                    out.push_str("}}\", shape=Mrecord, style=filled, fillcolor=green]\n");
                }
                _ => continue,
            }
            for l in e.links.iter().filter(|l| l.source_entity == idx) {
                let src = &self.entities[l.source_entity];
                let snk = &self.entities[l.sink_entity];
                let _ = write!(out, "\tn{:08x}", src.info.id);
                if src.entity_type() == MEDIA_ENT_T_V4L2_SUBDEV {
                    let _ = write!(out, ":port{}", l.source_pad);
                }
                let _ = write!(out, " -> n{:08x}", snk.info.id);
                if snk.entity_type() == MEDIA_ENT_T_V4L2_SUBDEV {
                    let _ = write!(out, ":port{}", l.sink_pad);
                }
                if l.flags & MEDIA_LNK_FL_IMMUTABLE != 0 {
                    out.push_str(" [style=bold]");
                } else if l.flags & MEDIA_LNK_FL_ENABLED == 0 {
                    out.push_str(" [style=dashed]");
                }
                out.push('\n');
            }
        }
        out.push_str("}\n");
        out
    }
}
