//! `devlife explore`: one userspace call racing one unplug, played once per
//! stop point the call passes, with the unplug run exactly there.
//!
//! A scenario is explorable when it has exactly one unplug step (`unbind`,
//! `hot-unplug` or `unload`) and a userspace call right before it (the last
//! step on a thread before the unplug, run in the foreground). Exploring it:
//!
//! 1. *Record*: the steps up to the call, with the call's thread traced
//!    (`trace T`): the run lists every stop point the call passes, in order
//!    (`open:lookup`, `open:entered`, `media_open`, ...).
//! 2. *One run per point*, in a fresh model each: the call is stopped at
//!    that hit of that point (`break T at P after N`), the unplug starts on
//!    its own thread and the run waits until it has finished or is parked on
//!    the call's node (`wait U settled on NODE`: a framework unplug drains
//!    the call), then the call resumes; both are joined and the rest of the
//!    scenario runs. Two more rows bracket them: the unplug before the call
//!    and after it.
//! 3. Every row runs with every checker on, the scenario's own expectations
//!    left out (they describe one interleaving), and the live objects listed
//!    after the teardown: a row is clean when no checker fired, nothing
//!    leaked and nothing hung.
//!
//! [`explore_driver`] generates one such scenario per file-operation kind
//! (open, ioctl, read, poll, mmap, close) and node kind of a driver.

use super::ast::*;
use super::target;
use super::{RunOptions, parse_str, run};
use devlife_drivers::Style;
use devlife_model::{Kernel, NodeKind};
use serde::Serialize;

/// One cell of the table: the call stopped at `point`, unplugged there.
#[derive(Debug, Clone, Serialize)]
pub struct ExploreRow {
    /// The stop point (`open:entered`), `open:entered#2` for its second
    /// hit, or `(before)` / `(after)` for the unplug outside the call.
    pub point: String,
    /// `framework` or `legacy`.
    pub style: String,
    /// The call (`open f /dev/video0`).
    pub call: String,
    /// What userspace got (`ok`, `ENODEV`, ...), or what went wrong.
    pub result: String,
    /// Checker reports (`use-after-free x2 on vimc`), hangs, leaks.
    pub reports: Vec<String>,
}

impl ExploreRow {
    /// Whether the cell is clean: no report, no leak, no hang.
    pub fn clean(&self) -> bool {
        self.reports.is_empty()
    }
}

/// Why a scenario cannot be explored.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ExploreError {
    /// The scenario does not have the shape explore needs.
    #[error("{file}: cannot explore: {why}")]
    Shape {
        /// The scenario file explored.
        file: String,
        /// What is missing.
        why: String,
    },
    /// A generated scenario did not parse (a bug in the generator).
    #[error(transparent)]
    Parse(#[from] super::ParseError),
    /// The recording run failed.
    #[error("{file}: the recording run failed: {message}")]
    Record {
        /// The scenario file explored.
        file: String,
        /// The runner's error.
        message: String,
    },
    /// `--driver` named no known driver, or it could not be set up.
    #[error("driver `{0}`: {1}")]
    Driver(String, String),
}

/// The thread explore adds to run the unplug.
const UNPLUGGER: &str = "explore-unplug";

/// The parts of an explorable scenario.
struct Shape<'a> {
    before: Vec<&'a Step>,
    call: &'a Step,
    thread: String,
    unplug: &'a Step,
    after: Vec<&'a Step>,
    node: Option<String>,
}

fn is_unplug(op: &Op) -> bool {
    matches!(
        op,
        Op::Unbind { .. } | Op::HotUnplug { .. } | Op::Unload { .. }
    )
}

