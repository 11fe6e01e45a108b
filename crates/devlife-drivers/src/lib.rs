//! devlife-drivers (work in progress).
