//! Operations: the userspace calls and kernel steps a step can run.

use super::super::ast::Op;
use super::super::ioctls::{IoctlCall, parse_int};
use super::super::target;
use super::error::ParseErrorKind;
use super::lex::is_name;
use super::values::{arg, no_more, parse_duration, parse_fault_point, parse_mask, parse_usize};
use super::{Parser, R};
use devlife_drivers::Mistake;
use devlife_model::OpenFlags;

impl Parser {
    pub(super) fn op(&self, w: &[String]) -> R<Op> {
        let cmd = w[0].as_str();
        let a = |i: usize, what: &'static str| arg(w, i, cmd, what);
        let fd = |i: usize| -> R<String> {
            let s = a(i, "a descriptor name")?;
            if is_name(s) {
                Ok(s.to_owned())
            } else {
                Err(ParseErrorKind::BadName(s.to_owned()))
            }
        };
        Ok(match cmd {
            "open" => {
                let fd = fd(1)?;
                let path = a(2, "a node path")?.to_owned();
                let mut flags = OpenFlags::RDWR;
                for o in &w[3..] {
                    match o.as_str() {
                        "rdwr" => {
                            flags.read = true;
                            flags.write = true;
                        }
                        "rdonly" => {
                            flags.read = true;
                            flags.write = false;
                        }
                        "wronly" => {
                            flags.read = false;
                            flags.write = true;
                        }
                        "nonblock" => flags.nonblock = true,
                        other => {
                            return Err(ParseErrorKind::ExtraArgument {
                                command: cmd.into(),
                                arg: other.into(),
                            });
                        }
                    }
                }
                Op::Open { fd, path, flags }
            }
            "close" => {
                no_more(w, 2, cmd)?;
                Op::Close { fd: fd(1)? }
            }
            "dup" => {
                no_more(w, 3, cmd)?;
                Op::Dup {
                    new: fd(1)?,
                    fd: fd(2)?,
                }
            }
            "ioctl" => {
                let fd = fd(1)?;
                let name = a(2, "an ioctl name")?;
                let mut sets = Vec::new();
                for kv in &w[3..] {
                    let (k, v) =
                        kv.split_once('=')
                            .ok_or_else(|| ParseErrorKind::ExtraArgument {
                                command: cmd.into(),
                                arg: kv.clone(),
                            })?;
                    sets.push((k.to_owned(), v.to_owned()));
                }
                Op::Ioctl {
                    fd,
                    call: IoctlCall::encode(name, &sets)?,
                }
            }
            "read" | "write" => {
                no_more(w, 3, cmd)?;
                let fd = fd(1)?;
                let len = parse_usize(a(2, "a length in bytes")?)?;
                if cmd == "read" {
                    Op::Read { fd, len }
                } else {
                    Op::Write { fd, len }
                }
            }
            "poll" => {
                let fd = fd(1)?;
                let events = parse_mask(a(2, "poll events (e.g. IN)")?)?;
                let mut timeout = None;
                for o in &w[3..] {
                    match o.split_once('=') {
                        Some(("timeout", d)) => timeout = parse_duration(d)?,
                        _ => {
                            return Err(ParseErrorKind::ExtraArgument {
                                command: cmd.into(),
                                arg: o.clone(),
                            });
                        }
                    }
                }
                Op::Poll {
                    fd,
                    events,
                    timeout,
                }
            }
            "mmap" => {
                let map = fd(1)?;
                let fd = fd(2)?;
                let mut len = devlife_media::v4l2::PAGE_SIZE;
                let mut offset = 0u64;
                let mut write = false;
                for o in &w[3..] {
                    match o.split_once('=') {
                        Some(("len", v)) => len = parse_usize(v)?,
                        Some(("offset", v)) => {
                            offset = parse_int(v)
                                .and_then(|x| u64::try_from(x).ok())
                                .ok_or_else(|| ParseErrorKind::BadNumber(v.to_owned()))?;
                        }
                        Some(("buffer", v)) => {
                            let i = parse_usize(v)?;
                            offset = (i as u64) << devlife_media::v4l2::PLANE_INDEX_SHIFT;
                        }
                        None if o == "write" => write = true,
                        None if o == "read" => write = false,
                        _ => {
                            return Err(ParseErrorKind::ExtraArgument {
                                command: cmd.into(),
                                arg: o.clone(),
                            });
                        }
                    }
                }
                Op::Mmap {
                    map,
                    fd,
                    len,
                    offset,
                    write,
                }
            }
            "munmap" => {
                no_more(w, 2, cmd)?;
                Op::Munmap { map: fd(1)? }
            }
            // `load` with at most one argument loads a module; with two it
            // reads a byte through a mapping (`load MAP OFFSET`).
            "load" | "insmod" if w.len() <= 2 => Op::LoadModule {
                module: w.get(1).cloned(),
            },
            "load" => {
                no_more(w, 3, cmd)?;
                Op::Load {
                    map: fd(1)?,
                    offset: parse_usize(a(2, "an offset")?)?,
                }
            }
            "store" => {
                no_more(w, 4, cmd)?;
                let v = a(3, "a byte value")?;
                Op::Store {
                    map: fd(1)?,
                    offset: parse_usize(a(2, "an offset")?)?,
                    value: parse_int(v)
                        .and_then(|x| u8::try_from(x).ok())
                        .ok_or_else(|| ParseErrorKind::BadNumber(v.to_owned()))?,
                }
            }
            "bind" | "unbind" => {
                no_more(w, 3, cmd)?;
                let driver = w.get(1).cloned();
                let device = w.get(2).cloned();
                if cmd == "bind" {
                    Op::Bind { driver, device }
                } else {
                    Op::Unbind { driver, device }
                }
            }
            "hot-unplug" | "unplug" => {
                no_more(w, 2, cmd)?;
                Op::HotUnplug {
                    device: w.get(1).cloned(),
                }
            }
            "replug" => {
                no_more(w, 1, cmd)?;
                Op::Replug
            }
            "unload" | "rmmod" => {
                no_more(w, 2, cmd)?;
                Op::Unload {
                    module: w.get(1).cloned(),
                }
            }
            "module" => {
                let what = a(1, "`load` or `unload`")?;
                no_more(w, 3, cmd)?;
                let module = w.get(2).cloned();
                match what {
                    "unload" => Op::Unload { module },
                    "load" => Op::LoadModule { module },
                    _ => return Err(ParseErrorKind::UnknownCommand(format!("module {what}"))),
                }
            }
            "fault" => {
                let p = a(
                    1,
                    "a fault point (alloc, minor-alloc, node-register, irq-request, entity-register, ioremap, driver-register, module-load)",
                )?;
                let point = parse_fault_point(p)
                    .ok_or_else(|| ParseErrorKind::UnknownFault(p.to_owned()))?;
                let nth = match w.get(2).map(String::as_str) {
                    None => 1,
                    Some("hit") => {
                        let n = a(3, "a hit number after `hit`")?;
                        no_more(w, 4, cmd)?;
                        parse_int(n)
                            .and_then(|v| u64::try_from(v).ok())
                            .filter(|v| (1..=1_000_000).contains(v))
                            .ok_or_else(|| ParseErrorKind::BadNumber(n.to_owned()))?
                    }
                    Some(x) => {
                        return Err(ParseErrorKind::ExtraArgument {
                            command: cmd.into(),
                            arg: x.to_owned(),
                        });
                    }
                };
                Op::Fault { point, nth }
            }
            "mistake" => {
                no_more(w, 2, cmd)?;
                let m = a(
                    1,
                    "a mistake (extra-put, refcount-reset, lock-across-unregister)",
                )?;
                Op::Mistake {
                    mistake: Mistake::from_name(m)
                        .ok_or_else(|| ParseErrorKind::UnknownMistake(m.to_owned()))?,
                }
            }
            "stall" | "unstall" | "signal" => {
                no_more(w, 2, cmd)?;
                let t = a(1, "a thread")?;
                self.thread(t)?;
                let thread = t.to_owned();
                match cmd {
                    "stall" => Op::Stall { thread },
                    "unstall" => Op::Unstall { thread },
                    _ => Op::Signal { thread },
                }
            }
            "irq" => {
                no_more(w, 1, cmd)?;
                Op::Irq
            }
            other => {
                let info = self.driver.as_ref().and_then(|(d, _)| target::info(d));
                match info {
                    Some(i) if i.actions.iter().any(|(n, _)| *n == other) => {
                        let mut args = Vec::new();
                        for x in &w[1..] {
                            args.push(
                                parse_int(x)
                                    .and_then(|v| i64::try_from(v).ok())
                                    .ok_or_else(|| ParseErrorKind::BadNumber(x.clone()))?,
                            );
                        }
                        Op::Custom {
                            name: other.to_owned(),
                            args,
                        }
                    }
                    Some(i) if !i.actions.is_empty() => {
                        return Err(ParseErrorKind::UnknownAction {
                            name: other.to_owned(),
                            driver: i.name.to_owned(),
                            known: i
                                .actions
                                .iter()
                                .map(|(n, _)| *n)
                                .collect::<Vec<_>>()
                                .join(", "),
                        });
                    }
                    _ => return Err(ParseErrorKind::UnknownCommand(other.to_owned())),
                }
            }
        })
    }
}
