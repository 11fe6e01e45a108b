//! A file of the model held across an unbind written through the tree
//! behaves like Linux's: its node vanishes from sysfs, calls answer the node
//! kind's errno, the module stays pinned until the last close, and the
//! driver binds again afterwards.

mod common;

use common::Bench;
use devlife_media::uapi::media::MEDIA_IOC_DEVICE_INFO;
use devlife_media::uapi::videodev2::VIDIOC_QUERYCAP;
use devlife_model::{Errno, OpenFlags, PollMask};

#[test]
fn held_files_after_unbind_through_the_tree() {
    let b = Bench::with(&["vimc"]);
    let video = b.kernel.open("video0", OpenFlags::RDWR).unwrap();
    let subdev = b.kernel.open("v4l-subdev0", OpenFlags::RDWR).unwrap();
    let media = b.kernel.open("media0", OpenFlags::RDWR).unwrap();
    let mut cap = vec![0u8; 104];
    assert_eq!(video.ioctl(VIDIOC_QUERYCAP, &mut cap), Ok(0));
    assert_eq!(b.cat("module/vimc/refcnt"), "3\n");

    assert_eq!(
        b.echo("bus/platform/drivers/vimc/unbind", "vimc.0\n"),
        Ok(7)
    );
    // The nodes are gone from sysfs at once.
    assert!(b.v4l_nodes().is_empty());
    assert!(b.names("dev/char").is_empty());
    // Held video/subdev files: ENODEV, poll ERR|HUP|PRI; media: EIO, poll ERR|HUP.
    assert_eq!(video.ioctl(VIDIOC_QUERYCAP, &mut cap), Err(Errno::ENODEV));
    assert_eq!(
        subdev.poll(PollMask::IN | PollMask::PRI, None),
        Ok(PollMask::ERR | PollMask::HUP | PollMask::PRI)
    );
    let mut info = vec![0u8; 256];
    assert_eq!(
        media.ioctl(MEDIA_IOC_DEVICE_INFO, &mut info),
        Err(Errno::EIO)
    );
    assert_eq!(
        media.poll(PollMask::IN, None),
        Ok(PollMask::ERR | PollMask::HUP)
    );
    // Re-opening by name fails: the node is unregistered.
    assert!(b.kernel.open("video0", OpenFlags::RDWR).is_err());
    // The held files still pin the module, as on Linux.
    assert_eq!(b.cat("module/vimc/refcnt"), "3\n");
    assert_eq!(
        b.echo("kernel/devlife/modules/unload", "vimc"),
        Err(Errno::EAGAIN)
    );

    // Bind again while the stale files are still open: fresh nodes.
    assert_eq!(b.echo("bus/platform/drivers/vimc/bind", "vimc.0\n"), Ok(7));
    assert_eq!(b.v4l_nodes().len(), 11);
    let again = b.kernel.open("video0", OpenFlags::RDWR).unwrap();
    assert_eq!(again.ioctl(VIDIOC_QUERYCAP, &mut cap), Ok(0));
    assert_eq!(video.ioctl(VIDIOC_QUERYCAP, &mut cap), Err(Errno::ENODEV));
    drop((video, subdev, media, again));
    assert_eq!(b.cat("module/vimc/refcnt"), "0\n");
    assert_eq!(b.echo("kernel/devlife/modules/unload", "vimc"), Ok(4));
    assert!(b.kernel.monitor().reports().is_empty());
}
