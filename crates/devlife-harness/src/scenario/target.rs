//! The drivers a scenario can name (`driver testdrv`), and how each one is
//! set up in a fresh kernel for one run.
//!
//! A [`Target`] is what the kernel-side steps act on by default: its
//! *roles* (a driver bound to a device, with its module: `bind`, `unbind`,
//! `unload` take a role name or a literal driver/module name), its physical
//! device (`hot-unplug`, `stall`, `irq`), how to `replug` it, and
//! driver-specific actions.

use devlife_drivers::Style;
use devlife_drivers::{isp, mutants, usb_av, vimc};
use devlife_model::testdrv;
use devlife_model::{Device, Errno, KResult, Kernel};
use parking_lot::Mutex;

/// A driver bound to a device: what `unbind ROLE` and `unload ROLE` act on.
#[derive(Debug, Clone)]
pub struct Role {
    /// Driver name (as sysfs knows it).
    pub driver: String,
    /// The device it binds to (`None` if it is gone).
    pub device: Option<Device>,
    /// The module `unload` removes by default, if the driver has one.
    pub module: Option<String>,
}

/// One driver set up in one kernel for one run.
///
/// Implementations use interior mutability: steps run on several threads.
pub trait Target: Send + Sync {
    /// The role called `name` (`None`: the default role). `None` if there is
    /// no such role (the name is then used literally).
    fn role(&self, name: Option<&str>) -> Option<Role>;
    /// The physical device: what `hot-unplug`, `stall` and `irq` act on by
    /// default (`None` once it was unplugged and not replugged).
    fn device(&self) -> Option<Device>;
    /// Brings the device back after a hot-unplug (a new device of the same name).
    fn replug(&self, kernel: &Kernel) -> KResult<()>;
    /// Loads the module of role `name` (`None`: the default role) again
    /// after an unload: its init registers the driver (and, for drivers whose
    /// module adds it, the device), which binds. `EEXIST` if it is loaded.
    fn load(&self, kernel: &Kernel, name: Option<&str>) -> KResult<()> {
        let _ = (kernel, name);
        Err(Errno::ENOSYS)
    }
    /// Runs a driver-specific action (one of [`TargetInfo::actions`]).
    fn action(&self, kernel: &Kernel, name: &str, args: &[i64]) -> KResult<i64> {
        let _ = (kernel, name, args);
        Err(Errno::ENOSYS)
    }
    /// Arms a driver-private mistake in the bound legacy twin
    /// ([`devlife_drivers::mistake`]). `ENOSYS` if the driver has none.
    fn mistake(&self, m: devlife_drivers::Mistake) -> KResult<()> {
        let _ = m;
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
    /// Role names (the first is the default).
    pub roles: &'static [&'static str],
    /// Driver-specific kernel actions: (name, help).
    pub actions: &'static [(&'static str, &'static str)],
    /// Breakpoint names the driver reaches besides the runner's.
    pub points: &'static [&'static str],
    /// Whether the driver's legacy twin implements `mistake NAME`
    /// ([`devlife_drivers::Mistake`]).
    pub mistakes: bool,
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

