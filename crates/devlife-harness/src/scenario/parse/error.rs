//! The parser's error type: where (`file:line`) and what.

use super::super::ioctls::EncodeError;

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
        /// The command the argument belongs to.
        command: String,
        /// What is missing.
        what: &'static str,
    },
    /// An argument the command does not take.
    #[error("`{command}`: unexpected argument `{arg}`")]
    ExtraArgument {
        /// The command that got it.
        command: String,
        /// The argument it does not take.
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
    /// The scenario has no `driver` header.
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
        /// The driver name the file gives.
        name: String,
        /// The drivers the harness knows, comma-separated.
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
    /// An unknown checker name (the message lists the known ones).
    #[error("{0}")]
    UnknownChecker(#[from] devlife::check::UnknownReportKind),
    /// An `expect` that cannot be parsed.
    #[error("bad expectation: {0}")]
    BadExpect(String),
    /// An unknown poll event.
    #[error("unknown poll event `{0}` (IN, PRI, OUT, ERR, HUP, NVAL, RDNORM, WRNORM)")]
    BadPollEvent(String),
    /// An unknown breakpoint.
    #[error("unknown point `{name}` (known: {known})")]
    UnknownPoint {
        /// The point name the file gives.
        name: String,
        /// The points the driver announces, comma-separated.
        known: String,
    },
    /// An unknown driver action.
    #[error("unknown command `{name}` (driver `{driver}` actions: {known})")]
    UnknownAction {
        /// The action name the file gives.
        name: String,
        /// The scenario's driver.
        driver: String,
        /// The actions that driver offers, comma-separated.
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
        /// The busy scenario thread.
        thread: String,
        /// Line of the running step.
        since: usize,
        /// The style of the run being checked (`framework` or `legacy`).
        style: String,
    },
    /// A directive on a thread that runs nothing.
    #[error("`{directive}`: thread `{thread}` is not running anything at this point ({style} run)")]
    ThreadIdle {
        /// The directive (`resume`, `join`, ...).
        directive: &'static str,
        /// The idle scenario thread.
        thread: String,
        /// The style of the run being checked.
        style: String,
    },
    /// A descriptor or mapping name never bound.
    #[error("{what} `{name}` is not open at this point ({style} run)")]
    NotOpen {
        /// "descriptor" or "mapping".
        what: &'static str,
        /// The descriptor or mapping name.
        name: String,
        /// The style of the run being checked.
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
    /// An unknown fault point.
    #[error(
        "unknown fault point `{0}` (alloc, minor-alloc, node-register, irq-request, entity-register, ioremap, driver-register, module-load)"
    )]
    UnknownFault(String),
    /// An unknown driver-private mistake.
    #[error("unknown mistake `{0}` (extra-put, refcount-reset, lock-across-unregister)")]
    UnknownMistake(String),
    /// `mistake` in a run of the framework driver, or of a driver whose
    /// legacy twin has no mistakes.
    #[error(
        "`mistake` arms a legacy twin's private mistake: driver `{driver}` in {style} style has none (write `[legacy] mistake ...` or `style legacy`)"
    )]
    MistakeNotHere {
        /// The scenario's driver.
        driver: String,
        /// The style the step would run in.
        style: String,
    },
    /// `repeat` without its closing `}` (the line of the `repeat`).
    #[error("`repeat` block opened on line {0} is not closed with `}}`")]
    UnclosedRepeat(usize),
    /// A `}` with no open `repeat`.
    #[error("`}}` without an open `repeat N {{`")]
    StrayBrace,
    /// A `repeat` that would make too many steps.
    #[error("`repeat` makes {0} steps (at most {max})", max = super::MAX_STEPS)]
    TooManySteps(usize),
    /// A header inside a `repeat` block.
    #[error("`{0}` cannot be inside a `repeat` block")]
    HeaderInRepeat(&'static str),
    /// A quoted string that the line does not close.
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
