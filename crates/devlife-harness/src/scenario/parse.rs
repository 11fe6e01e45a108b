//! The scenario parser: one statement per line, `#` comments, typed errors
//! with the file and line. The grammar is documented in `scenarios/README.md`.
//!
//! Parsing has two passes: each line is parsed on its own (syntax, ioctl
//! fields, names of errnos, checkers, points and driver actions), then the
//! steps of each style are walked in order to check what can be known before
//! running (threads idle or busy, descriptors and mappings bound, nothing but
//! `expect` after a teardown).

use super::ast::*;
use super::breaks::POINTS;
use super::ioctls::{EncodeError, IoctlCall, parse_int};
use super::target;
use devlife::check::ReportKind;
use devlife_drivers::Style;
use devlife_model::{Errno, OpenFlags, PollMask};
use std::collections::{HashMap, HashSet};
use std::time::Duration;

/// A parse error: where and what (`file:line: what`, or `file: what` for
/// the file as a whole).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {kind}", at(file, *line))]
pub struct ParseError {
    /// The scenario's file (or name).
    pub file: String,
    /// 1-based line (0: the file as a whole).
    pub line: usize,
    /// What is wrong.
    pub kind: ParseErrorKind,
}

/// What is wrong with a line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseErrorKind {
    /// The file could not be read.
    #[error("cannot read the file: {0}")]
    Io(String),
    /// The first word is not a command.
    #[error("unknown command `{0}`")]
    UnknownCommand(String),
    /// A required argument is missing.
    #[error("`{command}` needs {what}")]
    MissingArgument {
        /// Command.
        command: String,
        /// What is missing.
        what: &'static str,
    },
    /// An argument the command does not take.
    #[error("`{command}`: unexpected argument `{arg}`")]
    ExtraArgument {
        /// Command.
        command: String,
        /// The argument.
        arg: String,
    },
    /// A number could not be parsed or is out of range.
    #[error("`{0}` is not a valid number here")]
    BadNumber(String),
    /// A duration could not be parsed.
    #[error("`{0}` is not a duration (write e.g. `10s` or `500ms`)")]
    BadDuration(String),
    /// A name is not a valid identifier.
    #[error("`{0}` is not a valid name (letters, digits, `_`, `-`; not a keyword)")]
    BadName(String),
    /// A thread used without a `thread` declaration.
    #[error("unknown thread `{0}` (declare it with `thread {0}`)")]
    UnknownThread(String),
    /// A thread declared twice.
    #[error("thread `{0}` is declared twice")]
    DuplicateThread(String),
    /// `driver` missing.
    #[error("no `driver` header (e.g. `driver testdrv`)")]
    MissingDriver,
    /// A header given twice.
    #[error("`{0}` is given twice")]
    DuplicateHeader(&'static str),
    /// A header after the first step.
    #[error("`{0}` must come before the first step")]
    HeaderAfterSteps(&'static str),
    /// An unknown driver.
    #[error("unknown driver `{name}` (known: {known})")]
    UnknownDriver {
        /// Name.
        name: String,
        /// Known drivers.
        known: String,
    },
    /// An unknown style.
    #[error("unknown style `{0}` (framework, legacy or both)")]
    UnknownStyle(String),
    /// A `[style]` prefix that the header does not run.
    #[error("`[{0}]` step, but the scenario does not run in that style (see `style`)")]
    StyleNotRun(String),
    /// An ioctl that cannot be encoded.
    #[error("{0}")]
    Ioctl(#[from] EncodeError),
    /// An unknown errno name.
    #[error("unknown errno `{0}`")]
    UnknownErrno(String),
    /// A result expectation that cannot be parsed.
    #[error("bad expectation `{0}` (ok, a number, an errno name, a poll mask or any)")]
    BadResult(String),
    /// Output fields on something that is not an ioctl.
    #[error("field checks (`{0}`) are only for ioctl results")]
    FieldsNotIoctl(String),
    /// An unknown checker name.
    #[error(
        "unknown checker `{0}` (use-after-free, use-after-remove, double-free, hw-after-remove, irq-after-release, leak, drain-stall, hang, lock-order)"
    )]
    UnknownChecker(String),
    /// An `expect` that cannot be parsed.
    #[error("bad expectation: {0}")]
    BadExpect(String),
    /// An unknown poll event.
    #[error("unknown poll event `{0}` (IN, PRI, OUT, ERR, HUP, NVAL, RDNORM, WRNORM)")]
    BadPollEvent(String),
    /// An unknown breakpoint.
    #[error("unknown point `{name}` (known: {known})")]
    UnknownPoint {
        /// Name.
        name: String,
        /// Known points.
        known: String,
    },
    /// An unknown driver action.
    #[error("unknown command `{name}` (driver `{driver}` actions: {known})")]
    UnknownAction {
        /// Name.
        name: String,
        /// Driver.
        driver: String,
        /// Its actions.
        known: String,
    },
    /// `&` on a kernel step.
    #[error("kernel steps are synchronous; run `{0}` on a declared thread to start it with `&`")]
    KernelBackground(String),
    /// A runner directive given an actor.
    #[error("`{0}` is a runner directive; it takes no `thread:` prefix")]
    DirectiveWithActor(String),
    /// A step on a thread that is still running an earlier one.
    #[error("thread `{thread}` is still running line {since} ({style} run); `join {thread}` first")]
    ThreadBusy {
        /// Thread.
        thread: String,
        /// Line of the running step.
        since: usize,
        /// Style.
        style: String,
    },
    /// A directive on a thread that runs nothing.
    #[error("`{directive}`: thread `{thread}` is not running anything at this point ({style} run)")]
    ThreadIdle {
        /// Directive.
        directive: &'static str,
        /// Thread.
        thread: String,
        /// Style.
        style: String,
    },
    /// A descriptor or mapping name never bound.
    #[error("{what} `{name}` is not open at this point ({style} run)")]
    NotOpen {
        /// "descriptor" or "mapping".
        what: &'static str,
        /// Name.
        name: String,
        /// Style.
        style: String,
    },
    /// A step after `expect leaks none`.
    #[error(
        "only `expect` steps may follow `expect leaks none`/`expect leak` (the model is torn down)"
    )]
    AfterTeardown,
    /// A breakpoint or wait on the kernel.
    #[error("`kernel` is not a thread here: kernel steps are synchronous")]
    KernelThread,
    /// Unbalanced quotes.
    #[error("unterminated quoted string")]
    Unterminated,
}

