//! Unit tests of the gate: enter and unplug, labels, tracing, nesting and
//! overflow, hooks, the watchdog, and the refusals that prevent self-deadlock.

use super::access::M_OVERFLOW;
use super::*;
use crate::check::{EventKind, Monitor, ReportKind};
use crate::registry::SLOTS;
use crate::sync::{Mutex, lock};
use std::sync::Arc as StdArc;
use std::sync::atomic::AtomicBool as StdBool;
use std::time::Duration;

#[test]
fn enter_after_unplug_fails() {
    let g = Gate::named("t");
    drop(g.enter().unwrap());
    let st = g.unplug().unwrap();
    assert!(st.first);
    assert_eq!(g.enter().unwrap_err(), Gone);
    assert!(g.is_drained());
    let st2 = g.unplug().unwrap();
    assert!(!st2.first);
}

/// A label names its access while it is held, nested labels name theirs,
/// and a plain access that reuses a labelled slot shows no stale label.
#[test]
fn labels_name_held_accesses_and_are_cleared_at_exit() {
    let g = Gate::named("labels");
    let labels = |g: &Gate| {
        let mut v: Vec<_> = g.blockers().into_iter().map(|b| b.label).collect();
        v.sort();
        v
    };
    let a = g.enter_as("VIDIOC_DQBUF").unwrap();
    // A label built at run time (a `'static` borrow of a heap string).
    static DYNAMIC: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let dynamic: &'static str = DYNAMIC.get_or_init(|| ["dynamic", "op"].join(" "));
    let b = g.enter_as(dynamic).unwrap();
    assert_eq!(labels(&g), vec![Some("VIDIOC_DQBUF"), Some("dynamic op")]);
    assert!(g.blockers().iter().all(|b| b.since.is_none()));
    drop(b);
    drop(a);
    let plain = g.enter().unwrap();
    assert_eq!(labels(&g), vec![None]);
    drop(plain);
    assert!(g.blockers().is_empty());
}

/// A labelled enter refused by an unplugged gate leaves no label behind: the
/// label is written before the slot, so the back-out clears both, on the fast
/// path (slot 0) and on the general path (a nested slot).
#[test]
fn a_refused_labelled_enter_leaves_no_label() {
    let gone = Gate::named("gone");
    gone.unplug().unwrap();
    let later = Gate::named("later");
    let label = |g: &Gate| {
        g.blockers()
            .into_iter()
            .map(|b| b.label)
            .collect::<Vec<_>>()
    };

    // Slot 0 (the fast path, once the thread is registered).
    drop(later.enter().unwrap());
    assert!(gone.enter_as("REFUSED").is_err());
    let a = later.enter().unwrap();
    assert_eq!(label(&later), vec![None]);

    // Slot 1 (the general path): `a` holds slot 0.
    assert!(gone.enter_as("REFUSED_NESTED").is_err());
    let b = later.enter().unwrap();
    assert_eq!(label(&later), vec![None, None]);
    drop(b);
    drop(a);
    later.unplug().unwrap();
}

/// A traced gate journals both ends of a fast-path access, in order.
#[test]
fn traced_gate_journals_enter_and_exit() {
    let m = Monitor::new();
    let g = Gate::builder().trace(true).monitor(&m).build();
    drop(g.enter_as("read").unwrap());
    drop(g.enter().unwrap());
    assert_eq!(
        m.journal().kinds(g.id()),
        vec![
            EventKind::Enter,
            EventKind::Exit,
            EventKind::Enter,
            EventKind::Exit
        ]
    );
    g.unplug().unwrap();
    assert!(g.enter().is_err());
}

#[test]
fn nested_and_reentrant_accesses() {
    let a = Gate::named("a");
    let b = Gate::named("b");
    let x1 = a.enter().unwrap();
    let y = b.enter().unwrap();
    let x2 = a.enter().unwrap();
    assert_eq!(a.in_flight(), 2);
    assert_eq!(b.in_flight(), 1);
    drop(x1);
    assert_eq!(a.in_flight(), 1);
    drop(y);
    // b can be unplugged while this thread is inside a.
    b.unplug().unwrap();
    drop(x2);
    assert_eq!(a.in_flight(), 0);
}

