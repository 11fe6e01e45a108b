//! Writing the sysfs tree: bind, unbind, USB remove, devlife's plug/unplug
//! and module controls on vimc and usb-av, and every error path (the errno
//! Linux gives, and nothing changed).

mod common;

use common::Bench;
use devlife_fuse::sysfs::{PAGE_SIZE, SysError};
use devlife_model::{Errno, OpenFlags};

const VIMC_NODES: usize = 12; // media0, video0-2, v4l-subdev0-7

fn vimc_nodes(b: &Bench) -> usize {
    b.kernel
        .nodes()
        .iter()
        .filter(|n| n.parent().is_some_and(|d| d.name() == "vimc.0"))
        .count()
}

#[test]
fn unbind_and_bind_vimc_through_the_tree() {
    let b = Bench::new();
    assert_eq!(vimc_nodes(&b), VIMC_NODES);
    let usb_nodes = b.kernel.nodes().len() - VIMC_NODES;
    assert_eq!(
        b.echo("bus/platform/drivers/vimc/unbind", "vimc.0\n"),
        Ok(7)
    );
    assert_eq!(vimc_nodes(&b), 0);
    assert!(!b.exists("dev/char/81:0"));
    assert!(!b.exists("class/video4linux/video0"));
    assert!(!b.exists("bus/media/devices/media0"));
    assert!(!b.exists("bus/platform/drivers/vimc/vimc.0"));
    assert!(!b.exists("devices/platform/vimc.0/driver"));
    assert_eq!(
        b.cat("devices/platform/vimc.0/uevent"),
        "MODALIAS=platform:vimc\n"
    );
    assert_eq!(b.kernel.nodes().len(), usb_nodes, "usb-av untouched");
    // Unbinding again: the device is not bound to vimc.
    assert_eq!(
        b.echo("bus/platform/drivers/vimc/unbind", "vimc.0"),
        Err(Errno::ENODEV)
    );
    assert_eq!(b.echo("bus/platform/drivers/vimc/bind", "vimc.0"), Ok(6));
    assert_eq!(vimc_nodes(&b), VIMC_NODES);
    assert_eq!(b.cat("class/video4linux/video0/name"), "Raw Capture 0\n");
    assert_eq!(
        b.link("devices/platform/vimc.0/driver"),
        "../../../bus/platform/drivers/vimc"
    );
}

#[test]
fn bad_bind_and_unbind_writes_get_linux_errnos_and_change_nothing() {
    let b = Bench::new();
    let before = b.kernel.nodes().len();
    let bind = "bus/platform/drivers/vimc/bind";
    let unbind = "bus/platform/drivers/vimc/unbind";
    // bind_store / unbind_store: unknown device, garbage, a device of another bus.
    assert_eq!(b.echo(bind, "garbage\n"), Err(Errno::ENODEV));
    assert_eq!(b.echo(unbind, "garbage"), Err(Errno::ENODEV));
    assert_eq!(b.echo(unbind, "1-1:1.0"), Err(Errno::ENODEV));
    assert_eq!(b.echo(bind, "1-1:1.0"), Err(Errno::ENODEV));
    // sysfs_streq accepts one trailing newline, not two, and stops at NUL.
    assert_eq!(b.echo(unbind, "vimc.0\n\n"), Err(Errno::ENODEV));
    assert_eq!(b.echo(unbind, " vimc.0"), Err(Errno::ENODEV));
    assert_eq!(
        b.tree.write(unbind, b"\xff\xfe\n").map_err(SysError::errno),
        Err(Errno::ENODEV)
    );
    // Already bound.
    assert_eq!(b.echo(bind, "vimc.0"), Err(Errno::EBUSY));
    // The wrong driver's device: the audio interface is bound to usbav-audio.
    assert_eq!(
        b.echo("bus/usb/drivers/usbav-video/unbind", "1-1:1.1"),
        Err(Errno::ENODEV)
    );
    assert_eq!(
        b.echo("bus/usb/drivers/usbav-video/bind", "1-1:1.1"),
        Err(Errno::ENODEV),
        "the video driver does not match the audio interface"
    );
    // Over-long: sysfs passes one page; the name does not match.
    let long = "vimc.0".repeat(PAGE_SIZE);
    assert_eq!(b.echo(unbind, &long), Err(Errno::ENODEV));
    // An empty write consumes nothing.
    assert_eq!(b.echo(unbind, ""), Ok(0));
    // Read-only attributes, directories, missing files.
    assert_eq!(
        b.echo("class/video4linux/video0/name", "x"),
        Err(Errno::EACCES)
    );
    assert_eq!(b.echo("module/vimc/refcnt", "0"), Err(Errno::EACCES));
    assert_eq!(
        b.echo("bus/usb/devices/1-1/authorized", "yes"),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        b.echo("bus/platform/drivers/vimc", "x")
            .map_err(|e| e.raw()),
        Err(21)
    );
    assert_eq!(
        b.echo("bus/platform/drivers/nope/bind", "vimc.0"),
        Err(Errno::ENOENT)
    );
    // dev_debug takes a number.
    assert_eq!(b.echo("class/video4linux/video0/dev_debug", "3\n"), Ok(2));
    assert_eq!(
        b.echo("class/video4linux/video0/dev_debug", "loud"),
        Err(Errno::EINVAL)
    );
    assert_eq!(b.kernel.nodes().len(), before);
    assert!(b.kernel.device("vimc.0").unwrap().is_bound());
    assert!(b.kernel.monitor().reports().is_empty());
}

