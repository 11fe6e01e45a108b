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

use super::ast::*;
use super::breaks::{self, Breaks, OPEN_LOOKUP, phase_point};
use super::ioctls::IoctlCall;
use super::outcome::{ReportLog, RunError, RunErrorKind, RunLog, StepLog};
use super::target::{self, Target};
use super::{errno_name, style_name};
use devlife::check::EventKind;
use devlife_drivers::Style;
use devlife_media::mc::preempt;
use devlife_media::uapi::ioctl::{AddressSpace, with_current_mm};
use devlife_model::{Errno, File, Kernel, Mapping, MmapRequest, PollMask, StallGuard};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, TryRecvError, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How to run a scenario.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Overrides the scenario's `timeout` (the hang guard of every wait).
    pub timeout: Option<Duration>,
    /// Runs only this style (if the scenario has it).
    pub style: Option<Style>,
    /// Prints every step to stderr as it completes.
    pub trace: bool,
}

/// Time slice of the waits that also watch for a thread finishing early.
const SLICE: Duration = Duration::from_millis(20);
/// How long the cleanup after a failure waits for each thread to get free.
const CLEANUP: Duration = Duration::from_secs(2);

/// What an operation returned.
#[derive(Debug, Clone)]
pub(crate) struct StepResult {
    ret: Result<i64, Errno>,
    mask: Option<PollMask>,
    out: Option<Vec<u8>>,
    /// The value is a quantity (bytes, a loaded byte), shown as a number.
    numeric: bool,
}

impl StepResult {
    fn plain(ret: Result<i64, Errno>) -> Self {
        Self {
            ret,
            mask: None,
            out: None,
            numeric: false,
        }
    }
    fn number(ret: Result<i64, Errno>) -> Self {
        Self {
            numeric: true,
            ..Self::plain(ret)
        }
    }
}

type Done = Result<StepResult, String>;

/// The scenario's process: descriptors and mappings are shared by its threads.
struct Shared {
    kernel: Kernel,
    target: Box<dyn Target>,
    files: Mutex<HashMap<String, File>>,
    maps: Mutex<HashMap<String, Mapping>>,
    stalls: Mutex<HashMap<String, StallGuard>>,
    mm: Arc<AddressSpace>,
    timeout: Duration,
}

/// The operation a thread runs right now (started with `&`).
struct Pending {
    line: usize,
    text: String,
    expect: Option<ResultExpect>,
    call: Option<IoctlCall>,
}

struct Worker {
    name: String,
    tx: Option<Sender<Op>>,
    rx: Receiver<Done>,
    breaks: Option<Arc<Breaks>>,
    handle: Option<JoinHandle<()>>,
    pending: Option<Pending>,
    /// A result that arrived while the runner waited for something else.
    early: Option<Done>,
}

impl Worker {
    fn spawn(
        name: &str,
        shared: &Arc<Shared>,
        breaks: Option<Arc<Breaks>>,
    ) -> Result<Self, String> {
        let (tx, jobs) = channel::<Op>();
        let (done_tx, rx) = channel::<Done>();
        let sh = shared.clone();
        let b2 = breaks.clone();
        let handle = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                if let Some(b) = b2 {
                    breaks::install(b);
                }
                while let Ok(op) = jobs.recv() {
                    let r = std::panic::catch_unwind(AssertUnwindSafe(|| {
                        preempt::with_hook(breaks::point, || exec(&sh, &op))
                    }))
                    .unwrap_or_else(|p| {
                        let msg = p
                            .downcast_ref::<&str>()
                            .map(|s| (*s).to_owned())
                            .or_else(|| p.downcast_ref::<String>().cloned())
                            .unwrap_or_else(|| "unknown panic".to_owned());
                        Err(format!("the model panicked: {msg}"))
                    });
                    if done_tx.send(r).is_err() {
                        break;
                    }
                }
            })
            .map_err(|e| format!("cannot spawn thread `{name}`: {e}"))?;
        Ok(Self {
            name: name.to_owned(),
            tx: Some(tx),
            rx,
            breaks,
            handle: Some(handle),
            pending: None,
            early: None,
        })
    }

    fn send(&self, op: Op) -> Result<(), String> {
        self.tx
            .as_ref()
            .ok_or_else(|| format!("thread `{}` has stopped", self.name))?
            .send(op)
            .map_err(|_| format!("thread `{}` has stopped", self.name))
    }

    /// The result of the running operation, waiting up to `timeout`.
    fn recv(&mut self, timeout: Duration) -> Option<Done> {
        if let Some(d) = self.early.take() {
            return Some(d);
        }
        match self.rx.recv_timeout(timeout) {
            Ok(d) => Some(d),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => {
                Some(Err(format!("thread `{}` exited unexpectedly", self.name)))
            }
        }
    }

    /// Whether the running operation finished (its result is kept).
    fn finished(&mut self) -> bool {
        if self.early.is_some() {
            return true;
        }
        match self.rx.try_recv() {
            Ok(d) => {
                self.early = Some(d);
                true
            }
            Err(TryRecvError::Empty) => false,
            Err(TryRecvError::Disconnected) => {
                self.early = Some(Err(format!("thread `{}` exited unexpectedly", self.name)));
                true
            }
        }
    }

    /// Stops the thread; returns whether it could be joined.
    fn quit(&mut self, wait: Duration) -> bool {
        self.tx = None;
        let Some(h) = self.handle.take() else {
            return true;
        };
        let deadline = Instant::now() + wait;
        while !h.is_finished() {
            if Instant::now() >= deadline {
                // Stuck in the model: leave it detached.
                return false;
            }
            // Drain results so the thread is never blocked on a full channel
            // (channels are unbounded; this only frees memory).
            let _ = self.rx.recv_timeout(SLICE);
        }
        let _ = h.join();
        true
    }
}

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
fn exec(sh: &Shared, op: &Op) -> Done {
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
        Op::Custom { name, args } => StepResult::number(sh.target.action(k, name, args)),
    })
}

