//! The deterministic runner.
//!
//! Every declared thread is a real OS thread (named after the scenario
//! thread, which is the name the model's activity table and hardware stalls
//! use), driven one step at a time through a channel. Kernel steps run on a
//! worker named `kernel`, synchronously: the runner waits for each of them,
//! so a kernel step that deadlocks is reported as a hang instead of hanging
//! the runner. A step written with `&` is started and left running; the
//! runner moves on only when the model says where that thread is
//! (`wait T blocked OP` polls the activity table under its condition
//! variable; `resume T` waits for the thread to stop at its breakpoint).
//! No step is ordered by a sleep: the timeout only bounds a wait that must
//! succeed, and turns a hang into an error that names the thread and step.

//!
//! One concern per file: [`worker`] (the threads and the shared process),
//! [`exec`] (what each operation does), [`result`] (results, shown and
//! checked), [`step`] (one step and the directives), [`expect`] (the
//! `expect` checks), this file (a run's life: setup, steps, teardown).

mod exec;
mod expect;
mod result;
mod step;
mod worker;

use super::ast::*;
use super::breaks::{self, Breaks, phase_point};
use super::errno_name;
use super::outcome::{PointLog, ReportLog, RunError, RunErrorKind, RunLog, StepLog};
use super::target;
use devlife_drivers::Style;
use devlife_media::uapi::ioctl::AddressSpace;
use devlife_model::{File, Kernel, Mapping};
use parking_lot::Mutex;
use result::check_result;
use result::show;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use worker::{Shared, Worker};

/// How to run a scenario.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Overrides the scenario's `timeout` (the hang guard of every wait).
    pub timeout: Option<Duration>,
    /// Runs only this style (if the scenario has it).
    pub style: Option<Style>,
    /// Prints every step to stderr as it completes.
    pub trace: bool,
    /// Lists the live objects after the final teardown in the transcript
    /// (as `expect leaks none` does, without failing the run).
    pub leaks: bool,
}

/// Time slice of the waits that also watch for a thread finishing early.
const SLICE: Duration = Duration::from_millis(20);
/// How long the cleanup after a failure waits for each thread to get free.
const CLEANUP: Duration = Duration::from_secs(2);

struct Run<'a> {
    sc: &'a Scenario,
    style: Style,
    timeout: Duration,
    trace: bool,
    list_leaks: bool,
    shared: Arc<Shared>,
    kernel_worker: Worker,
    workers: Vec<Worker>,
    log: RunLog,
    torn_down: bool,
    /// Reports raised while tearing down (threads stopped, files closed,
    /// kernel shut down), and whether an `expect` on reports ran after it.
    teardown_reports: Vec<devlife::check::Report>,
    checked_after_teardown: bool,
}

/// A failure before it is wrapped into a [`RunError`].
struct Fail {
    line: usize,
    kind: RunErrorKind,
}

fn fail(line: usize, kind: RunErrorKind) -> Fail {
    Fail { line, kind }
}

impl<'a> Run<'a> {
    fn new(sc: &'a Scenario, style: Style, opts: &RunOptions) -> Result<Self, RunError> {
        let sname = style.name();
        let err = |line, kind| RunError {
            file: sc.file.clone(),
            line,
            style: sname.to_owned(),
            kind,
            log: Box::new(RunLog::new(sname)),
        };
        let info = target::info(&sc.driver).ok_or_else(|| {
            err(
                sc.driver_line,
                RunErrorKind::Setup {
                    driver: sc.driver.clone(),
                    errno: "unknown driver".to_owned(),
                },
            )
        })?;
        let kernel = Kernel::new();
        kernel.set_unbind_hook(|_, phase| breaks::point(phase_point(phase)));
        let target = (info.setup)(&kernel, style).map_err(|e| {
            err(
                sc.driver_line,
                RunErrorKind::Setup {
                    driver: sc.driver.clone(),
                    errno: errno_name(e),
                },
            )
        })?;
        let shared = Arc::new(Shared {
            kernel: kernel.clone(),
            target,
            files: Mutex::new(HashMap::new()),
            maps: Mutex::new(HashMap::new()),
            stalls: Mutex::new(HashMap::new()),
            mm: Arc::new(AddressSpace::new()),
            timeout: opts.timeout.unwrap_or(sc.timeout),
        });
        let spawn_err = |m: String| err(sc.driver_line, RunErrorKind::Step(m));
        let kernel_worker = Worker::spawn("kernel", &shared, None).map_err(spawn_err)?;
        let mut workers = Vec::new();
        for t in &sc.threads {
            let w = Worker::spawn(t, &shared, Some(Breaks::new(&kernel)))
                .map_err(|m| err(sc.driver_line, RunErrorKind::Step(m)))?;
            workers.push(w);
        }
        Ok(Self {
            sc,
            style,
            timeout: opts.timeout.unwrap_or(sc.timeout),
            trace: opts.trace,
            list_leaks: opts.leaks,
            shared,
            kernel_worker,
            workers,
            log: RunLog::new(sname),
            torn_down: false,
            teardown_reports: Vec::new(),
            checked_after_teardown: false,
        })
    }

