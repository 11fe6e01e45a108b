//! Registering drivers, loading and unloading modules, and the sysfs
//! `bind` / `unbind` attributes.

use super::Kernel;
use crate::activity::BlockKind;
use crate::device::Device;
use crate::driver::{self, Driver, DriverEntry, DriverInfo};
use crate::errno::{Errno, KResult};
use crate::fault::FaultPoint;
use crate::module::Module;
use std::sync::Arc;

impl Kernel {
    /// Registers a driver (owned by `module`, if any) and binds it to every
    /// unbound matching device. `EEXIST` if a driver of that name exists,
    /// `ENODEV` if the module is being unloaded.
    pub fn register_driver<D: Driver>(&self, drv: D, module: Option<&Module>) -> KResult<()> {
        if module.is_some_and(Module::is_going) {
            return Err(Errno::ENODEV);
        }
        self.faults().check(FaultPoint::DriverRegister)?;
        let e = Arc::new(DriverEntry::new(drv, module.cloned()));
        {
            let mut ds = self.inner.drivers.lock();
            if ds.iter().any(|d| d.name == e.name) {
                return Err(Errno::EEXIST);
            }
            ds.push(e.clone());
        }
        for dev in self.devices() {
            if e.matches(&dev) {
                let _l = dev.inner.bind_lock.lock();
                if !dev.is_bound() {
                    let _ = driver::probe(self, &dev, &e);
                }
            }
        }
        Ok(())
    }

    /// Unregisters a driver, unbinding it from every device. `ENOENT` if unknown.
    pub fn unregister_driver(&self, name: &str) -> KResult<()> {
        let e = {
            let mut ds = self.inner.drivers.lock();
            let i = ds
                .iter()
                .position(|d| d.name == name)
                .ok_or(Errno::ENOENT)?;
            ds.remove(i)
        };
        for dev in self.devices() {
            let _l = dev.inner.bind_lock.lock();
            let mine = dev
                .inner
                .binding
                .lock()
                .as_ref()
                .is_some_and(|b| Arc::ptr_eq(b.driver(), &e));
            if mine {
                driver::release(self, &dev)?;
            }
        }
        Ok(())
    }

    /// Names of the registered drivers.
    pub fn drivers(&self) -> Vec<String> {
        self.inner
            .drivers
            .lock()
            .iter()
            .map(|d| d.name.clone())
            .collect()
    }

    /// What the driver core shows of every registered driver, in
    /// registration order.
    pub fn driver_infos(&self) -> Vec<DriverInfo> {
        self.inner.drivers.lock().iter().map(|d| d.info()).collect()
    }

    /// Names of the loaded modules, sorted.
    pub fn modules(&self) -> Vec<String> {
        self.inner.modules.lock().keys().cloned().collect()
    }

    /// Loads (creates) a module. `EEXIST` if loaded.
    pub fn load_module(&self, name: &str) -> KResult<Module> {
        let mut ms = self.inner.modules.lock();
        if ms.contains_key(name) {
            return Err(Errno::EEXIST);
        }
        self.faults().check(FaultPoint::ModuleLoad)?;
        let m = Module::new(self.monitor(), name);
        ms.insert(name.to_owned(), m.clone());
        Ok(m)
    }

    /// A loaded module.
    pub fn module(&self, name: &str) -> Option<Module> {
        self.inner.modules.lock().get(name).cloned()
    }

    /// `rmmod`: refused with `EBUSY` while any reference is held (an open
    /// file of one of its nodes); otherwise unregisters its drivers (unbinding
    /// every device, the seven steps) and unloads it. `ENOENT` if not loaded.
    pub fn unload_module(&self, name: &str) -> KResult<()> {
        let m = self.module(name).ok_or(Errno::ENOENT)?;
        {
            let _b = self
                .activity()
                .block_as(BlockKind::Kernel, name, "delete_module");
            m.begin_unload()?;
        }
        let mine: Vec<String> = self
            .inner
            .drivers
            .lock()
            .iter()
            .filter(|d| d.module.as_ref().is_some_and(|dm| Module::ptr_eq(dm, &m)))
            .map(|d| d.name.clone())
            .collect();
        for d in mine {
            self.unregister_driver(&d)?;
        }
        self.inner.modules.lock().remove(name);
        self.monitor().journal().note(0, name, "module unloaded");
        Ok(())
    }

    // ----- sysfs ---------------------------------------------------------

    fn sysfs_driver(&self, driver: &str) -> KResult<Arc<DriverEntry>> {
        let e = self
            .inner
            .drivers
            .lock()
            .iter()
            .find(|d| d.name == driver)
            .cloned()
            .ok_or(Errno::ENOENT)?;
        if e.suppress_bind_attrs {
            // The bind/unbind attribute files do not exist.
            return Err(Errno::ENOENT);
        }
        Ok(e)
    }

    /// `echo DEV > /sys/bus/*/drivers/DRV/unbind`. `ENOENT` for an unknown
    /// driver or one with `suppress_bind_attrs`; `ENODEV` if the device is
    /// unknown or not bound to that driver; `EDEADLK` from inside a file
    /// operation of the device itself.
    pub fn sysfs_unbind(&self, driver: &str, device: &str) -> KResult<()> {
        let e = self.sysfs_driver(driver)?;
        let dev = self.device(device).ok_or(Errno::ENODEV)?;
        let _l = dev.inner.bind_lock.lock();
        let mine = dev
            .inner
            .binding
            .lock()
            .as_ref()
            .is_some_and(|b| Arc::ptr_eq(b.driver(), &e));
        if !mine {
            return Err(Errno::ENODEV);
        }
        driver::release(self, &dev).map(|_| ())
    }

    /// `echo DEV > /sys/bus/*/drivers/DRV/bind`. `ENOENT` as for unbind;
    /// `ENODEV` if the device is unknown or does not match; `EBUSY` if it is
    /// bound; otherwise the probe's result.
    pub fn sysfs_bind(&self, driver: &str, device: &str) -> KResult<()> {
        let e = self.sysfs_driver(driver)?;
        let dev = self.device(device).ok_or(Errno::ENODEV)?;
        if !e.matches(&dev) {
            return Err(Errno::ENODEV);
        }
        let _l = dev.inner.bind_lock.lock();
        driver::probe(self, &dev, &e)
    }

    /// Unbinds whatever driver `dev` has (`device_release_driver`, no sysfs
    /// restrictions). Returns whether one was bound.
    pub fn release_driver(&self, dev: &Device) -> KResult<bool> {
        let _l = dev.inner.bind_lock.lock();
        driver::release(self, dev)
    }

    /// Probes the matching drivers for an unbound device (`device_attach`).
    /// Returns whether a driver is bound afterwards.
    pub fn attach(&self, dev: &Device) -> bool {
        self.probe_device(dev);
        dev.is_bound()
    }
}
