//! usb-av (framework style): disconnect, unbind, rebind and module unload
//! during every kind of call, with the other driver and open files still
//! running; the seed-003 allocator states observed through the drivers;
//! memory flat across plug cycles. No checker may fire.

use devlife_drivers::Style;
use devlife_drivers::usb_av::hw::{audio_frame, video_byte};
use devlife_drivers::usb_av::pcm::{PcmHwParams, client};
use devlife_drivers::usb_av::{AUDIO_NAME, DECODER_NAME};
use devlife_media::mc::{MediaDevice, MediaDeviceState, preempt};
use devlife_media::uapi::subdev::V4L2_SUBDEV_FORMAT_ACTIVE;
use devlife_media::uapi::videodev2::*;
use devlife_model::{Errno, Kernel, OpenFlags, PollMask};
use devlife_testkit::usb_av::*;
use std::sync::mpsc;

/// Waits until some thread is published as blocked in `op` of `object`.
fn wait_blocked_on(k: &Kernel, object: &str, op: &str) {
    assert!(
        k.activity().wait_for(PATIENCE, |b| b
            .iter()
            .any(|x| x.object == object && x.op == op)),
        "nobody blocked in {op} of {object}: {:?}",
        k.activity().blocked()
    );
}

/// A reader blocked in `read` of the PCM node: its URB thread is held in
/// the hardware before the first period arrives.
struct BlockedAudio {
    stall: devlife_model::StallGuard,
    reader: std::thread::JoinHandle<Result<usize, Errno>>,
    file: devlife_model::File,
}

fn block_audio_reader(rig: &Rig, name: &str) -> BlockedAudio {
    let stall = rig.udev.hardware().stall_thread(&rig.audio_urb());
    let file = rig.open_pcm();
    let f2 = file.dup();
    let reader = spawn(name, move || f2.read(&mut [0u8; 256]));
    wait_blocked(&rig.k, name, "read");
    assert!(rig.udev.hardware().wait_stalled(1, PATIENCE));
    BlockedAudio {
        stall,
        reader,
        file,
    }
}

#[test]
fn disconnect_wakes_every_sleeper_and_waits_for_the_transfer_in_flight() {
    let rig = Rig::new(Style::Framework);
    // DQBUF on an empty queue and a poll on the same file.
    let v = rig.open_video();
    reqbufs(&v, 2).unwrap();
    streamon(&v).unwrap();
    let v2 = v.dup();
    let dq = spawn("dq", move || dqbuf(&v2));
    wait_blocked(&rig.k, "dq", "VIDIOC_DQBUF");
    let v3 = v.dup();
    let poller = spawn("vpoll", move || v3.poll(PollMask::IN | PollMask::PRI, None));
    wait_blocked(&rig.k, "vpoll", "poll");
    // An audio read waiting for a transfer that sits in the hardware.
    let a = block_audio_reader(&rig, "areader");
    let a2 = a.file.dup();
    let apoll = spawn("apoll", move || a2.poll(PollMask::IN, None));
    wait_blocked(&rig.k, "apoll", "poll");
    // Open subdev and media nodes.
    let sd = rig.open_subdev();
    let mf = rig.open_media();

    let (k2, u2) = (rig.av.kernel().clone(), rig.udev.clone());
    let unplug = spawn("unplug", move || k2.hot_unplug(&u2));
    // The audio node's unplug wakes the reader, then cancels the capture:
    // it waits for the URB thread, whose transfer is still in the hardware.
    assert_eq!(a.reader.join().unwrap(), Err(Errno::ENODEV));
    assert_eq!(rig.udev.hardware().stalled(), 1);
    assert!(!unplug.is_finished());
    drop(a.stall);
    unplug.join().unwrap().unwrap();

    assert_eq!(dq.join().unwrap(), Err(Errno::ENODEV));
    let gone = PollMask::ERR | PollMask::HUP | PollMask::PRI;
    assert_eq!(poller.join().unwrap().unwrap(), gone);
    // ALSA's snd_disconnect_poll.
    assert_eq!(
        apoll.join().unwrap().unwrap(),
        PollMask::ERR | PollMask::NVAL
    );
    assert_eq!(rig.k.check_hangs(), 0);
    // Every later call answers with its node's errno.
    assert_eq!(querycap(&v).unwrap_err(), Errno::ENODEV);
    assert_eq!(
        subdev_g_fmt(&sd, V4L2_SUBDEV_FORMAT_ACTIVE, 1).unwrap_err(),
        Errno::ENODEV
    );
    assert_eq!(media_info(&mf).unwrap_err(), Errno::EIO);
    assert_eq!(a.file.read(&mut [0u8; 4]), Err(Errno::ENODEV));
    assert_eq!(client::status(&a.file).unwrap_err(), Errno::ENODEV);
    assert_eq!(
        rig.k.open("media0", OpenFlags::RDWR).unwrap_err(),
        Errno::ENOENT
    );
    // Both captures were stopped by the unplug, before remove().
    let c = rig.av.counters();
    assert_eq!((c.video_stops, c.video_stops_after_remove), (1, 0));
    assert_eq!((c.audio_stops, c.audio_stops_after_remove), (1, 0));
    assert_eq!((c.video_removes, c.audio_removes), (1, 1));
    // The driver state lives until the last file is closed.
    assert_eq!(rig.k.monitor().ledger().live("usbav_audio_state"), 1);
    drop((v, a.file, sd, mf));
    assert_eq!(rig.k.monitor().ledger().live("usbav_audio_state"), 0);
    assert_eq!(rig.k.monitor().ledger().live("usbav_video_state"), 0);
    no_reports(&rig.k);
    rig.finish();
}

