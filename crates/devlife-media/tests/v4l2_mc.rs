//! V4L2 objects as media graph objects: entities, interface devnodes and
//! links, link validation in pipeline start, the upstream walk, media-ctl's
//! view, and the media device kept alive by an open video file (the R7
//! shape: `v4l2_release` must not reach a freed media device).

use devlife_media::mc::render::{RenderOptions, media_ctl_print};
use devlife_media::mc::{DeviceInfo, LinkEnds, MediaDevice, RegisterOptions};
use devlife_media::uapi::media::*;
use devlife_media::uapi::subdev::*;
use devlife_media::uapi::videodev2::*;
use devlife_media::v4l2::*;
use devlife_model::{Errno, KResult, Kernel, OpCtx, OpenFlags};
use devlife_testkit::testcam::{ioc, sensor_default, set_fmt, subdev_fmt};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A subdev whose pads all start with the sensor default and store what
/// they are given.
struct Store;
impl SubdevOps for Store {
    fn init_state(&self, st: &mut SubdevState) {
        for p in 0..st.num_pads() as u32 {
            *st.format_mut(p).unwrap() = sensor_default();
        }
    }
    fn set_fmt(&self, st: &mut SubdevState, f: &mut V4l2SubdevFormat) -> KResult<()> {
        *st.format_mut(f.pad)? = f.format;
        Ok(())
    }
}

/// A capture node that accepts any size.
struct Cap;
impl VideoOps for Cap {
    fn querycap(&self) -> CapStrings {
        CapStrings::default()
    }
    fn enum_fmt(&self, _: &OpCtx<'_>, index: u32, _: u32) -> KResult<FmtDesc> {
        (index == 0)
            .then(|| FmtDesc::new(pix_fmt::RGB24))
            .ok_or(Errno::EINVAL)
    }
    fn try_fmt(&self, _: &OpCtx<'_>, p: &mut V4l2PixFormat) -> KResult<()> {
        p.pixelformat = pix_fmt::RGB24;
        p.bytesperline = p.width * 3;
        p.sizeimage = p.bytesperline * p.height;
        Ok(())
    }
    fn start_streaming(&self, _: &OpCtx<'_>, _: &BufferQueue) -> KResult<()> {
        Ok(())
    }
    fn stop_streaming(&self, _: &BufferQueue) {}
}

struct Graph {
    k: Kernel,
    mdev: MediaDevice,
    v4l2: V4l2Device,
    sensor: Subdev<Store>,
    proc_: Subdev<Store>,
    vdev: VideoDevice<Cap>,
    mdev_released: Arc<AtomicBool>,
}

/// Sensor (source) -> Proc (sink 0, source 1) -> capture, links enabled.
fn build() -> Graph {
    let k = Kernel::new();
    let mdev = MediaDevice::new(
        k.monitor(),
        DeviceInfo {
            driver_name: "v4l2test".into(),
            model: "V4L2 TEST".into(),
            bus_info: "platform:v4l2test".into(),
            ..Default::default()
        },
    );
    let mdev_released = Arc::new(AtomicBool::new(false));
    let r = mdev_released.clone();
    mdev.set_release(move || r.store(true, Ordering::SeqCst));
    mdev.register(&k, RegisterOptions::default()).unwrap();
    let v4l2 = V4l2Device::new(k.monitor(), "v4l2test", || ());
    v4l2.set_media_device(&mdev);
    let sensor = Subdev::new(
        k.monitor(),
        SubdevConfig::new("Sensor", vec![MEDIA_PAD_FL_SOURCE], MEDIA_ENT_F_CAM_SENSOR),
        Store,
    )
    .unwrap();
    let proc_ = Subdev::new(
        k.monitor(),
        SubdevConfig::new(
            "Proc",
            vec![MEDIA_PAD_FL_SINK, MEDIA_PAD_FL_SOURCE],
            MEDIA_ENT_F_PROC_VIDEO_SCALER,
        ),
        Store,
    )
    .unwrap();
    v4l2.register_subdev(&sensor.handle()).unwrap();
    v4l2.register_subdev(&proc_.handle()).unwrap();
    let mut cfg = VideoDeviceConfig::capture(
        "Capture",
        V4l2PixFormat {
            width: 640,
            height: 480,
            pixelformat: pix_fmt::RGB24,
            sizeimage: 640 * 480 * 3,
            ..Default::default()
        },
    );
    cfg.pads = vec![MEDIA_PAD_FL_SINK | MEDIA_PAD_FL_MUST_CONNECT];
    let vdev = VideoDevice::new(&v4l2, cfg, Cap).unwrap();
    vdev.register(&k).unwrap();
    v4l2.register_subdev_nodes(&k).unwrap();
    mdev.create_pad_link(sensor.entity(), 0, proc_.entity(), 0, MEDIA_LNK_FL_ENABLED)
        .unwrap();
    mdev.create_pad_link(proc_.entity(), 1, vdev.entity(), 0, MEDIA_LNK_FL_ENABLED)
        .unwrap();
    Graph {
        k,
        mdev,
        v4l2,
        sensor,
        proc_,
        vdev,
        mdev_released,
    }
}