#[test]
fn unbind_and_bind_usb_av_interfaces_separately() {
    let b = Bench::new();
    let has_pcm = |b: &Bench| b.names("class/sound").contains(&"pcmC0D0c".to_owned());
    assert!(has_pcm(&b));
    assert_eq!(
        b.echo("bus/usb/drivers/usbav-audio/unbind", "1-1:1.1\n"),
        Ok(8)
    );
    assert!(!has_pcm(&b));
    // The video side and its media device stay (the allocator's media device
    // is shared by both drivers).
    assert!(b.exists("bus/usb/devices/1-1/media1"));
    assert!(
        b.cat("bus/usb/devices/1-1:1.0/uevent")
            .contains("DRIVER=usbav-video")
    );
    assert_eq!(
        b.echo("bus/usb/drivers/usbav-audio/bind", "1-1:1.1\n"),
        Ok(8)
    );
    assert!(has_pcm(&b));
}

#[test]
fn usb_remove_is_a_physical_unplug_and_plug_brings_it_back() {
    let b = Bench::new();
    let before = b.kernel.nodes().len();
    let per_device = 4; // media, video, subdev, pcm
    // Linux's remove_store ignores what is written.
    assert_eq!(b.echo("bus/usb/devices/1-1/remove", "0\n"), Ok(2));
    assert!(!b.exists("bus/usb/devices/1-1"));
    assert!(!b.exists("bus/usb/devices/1-1:1.0"));
    assert!(!b.exists("bus/usb/drivers/usbav-video/1-1:1.0"));
    assert!(b.exists("bus/usb/devices/2-1"));
    assert_eq!(b.kernel.nodes().len(), before - per_device);
    assert_eq!(
        b.cat("kernel/devlife/devices"),
        "vimc.0 present\n1-1 absent\n2-1 present\n"
    );
    // The devlife control puts the cable back in; the drivers probe.
    assert_eq!(b.echo("kernel/devlife/plug", "1-1\n"), Ok(4));
    assert_eq!(b.kernel.nodes().len(), before);
    assert!(
        b.cat("bus/usb/devices/1-1:1.1/uevent")
            .contains("DRIVER=usbav-audio")
    );
    assert_eq!(b.echo("kernel/devlife/plug", "1-1"), Err(Errno::EEXIST));
    assert_eq!(b.echo("kernel/devlife/plug", "9-9"), Err(Errno::ENODEV));
    assert_eq!(b.echo("kernel/devlife/unplug", "9-9"), Err(Errno::ENODEV));
    // unplug works on any device, here the platform device.
    assert_eq!(b.echo("kernel/devlife/unplug", "vimc.0"), Ok(6));
    assert!(!b.exists("devices/platform/vimc.0"));
    assert!(!b.exists("bus/platform/devices/vimc.0"));
    assert_eq!(vimc_nodes(&b), 0);
    assert_eq!(b.echo("kernel/devlife/plug", "vimc.0"), Ok(6));
    assert_eq!(vimc_nodes(&b), VIMC_NODES);
    assert!(b.kernel.monitor().reports().is_empty());
}