/// The node a descriptor was opened on, following `dup`s.
fn node_of(steps: &[&Step], fd: &str) -> Option<String> {
    let mut fd = fd.to_owned();
    for st in steps.iter().rev() {
        if let Command::Op { op, .. } = &st.cmd {
            match op {
                Op::Open { fd: f, path, .. } if *f == fd => {
                    return Some(path.strip_prefix("/dev/").unwrap_or(path).to_owned());
                }
                Op::Dup { new, fd: old } if *new == fd => fd = old.clone(),
                _ => {}
            }
        }
    }
    None
}

fn shape<'a>(sc: &'a Scenario, style: Style) -> Result<Shape<'a>, ExploreError> {
    let bad = |why: &str| ExploreError::Shape {
        file: sc.file.clone(),
        why: why.to_owned(),
    };
    // The scenario's own checks describe one interleaving: left out.
    let steps: Vec<&Step> = sc
        .steps_for(style)
        .filter(|s| !matches!(s.cmd, Command::Expect(_)))
        .collect();
    let unplugs: Vec<usize> = (0..steps.len())
        .filter(|&i| matches!(&steps[i].cmd, Command::Op { op, .. } if is_unplug(op)))
        .collect();
    let [u] = unplugs[..] else {
        return Err(bad(
            "it needs exactly one unplug step (`unbind`, `hot-unplug` or `unload`)",
        ));
    };
    let c = u
        .checked_sub(1)
        .ok_or_else(|| bad("the unplug needs a userspace call right before it"))?;
    let (thread, op) = match &steps[c].cmd {
        Command::Op {
            actor: Actor::Thread(t),
            op,
            background: false,
            ..
        } if !op.is_kernel_side() => (t.clone(), op),
        _ => {
            return Err(bad(
                "the step before the unplug must be a userspace call run in the foreground (`T: OP`)",
            ));
        }
    };
    let before: Vec<&Step> = steps[..c].to_vec();
    let node = match op {
        Op::Open { path, .. } => Some(path.strip_prefix("/dev/").unwrap_or(path).to_owned()),
        Op::Close { fd }
        | Op::Ioctl { fd, .. }
        | Op::Read { fd, .. }
        | Op::Write { fd, .. }
        | Op::Poll { fd, .. }
        | Op::Mmap { fd, .. } => node_of(&before, fd),
        _ => None,
    };
    Ok(Shape {
        before,
        call: steps[c],
        thread,
        unplug: steps[u],
        after: steps[u + 1..].to_vec(),
        node,
    })
}

/// A step without its result check.
fn unchecked(st: &Step) -> Step {
    let mut s = st.clone();
    match &mut s.cmd {
        Command::Op { expect, .. } | Command::Join { expect, .. } => *expect = None,
        _ => {}
    }
    s
}

fn step(line: usize, text: String, cmd: Command) -> Step {
    Step {
        line,
        text,
        only: None,
        cmd,
    }
}

/// The text of the call without its `T:` prefix and result check.
fn call_text(sh: &Shape<'_>) -> String {
    let t = sh.call.text.split("->").next().unwrap_or("").trim();
    let t = t
        .strip_prefix(&format!("{}:", sh.thread))
        .unwrap_or(t)
        .trim();
    // The node, when the call names only a descriptor.
    match &sh.node {
        Some(n) if !t.contains(n.as_str()) => format!("{t} ({n})"),
        _ => t.to_owned(),
    }
}

fn variant(sc: &Scenario, style: Style, steps: Vec<Step>) -> Scenario {
    let mut threads = sc.threads.clone();
    threads.push(UNPLUGGER.to_owned());
    Scenario {
        file: sc.file.clone(),
        title: sc.title.clone(),
        driver: sc.driver.clone(),
        driver_line: sc.driver_line,
        styles: vec![style],
        timeout: sc.timeout,
        threads,
        steps,
    }
}

