//! Shared helpers of the `mc_*` tests: a vimc-shaped media graph built with
//! the Media Controller API only (the real vimc driver lives in
//! devlife-drivers), with entity operations that answer what media-ctl asks
//! and validate links like vimc does.

#![allow(dead_code)]

use devlife::Monitor;
use devlife_media::legacy::{FreeingAllocator, OwnerFreedMedia};
use devlife_media::mc::*;
use devlife_media::uapi::media::*;
pub use devlife_model::Style;
use devlife_model::{Errno, KResult};
use parking_lot::Mutex;

/// `MEDIA_BUS_FMT_RGB888_1X24`.
pub const RGB888_1X24: u32 = 0x100a;
/// `MEDIA_BUS_FMT_SRGGB8_1X8`.
pub const SRGGB8_1X8: u32 = 0x3014;
/// `MEDIA_BUS_FMT_SBGGR8_1X8`.
pub const SBGGR8_1X8: u32 = 0x3001;
/// `V4L2_FIELD_NONE`.
pub const FIELD_NONE: u32 = 1;
/// `V4L2_COLORSPACE_SRGB`.
pub const CS_SRGB: u32 = 8;

pub fn fmt(code: u32, w: u32, h: u32) -> PadFormat {
    PadFormat {
        code,
        width: w,
        height: h,
        field: FIELD_NONE,
        colorspace: CS_SRGB,
        ..Default::default()
    }
}

/// Operations of a test entity: a device node path, per-pad state, and
/// vimc's link validation (a sink pad's format must match its source's:
/// width, height, code; else `EPIPE`).
pub struct TestOps {
    pub devnode: Option<String>,
    pub pads: Mutex<Vec<PadInfo>>,
    pub validate: bool,
    pub link_setup_calls: Mutex<Vec<(PadKey, PadKey, u32)>>,
    pub fail_link_setup: Mutex<Option<Errno>>,
}

impl TestOps {
    pub fn new(devnode: Option<&str>, pads: Vec<PadInfo>) -> Self {
        Self {
            devnode: devnode.map(str::to_owned),
            pads: Mutex::new(pads),
            validate: true,
            link_setup_calls: Mutex::new(Vec::new()),
            fail_link_setup: Mutex::new(None),
        }
    }

    pub fn format(&self, pad: u32) -> Option<PadFormat> {
        self.pads.lock().get(pad as usize).and_then(|p| p.format)
    }

    pub fn set_format(&self, pad: u32, f: PadFormat) {
        if let Some(p) = self.pads.lock().get_mut(pad as usize) {
            p.format = Some(f);
        }
    }
}

impl EntityOps for TestOps {
    fn link_validate(&self, link: &LinkInfo, source: &Entity, sink: &Entity) -> KResult<()> {
        if !self.validate {
            return Ok(());
        }
        let (s, k) = link.data().ok_or(Errno::EINVAL)?;
        let sf = source
            .ops_as::<TestOps>()
            .and_then(|o| o.format(u32::from(s.index)));
        let kf = sink
            .ops_as::<TestOps>()
            .and_then(|o| o.format(u32::from(k.index)));
        match (sf, kf) {
            (Some(a), Some(b))
                if a.width == b.width && a.height == b.height && a.code == b.code =>
            {
                Ok(())
            }
            _ => Err(Errno::EPIPE),
        }
    }

    fn link_setup(&self, local: PadKey, remote: PadKey, flags: u32) -> Option<KResult<()>> {
        self.link_setup_calls.lock().push((local, remote, flags));
        self.fail_link_setup.lock().map(Err)
    }

    fn pad_info(&self, pad: u32) -> Option<PadInfo> {
        self.pads.lock().get(pad as usize).copied()
    }

    fn devnode_path(&self) -> Option<String> {
        self.devnode.clone()
    }
}

fn pad(f: PadFormat) -> PadInfo {
    PadInfo {
        format: Some(f),
        ..Default::default()
    }
}

/// A vimc-shaped media device (docs/vimc.md, topology and ids), built in vimc's probe order.
pub struct Vimc {
    pub mdev: MediaDevice,
    /// In `ent_config[]` order.
    pub entities: Vec<Entity>,
    /// Video node interfaces, then subdev node interfaces.
    pub intfs: Vec<Interface>,
}

