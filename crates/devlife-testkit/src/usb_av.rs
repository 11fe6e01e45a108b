//! A kernel with the usb-av drivers registered and one device plugged, for
//! the `usb_av_*` tests.

pub use crate::prelude::*;
use devlife_drivers::Style;
use devlife_drivers::usb_av::{self, UsbAv, UsbAvNodes};
use devlife_model::{Device, File, Kernel, OpenFlags};

/// A kernel with the usb-av drivers of one style and a device on port 1-1.
pub struct Rig {
    /// The kernel the drivers are registered in.
    pub k: Kernel,
    /// The drivers' registration.
    pub av: UsbAv,
    /// The plugged USB device.
    pub udev: Device,
}

impl Rig {
    /// The drivers of `style` and a device plugged on port 1-1.
    pub fn new(style: Style) -> Self {
        let k = Kernel::new();
        let av = usb_av::register(&k, style).expect("registering usb-av");
        let udev = av.plug("1-1").expect("plugging a usb-av device");
        Self { k, av, udev }
    }

    /// The device nodes of the plugged device.
    pub fn nodes(&self) -> UsbAvNodes {
        self.av.nodes(&self.udev)
    }

    fn open_node(&self, node: Option<String>, what: &str, flags: OpenFlags) -> File {
        let name = node.unwrap_or_else(|| panic!("no {what} node"));
        self.k
            .open(&name, flags)
            .unwrap_or_else(|e| panic!("opening {name}: {e:?}"))
    }

    /// Opens the video node read/write.
    pub fn open_video(&self) -> File {
        self.open_node(self.nodes().video, "video", OpenFlags::RDWR)
    }

    /// Opens the decoder's subdev node read/write.
    pub fn open_subdev(&self) -> File {
        self.open_node(self.nodes().subdev, "subdev", OpenFlags::RDWR)
    }

    /// Opens the shared media device node read/write.
    pub fn open_media(&self) -> File {
        self.open_node(self.nodes().media, "media", OpenFlags::RDWR)
    }

    /// Opens the PCM capture node read-only.
    pub fn open_pcm(&self) -> File {
        self.open_node(self.nodes().pcm, "pcm", OpenFlags::RDONLY)
    }

    /// The name of the video interface (`1-1:1.0`).
    pub fn video_iface(&self) -> String {
        format!("{}:1.0", self.udev.name())
    }

    /// The name of the audio interface (`1-1:1.1`).
    pub fn audio_iface(&self) -> String {
        format!("{}:1.1", self.udev.name())
    }

    /// Unbinds the video driver through sysfs.
    pub fn unbind_video(&self) {
        self.k
            .sysfs_unbind(self.av.video_driver(), &self.video_iface())
            .expect("unbinding the video driver");
    }

    /// Unbinds the audio driver through sysfs.
    pub fn unbind_audio(&self) {
        self.k
            .sysfs_unbind(self.av.audio_driver(), &self.audio_iface())
            .expect("unbinding the audio driver");
    }

    /// Binds the video driver through sysfs.
    pub fn bind_video(&self) {
        self.k
            .sysfs_bind(self.av.video_driver(), &self.video_iface())
            .expect("binding the video driver");
    }

    /// Binds the audio driver through sysfs.
    pub fn bind_audio(&self) {
        self.k
            .sysfs_bind(self.av.audio_driver(), &self.audio_iface())
            .expect("binding the audio driver");
    }

    /// The name of the video URB thread of the plugged device.
    pub fn video_urb(&self) -> String {
        usb_av::video_urb_thread(self.udev.name())
    }

    /// The name of the audio URB thread of the plugged device.
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