/// The text of a result, for logs and errors.
fn show(r: &StepResult, call: Option<&IoctlCall>) -> String {
    match &r.ret {
        Err(e) => errno_name(*e),
        Ok(v) => {
            if let Some(m) = r.mask {
                return format!("{m:?}");
            }
            let mut s = if *v == 0 && !r.numeric {
                "ok".to_owned()
            } else {
                v.to_string()
            };
            if let (Some(c), Some(out)) = (call, &r.out) {
                let d = c.describe(out);
                if !d.is_empty() {
                    s.push_str(": ");
                    s.push_str(&d);
                }
            }
            s
        }
    }
}

/// Checks `r` against `e`; `Err(message)` when it does not match.
fn check_result(r: &StepResult, e: &ResultExpect, call: Option<&IoctlCall>) -> Result<(), String> {
    let matches = |x: &Expected| match x {
        Expected::Ok => r.ret.is_ok(),
        Expected::Value(v) => r.ret == Ok(*v),
        Expected::Errno(er) => r.ret == Err(*er),
        Expected::Mask(m) => r.ret.is_ok() && r.mask == Some(*m),
        Expected::Any => true,
    };
    if !e.any_of.iter().any(matches) {
        let want: Vec<String> = e.any_of.iter().map(ToString::to_string).collect();
        return Err(format!(
            "expected {}, got {}",
            want.join(" or "),
            show(r, call)
        ));
    }
    if !e.fields.is_empty() {
        let (Some(c), Some(out)) = (call, &r.out) else {
            return Err("field checks need a successful ioctl".to_owned());
        };
        for (k, v) in &e.fields {
            match c.compare(out, k, v) {
                Ok(None) => {}
                Ok(Some(actual)) => {
                    return Err(format!(
                        "{} returned {k}={actual}, expected {k}={v}",
                        c.name
                    ));
                }
                Err(x) => return Err(x.to_string()),
            }
        }
    }
    Ok(())
}

