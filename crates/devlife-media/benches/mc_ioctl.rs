//! Media Controller ioctl dispatch: the handler alone (`media_ioctl`) and
//! through the model's media node (gate enter/exit, file private data).
//!
//! `cargo bench -p devlife-media --bench mc_ioctl`

use criterion::{Criterion, criterion_group, criterion_main};
use devlife::Monitor;
use devlife_media::mc::*;
use devlife_media::uapi::ioctl::{AddressSpace, Wire};
use devlife_media::uapi::media::*;
use devlife_model::{Kernel, KernelConfig, OpenFlags};
use std::hint::black_box;

fn graph(m: &Monitor, k: &Kernel) -> (MediaDevice, Vec<Entity>) {
    let mdev = MediaDevice::new(
        m,
        DeviceInfo {
            driver_name: "vimc".into(),
            model: "VIMC MDEV".into(),
            bus_info: "platform:vimc".into(),
            ..Default::default()
        },
    );
    let mut ents = Vec::new();
    for i in 0..11 {
        let e = Entity::new(
            m,
            EntityDesc::new(
                format!("e{i}"),
                MEDIA_ENT_F_CAM_SENSOR,
                EntityType::V4l2Subdev,
            )
            .pads(&[MEDIA_PAD_FL_SINK, MEDIA_PAD_FL_SOURCE]),
            NoOps,
        )
        .unwrap();
        mdev.register_entity(&e).unwrap();
        if let Some(prev) = ents.last() {
            mdev.create_pad_link(prev, 1, &e, 0, MEDIA_LNK_FL_ENABLED)
                .unwrap();
        }
        ents.push(e);
    }
    mdev.register(k, RegisterOptions::default()).unwrap();
    (mdev, ents)
}

fn bench(c: &mut Criterion) {
    let m = Monitor::new();
    let k = Kernel::with_monitor(KernelConfig::default(), m.clone());
    let (mdev, _ents) = graph(&m, &k);
    let mm = AddressSpace::new();
    let mut d = MediaEntityDesc::ZERO;
    d.id = 4;
    let mut arg = d.to_vec();
    c.bench_function("media_ioctl ENUM_ENTITIES (handler only)", |b| {
        b.iter(|| media_ioctl(&mdev, MEDIA_IOC_ENUM_ENTITIES, black_box(&mut arg), &mm))
    });
    let mut info = vec![0u8; 256];
    c.bench_function("media_ioctl DEVICE_INFO (handler only)", |b| {
        b.iter(|| media_ioctl(&mdev, MEDIA_IOC_DEVICE_INFO, black_box(&mut info), &mm))
    });
    let f = k.open("media0", OpenFlags::RDWR).unwrap();
    c.bench_function("File::ioctl ENUM_ENTITIES (through the gated node)", |b| {
        b.iter(|| f.ioctl(MEDIA_IOC_ENUM_ENTITIES, black_box(&mut arg)))
    });
    let mut t = MediaV2Topology::ZERO.to_vec();
    c.bench_function(
        "File::ioctl G_TOPOLOGY counts (through the gated node)",
        |b| b.iter(|| f.ioctl(MEDIA_IOC_G_TOPOLOGY, black_box(&mut t))),
    );
    c.bench_function("File::ioctl unknown cmd (ENOTTY)", |b| {
        b.iter(|| f.ioctl(black_box(0xc0047c09), &mut [0; 4]))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