pub const NAMES: [&str; 11] = [
    "Sensor A",
    "Sensor B",
    "Debayer A",
    "Debayer B",
    "Raw Capture 0",
    "Raw Capture 1",
    "RGB/YUV Input",
    "Scaler",
    "RGB/YUV Capture",
    "Lens A",
    "Lens B",
];

impl Vimc {
    pub fn entity(&self, name: &str) -> &Entity {
        let i = NAMES.iter().position(|n| *n == name).expect("vimc entity");
        &self.entities[i]
    }

    pub fn ops(&self, name: &str) -> &TestOps {
        self.entity(name).ops_as::<TestOps>().expect("test ops")
    }

    pub fn pad(&self, name: &str, index: u16) -> PadKey {
        self.entity(name).pad_key(index).expect("registered pad")
    }
}

pub fn vimc_info() -> DeviceInfo {
    DeviceInfo {
        driver_name: "vimc".into(),
        parent_driver: "vimc".into(),
        model: "VIMC MDEV".into(),
        serial: String::new(),
        bus_info: "platform:vimc".into(),
        hw_revision: 0,
    }
}

/// A new media device with `style`'s lifetime rules: refcounted, or freed
/// by its owner (the pre-fix extension).
pub fn media_device(m: &Monitor, info: DeviceInfo, style: Style) -> MediaDevice {
    match style {
        Style::Framework => MediaDevice::new(m, info),
        Style::Legacy => MediaDevice::new_owner_freed(m, info),
    }
}

/// A new media device allocator with `style`'s rules: the last driver drops
/// its reference, or frees the media device (the pre-fix extension).
pub fn allocator(m: &Monitor, style: Style) -> MediaDeviceAllocator {
    match style {
        Style::Framework => MediaDeviceAllocator::new(m),
        Style::Legacy => MediaDeviceAllocator::new_freeing(m),
    }
}

