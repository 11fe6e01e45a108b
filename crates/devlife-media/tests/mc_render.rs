//! `media-ctl -p` and `media-ctl --print-dot` of a vimc-shaped media device,
//! byte for byte (spec §1.6, §1.7; media-ctl.c's format strings).

mod mc_util;

use devlife::Monitor;
use devlife_media::mc::render::{self, RenderOptions};
use devlife_media::mc::*;
use devlife_media::uapi::media::*;
use mc_util::*;

const VIMC_P: &str = "\
Media controller API version 6.17.0

Media device information
------------------------
driver          vimc
model           VIMC MDEV
serial          
bus info        platform:vimc
hw revision     0x0
driver version  6.17.0

Device topology
- entity 1: Sensor A (1 pad, 2 links, 0 routes)
            type V4L2 subdev subtype Sensor flags 0
            device node name /dev/v4l-subdev0
\tpad0: SOURCE
\t\t[stream:0 fmt:RGB888_1X24/640x480 field:none colorspace:srgb]
\t\t-> \"Debayer A\":0 [ENABLED,IMMUTABLE]
\t\t-> \"Raw Capture 0\":0 [ENABLED,IMMUTABLE]

- entity 3: Sensor B (1 pad, 2 links, 0 routes)
            type V4L2 subdev subtype Sensor flags 0
            device node name /dev/v4l-subdev1
\tpad0: SOURCE
\t\t[stream:0 fmt:RGB888_1X24/640x480 field:none colorspace:srgb]
\t\t-> \"Debayer B\":0 [ENABLED,IMMUTABLE]
\t\t-> \"Raw Capture 1\":0 [ENABLED,IMMUTABLE]

- entity 5: Debayer A (2 pads, 2 links, 0 routes)
            type V4L2 subdev subtype Unknown flags 0
            device node name /dev/v4l-subdev2
\tpad0: SINK
\t\t[stream:0 fmt:SRGGB8_1X8/640x480 field:none colorspace:srgb]
\t\t<- \"Sensor A\":0 [ENABLED,IMMUTABLE]
\tpad1: SOURCE
\t\t[stream:0 fmt:RGB888_1X24/640x480 field:none colorspace:srgb]
\t\t-> \"Scaler\":0 [ENABLED]

- entity 8: Debayer B (2 pads, 2 links, 0 routes)
            type V4L2 subdev subtype Unknown flags 0
            device node name /dev/v4l-subdev3
\tpad0: SINK
\t\t[stream:0 fmt:SRGGB8_1X8/640x480 field:none colorspace:srgb]
\t\t<- \"Sensor B\":0 [ENABLED,IMMUTABLE]
\tpad1: SOURCE
\t\t[stream:0 fmt:RGB888_1X24/640x480 field:none colorspace:srgb]
\t\t-> \"Scaler\":0 []

- entity 11: Raw Capture 0 (1 pad, 1 link)
             type Node subtype V4L flags 0
             device node name /dev/video0
\tpad0: SINK
\t\t<- \"Sensor A\":0 [ENABLED,IMMUTABLE]

- entity 15: Raw Capture 1 (1 pad, 1 link)
             type Node subtype V4L flags 0
             device node name /dev/video1
\tpad0: SINK
\t\t<- \"Sensor B\":0 [ENABLED,IMMUTABLE]

- entity 19: RGB/YUV Input (1 pad, 1 link, 0 routes)
             type V4L2 subdev subtype Sensor flags 0
             device node name /dev/v4l-subdev4
\tpad0: SOURCE
\t\t[stream:0 fmt:RGB888_1X24/640x480 field:none colorspace:srgb]
\t\t-> \"Scaler\":0 []

- entity 21: Scaler (2 pads, 4 links, 0 routes)
             type V4L2 subdev subtype Unknown flags 0
             device node name /dev/v4l-subdev5
\tpad0: SINK
\t\t[stream:0 fmt:RGB888_1X24/640x480 field:none colorspace:srgb
\t\t crop.bounds:(0,0)/640x480
\t\t crop:(0,0)/640x480]
\t\t<- \"Debayer A\":1 [ENABLED]
\t\t<- \"Debayer B\":1 []
\t\t<- \"RGB/YUV Input\":0 []
\tpad1: SOURCE
\t\t[stream:0 fmt:RGB888_1X24/640x480 field:none colorspace:srgb]
\t\t-> \"RGB/YUV Capture\":0 [ENABLED,IMMUTABLE]