/// `file:line`, or `file` when `line` is 0 (the file as a whole).
pub(crate) fn at(file: &str, line: usize) -> String {
    if line == 0 {
        file.to_owned()
    } else {
        format!("{file}:{line}")
    }
}

const KEYWORDS: &[&str] = &[
    "kernel", "scenario", "driver", "style", "timeout", "thread", "threads", "wait", "break",
    "resume", "join", "expect", "or", "at", "blocked", "report",
];

fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && s.chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && !KEYWORDS.contains(&s)
}

/// Splits a line into words: whitespace separated, `"..."` quoted, `#` to
/// the end of the line is a comment.
fn words(line: &str) -> Result<Vec<String>, ParseErrorKind> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '#' => break,
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some(c) => cur.push(c),
                        None => return Err(ParseErrorKind::Unterminated),
                    }
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        out.push(cur);
    }
    Ok(out)
}

/// The text of a line without its comment.
fn strip_comment(line: &str) -> &str {
    let mut in_q = false;
    for (i, c) in line.char_indices() {
        match c {
            '"' => in_q = !in_q,
            '#' if !in_q => return line[..i].trim(),
            _ => {}
        }
    }
    line.trim()
}

/// Parses a duration: `10s`, `500ms`, `20us`, or `inf` (None).
pub fn parse_duration(s: &str) -> Result<Option<Duration>, ParseErrorKind> {
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
pub const MAX_LEN: usize = 1 << 26;

fn parse_usize(s: &str) -> Result<usize, ParseErrorKind> {
    parse_int(s)
        .and_then(|v| usize::try_from(v).ok())
        .filter(|&v| v <= MAX_LEN)
        .ok_or_else(|| ParseErrorKind::BadNumber(s.to_owned()))
}

/// Parses an errno name (`ENODEV`, `ENOLINK`, or `E<number>`).
pub fn parse_errno(s: &str) -> Option<Errno> {
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
pub fn parse_mask(s: &str) -> Result<PollMask, ParseErrorKind> {
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

/// Parses a checker name.
pub fn parse_checker(s: &str) -> Option<ReportKind> {
    Some(match s {
        "use-after-free" | "uaf" => ReportKind::UseAfterFree,
        "double-free" => ReportKind::DoubleFree,
        "hardware-access-after-remove" | "hw-after-remove" => ReportKind::HwAfterRemove,
        "interrupt-after-release" | "irq-after-release" => ReportKind::IrqAfterRelease,
        "leak" => ReportKind::Leak,
        "use-after-remove" | "uar" => ReportKind::UseAfterRemove,
        "drain-stall" => ReportKind::DrainStall,
        "hang" => ReportKind::Hang,
        "lock-order" => ReportKind::LockOrder,
        _ => return None,
    })
}

fn style_name(s: Style) -> &'static str {
    match s {
        Style::Framework => "framework",
        Style::Legacy => "legacy",
    }
}

/// Parses the text of a scenario. `file` names it in errors.
pub fn parse_str(file: &str, src: &str) -> Result<Scenario, ParseError> {
    Parser::new(file).parse(src)
}

struct Parser {
    file: String,
    title: Option<String>,
    driver: Option<(String, usize)>,
    styles: Option<Vec<Style>>,
    timeout: Option<Duration>,
    threads: Vec<String>,
    steps: Vec<Step>,
    line: usize,
}

type R<T> = Result<T, ParseErrorKind>;

impl Parser {
    fn new(file: &str) -> Self {
        Self {
            file: file.to_owned(),
            title: None,
            driver: None,
            styles: None,
            timeout: None,
            threads: Vec::new(),
            steps: Vec::new(),
            line: 0,
        }
    }

    fn err(&self, kind: ParseErrorKind) -> ParseError {
        ParseError {
            file: self.file.clone(),
            line: self.line,
            kind,
        }
    }

    fn parse(mut self, src: &str) -> Result<Scenario, ParseError> {
        for (i, raw) in src.lines().enumerate() {
            self.line = i + 1;
            let w = words(raw).map_err(|k| self.err(k))?;
            if w.is_empty() {
                continue;
            }
            self.statement(&w, strip_comment(raw))
                .map_err(|k| self.err(k))?;
        }
        self.line = 0;
        let (driver, driver_line) = self
            .driver
            .clone()
            .ok_or_else(|| self.err(ParseErrorKind::MissingDriver))?;
        let sc = Scenario {
            file: self.file.clone(),
            title: self.title.clone(),
            driver,
            driver_line,
            styles: self
                .styles
                .clone()
                .unwrap_or_else(|| vec![Style::Framework]),
            timeout: self.timeout.unwrap_or(DEFAULT_TIMEOUT),
            threads: self.threads.clone(),
            steps: std::mem::take(&mut self.steps),
        };
        check(&sc)?;
        Ok(sc)
    }

    fn header_allowed(&self, what: &'static str) -> R<()> {
        if self.steps.is_empty() {
            Ok(())
        } else {
            Err(ParseErrorKind::HeaderAfterSteps(what))
        }
    }

    fn statement(&mut self, w: &[String], text: &str) -> R<()> {
        match w[0].as_str() {
            "scenario" => {
                self.header_allowed("scenario")?;
                if self.title.is_some() {
                    return Err(ParseErrorKind::DuplicateHeader("scenario"));
                }
                self.title = Some(w[1..].join(" "));
                return Ok(());
            }
            "driver" => {
                self.header_allowed("driver")?;
                if self.driver.is_some() {
                    return Err(ParseErrorKind::DuplicateHeader("driver"));
                }
                let name = arg(w, 1, "driver", "a driver name")?;
                no_more(w, 2, "driver")?;
                if target::info(name).is_none() {
                    return Err(ParseErrorKind::UnknownDriver {
                        name: name.to_owned(),
                        known: target::names().join(", "),
                    });
                }
                self.driver = Some((name.to_owned(), self.line));
                return Ok(());
            }
            "style" | "styles" => {
                self.header_allowed("style")?;
                if self.styles.is_some() {
                    return Err(ParseErrorKind::DuplicateHeader("style"));
                }
                arg(w, 1, "style", "framework, legacy or both")?;
                let mut v = Vec::new();
                for s in &w[1..] {
                    let add: &[Style] = match s.trim_end_matches(',') {
                        "framework" => &[Style::Framework],
                        "legacy" => &[Style::Legacy],
                        "both" => &[Style::Framework, Style::Legacy],
                        other => return Err(ParseErrorKind::UnknownStyle(other.to_owned())),
                    };
                    for a in add {
                        if !v.contains(a) {
                            v.push(*a);
                        }
                    }
                }
                self.styles = Some(v);
                return Ok(());
            }
            "timeout" => {
                self.header_allowed("timeout")?;
                if self.timeout.is_some() {
                    return Err(ParseErrorKind::DuplicateHeader("timeout"));
                }
                let d = arg(w, 1, "timeout", "a duration")?;
                no_more(w, 2, "timeout")?;
                // `0` and `inf`: no hang guard (a wait that never ends then
                // hangs the run, as documented).
                let d = parse_duration(d)?
                    .filter(|d| !d.is_zero())
                    .unwrap_or(super::NO_TIMEOUT);
                self.timeout = Some(d);
                return Ok(());
            }
            "thread" | "threads" => {
                arg(w, 1, "thread", "a thread name")?;
                for t in &w[1..] {
                    if !is_name(t) {
                        return Err(ParseErrorKind::BadName(t.clone()));
                    }
                    if self.threads.contains(t) {
                        return Err(ParseErrorKind::DuplicateThread(t.clone()));
                    }
                    self.threads.push(t.clone());
                }
                return Ok(());
            }
            _ => {}
        }
        // A step: [style] [actor:] command ...
        let mut rest = w;
        let mut only = None;
        if let Some(s) = rest[0].strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            let st = match s {
                "framework" => Style::Framework,
                "legacy" => Style::Legacy,
                other => return Err(ParseErrorKind::UnknownStyle(other.to_owned())),
            };
            only = Some(st);
            rest = &rest[1..];
            if rest.is_empty() {
                return Err(ParseErrorKind::MissingArgument {
                    command: format!("[{s}]"),
                    what: "a step",
                });
            }
        }
        let mut actor = None;
        if let Some(a) = rest[0].strip_suffix(':') {
            actor = Some(if a == "kernel" {
                Actor::Kernel
            } else {
                self.thread(a)?;
                Actor::Thread(a.to_owned())
            });
            rest = &rest[1..];
            if rest.is_empty() {
                return Err(ParseErrorKind::MissingArgument {
                    command: format!("{a}:"),
                    what: "an operation",
                });
            }
        }
        let cmd = self.command(actor, rest)?;
        self.steps.push(Step {
            line: self.line,
            text: text.to_owned(),
            only,
            cmd,
        });
        Ok(())
    }

    fn thread(&self, t: &str) -> R<()> {
        if t == "kernel" {
            return Err(ParseErrorKind::KernelThread);
        }
        if self.threads.iter().any(|x| x == t) {
            Ok(())
        } else {
            Err(ParseErrorKind::UnknownThread(t.to_owned()))
        }
    }

    fn command(&self, actor: Option<Actor>, w: &[String]) -> R<Command> {
        let name = w[0].as_str();
        let directive = matches!(name, "wait" | "break" | "resume" | "join" | "expect");
        if directive && actor.is_some() {
            return Err(ParseErrorKind::DirectiveWithActor(name.to_owned()));
        }
        match name {
            "wait" if w.get(1).is_some_and(|x| x == "report") => {
                let (filter, count) = report_filter("wait report", &w[2..])?;
                if count.is_some() {
                    return Err(ParseErrorKind::ExtraArgument {
                        command: "wait report".into(),
                        arg: "count".into(),
                    });
                }
                Ok(Command::WaitReport { filter })
            }
            "wait" => {
                let t = arg(w, 1, "wait", "a thread")?;
                self.thread(t)?;
                let how = arg(w, 2, "wait", "`blocked [OP]` or `at POINT`")?;
                let op = match how {
                    "blocked" => {
                        no_more(w, 4, "wait")?;
                        w.get(3).cloned()
                    }
                    "at" => {
                        let p = arg(w, 3, "wait", "a point name")?;
                        no_more(w, 4, "wait")?;
                        self.point(p)?;
                        Some(p.to_owned())
                    }
                    other => {
                        return Err(ParseErrorKind::ExtraArgument {
                            command: "wait".into(),
                            arg: other.to_owned(),
                        });
                    }
                };
                Ok(Command::Wait {
                    thread: t.to_owned(),
                    op,
                })
            }
            "break" => {
                let t = arg(w, 1, "break", "a thread")?;
                self.thread(t)?;
                if arg(w, 2, "break", "`at POINT`")? != "at" {
                    return Err(ParseErrorKind::ExtraArgument {
                        command: "break".into(),
                        arg: w[2].clone(),
                    });
                }
                let p = arg(w, 3, "break", "a point name")?;
                self.point(p)?;
                let skip = match w.get(4).map(String::as_str) {
                    None => 0,
                    Some("after") => {
                        let n = arg(w, 5, "break", "a hit count after `after`")?;
                        no_more(w, 6, "break")?;
                        u32::try_from(parse_usize(n)?)
                            .map_err(|_| ParseErrorKind::BadNumber(n.to_owned()))?
                    }
                    Some(x) => {
                        return Err(ParseErrorKind::ExtraArgument {
                            command: "break".into(),
                            arg: x.to_owned(),
                        });
                    }
                };
                Ok(Command::Break {
                    thread: t.to_owned(),
                    point: p.to_owned(),
                    skip,
                })
            }
            "resume" => {
                let t = arg(w, 1, "resume", "a thread")?;
                self.thread(t)?;
                no_more(w, 2, "resume")?;
                Ok(Command::Resume {
                    thread: t.to_owned(),
                })
            }
            "join" => {
                let (main, exp) = split_arrow(w);
                let t = arg(main, 1, "join", "a thread")?;
                self.thread(t)?;
                no_more(main, 2, "join")?;
                let expect = exp.map(|e| self.result(e)).transpose()?;
                Ok(Command::Join {
                    thread: t.to_owned(),
                    expect,
                })
            }
            "expect" => self.expect(&w[1..]).map(Command::Expect),
            _ => {
                let (main, exp) = split_arrow(w);
                let (main, background) = match main.split_last() {
                    Some((l, init)) if l == "&" => (init, true),
                    _ => (main, false),
                };
                if main.is_empty() {
                    return Err(ParseErrorKind::UnknownCommand("&".into()));
                }
                let op = self.op(main)?;
                let actor = actor.unwrap_or(Actor::Kernel);
                if background && actor == Actor::Kernel {
                    return Err(ParseErrorKind::KernelBackground(main[0].clone()));
                }
                let expect = exp.map(|e| self.result(e)).transpose()?;
                if let Some(e) = &expect
                    && let Some((k, v)) = e.fields.first()
                {
                    match &op {
                        Op::Ioctl { call, .. } => {
                            for (k, v) in &e.fields {
                                call.check_field(k, v)
                                    .map_err(|e| ParseErrorKind::Ioctl(e.into()))?;
                            }
                        }
                        _ => return Err(ParseErrorKind::FieldsNotIoctl(format!("{k}={v}"))),
                    }
                }
                Ok(Command::Op {
                    actor,
                    op,
                    background,
                    expect,
                })
            }
        }
    }

    fn point(&self, p: &str) -> R<()> {
        let extra = self
            .driver
            .as_ref()
            .and_then(|(d, _)| target::info(d))
            .map(|i| i.points)
            .unwrap_or(&[]);
        if POINTS.contains(&p) || extra.contains(&p) {
            Ok(())
        } else {
            let mut known: Vec<&str> = POINTS.to_vec();
            known.extend_from_slice(extra);
            Err(ParseErrorKind::UnknownPoint {
                name: p.to_owned(),
                known: known.join(", "),
            })
        }
    }

    fn result(&self, w: &[String]) -> R<ResultExpect> {
        let mut any_of = Vec::new();
        let mut fields = Vec::new();
        let mut want_alt = true;
        for t in w {
            if let Some((k, v)) = t.split_once('=') {
                if k.is_empty() {
                    return Err(ParseErrorKind::BadResult(t.clone()));
                }
                fields.push((k.to_owned(), v.to_owned()));
                want_alt = false;
                continue;
            }
            if !fields.is_empty() {
                return Err(ParseErrorKind::BadResult(t.clone()));
            }
            if t == "or" {
                if want_alt {
                    return Err(ParseErrorKind::BadResult(t.clone()));
                }
                want_alt = true;
                continue;
            }
            if !want_alt {
                return Err(ParseErrorKind::BadResult(format!(
                    "{t}` (alternatives are separated by `or`"
                )));
            }
            any_of.push(parse_expected(t)?);
            want_alt = false;
        }
        if any_of.is_empty() || (want_alt && fields.is_empty()) {
            return Err(ParseErrorKind::BadResult(w.join(" ")));
        }
        if !fields.is_empty()
            && any_of
                .iter()
                .any(|a| !matches!(a, Expected::Ok | Expected::Value(_)))
        {
            return Err(ParseErrorKind::BadResult(
                "field checks need `ok` or a value".into(),
            ));
        }
        Ok(ResultExpect {
            line: self.line,
            any_of,
            fields,
        })
    }

    fn expect(&self, w: &[String]) -> R<Expect> {
        let bad = |m: &str| ParseErrorKind::BadExpect(m.to_owned());
        if w.is_empty() {
            return Err(bad("`expect` needs what to check"));
        }
        let s: Vec<&str> = w.iter().map(String::as_str).collect();
        match s.as_slice() {
            ["no", "reports"] => Ok(Expect::NoReports),
            ["no", "report", k] => Ok(Expect::NoReport {
                kind: parse_checker(k)
                    .ok_or_else(|| ParseErrorKind::UnknownChecker((*k).into()))?,
            }),
            ["report", ..] => {
                let (filter, count) = report_filter("expect report", &w[1..])?;
                Ok(Expect::Report { filter, count })
            }
            ["leaks", "none"] | ["no", "leaks"] => Ok(Expect::LeaksNone),
            ["leak", t] => Ok(Expect::Leak {
                type_name: (*t).to_owned(),
            }),
            ["live", t, n] => Ok(Expect::Live {
                type_name: (*t).to_owned(),
                count: parse_int(n)
                    .and_then(|v| u64::try_from(v).ok())
                    .ok_or_else(|| ParseErrorKind::BadNumber((*n).to_owned()))?,
            }),
            ["blocked", t, rest @ ..] => {
                self.thread(t)?;
                if rest.len() > 1 {
                    return Err(bad("`expect blocked T [OP]`"));
                }
                Ok(Expect::Blocked {
                    thread: (*t).to_owned(),
                    op: rest.first().map(|s| (*s).to_owned()),
                })
            }
            ["freed", n] => Ok(Expect::Freed {
                name: (*n).to_owned(),
                freed: true,
            }),
            ["not", "freed", n] => Ok(Expect::Freed {
                name: (*n).to_owned(),
                freed: false,
            }),
            ["node", p, st] => Ok(Expect::Node {
                path: (*p).to_owned(),
                present: match *st {
                    "present" => true,
                    "absent" => false,
                    other => return Err(bad(&format!("`{other}`: present or absent"))),
                },
            }),
            _ => Err(bad(&format!(
                "unknown check `{}` (no reports, report KIND, no report KIND, leaks none, leak TYPE, live TYPE N, [not] freed NAME, blocked T [OP], node PATH present|absent)",
                w.join(" ")
            ))),
        }
    }

    fn op(&self, w: &[String]) -> R<Op> {
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
                if a(1, "`unload`")? != "unload" {
                    return Err(ParseErrorKind::UnknownCommand(format!("module {}", w[1])));
                }
                no_more(w, 3, cmd)?;
                Op::Unload {
                    module: w.get(2).cloned(),
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

/// `KIND [on NAME] [by THREAD] [count N]`.
fn report_filter(command: &str, w: &[String]) -> R<(ReportFilter, Option<usize>)> {
    let k = w.first().ok_or_else(|| ParseErrorKind::MissingArgument {
        command: command.to_owned(),
        what: "a checker name",
    })?;
    let kind = parse_checker(k).ok_or_else(|| ParseErrorKind::UnknownChecker(k.clone()))?;
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

fn parse_expected(t: &str) -> R<Expected> {
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

fn split_arrow(w: &[String]) -> (&[String], Option<&[String]>) {
    match w.iter().position(|x| x == "->") {
        Some(i) => (&w[..i], Some(&w[i + 1..])),
        None => (w, None),
    }
}

fn arg<'a>(w: &'a [String], i: usize, command: &str, what: &'static str) -> R<&'a str> {
    w.get(i)
        .map(String::as_str)
        .ok_or_else(|| ParseErrorKind::MissingArgument {
            command: command.to_owned(),
            what,
        })
}

fn no_more(w: &[String], n: usize, command: &str) -> R<()> {
    match w.get(n) {
        Some(x) => Err(ParseErrorKind::ExtraArgument {
            command: command.to_owned(),
            arg: x.clone(),
        }),
        None => Ok(()),
    }
}

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
fn check(sc: &Scenario) -> Result<(), ParseError> {
    for st in &sc.steps {
        if let Some(o) = st.only
            && !sc.styles.contains(&o)
        {
            return Err(ParseError {
                file: sc.file.clone(),
                line: st.line,
                kind: ParseErrorKind::StyleNotRun(style_name(o).into()),
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
            let sname = style_name(style).to_owned();
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
                Command::Wait { thread, .. } => idle(thread, "wait")?,
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
                Command::Break { .. } | Command::WaitReport { .. } => {}
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

#[cfg(test)]
mod tests {
    use super::*;

    fn err(src: &str) -> ParseError {
        parse_str("t.scn", src).unwrap_err()
    }

    #[test]
    fn a_small_scenario_parses() {
        let sc = parse_str(
            "t.scn",
            "scenario \"blocking read woken by unbind\"  # title\n\
             driver testdrv\nstyle both\nthread reader\n\n\
             reader: open f /dev/testdrv0\n\
             reader: read f 4 &\n\
             wait reader blocked read\n\
             unbind\n\
             [framework] join reader -> ENODEV\n\
             [legacy] join reader -> ENODEV or EIO\n\
             reader: close f\n\
             [framework] expect no reports\n\
             [legacy] expect report use-after-free on testdrv count 1\n\
             expect leaks none\n",
        )
        .unwrap();
        assert_eq!(sc.title.as_deref(), Some("blocking read woken by unbind"));
        assert_eq!(sc.styles, vec![Style::Framework, Style::Legacy]);
        assert_eq!(sc.steps.len(), 10);
        assert_eq!(sc.steps_for(Style::Framework).count(), 8);
        assert_eq!(sc.steps[2].line, 8);
        assert!(matches!(
            sc.steps[1].cmd,
            Command::Op {
                background: true,
                ..
            }
        ));
    }

    #[test]
    fn errors_carry_file_line_and_reason() {
        let e = err("driver testdrv\nthread a\na: open f testdrv0\na: fly f\n");
        assert_eq!((e.file.as_str(), e.line), ("t.scn", 4));
        assert!(
            e.to_string().starts_with("t.scn:4: unknown command `fly`"),
            "{e}"
        );
        let e = err("driver nope\n");
        assert!(
            matches!(e.kind, ParseErrorKind::UnknownDriver { .. }),
            "{e}"
        );
        let e = err("thread a\na: open f x\n");
        assert_eq!(e.kind, ParseErrorKind::MissingDriver);
        assert_eq!(
            e.to_string(),
            "t.scn: no `driver` header (e.g. `driver testdrv`)"
        );
        let e = err("driver testdrv\nb: open f x\n");
        assert_eq!(e.kind, ParseErrorKind::UnknownThread("b".into()));
        let e = err("driver testdrv\nthread a\na: open f x\na: ioctl f VIDIOC_REQBUFS cont=1\n");
        assert_eq!(e.line, 4);
        assert!(e.to_string().contains("no field `cont`"), "{e}");
        let e = err("driver testdrv\nthread a\na: read g 4\n");
        assert!(matches!(e.kind, ParseErrorKind::NotOpen { .. }), "{e}");
        let e = err("driver testdrv\nthread a\na: open f x\na: read f 4 &\na: close f\n");
        assert_eq!(e.line, 5);
        assert!(
            matches!(e.kind, ParseErrorKind::ThreadBusy { since: 4, .. }),
            "{e}"
        );
        let e = err("driver testdrv\nthread a\njoin a\n");
        assert!(matches!(e.kind, ParseErrorKind::ThreadIdle { .. }), "{e}");
        let e = err("driver testdrv\nunbind &\n");
        assert!(matches!(e.kind, ParseErrorKind::KernelBackground(_)), "{e}");
        let e = err("driver testdrv\nexpect leaks none\nunbind\n");
        assert_eq!((e.line, e.kind.clone()), (3, ParseErrorKind::AfterTeardown));
        let e = err("driver testdrv\nthread a\nbreak a at nowhere\n");
        assert!(matches!(e.kind, ParseErrorKind::UnknownPoint { .. }), "{e}");
        let e = err("driver testdrv\nthread a\na: open f x -> EWHAT\n");
        assert_eq!(e.kind, ParseErrorKind::UnknownErrno("EWHAT".into()));
        let e = err("driver testdrv\nexpect report nothing\n");
        assert!(matches!(e.kind, ParseErrorKind::UnknownChecker(_)), "{e}");
        let e = err("driver testdrv\nstyle legacy\n[framework] unbind\n");
        assert!(matches!(e.kind, ParseErrorKind::StyleNotRun(_)), "{e}");
        let e = err("driver testdrv\nthread a\na: open f x -> ok count=1\n");
        assert!(matches!(e.kind, ParseErrorKind::FieldsNotIoctl(_)), "{e}");
        let e = err("scenario \"unterminated\n");
        assert_eq!(e.kind, ParseErrorKind::Unterminated);
        let e = err("driver testdrv\nthread a\nthread a\n");
        assert_eq!(e.kind, ParseErrorKind::DuplicateThread("a".into()));
        let e = err("driver testdrv\nthread kernel\n");
        assert!(matches!(e.kind, ParseErrorKind::BadName(_)), "{e}");
    }

    #[test]
    fn results_and_masks() {
        assert_eq!(
            parse_expected("ENODEV").unwrap(),
            Expected::Errno(Errno::ENODEV)
        );
        assert_eq!(
            parse_expected("ENOLINK").unwrap(),
            Expected::Errno(Errno::from_raw(67))
        );
        assert_eq!(
            parse_expected("ERR|HUP|PRI").unwrap(),
            Expected::Mask(PollMask::ERR | PollMask::HUP | PollMask::PRI)
        );
        assert_eq!(
            parse_expected("EPOLLERR|EPOLLHUP").unwrap(),
            Expected::Mask(PollMask::ERR | PollMask::HUP)
        );
        assert_eq!(parse_expected("-5").unwrap(), Expected::Value(-5));
        assert!(parse_expected("maybe").is_err());
        assert_eq!(
            parse_duration("250ms").unwrap(),
            Some(Duration::from_millis(250))
        );
        assert_eq!(parse_duration("inf").unwrap(), None);
        assert!(parse_duration("5 minutes").is_err());
        // The header: `timeout 0` and `timeout inf` mean no hang guard.
        for t in ["0", "inf"] {
            let sc = parse_str(
                "t.scn",
                &format!("driver testdrv\ntimeout {t}\nexpect no reports\n"),
            )
            .unwrap_or_else(|e| panic!("timeout {t}: {e}"));
            assert_eq!(sc.timeout, super::super::NO_TIMEOUT, "timeout {t}");
        }
        let sc = parse_str("t.scn", "driver testdrv\ntimeout 250ms\n").unwrap();
        assert_eq!(sc.timeout, Duration::from_millis(250));
        assert!(parse_duration("99999999999999999999s").is_err());
    }
}
