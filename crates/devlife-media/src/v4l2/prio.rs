//! Access priorities of a video node (`v4l2_prio_*` of `v4l2-dev.c` and
//! `VIDIOC_G/S_PRIORITY`).
//!
//! Each open file has a priority (`INTERACTIVE` at open); the node counts
//! how many files hold each priority. `G_PRIORITY` answers the highest
//! priority any file holds; an ioctl that changes the device's state (the
//! kernel's `INFO_FL_PRIO` ones) is refused with `EBUSY` for a file whose
//! priority is below that maximum. A file's priority is released at close.

use devlife_model::{Errno, KResult};
use std::sync::atomic::{AtomicU32, Ordering};

/// `V4L2_PRIORITY_UNSET`.
pub const PRIORITY_UNSET: u32 = 0;
/// `V4L2_PRIORITY_BACKGROUND`.
pub const PRIORITY_BACKGROUND: u32 = 1;
/// `V4L2_PRIORITY_INTERACTIVE` (the default).
pub const PRIORITY_INTERACTIVE: u32 = 2;
/// `V4L2_PRIORITY_RECORD`.
pub const PRIORITY_RECORD: u32 = 3;

/// The node's counts (`struct v4l2_prio_state`).
///
/// # Invariants
///
/// `counts[p]` is the number of open files whose priority is `p`
/// (1 ≤ p ≤ 3).
#[derive(Debug, Default)]
pub struct PrioState {
    counts: [AtomicU32; 4],
}

fn valid(p: u32) -> bool {
    (PRIORITY_BACKGROUND..=PRIORITY_RECORD).contains(&p)
}

impl PrioState {
    /// A node without open files.
    pub fn new() -> Self {
        Self::default()
    }

    /// `v4l2_prio_open`: a new file gets `INTERACTIVE`.
    pub fn open(&self) -> FilePrio {
        self.counts[PRIORITY_INTERACTIVE as usize].fetch_add(1, Ordering::AcqRel);
        FilePrio(AtomicU32::new(PRIORITY_INTERACTIVE))
    }

    /// `v4l2_prio_close`.
    pub fn close(&self, f: &FilePrio) {
        let p = f.0.swap(PRIORITY_UNSET, Ordering::AcqRel);
        if valid(p) {
            self.counts[p as usize].fetch_sub(1, Ordering::AcqRel);
        }
    }

    /// `v4l2_prio_max`: the highest priority an open file holds.
    pub fn max(&self) -> u32 {
        (PRIORITY_BACKGROUND..=PRIORITY_RECORD)
            .rev()
            .find(|&p| self.counts[p as usize].load(Ordering::Acquire) > 0)
            .unwrap_or(PRIORITY_UNSET)
    }

    /// `v4l2_prio_check`: `EBUSY` if `f` is below the maximum.
    pub fn check(&self, f: &FilePrio) -> KResult<()> {
        if f.get() < self.max() {
            Err(Errno::EBUSY)
        } else {
            Ok(())
        }
    }

    /// `v4l2_prio_change`: `EINVAL` for an invalid priority.
    pub fn change(&self, f: &FilePrio, new: u32) -> KResult<()> {
        if !valid(new) {
            return Err(Errno::EINVAL);
        }
        let old = f.0.swap(new, Ordering::AcqRel);
        if old == new {
            return Ok(());
        }
        self.counts[new as usize].fetch_add(1, Ordering::AcqRel);
        if valid(old) {
            self.counts[old as usize].fetch_sub(1, Ordering::AcqRel);
        }
        Ok(())
    }
}

/// The priority of one open file (`v4l2_fh.prio`).
#[derive(Debug)]
pub struct FilePrio(AtomicU32);

impl FilePrio {
    /// The current priority.
    pub fn get(&self) -> u32 {
        self.0.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_blocks_others_until_released() {
        let s = PrioState::new();
        let a = s.open();
        let b = s.open();
        assert_eq!(s.max(), PRIORITY_INTERACTIVE);
        s.change(&a, PRIORITY_RECORD).unwrap();
        assert_eq!(s.max(), PRIORITY_RECORD);
        assert_eq!(s.check(&b), Err(Errno::EBUSY));
        assert_eq!(s.check(&a), Ok(()));
        assert_eq!(s.change(&a, 0), Err(Errno::EINVAL));
        assert_eq!(s.change(&a, 4), Err(Errno::EINVAL));
        s.close(&a);
        assert_eq!(s.max(), PRIORITY_INTERACTIVE);
        assert_eq!(s.check(&b), Ok(()));
        s.change(&b, PRIORITY_BACKGROUND).unwrap();
        assert_eq!(s.max(), PRIORITY_BACKGROUND);
        s.close(&b);
        assert_eq!(s.max(), PRIORITY_UNSET);
    }
}
