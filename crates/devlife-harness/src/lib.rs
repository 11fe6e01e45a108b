//! # devlife-harness: stress engine, scenario language and deterministic runner
//!
//! * [`scenario`]: a small text language for one race (named userspace threads
//!   and the kernel side), its parser and a deterministic runner;
//! * [`stress`]: random racing userspace calls against unbind/bind/hot-unplug/
//!   module unload on every driver, with all checkers on, and its report.

#![forbid(unsafe_code)]

pub mod scenario;
pub mod stress;