#[test]
fn nodes_are_entities_with_interfaces_and_dev_numbers() {
    let g = build();
    let vnode = g.vdev.node().unwrap();
    let snode = g.sensor.node().unwrap();
    let gr = g.mdev.graph();
    let ents = gr.entities();
    let names: Vec<&str> = ents.iter().map(|e| e.name.as_str()).collect();
    // Registration order: subdevs at register_subdev, the video device at its register.
    assert_eq!(names, vec!["Sensor", "Proc", "Capture"]);
    let cap = &ents[2];
    assert_eq!(cap.function, MEDIA_ENT_F_IO_V4L);
    assert_eq!(cap.dev, (vnode.devt().major, vnode.devt().minor));
    assert_eq!(
        cap.pad_flags,
        vec![MEDIA_PAD_FL_SINK | MEDIA_PAD_FL_MUST_CONNECT]
    );
    assert_eq!(ents[0].dev, (81, snode.devt().minor));
    assert_eq!(gr.num_interfaces(), 3);
    // Every interface link points to the right entity and carries the node numbers.
    let mut seen = Vec::new();
    for l in gr.links() {
        if let LinkEnds::Interface { intf, entity } = l.ends {
            assert_eq!(l.flags & (MEDIA_LNK_FL_ENABLED | MEDIA_LNK_FL_IMMUTABLE), 3);
            let i = gr.interface_handle(intf).unwrap();
            let e = gr.entity(entity).unwrap();
            assert_eq!((i.major(), i.minor()), e.dev);
            let want = if e.name == "Capture" {
                MEDIA_INTF_T_V4L_VIDEO
            } else {
                MEDIA_INTF_T_V4L_SUBDEV
            };
            assert_eq!(i.intf_type(), want);
            seen.push(e.name.clone());
        }
    }
    seen.sort();
    assert_eq!(seen, vec!["Capture", "Proc", "Sensor"]);
    drop(gr);
    // container_of both ways.
    let h = SubdevHandle::from_entity(g.proc_.entity()).unwrap();
    assert!(SubdevHandle::ptr_eq(&h, &g.proc_.handle()));
    assert!(SubdevHandle::from_entity(g.vdev.entity()).is_none());
}

#[test]
fn media_ctl_sees_formats_and_node_paths() {
    let g = build();
    let text = media_ctl_print(&g.mdev, &RenderOptions::default()).unwrap();
    assert!(text.contains("/dev/video0"), "{text}");
    assert!(text.contains("/dev/v4l-subdev0"), "{text}");
    assert!(text.contains("fmt:RGB888_1X24/640x480"), "{text}");
}

