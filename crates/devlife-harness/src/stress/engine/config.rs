//! A run's settings, its seeds, why it could not start, and the progress
//! snapshots it reports.

use devlife_drivers::Style;
use devlife_model::Errno;
use rand::SeedableRng;
use rand::rngs::SmallRng;
use std::time::Duration;

/// Settings of a stress run.
#[derive(Clone, Debug)]
pub struct StressConfig {
    /// Targets by name; empty means every target.
    pub drivers: Vec<String>,
    /// How the drivers are written.
    pub style: Style,
    /// Userspace threads (open/ioctl/read/poll/mmap/close at random).
    pub user_threads: usize,
    /// Kernel threads (unbind/bind/hot-unplug/replug/unload/reload at
    /// random); 0 for userspace only.
    pub kernel_threads: usize,
    /// How long the threads race.
    pub duration: Duration,
    /// Seed of every per-thread random generator.
    pub seed: u64,
    /// Make fallible probe/registration steps fail at random.
    pub inject_faults: bool,
    /// A thread in one call for longer than this is reported as hung; also
    /// the gates' drain watchdog. `None`: the larger of the duration and 5 s.
    pub hang_timeout: Option<Duration>,
    /// A userspace thread sleeping in one call longer than this is sent a
    /// signal (`EINTR`), as an impatient program would be.
    pub signal_after: Duration,
    /// Each userspace thread stops after this many calls (the run ends when
    /// all did, or at `duration`). With no kernel thread, the sequence of
    /// calls of each thread is then a pure function of the seed.
    pub ops_per_thread: Option<u64>,
    /// Stop-point mode: userspace threads stop at stop points picked from
    /// the seed and a kernel thread unplugs their device right there,
    /// instead of leaving the race to timing.
    pub stop_points: bool,
}

impl Default for StressConfig {
    fn default() -> Self {
        Self {
            drivers: Vec::new(),
            style: Style::Framework,
            user_threads: default_user_threads(),
            kernel_threads: DEFAULT_KERNEL_THREADS,
            duration: Duration::from_secs(10),
            seed: 0,
            inject_faults: false,
            hang_timeout: None,
            signal_after: Duration::from_millis(20),
            ops_per_thread: None,
            stop_points: false,
        }
    }
}

/// How often the coordinator looks at the threads (progress, signals, hang
/// watch): the resolution of the hang timeout.
pub const PACING: Duration = Duration::from_millis(10);

impl StressConfig {
    /// The smallest hang timeout the engine accepts: its pacing (it cannot
    /// see a thread stuck for less).
    pub fn min_hang_timeout(&self) -> Duration {
        PACING
    }

    /// The hang timeout in effect.
    pub fn effective_hang_timeout(&self) -> Duration {
        self.hang_timeout
            .unwrap_or_else(|| self.duration.max(Duration::from_secs(5)))
    }
}

/// Eight per CPU, at least 4. Most userspace threads sleep in blocking
/// calls most of the time (until data, a signal or an unplug), so two per CPU
/// left the CPUs a third busy; eight per CPU make about five times as many
/// calls per second, and keep as many unplugs finding a sleeper.
pub fn default_user_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get() * 8)
        .unwrap_or(4)
        .max(4)
}

/// Kernel-side threads by default: eight, so that unplugs (each sleeping
/// a moment after a rebind, so userspace gets to use the devices) keep up
/// with the userspace threads. With four targets, two kernel threads often
/// act on the same device at once (an unbind racing a bind or a replug),
/// which is a race worth running too. Measured on 2 CPUs: four threads made
/// about 700 unplugs per second, eight about 1,300, with as many calls.
pub const DEFAULT_KERNEL_THREADS: usize = 8;

/// A seed from the clock and the process id (for runs without `--seed`).
pub fn random_seed() -> u64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    splitmix(t ^ (u64::from(std::process::id()) << 32))
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The random generator of thread `index` of `role` for `seed`.
pub(super) fn thread_rng(seed: u64, role: u64, index: usize) -> SmallRng {
    SmallRng::seed_from_u64(splitmix(seed ^ splitmix(role << 32 | index as u64)))
}

/// Why a run could not start.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StressError {
    /// `--driver` named no known target.
    #[error("unknown driver `{name}` (known: {known})")]
    UnknownDriver {
        /// The name given.
        name: String,
        /// The known names, comma separated.
        known: String,
    },
    /// No userspace thread.
    #[error("need at least one userspace thread")]
    NoThreads,
    /// The hang timeout is shorter than what the engine can observe.
    #[error(
        "hang timeout {given:?} is below {min:?}: the coordinator looks at the threads every \
         {PACING:?} and cannot tell a shorter stall"
    )]
    HangTimeoutTooShort {
        /// The timeout asked for.
        given: Duration,
        /// The smallest accepted (the pacing).
        min: Duration,
    },
    /// A target could not be registered.
    #[error("registering {driver} failed: {errno}")]
    Register {
        /// The driver name that is not a stress target.
        driver: String,
        /// What registration returned.
        errno: Errno,
    },
    /// A thread could not be spawned.
    #[error("spawning a thread failed: {0}")]
    Spawn(String),
}

/// A snapshot given to the progress callback about every 10 ms.
#[derive(Clone, Debug)]
pub struct Progress {
    /// Time since the threads started.
    pub elapsed: Duration,
    /// Requested duration.
    pub duration: Duration,
    /// Calls made so far (all threads).
    pub ops: u64,
    /// Successful unplugs so far.
    pub unplugs: u64,
    /// Checker reports so far.
    pub reports: usize,
}
