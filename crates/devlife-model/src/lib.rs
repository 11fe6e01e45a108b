//! devlife-model (work in progress).
