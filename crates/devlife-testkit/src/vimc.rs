//! A kernel with vimc registered and bound, for the `vimc_*` tests.

pub use crate::prelude::*;
use devlife::check::{Report, ReportKind};
use devlife_drivers::Style;
use devlife_drivers::vimc::setup::{StreamSetup, configure};
use devlife_drivers::vimc::{self, VimcConfig, VimcHandle, VimcNodes};
use devlife_model::{File, Kernel, OpenFlags};
use std::time::Duration;

/// A streamer period short enough for fast tests.
pub const FAST: Duration = Duration::from_millis(1);

/// A streamer period no test outlives: queues stay empty.
pub const NEVER: Duration = Duration::from_secs(24 * 3600);

/// A kernel with vimc registered and bound.
///
/// Dropping it shuts the kernel down (also when an assertion failed), so no
/// bound device outlives the test.
pub struct Rig {
    /// The kernel vimc is registered in.
    pub k: Kernel,
    /// vimc's registration in `k`.
    pub v: VimcHandle,
}

impl Rig {
    /// vimc of `style`, its streamer producing a frame every `interval`.
    pub fn new(style: Style, interval: Duration) -> Self {
        let k = Kernel::new();
        let v = vimc::register_with(&k, VimcConfig::new(style).frame_interval(interval))
            .expect("registering vimc");
        assert!(v.is_bound(), "vimc did not bind");
        Self { k, v }
    }

    /// The device nodes of the bound device (panics if it is unbound).
    pub fn nodes(&self) -> VimcNodes {
        self.v.nodes().expect("vimc is not bound")
    }

    /// The node name of `entity`.
    pub fn path(&self, entity: &str) -> String {
        self.nodes()
            .path(entity)
            .unwrap_or_else(|| panic!("no node for {entity}"))
            .to_owned()
    }

    /// Opens the node of `entity` read/write.
    pub fn open(&self, entity: &str) -> File {
        self.k
            .open(&self.path(entity), OpenFlags::RDWR)
            .expect("opening a vimc node")
    }

    /// Opens the media device node read/write.
    pub fn open_media(&self) -> File {
        self.k
            .open(&self.nodes().media, OpenFlags::RDWR)
            .expect("opening vimc's media node")
    }

    /// Configures every capture to stream `w`x`h` SBGGR8 (RGB/YUV: RGB24).
    pub fn configure(&self, w: u32, h: u32) {
        configure(&self.k, &self.nodes(), &StreamSetup::small(w, h)).expect("configuring vimc");
    }

    /// Every checker report so far.
    pub fn reports(&self) -> Vec<Report> {
        reports(&self.k)
    }

    /// How many reports of `kind` were raised so far.
    pub fn count(&self, kind: ReportKind) -> usize {
        self.k.monitor().reports().count(kind)
    }

    /// How many objects of `kind` (a `devlife_media::kinds` name) were
    /// released in this kernel so far (only vimc makes them here).
    pub fn released(&self, kind: &str) -> u64 {
        released(&self.k, kind)
    }

    /// Asserts that no checker fired.
    pub fn assert_silent(&self) {
        let r = self.reports();
        assert!(r.is_empty(), "checker reports: {}", fmt_reports(&r));
    }

    /// Shuts the kernel down, drops the handle and checks that nothing is
    /// left alive.
    pub fn finish(self) {
        let k = self.k.clone();
        drop(self);
        no_leaks(&k);
    }
}

impl Drop for Rig {
    /// Also on a failed assertion: unbind everything before the kernel goes
    /// (dropping a kernel with a bound device frees IRQs from inside the
    /// kernel's own destructor).
    fn drop(&mut self) {
        self.k.shutdown();
    }
}