#[test]
fn more_accesses_than_slots_use_overflow() {
    let g = Gate::named("deep");
    let v: Vec<_> = (0..SLOTS + 5).map(|_| g.enter().unwrap()).collect();
    assert_eq!(g.in_flight(), SLOTS + 5);
    drop(v);
    assert_eq!(g.in_flight(), 0);
    g.unplug().unwrap();
}

#[test]
fn unplug_from_inside_own_access_is_refused() {
    let g = Gate::named("self");
    let a = g.enter().unwrap();
    let e = g.unplug().unwrap_err();
    assert!(matches!(e, UnplugError::InsideAccess(_)));
    assert!(g.is_unplugged());
    assert!(g.enter().is_err());
    drop(a);
    g.unplug().unwrap();
    assert!(g.is_drained());
}

#[test]
fn unplug_waits_for_in_flight_access() {
    let g = Gate::named("wait");
    let done = StdArc::new(StdBool::new(false));
    let (tx, rx) = std::sync::mpsc::channel();
    let g2 = g.clone();
    let d2 = done.clone();
    let t = std::thread::spawn(move || {
        let a = g2.enter().unwrap();
        tx.send(()).unwrap();
        // Stay inside until the unplug has begun, then finish the work.
        while !a.is_unplugging() {
            std::thread::yield_now();
        }
        d2.store(true, std::sync::atomic::Ordering::SeqCst);
    });
    rx.recv().unwrap();
    g.unplug().unwrap();
    assert!(done.load(std::sync::atomic::Ordering::SeqCst));
    t.join().unwrap();
}

#[test]
fn cancel_hooks_run_once_and_can_be_removed() {
    let g = Gate::new();
    let hits = StdArc::new(std::sync::atomic::AtomicUsize::new(0));
    let h1 = hits.clone();
    g.on_unplug(move || {
        h1.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    })
    .unwrap();
    let h2 = hits.clone();
    let id = g
        .on_unplug(move || {
            h2.fetch_add(10, std::sync::atomic::Ordering::SeqCst);
        })
        .unwrap();
    assert!(g.remove_hook(id));
    g.unplug().unwrap();
    g.unplug().unwrap();
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert!(g.on_unplug(|| ()).is_err());
}

/// The holder keeps its access until the watchdog has reported it, so the
/// test does not depend on how fast the machine is.
#[test]
fn watchdog_names_the_blocking_access() {
    let (stall_tx, stall_rx) = std::sync::mpsc::channel::<DrainStall>();
    let stall_tx = Mutex::new(stall_tx);
    let m = Monitor::new();
    let g = Gate::builder()
        .name("wd")
        .watchdog(Duration::from_millis(5))
        .monitor(&m)
        .on_stall(move |s| {
            let _ = lock(&stall_tx).send(s.clone());
        })
        .build();
    let g2 = g.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    let t = std::thread::Builder::new()
        .name("slowpoke".into())
        .spawn(move || {
            let _a = g2.enter_as("VIDIOC_DQBUF").unwrap();
            tx.send(()).unwrap();
            // Stay inside until the watchdog names us.
            stall_rx.recv().unwrap()
        })
        .unwrap();
    rx.recv().unwrap();
    let st = g.unplug().unwrap();
    assert_eq!(st.in_flight, 1);
    let first = t.join().unwrap();
    let b = &first.blockers[0];
    assert_eq!(first.gate, "wd");
    assert_eq!(b.thread, "slowpoke");
    assert_eq!(b.label, Some("VIDIOC_DQBUF"));
    assert!(b.since.is_some());
    assert!(first.to_string().contains("VIDIOC_DQBUF"));
    assert!(!g.stalls().is_empty());
    // The checker also files a report with the monitor.
    let reps = m.reports().all();
    assert!(!reps.is_empty());
    assert!(reps.iter().all(|r| r.kind == ReportKind::DrainStall));
    assert!(reps[0].message.contains("slowpoke"), "{}", reps[0]);
    assert_eq!(reps[0].object, Some(g.id()));
}

