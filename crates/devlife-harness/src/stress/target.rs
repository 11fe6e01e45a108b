//! Stress targets: what the engine needs to know about one driver.
//!
//! The engine is generic. A [`Target`] says how to register its driver(s)
//! and device(s) in a kernel; the resulting [`Instance`] says which nodes it
//! has right now, which kernel-side actions it supports ([`KernelOp`]) and
//! which calls are worth issuing on each of its nodes ([`NodeProfile`]).
//! Adding a driver to `devlife stress` is one implementation of the two
//! traits plus a line in [`all_targets`].

use super::targets;
use devlife_drivers::Style;
use devlife_media::mc::MediaDevice;
use devlife_model::{Device, Errno, FaultPoint, KResult, Kernel, MmapRequest, Node};
use rand::RngCore;
use serde::Serialize;
use std::sync::Arc;

/// A kernel-side action a kernel thread performs on a target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum KernelOp {
    /// `echo DEV > /sys/bus/*/drivers/DRV/unbind`.
    Unbind,
    /// `echo DEV > /sys/bus/*/drivers/DRV/bind`.
    Bind,
    /// The hardware disappears (USB cable pulled, device deleted).
    HotUnplug,
    /// The hardware comes back (a new device of the same name).
    Replug,
    /// `rmmod` (refused with `EBUSY` while a file of the module is open).
    Unload,
    /// `modprobe` after an unload: load the module, register its driver(s).
    Reload,
}

impl KernelOp {
    /// Every action.
    pub const ALL: [KernelOp; 6] = [
        KernelOp::Unbind,
        KernelOp::Bind,
        KernelOp::HotUnplug,
        KernelOp::Replug,
        KernelOp::Unload,
        KernelOp::Reload,
    ];

    /// The name used in summaries (`"unbind"`, `"hot-unplug"`, ...).
    pub fn name(self) -> &'static str {
        match self {
            KernelOp::Unbind => "unbind",
            KernelOp::Bind => "bind",
            KernelOp::HotUnplug => "hot-unplug",
            KernelOp::Replug => "replug",
            KernelOp::Unload => "module-unload",
            KernelOp::Reload => "module-reload",
        }
    }

    /// Whether a successful run of this action tears a binding down (an unplug
    /// whose latency the summary reports).
    pub fn is_unplug(self) -> bool {
        matches!(
            self,
            KernelOp::Unbind | KernelOp::HotUnplug | KernelOp::Unload
        )
    }

    /// Whether this action probes drivers (where injected faults bite).
    pub fn probes(self) -> bool {
        matches!(self, KernelOp::Bind | KernelOp::Replug | KernelOp::Reload)
    }
}

/// One ioctl worth issuing on a node, with its argument buffer.
#[derive(Clone, Debug)]
pub struct IoctlCall {
    /// Name for summaries (`"VIDIOC_QUERYCAP"`).
    pub name: &'static str,
    /// The ioctl number.
    pub cmd: u32,
    /// The argument as the caller passes it (copied for every call).
    pub arg: Vec<u8>,
}

impl IoctlCall {
    /// An ioctl with an argument buffer.
    pub fn new(name: &'static str, cmd: u32, arg: Vec<u8>) -> Self {
        Self { name, cmd, arg }
    }
}

/// What userspace threads do with one node.
///
/// # Invariants
///
/// `ioctls` and `sequences` may be empty (none is then issued);
/// `read_len == 0` means "do not read" and `write == None` "do not write".
#[derive(Clone, Debug, Default)]
pub struct NodeProfile {
    /// Ioctls worth issuing (chosen uniformly).
    pub ioctls: Vec<IoctlCall>,
    /// Sequences issued in order on one file, stopping at the first error
    /// (a capture session: `REQBUFS`, `QBUF`, `STREAMON`, `DQBUF`, ...).
    pub sequences: Vec<Vec<IoctlCall>>,
    /// Length of the buffer given to `read` (0: never read).
    pub read_len: usize,
    /// Bytes given to `write`, if the node is written to.
    pub write: Option<Vec<u8>>,
    /// What `mmap` asks for, if the node is mapped.
    pub mmap: Option<MmapRequest>,
}

/// One driver (or group of drivers sharing a device) that can be stressed.
pub trait Target: Send + Sync {
    /// Name used by `--driver` and in summaries (`"testdrv"`, `"vimc"`).
    fn name(&self) -> &'static str;

    /// One line for listings.
    fn description(&self) -> &'static str;

    /// Loads the module(s), registers the driver(s) in `style` and adds the
    /// device(s), which bind. A probe failure (an injected fault) leaves a
    /// device unbound and is not an error here; registration errors are.
    fn register(&self, k: &Kernel, style: Style) -> KResult<Box<dyn Instance>>;

    /// The fault points the driver's probe and registration are expected to
    /// reach (the fault sweep reports those never hit).
    fn fault_points(&self) -> &'static [FaultPoint];
}

