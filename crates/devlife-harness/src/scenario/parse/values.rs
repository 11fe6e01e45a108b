//! Parsers of single values (durations, numbers, errnos, poll masks,
//! checker names, result alternatives) and of argument lists.

use super::super::ast::{Expected, ReportFilter};
use super::super::ioctls::parse_int;
use super::R;
use super::error::ParseErrorKind;
use devlife::check::ReportKind;
use devlife_model::{Errno, FaultPoint, PollMask};
use std::time::Duration;

/// Parses a duration: `10s`, `500ms`, `20us`, or `inf` (None).
pub(super) fn parse_duration(s: &str) -> Result<Option<Duration>, ParseErrorKind> {
    if s == "inf" || s == "forever" {
        return Ok(None);
    }
    let bad = || ParseErrorKind::BadDuration(s.to_owned());
    let (num, unit) = if let Some(n) = s.strip_suffix("ms") {
        (n, 1_000_000u64)
    } else if let Some(n) = s.strip_suffix("us") {
        (n, 1_000)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1_000_000_000)
    } else if s == "0" {
        ("0", 1)
    } else {
        return Err(bad());
    };
    let n: u64 = num.parse().map_err(|_| bad())?;
    let ns = n.checked_mul(unit).ok_or_else(bad)?;
    Ok(Some(Duration::from_nanos(ns)))
}

/// The largest length, offset or count a scenario may write (64 MiB): a
/// buffer of that size is allocated by the step.
pub(super) const MAX_LEN: usize = 1 << 26;

pub(super) fn parse_usize(s: &str) -> Result<usize, ParseErrorKind> {
    parse_int(s)
        .and_then(|v| usize::try_from(v).ok())
        .filter(|&v| v <= MAX_LEN)
        .ok_or_else(|| ParseErrorKind::BadNumber(s.to_owned()))
}

/// Parses an errno name (`ENODEV`, `ENOLINK`, or `E<number>`).
pub(super) fn parse_errno(s: &str) -> Option<Errno> {
    if let Some(e) = Errno::ALL.iter().find(|e| e.name() == s) {
        return Some(*e);
    }
    if s == "ENOLINK" {
        return Some(devlife_media::mc::ENOLINK);
    }
    s.strip_prefix('E')
        .and_then(|n| n.parse::<i32>().ok())
        .filter(|n| *n > 0 && *n < 4096)
        .map(Errno::from_raw)
}

/// Parses a poll mask (`IN|RDNORM`, `POLLIN`, `EPOLLERR|EPOLLHUP`).
pub(super) fn parse_mask(s: &str) -> Result<PollMask, ParseErrorKind> {
    let mut m = PollMask::NONE;
    for part in s.split('|') {
        let p = part
            .strip_prefix("EPOLL")
            .or_else(|| part.strip_prefix("POLL"))
            .unwrap_or(part);
        m |= match p {
            "IN" => PollMask::IN,
            "PRI" => PollMask::PRI,
            "OUT" => PollMask::OUT,
            "ERR" => PollMask::ERR,
            "HUP" => PollMask::HUP,
            "NVAL" => PollMask::NVAL,
            "RDNORM" => PollMask::RDNORM,
            "WRNORM" => PollMask::WRNORM,
            "0" | "NONE" => PollMask::NONE,
            _ => return Err(ParseErrorKind::BadPollEvent(part.to_owned())),
        };
    }
    Ok(m)
}

/// Parses a fault point name (`node-register`, ...).
pub(super) fn parse_fault_point(s: &str) -> Option<FaultPoint> {
    Some(match s {
        "alloc" => FaultPoint::Alloc,
        "minor-alloc" => FaultPoint::MinorAlloc,
        "node-register" => FaultPoint::NodeRegister,
        "irq-request" => FaultPoint::IrqRequest,
        "entity-register" => FaultPoint::EntityRegister,
        "ioremap" => FaultPoint::IoRemap,
        "driver-register" => FaultPoint::DriverRegister,
        "module-load" => FaultPoint::ModuleLoad,
        _ => return None,
    })
}

/// Parses a checker name: a title or an abbreviation of [`ReportKind`]
/// (the one place that spells them).
pub(super) fn parse_checker(s: &str) -> R<ReportKind> {
    Ok(s.parse()?)
}

/// `KIND [on NAME] [by THREAD] [count N]`.
pub(super) fn report_filter(command: &str, w: &[String]) -> R<(ReportFilter, Option<usize>)> {
    let k = w.first().ok_or_else(|| ParseErrorKind::MissingArgument {
        command: command.to_owned(),
        what: "a checker name",
    })?;
    let kind = parse_checker(k)?;
    let mut f = ReportFilter {
        kind,
        on: None,
        by: None,
    };
    let mut count = None;
    let mut i = 1;
    while let Some(x) = w.get(i) {
        let v = w
            .get(i + 1)
            .ok_or_else(|| ParseErrorKind::MissingArgument {
                command: format!("{command} ... {x}"),
                what: "a value",
            })?;
        match x.as_str() {
            "on" => f.on = Some(v.clone()),
            "by" => f.by = Some(v.clone()),
            "count" => count = Some(parse_usize(v)?),
            _ => {
                return Err(ParseErrorKind::ExtraArgument {
                    command: command.to_owned(),
                    arg: x.clone(),
                });
            }
        }
        i += 2;
    }
    Ok((f, count))
}

pub(super) fn parse_expected(t: &str) -> R<Expected> {
    if t == "ok" {
        return Ok(Expected::Ok);
    }
    if t == "any" {
        return Ok(Expected::Any);
    }
    if let Some(v) = parse_int(t) {
        return i64::try_from(v)
            .map(Expected::Value)
            .map_err(|_| ParseErrorKind::BadNumber(t.to_owned()));
    }
    if let Some(e) = parse_errno(t) {
        return Ok(Expected::Errno(e));
    }
    match parse_mask(t) {
        Ok(m) => Ok(Expected::Mask(m)),
        Err(_)
            if t.starts_with('E')
                && t.chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()) =>
        {
            Err(ParseErrorKind::UnknownErrno(t.to_owned()))
        }
        Err(_) => Err(ParseErrorKind::BadResult(t.to_owned())),
    }
}

pub(super) fn split_arrow(w: &[String]) -> (&[String], Option<&[String]>) {
    match w.iter().position(|x| x == "->") {
        Some(i) => (&w[..i], Some(&w[i + 1..])),
        None => (w, None),
    }
}

pub(super) fn arg<'a>(w: &'a [String], i: usize, command: &str, what: &'static str) -> R<&'a str> {
    w.get(i)
        .map(String::as_str)
        .ok_or_else(|| ParseErrorKind::MissingArgument {
            command: command.to_owned(),
            what,
        })
}

pub(super) fn no_more(w: &[String], n: usize, command: &str) -> R<()> {
    match w.get(n) {
        Some(x) => Err(ParseErrorKind::ExtraArgument {
            command: command.to_owned(),
            arg: x.clone(),
        }),
        None => Ok(()),
    }
}
