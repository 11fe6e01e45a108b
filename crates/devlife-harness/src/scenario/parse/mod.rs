//! The scenario parser: one statement per line, `#` comments, typed errors
//! with the file and line. The grammar is documented in `scenarios/README.md`.
//!
//! Parsing has two passes: each line is parsed on its own (syntax, ioctl
//! fields, names of errnos, checkers, points and driver actions), then the
//! steps of each style are walked in order to check what can be known before
//! running (threads idle or busy, descriptors and mappings bound, nothing but
//! `expect` after a teardown).
//!
//! One concern per file: [`error`] (what can be wrong), [`lex`] (words,
//! quotes, names), [`values`] (numbers, durations, errnos, masks, checker
//! names, argument lists), this file (headers and the shape of a step),
//! [`op`] (the operations), [`expect`] (`-> RESULT` and `expect` checks),
//! [`check`] (the static pass).

mod check;
mod error;
mod expect;
mod lex;
mod op;
mod repeat;
#[cfg(test)]
mod tests;
mod values;

pub(crate) use check::validate;
pub(crate) use error::at;
pub use error::{ParseError, ParseErrorKind};
use values::parse_duration;

use super::ast::*;
use super::breaks::all_points;
use super::target;
use check::check;
use devlife_drivers::Style;
use lex::{is_name, strip_comment, words};
use std::time::Duration;
use values::{arg, no_more, parse_usize, report_filter, split_arrow};

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
    /// Open `repeat` blocks, innermost last.
    repeats: Vec<repeat::Repeat>,
}

/// The most steps a scenario may have once its `repeat` blocks are unrolled.
pub(crate) const MAX_STEPS: usize = 100_000;

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
            repeats: Vec::new(),
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
            if self.block(&w).map_err(|k| self.err(k))? {
                continue;
            }
            self.statement(&w, strip_comment(raw))
                .map_err(|k| self.err(k))?;
        }
        if let Some((line, kind)) = self.unclosed() {
            self.line = line;
            return Err(self.err(kind));
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
        if self.in_repeat() {
            Err(ParseErrorKind::HeaderInRepeat(what))
        } else if self.steps.is_empty() {
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
                    let add = match s.trim_end_matches(',') {
                        "both" => Style::ALL.to_vec(),
                        one => vec![
                            one.parse::<Style>()
                                .map_err(|e| ParseErrorKind::UnknownStyle(e.0))?,
                        ],
                    };
                    for a in add {
                        if !v.contains(&a) {
                            v.push(a);
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
                if self.in_repeat() {
                    return Err(ParseErrorKind::HeaderInRepeat("thread"));
                }
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
            let st = s
                .parse::<Style>()
                .map_err(|e| ParseErrorKind::UnknownStyle(e.0))?;
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
        let directive = matches!(
            name,
            "wait" | "break" | "resume" | "join" | "expect" | "trace"
        );
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
                let how = arg(
                    w,
                    2,
                    "wait",
                    "`blocked [OP] [on OBJECT]`, `at POINT` or `settled`",
                )?;
                let mut on = None;
                let op = match how {
                    "blocked" => {
                        // `blocked`, `blocked OP`, `blocked on OBJ`, `blocked OP on OBJ`.
                        let rest = &w[3..];
                        let (op, tail) = match rest.first().map(String::as_str) {
                            None | Some("on") => (None, rest),
                            Some(o) => (Some(o.to_owned()), &rest[1..]),
                        };
                        match tail {
                            [] => {}
                            [kw, obj] if kw == "on" => on = Some(obj.clone()),
                            [kw] if kw == "on" => {
                                return Err(ParseErrorKind::MissingArgument {
                                    command: "wait ... on".into(),
                                    what: "an object name (e.g. video0)",
                                });
                            }
                            [x, ..] => {
                                return Err(ParseErrorKind::ExtraArgument {
                                    command: "wait".into(),
                                    arg: x.clone(),
                                });
                            }
                        }
                        op
                    }
                    "at" => {
                        let p = arg(w, 3, "wait", "a point name")?;
                        no_more(w, 4, "wait")?;
                        self.point(p)?;
                        Some(p.to_owned())
                    }
                    "settled" => {
                        let on = match w.get(3).map(String::as_str) {
                            None => None,
                            Some("on") => {
                                let o = arg(w, 4, "wait ... on", "an object name (e.g. video0)")?;
                                no_more(w, 5, "wait")?;
                                Some(o.to_owned())
                            }
                            Some(x) => {
                                return Err(ParseErrorKind::ExtraArgument {
                                    command: "wait".into(),
                                    arg: x.to_owned(),
                                });
                            }
                        };
                        return Ok(Command::Settle {
                            thread: t.to_owned(),
                            on,
                        });
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
                    on,
                })
            }
            "trace" => {
                let t = arg(w, 1, "trace", "a thread")?;
                self.thread(t)?;
                no_more(w, 2, "trace")?;
                Ok(Command::Trace {
                    thread: t.to_owned(),
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
        let all = all_points();
        if all.contains(&p) || extra.contains(&p) {
            Ok(())
        } else {
            let mut known: Vec<&str> = all;
            known.extend_from_slice(extra);
            Err(ParseErrorKind::UnknownPoint {
                name: p.to_owned(),
                known: known.join(", "),
            })
        }
    }
}
