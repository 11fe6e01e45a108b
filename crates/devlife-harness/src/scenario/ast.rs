//! The parsed form of a scenario: a header (driver, styles, threads,
//! timeout) and a list of steps, each tied to its source line.

use super::ioctls::IoctlCall;
use devlife::check::ReportKind;
use devlife_drivers::{Mistake, Style};
use devlife_model::{Errno, FaultPoint, OpenFlags, PollMask};
use std::time::Duration;

/// The timeout of every wait when the scenario does not set one: a guard
/// against hangs, never reached by a passing scenario.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The bound of every wait under `timeout 0` or `timeout inf`: none in
/// practice (a century), so a wait that never ends hangs the run.
pub const NO_TIMEOUT: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// One parsed scenario file.
///
/// # Invariants
///
/// * `styles` is non-empty and has no duplicates.
/// * Every thread a step names is in `threads`; no thread is called `kernel`.
/// * For each style, the steps that apply to it were checked statically: a
///   thread gets a new operation only when it is idle, `join`/`resume`/`wait`
///   name a thread that is running something, every fd and mapping name was
///   bound by an earlier step, and only `expect` steps follow `expect leaks none`.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Where the scenario came from (a path or a name), used in every error.
    pub file: String,
    /// The `scenario` title, if any.
    pub title: Option<String>,
    /// The `driver` header.
    pub driver: String,
    /// Line of the `driver` header.
    pub driver_line: usize,
    /// The styles to run the scenario in, in order.
    pub styles: Vec<Style>,
    /// Bound of every wait (hang guard).
    pub timeout: Duration,
    /// Declared userspace threads, in declaration order.
    pub threads: Vec<String>,
    /// The steps, in file order (each with its line and the styles it runs in).
    pub steps: Vec<Step>,
}

impl Scenario {
    /// The steps that apply to `style`.
    pub fn steps_for(&self, style: Style) -> impl Iterator<Item = &Step> {
        self.steps
            .iter()
            .filter(move |s| s.only.is_none_or(|o| o == style))
    }
}

/// One step (one non-header line).
#[derive(Debug, Clone)]
pub struct Step {
    /// 1-based source line.
    pub line: usize,
    /// The source text of the line (without comment), for logs.
    pub text: String,
    /// `[framework]` / `[legacy]` prefix: the step applies to that style only.
    pub only: Option<Style>,
    /// What the step does.
    pub cmd: Command,
}

/// Who runs an operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// The kernel side, synchronously (the runner waits for it).
    Kernel,
    /// A declared userspace thread.
    Thread(String),
}

impl std::fmt::Display for Actor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Actor::Kernel => f.write_str("kernel"),
            Actor::Thread(t) => f.write_str(t),
        }
    }
}