/// Builds vimc's graph on a new media device. `register` runs between the
/// links and the subdev nodes, as `media_device_register` does in vimc's probe.
pub fn vimc_with(
    m: &Monitor,
    style: Style,
    register: impl FnOnce(&MediaDevice) -> KResult<()>,
) -> KResult<Vimc> {
    let mdev = media_device(m, vimc_info(), style);
    let rgb = fmt(RGB888_1X24, 640, 480);
    let bayer = fmt(SRGGB8_1X8, 640, 480);
    let src = MEDIA_PAD_FL_SOURCE;
    let sink = MEDIA_PAD_FL_SINK;
    let sub = EntityType::V4l2Subdev;
    let vid = EntityType::VideoDevice;
    let scaler_sink = PadInfo {
        format: Some(rgb),
        crop_bounds: Some(Rect {
            left: 0,
            top: 0,
            width: 640,
            height: 480,
        }),
        crop: Some(Rect {
            left: 0,
            top: 0,
            width: 640,
            height: 480,
        }),
        ..Default::default()
    };
    // (name, function, type, pads, subdev node number or video node number, pad info)
    type Row<'a> = (&'a str, u32, EntityType, Vec<u32>, Vec<PadInfo>);
    let table: Vec<Row<'_>> = vec![
        (
            "Sensor A",
            MEDIA_ENT_F_CAM_SENSOR,
            sub,
            vec![src],
            vec![pad(rgb)],
        ),
        (
            "Sensor B",
            MEDIA_ENT_F_CAM_SENSOR,
            sub,
            vec![src],
            vec![pad(rgb)],
        ),
        (
            "Debayer A",
            MEDIA_ENT_F_PROC_VIDEO_PIXEL_ENC_CONV,
            sub,
            vec![sink, src],
            vec![pad(bayer), pad(rgb)],
        ),
        (
            "Debayer B",
            MEDIA_ENT_F_PROC_VIDEO_PIXEL_ENC_CONV,
            sub,
            vec![sink, src],
            vec![pad(bayer), pad(rgb)],
        ),
        (
            "Raw Capture 0",
            MEDIA_ENT_F_IO_V4L,
            vid,
            vec![sink],
            vec![pad(rgb)],
        ),
        (
            "Raw Capture 1",
            MEDIA_ENT_F_IO_V4L,
            vid,
            vec![sink],
            vec![pad(rgb)],
        ),
        (
            "RGB/YUV Input",
            MEDIA_ENT_F_CAM_SENSOR,
            sub,
            vec![src],
            vec![pad(rgb)],
        ),
        (
            "Scaler",
            MEDIA_ENT_F_PROC_VIDEO_SCALER,
            sub,
            vec![sink, src],
            vec![scaler_sink, pad(rgb)],
        ),
        (
            "RGB/YUV Capture",
            MEDIA_ENT_F_IO_V4L,
            vid,
            vec![sink],
            vec![pad(rgb)],
        ),
        ("Lens A", MEDIA_ENT_F_LENS, sub, vec![], vec![]),
        ("Lens B", MEDIA_ENT_F_LENS, sub, vec![], vec![]),
    ];
    let mut entities = Vec::new();
    let mut intfs = Vec::new();
    let (mut video_n, mut subdev_n) = (0u32, 0u32);
    let mut subdevs = Vec::new();
    for (name, function, ty, pads, info) in table {
        let node = match ty {
            EntityType::VideoDevice => {
                let n = format!("/dev/video{video_n}");
                video_n += 1;
                n
            }
            _ => {
                let n = format!("/dev/v4l-subdev{subdev_n}");
                subdev_n += 1;
                n
            }
        };
        let e = Entity::new(
            m,
            EntityDesc::new(name, function, ty).pads(&pads),
            TestOps::new(Some(&node), info),
        )?;
        mdev.register_entity(&e)?;
        if ty == EntityType::VideoDevice {
            // `video_register_media_controller`: the devnode interface and
            // its link come right after the entity.
            let minor = video_n - 1;
            mdev.set_entity_devnode(&e, 81, minor)?;
            let intf = mdev.create_intf_devnode(MEDIA_INTF_T_V4L_VIDEO, 0, 81, minor)?;
            mdev.create_intf_link(&intf, &e, MEDIA_LNK_FL_ENABLED | MEDIA_LNK_FL_IMMUTABLE)?;
            intfs.push(intf);
        } else {
            subdevs.push(e.clone());
        }
        entities.push(e);
    }
    let by = |n: &str| entities[NAMES.iter().position(|x| *x == n).unwrap()].clone();
    let ei = MEDIA_LNK_FL_ENABLED | MEDIA_LNK_FL_IMMUTABLE;
    let links: [(&str, u16, &str, u16, u32); 8] = [
        ("Sensor A", 0, "Debayer A", 0, ei),
        ("Sensor A", 0, "Raw Capture 0", 0, ei),
        ("Sensor B", 0, "Debayer B", 0, ei),
        ("Sensor B", 0, "Raw Capture 1", 0, ei),
        ("Debayer A", 1, "Scaler", 0, MEDIA_LNK_FL_ENABLED),
        ("Debayer B", 1, "Scaler", 0, 0),
        ("RGB/YUV Input", 0, "Scaler", 0, 0),
        ("Scaler", 1, "RGB/YUV Capture", 0, ei),
    ];
    for (s, sp, k, kp, f) in links {
        mdev.create_pad_link(&by(s), sp, &by(k), kp, f)?;
    }
    mdev.create_ancillary_link(&by("Sensor A"), &by("Lens A"))?;
    mdev.create_ancillary_link(&by("Sensor B"), &by("Lens B"))?;
    register(&mdev)?;
    // `v4l2_device_register_subdev_nodes`, in subdev registration order.
    for (i, e) in subdevs.iter().enumerate() {
        let minor = 3 + i as u32;
        mdev.set_entity_devnode(e, 81, minor)?;
        let intf = mdev.create_intf_devnode(MEDIA_INTF_T_V4L_SUBDEV, 0, 81, minor)?;
        mdev.create_intf_link(&intf, e, MEDIA_LNK_FL_ENABLED | MEDIA_LNK_FL_IMMUTABLE)?;
        intfs.push(intf);
    }
    Ok(Vimc {
        mdev,
        entities,
        intfs,
    })
}

/// vimc's graph, registered without a device node.
pub fn vimc(m: &Monitor) -> Vimc {
    vimc_with(m, Style::Framework, |md| md.register_headless()).expect("vimc graph")
}
