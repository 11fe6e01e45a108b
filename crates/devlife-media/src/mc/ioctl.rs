//! `MEDIA_IOC_*`: the media node's ioctl handler (`media_device_ioctl`).
//!
//! [`media_ioctl`] is a plain function of a media device, a command, the
//! caller's argument bytes and the caller's memory (for the embedded user
//! pointers of ENUM_LINKS and G_TOPOLOGY), so it can be driven without a
//! device node (tests, fuzzing) and is what the devnode's `ioctl` calls.
//!
//! Kernel semantics kept:
//! * the command must match the table exactly, else `ENOTTY`;
//! * the argument is copied in (`_IOC_WRITE`), the handler runs on the copy
//!   under the graph lock (every media ioctl but REQUEST_ALLOC), and the copy
//!   goes back **only on success** (`_IOC_READ`);
//! * an argument shorter than `_IOC_SIZE(cmd)` cannot be copied: `EFAULT`.
//!
//! Every reply is encoded from a zeroed struct: reserved fields and padding
//! are zero, and no reply carries a byte that neither the caller sent nor the
//! handler set. (SETUP_LINK also zeroes the reserved words of the two pad
//! descriptors, which the kernel echoes back unchanged.)

use super::device::MediaDevice;
use super::graph::PadKey;
use crate::uapi::ioctl::{ArgBuf, IoctlCmd, UserMemory, Wire};
use crate::uapi::media::*;
use devlife_model::{Errno, KResult};

/// Handles one media ioctl on `mdev`. `arg` is the caller's argument buffer
/// (at least `_IOC_SIZE(cmd)` bytes; only those are read and written).
pub fn media_ioctl(
    mdev: &MediaDevice,
    cmd: u32,
    arg: &mut [u8],
    mm: &dyn UserMemory,
) -> KResult<i64> {
    let def = MEDIA_IOCTLS.lookup(cmd).ok_or(Errno::ENOTTY)?;
    let c = IoctlCmd(cmd);
    let size = c.size();
    let user = arg.get_mut(..size).ok_or(Errno::EFAULT)?;
    let mut buf = ArgBuf::zeroed(size);
    let karg = buf.bytes_mut();
    if c.is_write() {
        karg.copy_from_slice(user);
    }
    match def.key {
        MediaIoctl::DeviceInfo => {
            let _g = mdev.graph();
            let info = mdev.device_info();
            info.encode(karg);
        }
        MediaIoctl::EnumEntities => {
            // Only the id is input; the reply is rebuilt from zero.
            let mut d = MediaEntityDesc {
                id: u32::decode(karg),
                ..MediaEntityDesc::ZERO
            };
            mdev.graph().enum_entities(&mut d)?;
            d.encode(karg);
        }
        MediaIoctl::EnumLinks => {
            let mut le = MediaLinksEnum::decode(karg);
            mdev.graph().enum_links(&mut le, mm)?;
            le.encode(karg);
        }
        MediaIoctl::SetupLink => {
            let mut d = MediaLinkDesc::decode(karg);
            setup_link(mdev, &mut d)?;
            d.encode(karg);
        }
        MediaIoctl::GTopology => {
            let mut t = MediaV2Topology::decode(karg);
            mdev.graph().g_topology(&mut t, mm)?;
            t.encode(karg);
        }
        // No request support (`mdev->ops->req_queue` is NULL).
        MediaIoctl::RequestAlloc => return Err(Errno::ENOTTY),
    }
    if c.is_read() {
        user.copy_from_slice(karg);
    }
    Ok(0)
}

/// `media_device_setup_link`.
fn setup_link(mdev: &MediaDevice, d: &mut MediaLinkDesc) -> KResult<()> {
    let mut g = mdev.graph();
    let source = g.find_entity(d.source.entity).ok_or(Errno::EINVAL)?;
    let sink = g.find_entity(d.sink.entity).ok_or(Errno::EINVAL)?;
    let sk = PadKey {
        entity: source,
        index: d.source.index,
    };
    let kk = PadKey {
        entity: sink,
        index: d.sink.index,
    };
    if g.pad(sk).is_none() || g.pad(kk).is_none() {
        return Err(Errno::EINVAL);
    }
    let link = g.find_data_link(sk, kk).ok_or(Errno::EINVAL)?;
    d.reserved = [0; 2];
    d.source.reserved = [0; 2];
    d.sink.reserved = [0; 2];
    MediaDevice::setup_link_locked(&mut g, link, d.flags)
}
