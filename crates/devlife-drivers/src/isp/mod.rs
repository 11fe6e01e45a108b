//! isp: a platform, IRQ-driven image signal processor.
