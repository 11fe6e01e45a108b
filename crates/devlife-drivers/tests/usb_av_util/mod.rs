//! Shared rig of the usb-av tests.
#![allow(dead_code)] // each test binary uses a different part

pub mod v4l2;

use devlife_drivers::Style;
use devlife_drivers::usb_av::{self, UsbAv, UsbAvNodes};
use devlife_model::{Device, File, Kernel, OpenFlags};
pub use v4l2::*;

/// A kernel with the usb-av drivers of one style and a device on port 1-1.
pub struct Rig {
    pub k: Kernel,
    pub av: UsbAv,
    pub udev: Device,
}

impl Rig {
    pub fn new(style: Style) -> Self {
        let k = Kernel::new();
        let av = usb_av::register(&k, style).unwrap();
        let udev = av.plug("1-1").unwrap();
        Self { k, av, udev }
    }

    pub fn nodes(&self) -> UsbAvNodes {
        self.av.nodes(&self.udev)
    }

    pub fn open_video(&self) -> File {
        self.k
            .open(&self.nodes().video.expect("no video node"), OpenFlags::RDWR)
            .unwrap()
    }

    pub fn open_subdev(&self) -> File {
        self.k
            .open(
                &self.nodes().subdev.expect("no subdev node"),
                OpenFlags::RDWR,
            )
            .unwrap()
    }

    pub fn open_media(&self) -> File {
        self.k
            .open(&self.nodes().media.expect("no media node"), OpenFlags::RDWR)
            .unwrap()
    }

    pub fn open_pcm(&self) -> File {
        self.k
            .open(&self.nodes().pcm.expect("no pcm node"), OpenFlags::RDONLY)
            .unwrap()
    }

    pub fn video_iface(&self) -> String {
        format!("{}:1.0", self.udev.name())
    }

    pub fn audio_iface(&self) -> String {
        format!("{}:1.1", self.udev.name())
    }

    pub fn unbind_video(&self) {
        self.k
            .sysfs_unbind(self.av.video_driver(), &self.video_iface())
            .unwrap();
    }

    pub fn unbind_audio(&self) {
        self.k
            .sysfs_unbind(self.av.audio_driver(), &self.audio_iface())
            .unwrap();
    }

    pub fn bind_video(&self) {
        self.k
            .sysfs_bind(self.av.video_driver(), &self.video_iface())
            .unwrap();
    }

    pub fn bind_audio(&self) {
        self.k
            .sysfs_bind(self.av.audio_driver(), &self.audio_iface())
            .unwrap();
    }

    pub fn video_urb(&self) -> String {
        usb_av::video_urb_thread(self.udev.name())
    }

    pub fn audio_urb(&self) -> String {
        usb_av::audio_urb_thread(self.udev.name())
    }

    /// Tears everything down and checks that every object was released.
    pub fn finish(self) {
        self.k.shutdown();
        let Rig { k, av, udev } = self;
        drop(av);
        drop(udev);
        no_leaks(&k);
    }
}
