//! devlife-fuse (work in progress).
