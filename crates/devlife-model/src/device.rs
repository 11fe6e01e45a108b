//! Devices on buses: platform devices, USB devices with interfaces, I2C
//! devices. Devices are reference counted with a release callback; the
//! kernel's device table holds one reference from `device_add` until the
//! device is deleted (hot-unplug), and the device's children hold their parent.

use crate::driver::Binding;
use crate::hw::{BusKind, Hardware};
use crate::kernel::{Kernel, KernelInner, Shared};
use devlife::check::{EventKind, LiveToken};
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};

type DevRelease = Box<dyn FnOnce() + Send>;

pub(crate) struct DeviceInner {
    pub(crate) id: u64,
    pub(crate) name: String,
    pub(crate) bus: BusKind,
    pub(crate) modalias: String,
    pub(crate) parent: Option<Device>,
    pub(crate) hw: Hardware,
    pub(crate) owns_hw: bool,
    pub(crate) props: BTreeMap<String, String>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) kernel: Weak<KernelInner>,
    /// `device_lock`: serialises probe and remove of this device.
    pub(crate) bind_lock: Mutex<()>,
    pub(crate) binding: Mutex<Option<Arc<Binding>>>,
    pub(crate) deleted: AtomicBool,
    /// USB `authorized`: whether the device's interfaces exist.
    pub(crate) authorized: AtomicBool,
    pub(crate) usb_interfaces: Vec<UsbInterfaceSpec>,
    pub(crate) children: Mutex<Vec<WeakDevice>>,
    release: Mutex<Option<DevRelease>>,
    _live: LiveToken,
}

impl Drop for DeviceInner {
    fn drop(&mut self) {
        if let Some(r) = self.release.get_mut().take() {
            r();
        }
        self.shared.monitor.journal().record_named(
            self.id,
            &self.name,
            EventKind::Release,
            Some("device"),
        );
    }
}

/// A device (`struct device`). Cloning takes a reference.
///
/// # Invariants
///
/// * At most one driver is bound at a time; probe and remove of one device
///   never overlap (the device lock).
/// * A deleted device is never bound again.
/// * The release callback runs once, on the last reference.
#[derive(Clone)]
pub struct Device {
    pub(crate) inner: Arc<DeviceInner>,
}

impl std::fmt::Debug for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Device")
            .field("name", &self.inner.name)
            .field("bus", &self.inner.bus)
            .field("driver", &self.driver_name())
            .finish()
    }
}

/// A weak reference to a device.
#[derive(Clone, Default)]
pub struct WeakDevice {
    inner: Weak<DeviceInner>,
}

impl std::fmt::Debug for WeakDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WeakDevice(alive={})", self.inner.strong_count() > 0)
    }
}

impl WeakDevice {
    /// The device, unless it was released.
    pub fn upgrade(&self) -> Option<Device> {
        self.inner.upgrade().map(|inner| Device { inner })
    }
}

