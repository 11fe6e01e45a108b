//! `media-ctl -p`: `media_print_topology_text` in each release's format.

use super::names::{LINK_FLAGS, PAD_FLAGS, pad_type_name, print_flags};
use super::*;

fn version(v: u32) -> String {
    format!("{}.{}.{}", (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff)
}

fn print_rect(out: &mut String, what: &str, r: Option<Rect>) {
    if let Some(r) = r {
        let _ = write!(
            out,
            "\n\t\t {what}:({},{})/{}x{}",
            r.left, r.top, r.width, r.height
        );
    }
}

/// `v4l2_subdev_print_format` (for stream 0 since 1.26).
fn print_format(out: &mut String, p: &PadInfo, format: MediaCtlFormat) {
    let Some(f): Option<PadFormat> = p.format else {
        return;
    };
    let stream = if format.route_counts() {
        "stream:0 "
    } else {
        ""
    };
    let _ = write!(
        out,
        "\t\t[{stream}fmt:{}/{}x{}",
        mbus_code_name(f.code),
        f.width,
        f.height
    );
    if let Some((n, d)) = p.interval
        && (n != 0 || d != 0)
    {
        let _ = write!(out, "@{n}/{d}");
    }
    if f.field != 0 {
        let _ = write!(out, " field:{}", field_name(f.field));
    }
    if f.colorspace != 0 {
        let _ = write!(out, " colorspace:{}", colorspace_name(f.colorspace));
        if f.xfer_func != 0 {
            let _ = write!(out, " xfer:{}", xfer_func_name(f.xfer_func));
        }
        if f.ycbcr_enc != 0 {
            let _ = write!(out, " ycbcr:{}", ycbcr_enc_name(f.ycbcr_enc));
        }
        if f.quantization != 0 {
            let _ = write!(out, " quantization:{}", quantization_name(f.quantization));
        }
    }
    print_rect(out, "crop.bounds", p.crop_bounds);
    print_rect(out, "crop", p.crop);
    print_rect(out, "compose.bounds", p.compose_bounds);
    print_rect(out, "compose", p.compose);
    out.push_str("]\n");
}

impl Topology {
    /// `media-ctl -p` of the current release: the header and
    /// `media_print_topology_text`.
    pub fn print_text(&self) -> String {
        self.print_text_as(MediaCtlFormat::Current)
    }

    /// `media-ctl -p` as the release of `format` prints it.
    pub fn print_text_as(&self, format: MediaCtlFormat) -> String {
        let mut out = String::new();
        let i = &self.info;
        let _ = write!(
            out,
            "Media controller API version {}\n\n",
            version(i.media_version)
        );
        let _ = write!(
            out,
            "Media device information\n\
             ------------------------\n\
             driver          {}\n\
             model           {}\n\
             serial          {}\n\
             bus info        {}\n\
             hw revision     0x{:x}\n\
             driver version  {}\n\n",
            get_str(&i.driver),
            get_str(&i.model),
            get_str(&i.serial),
            get_str(&i.bus_info),
            i.hw_revision,
            version(i.driver_version)
        );
        out.push_str("Device topology\n");
        for idx in 0..self.entities.len() {
            self.print_entity(&mut out, idx, format);
        }
        out
    }

    fn print_entity(&self, out: &mut String, idx: usize, format: MediaCtlFormat) {
        let e = &self.entities[idx];
        let subdev = e.entity_type() == MEDIA_ENT_T_V4L2_SUBDEV;
        let head = format!("- entity {}: ", e.info.id);
        let padding = head.len();
        out.push_str(&head);
        let pads = u32::from(e.info.pads);
        let nl = e.links.len();
        let _ = write!(
            out,
            "{} ({} pad{}, {} link{}",
            e.name(),
            pads,
            if pads > 1 { "s" } else { "" },
            nl,
            if nl > 1 { "s" } else { "" }
        );
        if subdev && format.route_counts() {
            out.push_str(", 0 routes");
        }
        out.push_str(")\n");
        let _ = writeln!(
            out,
            "{:padding$}type {} subtype {} flags {:x}",
            "",
            entity_type_name(e.info.type_),
            entity_subtype_name(e.info.type_),
            e.info.flags
        );
        if let Some(d) = &e.devname {
            let _ = writeln!(out, "{:padding$}device node name {d}", "");
        }
        for j in 0..pads {
            let _ = write!(out, "\tpad{j}: ");
            let flags = e.pad_flags.get(j as usize).copied().unwrap_or(0);
            if format.pad_flag_list() {
                print_flags(out, &PAD_FLAGS, flags);
            } else {
                out.push_str(pad_type_name(flags));
            }
            out.push('\n');
            if subdev && let Some(Some(p)) = e.pads.get(j as usize) {
                print_format(out, p, format);
            }
            for l in &e.links {
                let (arrow, other, opad) = if l.source_entity == idx && u32::from(l.source_pad) == j
                {
                    ("->", l.sink_entity, l.sink_pad)
                } else if l.sink_entity == idx && u32::from(l.sink_pad) == j {
                    ("<-", l.source_entity, l.source_pad)
                } else {
                    continue;
                };
                let _ = write!(
                    out,
                    "\t\t{arrow} \"{}\":{} [",
                    self.entities[other].name(),
                    opad
                );
                print_flags(out, &LINK_FLAGS, l.flags);
                out.push_str("]\n");
            }
        }
        out.push('\n');
    }
}
