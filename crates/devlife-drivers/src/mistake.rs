//! Driver-private mistakes a scenario can arm in a legacy twin
//! (`mistake NAME`), and the driver-private reference count they break.
//!
//! The framework owns the lifetimes of the objects it hands out, but a
//! driver still counts references of its own (a `kref` in its private
//! structure). The mistakes below are the ones real drivers made with such
//! counts; each is armed on a bound legacy twin and acts at its `remove()`.
//! The lock mistake uses the driver's [`CheckedMutex`](devlife::check::CheckedMutex),
//! whose lock order the checker follows.
//! The count lives in an instrumented allocation ([`devlife::check::Shadow`],
//! as the mutants' buffers do), so a put on freed memory is a
//! `use-after-free` report and the second release a `double-free` report.

use devlife::check::Shadow;
use devlife_model::{KResult, ProbeCtx};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A driver-private mistake (scenario `mistake NAME`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mistake {
    /// `extra-put`: `remove()` puts the private reference twice (the double
    /// `v4l2_device_put` of uvc and em28xx disconnect paths).
    ExtraPut,
    /// `refcount-reset`: `remove()` re-initialises a count that another
    /// holder took a reference on (a `kref_init` on a live kref), so the
    /// object is freed under that holder.
    RefcountReset,
    /// `lock-across-unregister`: `remove()` holds the driver lock while it
    /// unregisters the nodes whose open takes that lock (the
    /// `video_unregister_device` under the driver mutex of several syzbot
    /// deadlocks, e.g. em28xx's `dev->lock`).
    LockAcrossUnregister,
}

impl Mistake {
    /// Every mistake.
    pub const ALL: [Mistake; 3] = [
        Mistake::ExtraPut,
        Mistake::RefcountReset,
        Mistake::LockAcrossUnregister,
    ];

    /// The name in `mistake NAME`.
    pub fn name(self) -> &'static str {
        match self {
            Mistake::ExtraPut => "extra-put",
            Mistake::RefcountReset => "refcount-reset",
            Mistake::LockAcrossUnregister => "lock-across-unregister",
        }
    }

    /// The mistake called `name`.
    pub fn from_name(name: &str) -> Option<Mistake> {
        Self::ALL.into_iter().find(|m| m.name() == name)
    }
}

/// A driver-private reference count (`struct kref` in a driver structure):
/// the structure is freed when the count drops to zero.
///
/// # Invariants
///
/// The count is the number of holders that have not put their reference;
/// the allocation is freed by the put that takes it from one to zero. A put
/// of a count already at zero (a mistake) reads freed memory and frees it
/// again, as a kref on a plain atomic did.
#[derive(Clone)]
pub struct PrivKref {
    mem: Shadow<AtomicUsize>,
}

impl PrivKref {
    /// Allocates the structure with one reference (the driver's).
    pub fn new(ctx: &ProbeCtx<'_>, kind: &'static str, name: &str) -> KResult<Self> {
        Ok(Self {
            mem: ctx.alloc_shadow(kind, name, AtomicUsize::new(1))?,
        })
    }

    /// `kref_get`.
    #[track_caller]
    pub fn get(&self) {
        self.mem.get().fetch_add(1, Ordering::AcqRel);
    }

    /// `kref_init` again on a live count (the `refcount-reset` mistake):
    /// every reference but one is forgotten.
    #[track_caller]
    pub fn reset(&self) {
        self.mem.get().store(1, Ordering::Release);
    }

    /// `kref_put`: frees the structure when the count was one (or, on a
    /// count already used up, frees it again).
    #[track_caller]
    pub fn put(&self) {
        let before = self.mem.get().fetch_sub(1, Ordering::AcqRel);
        if before <= 1 {
            self.mem.free();
        }
    }

    /// Whether the structure was freed (without a checker access).
    pub fn is_freed(&self) -> bool {
        self.mem.is_freed()
    }
}