/// What a step does.
#[derive(Debug, Clone)]
pub enum Command {
    /// Run `op` on `actor`; `background` (`&`) returns at once, the result
    /// is collected by `join` (or at the end of the run).
    Op {
        /// Who runs it.
        actor: Actor,
        /// The system call or kernel action to run.
        op: Op,
        /// Started with `&`.
        background: bool,
        /// `-> ...`: checked when the operation completes.
        expect: Option<ResultExpect>,
    },
    /// `wait T blocked [OP] [on OBJECT]` / `wait T at POINT`: until the
    /// model's activity table shows `thread` parked in `op` (`None`: in
    /// anything), on an object named `on` (a node name for `unplug`).
    Wait {
        /// The scenario thread waited for.
        thread: String,
        /// Operation label or breakpoint name.
        op: Option<String>,
        /// The object the thread must be parked on (exact name).
        on: Option<String>,
    },
    /// `wait T settled [on OBJECT]`: until `thread` has finished its
    /// operation or is parked in the model (on `OBJECT` if given): an unbind
    /// that either waits for a call on that node or does not.
    Settle {
        /// The scenario thread waited for.
        thread: String,
        /// The object it must be parked on (exact name).
        on: Option<String>,
    },
    /// `trace T`: from now on, every stop point `thread` passes is listed in
    /// the transcript (what `devlife explore` uses to find the points of a call).
    Trace {
        /// The scenario thread whose stop points are listed.
        thread: String,
    },
    /// `wait report KIND [on NAME]`: until a checker of `kind` has fired (for
    /// reports made by threads the scenario does not drive: a timer, an
    /// interrupt handler, a URB completion thread).
    WaitReport {
        /// The reports waited for (checker, object).
        filter: ReportFilter,
    },
    /// `break T at POINT [after N]`: the thread stops the `N+1`th time it
    /// reaches `point`, until `resume T`.
    Break {
        /// The scenario thread that stops.
        thread: String,
        /// The breakpoint (a name the driver or the model announces).
        point: String,
        /// Hits to let pass first.
        skip: u32,
    },
    /// `resume T`: waits until `T` is stopped at a breakpoint, then lets it go.
    Resume {
        /// The scenario thread to let go.
        thread: String,
    },
    /// `join T [-> ...]`: waits for the operation `T` runs in the background.
    Join {
        /// The scenario thread whose background operation is awaited.
        thread: String,
        /// Checked against the operation's result.
        expect: Option<ResultExpect>,
    },
    /// `expect ...`: a check on the model at this point.
    Expect(Expect),
}

/// An operation (userspace system call or kernel-side action).
#[derive(Debug, Clone)]
pub enum Op {
    /// `open FD PATH [rdonly|wronly|rdwr] [nonblock]`.
    Open {
        /// Descriptor name bound on success.
        fd: String,
        /// Node path (`/dev/` optional).
        path: String,
        /// Access mode and `O_NONBLOCK`.
        flags: OpenFlags,
    },
    /// `close FD`.
    Close {
        /// The descriptor to close (its name is unbound afterwards).
        fd: String,
    },
    /// `dup NEW FD`.
    Dup {
        /// New descriptor name.
        new: String,
        /// The open descriptor to duplicate.
        fd: String,
    },
    /// `ioctl FD NAME [field=value ...]`.
    Ioctl {
        /// The descriptor the ioctl is issued on.
        fd: String,
        /// The encoded call.
        call: IoctlCall,
    },
    /// `read FD N`.
    Read {
        /// The descriptor read from.
        fd: String,
        /// Size of the read buffer, in bytes.
        len: usize,
    },
    /// `write FD N`.
    Write {
        /// The descriptor written to.
        fd: String,
        /// How many bytes to write (zeros).
        len: usize,
    },
    /// `poll FD EVENTS [timeout=0|inf|DUR]`.
    Poll {
        /// The descriptor polled.
        fd: String,
        /// The events asked for (`POLLIN`, ...).
        events: PollMask,
        /// `None`: wait forever.
        timeout: Option<Duration>,
    },
    /// `mmap MAP FD [len=N] [offset=N|buffer=I] [write]`.
    Mmap {
        /// Mapping name bound on success.
        map: String,
        /// The descriptor mapped.
        fd: String,
        /// Bytes to map.
        len: usize,
        /// File offset (V4L2: the buffer cookie).
        offset: u64,
        /// `PROT_WRITE`.
        write: bool,
    },
    /// `munmap MAP`.
    Munmap {
        /// The mapping to remove (its name is unbound afterwards).
        map: String,
    },
    /// `load MAP OFFSET`: reads one byte through the mapping.
    Load {
        /// The mapping read through.
        map: String,
        /// Byte offset in the mapping.
        offset: usize,
    },
    /// `store MAP OFFSET VALUE`: writes one byte through the mapping.
    Store {
        /// The mapping written through.
        map: String,
        /// Byte offset in the mapping.
        offset: usize,
        /// The value stored.
        value: u8,
    },
    /// `bind [DRIVER [DEVICE]]` (sysfs).
    Bind {
        /// Driver (default: the scenario driver's).
        driver: Option<String>,
        /// Device (default: the scenario's device).
        device: Option<String>,
    },
    /// `unbind [DRIVER [DEVICE]]` (sysfs).
    Unbind {
        /// Driver to unbind (default: the scenario driver's).
        driver: Option<String>,
        /// Device to unbind (default: the scenario's device).
        device: Option<String>,
    },
    /// `hot-unplug [DEVICE]`.
    HotUnplug {
        /// Device (default: the scenario's device).
        device: Option<String>,
    },
    /// `replug`: the device comes back (a new device of the same name).
    Replug,
    /// `unload [MODULE]` (`rmmod`).
    Unload {
        /// Module (default: the driver's).
        module: Option<String>,
    },
    /// `stall T`: the device's hardware holds every access made by `T`.
    Stall {
        /// The scenario thread whose hardware accesses stall.
        thread: String,
    },
    /// `unstall T`: releases the stall of `T`.
    Unstall {
        /// The scenario thread whose stall ends.
        thread: String,
    },
    /// `irq`: the device raises its interrupt.
    Irq,
    /// `signal T`: raises the signal of a blocked thread (`EINTR`).
    Signal {
        /// The blocked scenario thread that gets the signal.
        thread: String,
    },
    /// `fault POINT [hit N]`: the `N`th hit (default 1) of the kernel's fault
    /// point `POINT` from now on fails (`alloc`, `minor-alloc`,
    /// `node-register`, `irq-request`, `entity-register`, `ioremap`,
    /// `driver-register`, `module-load`).
    Fault {
        /// The fault point that fails.
        point: FaultPoint,
        /// Which hit, 1-based, counted from now.
        nth: u64,
    },
    /// `load [ROLE|MODULE]` (`insmod`, `module load`): loads the driver's
    /// module again after an `unload` (its init registers the driver and, for
    /// drivers whose module adds it, the device).
    LoadModule {
        /// Module or role (default: the driver's).
        module: Option<String>,
    },
    /// `mistake NAME`: arms a driver-private mistake in the bound legacy
    /// twin (`extra-put`, `refcount-reset`,
    /// `lock-across-unregister`); it acts at the next `remove()`.
    /// A scenario that would run it in framework style is rejected when
    /// parsed.
    Mistake {
        /// The mistake.
        mistake: Mistake,
    },
    /// A driver-specific kernel action (e.g. `frame`), with integer arguments.
    Custom {
        /// The action's name in the driver's list (`frame`, `vsync`, ...).
        name: String,
        /// Its integer arguments, in order.
        args: Vec<i64>,
    },
}

