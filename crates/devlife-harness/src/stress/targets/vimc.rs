//! vimc (`devlife_drivers::vimc`) as a stress target: the kernel's virtual
//! media controller with its exact topology (one media node, three capture
//! nodes, eight subdev nodes), streaming on a timer with a frame-done IRQ.
//!
//! Kernel actions go through the driver's [`VimcHandle`]: sysfs unbind and
//! bind, removal and re-adding of the platform device, `rmmod vimc` (which
//! also removes the device, as `vimc_exit` does) and loading it again.

use super::common::media_profile;
use crate::stress::target::{Instance, KernelOp, NodeProfile, Target, hot_unplug_device, nodes_of};
use devlife_drivers::Style;
use devlife_drivers::vimc::{self, VimcHandle, setup};
use devlife_media::mc::MediaDevice;
use devlife_model::{Errno, FaultPoint, KResult, Kernel, Node};
use parking_lot::Mutex;
use rand::RngCore;
use std::sync::Arc;

/// The `vimc` target.
#[derive(Debug, Default, Clone, Copy)]
pub struct VimcTarget;

/// vimc registered in one kernel.
#[derive(Debug)]
pub struct VimcInstance {
    kernel: Kernel,
    style: Style,
    /// The current registration (replaced when the module is reloaded).
    handle: Mutex<Option<VimcHandle>>,
}

impl Target for VimcTarget {
    fn name(&self) -> &'static str {
        "vimc"
    }

    fn description(&self) -> &'static str {
        "the virtual media controller: 11 entities, media + 3 capture + 8 subdev nodes, streaming"
    }

    fn register(&self, k: &Kernel, style: Style) -> KResult<Box<dyn Instance>> {
        let h = vimc::register(k, style)?;
        Ok(Box::new(VimcInstance {
            kernel: k.clone(),
            style,
            handle: Mutex::new(Some(h)),
        }))
    }

    fn fault_points(&self) -> &'static [FaultPoint] {
        &[
            FaultPoint::Alloc,
            FaultPoint::IoRemap,
            FaultPoint::IrqRequest,
            FaultPoint::MinorAlloc,
            FaultPoint::NodeRegister,
            FaultPoint::DriverRegister,
            FaultPoint::ModuleLoad,
        ]
    }
}

impl VimcInstance {
    /// Runs `f` on the current handle (replug, unload: actions that replace
    /// the device or the module; they are serialised by the lock).
    fn with<R>(&self, f: impl FnOnce(&VimcHandle) -> KResult<R>) -> KResult<R> {
        let h = self.handle.lock();
        f(h.as_ref().ok_or(Errno::ENODEV)?)
    }

    /// The platform device (`vimc.0`, `vimc-legacy.0`).
    fn device(&self) -> String {
        format!("{}.0", vimc::device_base_name(self.style))
    }

    fn reload(&self) -> KResult<()> {
        if self.kernel.module(vimc::module_name(self.style)).is_some() {
            return Err(Errno::EEXIST);
        }
        let h = vimc::register(&self.kernel, self.style)?;
        *self.handle.lock() = Some(h);
        Ok(())
    }

    fn device_prefix(&self) -> String {
        format!("{}.", vimc::device_base_name(self.style))
    }
}

impl Instance for VimcInstance {
    fn nodes(&self) -> Vec<Node> {
        let prefix = self.device_prefix();
        nodes_of(&self.kernel, |d| d.name().starts_with(&prefix))
    }

    fn kernel_ops(&self) -> &'static [KernelOp] {
        &KernelOp::ALL
    }

    fn perform(&self, op: KernelOp, _rng: &mut dyn RngCore) -> KResult<()> {
        let k = &self.kernel;
        let r = match op {
            // Through sysfs and the device table, as userspace would, so
            // that these race with each other and with the actions below.
            KernelOp::Unbind => k.sysfs_unbind(vimc::driver_name(self.style), &self.device()),
            KernelOp::Bind => k.sysfs_bind(vimc::driver_name(self.style), &self.device()),
            KernelOp::HotUnplug => hot_unplug_device(k, &self.device()),
            KernelOp::Replug => self.with(VimcHandle::replug),
            KernelOp::Unload => self.with(VimcHandle::unload),
            KernelOp::Reload => self.reload(),
        };
        if r.is_ok() && op.probes() {
            self.settle();
        }
        r
    }

    fn profile(&self, node: &Node) -> Arc<NodeProfile> {
        media_profile(node.kind())
    }

    fn media_device(&self) -> Option<MediaDevice> {
        self.handle.lock().as_ref()?.media_device()
    }

    /// Small matching formats on every pad (`media-ctl -V`, `v4l2-ctl -v`),
    /// so that every capture can stream and the streamer races with unbind
    /// too. Errors (an unbind racing with it) are ignored.
    fn settle(&self) {
        let nodes = self.handle.lock().as_ref().and_then(VimcHandle::nodes);
        if let Some(n) = nodes {
            let _ = setup::configure(&self.kernel, &n, &setup::StreamSetup::small(64, 48));
        }
    }

    fn fully_bound(&self) -> bool {
        self.kernel.module(vimc::module_name(self.style)).is_some()
            && self
                .handle
                .lock()
                .as_ref()
                .is_some_and(|h| h.is_bound() && !h.device().is_deleted())
    }

    fn device_names(&self) -> Vec<String> {
        vec![self.device()]
    }

    fn plug_device(&self, name: &str) -> KResult<()> {
        if name != self.device() {
            return Err(Errno::ENODEV);
        }
        self.with(|h| match h.replug() {
            Err(Errno::EBUSY) => Err(Errno::EEXIST),
            r => r,
        })
    }

    fn module_names(&self) -> Vec<&'static str> {
        vec![vimc::module_name(self.style)]
    }

    fn unload_module(&self, name: &str) -> KResult<()> {
        if name != vimc::module_name(self.style) || self.kernel.module(name).is_none() {
            return Err(Errno::ENOENT);
        }
        self.with(VimcHandle::unload)
    }

    fn load_module(&self, name: &str) -> KResult<()> {
        if name != vimc::module_name(self.style) {
            return Err(Errno::ENOENT);
        }
        self.reload()
    }

    fn restore(&self) {
        if self.kernel.module(vimc::module_name(self.style)).is_none() {
            let _ = self.reload();
        }
        let _ = self.with(|h| {
            if h.device().is_deleted() {
                h.replug()
            } else if !h.is_bound() {
                h.bind()
            } else {
                Ok(())
            }
        });
    }
}
