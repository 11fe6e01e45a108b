//! A kernel with the ISP driver registered (frames on demand) and device 0
//! bound, for the `isp_*` tests.

pub use crate::prelude::*;
use devlife_drivers::Style;
use devlife_drivers::isp::{self, Isp, IspNodes, IspOptions};
use devlife_model::{Device, File, Kernel, OpenFlags};

/// A kernel with the ISP driver of one style (manual frames) and device 0.
pub struct Rig {
    /// The kernel the driver is registered in.
    pub k: Kernel,
    /// The driver's registration.
    pub isp: Isp,
    /// The platform device `devlife-isp.0`, bound at creation.
    pub dev: Device,
}

impl Rig {
    /// The driver of `style`, frames only on [`Rig::frame`], and device 0.
    pub fn new(style: Style) -> Self {
        let k = Kernel::new();
        let isp = isp::register_with(&k, style, IspOptions::manual()).expect("registering isp");
        let dev = isp.plug(0).expect("plugging isp device 0");
        Self { k, isp, dev }
    }

    /// The device nodes of device 0.
    pub fn nodes(&self) -> IspNodes {
        self.isp.nodes(&self.dev)
    }

    fn open_node(&self, node: Option<String>, what: &str) -> File {
        let name = node.unwrap_or_else(|| panic!("no {what} node"));
        self.k
            .open(&name, OpenFlags::RDWR)
            .unwrap_or_else(|e| panic!("opening {name}: {e:?}"))
    }

    /// Opens the capture node read/write.
    pub fn open_video(&self) -> File {
        self.open_node(self.nodes().video, "video")
    }

    /// Opens the subdev node of `entity` read/write.
    pub fn open_subdev(&self, entity: &str) -> File {
        self.open_node(self.isp.subdev_node(&self.dev, entity), entity)
    }

    /// Opens the media device node read/write.
    pub fn open_media(&self) -> File {
        self.open_node(self.nodes().media, "media")
    }

    /// One frame from the hardware, handled by the driver's IRQ handler:
    /// whether the hardware raised the interrupt.
    pub fn frame(&self) -> bool {
        let r = self.isp.vsync(&self.dev);
        assert!(self.isp.wait_irq_idle(&self.dev, PATIENCE));
        r
    }

    /// Unbinds the driver from device 0 through sysfs.
    pub fn unbind(&self) {
        self.k
            .sysfs_unbind(self.isp.driver(), self.dev.name())
            .expect("unbinding isp");
    }

    /// Binds the driver to device 0 through sysfs.
    pub fn bind(&self) {
        self.k
            .sysfs_bind(self.isp.driver(), self.dev.name())
            .expect("binding isp");
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
