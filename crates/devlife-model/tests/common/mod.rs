//! Helpers shared by the integration tests.
#![allow(dead_code, missing_docs)]

use devlife_model::devlife::check::ReportKind;
use devlife_model::testdrv::{self, Setup, Style};
use devlife_model::{Errno, File, KResult, Kernel, PollMask};
use std::thread::JoinHandle;
use std::time::Duration;

/// Safety bound for waits that must succeed (never a timing assertion).
pub const T: Duration = Duration::from_secs(30);

/// Spawns a named thread.
pub fn spawn<R: Send + 'static>(
    name: &str,
    f: impl FnOnce() -> R + Send + 'static,
) -> JoinHandle<R> {
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(f)
        .expect("spawn")
}

/// The ways a device gets unbound.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Path {
    /// `echo dev > /sys/bus/platform/drivers/DRV/unbind`.
    SysfsUnbind,
    /// The device disappears.
    HotUnplug,
    /// The driver is unregistered (what module unload does once allowed).
    DriverUnregister,
}

pub const PATHS: [Path; 3] = [Path::SysfsUnbind, Path::HotUnplug, Path::DriverUnregister];

pub fn unbind(t: &Setup, p: Path) -> KResult<()> {
    let k = &t.kernel;
    match p {
        Path::SysfsUnbind => k.sysfs_unbind(t.driver(), t.device.name()),
        Path::HotUnplug => k.hot_unplug(&t.device),
        Path::DriverUnregister => k.unregister_driver(t.driver()),
    }
}

/// An operation that is in flight when the unbind starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InFlight {
    /// `read` sleeping on an empty FIFO.
    BlockedRead,
    /// An ioctl sleeping until data arrives (like DQBUF).
    BlockedWaitIoctl,
    /// `poll` sleeping.
    BlockedPoll,
    /// An ioctl inside a stalled hardware access.
    StalledHwIoctl,
    /// A `write` inside a stalled hardware access.
    StalledWrite,
}

pub const IN_FLIGHT: [InFlight; 5] = [
    InFlight::BlockedRead,
    InFlight::BlockedWaitIoctl,
    InFlight::BlockedPoll,
    InFlight::StalledHwIoctl,
    InFlight::StalledWrite,
];

impl InFlight {
    pub fn stalls(self) -> bool {
        matches!(self, InFlight::StalledHwIoctl | InFlight::StalledWrite)
    }
    /// The operation label the thread is blocked in.
    pub fn label(self) -> &'static str {
        match self {
            InFlight::BlockedRead => "read",
            InFlight::BlockedWaitIoctl => "TESTDRV_WAIT",
            InFlight::BlockedPoll => "poll",
            InFlight::StalledHwIoctl => "TESTDRV_HWOP",
            InFlight::StalledWrite => "write",
        }
    }
    /// Runs the operation; poll results are returned as their mask bits.
    pub fn run(self, f: &File) -> KResult<i64> {
        match self {
            InFlight::BlockedRead => f.read(&mut [0; 16]).map(|n| n as i64),
            InFlight::BlockedWaitIoctl => f.ioctl(testdrv::IOC_WAIT, &mut 1u32.to_le_bytes()),
            InFlight::BlockedPoll => f.poll(PollMask::IN, None).map(|m| i64::from(m.0)),
            InFlight::StalledHwIoctl => f.ioctl(testdrv::IOC_HWOP, &mut 2u32.to_le_bytes()),
            InFlight::StalledWrite => f.write(&[0; 8]).map(|n| n as i64),
        }
    }
}

/// A kernel with the test driver of `style` bound to device 0.
pub fn setup(style: Style) -> (Kernel, Setup) {
    let k = Kernel::new();
    let t = testdrv::setup(&k, style).expect("setup");
    assert!(t.device.is_bound());
    (k, t)
}

/// Asserts that no checker fired, printing the reports otherwise.
pub fn assert_silent(k: &Kernel) {
    let r = k.monitor().reports().all();
    assert!(
        r.is_empty(),
        "checker reports:\n{}",
        r.iter().map(ToString::to_string).collect::<String>()
    );
}

/// Number of reports of `kind`.
pub fn count(k: &Kernel, kind: ReportKind) -> usize {
    k.monitor().reports().count(kind)
}

/// Shuts the kernel down, drops the setup and checks that nothing is alive.
pub fn finish(k: Kernel, t: Setup) {
    k.shutdown();
    drop(t);
    let leaks = k.leaks();
    assert!(leaks.is_empty(), "leaks: {leaks:?}");
}

/// ENODEV as a Result, for brevity.
pub fn enodev<T>() -> KResult<T> {
    Err(Errno::ENODEV)
}
