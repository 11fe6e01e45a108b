//! Adding, hot-unplugging and authorizing devices; binding them to drivers.

use super::Kernel;
use crate::device::{Device, DeviceInner, DeviceSpec, UsbInterfaceSpec};
use crate::driver;
use crate::errno::{Errno, KResult};
use crate::hw::{BusKind, Hardware};
use std::sync::Arc;
use std::sync::atomic::Ordering;

impl Kernel {
    fn new_hardware(&self, spec: &DeviceSpec) -> Hardware {
        let s = &self.inner.shared;
        let irq = spec.irq.then(|| s.irq.allocate_line(&spec.name));
        Hardware::new(
            &s.monitor,
            s.activity.clone(),
            &spec.name,
            spec.bus,
            spec.regs,
            irq,
            spec.latency.unwrap_or(s.config.hw_latency),
        )
    }

    fn insert_device(&self, spec: &DeviceSpec, hw: Hardware, owns_hw: bool) -> KResult<Device> {
        let dev = Device {
            inner: DeviceInner::new(
                spec,
                hw,
                owns_hw,
                &self.inner.shared,
                Arc::downgrade(&self.inner),
            ),
        };
        {
            let mut t = self.inner.devices.lock();
            if t.contains_key(dev.name()) {
                return Err(Errno::EEXIST);
            }
            t.insert(dev.name().to_owned(), dev.clone());
        }
        if let Some(p) = dev.parent() {
            p.inner.children.lock().push(dev.downgrade());
        }
        Ok(dev)
    }

    /// `device_add`: adds a device with its own hardware and probes the
    /// matching drivers. `EEXIST` if the name is taken. A probe failure
    /// leaves the device unbound (as in Linux) and is in the journal.
    pub fn add_device(&self, spec: DeviceSpec) -> KResult<Device> {
        let hw = self.new_hardware(&spec);
        let dev = self.insert_device(&spec, hw, true)?;
        self.probe_device(&dev);
        Ok(dev)
    }

    /// Adds a USB device and one interface device (`port:1.N`) per entry of
    /// `interfaces`, sharing the device's hardware; interface drivers match
    /// `usb:vVVVVpPPPPicCCisSSinNN`. Returns the USB device (interfaces are
    /// its [`children`](Device::children)).
    pub fn add_usb_device(
        &self,
        mut spec: DeviceSpec,
        interfaces: &[UsbInterfaceSpec],
    ) -> KResult<Device> {
        if spec.bus != BusKind::Usb {
            return Err(Errno::EINVAL);
        }
        spec.usb_interfaces = interfaces.to_vec();
        let hw = self.new_hardware(&spec);
        let udev = self.insert_device(&spec, hw, true)?;
        match self.add_usb_interfaces(&udev) {
            Ok(children) => {
                for c in &children {
                    self.probe_device(c);
                }
                Ok(udev)
            }
            Err(e) => {
                let _ = self.hot_unplug(&udev);
                Err(e)
            }
        }
    }

    /// Inserts the interface devices of `udev` (not probed yet). On error
    /// the ones inserted are removed again.
    fn add_usb_interfaces(&self, udev: &Device) -> KResult<Vec<Device>> {
        // Forget interfaces deleted by an earlier deauthorization.
        udev.inner
            .children
            .lock()
            .retain(|w| w.upgrade().is_some_and(|d| !d.is_deleted()));
        let mut children = Vec::new();
        for (n, i) in udev.inner.usb_interfaces.iter().enumerate() {
            let mut is = DeviceSpec::usb(udev.name(), 0, 0);
            is.name = format!("{}:1.{n}", udev.name());
            is.modalias = format!(
                "{}ic{:02X}is{:02X}in{:02X}",
                udev.modalias(),
                i.class,
                i.subclass,
                n
            );
            is.parent = Some(udev.clone());
            is.irq = false;
            is.props = udev.inner.props.clone();
            is.props
                .insert("bInterfaceNumber".to_owned(), format!("{n:02x}"));
            match self.insert_device(&is, udev.hardware().clone(), false) {
                Ok(d) => children.push(d),
                Err(e) => {
                    for c in &children {
                        let _ = self.hot_unplug(c);
                    }
                    return Err(e);
                }
            }
        }
        Ok(children)
    }