- entity 24: RGB/YUV Capture (1 pad, 1 link)
             type Node subtype V4L flags 0
             device node name /dev/video2
\tpad0: SINK
\t\t<- \"Scaler\":1 [ENABLED,IMMUTABLE]

- entity 28: Lens A (0 pad, 0 link, 0 routes)
             type V4L2 subdev subtype Lens flags 0
             device node name /dev/v4l-subdev6

- entity 29: Lens B (0 pad, 0 link, 0 routes)
             type V4L2 subdev subtype Lens flags 0
             device node name /dev/v4l-subdev7

";

const VIMC_DOT: &str = "\
digraph board {
\trankdir=TB
\tn00000001 [label=\"{{} | Sensor A\\n/dev/v4l-subdev0 | {<port0> 0}}\", shape=Mrecord, style=filled, fillcolor=green]
\tn00000001:port0 -> n00000005:port0 [style=bold]
\tn00000001:port0 -> n0000000b [style=bold]
\tn00000003 [label=\"{{} | Sensor B\\n/dev/v4l-subdev1 | {<port0> 0}}\", shape=Mrecord, style=filled, fillcolor=green]
\tn00000003:port0 -> n00000008:port0 [style=bold]
\tn00000003:port0 -> n0000000f [style=bold]
\tn00000005 [label=\"{{<port0> 0} | Debayer A\\n/dev/v4l-subdev2 | {<port1> 1}}\", shape=Mrecord, style=filled, fillcolor=green]
\tn00000005:port1 -> n00000015:port0
\tn00000008 [label=\"{{<port0> 0} | Debayer B\\n/dev/v4l-subdev3 | {<port1> 1}}\", shape=Mrecord, style=filled, fillcolor=green]
\tn00000008:port1 -> n00000015:port0 [style=dashed]
\tn0000000b [label=\"Raw Capture 0\\n/dev/video0\", shape=box, style=filled, fillcolor=yellow]
\tn0000000f [label=\"Raw Capture 1\\n/dev/video1\", shape=box, style=filled, fillcolor=yellow]
\tn00000013 [label=\"{{} | RGB/YUV Input\\n/dev/v4l-subdev4 | {<port0> 0}}\", shape=Mrecord, style=filled, fillcolor=green]
\tn00000013:port0 -> n00000015:port0 [style=dashed]
\tn00000015 [label=\"{{<port0> 0} | Scaler\\n/dev/v4l-subdev5 | {<port1> 1}}\", shape=Mrecord, style=filled, fillcolor=green]
\tn00000015:port1 -> n00000018 [style=bold]
\tn00000018 [label=\"RGB/YUV Capture\\n/dev/video2\", shape=box, style=filled, fillcolor=yellow]
\tn0000001c [label=\"{{} | Lens A\\n/dev/v4l-subdev6 | {}}\", shape=Mrecord, style=filled, fillcolor=green]
\tn0000001d [label=\"{{} | Lens B\\n/dev/v4l-subdev7 | {}}\", shape=Mrecord, style=filled, fillcolor=green]
}
";

/// The excerpt the spec gives (§1.6), which must appear verbatim.
const SPEC_SENSOR_A: &str = "- entity 1: Sensor A (1 pad, 2 links, 0 routes)
            type V4L2 subdev subtype Sensor flags 0
            device node name /dev/v4l-subdev0
\tpad0: SOURCE
\t\t[stream:0 fmt:RGB888_1X24/640x480 field:none colorspace:srgb]
\t\t-> \"Debayer A\":0 [ENABLED,IMMUTABLE]
\t\t-> \"Raw Capture 0\":0 [ENABLED,IMMUTABLE]
";

const SPEC_SCALER_SINK: &str = "- entity 21: Scaler (2 pads, 4 links, 0 routes)
             type V4L2 subdev subtype Unknown flags 0
             device node name /dev/v4l-subdev5
\tpad0: SINK
\t\t[stream:0 fmt:RGB888_1X24/640x480 field:none colorspace:srgb
\t\t crop.bounds:(0,0)/640x480
\t\t crop:(0,0)/640x480]
\t\t<- \"Debayer A\":1 [ENABLED]
\t\t<- \"Debayer B\":1 []
\t\t<- \"RGB/YUV Input\":0 []
";

fn first_diff(a: &str, b: &str) -> String {
    for (i, (x, y)) in a.lines().zip(b.lines()).enumerate() {
        if x != y {
            return format!("line {}: got {x:?}, want {y:?}", i + 1);
        }
    }
    format!("lengths {} vs {}", a.len(), b.len())
}

#[test]
fn media_ctl_p_of_vimc_byte_for_byte() {
    let m = Monitor::new();
    let v = vimc(&m);
    let out = render::media_ctl_print(&v.mdev, &RenderOptions::default()).unwrap();
    assert!(out == VIMC_P, "{}", first_diff(&out, VIMC_P));
    assert!(out.contains(SPEC_SENSOR_A));
    assert!(out.contains(SPEC_SCALER_SINK));
}

#[test]
fn media_ctl_print_dot_of_vimc_byte_for_byte() {
    let m = Monitor::new();
    let v = vimc(&m);
    let out = render::media_ctl_dot(&v.mdev, &RenderOptions::default()).unwrap();
    assert!(out == VIMC_DOT, "{}", first_diff(&out, VIMC_DOT));
}

#[test]
fn rendering_follows_the_graph_and_the_devname_resolver() {
    let m = Monitor::new();
    let v = vimc(&m);
    // Enable Debayer B -> Scaler, give an interval and a field to Sensor B.
    v.mdev
        .setup_link(
            v.pad("Debayer B", 1),
            v.pad("Scaler", 0),
            MEDIA_LNK_FL_ENABLED,
        )
        .unwrap();
    {
        let mut p = v.ops("Sensor B").pads.lock();
        p[0].interval = Some((1, 30));
        if let Some(f) = p[0].format.as_mut() {
            f.xfer_func = 2;
            f.quantization = 1;
        }
    }
    let names = |maj: u32, min: u32| Some(format!("/dev/char/{maj}:{min}"));
    let opts = RenderOptions {
        devname: Some(&names),
    };
    let out = render::media_ctl_print(&v.mdev, &opts).unwrap();
    assert!(
        out.contains("\t\t-> \"Scaler\":0 [ENABLED]\n\n- entity 11"),
        "{out}"
    );
    assert!(out.contains(
        "[stream:0 fmt:RGB888_1X24/640x480@1/30 field:none colorspace:srgb xfer:srgb quantization:full-range]"
    ));
    assert!(out.contains("device node name /dev/char/81:0\n"));
    let dot = render::media_ctl_dot(&v.mdev, &opts).unwrap();
    assert!(dot.contains("\tn00000008:port1 -> n00000015:port0\n"));

    // A subdev without a device node: no device line and no format (media-ctl
    // cannot open it), like an entity of a type media-ctl does not know.
    let mdev = MediaDevice::new(&m, vimc_info(), Lifetime::Framework);
    let e = Entity::new(
        &m,
        EntityDesc::new("Lonely", MEDIA_ENT_F_CAM_SENSOR, EntityType::V4l2Subdev)
            .pads(&[MEDIA_PAD_FL_SOURCE | MEDIA_PAD_FL_MUST_CONNECT]),
        TestOps::new(None, vec![Default::default()]),
    )
    .unwrap();
    mdev.register_entity(&e).unwrap();
    let out = render::media_ctl_print(&mdev, &RenderOptions::default()).unwrap();
    assert!(out.ends_with(
        "- entity 1: Lonely (1 pad, 0 link, 0 routes)\n            type V4L2 subdev subtype Sensor flags 0\n\tpad0: SOURCE,MUST_CONNECT\n\n"
    ), "{out}");
}

#[test]
fn name_tables() {
    assert_eq!(render::mbus_code_name(0x3014), "SRGGB8_1X8");
    assert_eq!(render::mbus_code_name(0xdead), "unknown");
    assert_eq!(render::colorspace_name(4), "unknown");
    assert_eq!(render::colorspace_name(12), "dcip3");
    assert_eq!(render::field_name(9), "interlaced-bt");
    assert_eq!(
        render::entity_subtype_name(MEDIA_ENT_T_DEVNODE_UNKNOWN),
        "Unknown"
    );
    assert_eq!(render::entity_type_name(0x30000), "Unknown");
}