impl Device {
    /// `dev_get_drvdata`: runs `f` on the bound driver's data (its probe's
    /// result, a `T`), from the end of probe until unbind takes it before
    /// `remove()`. `None` when no driver is bound or its data is not a `T`.
    /// How a driver's handle finds a binding's media device and nodes without
    /// keeping its own copy.
    pub fn with_drvdata<T: 'static, R>(&self, f: impl FnOnce(&T) -> R) -> Option<R> {
        let b = self.inner.binding.lock().clone()?;
        b.with_data(f)
    }

    /// The id this device has in the monitor's journal and reports.
    pub fn id(&self) -> u64 {
        self.inner.id
    }
    /// Device name (`vimc.0`, `1-1`, `1-1:1.0`, `0-0036`).
    pub fn name(&self) -> &str {
        &self.inner.name
    }
    /// The bus the device sits on.
    pub fn bus(&self) -> BusKind {
        self.inner.bus
    }
    /// Match string (`platform:vimc`, `usb:v2040p7200ic01in00`, `i2c:ov5640`).
    pub fn modalias(&self) -> &str {
        &self.inner.modalias
    }
    /// Parent device (the USB device of an interface).
    pub fn parent(&self) -> Option<&Device> {
        self.inner.parent.as_ref()
    }
    /// The simulated hardware (shared by the interfaces of a USB device).
    pub fn hardware(&self) -> &Hardware {
        &self.inner.hw
    }
    /// A property given at creation (platform data).
    pub fn property(&self, key: &str) -> Option<&str> {
        self.inner.props.get(key).map(String::as_str)
    }
    /// Children still alive (interfaces of a USB device).
    pub fn children(&self) -> Vec<Device> {
        self.inner
            .children
            .lock()
            .iter()
            .filter_map(WeakDevice::upgrade)
            .collect()
    }
    /// Name of the bound driver.
    pub fn driver_name(&self) -> Option<String> {
        self.inner
            .binding
            .lock()
            .as_ref()
            .map(|b| b.driver_name().to_owned())
    }
    /// Whether a driver is bound (or probing / unbinding).
    pub fn is_bound(&self) -> bool {
        self.inner.binding.lock().is_some()
    }
    /// USB `authorized`: whether the device's interfaces exist (see
    /// [`Kernel::usb_authorize`]). Always true for other devices.
    pub fn is_authorized(&self) -> bool {
        self.inner.authorized.load(Ordering::Acquire)
    }
    /// Whether the device was deleted (hot-unplugged).
    pub fn is_deleted(&self) -> bool {
        self.inner.deleted.load(Ordering::Acquire)
    }
    /// The kernel, if it still exists.
    pub fn kernel(&self) -> Option<Kernel> {
        self.inner.kernel.upgrade().map(|inner| Kernel { inner })
    }
    /// A weak reference.
    pub fn downgrade(&self) -> WeakDevice {
        WeakDevice {
            inner: Arc::downgrade(&self.inner),
        }
    }
    /// Strong references right now.
    pub fn refs(&self) -> usize {
        Arc::strong_count(&self.inner)
    }
    /// Whether two handles name the same device.
    pub fn ptr_eq(a: &Device, b: &Device) -> bool {
        Arc::ptr_eq(&a.inner, &b.inner)
    }
    /// Sets the release callback (`device.release`), run on the last reference.
    pub fn set_release(&self, f: impl FnOnce() + Send + 'static) {
        *self.inner.release.lock() = Some(Box::new(f));
    }
    /// The gate of the current binding (device-level accesses: IRQ handlers,
    /// work, other drivers), if bound.
    pub fn binding_gate(&self) -> Option<devlife::Gate> {
        self.inner.binding.lock().as_ref().map(|b| b.gate().clone())
    }
}

/// How to create a device ([`Kernel::add_device`]).
#[derive(Clone, Debug)]
#[must_use]
pub struct DeviceSpec {
    pub(crate) name: String,
    pub(crate) bus: BusKind,
    pub(crate) modalias: String,
    pub(crate) parent: Option<Device>,
    pub(crate) regs: usize,
    pub(crate) irq: bool,
    pub(crate) props: BTreeMap<String, String>,
    pub(crate) latency: Option<std::time::Duration>,
    /// The interfaces of a USB device (re-created when it is authorized again).
    pub(crate) usb_interfaces: Vec<UsbInterfaceSpec>,
}

impl DeviceSpec {
    /// A platform device `name.id` matching drivers of `platform:name`.
    pub fn platform(name: &str, id: u32) -> Self {
        Self {
            name: format!("{name}.{id}"),
            bus: BusKind::Platform,
            modalias: format!("platform:{name}"),
            parent: None,
            regs: 64,
            irq: true,
            props: BTreeMap::new(),
            latency: None,
            usb_interfaces: Vec::new(),
        }
    }

