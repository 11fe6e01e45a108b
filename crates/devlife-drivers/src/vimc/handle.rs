//! [`VimcHandle`]: what `vimc_init` leaves behind (the module, the platform
//! device, the registered driver), with the sysfs-style controls the tests,
//! the harness and the CLI use.

use super::build::{self, DriverShared, VimcData};
use super::driver::VimcDriver;
use super::hw::{NUM_REGS, install_device_model};
use super::legacy::VimcLegacyDriver;
use super::state::{StatsSnapshot, VimcStats};
use super::{VimcConfig, VimcNodes, device_base_name, driver_name, module_name};
use crate::common::Style;
use devlife_media::mc::MediaDevice;
use devlife_model::{Device, DeviceSpec, Errno, Hardware, KResult, Kernel, Module};
use parking_lot::Mutex;
use std::sync::Arc;

/// A registered vimc: its module, its platform device and its driver.
///
/// Dropping the handle changes nothing in the kernel (like forgetting a
/// device's name); [`unload`](Self::unload) is `rmmod vimc`.
///
/// # Invariants
///
/// `device` is the platform device most recently added by this handle (a
/// [`replug`](Self::replug) replaces it).
pub struct VimcHandle {
    kernel: Kernel,
    module: Module,
    style: Style,
    instance: u32,
    device: Mutex<Device>,
    shared: Arc<DriverShared>,
}

impl std::fmt::Debug for VimcHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VimcHandle")
            .field("style", &self.style)
            .field("device", &self.device_name())
            .field("bound", &self.is_bound())
            .finish()
    }
}

fn add_device(k: &Kernel, style: Style, instance: u32) -> KResult<Device> {
    let spec = DeviceSpec::platform(device_base_name(style), instance).regs(NUM_REGS);
    let dev = k.add_device(spec)?;
    install_device_model(dev.hardware());
    Ok(dev)
}

impl VimcHandle {
    /// `vimc_init`: loads the module, adds the platform device, registers
    /// the driver (which binds it). `EEXIST` if this style's module is
    /// already loaded in `k`. A probe failure (fault injection) leaves the
    /// device unbound, as in Linux: see [`is_bound`](Self::is_bound).
    pub(crate) fn register(k: &Kernel, cfg: VimcConfig) -> KResult<Self> {
        let style = cfg.style;
        let module = k.load_module(module_name(style))?;
        let device = match add_device(k, style, cfg.instance) {
            Ok(d) => d,
            Err(e) => {
                let _ = k.unload_module(module_name(style));
                return Err(e);
            }
        };
        let shared = Arc::new(DriverShared {
            interval: cfg.frame_interval,
            stats: Arc::new(VimcStats::default()),
            mistakes: Mutex::new(Vec::new()),
        });
        let registered = match style {
            Style::Framework => k.register_driver(
                VimcDriver {
                    shared: shared.clone(),
                },
                Some(&module),
            ),
            Style::Legacy => k.register_driver(
                VimcLegacyDriver {
                    shared: shared.clone(),
                    kref: Mutex::new(None),
                    embedded: Mutex::new(Vec::new()),
                },
                Some(&module),
            ),
        };
        if let Err(e) = registered {
            let _ = k.hot_unplug(&device);
            let _ = k.unload_module(module_name(style));
            return Err(e);
        }
        Ok(Self {
            kernel: k.clone(),
            module,
            style,
            instance: cfg.instance,
            device: Mutex::new(device),
            shared,
        })
    }

    /// The kernel vimc is registered in.
    pub fn kernel(&self) -> &Kernel {
        &self.kernel
    }

    /// The driver's style.
    pub fn style(&self) -> Style {
        self.style
    }

