//! The usb-av audio driver (snd-usb-audio-like): an audio capture entity in
//! the shared media device and a PCM capture node streaming samples through
//! `read()`.
//!
//! | file | what |
//! |---|---|
//! | `driver` | the driver: probe, remove |
//! | `legacy` | its legacy twin (`usbav-audio-legacy`) |
//! | `build` | the probe steps both share: the entity, the PCM interface |
//! | `state` | the driver state, the substream's states, the URB loop |
//! | `ops` | the PCM node's file operations |

mod build;
mod driver;
pub(crate) mod legacy;
mod ops;
mod state;

pub(crate) use driver::AudioDriver;