    fn worker(&mut self, t: &str) -> &mut Worker {
        let i = self
            .workers
            .iter()
            .position(|w| w.name == t)
            .expect("run() validated the threads");
        &mut self.workers[i]
    }

    fn note(&mut self, st: &Step, actor: &str, result: String) {
        let l = StepLog {
            line: st.line,
            actor: actor.to_owned(),
            text: st.text.clone(),
            result,
        };
        if self.trace {
            eprintln!(
                "{}:{} [{}] {:<8} {}  => {}",
                self.sc.file,
                l.line,
                self.style.name(),
                l.actor,
                l.text,
                l.result
            );
        }
        self.log.steps.push(l);
    }

    /// What the model says about every blocked thread, for hang messages.
    fn activity(&self) -> String {
        let b = self.shared.kernel.activity().blocked();
        if b.is_empty() {
            "no thread is blocked in the model".to_owned()
        } else {
            b.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        }
    }

    fn hang(&self, line: usize, thread: &str, what: String) -> Fail {
        fail(
            line,
            RunErrorKind::Hang {
                thread: thread.to_owned(),
                message: format!(
                    "{what} within {:?}; model activity: {}",
                    self.timeout,
                    self.activity()
                ),
            },
        )
    }

    fn execute(mut self) -> Result<RunLog, RunError> {
        let steps: Vec<&Step> = self.sc.steps_for(self.style).collect();
        let mut res = Ok(());
        for st in steps {
            res = self.step(st);
            if res.is_err() {
                break;
            }
        }
        if res.is_ok() {
            res = self.join_all();
        }
        match res {
            Ok(()) => {
                if !self.torn_down {
                    let clean = self.teardown();
                    if !clean {
                        return Err(self.error(fail(
                            0,
                            RunErrorKind::Step("a thread could not be stopped at the end".into()),
                        )));
                    }
                }
                if self.list_leaks && self.log.leaks.is_none() {
                    self.leaks();
                }
                // A framework run must not leave a report behind in its
                // teardown (a close, an unplug or an unload that misbehaves)
                // unless a later `expect` looked at the reports.
                if self.style == Style::Framework
                    && !self.teardown_reports.is_empty()
                    && !self.checked_after_teardown
                {
                    let first = self.teardown_reports[0].to_string();
                    let n = self.teardown_reports.len();
                    return Err(self.error(fail(
                        0,
                        RunErrorKind::Expectation(format!(
                            "{n} checker report(s) raised during the teardown of a framework run; first:\n{first}"
                        )),
                    )));
                }
                self.collect_reports();
                Ok(std::mem::replace(&mut self.log, RunLog::new("")))
            }
            Err(f) => {
                self.unstick();
                let _ = self.teardown();
                Err(self.error(f))
            }
        }
    }

    fn error(&mut self, f: Fail) -> RunError {
        self.collect_reports();
        RunError {
            file: self.sc.file.clone(),
            line: f.line,
            style: self.style.name().to_owned(),
            kind: f.kind,
            log: Box::new(std::mem::replace(&mut self.log, RunLog::new(""))),
        }
    }

    fn collect_reports(&mut self) {
        self.log.reports = self
            .shared
            .kernel
            .monitor()
            .reports()
            .all()
            .iter()
            .map(ReportLog::from)
            .collect();
        self.log.traced = self
            .workers
            .iter()
            .filter_map(|w| w.breaks.as_ref().map(|b| (w.name.clone(), b.traced())))
            .flat_map(|(t, ps)| {
                ps.into_iter().map(move |p| PointLog {
                    thread: t.clone(),
                    point: p.to_owned(),
                })
            })
            .collect();
    }

    /// Releases everything a failed run may be stuck on: breakpoints,
    /// hardware stalls, and sleepers (signalled).
    fn unstick(&mut self) {
        for w in &self.workers {
            if let Some(b) = &w.breaks {
                b.release_all();
            }
        }
        self.shared.stalls.lock().clear();
        for w in &self.workers {
            let _ = self.shared.kernel.activity().signal(&w.name);
        }
    }