    /// The driver's name (`vimc`, or `vimc-legacy` for the twin): the sysfs
    /// directory of [`Kernel::sysfs_bind`] / [`Kernel::sysfs_unbind`].
    pub fn driver_name(&self) -> &'static str {
        driver_name(self.style)
    }

    /// vimc's module (holding it keeps `rmmod` from unloading it).
    pub fn module(&self) -> &Module {
        &self.module
    }

    /// The current platform device.
    pub fn device(&self) -> Device {
        self.device.lock().clone()
    }

    /// The platform device's name (`vimc.0`, `vimc-legacy.0`).
    pub fn device_name(&self) -> String {
        self.device.lock().name().to_owned()
    }

    /// The simulated frame engine of the current device.
    pub fn hardware(&self) -> Hardware {
        self.device.lock().hardware().clone()
    }

    /// Whether the device is bound to the driver.
    pub fn is_bound(&self) -> bool {
        self.device.lock().is_bound()
    }

    /// `echo vimc.0 > /sys/bus/platform/drivers/vimc/bind`.
    pub fn bind(&self) -> KResult<()> {
        self.kernel
            .sysfs_bind(self.driver_name(), &self.device_name())
    }

    /// `echo vimc.0 > /sys/bus/platform/drivers/vimc/unbind`: the seven
    /// steps. `EDEADLK` from inside a call on one of vimc's nodes.
    pub fn unbind(&self) -> KResult<()> {
        self.kernel
            .sysfs_unbind(self.driver_name(), &self.device_name())
    }

    /// Removes the platform device (`platform_device_unregister`, the
    /// hot-unplug of a platform device): unbound and deleted.
    pub fn hot_unplug(&self) -> KResult<()> {
        let d = self.device();
        self.kernel.hot_unplug(&d)
    }

    /// Adds the platform device again after [`hot_unplug`](Self::hot_unplug)
    /// and binds it. The first probe, before the device's engine is
    /// initialised, defers; the device is then attached again.
    pub fn replug(&self) -> KResult<()> {
        let mut cur = self.device.lock();
        if !cur.is_deleted() {
            return Err(Errno::EBUSY);
        }
        let dev = add_device(&self.kernel, self.style, self.instance)?;
        self.kernel.attach(&dev);
        *cur = dev;
        Ok(())
    }

    /// `rmmod`: `EBUSY` while a file of one of vimc's nodes is open (or
    /// mapped); otherwise the driver is unregistered (unbinding the device)
    /// and the platform device removed, as `vimc_exit` does.
    pub fn unload(&self) -> KResult<()> {
        self.kernel.unload_module(module_name(self.style))?;
        let d = self.device();
        self.kernel.hot_unplug(&d)
    }

    /// Arms a driver-private mistake ([`crate::mistake`]) for the next
    /// `remove()`. `ENOTSUP` on the framework driver, which has no
    /// private counts to get wrong.
    pub fn arm_mistake(&self, m: crate::Mistake) -> KResult<()> {
        if self.style != Style::Legacy {
            return Err(Errno::ENOTSUP);
        }
        self.shared.mistakes.lock().push(m);
        Ok(())
    }

    /// The device nodes of the current binding.
    pub fn nodes(&self) -> Option<VimcNodes> {
        self.device().with_drvdata(build::nodes).flatten()
    }

    /// The media device of the current binding.
    pub fn media_device(&self) -> Option<MediaDevice> {
        self.device().with_drvdata(|d: &VimcData| d.mdev.clone())
    }

    /// `media-ctl -p` of the current binding (`ENODEV` when unbound).
    pub fn topology(&self) -> KResult<String> {
        super::topology_text(&self.media_device().ok_or(Errno::ENODEV)?)
    }

    /// `media-ctl --print-dot` of the current binding (`ENODEV` when unbound).
    pub fn topology_dot(&self) -> KResult<String> {
        super::topology_dot(&self.media_device().ok_or(Errno::ENODEV)?)
    }

    /// The driver's counters (all bindings so far).
    pub fn stats(&self) -> StatsSnapshot {
        self.shared.stats.snapshot()
    }
}
