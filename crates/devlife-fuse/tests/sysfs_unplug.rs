//! A physical unplug of a usb-av device through the tree (`remove`) while a
//! PCM read and a video read are blocked on it: both return, the write
//! returns once the transfers in flight are done, and the other device's
//! and vimc's files keep working.

mod common;

use common::Bench;
use devlife_drivers::usb_av::{audio_urb_thread, video_urb_thread};
use devlife_media::uapi::videodev2::VIDIOC_QUERYCAP;
use devlife_model::{Errno, OpenFlags};
use std::thread;
use std::time::Duration;

/// Guards against a hang only; never reached when things work.
const PATIENCE: Duration = Duration::from_secs(60);

/// The one node of `kind` (`video`, `pcm`) in a directory listing of the tree.
fn node_in(b: &Bench, dir: &str, prefix: &str) -> String {
    b.names(dir)
        .into_iter()
        .find(|n| n.starts_with(prefix))
        .unwrap_or_else(|| panic!("no {prefix}* in {dir}"))
}

#[test]
fn remove_while_pcm_and_video_reads_are_blocked() {
    let b = Bench::new();
    let k = b.kernel.clone();
    // The nodes of the device on port 1-1, found through the tree as a script would.
    let video = node_in(&b, "bus/usb/devices/1-1:1.0/video4linux", "video");
    let pcm = node_in(&b, "bus/usb/devices/1-1:1.1/sound/card0", "pcmC");
    let other_pcm = node_in(&b, "bus/usb/devices/2-1:1.1/sound/card1", "pcmC");
    // Hold both URB threads in the hardware so that no data arrives and the
    // reads really block.
    let hw = k.device("1-1").unwrap().hardware().clone();
    let vstall = hw.stall_thread(&video_urb_thread("1-1"));
    let astall = hw.stall_thread(&audio_urb_thread("1-1"));
    let v = k.open(&video, OpenFlags::RDONLY).unwrap();
    let a = k.open(&pcm, OpenFlags::RDONLY).unwrap();
    let vreader = thread::Builder::new()
        .name("vreader".into())
        .spawn({
            let v = v.dup();
            move || v.read(&mut [0u8; 4096])
        })
        .unwrap();
    let areader = thread::Builder::new()
        .name("areader".into())
        .spawn({
            let a = a.dup();
            move || a.read(&mut [0u8; 256])
        })
        .unwrap();
    assert!(k.wait_blocked("vreader", "read", PATIENCE));
    assert!(k.wait_blocked("areader", "read", PATIENCE));
    assert!(hw.wait_stalled(2, PATIENCE));

    let tree = b.tree.clone();
    let remover = thread::Builder::new()
        .name("remover".into())
        .spawn(move || tree.write("bus/usb/devices/1-1/remove", b"1\n"))
        .unwrap();
    // The interfaces are unbound one after the other, as usb_disconnect
    // does: the video reader is woken at once, and the unbind of the video
    // interface then waits for its transfer in flight.
    assert_eq!(vreader.join().unwrap(), Err(Errno::ENODEV));
    assert!(!remover.is_finished());
    drop(vstall);
    // Then the audio interface: its reader is woken, its transfer drained.
    assert_eq!(areader.join().unwrap(), Err(Errno::ENODEV));
    drop(astall);
    assert_eq!(remover.join().unwrap(), Ok(2));

    // The device, its interfaces and its nodes are gone; held files answer ENODEV.
    assert!(!b.exists("bus/usb/devices/1-1"));
    assert!(!b.exists(&format!("class/video4linux/{video}")));
    assert!(!b.exists(&format!("class/sound/{pcm}")));
    assert_eq!(v.read(&mut [0u8; 16]), Err(Errno::ENODEV));
    assert_eq!(a.read(&mut [0u8; 16]), Err(Errno::ENODEV));
    assert!(k.open(&pcm, OpenFlags::RDONLY).is_err());
    // The other device and vimc work on.
    let o = k.open(&other_pcm, OpenFlags::RDONLY).unwrap();
    assert!(o.read(&mut [0u8; 256]).unwrap() > 0);
    let vimc = k.open("video0", OpenFlags::RDWR).unwrap();
    assert_eq!(vimc.ioctl(VIDIOC_QUERYCAP, &mut [0u8; 104]), Ok(0));
    drop((v, a, o, vimc));
    // Plugged back, the device streams again.
    assert_eq!(b.echo("kernel/devlife/plug", "1-1"), Ok(3));
    let pcm = node_in(&b, "bus/usb/devices/1-1:1.1/sound/card0", "pcmC");
    let a = k.open(&pcm, OpenFlags::RDONLY).unwrap();
    assert!(a.read(&mut [0u8; 256]).unwrap() > 0);
    drop(a);
    assert_eq!(k.check_hangs(), 0);
    assert!(k.monitor().reports().is_empty());
}
