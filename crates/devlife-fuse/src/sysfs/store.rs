//! Writable attributes: what a write does and which errno it fails with.
//!
//! Input is taken the way sysfs hands it to a `store` method: at most one
//! page ([`PAGE_SIZE`] bytes, the rest is not consumed: a short write), cut
//! at the first NUL byte, and a name matches when it equals the written
//! string with at most one trailing newline (`sysfs_streq`). An empty write
//! consumes nothing and changes nothing. Every failure changes nothing.

use super::SysError;
use devlife_harness::stress::Instance;
use devlife_model::{Errno, Kernel};
use std::sync::Arc;

/// What sysfs passes to one `store` call: at most this many bytes.
pub const PAGE_SIZE: usize = 4096;

/// The action of a writable attribute.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Store {
    /// `bus/<bus>/drivers/<driver>/bind`.
    Bind { driver: String },
    /// `bus/<bus>/drivers/<driver>/unbind`.
    Unbind { driver: String },
    /// `remove` of a USB device: the device is logically disconnected
    /// (whatever was written, as in Linux).
    UsbRemove { device: String },
    /// `authorized` of a USB device: 0 deletes its interfaces, any other
    /// number creates them again (`authorized_store`).
    UsbAuthorized { device: String },
    /// `kernel/devlife/unplug`: hot-unplug of the named device.
    Unplug,
    /// `kernel/devlife/plug`: the named device comes back.
    Plug,
    /// `kernel/devlife/modules/unload`: `rmmod` of the named module.
    ModuleUnload,
    /// `kernel/devlife/modules/load`: `modprobe` of the named module.
    ModuleLoad,
    /// `dev_debug` of a video4linux device: accepts a number and keeps
    /// nothing (the model has no debug log).
    DevDebug,
}

/// The part of a write a `store` method sees, as a string: the first page,
/// up to the first NUL.
fn page(data: &[u8]) -> &[u8] {
    let d = &data[..data.len().min(PAGE_SIZE)];
    match d.iter().position(|b| *b == 0) {
        Some(n) => &d[..n],
        None => d,
    }
}

/// `sysfs_streq`: the written name without one trailing newline, if it is
/// valid UTF-8 (no device, driver or module name is not).
fn name(data: &[u8]) -> Option<&str> {
    let d = page(data);
    let d = d.strip_suffix(b"\n").unwrap_or(d);
    std::str::from_utf8(d).ok()
}

/// `sscanf(buf, "%u")`: leading white space, an optional sign, decimal
/// digits; whatever follows them is ignored. `None` without digits.
fn scan_u32(s: &str) -> Option<u32> {
    let s = s.trim_start();
    let (neg, s) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    if end == 0 {
        return None;
    }
    let v = s[..end].bytes().fold(0u32, |v, d| {
        v.wrapping_mul(10).wrapping_add(u32::from(d - b'0'))
    });
    Some(if neg { v.wrapping_neg() } else { v })
}

fn err(e: Errno) -> SysError {
    SysError(e.raw())
}

/// Runs `store` with `data`. Returns the number of bytes consumed.
pub(crate) fn write(
    kernel: &Kernel,
    instances: &[Arc<dyn Instance>],
    store: &Store,
    data: &[u8],
) -> Result<usize, SysError> {
    if data.is_empty() {
        return Ok(0);
    }
    let consumed = data.len().min(PAGE_SIZE);
    let name = name(data);
    match store {
        Store::Bind { driver } => {
            let dev = name.ok_or(err(Errno::ENODEV))?;
            match kernel.sysfs_bind(driver, dev) {
                Ok(()) => Ok(consumed),
                // `device_driver_attach` turns a deferred probe into EAGAIN.
                Err(Errno::EPROBE_DEFER) => Err(err(Errno::EAGAIN)),
                Err(e) => Err(err(e)),
            }
        }
        Store::Unbind { driver } => {
            let dev = name.ok_or(err(Errno::ENODEV))?;
            kernel
                .sysfs_unbind(driver, dev)
                .map(|()| consumed)
                .map_err(err)
        }
        Store::UsbRemove { device } => {
            // `remove_store` ignores what was written.
            let dev = kernel.device(device).ok_or(err(Errno::ENODEV))?;
            kernel.hot_unplug(&dev).map(|()| consumed).map_err(err)
        }
        Store::UsbAuthorized { device } => {
            let v = name.and_then(scan_u32).ok_or(err(Errno::EINVAL))?;
            let dev = kernel.device(device).ok_or(err(Errno::ENODEV))?;
            kernel
                .usb_authorize(&dev, v != 0)
                .map(|()| consumed)
                .map_err(err)
        }
        Store::Unplug => {
            let dev = name
                .and_then(|n| kernel.device(n))
                .ok_or(err(Errno::ENODEV))?;
            kernel.hot_unplug(&dev).map(|()| consumed).map_err(err)
        }
        Store::Plug => {
            let n = name.ok_or(err(Errno::ENODEV))?;
            for i in instances {
                match i.plug_device(n) {
                    Err(Errno::ENODEV) => continue,
                    r => return r.map(|()| consumed).map_err(err),
                }
            }
            Err(err(Errno::ENODEV))
        }
        Store::ModuleUnload => {
            let n = name.ok_or(err(Errno::ENOENT))?;
            for i in instances {
                match i.unload_module(n) {
                    Err(Errno::ENOENT) => continue,
                    // `delete_module` with O_NONBLOCK (what rmmod passes)
                    // answers EWOULDBLOCK while the module is in use.
                    Err(Errno::EBUSY) => return Err(err(Errno::EAGAIN)),
                    r => return r.map(|()| consumed).map_err(err),
                }
            }
            Err(err(Errno::ENOENT))
        }
        Store::ModuleLoad => {
            let n = name.ok_or(err(Errno::ENOENT))?;
            for i in instances {
                match i.load_module(n) {
                    Err(Errno::ENOENT) => continue,
                    r => return r.map(|()| consumed).map_err(err),
                }
            }
            Err(err(Errno::ENOENT))
        }
        Store::DevDebug => {
            // `kstrtou16`-like: a decimal number with an optional newline.
            match name.and_then(|s| s.parse::<u16>().ok()) {
                Some(_) => Ok(consumed),
                None => Err(err(Errno::EINVAL)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_sysfs_streq() {
        assert_eq!(name(b"vimc.0\n"), Some("vimc.0"));
        assert_eq!(name(b"vimc.0"), Some("vimc.0"));
        assert_eq!(name(b"vimc.0\n\n"), Some("vimc.0\n"));
        assert_eq!(name(b"vimc.0\0junk"), Some("vimc.0"));
        assert_eq!(name(b"\xff\xfe"), None);
        assert_eq!(scan_u32(" 1\n"), Some(1));
        assert_eq!(scan_u32("0"), Some(0));
        assert_eq!(scan_u32("12abc"), Some(12));
        assert_eq!(scan_u32("-0"), Some(0));
        assert_eq!(scan_u32("-1"), Some(u32::MAX));
        assert_eq!(scan_u32("yes"), None);
        assert_eq!(scan_u32(""), None);
        let long = vec![b'a'; PAGE_SIZE + 10];
        assert_eq!(name(&long).map(str::len), Some(PAGE_SIZE));
    }
}
