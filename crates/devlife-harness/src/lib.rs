//! devlife-harness (work in progress).