#[test]
fn unbind_and_rebind_video_while_audio_streams() {
    let rig = Rig::new(Style::Framework);
    let a = rig.open_pcm();
    let first = client::frames(&{
        let mut b = vec![0u8; 4096];
        let n = a.read(&mut b).unwrap();
        b.truncate(n);
        b
    });
    assert_eq!(first[0], audio_frame(0));
    let v = rig.open_video();
    start_stream(&v, 2).unwrap();
    dqbuf(&v).unwrap();
    dqbuf(&v).unwrap();
    let v2 = v.dup();
    let dq = spawn("dq", move || dqbuf(&v2));
    wait_blocked(&rig.k, "dq", "VIDIOC_DQBUF");

    rig.unbind_video();
    assert_eq!(dq.join().unwrap(), Err(Errno::ENODEV));
    // The audio driver and its file keep running.
    let mut got = 0;
    while got < 16384 {
        got += a.read(&mut [0u8; 4096]).unwrap();
    }
    let m = rig
        .av
        .media_device(&rig.udev)
        .expect("audio holds the media device");
    assert_eq!(m.state(), MediaDeviceState::Registered);
    assert!(m.graph().entity_by_name(DECODER_NAME).is_none());

    // Rebind: the new video driver gets the same media device and links
    // the decoder to the existing audio entity.
    rig.bind_video();
    let m2 = rig.av.media_device(&rig.udev).unwrap();
    assert!(MediaDevice::ptr_eq(&m, &m2));
    assert!(
        rig.av
            .topology(&rig.udev)
            .unwrap()
            .contains("-> \"USB-AV Audio Capture\":0 [ENABLED]")
    );
    let nv = rig.open_video();
    start_stream(&nv, 2).unwrap();
    let b = dqbuf(&nv).unwrap();
    assert_eq!(b.bytesused, 720 * 480 * 2);
    // The old file still answers ENODEV.
    assert_eq!(querycap(&v).unwrap_err(), Errno::ENODEV);
    assert!(a.read(&mut [0u8; 64]).unwrap() > 0);
    let c = rig.av.counters();
    assert_eq!((c.video_probes, c.video_removes, c.audio_probes), (2, 1, 1));
    drop((a, v, nv, m, m2));
    no_reports(&rig.k);
    rig.finish();
}

