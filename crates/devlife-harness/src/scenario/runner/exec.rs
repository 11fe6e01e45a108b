//! One operation, run on the calling thread: the userspace calls and the
//! kernel steps of the scenario language.

use super::super::ast::Op;
use super::super::breaks::{self, OPEN_LOOKUP};
use super::result::{Done, StepResult};
use super::worker::Shared;
use devlife_media::uapi::ioctl::with_current_mm;
use devlife_model::{Errno, File, MmapRequest};

fn problem(m: impl Into<String>) -> Done {
    Err(m.into())
}

fn file_of(sh: &Shared, fd: &str) -> Result<File, String> {
    sh.files
        .lock()
        .get(fd)
        .map(File::dup)
        .ok_or_else(|| format!("descriptor `{fd}` is not open (did its open fail?)"))
}

/// Runs one operation on the calling thread.
pub(super) fn exec(sh: &Shared, op: &Op) -> Done {
    let k = &sh.kernel;
    let dev = |name: &Option<String>| -> Result<devlife_model::Device, String> {
        match name {
            Some(n) => k.device(n).ok_or_else(|| format!("no device named `{n}`")),
            None => sh
                .target
                .device()
                .ok_or_else(|| "the driver's device is gone (replug it first)".to_owned()),
        }
    };
    Ok(match op {
        Op::Open { fd, path, flags } => {
            let name = path.strip_prefix("/dev/").unwrap_or(path);
            let Some(node) = k.lookup(name) else {
                return Ok(StepResult::plain(Err(Errno::ENOENT)));
            };
            // The VFS found the inode; its `open` runs next.
            breaks::point(OPEN_LOOKUP);
            match node.open(*flags) {
                Ok(f) => {
                    // Replacing a bound name closes the old descriptor (dup2).
                    let old = sh.files.lock().insert(fd.clone(), f);
                    drop(old);
                    StepResult::plain(Ok(0))
                }
                Err(e) => StepResult::plain(Err(e)),
            }
        }
        Op::Close { fd } => {
            let f = sh.files.lock().remove(fd);
            match f {
                Some(f) => {
                    f.close();
                    StepResult::plain(Ok(0))
                }
                None => return problem(format!("descriptor `{fd}` is not open")),
            }
        }
        Op::Dup { new, fd } => {
            let f = file_of(sh, fd)?;
            let old = sh.files.lock().insert(new.clone(), f);
            drop(old);
            StepResult::plain(Ok(0))
        }
        Op::Ioctl { fd, call } => {
            let f = file_of(sh, fd)?;
            let mut arg = call.arg.clone();
            let r = with_current_mm(sh.mm.clone(), || f.ioctl(call.cmd, &mut arg));
            drop(f);
            StepResult {
                out: r.is_ok().then_some(arg),
                ret: r,
                mask: None,
                numeric: false,
            }
        }
        Op::Read { fd, len } => {
            let f = file_of(sh, fd)?;
            let mut buf = vec![0u8; *len];
            StepResult::number(f.read(&mut buf).map(|n| n as i64))
        }
        Op::Write { fd, len } => {
            let f = file_of(sh, fd)?;
            let buf: Vec<u8> = (0..*len).map(|i| i as u8).collect();
            StepResult::number(f.write(&buf).map(|n| n as i64))
        }
        Op::Poll {
            fd,
            events,
            timeout,
        } => {
            let f = file_of(sh, fd)?;
            match f.poll(*events, *timeout) {
                Ok(m) => StepResult {
                    ret: Ok(i64::from(m.0)),
                    mask: Some(m),
                    out: None,
                    numeric: false,
                },
                Err(e) => StepResult::plain(Err(e)),
            }
        }
        Op::Mmap {
            map,
            fd,
            len,
            offset,
            write,
        } => {
            let f = file_of(sh, fd)?;
            let r = f.mmap(MmapRequest {
                offset: *offset,
                len: *len,
                write: *write,
            });
            drop(f);
            match r {
                Ok(m) => {
                    let old = sh.maps.lock().insert(map.clone(), m);
                    drop(old);
                    StepResult::plain(Ok(0))
                }
                Err(e) => StepResult::plain(Err(e)),
            }
        }
        Op::Munmap { map } => {
            let m = sh.maps.lock().remove(map);
            match m {
                Some(m) => {
                    m.munmap();
                    StepResult::plain(Ok(0))
                }
                None => return problem(format!("mapping `{map}` does not exist")),
            }
        }
        Op::Load { map, offset } => {
            let maps = sh.maps.lock();
            let m = maps
                .get(map)
                .ok_or_else(|| format!("mapping `{map}` does not exist (did its mmap fail?)"))?;
            let mut b = [0u8; 1];
            StepResult::number(m.read(*offset, &mut b).map(|()| i64::from(b[0])))
        }
        Op::Store { map, offset, value } => {
            let maps = sh.maps.lock();
            let m = maps
                .get(map)
                .ok_or_else(|| format!("mapping `{map}` does not exist (did its mmap fail?)"))?;
            StepResult::plain(m.write(*offset, &[*value]).map(|()| 0))
        }
        Op::Bind { driver, device } | Op::Unbind { driver, device } => {
            let role = sh.target.role(driver.as_deref());
            let drv = match (&role, driver) {
                (Some(r), _) => r.driver.clone(),
                (None, Some(d)) => d.clone(),
                (None, None) => return problem("the driver has no default role; name a driver"),
            };
            let fallback = sh.target.role(None);
            let d = match device {
                Some(d) => d.clone(),
                None => role
                    .as_ref()
                    .or(fallback.as_ref())
                    .and_then(|r| r.device.as_ref())
                    .map(|d| d.name().to_owned())
                    .ok_or_else(|| "the driver's device is gone (replug it first)".to_owned())?,
            };
            let r = if matches!(op, Op::Bind { .. }) {
                k.sysfs_bind(&drv, &d)
            } else {
                k.sysfs_unbind(&drv, &d)
            };
            StepResult::plain(r.map(|()| 0))
        }
        Op::HotUnplug { device } => {
            let d = dev(device)?;
            StepResult::plain(k.hot_unplug(&d).map(|()| 0))
        }
        Op::Replug => StepResult::plain(sh.target.replug(k).map(|()| 0)),
        Op::Unload { module } => {
            let m = match sh.target.role(module.as_deref()) {
                Some(r) => r.module,
                None => module.clone(),
            }
            .ok_or_else(|| "the driver has no module; name one".to_owned())?;
            StepResult::plain(k.unload_module(&m).map(|()| 0))
        }
        Op::Stall { thread } => {
            let d = dev(&None)?;
            let g = d.hardware().stall_thread(thread);
            let old = sh.stalls.lock().insert(thread.clone(), g);
            drop(old);
            StepResult::plain(Ok(0))
        }
        Op::Unstall { thread } => {
            let g = sh.stalls.lock().remove(thread);
            match g {
                Some(g) => {
                    drop(g);
                    StepResult::plain(Ok(0))
                }
                None => return problem(format!("thread `{thread}` is not stalled")),
            }
        }
        Op::Irq => {
            let d = dev(&None)?;
            let hw = d.hardware();
            let n = hw
                .irq()
                .ok_or_else(|| format!("device `{}` has no interrupt line", d.name()))?;
            hw.raise_irq();
            // Delivered synchronously: the step ends when the handler ran.
            if let Some(l) = k.irq().line(n)
                && !l.wait_idle(sh.timeout)
            {
                return problem(format!("the handler of IRQ {n} did not finish"));
            }
            StepResult::plain(Ok(0))
        }
        Op::Signal { thread } => {
            if !k.activity().signal(thread) {
                return problem(format!("`signal {thread}`: the thread is not blocked"));
            }
            StepResult::plain(Ok(0))
        }
        Op::Fault { point, nth } => {
            k.faults().fail_nth(*point, *nth);
            StepResult::plain(Ok(0))
        }
        Op::Mistake { mistake } => StepResult::plain(sh.target.mistake(*mistake).map(|()| 0)),
        Op::LoadModule { module } => {
            StepResult::plain(sh.target.load(k, module.as_deref()).map(|()| 0))
        }
        Op::Custom { name, args } => StepResult::number(sh.target.action(k, name, args)),
    })
}
