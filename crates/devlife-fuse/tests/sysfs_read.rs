//! Reading the sysfs tree: the files v4l-utils and scripts read, with the
//! contents and links Linux gives them, and the errors of wrong accesses.

mod common;

use common::Bench;
use devlife_fuse::sysfs::{SysError, SysKind};
use devlife_model::OpenFlags;

#[test]
fn dev_char_uevent_names_each_node_like_media_info_reads_it() {
    let b = Bench::new();
    // v4l2-ctl / v4l2-compliance: stat the node, read /sys/dev/char/M:m/uevent, look for DEVNAME.
    for n in b.kernel.nodes() {
        let d = n.devt();
        let uevent = b.cat(&format!("dev/char/{}:{}/uevent", d.major, d.minor));
        assert_eq!(
            uevent,
            format!(
                "MAJOR={}\nMINOR={}\nDEVNAME={}\n",
                d.major,
                d.minor,
                n.name()
            )
        );
        assert_eq!(
            b.cat(&format!("dev/char/{}:{}/dev", d.major, d.minor)),
            format!("{d}\n")
        );
    }
    assert_eq!(b.kernel.nodes().len(), b.names("dev/char").len());
    // media-ctl: readlink /sys/dev/char/M:m, the last component is the node name.
    assert_eq!(
        b.link("dev/char/81:0"),
        "../../devices/platform/vimc.0/video4linux/video0"
    );
    assert!(b.link("dev/char/81:3").ends_with("/v4l-subdev0"));
}

#[test]
fn video4linux_class_has_name_index_dev_and_device() {
    let b = Bench::new();
    assert_eq!(b.cat("class/video4linux/video0/name"), "Raw Capture 0\n");
    assert_eq!(b.cat("class/video4linux/video2/name"), "RGB/YUV Capture\n");
    assert_eq!(b.cat("class/video4linux/v4l-subdev0/name"), "Sensor A\n");
    assert_eq!(b.cat("class/video4linux/video0/dev"), "81:0\n");
    assert_eq!(b.cat("class/video4linux/video0/index"), "0\n");
    assert_eq!(b.cat("class/video4linux/video2/index"), "2\n");
    assert_eq!(b.cat("class/video4linux/v4l-subdev0/index"), "3\n");
    assert_eq!(b.link("class/video4linux/video0/device"), "../../../vimc.0");
    assert_eq!(
        b.link("class/video4linux/video0/subsystem"),
        "../../../../../class/video4linux"
    );
    // The USB capture node: USB-AV names, its interface as device.
    let usb_video = b
        .v4l_nodes()
        .into_iter()
        .find(|n| b.cat(&format!("class/video4linux/{n}/name")) == "USB-AV Video\n")
        .expect("usb-av video node");
    assert_eq!(
        b.link(&format!("class/video4linux/{usb_video}/device")),
        "../../../1-1:1.0"
    );
    // libv4lcontrol: video%d/device/modalias must parse as usb:v%4hxp%4hx followed by 'd'.
    let alias = b.cat(&format!("class/video4linux/{usb_video}/device/modalias"));
    assert!(alias.starts_with("usb:v1D6Bp0D11d"), "{alias}");
    assert_eq!(
        b.cat(&format!("class/video4linux/{usb_video}/device/../speed")),
        "480\n"
    );
    assert_eq!(
        b.cat(&format!("class/video4linux/{usb_video}/device/../idVendor")),
        "1d6b\n"
    );
}

#[test]
fn media_node_is_on_the_media_bus_next_to_its_device() {
    let b = Bench::new();
    let media = b
        .kernel
        .nodes()
        .into_iter()
        .find(|n| n.name() == "media0")
        .unwrap();
    let d = media.devt();
    assert_eq!(
        b.link(&format!("dev/char/{d}")),
        "../../devices/platform/vimc.0/media0"
    );
    assert_eq!(b.cat("bus/media/devices/media0/model"), "VIMC MDEV\n");
    assert_eq!(b.link("bus/media/devices/media0/device"), "../../vimc.0");
    // mi_get_media_fd: list /sys/dev/char/M:m/device of a video node, find media*.
    let dir = b.names("dev/char/81:0/device");
    assert!(dir.iter().any(|n| n == "media0"), "{dir:?}");
    assert!(dir.iter().any(|n| n == "video4linux"), "{dir:?}");
    assert_eq!(b.names("bus/media/devices"), ["media0", "media1", "media2"]);
}