/// The steps of a run with the unplug at point `p` (`skip` earlier hits
/// let through).
fn stopped_at(sh: &Shape<'_>, p: &str, skip: u32) -> Vec<Step> {
    let l = sh.call.line;
    let t = sh.thread.clone();
    let u = UNPLUGGER.to_owned();
    let mut v: Vec<Step> = sh.before.iter().map(|s| unchecked(s)).collect();
    v.push(step(
        l,
        format!("break {t} at {p} after {skip}"),
        Command::Break {
            thread: t.clone(),
            point: p.to_owned(),
            skip,
        },
    ));
    let mut call = unchecked(sh.call);
    if let Command::Op { background, .. } = &mut call.cmd {
        *background = true;
    }
    v.push(call);
    v.push(step(
        l,
        format!("wait {t} at {p}"),
        Command::Wait {
            thread: t.clone(),
            op: Some(p.to_owned()),
            on: None,
        },
    ));
    let mut unplug = unchecked(sh.unplug);
    if let Command::Op {
        actor, background, ..
    } = &mut unplug.cmd
    {
        *actor = Actor::Thread(u.clone());
        *background = true;
    }
    v.push(unplug);
    v.push(step(
        sh.unplug.line,
        format!("wait {u} settled"),
        Command::Settle {
            thread: u.clone(),
            on: sh.node.clone(),
        },
    ));
    v.push(step(
        l,
        format!("resume {t}"),
        Command::Resume { thread: t.clone() },
    ));
    v.push(step(
        l,
        format!("join {t}"),
        Command::Join {
            thread: t,
            expect: None,
        },
    ));
    v.push(step(
        sh.unplug.line,
        format!("join {u}"),
        Command::Join {
            thread: u,
            expect: None,
        },
    ));
    v.extend(sh.after.iter().map(|s| unchecked(s)));
    v
}

/// What a run shows: the call's result and the report summary.
fn row_of(
    sh: &Shape<'_>,
    point: String,
    style: Style,
    r: Result<super::Outcome, super::RunError>,
    joined: bool,
) -> ExploreRow {
    let (log, failure) = match r {
        Ok(mut o) => (o.runs.remove(0), None),
        Err(e) => {
            let msg = e.kind.to_string();
            (*e.log, Some(msg))
        }
    };
    let want = format!("join {}", sh.thread);
    let result = log
        .steps
        .iter()
        .find(|s| {
            if joined {
                s.text == want
            } else {
                s.line == sh.call.line && s.actor == sh.thread
            }
        })
        .map(|s| {
            let r = match s.result.split_once(": ") {
                Some((l, r)) if joined && l.starts_with("line ") => r,
                _ => s.result.as_str(),
            };
            // An ioctl's output fields are left out of the table.
            r.split(": ").next().unwrap_or(r).to_owned()
        });
    let mut reports: Vec<String> = Vec::new();
    // (kind, object, reports, made by the call's thread)
    let mut kinds: Vec<(String, String, usize, usize)> = Vec::new();
    let by_call = format!("(thread `{}`)", sh.thread);
    for r in &log.reports {
        let mine = usize::from(r.message.contains(&by_call));
        match kinds
            .iter_mut()
            .find(|(k, o, _, _)| *k == r.kind && *o == r.object)
        {
            Some(x) => {
                x.2 += 1;
                x.3 += mine;
            }
            None => kinds.push((r.kind.clone(), r.object.clone(), 1, mine)),
        }
    }
    for (k, o, n, mine) in kinds {
        let count = if n > 1 {
            format!(" x{n}")
        } else {
            String::new()
        };
        // Reports made on the call's thread (the call, and its later steps
        // such as a close), as opposed to the unplug's and the teardown's.
        let call = if mine > 0 {
            format!(" ({mine} by {})", sh.thread)
        } else {
            String::new()
        };
        reports.push(format!("{k}{count} on {o}{call}"));
    }
    if let Some(l) = &log.leaks {
        for x in l {
            reports.push(format!("leak {x}"));
        }
    }
    let result = match (result, &failure) {
        (Some(r), None) => r,
        (Some(r), Some(f)) => {
            reports.push(f.lines().next().unwrap_or("").to_owned());
            r
        }
        (None, Some(f)) => {
            let first = f.lines().next().unwrap_or("").to_owned();
            reports.push(first.clone());
            "-".to_owned()
        }
        (None, None) => "-".to_owned(),
    };
    ExploreRow {
        point,
        style: style.to_string(),
        call: call_text(sh),
        result,
        reports,
    }
}