#[test]
fn module_unload_is_refused_while_a_file_is_open_and_load_brings_it_back() {
    let b = Bench::new();
    let unload = "kernel/devlife/modules/unload";
    let load = "kernel/devlife/modules/load";
    let f = b.kernel.open("video0", OpenFlags::RDWR).unwrap();
    // delete_module(O_NONBLOCK) answers EWOULDBLOCK (EAGAIN) for a module in use.
    assert_eq!(b.echo(unload, "vimc\n"), Err(Errno::EAGAIN));
    assert_eq!(b.cat("module/vimc/refcnt"), "1\n");
    assert_eq!(vimc_nodes(&b), VIMC_NODES);
    drop(f);
    assert_eq!(b.echo(unload, "vimc\n"), Ok(5));
    assert!(!b.exists("module/vimc"));
    assert!(!b.exists("bus/platform/drivers/vimc"));
    // vimc_exit removes its platform device.
    assert!(!b.exists("devices/platform/vimc.0"));
    assert_eq!(b.echo(unload, "vimc"), Err(Errno::ENOENT));
    assert_eq!(b.echo(unload, "nosuchmodule"), Err(Errno::ENOENT));
    assert_eq!(b.echo(load, "nosuchmodule"), Err(Errno::ENOENT));
    assert_eq!(
        b.cat("kernel/devlife/modules/available"),
        "vimc unloaded\nusbav-video loaded\nusbav-audio loaded\n"
    );
    assert_eq!(b.echo(load, "vimc"), Ok(4));
    assert_eq!(b.echo(load, "vimc"), Err(Errno::EEXIST));
    assert_eq!(vimc_nodes(&b), VIMC_NODES);
    assert_eq!(b.cat("module/vimc/initstate"), "live\n");
    // usb-av: an open PCM pins the audio module only.
    let pcm = b.kernel.open("pcmC0D0c", OpenFlags::RDONLY).unwrap();
    assert_eq!(b.echo(unload, "usbav-audio"), Err(Errno::EAGAIN));
    assert_eq!(b.echo(unload, "usbav-video"), Ok(11));
    assert!(!b.exists("bus/usb/drivers/usbav-video"));
    assert!(b.exists("bus/usb/drivers/usbav-audio/1-1:1.1"));
    drop(pcm);
    assert_eq!(b.echo(load, "usbav-video"), Ok(11));
    assert!(
        b.cat("bus/usb/devices/2-1:1.0/uevent")
            .contains("DRIVER=usbav-video")
    );
    assert!(
        b.cat("bus/usb/devices/2-1:1.1/uevent")
            .contains("DRIVER=usbav-audio")
    );
    assert!(b.kernel.monitor().reports().is_empty());
}

#[test]
fn usb_authorized_0_removes_the_interfaces_and_1_brings_them_back() {
    let b = Bench::new();
    let before = b.kernel.nodes().len();
    let pcm_of = |b: &Bench| {
        b.names("class/sound")
            .into_iter()
            .filter(|n| n.starts_with("pcmC"))
            .find(|n| b.link(&format!("class/sound/{n}")).contains("/1-1:1.1/"))
    };
    let held = b
        .kernel
        .open(&pcm_of(&b).unwrap(), OpenFlags::RDONLY)
        .unwrap();
    assert_eq!(b.cat("bus/usb/devices/1-1/authorized"), "1\n");
    assert_eq!(b.tree.mode("bus/usb/devices/1-1/authorized"), Some(0o644));
    // authorized_store: 0 unbinds and deletes the interfaces, the device stays.
    assert_eq!(b.echo("bus/usb/devices/1-1/authorized", "0\n"), Ok(2));
    assert_eq!(b.cat("bus/usb/devices/1-1/authorized"), "0\n");
    assert!(b.exists("bus/usb/devices/1-1"));
    assert!(!b.exists("bus/usb/devices/1-1:1.0"));
    assert!(!b.exists("bus/usb/devices/1-1:1.1"));
    assert!(!b.exists("bus/usb/devices/1-1/media1"));
    assert_eq!(pcm_of(&b), None);
    assert_eq!(b.kernel.nodes().len(), before - 4);
    assert_eq!(held.read(&mut [0u8; 16]), Err(Errno::ENODEV));
    assert!(b.exists("bus/usb/devices/2-1:1.1"));
    // The same value again changes nothing.
    assert_eq!(b.echo("bus/usb/devices/1-1/authorized", "0"), Ok(1));
    assert_eq!(b.kernel.nodes().len(), before - 4);
    // Any other number creates the interfaces again and the drivers probe.
    assert_eq!(b.echo("bus/usb/devices/1-1/authorized", "1\n"), Ok(2));
    assert_eq!(b.kernel.nodes().len(), before);
    assert!(
        b.cat("bus/usb/devices/1-1:1.0/uevent")
            .contains("DRIVER=usbav-video")
    );
    assert!(
        b.cat("bus/usb/devices/1-1:1.1/uevent")
            .contains("DRIVER=usbav-audio")
    );
    let f = b
        .kernel
        .open(&pcm_of(&b).unwrap(), OpenFlags::RDONLY)
        .unwrap();
    assert!(f.read(&mut [0u8; 256]).unwrap() > 0);
    drop((f, held));
    // Unplugged, the attribute is gone with the device.
    assert_eq!(b.echo("bus/usb/devices/1-1/remove", "1"), Ok(1));
    assert_eq!(
        b.echo("bus/usb/devices/1-1/authorized", "1"),
        Err(Errno::ENOENT)
    );
    assert!(b.kernel.monitor().reports().is_empty());
}