impl Op {
    /// Whether this is a kernel-side action (as opposed to a system call on
    /// a descriptor or mapping).
    pub fn is_kernel_side(&self) -> bool {
        matches!(
            self,
            Op::Bind { .. }
                | Op::Unbind { .. }
                | Op::HotUnplug { .. }
                | Op::Replug
                | Op::Unload { .. }
                | Op::Stall { .. }
                | Op::Unstall { .. }
                | Op::Irq
                | Op::Signal { .. }
                | Op::Fault { .. }
                | Op::LoadModule { .. }
                | Op::Mistake { .. }
                | Op::Custom { .. }
        )
    }
}

/// One acceptable result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expected {
    /// Any non-negative return value.
    Ok,
    /// Success with this return value (bytes for read/write, the ioctl's return).
    Value(i64),
    /// Failure with exactly this errno.
    Errno(Errno),
    /// `poll` returned exactly this mask.
    Mask(PollMask),
    /// Anything (documents that the result does not matter).
    Any,
}

impl std::fmt::Display for Expected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Expected::Ok => f.write_str("ok"),
            Expected::Value(v) => write!(f, "{v}"),
            Expected::Errno(e) => f.write_str(&super::errno_name(*e)),
            Expected::Mask(m) => write!(f, "{m:?}"),
            Expected::Any => f.write_str("any"),
        }
    }
}