    /// Stops every thread, closes every descriptor and mapping and shuts the
    /// kernel down. Returns false if a thread could not be stopped (then the
    /// model is left as it is: shutting it down could wait forever).
    fn teardown(&mut self) -> bool {
        self.torn_down = true;
        let monitor = self.shared.kernel.monitor().clone();
        let before = monitor.reports().all();
        let clean = self.teardown_inner();
        // The kernel's hang checker looks at sleepers once more.
        self.shared.kernel.check_hangs();
        self.teardown_reports = monitor
            .reports()
            .all()
            .into_iter()
            .filter(|r| {
                !before
                    .iter()
                    .any(|b| b.kind == r.kind && b.site == r.site && b.object_name == r.object_name)
            })
            .collect();
        clean
    }

    fn teardown_inner(&mut self) -> bool {
        let mut clean = self.kernel_worker.quit(CLEANUP);
        for w in &mut self.workers {
            if let Some(b) = &w.breaks {
                b.release_all();
            }
            clean &= w.quit(CLEANUP);
        }
        if !clean {
            return false;
        }
        let maps: Vec<Mapping> = self.shared.maps.lock().drain().map(|(_, m)| m).collect();
        drop(maps);
        let files: Vec<File> = self.shared.files.lock().drain().map(|(_, f)| f).collect();
        drop(files);
        self.shared.stalls.lock().clear();
        self.shared.kernel.shutdown();
        self.shared.target.teardown();
        self.shared.kernel.clear_unbind_hook();
        true
    }

    fn leaks(&mut self) -> Vec<String> {
        let l: Vec<String> = self
            .shared
            .kernel
            .leaks()
            .iter()
            .map(|c| format!("{}: {}", c.type_name, c.live()))
            .collect();
        self.log.leaks = Some(l.clone());
        l
    }

    /// Joins every thread still running something (end of the run).
    fn join_all(&mut self) -> Result<(), Fail> {
        let busy: Vec<String> = self
            .workers
            .iter()
            .filter(|w| w.pending.is_some())
            .map(|w| w.name.clone())
            .collect();
        for t in busy {
            self.join(&t, None, 0)?;
        }
        Ok(())
    }

    /// Collects the result of `t`'s running operation and checks it.
    fn join(
        &mut self,
        t: &str,
        expect: Option<&ResultExpect>,
        line: usize,
    ) -> Result<String, Fail> {
        let timeout = self.timeout;
        let w = self.worker(t);
        let p = w
            .pending
            .take()
            .expect("run() validated: join names a busy thread");
        let line = if line == 0 { p.line } else { line };
        let Some(done) = w.recv(timeout) else {
            let what = format!("thread `{t}` did not finish line {} (`{}`)", p.line, p.text);
            return Err(self.hang(line, t, what));
        };
        let r = done.map_err(|m| fail(p.line, RunErrorKind::Step(m)))?;
        if let Some(e) = &p.expect {
            check_result(&r, e, p.call.as_ref())
                .map_err(|m| fail(e.line, RunErrorKind::Expectation(m)))?;
        }
        if let Some(e) = expect {
            check_result(&r, e, p.call.as_ref())
                .map_err(|m| fail(e.line, RunErrorKind::Expectation(m)))?;
        }
        Ok(format!("line {}: {}", p.line, show(&r, p.call.as_ref())))
    }
}

/// Runs a parsed scenario in each of its styles (or the one `opts` selects).
///
/// ```
/// use devlife_harness::scenario::{parse_str, run, RunOptions};
/// let sc = parse_str("doc.scn", "
///     driver testdrv
///     style both
///     thread reader
///     reader: open f /dev/testdrv0
///     reader: read f 4 &
///     wait reader blocked read
///     unbind
///     join reader -> ENODEV
///     reader: close f
///     [framework] expect no reports
///     [legacy] expect report use-after-free
/// ").unwrap();
/// let out = run(&sc, &RunOptions::default()).unwrap();
/// assert_eq!(out.runs.len(), 2);
/// ```
pub fn run(sc: &Scenario, opts: &RunOptions) -> Result<super::Outcome, RunError> {
    // A scenario built by hand gets the parser's checks too.
    super::parse::validate(sc).map_err(|e| RunError {
        file: e.file.clone(),
        line: e.line,
        style: sc
            .styles
            .first()
            .map_or("framework", |s| s.name())
            .to_owned(),
        kind: RunErrorKind::Step(format!("invalid scenario: {}", e.kind)),
        log: Box::new(RunLog::new("")),
    })?;
    let mut runs = Vec::new();
    for &style in &sc.styles {
        if opts.style.is_some_and(|s| s != style) {
            continue;
        }
        runs.push(Run::new(sc, style, opts)?.execute()?);
    }
    Ok(super::Outcome {
        file: sc.file.clone(),
        title: sc.title.clone(),
        driver: sc.driver.clone(),
        runs,
    })
}
