//! Fault injection: make the Nth call of a fallible kernel step fail.
//!
//! Every fallible step of probe and registration asks the kernel's
//! [`Faults`] table before doing its work ([`Faults::check`]). A test (or the
//! harness's `--inject-faults`) first runs a scenario with counting only, reads
//! how many times each point was hit ([`Faults::hits`]), then reruns it failing
//! hit 1, 2, ... of each point in turn and checks that each failure unwinds
//! with nothing leaked and no checker report.

use crate::errno::Errno;
use parking_lot::Mutex;
use std::collections::BTreeMap;

/// A fallible step that can be made to fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FaultPoint {
    /// A memory allocation (`kzalloc`, `devm_kzalloc`, object creation). Fails with `ENOMEM`.
    Alloc,
    /// Allocation of a minor number. Fails with `ENFILE`.
    MinorAlloc,
    /// Registration of a character device node. Fails with `ENOMEM`.
    NodeRegister,
    /// `request_irq`. Fails with `EBUSY`.
    IrqRequest,
    /// Registration of a media entity (used by the media layer). Fails with `ENOMEM`.
    EntityRegister,
    /// Mapping a register block or claiming a bus handle. Fails with `ENOMEM`.
    IoRemap,
    /// `driver_register` (`bus_add_driver`'s allocations), before the driver
    /// is listed. Fails with `ENOMEM`.
    DriverRegister,
    /// Loading a module (its allocation and `init`), before it is listed.
    /// Fails with `ENOMEM`.
    ModuleLoad,
    /// A named point defined by an upper layer. Fails with `EIO`.
    Custom(&'static str),
}

impl FaultPoint {
    /// The errno an injected failure of this point returns.
    pub fn errno(self) -> Errno {
        match self {
            FaultPoint::Alloc
            | FaultPoint::NodeRegister
            | FaultPoint::EntityRegister
            | FaultPoint::IoRemap
            | FaultPoint::DriverRegister
            | FaultPoint::ModuleLoad => Errno::ENOMEM,
            FaultPoint::MinorAlloc => Errno::ENFILE,
            FaultPoint::IrqRequest => Errno::EBUSY,
            FaultPoint::Custom(_) => Errno::EIO,
        }
    }
}

/// When a point fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultRule {
    /// Only the Nth hit (1-based) from now on.
    Nth(u64),
    /// Every hit from now on.
    Always,
}

#[derive(Default)]
struct State {
    hits: BTreeMap<FaultPoint, u64>,
    rules: BTreeMap<FaultPoint, (FaultRule, u64)>,
    injected: u64,
}

/// The fault-injection table of one kernel.
///
/// # Invariants
///
/// `hits` counts every [`check`](Faults::check) of each point since creation
/// or the last [`reset`](Faults::reset); a rule counts the hits since it was
/// armed.
#[derive(Default)]
pub struct Faults {
    state: Mutex<State>,
}

impl std::fmt::Debug for Faults {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.state.lock();
        f.debug_struct("Faults")
            .field("hits", &s.hits)
            .field("injected", &s.injected)
            .finish()
    }
}

impl Faults {
    /// Counts a hit of `point` and fails it if a rule says so.
    pub fn check(&self, point: FaultPoint) -> Result<(), Errno> {
        let mut s = self.state.lock();
        *s.hits.entry(point).or_default() += 1;
        let fail = match s.rules.get_mut(&point) {
            Some((rule, seen)) => {
                *seen += 1;
                match *rule {
                    FaultRule::Always => true,
                    FaultRule::Nth(n) => *seen == n,
                }
            }
            None => false,
        };
        if fail {
            s.injected += 1;
            Err(point.errno())
        } else {
            Ok(())
        }
    }

    /// Makes the `n`th hit (1-based, counted from now) of `point` fail.
    pub fn fail_nth(&self, point: FaultPoint, n: u64) {
        self.state
            .lock()
            .rules
            .insert(point, (FaultRule::Nth(n), 0));
    }

    /// Makes every hit of `point` fail from now on.
    pub fn fail_always(&self, point: FaultPoint) {
        self.state
            .lock()
            .rules
            .insert(point, (FaultRule::Always, 0));
    }

    /// Removes every rule (hit counts are kept).
    pub fn clear(&self) {
        self.state.lock().rules.clear();
    }

    /// Removes every rule and zeroes every count.
    pub fn reset(&self) {
        *self.state.lock() = State::default();
    }

    /// Hits of `point` so far.
    pub fn hits(&self, point: FaultPoint) -> u64 {
        self.state.lock().hits.get(&point).copied().unwrap_or(0)
    }

    /// Hits of every point so far.
    pub fn all_hits(&self) -> Vec<(FaultPoint, u64)> {
        self.state
            .lock()
            .hits
            .iter()
            .map(|(p, n)| (*p, *n))
            .collect()
    }

    /// Failures injected so far.
    pub fn injected(&self) -> u64 {
        self.state.lock().injected
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nth_and_always() {
        let f = Faults::default();
        f.check(FaultPoint::Alloc).unwrap();
        f.fail_nth(FaultPoint::Alloc, 2);
        assert!(f.check(FaultPoint::Alloc).is_ok());
        assert_eq!(f.check(FaultPoint::Alloc), Err(Errno::ENOMEM));
        assert!(f.check(FaultPoint::Alloc).is_ok());
        f.fail_always(FaultPoint::MinorAlloc);
        assert_eq!(f.check(FaultPoint::MinorAlloc), Err(Errno::ENFILE));
        assert_eq!(f.check(FaultPoint::MinorAlloc), Err(Errno::ENFILE));
        assert_eq!(f.hits(FaultPoint::Alloc), 4);
        assert_eq!(f.injected(), 3);
        f.clear();
        assert!(f.check(FaultPoint::MinorAlloc).is_ok());
        assert_eq!(
            f.check(FaultPoint::Custom("x")).map_err(|e| e.name()),
            Ok(())
        );
        f.reset();
        assert_eq!(f.all_hits(), vec![]);
    }
}
