//! Property test: random sequences of gate operations on one thread match a
//! simple reference model.
//!
//! Operations: enter (plain and labelled), exit of any held access (in any
//! order), unplug (also from inside an access of the same gate), non-blocking
//! waits on wait queues with every outcome (condition true, gone, interrupted,
//! timed out), wake-ups, signals, and device resources (add, access through a
//! guard and through a `Bound` proof, revoke of the scope, including from inside
//! the gate). Sequences are long enough to hold more accesses than a thread has
//! slots, so the overflow path is covered too. Concurrency is the loom tests'
//! job; this test checks the sequential semantics of every path.

use devlife::{
    Access, Devres, Gate, Gone, ResourceScope, SLOTS, Signal, UnplugError, WaitError, WaitOptions,
    WaitQueue,
};
use proptest::prelude::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

const GATES: usize = 3;
const QUEUES_PER_GATE: usize = 2;

#[derive(Debug, Clone)]
enum Op {
    Enter(usize),
    EnterAs(usize),
    /// Exit the held access at this index (modulo the number held).
    Exit(usize),
    Unplug(usize),
    /// Wait on queue `q` of gate `g` using held access `a` (modulo).
    Wait {
        g: usize,
        q: usize,
        a: usize,
        interruptible: bool,
    },
    /// Make queue `q` of gate `g` ready and wake it.
    Wake(usize, usize),
    Raise,
    AddRes(usize),
    /// Access resource `r` (modulo) through a guard or a proof.
    UseRes(usize, bool),
    Revoke(usize),
    CheckInFlight(usize),
}

fn op() -> impl Strategy<Value = Op> {
    let g = 0..GATES;
    let q = 0..QUEUES_PER_GATE;
    prop_oneof![
        6 => g.clone().prop_map(Op::Enter),
        2 => g.clone().prop_map(Op::EnterAs),
        5 => any::<usize>().prop_map(Op::Exit),
        1 => g.clone().prop_map(Op::Unplug),
        3 => (g.clone(), q.clone(), any::<usize>(), any::<bool>())
            .prop_map(|(g, q, a, interruptible)| Op::Wait { g, q, a, interruptible }),
        2 => (g.clone(), q).prop_map(|(g, q)| Op::Wake(g, q)),
        1 => Just(Op::Raise),
        2 => g.clone().prop_map(Op::AddRes),
        3 => (any::<usize>(), any::<bool>()).prop_map(|(r, b)| Op::UseRes(r, b)),
        1 => g.clone().prop_map(Op::Revoke),
        2 => g.prop_map(Op::CheckInFlight),
    ]
}

/// The reference model.
#[derive(Default)]
struct Model {
    unplugged: [bool; GATES],
    /// Gates of the held accesses, in the order of the `held` vector.
    held: Vec<usize>,
    ready: [[bool; QUEUES_PER_GATE]; GATES],
    signal_pending: bool,
    scope_revoked: [bool; GATES],
    /// (gate, value, dropped) of every resource.
    res: Vec<(usize, u64, bool)>,
}

impl Model {
    fn holds(&self, g: usize) -> bool {
        self.held.contains(&g)
    }
    fn in_flight(&self, g: usize) -> usize {
        self.held.iter().filter(|h| **h == g).count()
    }
}

/// A resource that counts its drops.
struct Res {
    value: u64,
    drops: Arc<AtomicUsize>,
}

impl Drop for Res {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
    }
}

fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let gates: Vec<Gate> = (0..GATES).map(|i| Gate::named(format!("g{i}"))).collect();
    let ready: Vec<Vec<Arc<AtomicBool>>> = (0..GATES)
        .map(|_| (0..QUEUES_PER_GATE).map(|_| Arc::default()).collect())
        .collect();
    let queues: Vec<Vec<WaitQueue>> = gates
        .iter()
        .map(|g| (0..QUEUES_PER_GATE).map(|_| WaitQueue::new(g)).collect())
        .collect();
    let mut scopes: Vec<Option<ResourceScope>> =
        gates.iter().map(|g| Some(ResourceScope::new(g))).collect();
    let signal = Signal::new();
    let mut res: Vec<(Devres<Res>, Arc<AtomicUsize>)> = Vec::new();
    let mut held: Vec<(usize, Access<'_>)> = Vec::new();
    let mut m = Model::default();
    let mut next_value = 1u64;

    for op in ops {
        match op {
            Op::Enter(g) | Op::EnterAs(g) => {
                let r = match op {
                    Op::Enter(_) => gates[g].enter(),
                    _ => gates[g].enter_as("PROP_IOCTL"),
                };
                if m.unplugged[g] {
                    prop_assert_eq!(r.err(), Some(Gone));
                } else {
                    let a = r.map_err(|e| TestCaseError::fail(format!("enter: {e}")))?;
                    prop_assert_eq!(a.gate_id(), gates[g].id());
                    held.push((g, a));
                    m.held.push(g);
                }
            }
            Op::Exit(i) => {
                if !held.is_empty() {
                    let i = i % held.len();
                    drop(held.remove(i));
                    m.held.remove(i);
                }
            }
            Op::Unplug(g) => {
                let r = gates[g].unplug();
                if m.holds(g) {
                    prop_assert!(matches!(r, Err(UnplugError::InsideAccess(_))));
                } else {
                    let st = r.map_err(|e| TestCaseError::fail(format!("unplug: {e}")))?;
                    prop_assert_eq!(st.first, !m.unplugged[g]);
                    prop_assert_eq!(st.in_flight, 0);
                    prop_assert!(gates[g].is_drained());
                }
                m.unplugged[g] = true;
                prop_assert!(gates[g].is_unplugged());
            }
            Op::Wait {
                g,
                q,
                a,
                interruptible,
            } => {
                if held.is_empty() {
                    continue;
                }
                let a = a % held.len();
                let (ag, access) = (&held[a].0, &held[a].1);
                let mut opts = WaitOptions::timeout(Duration::ZERO);
                if interruptible {
                    opts = opts.interruptible(&signal);
                }
                let flag = &ready[g][q];
                let r = queues[g][q].wait_until(access, opts, || {
                    flag.load(Ordering::SeqCst).then_some((g, q))
                });
                let expect = if m.ready[g][q] {
                    Ok((g, q))
                } else if m.unplugged[g] || m.unplugged[*ag] {
                    Err(WaitError::Gone)
                } else if interruptible && m.signal_pending {
                    m.signal_pending = false;
                    Err(WaitError::Interrupted)
                } else {
                    Err(WaitError::TimedOut)
                };
                prop_assert_eq!(r, expect);
            }
            Op::Wake(g, q) => {
                ready[g][q].store(true, Ordering::SeqCst);
                queues[g][q].wake_all();
                m.ready[g][q] = true;
            }
            Op::Raise => {
                signal.raise();
                m.signal_pending = true;
                prop_assert!(signal.is_pending());
            }
            Op::AddRes(g) => {
                let Some(scope) = &scopes[g] else { continue };
                let drops = Arc::new(AtomicUsize::new(0));
                let r = scope.add(Res {
                    value: next_value,
                    drops: drops.clone(),
                });
                if m.unplugged[g] {
                    prop_assert!(r.is_err());
                } else {
                    let d = r.map_err(|e| TestCaseError::fail(format!("add: {e}")))?;
                    res.push((d, drops));
                    m.res.push((g, next_value, false));
                    next_value += 1;
                }
            }
            Op::UseRes(i, through_proof) => {
                if res.is_empty() {
                    continue;
                }
                let i = i % res.len();
                let (d, _) = &res[i];
                let (g, value, dropped) = m.res[i];
                if through_proof {
                    // A proof from a held access of the resource's gate, if any.
                    if let Some((_, a)) = held.iter().find(|(hg, _)| *hg == g) {
                        prop_assert!(!dropped);
                        let v = d.access(&a.bound()).map(|r| r.value);
                        prop_assert_eq!(v, Ok(value));
                    } else if let Some(scope) = &scopes[g] {
                        prop_assert!(!dropped);
                        let v = d.access(&scope.bound()).map(|r| r.value);
                        prop_assert_eq!(v, Ok(value));
                    }
                    // A proof of another gate is refused.
                    let other = (g + 1) % GATES;
                    if let Some(scope) = &scopes[other] {
                        prop_assert!(d.access(&scope.bound()).is_err());
                    }
                } else {
                    let r = d.try_access().map(|v| v.value);
                    if m.unplugged[g] {
                        prop_assert_eq!(r, Err(Gone));
                    } else {
                        prop_assert_eq!(r, Ok(value));
                    }
                }
                prop_assert_eq!(d.is_revoked(), dropped);
            }
            Op::Revoke(g) => {
                let Some(scope) = scopes[g].take() else {
                    continue;
                };
                match scope.revoke() {
                    Ok(n) => {
                        prop_assert!(!m.holds(g));
                        let mine: Vec<usize> = (0..m.res.len())
                            .filter(|i| m.res[*i].0 == g && !m.res[*i].2)
                            .collect();
                        prop_assert_eq!(n, mine.len());
                        for i in mine {
                            m.res[i].2 = true;
                        }
                        m.scope_revoked[g] = true;
                    }
                    Err(e) => {
                        prop_assert!(m.holds(g));
                        prop_assert!(matches!(e.error, UnplugError::InsideAccess(_)));
                        scopes[g] = Some(e.scope);
                    }
                }
                m.unplugged[g] = true;
            }
            Op::CheckInFlight(g) => {
                prop_assert_eq!(gates[g].in_flight(), m.in_flight(g));
                let blockers = gates[g].blockers();
                prop_assert_eq!(blockers.len(), m.in_flight(g));
            }
        }
        // Every resource was dropped exactly when the model says, and once.
        for ((_, drops), (_, _, dropped)) in res.iter().zip(&m.res) {
            prop_assert_eq!(drops.load(Ordering::SeqCst), usize::from(*dropped));
        }
        for (gate, unplugged) in gates.iter().zip(m.unplugged) {
            prop_assert_eq!(gate.is_unplugged(), unplugged);
        }
    }

    // Teardown: exit everything, unplug everything; every resource is dropped
    // exactly once (by its scope's revoke or drop).
    drop(held);
    for g in &gates {
        g.unplug()
            .map_err(|e| TestCaseError::fail(format!("final unplug: {e}")))?;
        prop_assert_eq!(g.in_flight(), 0);
    }
    drop(scopes);
    for (d, drops) in &res {
        prop_assert!(d.is_revoked());
        prop_assert_eq!(drops.load(Ordering::SeqCst), 1);
    }
    drop(res);
    Ok(())
}

fn config() -> ProptestConfig {
    ProptestConfig {
        // Miri interprets every step; a handful of cases still covers each path.
        cases: if cfg!(miri) { 4 } else { 128 },
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn gate_operations_match_the_model(ops in prop::collection::vec(op(), 1..if cfg!(miri) { 40 } else { 120 })) {
        run(ops)?;
    }
}

/// The sequences above reach the overflow path: a direct check that more than
/// `SLOTS` accesses held at once still count and still refuse a self-unplug.
#[test]
fn overflow_accesses_follow_the_model() {
    let g = Gate::named("deep");
    let held: Vec<_> = (0..SLOTS * 2).map(|_| g.enter().unwrap()).collect();
    assert_eq!(g.in_flight(), SLOTS * 2);
    assert!(matches!(g.unplug(), Err(UnplugError::InsideAccess(_))));
    assert!(g.enter().is_err());
    drop(held);
    assert_eq!(g.in_flight(), 0);
    assert!(g.unplug().is_ok());
}