    /// A USB device on port `port` (`"1-1"`); add interfaces with
    /// [`Kernel::add_usb_device`].
    pub fn usb(port: &str, vid: u16, pid: u16) -> Self {
        Self {
            name: port.to_owned(),
            bus: BusKind::Usb,
            modalias: format!("usb:v{vid:04X}p{pid:04X}"),
            parent: None,
            regs: 64,
            irq: false,
            props: BTreeMap::from([
                ("idVendor".to_owned(), format!("{vid:04x}")),
                ("idProduct".to_owned(), format!("{pid:04x}")),
            ]),
            latency: None,
            usb_interfaces: Vec::new(),
        }
    }

    /// An I2C device at `addr` on adapter `adapter`, matching `i2c:name`.
    pub fn i2c(adapter: u32, addr: u16, name: &str) -> Self {
        Self {
            name: format!("{adapter}-{addr:04x}"),
            bus: BusKind::I2c,
            modalias: format!("i2c:{name}"),
            parent: None,
            regs: 64,
            irq: false,
            props: BTreeMap::new(),
            latency: None,
            usb_interfaces: Vec::new(),
        }
    }

    /// Number of 32-bit registers of the hardware.
    pub fn regs(mut self, n: usize) -> Self {
        self.regs = n;
        self
    }
    /// Whether the hardware has an interrupt line.
    pub fn irq(mut self, yes: bool) -> Self {
        self.irq = yes;
        self
    }
    /// A platform-data property.
    pub fn property(mut self, k: &str, v: &str) -> Self {
        self.props.insert(k.to_owned(), v.to_owned());
        self
    }
    /// Access latency of the hardware (default: the kernel's).
    pub fn latency(mut self, d: std::time::Duration) -> Self {
        self.latency = Some(d);
        self
    }
    /// Makes `p` the parent device (the child holds a reference to it).
    pub fn parent(mut self, p: &Device) -> Self {
        self.parent = Some(p.clone());
        self
    }
}

/// One interface of a USB device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UsbInterfaceSpec {
    /// `bInterfaceClass` (0x01 audio, 0x0e video, 0xff vendor).
    pub class: u8,
    /// `bInterfaceSubClass`.
    pub subclass: u8,
}

/// Whether `pattern` (with `*` wildcards) matches `s`.
pub fn glob_match(pattern: &str, s: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = s.chars().collect();
    let (mut pi, mut ti) = (0usize, 0usize);
    let (mut star, mut mark) = (None::<usize>, 0usize);
    while ti < t.len() {
        if pi < p.len() && p[pi] != '*' && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(sp) = star {
            pi = sp + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

impl DeviceInner {
    pub(crate) fn new(
        spec: &DeviceSpec,
        hw: Hardware,
        owns_hw: bool,
        shared: &Arc<Shared>,
        kernel: Weak<KernelInner>,
    ) -> Arc<Self> {
        let id = shared.monitor.next_id();
        shared
            .monitor
            .journal()
            .record_named(id, &spec.name, EventKind::Alloc, Some("device"));
        Arc::new(Self {
            id,
            name: spec.name.clone(),
            bus: spec.bus,
            modalias: spec.modalias.clone(),
            parent: spec.parent.clone(),
            hw,
            owns_hw,
            props: spec.props.clone(),
            _live: shared.monitor.live("device"),
            shared: shared.clone(),
            kernel,
            bind_lock: Mutex::new(()),
            binding: Mutex::new(None),
            deleted: AtomicBool::new(false),
            authorized: AtomicBool::new(true),
            usb_interfaces: spec.usb_interfaces.clone(),
            children: Mutex::new(Vec::new()),
            release: Mutex::new(None),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob() {
        assert!(glob_match("platform:vimc", "platform:vimc"));
        assert!(!glob_match("platform:vimc", "platform:vimc2"));
        assert!(glob_match("usb:v2040p7200*", "usb:v2040p7200ic01in00"));
        assert!(glob_match("usb:v*ic01*", "usb:v2040p7200ic01in01"));
        assert!(!glob_match("usb:v*ic0e*", "usb:v2040p7200ic01in01"));
        assert!(glob_match("*", ""));
        assert!(!glob_match("a", ""));
    }
}