#[test]
fn pipeline_start_validates_every_link_with_active_formats() {
    let g = build();
    g.vdev.pipeline_start().unwrap();
    assert_eq!(g.vdev.pipeline().start_count(), 1);
    g.vdev.pipeline_stop().unwrap();
    // Sensor code differs from the Proc sink: the subdev link fails (EPIPE).
    let f =
        g.k.open(g.sensor.node().unwrap().name(), OpenFlags::RDWR)
            .unwrap();
    let mut fmt = sensor_default();
    fmt.code = MEDIA_BUS_FMT_SRGGB8_1X8;
    subdev_fmt(&f, VIDIOC_SUBDEV_S_FMT, V4L2_SUBDEV_FORMAT_ACTIVE, 0, fmt).unwrap();
    assert_eq!(g.vdev.pipeline_start(), Err(Errno::EPIPE));
    // TRY formats do not matter.
    subdev_fmt(
        &f,
        VIDIOC_SUBDEV_S_FMT,
        V4L2_SUBDEV_FORMAT_TRY,
        0,
        sensor_default(),
    )
    .unwrap();
    assert_eq!(g.vdev.pipeline_start(), Err(Errno::EPIPE));
    subdev_fmt(
        &f,
        VIDIOC_SUBDEV_S_FMT,
        V4L2_SUBDEV_FORMAT_ACTIVE,
        0,
        sensor_default(),
    )
    .unwrap();
    g.vdev.pipeline_start().unwrap();
    g.vdev.pipeline_stop().unwrap();
    // The video node's size differs from Proc's source: EPIPE from the video link.
    let v =
        g.k.open(g.vdev.node().unwrap().name(), OpenFlags::RDWR)
            .unwrap();
    let small = V4l2PixFormat {
        width: 320,
        height: 240,
        ..Default::default()
    };
    set_fmt(&v, VIDIOC_S_FMT, &small).unwrap();
    assert_eq!(g.vdev.pipeline_start(), Err(Errno::EPIPE));
    // Disabling a link breaks the MUST_CONNECT sink (ENOLINK).
    set_fmt(&v, VIDIOC_S_FMT, &g.vdev.format().clone_with(640, 480)).unwrap();
    g.vdev.pipeline_start().unwrap();
    g.vdev.pipeline_stop().unwrap();
    let (src, snk) = (
        g.proc_.entity().pad_key(1).unwrap(),
        g.vdev.entity().pad_key(0).unwrap(),
    );
    g.mdev.setup_link(src, snk, 0).unwrap();
    assert_eq!(g.vdev.pipeline_start(), Err(devlife_media::mc::ENOLINK));
    let _ = (&g.v4l2, &g.mdev_released);
}

trait CloneWith {
    fn clone_with(&self, w: u32, h: u32) -> V4l2PixFormat;
}
impl CloneWith for V4l2PixFormat {
    fn clone_with(&self, w: u32, h: u32) -> V4l2PixFormat {
        V4l2PixFormat {
            width: w,
            height: h,
            ..*self
        }
    }
}

#[test]
fn upstream_walk_finds_the_subdevs_nearest_first() {
    let g = build();
    let up = g.vdev.upstream_subdevs();
    let names: Vec<&str> = up.iter().map(|s| s.name()).collect();
    assert_eq!(names, vec!["Proc", "Sensor"]);
    // A disabled link cuts the walk.
    let (src, snk) = (
        g.sensor.entity().pad_key(0).unwrap(),
        g.proc_.entity().pad_key(0).unwrap(),
    );
    g.mdev.setup_link(src, snk, 0).unwrap();
    let up = g.vdev.upstream_subdevs();
    assert_eq!(up.len(), 1);
    assert_eq!(up[0].name(), "Proc");
}

#[test]
fn unregister_removes_graph_objects_and_an_open_file_keeps_the_media_device() {
    let g = build();
    let v =
        g.k.open(g.vdev.node().unwrap().name(), OpenFlags::RDWR)
            .unwrap();
    let before = g.mdev.graph().num_entities();
    g.vdev.unregister().unwrap();
    assert_eq!(g.mdev.graph().num_entities(), before - 1);
    assert!(g.mdev.graph().entity_by_name("Capture").is_none());
    assert_eq!(g.mdev.graph().num_interfaces(), 2);
    g.v4l2.unregister();
    assert_eq!(g.mdev.graph().num_entities(), 0);
    assert_eq!(g.mdev.graph().num_interfaces(), 0);
    // The driver unregisters and drops everything; the file still holds the
    // video device, whose entity and v4l2 device hold the media device.
    g.mdev.unregister();
    let Graph {
        k,
        mdev,
        v4l2,
        sensor,
        proc_,
        vdev,
        mdev_released,
    } = g;
    drop((mdev, v4l2, sensor, proc_, vdev));
    assert!(
        !mdev_released.load(Ordering::SeqCst),
        "media device freed under an open file"
    );
    let mut c = V4l2Capability::default();
    assert_eq!(ioc(&v, VIDIOC_QUERYCAP, &mut c), Err(Errno::ENODEV));
    drop(v);
    assert!(mdev_released.load(Ordering::SeqCst));
    let l = k.monitor().ledger();
    for t in [
        "media_device",
        "media_entity",
        "media_interface",
        "video_device",
        "v4l2_subdev",
        "v4l2_device",
    ] {
        assert_eq!(l.live(t), 0, "{t} leaked");
    }
    assert!(k.monitor().reports().is_empty());
}