static TARGETS: &[TargetInfo] = &[
    TargetInfo {
        name: "vimc",
        about: "the virtual media controller vimc.0 (spec 1: eleven entities, media0, video0..2, v4l-subdev0..7); streamer period 10 ms",
        roles: &["vimc"],
        actions: &[(
            "configure",
            "`configure [W H]`: the streaming setup of docs/vimc.md (SBGGR8 sensors and debayers, BA81 raw captures) through the nodes, at WxH everywhere (default: the spec's 640x480 and 1920x1440)",
        )],
        points: &[],
        mistakes: true,
        setup: setup_vimc,
    },
    TargetInfo {
        name: "testdrv",
        about: "devlife-model's misc test driver (node testdrv0: blocking read, ioctls, poll, mmap, IRQ)",
        roles: &["testdrv"],
        actions: &[],
        points: &[],
        mistakes: false,
        setup: setup_testdrv,
    },
    TargetInfo {
        name: "usb-av",
        about: "USB audio/video device on port 1-1: video driver (interface 1-1:1.0) and audio driver (1-1:1.1) sharing /dev/media0 through the Media Device Allocator",
        roles: &["video", "audio"],
        actions: &[],
        points: &[],
        mistakes: true,
        setup: setup_usb_av,
    },
    TargetInfo {
        name: "isp",
        about: "platform ISP devlife-isp.0 (sensor, CSI2, CCDC, resizer subdevs and a capture node, IRQ-driven DMA); frames only on `vsync`",
        roles: &["isp"],
        actions: &[(
            "vsync",
            "one frame tick: a started engine writes the frame by DMA and raises FRAME_DONE; the step ends when the interrupt was handled (returns 1 if the engine ran)",
        )],
        points: &[],
        mistakes: false,
        setup: setup_isp,
    },
    mutant_info!(
        "mutant-use-after-free",
        UseAfterFree,
        "mutant: remove() frees the state open files still use (expect use-after-free)"
    ),
    mutant_info!(
        "mutant-use-after-remove",
        UseAfterRemove,
        "mutant: release updates bound-only engine state after remove() (expect use-after-remove)"
    ),
    mutant_info!(
        "mutant-hw-after-remove",
        HwAfterRemove,
        "mutant: release writes a register through a copied handle (expect hw-after-remove)"
    ),
    mutant_info!(
        "mutant-irq-after-release",
        IrqAfterRelease,
        "mutant: IRQ requested outside the framework, freed with the state (expect irq-after-release)"
    ),
    mutant_info!(
        "mutant-double-free",
        DoubleFree,
        "mutant: a buffer freed in remove() and again with the state (expect double-free)"
    ),
    mutant_info!(
        "mutant-leak",
        Leak,
        "mutant: the state holds its own node, a reference cycle (expect leak mutant_state)"
    ),
    mutant_info!(
        "mutant-hang",
        Hang,
        "mutant: read sleeps on a queue of a private gate, unplug cannot wake it (expect hang)"
    ),
    mutant_info!(
        "mutant-lock-order",
        LockOrder,
        "mutant: remove() unregisters the node while holding the lock its ioctl takes (expect lock-order)"
    ),
];

// ----- mutants ------------------------------------------------------------------

/// The entry of one mutant: role `mutant`, node `mutant0`, framework style only.
macro_rules! mutant_info {
    ($name:literal, $m:ident, $about:literal) => {
        TargetInfo {
            name: $name,
            about: $about,
            roles: &["mutant"],
            actions: &[],
            points: &[],
            mistakes: false,
            setup: |k, style| setup_mutant(k, style, mutants::Mutation::$m),
        }
    };
}
use mutant_info;

struct MutantTarget {
    setup: Mutex<Option<mutants::Setup>>,
}

fn setup_mutant(k: &Kernel, style: Style, m: mutants::Mutation) -> KResult<Box<dyn Target>> {
    // A mutant is a framework driver with a bug: it has no legacy twin.
    if style != Style::Framework {
        return Err(Errno::EINVAL);
    }
    let s = mutants::setup(k, m)?;
    Ok(Box::new(MutantTarget {
        setup: Mutex::new(Some(s)),
    }))
}

impl Target for MutantTarget {
    fn role(&self, name: Option<&str>) -> Option<Role> {
        if name.is_some_and(|n| n != "mutant") {
            return None;
        }
        let s = self.setup.lock();
        let s = s.as_ref()?;
        Some(Role {
            driver: s.mutation.driver_name().to_owned(),
            device: Some(s.device.clone()),
            module: Some(s.module.name().to_owned()),
        })
    }
    fn device(&self) -> Option<Device> {
        self.setup.lock().as_ref().map(|s| s.device.clone())
    }
    fn replug(&self, _kernel: &Kernel) -> KResult<()> {
        Err(Errno::ENOSYS)
    }
    fn teardown(&self) {
        self.setup.lock().take();
    }
}

// ----- testdrv ----------------------------------------------------------------

struct TestdrvTarget {
    setup: Mutex<Option<testdrv::Setup>>,
    style: testdrv::Style,
}

fn setup_testdrv(k: &Kernel, style: Style) -> KResult<Box<dyn Target>> {
    let s = testdrv::setup(k, style)?;
    Ok(Box::new(TestdrvTarget {
        setup: Mutex::new(Some(s)),
        style,
    }))
}