struct Run<'a> {
    sc: &'a Scenario,
    style: Style,
    timeout: Duration,
    trace: bool,
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
        let sname = style_name(style);
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
                style_name(self.style),
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
            style: style_name(self.style).to_owned(),
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

    fn step(&mut self, st: &Step) -> Result<(), Fail> {
        match &st.cmd {
            Command::Op {
                actor,
                op,
                background,
                expect,
            } => {
                let call = match op {
                    Op::Ioctl { call, .. } => Some(call.clone()),
                    _ => None,
                };
                let timeout = self.timeout;
                let name = actor.to_string();
                let w = match actor {
                    Actor::Kernel => &mut self.kernel_worker,
                    Actor::Thread(t) => {
                        let i = self
                            .workers
                            .iter()
                            .position(|w| &w.name == t)
                            .expect("run() validated the threads");
                        &mut self.workers[i]
                    }
                };
                w.send(op.clone())
                    .map_err(|m| fail(st.line, RunErrorKind::Step(m)))?;
                if *background {
                    w.pending = Some(Pending {
                        line: st.line,
                        text: st.text.clone(),
                        expect: expect.clone(),
                        call,
                    });
                    self.note(st, &name, "started".to_owned());
                    return Ok(());
                }
                let Some(done) = w.recv(timeout) else {
                    let what = format!("`{name}` did not finish `{}`", st.text);
                    return Err(self.hang(st.line, &name, what));
                };
                let r = done.map_err(|m| fail(st.line, RunErrorKind::Step(m)))?;
                let shown = show(&r, call.as_ref());
                self.note(st, &name, shown);
                if let Some(e) = expect {
                    check_result(&r, e, call.as_ref())
                        .map_err(|m| fail(st.line, RunErrorKind::Expectation(m)))?;
                }
                Ok(())
            }
            Command::Wait { thread, op } => {
                let want = op.clone().unwrap_or_else(|| "*".to_owned());
                let deadline = Instant::now() + self.timeout;
                let kernel = self.shared.kernel.clone();
                loop {
                    let seen = kernel.activity().wait_for(SLICE, |b| {
                        b.iter()
                            .any(|x| x.thread == *thread && (want == "*" || x.op == want))
                    });
                    if seen {
                        let r = format!("blocked in {want}");
                        self.note(st, "runner", r);
                        return Ok(());
                    }
                    let w = self.worker(thread);
                    if w.finished() {
                        let p = w.pending.as_ref().map(|p| p.line).unwrap_or(0);
                        let got = match &w.early {
                            Some(Ok(r)) => show(r, None),
                            Some(Err(m)) => m.clone(),
                            None => String::new(),
                        };
                        return Err(fail(
                            st.line,
                            RunErrorKind::Expectation(format!(
                                "thread `{thread}` finished line {p} ({got}) instead of blocking in `{want}`"
                            )),
                        ));
                    }
                    if Instant::now() >= deadline {
                        let what = format!("thread `{thread}` did not block in `{want}`");
                        return Err(self.hang(st.line, thread, what));
                    }
                }
            }
            Command::WaitReport { filter } => {
                // The monitor has no notification: poll it (each check is
                // cheap; the step proceeds as soon as the report exists).
                let deadline = Instant::now() + self.timeout;
                let monitor = self.shared.kernel.monitor().clone();
                loop {
                    if filter.kind == devlife::check::ReportKind::Hang {
                        self.shared.kernel.check_hangs();
                    }
                    let hit = monitor
                        .reports()
                        .all()
                        .into_iter()
                        .find(|r| filter.matches(r));
                    if let Some(r) = hit {
                        let text =
                            format!("{} in {}: {}", r.kind.title(), r.object_name, r.message);
                        self.note(st, "runner", text);
                        return Ok(());
                    }
                    if Instant::now() >= deadline {
                        let what = format!("no {filter} report appeared");
                        return Err(self.hang(st.line, "runner", what));
                    }
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
            Command::Break {
                thread,
                point,
                skip,
            } => {
                let w = self.worker(thread);
                if let Some(b) = &w.breaks {
                    b.arm(point, *skip);
                }
                self.note(st, "runner", "armed".to_owned());
                Ok(())
            }
            Command::Resume { thread } => {
                let deadline = Instant::now() + self.timeout;
                loop {
                    let w = self.worker(thread);
                    let b = w.breaks.clone().expect("scenario threads have breakpoints");
                    if let Some(p) = b.resume(SLICE) {
                        self.note(st, "runner", format!("resumed from {p}"));
                        return Ok(());
                    }
                    if w.finished() {
                        return Err(fail(
                            st.line,
                            RunErrorKind::Expectation(format!(
                                "thread `{thread}` finished without stopping at a breakpoint"
                            )),
                        ));
                    }
                    if Instant::now() >= deadline {
                        let what = format!("thread `{thread}` did not stop at a breakpoint");
                        return Err(self.hang(st.line, thread, what));
                    }
                }
            }
            Command::Join { thread, expect } => {
                let r = self.join(thread, expect.as_ref(), st.line)?;
                self.note(st, "runner", r);
                Ok(())
            }
            Command::Expect(e) => {
                let r = self
                    .expect(e)
                    .map_err(|m| fail(st.line, RunErrorKind::Expectation(m)))?;
                self.note(st, "runner", r);
                Ok(())
            }
        }
    }

    fn expect(&mut self, e: &Expect) -> Result<String, String> {
        if matches!(
            e,
            Expect::NoReports | Expect::Report { .. } | Expect::NoReport { .. }
        ) {
            // Sleepers an unplug did not wake are reported by the kernel's
            // hang checker, which looks when asked.
            self.shared.kernel.check_hangs();
            if self.torn_down {
                self.checked_after_teardown = true;
            }
        }
        let reports = self.shared.kernel.monitor().reports().all();
        let list = |rs: &[&devlife::check::Report]| -> String {
            rs.iter()
                .map(|r| format!("{} in {}: {}", r.kind.title(), r.object_name, r.message))
                .collect::<Vec<_>>()
                .join("; ")
        };
        match e {
            Expect::NoReports => {
                if reports.is_empty() {
                    Ok("no reports".into())
                } else {
                    let all: Vec<_> = reports.iter().collect();
                    Err(format!(
                        "{} checker report(s): {}\nfirst report:\n{}",
                        reports.len(),
                        list(&all),
                        reports[0]
                    ))
                }
            }
            Expect::Report { filter, count } => {
                let hits: Vec<_> = reports.iter().filter(|r| filter.matches(r)).collect();
                // Repeats of a kept report (same kind and site) count too.
                let n_hits: u64 = hits.iter().map(|r| r.occurrences()).sum();
                let ok = match count {
                    Some(n) => n_hits == *n as u64,
                    None => !hits.is_empty(),
                };
                if ok {
                    Ok(format!("{n_hits} report(s): {}", list(&hits)))
                } else {
                    let all: Vec<_> = reports.iter().collect();
                    Err(format!(
                        "expected {} {filter} report(s), found {}; all reports: {}",
                        count.map_or("some".to_owned(), |n| n.to_string()),
                        n_hits,
                        if all.is_empty() {
                            "none".to_owned()
                        } else {
                            list(&all)
                        }
                    ))
                }
            }
            Expect::NoReport { kind } => {
                let hits: Vec<_> = reports.iter().filter(|r| r.kind == *kind).collect();
                if hits.is_empty() {
                    Ok(format!("no {} report", kind.title()))
                } else {
                    Err(format!(
                        "{} {} report(s): {}",
                        hits.len(),
                        kind.title(),
                        list(&hits)
                    ))
                }
            }
            Expect::LeaksNone | Expect::Leak { .. } => {
                self.join_all().map_err(|f| format!("{}", f.kind))?;
                if !self.teardown() {
                    return Err("a thread could not be stopped for the teardown".into());
                }
                let leaks = self.leaks();
                match e {
                    Expect::Leak { type_name } => {
                        if leaks
                            .iter()
                            .any(|l| l.starts_with(&format!("{type_name}:")))
                        {
                            Ok(format!("leaked: {}", leaks.join(", ")))
                        } else {
                            Err(format!(
                                "expected live `{type_name}` objects after teardown, leaks: {}",
                                if leaks.is_empty() {
                                    "none".to_owned()
                                } else {
                                    leaks.join(", ")
                                }
                            ))
                        }
                    }
                    _ if leaks.is_empty() => Ok("no leaks".into()),
                    _ => Err(format!(
                        "objects still alive after teardown: {}",
                        leaks.join(", ")
                    )),
                }
            }
            Expect::Live { type_name, count } => {
                let n = self.shared.kernel.monitor().ledger().live(type_name);
                if n == *count {
                    Ok(format!("{n} live"))
                } else {
                    Err(format!(
                        "{n} live `{type_name}` object(s), expected {count}"
                    ))
                }
            }
            Expect::Blocked { thread, op } => {
                let b = self.shared.kernel.activity().blocked();
                let hit = b.iter().find(|x| {
                    x.thread == *thread && op.as_ref().is_none_or(|o| x.op == o.as_str())
                });
                match hit {
                    Some(x) => Ok(x.to_string()),
                    None => Err(format!(
                        "thread `{thread}` is not blocked{}; model activity: {}",
                        op.as_ref()
                            .map(|o| format!(" in `{o}`"))
                            .unwrap_or_default(),
                        self.activity()
                    )),
                }
            }
            Expect::Freed { name, freed } => {
                let ev: Vec<_> = self
                    .shared
                    .kernel
                    .monitor()
                    .journal()
                    .events()
                    .into_iter()
                    .filter(|e| {
                        matches!(e.kind, EventKind::Free | EventKind::Release)
                            && e.name.contains(name.as_str())
                    })
                    .collect();
                match (ev.first(), *freed) {
                    (Some(e), true) => Ok(format!(
                        "{} {:?} by `{}`{}",
                        e.name,
                        e.kind,
                        e.thread,
                        e.site.map(|s| format!(" at {s}")).unwrap_or_default()
                    )),
                    (None, false) => Ok(format!("`{name}` not freed")),
                    (Some(e), false) => Err(format!(
                        "`{}` was freed ({:?} by `{}`{})",
                        e.name,
                        e.kind,
                        e.thread,
                        e.site.map(|s| format!(" at {s}")).unwrap_or_default()
                    )),
                    (None, true) => Err(format!("no object named like `{name}` was freed")),
                }
            }
            Expect::Node { path, present } => {
                let name = path.strip_prefix("/dev/").unwrap_or(path);
                let is = self.shared.kernel.lookup(name).is_some();
                if is == *present {
                    Ok(if is { "present" } else { "absent" }.into())
                } else {
                    Err(format!(
                        "node `{path}` is {}",
                        if is { "present" } else { "absent" }
                    ))
                }
            }
        }
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
            .map_or("framework", |s| style_name(*s))
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