#[test]
fn no_stall_report_when_the_drain_is_prompt() {
    let m = Monitor::new();
    let g = Gate::builder()
        .watchdog(Duration::from_secs(3600))
        .monitor(&m)
        .build();
    drop(g.enter().unwrap());
    g.unplug().unwrap();
    assert!(g.stalls().is_empty());
    assert!(m.reports().is_empty());
    let kinds = m.journal().kinds(g.id());
    assert_eq!(kinds, vec![EventKind::UnplugBegin, EventKind::UnplugEnd]);
}

/// The stall callback runs without the gate lock held: it may query the gate.
#[test]
fn stall_callback_may_use_the_gate() {
    // The callback reaches the gate through this cell; it is emptied at the
    // end to break the cycle (gate -> callback -> cell -> gate).
    let cell: StdArc<Mutex<Option<Gate>>> = StdArc::new(Mutex::new(None));
    let (stall_tx, stall_rx) = std::sync::mpsc::channel::<usize>();
    let stall_tx = Mutex::new(stall_tx);
    let c2 = cell.clone();
    let g = Gate::builder()
        .watchdog(Duration::from_millis(1))
        .on_stall(move |_| {
            let g = lock(&c2).clone().unwrap();
            let n = g.stalls().len() + g.blockers().len();
            let _ = lock(&stall_tx).send(n);
        })
        .build();
    *lock(&cell) = Some(g.clone());
    let g2 = g.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    let t = std::thread::spawn(move || {
        let _a = g2.enter().unwrap();
        tx.send(()).unwrap();
        stall_rx.recv().unwrap()
    });
    rx.recv().unwrap();
    g.unplug().unwrap();
    assert!(t.join().unwrap() >= 1);
    lock(&cell).take();
}

/// A thread that holds more accesses than it has slots, then unplugs a gate
/// it entered through the overflow counter, is refused instead of waiting
/// for itself forever.
#[test]
fn unplug_from_inside_an_overflow_access_is_refused() {
    let other = Gate::named("other");
    let g = Gate::named("deep");
    let fill: Vec<_> = (0..SLOTS).map(|_| other.enter().unwrap()).collect();
    let a = g.enter().unwrap();
    assert_ne!(a.meta() & M_OVERFLOW, 0);
    assert_eq!(g.blockers().len(), 1);
    assert_ne!(g.blockers()[0].thread, "<overflow access>");
    assert!(matches!(g.unplug(), Err(UnplugError::InsideAccess(_))));
    drop(a);
    drop(fill);
    g.unplug().unwrap();
    assert_eq!(other.in_flight(), 0);
}

/// A panicking cancel hook must not leave concurrent unplugs waiting for a
/// wake-up step that never completes.
#[test]
fn panicking_hook_does_not_wedge_the_gate() {
    let g = Gate::named("p");
    g.on_unplug(|| panic!("hook failed")).unwrap();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| g.unplug()));
    assert!(r.is_err());
    assert!(g.enter().is_err());
    let st = g.unplug().unwrap();
    assert!(!st.first);
    assert!(g.is_drained());
}

/// A cancel hook that unplugs its own gate gets an error, not a deadlock.
#[test]
fn reentrant_unplug_from_a_hook_is_refused() {
    let g = Gate::named("re");
    let g2 = g.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    g.on_unplug(move || tx.send(g2.unplug().map(|_| ())).unwrap())
        .unwrap();
    g.unplug().unwrap();
    assert!(matches!(rx.recv().unwrap(), Err(UnplugError::Reentrant(_))));
}

/// Unplugging gate B never waits for a reader of gate A.
#[test]
fn unplug_ignores_other_gates_readers() {
    let a = Gate::named("a");
    let b = Gate::named("b");
    let (tx, rx) = std::sync::mpsc::channel();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let a2 = a.clone();
    let t = std::thread::spawn(move || {
        let _x = a2.enter().unwrap();
        tx.send(()).unwrap();
        done_rx.recv().unwrap();
    });
    rx.recv().unwrap();
    let st = b.unplug().unwrap();
    assert_eq!(st.in_flight, 0);
    assert_eq!(a.in_flight(), 1);
    done_tx.send(()).unwrap();
    t.join().unwrap();
    a.unplug().unwrap();
}