impl Target for TestdrvTarget {
    fn role(&self, name: Option<&str>) -> Option<Role> {
        if name.is_some_and(|n| n != "testdrv") {
            return None;
        }
        let s = self.setup.lock();
        Some(Role {
            driver: testdrv::driver_name(self.style).to_owned(),
            device: s.as_ref().map(|s| s.device.clone()),
            module: s.as_ref().map(|s| s.module.name().to_owned()),
        })
    }
    fn device(&self) -> Option<Device> {
        self.setup.lock().as_ref().map(|s| s.device.clone())
    }
    fn replug(&self, _kernel: &Kernel) -> KResult<()> {
        self.setup.lock().as_mut().ok_or(Errno::ENODEV)?.replug()
    }
    fn load(&self, kernel: &Kernel, name: Option<&str>) -> KResult<()> {
        let module = testdrv::module_name(self.style);
        if name.is_some_and(|n| n != "testdrv" && n != module) {
            return Err(Errno::ENOENT);
        }
        let m = kernel.load_module(module)?;
        // The module's init registers the driver, which binds the device
        // still on the bus; a failed init leaves no module behind.
        if let Err(e) = kernel.register_driver(testdrv::TestDriver { style: self.style }, Some(&m))
        {
            let _ = kernel.unload_module(module);
            return Err(e);
        }
        if let Some(s) = self.setup.lock().as_mut() {
            s.module = m;
        }
        Ok(())
    }
    fn teardown(&self) {
        self.setup.lock().take();
    }
}

// ----- usb-av -----------------------------------------------------------------

/// The USB port the scenario's device is plugged on.
pub const USB_AV_PORT: &str = "1-1";

struct UsbAvTarget {
    av: Mutex<Option<usb_av::UsbAv>>,
    udev: Mutex<Option<Device>>,
}

fn setup_usb_av(k: &Kernel, style: Style) -> KResult<Box<dyn Target>> {
    let av = usb_av::register(k, style)?;
    let udev = av.plug(USB_AV_PORT)?;
    Ok(Box::new(UsbAvTarget {
        av: Mutex::new(Some(av)),
        udev: Mutex::new(Some(udev)),
    }))
}

impl Target for UsbAvTarget {
    fn role(&self, name: Option<&str>) -> Option<Role> {
        let av = self.av.lock();
        let av = av.as_ref()?;
        let udev = self.udev.lock().clone();
        let (driver, device) = match name.unwrap_or("video") {
            "video" => (
                av.video_driver(),
                udev.as_ref().and_then(|u| av.video_interface(u)),
            ),
            "audio" => (
                av.audio_driver(),
                udev.as_ref().and_then(|u| av.audio_interface(u)),
            ),
            _ => return None,
        };
        Some(Role {
            driver: driver.to_owned(),
            device,
            // The modules are named like the drivers.
            module: Some(driver.to_owned()),
        })
    }
    fn device(&self) -> Option<Device> {
        self.udev.lock().clone()
    }
    fn mistake(&self, m: devlife_drivers::Mistake) -> KResult<()> {
        self.av.lock().as_ref().ok_or(Errno::ENODEV)?.arm_mistake(m)
    }
    fn replug(&self, _kernel: &Kernel) -> KResult<()> {
        let av = self.av.lock();
        let d = av.as_ref().ok_or(Errno::ENODEV)?.plug(USB_AV_PORT)?;
        *self.udev.lock() = Some(d);
        Ok(())
    }
    fn teardown(&self) {
        self.udev.lock().take();
        self.av.lock().take();
    }
}

// ----- isp --------------------------------------------------------------------

struct IspTarget {
    isp: Mutex<Option<isp::Isp>>,
    dev: Mutex<Option<Device>>,
    timeout: std::time::Duration,
}

fn setup_isp(k: &Kernel, style: Style) -> KResult<Box<dyn Target>> {
    let i = isp::register_with(k, style, isp::IspOptions::manual())?;
    let dev = i.plug(0)?;
    Ok(Box::new(IspTarget {
        isp: Mutex::new(Some(i)),
        dev: Mutex::new(Some(dev)),
        timeout: super::DEFAULT_TIMEOUT,
    }))
}

