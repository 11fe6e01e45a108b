//! The stress engine: many threads of racing userspace calls against
//! unbind, bind, hot-unplug, replug and module unload/reload, on every
//! driver, with every checker on.
//!
//! # How a run goes
//!
//! 1. One [`Kernel`](devlife_model::Kernel) is created with the drain
//!    watchdog set to the hang timeout, and every selected [`Target`]
//!    registers its module(s), driver(s) and device(s) in it.
//! 2. *Userspace threads* (`stress-user-N`) pick a target, list its nodes,
//!    and open / dup / ioctl / run an ioctl sequence (a capture session) /
//!    read / write / poll / mmap / touch the mapping / munmap / close at
//!    random, keeping up to 6 files and 4 mappings each. The calls worth
//!    issuing come from the target's [`NodeProfile`]. A thread told its
//!    device is gone (`ENODEV`, `EIO`, `POLLHUP`) closes the file half of
//!    the time; a thread with nothing open whose open failed backs off a
//!    little instead of spinning.
//! 3. *Kernel threads* (`stress-kernel-N`) pick a target and one of its
//!    [`KernelOp`]s — teardowns (sysfs unbind, hot-unplug, `rmmod`) while
//!    everything is bound, mostly restores (bind, replug, reload) otherwise —
//!    and time every successful unplug. `rmmod` asks userspace to let go of
//!    the driver's files and retries while it answers `EBUSY` (new opens
//!    keep racing with it). With `inject_faults`, half of the actions that
//!    probe first arm a random fault point of the kernel's
//!    [`Faults`](devlife_model::Faults) table.
//! 4. The *coordinator* (the calling thread) reports progress, signals
//!    userspace threads that sleep in one call for longer than
//!    `signal_after` (`EINTR`, as an impatient program would see), and
//!    records any thread in one call for longer than the hang timeout.
//! 5. Wind-down: the kernel threads stop; every device is hot-unplugged
//!    (which must wake every sleeper); the userspace threads close their
//!    files and exit; the modules unload. A thread that does not come back
//!    within the hang timeout is a [`Hang`]. Then the checkers' reports and
//!    the ledger's live objects ([`Leak`]) are collected into a [`Summary`].
//!
//! Every thread draws from its own random generator seeded from the run's
//! seed, so a seed replays the same choices per thread (the interleaving is
//! up to the scheduler).
//!
//! ```
//! use devlife_harness::stress::{self, StressConfig};
//! use std::time::Duration;
//! let s = stress::run(&StressConfig {
//!     drivers: vec!["testdrv".into()],
//!     duration: Duration::from_millis(100),
//!     user_threads: 2,
//!     kernel_threads: 1,
//!     seed: 7,
//!     ..StressConfig::default()
//! })
//! .unwrap();
//! assert!(s.clean, "{}", s.details());
//! println!("{}", s.table());
//! ```

mod engine;
mod faults;
mod stats;
mod summary;
mod target;
pub mod targets;

pub use engine::{
    DEFAULT_KERNEL_THREADS, Progress, StressConfig, StressError, default_user_threads, random_seed,
    run, run_with_progress,
};
pub use faults::{FaultCase, FaultSweep, fault_sweep};
pub use stats::{Latency, OpStats};
pub use summary::{Hang, Leak, ReportGroup, Summary, TimePoint, Unplugs, thousands};
pub use target::{
    Instance, IoctlCall, KernelOp, NodeProfile, Target, all_targets, hot_unplug_device, nodes_of,
    target, target_names, unbind_device,
};

pub use devlife_drivers::Style;