#[test]
fn unbind_and_rebind_audio_while_video_streams() {
    let rig = Rig::new(Style::Framework);
    let v = rig.open_video();
    start_stream(&v, 3).unwrap();
    let a = block_audio_reader(&rig, "areader");
    let (k2, iface, drv) = (
        rig.k.clone(),
        rig.audio_iface(),
        rig.av.audio_driver().to_owned(),
    );
    let unbind = spawn("unbind", move || k2.sysfs_unbind(&drv, &iface));
    assert_eq!(a.reader.join().unwrap(), Err(Errno::ENODEV));
    assert!(
        !unbind.is_finished(),
        "the transfer in flight holds the unbind"
    );
    drop(a.stall);
    unbind.join().unwrap().unwrap();
    // Video keeps streaming.
    for _ in 0..3 {
        let b = dqbuf(&v).unwrap();
        assert_eq!(b.flags & buf_flag::ERROR, 0);
        qbuf(&v, b.index).unwrap();
    }
    let m = rig.av.media_device(&rig.udev).unwrap();
    assert!(m.graph().entity_by_name(AUDIO_NAME).is_none());
    // Rebind: the video driver's entity notify links the new audio entity.
    rig.bind_audio();
    assert!(
        rig.av
            .topology(&rig.udev)
            .unwrap()
            .contains("-> \"USB-AV Audio Capture\":0 [ENABLED]")
    );
    let na = rig.open_pcm();
    let mut b = vec![0u8; 1024];
    let n = na.read(&mut b).unwrap();
    assert_eq!(client::frames(&b[..n])[0], audio_frame(0));
    let c = rig.av.counters();
    assert!(c.notifies >= 2, "{c:?}");
    drop((a.file, na, v, m));
    no_reports(&rig.k);
    rig.finish();
}

#[test]
fn module_unload_during_calls() {
    let rig = Rig::new(Style::Framework);
    let a = block_audio_reader(&rig, "areader");
    let v = rig.open_video();
    start_stream(&v, 2).unwrap();
    let map0 = map_buffer(&v, 0).unwrap();
    let mf = rig.open_media();
    // Open files (a read in flight, a mapping) pin their modules.
    assert_eq!(
        rig.k.unload_module(rig.av.audio_driver()),
        Err(Errno::EBUSY)
    );
    assert_eq!(
        rig.k.unload_module(rig.av.video_driver()),
        Err(Errno::EBUSY)
    );
    drop(v);
    assert_eq!(
        rig.k.unload_module(rig.av.video_driver()),
        Err(Errno::EBUSY),
        "the mapping holds the file"
    );
    drop(map0);
    // The media node runs core code only: it pins no driver module.
    rig.k.unload_module(rig.av.video_driver()).unwrap();
    assert!(
        rig.av
            .video_interface(&rig.udev)
            .unwrap()
            .driver_name()
            .is_none()
    );
    // The audio read in flight completes once its transfer does.
    drop(a.stall);
    assert_eq!(a.reader.join().unwrap(), Ok(256));
    assert_eq!(media_info(&mf).map(|_| ()), Ok(()));
    drop(a.file);
    rig.k.unload_module(rig.av.audio_driver()).unwrap();
    // The last driver left: the media node answers EIO.
    assert_eq!(media_info(&mf).unwrap_err(), Errno::EIO);
    drop(mf);
    no_reports(&rig.k);
    rig.finish();
}

#[test]
fn mmap_buffers_outlive_the_device() {
    let rig = Rig::new(Style::Framework);
    let v = rig.open_video();
    start_stream(&v, 2).unwrap();
    let maps: Vec<_> = (0..2).map(|i| map_buffer(&v, i).unwrap()).collect();
    let b = dqbuf(&v).unwrap();
    let mut head = [0u8; 4];
    maps[b.index as usize].read(0, &mut head).unwrap();
    let frame = u32::from_le_bytes(head);
    rig.av.unplug(&rig.udev).unwrap();
    drop(v);
    // The buffer memory is still there, with the frame in it.
    let mut x = [0u8; 2];
    maps[b.index as usize].read(100_000, &mut x).unwrap();
    assert_eq!(x, [video_byte(frame, 100_000), video_byte(frame, 100_001)]);
    assert_eq!(rig.k.monitor().ledger().live("vb2_buffer_mem"), 2);
    drop(maps);
    assert_eq!(rig.k.monitor().ledger().live("vb2_buffer_mem"), 0);
    no_reports(&rig.k);
    rig.finish();
}

