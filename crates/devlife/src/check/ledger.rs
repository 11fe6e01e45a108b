//! Live-object accounting per type.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct Counts {
    created: AtomicU64,
    released: AtomicU64,
}

/// Counts of one type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveCount {
    /// Type (or kind) name.
    pub type_name: &'static str,
    /// Objects created so far.
    pub created: u64,
    /// Objects released so far.
    pub released: u64,
}

impl LiveCount {
    /// Objects alive now.
    pub fn live(&self) -> u64 {
        self.created.saturating_sub(self.released)
    }
}

/// Live-object accounting: every [`LiveToken`] counts one object of its type
/// from creation until it is dropped (released).
#[derive(Default)]
pub struct Ledger {
    types: Mutex<BTreeMap<&'static str, Arc<Counts>>>,
}

/// One accounted object; dropping it counts a release.
///
/// # Invariants
///
/// Each token counts exactly one creation and, when dropped, exactly one release.
pub struct LiveToken {
    counts: Arc<Counts>,
    type_name: &'static str,
}

impl std::fmt::Debug for LiveToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LiveToken({})", self.type_name)
    }
}

impl Drop for LiveToken {
    fn drop(&mut self) {
        self.counts.released.fetch_add(1, Ordering::AcqRel);
    }
}

impl LiveToken {
    /// The type this token counts.
    pub fn type_name(&self) -> &'static str {
        self.type_name
    }
}

impl Ledger {
    /// Counts one new object of `type_name`.
    pub fn token(&self, type_name: &'static str) -> LiveToken {
        let counts = self
            .types
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(type_name)
            .or_default()
            .clone();
        counts.created.fetch_add(1, Ordering::AcqRel);
        LiveToken { counts, type_name }
    }

    /// Counts of every type seen so far, sorted by name.
    pub fn snapshot(&self) -> Vec<LiveCount> {
        self.types
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .map(|(t, c)| LiveCount {
                type_name: t,
                created: c.created.load(Ordering::Acquire),
                released: c.released.load(Ordering::Acquire),
            })
            .collect()
    }

    /// The counts of `type_name`, if an object of it was ever created.
    pub fn count(&self, type_name: &str) -> Option<LiveCount> {
        let types = self
            .types
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        types.get_key_value(type_name).map(|(t, c)| LiveCount {
            type_name: t,
            created: c.created.load(Ordering::Acquire),
            released: c.released.load(Ordering::Acquire),
        })
    }

    /// Objects of `type_name` alive now.
    pub fn live(&self, type_name: &str) -> u64 {
        self.count(type_name).as_ref().map_or(0, LiveCount::live)
    }

    /// Objects of `type_name` released so far: each counted when its last
    /// reference went (its token dropped), after its release callback ran.
    pub fn released(&self, type_name: &str) -> u64 {
        self.count(type_name).map_or(0, |c| c.released)
    }

    /// Total objects alive now.
    pub fn total_live(&self) -> u64 {
        self.snapshot().iter().map(LiveCount::live).sum()
    }

    /// Types with objects still alive.
    pub fn leaks(&self) -> Vec<LiveCount> {
        self.snapshot()
            .into_iter()
            .filter(|c| c.live() != 0)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_live_objects() {
        let l = Ledger::default();
        let a = l.token("A");
        let b = l.token("A");
        let c = l.token("B");
        assert_eq!(l.live("A"), 2);
        drop(a);
        assert_eq!(l.live("A"), 1);
        assert_eq!(l.leaks().len(), 2);
        drop((b, c));
        assert!(l.leaks().is_empty());
        assert_eq!(l.total_live(), 0);
        assert_eq!(l.snapshot()[0].created, 2);
        assert_eq!((l.released("A"), l.released("B")), (2, 1));
        assert_eq!(l.released("never made"), 0);
        assert_eq!(l.count("never made"), None);
    }
}