/// Options of an exploration.
#[derive(Debug, Clone, Default)]
pub struct ExploreOptions {
    /// Only this style (default: the scenario's).
    pub style: Option<Style>,
    /// Overrides the scenario's timeout.
    pub timeout: Option<std::time::Duration>,
}

/// Explores `sc`: one row per stop point of its call, per style.
pub fn explore(sc: &Scenario, opts: &ExploreOptions) -> Result<Vec<ExploreRow>, ExploreError> {
    let ropts = RunOptions {
        timeout: opts.timeout,
        style: None,
        trace: false,
        leaks: true,
    };
    let mut rows = Vec::new();
    for &style in &sc.styles {
        if opts.style.is_some_and(|s| s != style) {
            continue;
        }
        let sh = shape(sc, style)?;
        // 1. Record the points the call passes.
        let mut rec: Vec<Step> = sh.before.iter().map(|s| unchecked(s)).collect();
        rec.push(step(
            sh.call.line,
            format!("trace {}", sh.thread),
            Command::Trace {
                thread: sh.thread.clone(),
            },
        ));
        rec.push(unchecked(sh.call));
        let out = run(&variant(sc, style, rec), &ropts).map_err(|e| ExploreError::Record {
            file: sc.file.clone(),
            message: e.to_string(),
        })?;
        let points: Vec<String> = out.runs[0]
            .traced
            .iter()
            .filter(|p| p.thread == sh.thread)
            .map(|p| p.point.clone())
            .collect();
        // 2. The unplug before the call, at each point, after the call.
        let mut before: Vec<Step> = sh.before.iter().map(|s| unchecked(s)).collect();
        before.push(unchecked(sh.unplug));
        before.push(unchecked(sh.call));
        before.extend(sh.after.iter().map(|s| unchecked(s)));
        let r = run(&variant(sc, style, before), &ropts);
        rows.push(row_of(&sh, "(before)".into(), style, r, false));
        let mut seen: Vec<&str> = Vec::new();
        for p in &points {
            let skip = seen.iter().filter(|x| **x == p.as_str()).count();
            seen.push(p);
            let name = if skip == 0 {
                p.clone()
            } else {
                format!("{p}#{}", skip + 1)
            };
            let skip = u32::try_from(skip).unwrap_or(u32::MAX);
            let r = run(&variant(sc, style, stopped_at(&sh, p, skip)), &ropts);
            rows.push(row_of(&sh, name, style, r, true));
        }
        let mut after: Vec<Step> = sh.before.iter().map(|s| unchecked(s)).collect();
        after.push(unchecked(sh.call));
        after.push(unchecked(sh.unplug));
        after.extend(sh.after.iter().map(|s| unchecked(s)));
        let r = run(&variant(sc, style, after), &ropts);
        rows.push(row_of(&sh, "(after)".into(), style, r, false));
    }
    Ok(rows)
}

/// The representative ioctl of a node kind (one that every node of the
/// kind answers without setup).
fn ioctl_of(kind: NodeKind) -> Option<&'static str> {
    match kind {
        NodeKind::Media => Some("MEDIA_IOC_DEVICE_INFO"),
        NodeKind::Video => Some("VIDIOC_QUERYCAP"),
        NodeKind::Subdev => Some("VIDIOC_SUBDEV_QUERYCAP"),
        NodeKind::Misc => Some("TESTDRV_PING"),
        NodeKind::Audio | NodeKind::Char => None,
    }
}

