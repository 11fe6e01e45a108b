//! isp (`devlife_drivers::isp`) as a stress target: a platform,
//! interrupt-driven image signal processor (omap3isp / rcar-vin style) with
//! a sensor → CSI2 → CCDC → resizer → capture pipeline, frames completed by
//! interrupt and written by DMA into the queued buffers.
//!
//! Two devices (`devlife-isp.0` and `.1`), each with a media node, four
//! subdev nodes and a capture node. Kernel actions: sysfs unbind/bind,
//! removal and re-adding of a device, `rmmod` and reloading the module.

use super::common::media_profile;
use crate::stress::target::{Instance, KernelOp, NodeProfile, Target, hot_unplug_device, nodes_of};
use devlife_drivers::Style;
use devlife_drivers::isp::{self, Isp};
use devlife_media::mc::MediaDevice;
use devlife_model::{Errno, FaultPoint, KResult, Kernel, Node};
use parking_lot::Mutex;
use rand::{Rng, RngCore};
use std::sync::Arc;

/// Number of devices.
const DEVICES: u32 = 2;

fn device_name(n: u32) -> String {
    format!("{}.{n}", isp::DEVICE_NAME)
}

/// The `isp` target.
#[derive(Debug, Default, Clone, Copy)]
pub struct IspTarget;

/// isp registered in one kernel.
#[derive(Debug)]
pub struct IspInstance {
    kernel: Kernel,
    style: Style,
    /// The current registration (replaced when the module is reloaded).
    isp: Mutex<Option<Isp>>,
}

impl Target for IspTarget {
    fn name(&self) -> &'static str {
        "isp"
    }

    fn description(&self) -> &'static str {
        "an IRQ-driven platform ISP: sensor/CSI2/CCDC/resizer subdevs, DMA capture (2 devices)"
    }

    fn register(&self, k: &Kernel, style: Style) -> KResult<Box<dyn Instance>> {
        let i = isp::register(k, style)?;
        for n in 0..DEVICES {
            i.plug(n)?;
        }
        Ok(Box::new(IspInstance {
            kernel: k.clone(),
            style,
            isp: Mutex::new(Some(i)),
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

impl IspInstance {
    fn reload(&self) -> KResult<()> {
        if self.kernel.module(isp::driver_name(self.style)).is_some() {
            return Err(Errno::EEXIST);
        }
        let i = isp::register(&self.kernel, self.style)?;
        *self.isp.lock() = Some(i);
        Ok(())
    }

    fn plug(&self, n: u32) -> KResult<()> {
        if self.kernel.device(&device_name(n)).is_some() {
            return Err(Errno::EEXIST);
        }
        let g = self.isp.lock();
        g.as_ref().ok_or(Errno::ENODEV)?.plug(n).map(drop)
    }
}

impl Instance for IspInstance {
    fn nodes(&self) -> Vec<Node> {
        let prefix = format!("{}.", isp::DEVICE_NAME);
        nodes_of(&self.kernel, |d| d.name().starts_with(&prefix))
    }

    fn kernel_ops(&self) -> &'static [KernelOp] {
        &KernelOp::ALL
    }

    fn perform(&self, op: KernelOp, rng: &mut dyn RngCore) -> KResult<()> {
        let k = &self.kernel;
        let n = rng.random_range(0..DEVICES);
        let dev = device_name(n);
        let drv = isp::driver_name(self.style);
        match op {
            KernelOp::Unbind => k.sysfs_unbind(drv, &dev),
            KernelOp::Bind => k.sysfs_bind(drv, &dev),
            KernelOp::HotUnplug => hot_unplug_device(k, &dev),
            KernelOp::Replug => self.plug(n),
            KernelOp::Unload => k.unload_module(drv),
            KernelOp::Reload => self.reload(),
        }
    }

    fn profile(&self, node: &Node) -> Arc<NodeProfile> {
        media_profile(node.kind())
    }

    fn media_device(&self) -> Option<MediaDevice> {
        let g = self.isp.lock();
        let i = g.as_ref()?;
        (0..DEVICES)
            .filter_map(|n| self.kernel.device(&device_name(n)))
            .find_map(|d| i.media_device(&d))
    }

    fn fully_bound(&self) -> bool {
        (0..DEVICES).all(|n| {
            self.kernel
                .device(&device_name(n))
                .is_some_and(|d| d.is_bound())
        })
    }

    fn device_names(&self) -> Vec<String> {
        (0..DEVICES).map(device_name).collect()
    }

    fn plug_device(&self, name: &str) -> KResult<()> {
        let n = (0..DEVICES)
            .find(|n| device_name(*n) == name)
            .ok_or(Errno::ENODEV)?;
        self.plug(n)
    }

    fn module_names(&self) -> Vec<&'static str> {
        vec![isp::driver_name(self.style)]
    }

    fn unload_module(&self, name: &str) -> KResult<()> {
        if name != isp::driver_name(self.style) {
            return Err(Errno::ENOENT);
        }
        self.kernel.unload_module(name)
    }

    fn load_module(&self, name: &str) -> KResult<()> {
        if name != isp::driver_name(self.style) {
            return Err(Errno::ENOENT);
        }
        self.reload()
    }

    fn restore(&self) {
        if self.kernel.module(isp::driver_name(self.style)).is_none() {
            let _ = self.reload();
        }
        for n in 0..DEVICES {
            match self.kernel.device(&device_name(n)) {
                Some(d) => {
                    self.kernel.attach(&d);
                }
                None => {
                    let _ = self.plug(n);
                }
            }
        }
    }
}
