//! v4l2-compliance's checks in-process: every node of vimc, usb-av and isp
//! through the model's `File` API (`compliance_checks/`), so a regression is
//! caught even where FUSE, root or v4l-utils are missing (the real tool runs
//! in devlife-fuse's `exec_compliance`; docs/compliance.md has both tables).
//! Every node is found from the media graph: the media node's topology gives
//! the interfaces, and each interface's entity gives a subdev's pad count.

mod compliance_checks;

use compliance_checks::{Suite, media, subdev, video};
use devlife_drivers::{Style, isp, usb_av, vimc};
use devlife_media::uapi::media::{MEDIA_LNK_FL_INTERFACE_LINK, MEDIA_LNK_FL_LINK_TYPE};
use devlife_model::{Kernel, NodeKind, OpenFlags};

/// Runs the suites of every node of the only media device of `k`; returns
/// (node, checks run) and panics with every failure.
fn run_all(k: &Kernel) -> Vec<(String, usize)> {
    let nodes = k.nodes();
    let media_nodes: Vec<_> = nodes
        .iter()
        .filter(|n| n.kind() == NodeKind::Media)
        .collect();
    assert_eq!(media_nodes.len(), 1, "one media device");
    let mpath = format!("/dev/{}", media_nodes[0].name());
    let mf = k.open(&mpath, OpenFlags::RDWR).unwrap();
    let mut suites = Vec::new();
    let mut ms = Suite::new(&mpath);
    let topo = media::check(&mut ms, k, &mf);
    suites.push(ms);
    let mut v4l: Vec<_> = nodes
        .iter()
        .filter(|n| matches!(n.kind(), NodeKind::Video | NodeKind::Subdev))
        .collect();
    v4l.sort_by_key(|n| (n.kind() == NodeKind::Subdev, n.name().to_owned()));
    for n in v4l {
        let path = format!("/dev/{}", n.name());
        let mut s = Suite::new(&path);
        let d = n.devt();
        let intf = topo
            .interfaces
            .iter()
            .find(|i| (i.major, i.minor) == (d.major, d.minor));
        let entity = intf.and_then(|i| {
            topo.links
                .iter()
                .find(|l| {
                    l.source_id == i.id
                        && l.flags & MEDIA_LNK_FL_LINK_TYPE == MEDIA_LNK_FL_INTERFACE_LINK
                })
                .map(|l| l.sink_id)
        });
        s.test("the node is an interface of the media graph", || {
            entity
                .map(|_| ())
                .ok_or_else(|| format!("{path} not in the topology"))
        });
        if n.kind() == NodeKind::Video {
            video::check(&mut s, k, &path);
        } else {
            let pads = topo
                .pads
                .iter()
                .filter(|p| Some(p.entity_id) == entity)
                .count() as u32;
            subdev::check(&mut s, k, &path, pads);
        }
        suites.push(s);
    }
    let failed: Vec<String> = suites.iter().filter_map(Suite::report).collect();
    assert!(failed.is_empty(), "{}", failed.join("\n"));
    suites.into_iter().map(|s| (s.node, s.tests)).collect()
}

/// The nodes found and the number of checks each ran (a video node without
/// controls runs one control check, a subdev four per pad): a node, a pad or
/// the controls of a node that silently disappear fail here.
fn assert_shape(got: &[(String, usize)], want: &[(&str, usize)]) {
    let got: Vec<(&str, usize)> = got.iter().map(|(n, t)| (n.as_str(), *t)).collect();
    assert_eq!(got, want);
}

#[test]
fn vimc_passes_on_every_node() {
    let k = Kernel::new();
    let v = vimc::register(&k, Style::Framework).unwrap();
    let got = run_all(&k);
    assert_shape(
        &got,
        &[
            ("/dev/media0", 4),
            ("/dev/video0", 9),
            ("/dev/video1", 9),
            ("/dev/video2", 9),
            ("/dev/v4l-subdev0", 15),
            ("/dev/v4l-subdev1", 15),
            ("/dev/v4l-subdev2", 19),
            ("/dev/v4l-subdev3", 19),
            ("/dev/v4l-subdev4", 15),
            ("/dev/v4l-subdev5", 13),
            ("/dev/v4l-subdev6", 11),
            ("/dev/v4l-subdev7", 11),
        ],
    );
    drop(v);
    assert!(k.monitor().reports().all().is_empty());
}

#[test]
fn usb_av_passes_on_every_node() {
    let k = Kernel::new();
    let av = usb_av::register(&k, Style::Framework).unwrap();
    let _dev = av.plug("1-1").unwrap();
    let got = run_all(&k);
    assert_shape(
        &got,
        &[
            ("/dev/media0", 4),
            ("/dev/video0", 15),
            ("/dev/v4l-subdev0", 17),
        ],
    );
    assert!(k.monitor().reports().all().is_empty());
}

#[test]
fn isp_passes_on_every_node() {
    let k = Kernel::new();
    let i = isp::register(&k, Style::Framework).unwrap();
    let _dev = i.plug(0).unwrap();
    let got = run_all(&k);
    assert_shape(
        &got,
        &[
            ("/dev/media0", 4),
            ("/dev/video0", 9),
            ("/dev/v4l-subdev0", 15),
            ("/dev/v4l-subdev1", 13),
            ("/dev/v4l-subdev2", 13),
            ("/dev/v4l-subdev3", 13),
        ],
    );
    assert!(k.monitor().reports().all().is_empty());
}