/// A target registered in one kernel.
///
/// An instance finds its devices, nodes and modules by name in the kernel
/// each time, as userspace and sysfs would, so an action racing with another
/// sees what a real one would (`ENODEV`, `EBUSY`, `EEXIST`). It may hold
/// driver-level handles (an allocator shared by its drivers); dropping it
/// drops them.
pub trait Instance: Send + Sync {
    /// The nodes of this instance registered right now.
    fn nodes(&self) -> Vec<Node>;

    /// The kernel-side actions this instance supports.
    fn kernel_ops(&self) -> &'static [KernelOp];

    /// Performs `op` (on a device or module chosen with `rng` when there are
    /// several). Returns the errno the action failed with, like the sysfs
    /// write or syscall would.
    fn perform(&self, op: KernelOp, rng: &mut dyn RngCore) -> KResult<()>;

    /// What to do with `node` (one of [`nodes`](Self::nodes)). Profiles are
    /// built once and shared: a userspace thread asks for one at every open.
    fn profile(&self, node: &Node) -> Arc<NodeProfile>;

    /// The media device of the bound instance, if the driver has one
    /// (`devlife topology`).
    fn media_device(&self) -> Option<MediaDevice> {
        None
    }

    /// Whether every device of this instance is bound.
    fn fully_bound(&self) -> bool;

    /// What an application does once the driver (re)appeared, if anything
    /// (vimc: set matching formats so that its captures can stream). The
    /// engine calls it after registration; instances call it after their own
    /// successful bind, replug and reload. It may race with an unbind.
    fn settle(&self) {}

    /// Brings everything back: reloads the modules, re-adds the devices and
    /// binds every unbound one (used after injected failures).
    fn restore(&self);

    /// Names of the top-level devices this instance plugs (`vimc.0`, the
    /// USB ports `1-1`, `2-1`), whether present right now or not.
    fn device_names(&self) -> Vec<String> {
        Vec::new()
    }

    /// Plugs the device `name` (one of [`device_names`](Self::device_names))
    /// back after a hot-unplug: the cable goes back in, or the platform
    /// device is registered again, and matching drivers probe. `ENODEV` if
    /// `name` is not one of this instance's devices, `EEXIST` if it is
    /// present.
    fn plug_device(&self, name: &str) -> KResult<()> {
        let _ = name;
        Err(Errno::ENODEV)
    }

    /// Names of the modules this instance loads, whether loaded right now
    /// or not.
    fn module_names(&self) -> Vec<&'static str> {
        Vec::new()
    }

    /// `rmmod NAME` with what the module's exit function does besides
    /// unregistering its drivers (vimc removes its platform device).
    /// `ENOENT` if `name` is not one of this instance's modules or is not
    /// loaded, `EBUSY` while a file of the module is open.
    fn unload_module(&self, name: &str) -> KResult<()> {
        let _ = name;
        Err(Errno::ENOENT)
    }

    /// `modprobe NAME` after an unload: loads the module and registers its
    /// driver(s), which bind to the matching devices. `ENOENT` if `name`
    /// is not one of this instance's modules, `EEXIST` if it is loaded.
    fn load_module(&self, name: &str) -> KResult<()> {
        let _ = name;
        Err(Errno::ENOENT)
    }
}

/// Every target, in summary order.
pub fn all_targets() -> Vec<Arc<dyn Target>> {
    targets::all()
}

/// The target named `name`.
pub fn target(name: &str) -> Option<Arc<dyn Target>> {
    all_targets().into_iter().find(|t| t.name() == name)
}

/// Names of every target.
pub fn target_names() -> Vec<&'static str> {
    all_targets().iter().map(|t| t.name()).collect()
}

/// The nodes whose parent device (or one of its ancestors) satisfies `pred`.
pub fn nodes_of(k: &Kernel, pred: impl Fn(&Device) -> bool) -> Vec<Node> {
    k.nodes()
        .into_iter()
        .filter(|n| {
            let mut d = n.parent();
            while let Some(dev) = d {
                if pred(&dev) {
                    return true;
                }
                d = dev.parent().cloned();
            }
            false
        })
        .collect()
}

/// `sysfs_unbind(driver, device)` with the driver found from the device's
/// current binding (`ENODEV` if unbound or unknown).
pub fn unbind_device(k: &Kernel, device: &str) -> KResult<()> {
    let dev = k.device(device).ok_or(Errno::ENODEV)?;
    let drv = dev.driver_name().ok_or(Errno::ENODEV)?;
    drop(dev);
    k.sysfs_unbind(&drv, device)
}

/// Hot-unplugs the device named `device` (`ENODEV` if it is gone already).
pub fn hot_unplug_device(k: &Kernel, device: &str) -> KResult<()> {
    let dev = k.device(device).ok_or(Errno::ENODEV)?;
    k.hot_unplug(&dev)
}
