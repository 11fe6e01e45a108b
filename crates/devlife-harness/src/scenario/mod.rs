//! The scenario language and its deterministic runner.
//!
//! A scenario (`.scn`, grammar in `scenarios/README.md`) describes one race
//! as the exact interleaving of named userspace threads and the kernel side:
//!
//! ```text
//! scenario "R4: a DQBUF sleeper is woken by unbind"
//! driver testdrv
//! style both
//! thread reader
//!
//! reader: open f /dev/testdrv0
//! reader: ioctl f TESTDRV_WAIT count=1 &   # sleeps like DQBUF
//! wait reader blocked TESTDRV_WAIT         # the model says it is parked
//! unbind                                   # kernel step (sysfs unbind)
//! join reader -> ENODEV
//! reader: close f
//! [framework] expect no reports
//! [legacy]    expect report use-after-free
//! ```
//!
//! * [`parse`] / [`parse_str`] turn the text into a [`Scenario`]; errors are
//!   [`ParseError`]s with the file, the line and what is wrong (bad input
//!   never panics: the parser is fuzzed).
//! * [`run`] plays it in each style with a fresh model (one
//!   [`devlife_model::Kernel`] per style), every thread a real OS thread
//!   driven step by step ([`runner`]), and returns an [`Outcome`] (a
//!   transcript per style, printable) or the first [`RunError`], again with
//!   file and line.
//! * [`target`] lists the drivers a scenario can name (`vimc`, `usb-av`,
//!   `isp`, `testdrv`) and what the kernel steps act on by default.
//! * [`ioctls`] is the catalogue of ioctls a scenario can name, encoded
//!   field by field at the offsets of devlife-media's uapi mirrors.
//! * [`breaks`] holds the breakpoints (`break T at media_ioctl`,
//!   `unbind:removed`, `open:lookup`, ...).
//!
//! The library of scenarios (every race class R1-R7 of docs/rules.md and
//! the object graph of docs/linux-today.md) is in `scenarios/` at the repository root, run by
//! `cargo test -p devlife-harness --test scenarios` and `devlife run`.
//!
//! ```
//! use devlife_harness::scenario::{parse_str, run, RunOptions};
//! let sc = parse_str("ping.scn", "driver testdrv\nthread a\n\
//!     a: open f testdrv0\na: ioctl f TESTDRV_PING -> ok\nunbind\n\
//!     a: ioctl f TESTDRV_PING -> ENODEV\na: close f\nexpect no reports\nexpect leaks none\n").unwrap();
//! let out = run(&sc, &RunOptions::default()).unwrap();
//! assert!(out.to_string().contains("PASS"));
//! ```

mod ast;
pub mod breaks;
pub mod explore;
pub mod ioctls;
mod outcome;
mod parse;
pub mod runner;
pub mod target;

pub use ast::{
    Actor, Command, DEFAULT_TIMEOUT, Expect, Expected, NO_TIMEOUT, Op, ReportFilter, ResultExpect,
    Scenario, Step,
};
pub use outcome::{Outcome, PointLog, ReportLog, RunError, RunErrorKind, RunLog, StepLog};
pub use parse::{ParseError, ParseErrorKind, parse_str};
pub use runner::{RunOptions, run};

use devlife_model::Errno;
use std::path::Path;

/// Reads and parses the scenario file at `path` (errors name the path).
pub fn parse(path: impl AsRef<Path>) -> Result<Scenario, ParseError> {
    let p = path.as_ref();
    let name = p.display().to_string();
    let src = std::fs::read_to_string(p).map_err(|e| ParseError {
        file: name.clone(),
        line: 0,
        kind: ParseErrorKind::Io(e.to_string()),
    })?;
    parse_str(&name, &src)
}

/// Either failure of [`parse_and_run`].
#[derive(Debug, Clone, thiserror::Error)]
pub enum ScenarioError {
    /// The file does not parse.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// A run failed.
    #[error(transparent)]
    Run(#[from] RunError),
}

/// Parses the file at `path` and runs it (what `devlife run FILE` does).
pub fn parse_and_run(path: impl AsRef<Path>, opts: &RunOptions) -> Result<Outcome, ScenarioError> {
    let sc = parse(path)?;
    Ok(run(&sc, opts)?)
}

/// The name of an errno as scenarios write it (`ENODEV`, `ENOLINK`, `E123`).
pub fn errno_name(e: Errno) -> String {
    match e.name() {
        "E?" if e.raw() == 67 => "ENOLINK".to_owned(),
        "E?" => format!("E{}", e.raw()),
        n => n.to_owned(),
    }
}
