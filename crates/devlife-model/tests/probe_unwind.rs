//! The framework's probe unwinding ([`ProbeCtx::undo_on_error`]): the undo
//! actions of a failed probe run once, the last registered first, before the
//! framework's teardown (nodes, devm actions, device resources); those of a
//! successful probe never run, not even at unbind.

use devlife_model::legacy::Devm;
use devlife_model::{
    BusKind, DeviceSpec, Driver, Errno, FaultPoint, FileOps, KResult, Kernel, NodeKind, NodeSpec,
    OpCtx, ProbeCtx, RemoveCtx, UnbindPhase,
};
use parking_lot::Mutex;
use std::sync::Arc;

type Log = Arc<Mutex<Vec<String>>>;

struct NoOps;

impl FileOps for NoOps {
    type Private = ();
    fn open(&self, _ctx: &OpCtx<'_>) -> KResult<()> {
        Ok(())
    }
}

/// A driver whose probe alternates an undo action with an allocation
/// (fault point `Alloc`), registers a node in the middle, mixes in devm
/// actions, and then fails or not.
struct Stepper {
    log: Log,
    kernel: Kernel,
    fail_at_end: bool,
}

impl Stepper {
    fn note(&self, what: String) {
        self.log.lock().push(what);
    }
}

impl Driver for Stepper {
    type Data = ();
    fn name(&self) -> &str {
        "stepper"
    }
    fn bus(&self) -> BusKind {
        BusKind::Platform
    }
    fn id_table(&self) -> &[&str] {
        &["platform:stepper"]
    }
    fn probe(&self, ctx: &ProbeCtx<'_>) -> KResult<()> {
        for i in 1..=3 {
            let _ = ctx.alloc("stepper_obj", i)?;
            let (log, k) = (self.log.clone(), self.kernel.clone());
            // Each undo action records whether the probe's node is still in
            // /dev while it runs.
            ctx.undo_on_error(&format!("step {i}"), move || {
                let in_dev = k.nodes().iter().any(|n| n.name() == "stepper0");
                log.lock().push(format!("undo {i} node={in_dev}"));
            });
            let log = self.log.clone();
            ctx.devm_add_action(&format!("devm {i}"), move || {
                log.lock().push(format!("devm {i}"))
            });
            if i == 1 {
                ctx.register_node(
                    NodeSpec::new(NodeKind::Misc).name("stepper0"),
                    Arc::new(NoOps),
                )?;
            }
        }
        self.note("probe end".into());
        if self.fail_at_end {
            Err(Errno::EIO)
        } else {
            Ok(())
        }
    }
    fn remove(&self, _ctx: &RemoveCtx<'_>, _data: &()) {
        self.note("remove".into());
    }
}

fn setup(fail_at_end: bool, fail_alloc: Option<u64>) -> (Kernel, Log, devlife_model::Device) {
    let k = Kernel::new();
    let log: Log = Arc::default();
    if let Some(n) = fail_alloc {
        k.faults().fail_nth(FaultPoint::Alloc, n);
    }
    let l = log.clone();
    k.set_unbind_hook(move |_, p| {
        if p == UnbindPhase::Begin {
            l.lock().push("teardown".into());
        }
    });
    k.register_driver(
        Stepper {
            log: log.clone(),
            kernel: k.clone(),
            fail_at_end,
        },
        None,
    )
    .unwrap();
    let dev = k.add_device(DeviceSpec::platform("stepper", 0)).unwrap();
    (k, log, dev)
}

fn take(log: &Log) -> Vec<String> {
    std::mem::take(&mut *log.lock())
}

#[test]
fn failed_probe_runs_undo_actions_in_reverse_before_the_teardown() {
    let (k, log, dev) = setup(true, None);
    assert!(!dev.is_bound());
    assert_eq!(
        take(&log),
        [
            "probe end",
            // The driver's own error path: reverse order, the node still in
            // /dev (the framework has not begun).
            "undo 3 node=true",
            "undo 2 node=true",
            "undo 1 node=true",
            // Then the framework: teardown, devm actions in reverse.
            "teardown",
            "devm 3",
            "devm 2",
            "devm 1",
        ]
    );
    assert!(k.nodes().is_empty());
    // Each action is in the device's journal.
    let notes = k.monitor().journal().history(dev.id());
    for i in 1..=3 {
        let want = format!("probe unwind: step {i}");
        assert!(
            notes.iter().any(|e| e.to_string().contains(&want)),
            "{want} missing from {notes:?}"
        );
    }
}

#[test]
fn successful_probe_forgets_its_undo_actions_even_at_unbind() {
    let (k, log, dev) = setup(false, None);
    assert!(dev.is_bound());
    assert_eq!(take(&log), ["probe end"]);
    k.hot_unplug(&dev).unwrap();
    // remove() and the devm actions, no undo action.
    assert_eq!(
        take(&log),
        ["teardown", "remove", "devm 3", "devm 2", "devm 1"]
    );
}

#[test]
fn a_fault_point_unwinds_exactly_the_steps_done_before_it() {
    // Allocation n fails: the n-1 steps before it are undone (reverse), the
    // ones after it were never registered.
    for n in 1..=3u64 {
        let (k, log, dev) = setup(false, Some(n));
        assert_eq!(k.faults().injected(), 1, "alloc #{n}");
        assert!(!dev.is_bound(), "alloc #{n}");
        let done = n - 1;
        let mut want: Vec<String> = (1..=done)
            .rev()
            .map(|i| format!("undo {i} node=true"))
            .collect();
        want.push("teardown".into());
        want.extend((1..=done).rev().map(|i| format!("devm {i}")));
        assert_eq!(take(&log), want, "alloc #{n}");
        assert!(k.nodes().is_empty(), "alloc #{n}");
        assert_eq!(k.monitor().ledger().live("binding"), 0, "alloc #{n}");
        // The failed probe left nothing behind: the next bind works and its
        // undo actions stay unused.
        k.sysfs_bind("stepper", dev.name()).unwrap();
        assert!(dev.is_bound(), "alloc #{n}");
        assert_eq!(take(&log), ["probe end"], "alloc #{n}");
    }
}