#[test]
fn concurrent_unplugs_all_wait_for_the_drain() {
    let g = Gate::named("cc");
    let done = StdArc::new(StdBool::new(false));
    let (tx, rx) = std::sync::mpsc::channel();
    let (g2, d2) = (g.clone(), done.clone());
    let holder = std::thread::spawn(move || {
        let a = g2.enter().unwrap();
        tx.send(()).unwrap();
        while !a.is_unplugging() {
            std::thread::yield_now();
        }
        d2.store(true, std::sync::atomic::Ordering::SeqCst);
    });
    rx.recv().unwrap();
    let us: Vec<_> = (0..3)
        .map(|_| {
            let (g, d) = (g.clone(), done.clone());
            std::thread::spawn(move || {
                g.unplug().unwrap();
                assert!(d.load(std::sync::atomic::Ordering::SeqCst));
            })
        })
        .collect();
    for u in us {
        u.join().unwrap();
    }
    holder.join().unwrap();
}

/// `Gate::unplug_all` unplugs every gate: each refuses entries, each drains,
/// results come back in order, and only the first unplug of each is `first`.
#[test]
fn unplug_all_unplugs_every_gate_in_order() {
    let gates: Vec<Gate> = (0..3).map(|i| Gate::named(format!("n{i}"))).collect();
    let refs: Vec<&Gate> = gates.iter().collect();
    // One of them was already unplugged on its own.
    gates[1].unplug().unwrap();
    let held = gates[2].clone();
    let (tx, rx) = std::sync::mpsc::channel();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let t = std::thread::spawn(move || {
        let a = held.enter().unwrap();
        tx.send(()).unwrap();
        done_rx.recv().unwrap();
        drop(a);
    });
    rx.recv().unwrap();
    // Ends the access before or during the unplug: either way the drain of
    // gate 2 returns only after it.
    let releaser = std::thread::spawn(move || done_tx.send(()).unwrap());
    let results = Gate::unplug_all(&refs);
    t.join().unwrap();
    releaser.join().unwrap();
    assert_eq!(results.len(), 3);
    let firsts: Vec<bool> = results.iter().map(|r| r.as_ref().unwrap().first).collect();
    assert_eq!(firsts, vec![true, false, true]);
    for g in &gates {
        assert!(g.is_drained());
        assert_eq!(g.enter().unwrap_err(), Gone);
    }
}

/// Every gate is woken before any is drained: a thread inside gate `a`,
/// asleep on a queue of gate `b`, is woken by `b`'s step 2, so the drain of
/// `a` (first in the list) ends. Unplugged one after the other, `a`'s drain
/// would wait for that thread forever.
#[test]
fn unplug_all_wakes_every_gate_before_draining_any() {
    let a = Gate::named("a");
    let b = Gate::named("b");
    let qb = StdArc::new(crate::WaitQueue::new(&b));
    let (a2, qb2) = (a.clone(), qb.clone());
    let (tx, rx) = std::sync::mpsc::channel();
    let t = std::thread::spawn(move || {
        let access = a2.enter().unwrap();
        tx.send(()).unwrap();
        qb2.wait_until(&access, crate::WaitOptions::default(), || None::<()>)
    });
    rx.recv().unwrap();
    let results = Gate::unplug_all(&[&a, &b]);
    assert!(results.iter().all(|r| r.is_ok()));
    assert_eq!(results[1].as_ref().unwrap().queues_woken, 1);
    assert_eq!(t.join().unwrap(), Err(crate::WaitError::Gone));
    assert!(a.is_drained() && b.is_drained());
}

/// A gate the caller is inside is refused (as by `Gate::unplug`), and the
/// others are unplugged and drained all the same.
#[test]
fn unplug_all_refuses_only_the_gate_the_caller_is_inside() {
    let inside = Gate::named("inside");
    let other = Gate::named("other");
    let access = inside.enter().unwrap();
    let results = Gate::unplug_all(&[&inside, &other]);
    assert!(matches!(results[0], Err(UnplugError::InsideAccess(_))));
    assert!(results[1].as_ref().unwrap().first);
    assert!(other.is_drained());
    assert!(inside.is_unplugged() && !inside.is_drained());
    drop(access);
    assert!(!inside.unplug().unwrap().first);
    assert!(inside.is_drained());
}
