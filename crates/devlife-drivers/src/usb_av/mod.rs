//! usb-av: a USB audio/video device with two drivers sharing one media device.