impl Target for IspTarget {
    fn role(&self, name: Option<&str>) -> Option<Role> {
        if name.is_some_and(|n| n != "isp") {
            return None;
        }
        let i = self.isp.lock();
        let driver = i.as_ref()?.driver();
        Some(Role {
            driver: driver.to_owned(),
            device: self.dev.lock().clone(),
            module: Some(driver.to_owned()),
        })
    }
    fn device(&self) -> Option<Device> {
        self.dev.lock().clone()
    }
    fn replug(&self, _kernel: &Kernel) -> KResult<()> {
        let i = self.isp.lock();
        let d = i.as_ref().ok_or(Errno::ENODEV)?.plug(0)?;
        *self.dev.lock() = Some(d);
        Ok(())
    }
    fn action(&self, _kernel: &Kernel, name: &str, args: &[i64]) -> KResult<i64> {
        if name != "vsync" || !args.is_empty() {
            return Err(Errno::EINVAL);
        }
        let i = self.isp.lock();
        let i = i.as_ref().ok_or(Errno::ENODEV)?;
        let dev = self.dev.lock().clone().ok_or(Errno::ENODEV)?;
        let ran = i.vsync(&dev);
        if !i.wait_irq_idle(&dev, self.timeout) {
            return Err(Errno::ETIMEDOUT);
        }
        Ok(i64::from(ran))
    }
    fn teardown(&self) {
        self.dev.lock().take();
        self.isp.lock().take();
    }
}

// ----- vimc -------------------------------------------------------------------

/// The streamer period of the scenario's vimc: frames come quickly, and a
/// DQBUF on an empty queue still sleeps until something wakes it.
pub const VIMC_FRAME_INTERVAL: std::time::Duration = std::time::Duration::from_millis(10);

struct VimcTarget {
    h: Mutex<Option<vimc::VimcHandle>>,
    style: Style,
}

fn vimc_config(style: Style) -> vimc::VimcConfig {
    vimc::VimcConfig::new(style).frame_interval(VIMC_FRAME_INTERVAL)
}

fn setup_vimc(k: &Kernel, style: Style) -> KResult<Box<dyn Target>> {
    let h = vimc::register_with(k, vimc_config(style))?;
    if !h.is_bound() {
        return Err(Errno::ENODEV);
    }
    Ok(Box::new(VimcTarget {
        h: Mutex::new(Some(h)),
        style,
    }))
}

impl Target for VimcTarget {
    fn mistake(&self, m: devlife_drivers::Mistake) -> KResult<()> {
        self.h.lock().as_ref().ok_or(Errno::ENODEV)?.arm_mistake(m)
    }
    fn role(&self, name: Option<&str>) -> Option<Role> {
        if name.is_some_and(|n| n != "vimc") {
            return None;
        }
        let h = self.h.lock();
        let h = h.as_ref()?;
        Some(Role {
            driver: h.driver_name().to_owned(),
            device: Some(h.device()),
            module: Some(h.module().name().to_owned()),
        })
    }
    fn device(&self) -> Option<Device> {
        self.h.lock().as_ref().map(vimc::VimcHandle::device)
    }
    fn replug(&self, _kernel: &Kernel) -> KResult<()> {
        self.h.lock().as_ref().ok_or(Errno::ENODEV)?.replug()
    }
    fn load(&self, kernel: &Kernel, name: Option<&str>) -> KResult<()> {
        if name.is_some_and(|n| n != "vimc" && n != vimc::module_name(self.style)) {
            return Err(Errno::ENOENT);
        }
        if kernel.module(vimc::module_name(self.style)).is_some() {
            return Err(Errno::EEXIST);
        }
        // `unload` ran the model's module unload; vimc_exit also deletes its
        // platform device, which is done here before vimc_init adds it again.
        let old = self.h.lock().take();
        if let Some(d) = old.as_ref().map(vimc::VimcHandle::device)
            && !d.is_deleted()
        {
            kernel.hot_unplug(&d)?;
        }
        drop(old);
        // vimc_init: the module registers its driver and its platform device.
        let h = vimc::register_with(kernel, vimc_config(self.style))?;
        *self.h.lock() = Some(h);
        Ok(())
    }
    fn action(&self, kernel: &Kernel, name: &str, args: &[i64]) -> KResult<i64> {
        if name != "configure" {
            return Err(Errno::EINVAL);
        }
        let setup = match args {
            [] => vimc::setup::StreamSetup::spec(),
            [w, h] => vimc::setup::StreamSetup::small(
                u32::try_from(*w).map_err(|_| Errno::EINVAL)?,
                u32::try_from(*h).map_err(|_| Errno::EINVAL)?,
            ),
            _ => return Err(Errno::EINVAL),
        };
        let nodes = self
            .h
            .lock()
            .as_ref()
            .and_then(vimc::VimcHandle::nodes)
            .ok_or(Errno::ENODEV)?;
        vimc::setup::configure(kernel, &nodes, &setup).map(|()| 0)
    }
    fn teardown(&self) {
        self.h.lock().take();
    }
}
