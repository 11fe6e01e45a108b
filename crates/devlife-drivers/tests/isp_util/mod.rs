//! Shared rig of the isp tests.
#![allow(dead_code)] // each test binary uses a different part

#[path = "../usb_av_util/v4l2.rs"]
pub mod v4l2;

use devlife_drivers::Style;
use devlife_drivers::isp::{self, Isp, IspNodes, IspOptions};
use devlife_model::{Device, File, Kernel, OpenFlags};
pub use v4l2::*;

/// A kernel with the ISP driver of one style (manual frames) and device 0.
pub struct Rig {
    pub k: Kernel,
    pub isp: Isp,
    pub dev: Device,
}

impl Rig {
    pub fn new(style: Style) -> Self {
        let k = Kernel::new();
        let isp = isp::register_with(&k, style, IspOptions::manual()).unwrap();
        let dev = isp.plug(0).unwrap();
        Self { k, isp, dev }
    }

    pub fn nodes(&self) -> IspNodes {
        self.isp.nodes(&self.dev)
    }

    pub fn open_video(&self) -> File {
        self.k
            .open(&self.nodes().video.expect("no video node"), OpenFlags::RDWR)
            .unwrap()
    }

    pub fn open_subdev(&self, entity: &str) -> File {
        self.k
            .open(
                &self
                    .isp
                    .subdev_node(&self.dev, entity)
                    .expect("no subdev node"),
                OpenFlags::RDWR,
            )
            .unwrap()
    }

    pub fn open_media(&self) -> File {
        self.k
            .open(&self.nodes().media.expect("no media node"), OpenFlags::RDWR)
            .unwrap()
    }

    /// One frame from the hardware, handled by the driver's IRQ handler.
    pub fn frame(&self) -> bool {
        let r = self.isp.vsync(&self.dev);
        assert!(self.isp.wait_irq_idle(&self.dev, PATIENCE));
        r
    }

    pub fn unbind(&self) {
        self.k
            .sysfs_unbind(self.isp.driver(), self.dev.name())
            .unwrap();
    }

    pub fn bind(&self) {
        self.k
            .sysfs_bind(self.isp.driver(), self.dev.name())
            .unwrap();
    }

    /// Tears everything down and checks that every object was released.
    pub fn finish(self) {
        self.k.shutdown();
        let Rig { k, isp, dev } = self;
        drop(isp);
        drop(dev);
        no_leaks(&k);
    }
}
