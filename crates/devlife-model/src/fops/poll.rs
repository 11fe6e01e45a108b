//! Poll event masks ([`PollMask`]) and the table of queues a poll sleeper waits on ([`PollTable`]).

use crate::EventQueue;
use std::sync::Arc;

/// Poll event bits (Linux `EPOLL*` values).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PollMask(pub u32);

impl PollMask {
    /// Data to read.
    pub const IN: PollMask = PollMask(0x001);
    /// Urgent / exceptional data (V4L2 events).
    pub const PRI: PollMask = PollMask(0x002);
    /// Writing is possible.
    pub const OUT: PollMask = PollMask(0x004);
    /// Error condition.
    pub const ERR: PollMask = PollMask(0x008);
    /// Hang up (device gone).
    pub const HUP: PollMask = PollMask(0x010);
    /// Invalid request.
    pub const NVAL: PollMask = PollMask(0x020);
    /// Normal data to read.
    pub const RDNORM: PollMask = PollMask(0x040);
    /// Normal data can be written.
    pub const WRNORM: PollMask = PollMask(0x100);
    /// No event.
    pub const NONE: PollMask = PollMask(0);
    /// What a file without a poll handler reports (`DEFAULT_POLLMASK`).
    pub const DEFAULT: PollMask = PollMask(0x001 | 0x004 | 0x040 | 0x100);

    /// Whether any bit of `other` is set.
    pub fn intersects(self, other: PollMask) -> bool {
        self.0 & other.0 != 0
    }
    /// Whether every bit of `other` is set.
    pub fn contains(self, other: PollMask) -> bool {
        self.0 & other.0 == other.0
    }
    /// Whether no bit is set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl std::ops::BitOr for PollMask {
    type Output = PollMask;
    fn bitor(self, rhs: Self) -> Self {
        PollMask(self.0 | rhs.0)
    }
}

impl std::ops::BitOrAssign for PollMask {
    fn bitor_assign(&mut self, rhs: Self) {
        self.0 |= rhs.0;
    }
}

impl std::ops::BitAnd for PollMask {
    type Output = PollMask;
    fn bitand(self, rhs: Self) -> Self {
        PollMask(self.0 & rhs.0)
    }
}

impl std::fmt::Debug for PollMask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const NAMES: [(u32, &str); 8] = [
            (0x001, "IN"),
            (0x002, "PRI"),
            (0x004, "OUT"),
            (0x008, "ERR"),
            (0x010, "HUP"),
            (0x020, "NVAL"),
            (0x040, "RDNORM"),
            (0x100, "WRNORM"),
        ];
        let mut first = true;
        for (bit, n) in NAMES {
            if self.0 & bit != 0 {
                if !first {
                    f.write_str("|")?;
                }
                f.write_str(n)?;
                first = false;
            }
        }
        let rest = self.0 & !0x17f;
        if rest != 0 {
            if !first {
                f.write_str("|")?;
            }
            write!(f, "{rest:#x}")?;
            first = false;
        }
        if first {
            f.write_str("0")?;
        }
        Ok(())
    }
}

/// Collects the queues a `poll` sleeper must be woken by (`poll_table`).
#[derive(Default)]
pub struct PollTable {
    pub(crate) queues: Vec<Arc<EventQueue>>,
    pub(crate) active: bool,
    /// The events the caller polls for (`poll_requested_events`); `None`
    /// when unknown.
    pub(crate) requested: Option<PollMask>,
}

impl PollTable {
    /// Registers `queue` (`poll_wait`). Ignored when the model is only
    /// re-evaluating the mask.
    pub fn wait(&mut self, queue: &Arc<EventQueue>) {
        if self.active && !self.queues.iter().any(|q| Arc::ptr_eq(q, queue)) {
            self.queues.push(queue.clone());
        }
    }

    /// The events the caller asked for (`poll_requested_events`); when
    /// unknown, every event. A driver may start I/O only for the events
    /// asked for (vb2 starts its read emulator only for `IN`/`RDNORM`).
    pub fn requested(&self) -> PollMask {
        self.requested.unwrap_or(PollMask(u32::MAX))
    }

    /// Number of queues registered.
    pub fn len(&self) -> usize {
        self.queues.len()
    }

    /// Whether no queue was registered.
    pub fn is_empty(&self) -> bool {
        self.queues.is_empty()
    }
}