/// The scenarios `explore --driver D` plays: for one node of each kind of
/// `driver`, each file operation (open, ioctl, read, poll, mmap, close)
/// racing an unbind, in both styles. Returns (title, scenario text).
pub fn driver_scenarios(driver: &str) -> Result<Vec<(String, String)>, ExploreError> {
    let info = target::info(driver).ok_or_else(|| {
        ExploreError::Driver(
            driver.to_owned(),
            format!("unknown (known: {})", target::names().join(", ")),
        )
    })?;
    let k = Kernel::new();
    let t = (info.setup)(&k, Style::Framework)
        .map_err(|e| ExploreError::Driver(driver.to_owned(), format!("setup failed: {e}")))?;
    let mut nodes: Vec<(NodeKind, String)> = Vec::new();
    let mut all = k.nodes();
    all.sort_by(|a, b| a.name().cmp(b.name()));
    for n in all {
        if !nodes.iter().any(|(kind, _)| *kind == n.kind()) {
            nodes.push((n.kind(), n.name().to_owned()));
        }
    }
    k.shutdown();
    t.teardown();
    let styles = if info.name.starts_with("mutant-") {
        "framework"
    } else {
        "both"
    };
    let mut out = Vec::new();
    for (kind, node) in nodes {
        let head = format!("driver {driver}\nstyle {styles}\nthread a\n");
        let open = format!("a: open f /dev/{node} nonblock\n");
        let mut ops: Vec<(String, String)> = vec![
            ("open".into(), format!("{head}{open}unbind\n")),
            ("close".into(), format!("{head}{open}a: close f\nunbind\n")),
        ];
        if let Some(i) = ioctl_of(kind) {
            ops.push((
                "ioctl".into(),
                format!("{head}{open}a: ioctl f {i}\nunbind\n"),
            ));
        }
        ops.push(("read".into(), format!("{head}{open}a: read f 16\nunbind\n")));
        ops.push((
            "poll".into(),
            format!("{head}{open}a: poll f IN timeout=0\nunbind\n"),
        ));
        let mmap_setup = if kind == NodeKind::Video {
            "a: ioctl f VIDIOC_REQBUFS count=1\n"
        } else {
            ""
        };
        let len = if kind == NodeKind::Video {
            ""
        } else {
            " len=4096"
        };
        ops.push((
            "mmap".into(),
            format!("{head}{open}{mmap_setup}a: mmap m f buffer=0{len}\nunbind\n"),
        ));
        for (op, text) in ops {
            out.push((format!("{driver} {node} {op}"), text));
        }
    }
    Ok(out)
}

/// Explores every file-operation kind of `driver` ([`driver_scenarios`]).
pub fn explore_driver(
    driver: &str,
    opts: &ExploreOptions,
) -> Result<Vec<ExploreRow>, ExploreError> {
    let mut rows = Vec::new();
    for (title, text) in driver_scenarios(driver)? {
        let sc = parse_str(&title, &text)?;
        rows.extend(explore(&sc, opts)?);
    }
    Ok(rows)
}

/// The table as text: one line per row, the clean ones marked `ok`.
pub fn table(rows: &[ExploreRow]) -> String {
    let w = |f: fn(&ExploreRow) -> usize| rows.iter().map(f).max().unwrap_or(0);
    let wc = w(|r| r.call.len()).max(4);
    let wp = w(|r| r.point.len()).max(10);
    let wr = w(|r| r.result.len()).clamp(6, 24);
    let mut s = format!(
        "{:<wc$}  {:<9}  {:<wp$}  {:<wr$}  reports\n",
        "call", "style", "stop point", "result"
    );
    for r in rows {
        s.push_str(&format!(
            "{:<wc$}  {:<9}  {:<wp$}  {:<wr$}  {}\n",
            r.call,
            r.style,
            r.point,
            r.result,
            if r.reports.is_empty() {
                "clean".to_owned()
            } else {
                r.reports.join("; ")
            }
        ));
    }
    s
}
