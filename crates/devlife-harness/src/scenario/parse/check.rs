//! The static pass: what can be known about a scenario before running it.

use super::super::ast::*;
use super::error::{ParseError, ParseErrorKind};
use super::lex::is_name;
use devlife_drivers::Style;
use std::collections::{HashMap, HashSet};

/// Checks a scenario that may not come from the parser (its fields are
/// public): every named thread is declared, and the static pass holds.
pub(crate) fn validate(sc: &Scenario) -> Result<(), ParseError> {
    let e = |line, kind| ParseError {
        file: sc.file.clone(),
        line,
        kind,
    };
    if sc.styles.is_empty() {
        return Err(e(0, ParseErrorKind::UnknownStyle(String::new())));
    }
    for t in &sc.threads {
        if !is_name(t) {
            return Err(e(0, ParseErrorKind::BadName(t.clone())));
        }
    }
    let known = |t: &str| sc.threads.iter().any(|x| x == t);
    for st in &sc.steps {
        let named: Vec<&str> = match &st.cmd {
            Command::Op { actor, op, .. } => {
                let mut v = Vec::new();
                if let Actor::Thread(t) = actor {
                    v.push(t.as_str());
                }
                if let Op::Stall { thread } | Op::Unstall { thread } | Op::Signal { thread } = op {
                    v.push(thread);
                }
                v
            }
            Command::Wait { thread, .. }
            | Command::Settle { thread, .. }
            | Command::Trace { thread }
            | Command::Break { thread, .. }
            | Command::Resume { thread }
            | Command::Join { thread, .. } => vec![thread.as_str()],
            Command::Expect(Expect::Blocked { thread, .. }) => vec![thread.as_str()],
            _ => Vec::new(),
        };
        for t in named {
            if !known(t) {
                return Err(e(st.line, ParseErrorKind::UnknownThread(t.to_owned())));
            }
        }
    }
    check(sc)
}

/// The static pass: walks the steps of each style in order.
pub(super) fn check(sc: &Scenario) -> Result<(), ParseError> {
    for st in &sc.steps {
        if let Some(o) = st.only
            && !sc.styles.contains(&o)
        {
            return Err(ParseError {
                file: sc.file.clone(),
                line: st.line,
                kind: ParseErrorKind::StyleNotRun(o.name().into()),
            });
        }
    }
    for &style in &sc.styles {
        let mut busy: HashMap<&str, &Step> = HashMap::new();
        let mut fds: HashSet<&str> = HashSet::new();
        let mut maps: HashSet<&str> = HashSet::new();
        let mut torn_down = false;
        for st in sc.steps_for(style) {
            let e = |kind| ParseError {
                file: sc.file.clone(),
                line: st.line,
                kind,
            };
            let sname = style.name().to_owned();
            if torn_down && !matches!(st.cmd, Command::Expect(_)) {
                return Err(e(ParseErrorKind::AfterTeardown));
            }
            let idle = |t: &str, directive| {
                if busy.contains_key(t) {
                    Ok(())
                } else {
                    Err(e(ParseErrorKind::ThreadIdle {
                        directive,
                        thread: t.to_owned(),
                        style: sname.clone(),
                    }))
                }
            };
            match &st.cmd {
                Command::Op {
                    actor,
                    op,
                    background,
                    ..
                } => {
                    if let Actor::Thread(t) = actor
                        && let Some(prev) = busy.get(t.as_str())
                    {
                        return Err(e(ParseErrorKind::ThreadBusy {
                            thread: t.clone(),
                            since: prev.line,
                            style: sname,
                        }));
                    }
                    let need_fd = |f: &str| {
                        if fds.contains(f) {
                            Ok(())
                        } else {
                            Err(e(ParseErrorKind::NotOpen {
                                what: "descriptor",
                                name: f.to_owned(),
                                style: sname.clone(),
                            }))
                        }
                    };
                    let need_map = |m: &str| {
                        if maps.contains(m) {
                            Ok(())
                        } else {
                            Err(e(ParseErrorKind::NotOpen {
                                what: "mapping",
                                name: m.to_owned(),
                                style: sname.clone(),
                            }))
                        }
                    };
                    match op {
                        Op::Mistake { .. }
                            if style != Style::Legacy
                                || !super::super::target::info(&sc.driver)
                                    .is_some_and(|t| t.mistakes) =>
                        {
                            return Err(e(ParseErrorKind::MistakeNotHere {
                                driver: sc.driver.clone(),
                                style: sname,
                            }));
                        }
                        Op::Open { fd, .. } => {
                            fds.insert(fd);
                        }
                        Op::Close { fd } => {
                            need_fd(fd)?;
                            fds.remove(fd.as_str());
                        }
                        Op::Dup { new, fd } => {
                            need_fd(fd)?;
                            fds.insert(new);
                        }
                        Op::Ioctl { fd, .. }
                        | Op::Read { fd, .. }
                        | Op::Write { fd, .. }
                        | Op::Poll { fd, .. } => need_fd(fd)?,
                        Op::Mmap { map, fd, .. } => {
                            need_fd(fd)?;
                            maps.insert(map);
                        }
                        Op::Munmap { map } => {
                            need_map(map)?;
                            maps.remove(map.as_str());
                        }
                        Op::Load { map, .. } | Op::Store { map, .. } => need_map(map)?,
                        _ => {}
                    }
                    if *background && let Actor::Thread(t) = actor {
                        busy.insert(t, st);
                    }
                }
                Command::Wait { thread, .. } | Command::Settle { thread, .. } => {
                    idle(thread, "wait")?;
                }
                Command::Resume { thread } => idle(thread, "resume")?,
                Command::Join { thread, expect } => {
                    idle(thread, "join")?;
                    let started = busy.remove(thread.as_str());
                    if let (Some(exp), Some(started)) = (expect, started)
                        && let Some((k, v)) = exp.fields.first()
                    {
                        match &started.cmd {
                            Command::Op {
                                op: Op::Ioctl { call, .. },
                                ..
                            } => {
                                for (k, v) in &exp.fields {
                                    call.check_field(k, v)
                                        .map_err(|x| e(ParseErrorKind::Ioctl(x.into())))?;
                                }
                            }
                            _ => {
                                return Err(e(ParseErrorKind::FieldsNotIoctl(format!("{k}={v}"))));
                            }
                        }
                    }
                }
                Command::Break { .. } | Command::WaitReport { .. } | Command::Trace { .. } => {}
                Command::Expect(x) => {
                    if x.is_teardown() {
                        torn_down = true;
                    }
                }
            }
        }
    }
    Ok(())
}