/// Which checker reports an `expect report` / `wait report` is about.
#[derive(Debug, Clone)]
pub struct ReportFilter {
    /// The checker that must (or must not) have fired.
    pub kind: ReportKind,
    /// `on NAME`: the object's name contains `NAME`.
    pub on: Option<String>,
    /// `by THREAD`: the access was made by thread `THREAD` (a scenario
    /// thread or a driver's own: `irq/32`, `usbav-vurb-1-1`, ...).
    pub by: Option<String>,
}

impl ReportFilter {
    /// Whether `r` matches.
    pub fn matches(&self, r: &devlife::check::Report) -> bool {
        r.kind == self.kind
            && self
                .on
                .as_ref()
                .is_none_or(|o| r.object_name.contains(o.as_str()))
            && self
                .by
                .as_ref()
                .is_none_or(|t| r.message.contains(&format!("(thread `{t}`)")))
    }
}

impl std::fmt::Display for ReportFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.kind.title())?;
        if let Some(o) = &self.on {
            write!(f, " on `{o}`")?;
        }
        if let Some(t) = &self.by {
            write!(f, " by `{t}`")?;
        }
        Ok(())
    }
}

/// `-> A [or B ...] [field=value ...]`.
#[derive(Debug, Clone)]
pub struct ResultExpect {
    /// 1-based line the expectation is written on.
    pub line: usize,
    /// The results any one of which passes the check.
    pub any_of: Vec<Expected>,
    /// Output fields of a successful ioctl: (field name, expected value text).
    pub fields: Vec<(String, String)>,
}

/// `expect ...`.
#[derive(Debug, Clone)]
pub enum Expect {
    /// `expect no reports`: no checker fired so far.
    NoReports,
    /// `expect report KIND [on NAME] [by THREAD] [count N]`: at least one
    /// (or exactly `N`) report matching the filter.
    Report {
        /// The reports to count (checker, object, thread).
        filter: ReportFilter,
        /// How many there must be (`None`: at least one).
        count: Option<usize>,
    },
    /// `expect no report KIND [on NAME] [by THREAD]`: no report matches.
    NoReport {
        /// Which reports must be absent.
        filter: ReportFilter,
    },
    /// `expect release order A, B, ...`: the release callbacks of objects
    /// named like `A`, `B`, ... ran, in this order (the first `Release`
    /// journal event of each).
    ReleaseOrder {
        /// Object name filters, in the expected order.
        names: Vec<String>,
    },
    /// `expect leaks none`: tears the model down (joins threads, closes every
    /// descriptor and mapping, shuts the kernel down) and checks that no
    /// accounted object is alive.
    LeaksNone,
    /// `expect leak TYPE`: like `leaks none`, but objects of `TYPE` must remain.
    Leak {
        /// Ledger type name.
        type_name: String,
    },
    /// `expect live TYPE N`: `N` objects of `TYPE` are alive now.
    Live {
        /// Ledger type name.
        type_name: String,
        /// How many live objects of the type are expected.
        count: u64,
    },
    /// `expect blocked T [OP]`: `T` is parked right now.
    Blocked {
        /// The scenario thread expected to be blocked.
        thread: String,
        /// The operation it must be blocked in (`None`: any).
        op: Option<String>,
    },
    /// `expect freed NAME` / `expect not freed NAME`: the journal has (has
    /// no) `Free` or `Release` event of an object whose name contains `NAME`
    /// (memory freed at unbind, or released on its last reference).
    Freed {
        /// Object name filter.
        name: String,
        /// Whether it must have been freed.
        freed: bool,
    },
    /// `expect node PATH present|absent`.
    Node {
        /// The node that must (or must not) be in `/dev`.
        path: String,
        /// Whether it must be registered.
        present: bool,
    },
}

impl Expect {
    /// Whether this expectation tears the model down.
    pub fn is_teardown(&self) -> bool {
        matches!(self, Expect::LeaksNone | Expect::Leak { .. })
    }
}
