//! The em28xx / ipu6 pattern in vimc's legacy twin: the RGB/YUV capture's
//! `video_device` is embedded in a driver allocation that `remove()` frees.
//! A file opened before the unbind still reaches that memory: the core's
//! `registered` check at the entry of a later ioctl, and `v4l2_release` at
//! close, are reported as use-after-free, with the access site in the core,
//! the free site in the driver and the object's history. The framework
//! driver keeps the video device alive for the open file: nothing is
//! reported.

use devlife::check::ReportKind;
use devlife_drivers::{Style, vimc};
use devlife_media::uapi::videodev2::VIDIOC_QUERYCAP;
use devlife_model::{Errno, Kernel, OpenFlags};

/// Reports of `kind` on the object named `name`, repeats included.
fn count(k: &Kernel, kind: ReportKind, name: &str) -> u64 {
    k.monitor()
        .reports()
        .all()
        .iter()
        .filter(|r| r.kind == kind && r.to_string().contains(name))
        .map(|r| 1 + r.repeats)
        .sum()
}

fn querycap(f: &devlife_model::File) -> Result<i64, Errno> {
    let mut cap = [0u8; 104];
    f.ioctl(VIDIOC_QUERYCAP, &mut cap)
}

#[test]
fn legacy_ioctl_and_close_after_unbind_touch_the_freed_video_device() {
    let k = Kernel::new();
    let v = vimc::register(&k, Style::Legacy).unwrap();
    let path = v
        .nodes()
        .unwrap()
        .path("RGB/YUV Capture")
        .unwrap()
        .to_owned();
    let f = k.open(&path, OpenFlags::RDWR).unwrap();
    assert_eq!(querycap(&f), Ok(0));
    v.unbind().unwrap();
    assert_eq!(count(&k, ReportKind::UseAfterFree, "RGB/YUV Capture"), 0);

    // The ioctl is refused, but its entry check read freed memory.
    assert_eq!(querycap(&f), Err(Errno::ENODEV));
    assert_eq!(count(&k, ReportKind::UseAfterFree, "RGB/YUV Capture"), 1);
    let reports = k.monitor().reports().all();
    let r = reports
        .iter()
        .find(|r| r.kind == ReportKind::UseAfterFree && r.to_string().contains("RGB/YUV Capture"))
        .unwrap();
    let text = r.to_string();
    assert!(r.site.unwrap().file().contains("chrdev"), "{text}");
    let freed = r
        .related
        .iter()
        .find(|(w, _)| *w == "freed")
        .map(|(_, s)| s);
    assert!(
        freed.is_some_and(|s| s.file().ends_with("vimc/legacy.rs")),
        "{text}"
    );
    assert!(text.contains("Alloc") && text.contains("Free"), "{text}");

    // Close: `v4l2_release` reads the video device's fops.
    drop(f);
    assert_eq!(count(&k, ReportKind::UseAfterFree, "RGB/YUV Capture"), 2);
    let reports = k.monitor().reports().all();
    assert!(
        reports.iter().any(|r| r.kind == ReportKind::UseAfterFree
            && r.to_string().contains("RGB/YUV Capture")
            && r.site.unwrap().file().contains("v4l2/video")),
        "{reports:#?}"
    );
    drop(v);
}

#[test]
fn framework_ioctl_and_close_after_unbind_are_clean() {
    let k = Kernel::new();
    let v = vimc::register(&k, Style::Framework).unwrap();
    let path = v
        .nodes()
        .unwrap()
        .path("RGB/YUV Capture")
        .unwrap()
        .to_owned();
    let f = k.open(&path, OpenFlags::RDWR).unwrap();
    assert_eq!(querycap(&f), Ok(0));
    v.unbind().unwrap();
    assert_eq!(querycap(&f), Err(Errno::ENODEV));
    drop(f);
    assert!(
        k.monitor().reports().is_empty(),
        "{:?}",
        k.monitor().reports().all()
    );
    v.unload().unwrap();
    drop(v);
    assert!(k.leaks().is_empty(), "{:?}", k.leaks());
}
