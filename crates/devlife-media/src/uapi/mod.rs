//! `#[repr(C)]` mirrors of the Linux media uapi (x86_64 layouts) and ioctl numbers.
