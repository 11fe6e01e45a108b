//! The fault sweep: fail every fallible step of a target's probe and
//! registration in turn, and check that each failure unwinds cleanly.
//!
//! 1. A counting run registers the target in a fresh kernel and reads how
//!    many times each [`FaultPoint`] was hit.
//! 2. For every point and every hit `n` of it, a fresh kernel fails exactly
//!    the `n`th hit, registers the target (the probe that hits the failure
//!    unwinds), clears the fault, binds every device again (which must now
//!    succeed), opens and closes every node, and shuts down.
//! 3. Each case records what was injected, whether the rebind worked, the
//!    checker reports and the objects left alive: a clean unwind has
//!    exactly one injected failure, no report and no leak.

use super::target::{Instance, Target};
use devlife_drivers::Style;
use devlife_model::{Errno, FaultPoint, Kernel, OpenFlags};

/// One failed step.
#[derive(Clone, Debug)]
pub struct FaultCase {
    /// The point made to fail.
    pub point: FaultPoint,
    /// Which hit of it failed (1-based).
    pub nth: u64,
    /// Failures actually injected (1 when the hit was reached).
    pub injected: u64,
    /// What registering the target returned (probe failures are not errors).
    pub register: Result<(), Errno>,
    /// Whether binding every device after clearing the fault succeeded: by
    /// restoring the registered target, or, when registration itself failed,
    /// by registering it again (a second `modprobe`). `None` only when not
    /// tried.
    pub rebind_ok: Option<bool>,
    /// Checker reports, in full.
    pub reports: Vec<String>,
    /// Types with live objects after shutdown (`type: live`).
    pub leaks: Vec<String>,
}

impl FaultCase {
    /// One injected failure, a working rebind, no report, no leak.
    pub fn is_clean(&self) -> bool {
        self.injected == 1
            && self.rebind_ok != Some(false)
            && self.reports.is_empty()
            && self.leaks.is_empty()
    }
}

impl std::fmt::Display for FaultCase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:?} hit #{}: injected {}, register {:?}, rebind {:?}, {} report(s), leaks [{}]",
            self.point,
            self.nth,
            self.injected,
            self.register.map_err(|e| e.name()),
            self.rebind_ok,
            self.reports.len(),
            self.leaks.join(", ")
        )?;
        for r in &self.reports {
            write!(f, "\n{r}")?;
        }
        Ok(())
    }
}

/// The result of a sweep over one target.
#[derive(Clone, Debug)]
pub struct FaultSweep {
    /// The stress target (driver) swept.
    pub target: String,
    /// Hits of each point in the fault-free counting run.
    pub hits: Vec<(FaultPoint, u64)>,
    /// Points the target declares but the counting run never reached
    /// (a step without a fault point).
    pub missing: Vec<FaultPoint>,
    /// Whether the fault-free run bound everything and ended clean.
    pub baseline_clean: bool,
    /// One case per (point, hit).
    pub cases: Vec<FaultCase>,
}

impl FaultSweep {
    /// The cases that did not unwind cleanly.
    pub fn failures(&self) -> Vec<&FaultCase> {
        self.cases.iter().filter(|c| !c.is_clean()).collect()
    }
}

fn finish(k: &Kernel) -> (Vec<String>, Vec<String>) {
    k.shutdown();
    let reports = k
        .monitor()
        .reports()
        .all()
        .iter()
        .map(|r| r.to_string())
        .collect();
    let leaks = k
        .leaks()
        .iter()
        .map(|c| format!("{}: {}", c.type_name, c.live()))
        .collect();
    (reports, leaks)
}

/// Opens and closes every node of `i` (each must open).
fn touch_nodes(i: &dyn Instance) -> bool {
    i.nodes().iter().all(|n| n.open(OpenFlags::RDWR).is_ok())
}

/// Sweeps every fallible probe/registration step of `t` in `style`.
pub fn fault_sweep(t: &dyn Target, style: Style) -> FaultSweep {
    let k = Kernel::new();
    let baseline_ok = match t.register(&k, style) {
        Ok(i) => i.fully_bound() && touch_nodes(&*i),
        Err(_) => false,
    };
    let hits = k.faults().all_hits();
    let (reports, leaks) = finish(&k);
    drop(k);
    let missing = t
        .fault_points()
        .iter()
        .copied()
        .filter(|p| !hits.iter().any(|(h, n)| h == p && *n > 0))
        .collect();
    let mut cases = Vec::new();
    for &(point, n) in &hits {
        for nth in 1..=n {
            let k = Kernel::new();
            k.faults().fail_nth(point, nth);
            let r = t.register(&k, style);
            let injected = k.faults().injected();
            k.faults().clear();
            let rebind_ok = Some(match &r {
                Ok(i) => {
                    i.restore();
                    i.fully_bound() && touch_nodes(&**i)
                }
                // A failed `modprobe` (driver or module registration): the
                // failure must leave nothing behind that stops the next one.
                Err(_) => t
                    .register(&k, style)
                    .is_ok_and(|i| i.fully_bound() && touch_nodes(&*i)),
            });
            let register = r.map(drop);
            let (reports, leaks) = finish(&k);
            cases.push(FaultCase {
                point,
                nth,
                injected,
                register,
                rebind_ok,
                reports,
                leaks,
            });
        }
    }
    FaultSweep {
        target: t.name().to_owned(),
        hits,
        missing,
        baseline_clean: baseline_ok && reports.is_empty() && leaks.is_empty(),
        cases,
    }
}
