//! `media-ctl -p` and `media-ctl --print-dot` of a vimc-shaped media device,
//! byte for byte (docs/vimc.md, "media-ctl"; media-ctl.c's format strings).

mod mc_util;
use devlife_testkit::media_ctl::{
    SCALER_EXCERPT, SENSOR_A_EXCERPT, VIMC_DOT, VIMC_P, VIMC_P_1_22, first_diff,
};

use devlife::Monitor;
use devlife_media::mc::render::{self, MediaCtlFormat, RenderOptions};
use devlife_media::mc::*;
use devlife_media::uapi::media::*;
use mc_util::*;

#[test]
fn media_ctl_p_of_vimc_byte_for_byte() {
    let m = Monitor::new();
    let v = vimc(&m);
    let out = render::media_ctl_print(&v.mdev, &RenderOptions::default()).unwrap();
    assert!(out == VIMC_P, "{}", first_diff(&out, VIMC_P));
    assert!(out.contains(SENSOR_A_EXCERPT));
    assert!(out.contains(SCALER_EXCERPT));
}

#[test]
fn media_ctl_1_22_p_of_vimc_byte_for_byte() {
    let m = Monitor::new();
    let v = vimc(&m);
    let opts = RenderOptions {
        format: MediaCtlFormat::V1_22,
        ..RenderOptions::default()
    };
    let out = render::media_ctl_print(&v.mdev, &opts).unwrap();
    assert!(out == VIMC_P_1_22, "{}", first_diff(&out, VIMC_P_1_22));
    // 1.26 already counts routes and names the stream, but keeps Sink/Source.
    let opts = RenderOptions {
        format: MediaCtlFormat::V1_26,
        ..RenderOptions::default()
    };
    let out = render::media_ctl_print(&v.mdev, &opts).unwrap();
    assert!(out.contains("- entity 1: Sensor A (1 pad, 2 links, 0 routes)\n"));
    assert!(out.contains("\tpad0: Source\n\t\t[stream:0 fmt:RGB888_1X24/640x480"));
    assert!(!out.contains("SOURCE"));
    // --print-dot is the same in every release.
    let opts = RenderOptions {
        format: MediaCtlFormat::V1_22,
        ..RenderOptions::default()
    };
    assert_eq!(render::media_ctl_dot(&v.mdev, &opts).unwrap(), VIMC_DOT);
}

#[test]
fn media_ctl_format_follows_the_installed_version() {
    use MediaCtlFormat::*;
    let f = MediaCtlFormat::from_version_output;
    assert_eq!(f("media-ctl 1.22.1\n"), Some(V1_22));
    assert_eq!(f("media-ctl 1.24.1"), Some(V1_22));
    assert_eq!(f("media-ctl 1.26.0"), Some(V1_26));
    assert_eq!(f("media-ctl 1.28.1"), Some(Current));
    assert_eq!(f("media-ctl 1.32.0"), Some(Current));
    assert_eq!(f("media-ctl 2.0"), Some(Current));
    assert_eq!(f("media-ctl"), None);
    assert_eq!(f("media-ctl x.y"), None);
    assert_eq!(f(""), None);
    assert_eq!(MediaCtlFormat::default(), Current);
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
        ..RenderOptions::default()
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
    let mdev = MediaDevice::new(&m, vimc_info());
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
