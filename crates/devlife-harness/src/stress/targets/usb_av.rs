//! usb-av (`devlife_drivers::usb_av`) as a stress target: a USB device with
//! a video and an audio driver sharing one media device through the Media
//! Device Allocator (au0828 + snd-usb-audio).
//!
//! Two devices are plugged (ports `1-1` and `2-1`), each with four nodes
//! (`/dev/mediaN`, a capture `videoN`, the decoder `v4l-subdevN`, a PCM
//! capture `pcmCnD0c`). Kernel actions: sysfs unbind/bind of either
//! interface's driver, hot-unplug and replug of a whole device, `rmmod` of
//! either module, and reloading both modules (the drivers share their
//! allocator, so they are registered together).

use super::common::media_profile;
use crate::stress::target::{
    Instance, KernelOp, NodeProfile, Target, hot_unplug_device, nodes_of, unbind_device,
};
use devlife_drivers::Style;
use devlife_drivers::usb_av::{self, UsbAv};
use devlife_media::mc::MediaDevice;
use devlife_model::{Errno, FaultPoint, KResult, Kernel, Node};
use parking_lot::Mutex;
use rand::{Rng, RngCore};
use std::sync::Arc;

/// The USB ports of the plugged devices.
const PORTS: [&str; 2] = ["1-1", "2-1"];

/// The `usb-av` target.
#[derive(Debug, Default, Clone, Copy)]
pub struct UsbAvTarget;

/// usb-av registered in one kernel.
#[derive(Debug)]
pub struct UsbAvInstance {
    kernel: Kernel,
    style: Style,
    /// The current registration (replaced when the modules are reloaded).
    av: Mutex<Option<UsbAv>>,
}

impl Target for UsbAvTarget {
    fn name(&self) -> &'static str {
        "usb-av"
    }

    fn description(&self) -> &'static str {
        "USB video + audio drivers sharing one media device (au0828 + snd-usb-audio), 2 devices"
    }

    fn register(&self, k: &Kernel, style: Style) -> KResult<Box<dyn Instance>> {
        let av = usb_av::register(k, style)?;
        for p in PORTS {
            av.plug(p)?;
        }
        Ok(Box::new(UsbAvInstance {
            kernel: k.clone(),
            style,
            av: Mutex::new(Some(av)),
        }))
    }

    fn fault_points(&self) -> &'static [FaultPoint] {
        &[
            FaultPoint::Alloc,
            FaultPoint::IoRemap,
            FaultPoint::MinorAlloc,
            FaultPoint::NodeRegister,
            FaultPoint::DriverRegister,
            FaultPoint::ModuleLoad,
        ]
    }
}

impl UsbAvInstance {
    fn interface(port: &str, video: bool) -> String {
        format!("{port}:1.{}", if video { 0 } else { 1 })
    }

    fn driver(&self, video: bool) -> &'static str {
        if video {
            usb_av::video_driver_name(self.style)
        } else {
            usb_av::audio_driver_name(self.style)
        }
    }

    fn reload(&self) -> KResult<()> {
        let k = &self.kernel;
        let (v, a) = (self.driver(true), self.driver(false));
        if k.module(v).is_some() && k.module(a).is_some() {
            return Err(Errno::EEXIST);
        }
        // The two drivers share their allocator: the one still loaded goes
        // first, then both come back together.
        for m in [v, a] {
            if k.module(m).is_some() {
                k.unload_module(m)?;
            }
        }
        let av = usb_av::register(k, self.style)?;
        *self.av.lock() = Some(av);
        Ok(())
    }
}

impl Instance for UsbAvInstance {
    fn nodes(&self) -> Vec<Node> {
        nodes_of(&self.kernel, |d| PORTS.contains(&d.name()))
    }

    fn kernel_ops(&self) -> &'static [KernelOp] {
        &KernelOp::ALL
    }

    fn perform(&self, op: KernelOp, rng: &mut dyn RngCore) -> KResult<()> {
        let k = &self.kernel;
        let port = PORTS[rng.random_range(0..PORTS.len())];
        let video = rng.random_bool(0.5);
        match op {
            KernelOp::Unbind => unbind_device(k, &Self::interface(port, video)),
            KernelOp::Bind => k.sysfs_bind(self.driver(video), &Self::interface(port, video)),
            KernelOp::HotUnplug => hot_unplug_device(k, port),
            KernelOp::Replug => {
                if k.device(port).is_some() {
                    return Err(Errno::EEXIST);
                }
                usb_av::plug(k, port).map(drop)
            }
            KernelOp::Unload => k.unload_module(self.driver(video)),
            KernelOp::Reload => self.reload(),
        }
    }

    fn profile(&self, node: &Node) -> Arc<NodeProfile> {
        media_profile(node.kind())
    }

    fn media_device(&self) -> Option<MediaDevice> {
        let av = self.av.lock();
        let av = av.as_ref()?;
        PORTS
            .iter()
            .filter_map(|p| self.kernel.device(p))
            .find_map(|d| av.media_device(&d))
    }

    fn fully_bound(&self) -> bool {
        PORTS.iter().all(|p| {
            [true, false].iter().all(|v| {
                self.kernel
                    .device(&Self::interface(p, *v))
                    .is_some_and(|d| d.is_bound())
            })
        })
    }

    fn device_names(&self) -> Vec<String> {
        PORTS.iter().map(|p| (*p).to_owned()).collect()
    }

    fn plug_device(&self, name: &str) -> KResult<()> {
        if !PORTS.contains(&name) {
            return Err(Errno::ENODEV);
        }
        if self.kernel.device(name).is_some() {
            return Err(Errno::EEXIST);
        }
        usb_av::plug(&self.kernel, name).map(drop)
    }

    fn module_names(&self) -> Vec<&'static str> {
        vec![self.driver(true), self.driver(false)]
    }

    fn unload_module(&self, name: &str) -> KResult<()> {
        if !self.module_names().contains(&name) {
            return Err(Errno::ENOENT);
        }
        self.kernel.unload_module(name)
    }

    /// The two drivers share one allocator, so they are registered together:
    /// loading either module unloads the other if it is still loaded, then
    /// loads both.
    fn load_module(&self, name: &str) -> KResult<()> {
        if !self.module_names().contains(&name) {
            return Err(Errno::ENOENT);
        }
        if self.kernel.module(name).is_some() {
            return Err(Errno::EEXIST);
        }
        self.reload()
    }

    fn restore(&self) {
        let k = &self.kernel;
        if k.module(self.driver(true)).is_none() || k.module(self.driver(false)).is_none() {
            let _ = self.reload();
        }
        for p in PORTS {
            if k.device(p).is_none() {
                let _ = usb_av::plug(k, p);
            }
            for v in [true, false] {
                if let Some(d) = k.device(&Self::interface(p, v)) {
                    k.attach(&d);
                }
            }
        }
    }
}
