//! The drivers a scenario can name (`driver testdrv`), and how each one is
//! set up in a fresh kernel for one run.
//!
//! A [`Target`] is what the kernel-side steps act on by default: the
//! driver's name for sysfs `bind`/`unbind`, the device for `unbind`,
//! `hot-unplug` and the hardware steps (`stall`, `irq`), its module for
//! `unload`, how to `replug` it, and driver-specific actions.

use devlife_drivers::Style;
use devlife_model::testdrv;
use devlife_model::{Device, Errno, KResult, Kernel};
use parking_lot::Mutex;

/// One driver set up in one kernel for one run.
///
/// Implementations use interior mutability: steps run on several threads.
pub trait Target: Send + Sync {
    /// The driver name sysfs `bind`/`unbind` use by default.
    fn driver(&self) -> String;
    /// The device `bind`/`unbind`/`hot-unplug`, `stall` and `irq` act on by
    /// default (`None` once it was unplugged and not replugged).
    fn device(&self) -> Option<Device>;
    /// The module `unload` removes by default.
    fn module(&self) -> Option<String>;
    /// Brings the device back after a hot-unplug (a new device of the same name).
    fn replug(&self, kernel: &Kernel) -> KResult<()>;
    /// Runs a driver-specific action (one of [`TargetInfo::actions`]).
    fn action(&self, kernel: &Kernel, name: &str, args: &[i64]) -> KResult<i64> {
        let _ = (kernel, name, args);
        Err(Errno::ENOSYS)
    }
    /// Drops every handle the target keeps (called after the kernel's shutdown).
    fn teardown(&self);
}

/// Static facts about a driver, known when a scenario is parsed.
pub struct TargetInfo {
    /// Name in `driver NAME`.
    pub name: &'static str,
    /// One line about it.
    pub about: &'static str,
    /// Driver-specific kernel actions: (name, help).
    pub actions: &'static [(&'static str, &'static str)],
    /// Breakpoint names the driver reaches besides the runner's.
    pub points: &'static [&'static str],
    /// Sets the driver up (module, driver, bound device) in `kernel`.
    pub setup: fn(&Kernel, Style) -> KResult<Box<dyn Target>>,
}

/// Every driver a scenario can name.
pub fn all() -> &'static [TargetInfo] {
    TARGETS
}

/// The driver called `name`.
pub fn info(name: &str) -> Option<&'static TargetInfo> {
    TARGETS.iter().find(|t| t.name == name)
}

/// The names of every driver.
pub fn names() -> Vec<&'static str> {
    TARGETS.iter().map(|t| t.name).collect()
}

static TARGETS: &[TargetInfo] = &[TargetInfo {
    name: "testdrv",
    about: "devlife-model's misc test driver (node testdrv0: blocking read, ioctls, poll, mmap, IRQ)",
    actions: &[],
    points: &[],
    setup: setup_testdrv,
}];

// ----- testdrv ----------------------------------------------------------------

struct TestdrvTarget {
    setup: Mutex<Option<testdrv::Setup>>,
    style: testdrv::Style,
}

fn setup_testdrv(k: &Kernel, style: Style) -> KResult<Box<dyn Target>> {
    let style = match style {
        Style::Framework => testdrv::Style::Framework,
        Style::Legacy => testdrv::Style::Legacy,
    };
    let s = testdrv::setup(k, style)?;
    Ok(Box::new(TestdrvTarget {
        setup: Mutex::new(Some(s)),
        style,
    }))
}

impl Target for TestdrvTarget {
    fn driver(&self) -> String {
        testdrv::driver_name(self.style).to_owned()
    }
    fn device(&self) -> Option<Device> {
        self.setup.lock().as_ref().map(|s| s.device.clone())
    }
    fn module(&self) -> Option<String> {
        self.setup
            .lock()
            .as_ref()
            .map(|s| s.module.name().to_owned())
    }
    fn replug(&self, _kernel: &Kernel) -> KResult<()> {
        self.setup.lock().as_mut().ok_or(Errno::ENODEV)?.replug()
    }
    fn teardown(&self) {
        self.setup.lock().take();
    }
}