#[test]
fn media_ioctl_in_flight_keeps_the_disconnect_waiting() {
    let rig = Rig::new(Style::Framework);
    let mf = rig.open_media();
    let (at_tx, at_rx) = mpsc::channel::<()>();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let f2 = mf.dup();
    let ioctl = spawn("mioctl", move || {
        preempt::with_hook(
            move |p| {
                if p == preempt::MEDIA_IOCTL {
                    let _ = at_tx.send(());
                    let _ = go_rx.recv();
                }
            },
            || media_info(&f2),
        )
    });
    at_rx.recv().unwrap();
    let (k2, u2) = (rig.k.clone(), rig.udev.clone());
    let unplug = spawn("unplug", move || k2.hot_unplug(&u2));
    // The last driver's media_device_delete waits for the ioctl.
    wait_blocked_on(&rig.k, "media0", "unplug");
    assert!(!unplug.is_finished());
    go_tx.send(()).unwrap();
    let info = ioctl.join().unwrap().unwrap();
    assert_eq!(
        devlife_media::uapi::ioctl::get_str(&info.model),
        "devlife USB-AV"
    );
    unplug.join().unwrap().unwrap();
    assert_eq!(media_info(&mf).unwrap_err(), Errno::EIO);
    drop(mf);
    no_reports(&rig.k);
    rig.finish();
}

#[test]
fn a_hook_call_in_progress_keeps_the_video_unbind_waiting() {
    let rig = Rig::new(Style::Framework);
    let a = rig.open_pcm();
    // The hook routes the decoder's audio with a register write: hold it.
    let stall = rig.udev.hardware().stall_thread("hwp");
    let a2 = a.dup();
    let hwp = spawn("hwp", move || client::hw_params(&a2, PcmHwParams::DEFAULT));
    assert!(rig.udev.hardware().wait_stalled(1, PATIENCE));
    let (k2, iface, drv) = (
        rig.k.clone(),
        rig.video_iface(),
        rig.av.video_driver().to_owned(),
    );
    let unbind = spawn("unbind", move || k2.sysfs_unbind(&drv, &iface));
    // The video binding's gate drains: the hook call is inside it.
    wait_blocked_on(&rig.k, &rig.video_iface(), "unbind");
    assert!(!unbind.is_finished());
    drop(stall);
    assert!(hwp.join().unwrap().is_ok());
    unbind.join().unwrap().unwrap();
    // The hooks left with the driver: releasing the source reaches nobody.
    let before = rig.av.counters().source_disables;
    client::cmd(&a, devlife_drivers::usb_av::pcm::PCM_IOCTL_HW_FREE).unwrap();
    assert_eq!(rig.av.counters().source_disables, before);
    // Audio works without the video driver.
    assert!(a.read(&mut [0u8; 128]).unwrap() > 0);
    drop(a);
    no_reports(&rig.k);
    rig.finish();
}

/// Seed 003: Allocated/Registered/Unregistered in use/not in use/Released,
/// observed through the drivers.
#[test]
fn allocator_states_through_the_drivers() {
    let rig = Rig::new(Style::Framework);
    let alloc = rig.av.allocator();
    let live = |s: &Rig| -> Vec<_> {
        s.av.allocator()
            .instances()
            .into_iter()
            .filter(|i| i.live)
            .collect()
    };
    let l = live(&rig);
    assert_eq!(l.len(), 1);
    assert_eq!(l[0].state, MediaDeviceState::Registered);
    assert_eq!(l[0].drivers, ["usbav-video", "usbav-audio"]);
    let first = l[0].mdev.clone();

    rig.unbind_audio();
    let l = live(&rig);
    assert_eq!(
        (l[0].state, l[0].drivers.clone()),
        (MediaDeviceState::Registered, vec!["usbav-video".to_owned()])
    );

    // The last driver leaves while /dev/media0 is open.
    let mf = rig.open_media();
    rig.unbind_video();
    assert!(live(&rig).is_empty());
    assert_eq!(first.state(), MediaDeviceState::UnregisteredInUse);
    assert!(alloc.lookup(rig.udev.id()).is_none());

    // Bind audio first this time: a fresh media device, named after it.
    rig.bind_audio();
    let l = live(&rig);
    assert_eq!(l.len(), 1);
    let second = l[0].mdev.upgrade().unwrap();
    assert!(!MediaDevice::ptr_eq(&second, &first.upgrade().unwrap()));
    assert_eq!(second.info().driver_name, "usbav-audio");
    rig.bind_video();
    assert_eq!(live(&rig)[0].drivers, ["usbav-audio", "usbav-video"]);
    // The video driver found the audio entity and linked it.
    assert!(
        rig.av
            .topology(&rig.udev)
            .unwrap()
            .contains("-> \"USB-AV Audio Capture\":0 [ENABLED]")
    );
    assert_eq!(first.state(), MediaDeviceState::UnregisteredInUse);
    assert_eq!(media_info(&mf).unwrap_err(), Errno::EIO);
    drop(mf);
    assert_eq!(first.state(), MediaDeviceState::Released);

    // Disconnect with files open.
    let v = rig.open_video();
    let m2 = rig.open_media();
    let w = second.downgrade();
    drop(second);
    rig.av.unplug(&rig.udev).unwrap();
    assert_eq!(w.state(), MediaDeviceState::UnregisteredInUse);
    drop(m2);
    assert_eq!(
        w.state(),
        MediaDeviceState::UnregisteredNotInUse,
        "the open video file's entity holds it"
    );
    drop(v);
    assert_eq!(w.state(), MediaDeviceState::Released);
    no_reports(&rig.k);
    rig.finish();
}