    /// USB `authorized` (`echo 0|1 > /sys/bus/usb/devices/PORT/authorized`).
    /// Deauthorizing unbinds and deletes the device's interfaces (the
    /// device stays, with no configuration); authorizing again re-creates
    /// them and probes their drivers. Setting the current value does
    /// nothing. `EINVAL` for a device that is not a USB device (an
    /// interface, another bus), `ENODEV` once it is unplugged.
    pub fn usb_authorize(&self, udev: &Device, authorized: bool) -> KResult<()> {
        if udev.bus() != BusKind::Usb || udev.parent().is_some() {
            return Err(Errno::EINVAL);
        }
        let lock = udev.inner.bind_lock.lock();
        if udev.is_deleted() || !udev.hardware().is_present() {
            return Err(Errno::ENODEV);
        }
        if udev.is_authorized() == authorized {
            return Ok(());
        }
        if !authorized {
            for c in udev.children() {
                self.hot_unplug(&c)?;
            }
            udev.inner.authorized.store(false, Ordering::Release);
            return Ok(());
        }
        let children = self.add_usb_interfaces(udev)?;
        // A hot-unplug of the device that started meanwhile has either seen
        // these children (it takes the children list after marking the
        // hardware absent) or left them to us.
        if !udev.hardware().is_present() {
            for c in &children {
                let _ = self.hot_unplug(c);
            }
            return Err(Errno::ENODEV);
        }
        udev.inner.authorized.store(true, Ordering::Release);
        drop(lock);
        for c in &children {
            self.probe_device(c);
        }
        Ok(())
    }

    /// Looks a device up by name.
    pub fn device(&self, name: &str) -> Option<Device> {
        self.inner.devices.lock().get(name).cloned()
    }

    /// Every device, by name.
    pub fn devices(&self) -> Vec<Device> {
        self.inner.devices.lock().values().cloned().collect()
    }

    pub(crate) fn probe_device(&self, dev: &Device) {
        let drivers: Vec<_> = self.inner.drivers.lock().clone();
        let _l = dev.inner.bind_lock.lock();
        for d in drivers.iter().filter(|d| d.matches(dev)) {
            if dev.is_bound() || dev.is_deleted() {
                break;
            }
            if driver::probe(self, dev, d).is_ok() {
                break;
            }
        }
    }

    /// Hot-unplug (or logical removal): the hardware disappears, the device
    /// and its children are unbound (the seven steps) and deleted. Idempotent.
    pub fn hot_unplug(&self, dev: &Device) -> KResult<()> {
        if crate::activity::inside_device(self.id(), dev.id())
            || dev
                .children()
                .iter()
                .any(|c| crate::activity::inside_device(self.id(), c.id()))
        {
            // The unbind would wait for the calling thread itself.
            return Err(Errno::EDEADLK);
        }
        if dev.inner.owns_hw {
            dev.hardware().set_present(false);
        }
        for c in dev.children() {
            self.hot_unplug(&c)?;
        }
        {
            let _l = dev.inner.bind_lock.lock();
            if dev.inner.deleted.swap(true, Ordering::AcqRel) {
                return Ok(());
            }
            driver::release(self, dev)?;
        }
        let mut t = self.inner.devices.lock();
        if t.get(dev.name()).is_some_and(|d| Device::ptr_eq(d, dev)) {
            t.remove(dev.name());
        }
        drop(t);
        self.monitor()
            .journal()
            .note(dev.id(), dev.name(), "device deleted");
        Ok(())
    }
}