#[test]
fn buses_devices_and_drivers_link_both_ways() {
    let b = Bench::new();
    assert_eq!(
        b.link("bus/platform/devices/vimc.0"),
        "../../../devices/platform/vimc.0"
    );
    assert_eq!(
        b.link("bus/platform/drivers/vimc/vimc.0"),
        "../../../../devices/platform/vimc.0"
    );
    assert_eq!(
        b.link("devices/platform/vimc.0/driver"),
        "../../../bus/platform/drivers/vimc"
    );
    assert_eq!(
        b.cat("devices/platform/vimc.0/uevent"),
        "DRIVER=vimc\nMODALIAS=platform:vimc\n"
    );
    assert_eq!(b.cat("devices/platform/vimc.0/modalias"), "platform:vimc\n");
    assert_eq!(
        b.names("bus/usb/devices"),
        ["1-1", "1-1:1.0", "1-1:1.1", "2-1", "2-1:1.0", "2-1:1.1"]
    );
    assert_eq!(b.cat("bus/usb/devices/1-1/idVendor"), "1d6b\n");
    assert_eq!(b.cat("bus/usb/devices/1-1/idProduct"), "0d11\n");
    assert_eq!(b.cat("bus/usb/devices/1-1/product"), "devlife USB-AV\n");
    assert_eq!(b.cat("bus/usb/devices/1-1:1.1/bInterfaceClass"), "01\n");
    assert!(
        b.cat("bus/usb/devices/1-1:1.0/uevent")
            .contains("DRIVER=usbav-video\n")
    );
    assert_eq!(
        b.names("bus/usb/drivers/usbav-audio"),
        ["1-1:1.1", "2-1:1.1", "bind", "module", "unbind"]
    );
    assert_eq!(
        b.link("bus/usb/drivers/usbav-audio/module"),
        "../../../../module/usbav-audio"
    );
    assert_eq!(
        b.link("module/vimc/drivers/platform:vimc"),
        "../../../bus/platform/drivers/vimc"
    );
    // The sound card of the audio interface.
    assert_eq!(b.cat("class/sound/pcmC0D0c/dev"), "116:0\n");
    assert_eq!(b.cat("class/sound/card0/number"), "0\n");
    assert_eq!(b.link("class/sound/card0/device"), "../../../1-1:1.1");
}

#[test]
fn module_refcnt_counts_open_files() {
    let b = Bench::new();
    assert_eq!(b.cat("module/vimc/refcnt"), "0\n");
    assert_eq!(b.cat("module/vimc/initstate"), "live\n");
    assert_eq!(b.tree.kind("module/vimc/holders"), Some(SysKind::Dir));
    let f = b.kernel.open("video0", OpenFlags::RDWR).unwrap();
    let g = b.kernel.open("v4l-subdev0", OpenFlags::RDWR).unwrap();
    assert_eq!(b.cat("module/vimc/refcnt"), "2\n");
    drop(f);
    assert_eq!(b.cat("module/vimc/refcnt"), "1\n");
    drop(g);
    assert_eq!(b.cat("module/vimc/refcnt"), "0\n");
    assert_eq!(
        b.cat("kernel/devlife/modules/available"),
        "vimc loaded\nusbav-video loaded\nusbav-audio loaded\n"
    );
    assert_eq!(
        b.cat("kernel/devlife/devices"),
        "vimc.0 present\n1-1 present\n2-1 present\n"
    );
}

#[test]
fn kinds_modes_and_wrong_accesses() {
    let b = Bench::new();
    let t = &b.tree;
    assert_eq!(t.kind(""), Some(SysKind::Dir));
    assert_eq!(t.kind("/bus/platform/"), Some(SysKind::Dir));
    assert_eq!(
        t.kind("bus/platform/drivers/vimc/bind"),
        Some(SysKind::File { writable: true })
    );
    assert_eq!(
        t.kind("class/video4linux/video0/name"),
        Some(SysKind::File { writable: false })
    );
    assert_eq!(t.kind("nope"), None);
    assert_eq!(t.kind("bus/platform/drivers/vimc/bind/x"), None);
    assert_eq!(t.mode("bus/platform/drivers/vimc/bind"), Some(0o200));
    assert_eq!(t.mode("class/video4linux/video0/dev_debug"), Some(0o644));
    assert_eq!(t.mode("class/video4linux/video0/name"), Some(0o444));
    assert_eq!(t.mode("bus"), Some(0o755));
    assert_eq!(t.mode("dev/char/81:0"), Some(0o777));
    // Write-only attributes cannot be read, not even by root (kernfs_fop_open).
    assert_eq!(
        t.read("bus/platform/drivers/vimc/bind"),
        Err(SysError::EACCES)
    );
    assert_eq!(t.read("bus/usb/devices/1-1/remove"), Err(SysError::EACCES));
    assert_eq!(t.read("bus"), Err(SysError::EISDIR));
    assert_eq!(t.read("bus/nope"), Err(SysError::ENOENT));
    assert_eq!(
        t.list("class/video4linux/video0/name"),
        Err(SysError::ENOTDIR)
    );
    assert_eq!(t.list("class/nope"), Err(SysError::ENOENT));
    // Listing through a link lists the target.
    assert!(
        b.names("class/video4linux/video0")
            .contains(&"uevent".to_owned())
    );
    assert_eq!(
        b.names(""),
        ["bus", "class", "dev", "devices", "kernel", "module"]
    );
}