#[test]
fn memory_is_flat_across_plug_cycles() {
    let k = Kernel::new();
    let av = devlife_drivers::usb_av::register(&k, Style::Framework).unwrap();
    let baseline = live_map(&k);
    for i in 0..15 {
        let udev = av.plug("2-1").unwrap();
        let n = av.nodes(&udev);
        let v = k
            .open(n.video.as_deref().unwrap(), OpenFlags::RDWR)
            .unwrap();
        let a = k
            .open(n.pcm.as_deref().unwrap(), OpenFlags::RDONLY)
            .unwrap();
        let m = k
            .open(n.media.as_deref().unwrap(), OpenFlags::RDWR)
            .unwrap();
        start_stream(&v, 2).unwrap();
        let b = dqbuf(&v).unwrap();
        let map = map_buffer(&v, b.index).unwrap();
        assert!(a.read(&mut [0u8; 512]).unwrap() > 0);
        match i % 3 {
            0 => av.unplug(&udev).unwrap(),
            1 => {
                k.sysfs_unbind(av.audio_driver(), &format!("{}:1.1", udev.name()))
                    .unwrap();
                k.sysfs_unbind(av.video_driver(), &format!("{}:1.0", udev.name()))
                    .unwrap();
                av.unplug(&udev).unwrap();
            }
            _ => {
                k.sysfs_unbind(av.video_driver(), &format!("{}:1.0", udev.name()))
                    .unwrap();
                av.unplug(&udev).unwrap();
            }
        }
        drop((v, a, m, map, udev));
        assert_eq!(live_map(&k), baseline, "cycle {i}");
    }
    no_reports(&k);
    k.shutdown();
    drop(av);
    no_leaks(&k);
}

#[test]
fn video_read_in_flight_and_urb_in_flight_during_unbind() {
    let rig = Rig::new(Style::Framework);
    let stall = rig.udev.hardware().stall_thread(&rig.video_urb());
    let v = rig.open_video();
    let v2 = v.dup();
    let reader = spawn("vreader", move || v2.read(&mut [0u8; 4096]));
    wait_blocked(&rig.k, "vreader", "read");
    assert!(rig.udev.hardware().wait_stalled(1, PATIENCE));
    let (k2, iface, drv) = (
        rig.k.clone(),
        rig.video_iface(),
        rig.av.video_driver().to_owned(),
    );
    let unbind = spawn("unbind", move || k2.sysfs_unbind(&drv, &iface));
    // The reader is woken at once; the unbind waits for the URB thread,
    // whose transfer is still in the hardware.
    assert_eq!(reader.join().unwrap(), Err(Errno::ENODEV));
    assert!(!unbind.is_finished());
    drop(stall);
    unbind.join().unwrap().unwrap();
    let c = rig.av.counters();
    assert_eq!(
        (c.video_stops, c.video_stops_after_remove, c.urb_exits),
        (1, 0, 1)
    );
    assert_eq!(v.read(&mut [0u8; 16]), Err(Errno::ENODEV));
    drop(v);
    no_reports(&rig.k);
    rig.finish();
}
