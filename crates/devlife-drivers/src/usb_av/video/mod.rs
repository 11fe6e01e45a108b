//! The usb-av video driver (au0828-like): a decoder subdev and a capture
//! node fed by a URB completion thread, and the source and entity-notify
//! hooks it installs on the shared media device.
//!
//! | file | what |
//! |---|---|
//! | `driver` | the driver: probe, remove |
//! | `legacy` | its legacy twin (`usbav-video-legacy`) |
//! | `build` | the probe steps both share (decoder, capture node, notify) |
//! | `device` | the driver state and the URB loop |
//! | `capture` | the capture node's V4L2 operations |
//! | `decoder` | the decoder subdev's operations |
//! | `source` | the source hooks and the audio link |

mod build;
mod capture;
mod decoder;
mod device;
mod driver;
pub(crate) mod legacy;
mod source;

pub(crate) use driver::VideoDriver;
