//! Fault injection at every fallible step of probe and registration, for
//! every target: each failure must unwind with nothing leaked and no checker
//! report, and binding again afterwards must work.

use devlife_harness::stress::{self, Style, fault_sweep};
use devlife_model::FaultPoint;

#[test]
fn every_probe_and_registration_step_unwinds_cleanly() {
    for t in stress::all_targets() {
        let sweep = fault_sweep(&*t, Style::Framework);
        eprintln!(
            "{}: {} case(s), {} failing registration itself",
            sweep.target,
            sweep.cases.len(),
            sweep.cases.iter().filter(|c| c.register.is_err()).count()
        );
        assert!(
            sweep.baseline_clean,
            "{}: the fault-free registration did not end clean",
            sweep.target
        );
        assert!(
            !sweep.cases.is_empty(),
            "{}: no fallible step was reached",
            sweep.target
        );
        // Every step the driver declares has a fault point that was reached.
        assert!(
            sweep.missing.is_empty(),
            "{}: steps never reached: {:?} (hits {:?})",
            sweep.target,
            sweep.missing,
            sweep.hits
        );
        // A failed driver or module registration was followed by a second
        // registration, which bound every device.
        for c in sweep.cases.iter().filter(|c| c.register.is_err()) {
            assert_eq!(c.rebind_ok, Some(true), "{}: {c}", sweep.target);
        }
        let failures: Vec<String> = sweep.failures().iter().map(|c| c.to_string()).collect();
        assert!(
            failures.is_empty(),
            "{}: {} of {} failure(s) did not unwind cleanly:\n{}",
            sweep.target,
            failures.len(),
            sweep.cases.len(),
            failures.join("\n")
        );
        // One case per hit of every point.
        let total: u64 = sweep.hits.iter().map(|(_, n)| n).sum();
        assert_eq!(sweep.cases.len() as u64, total, "{}", sweep.target);
    }
}

#[test]
fn testdrv_sweep_covers_the_probe_steps() {
    let t = stress::target("testdrv").unwrap();
    let sweep = fault_sweep(&*t, Style::Framework);
    let hits = |p: FaultPoint| {
        sweep
            .hits
            .iter()
            .find(|(q, _)| *q == p)
            .map_or(0, |(_, n)| *n)
    };
    // Two devices, one probe each: ioremap, state allocation, IRQ, minor,
    // node registration.
    for p in [
        FaultPoint::IoRemap,
        FaultPoint::Alloc,
        FaultPoint::IrqRequest,
        FaultPoint::MinorAlloc,
        FaultPoint::NodeRegister,
    ] {
        assert_eq!(hits(p), 2, "{p:?}: {:?}", sweep.hits);
    }
    // Each injected failure really failed a probe: the device stayed
    // unbound until the rebind, which then worked.
    for c in &sweep.cases {
        assert_eq!(c.injected, 1, "{c}");
        // Module and driver registration fail the registration itself; every
        // other point fails a probe, which is not an error of registering.
        let registration = matches!(c.point, FaultPoint::ModuleLoad | FaultPoint::DriverRegister);
        assert_eq!(c.register.is_err(), registration, "{c}");
        assert_eq!(c.rebind_ok, Some(true), "{c}");
    }
}

#[test]
fn legacy_testdrv_probe_unwinds_too() {
    // The legacy twin's probe leaves its state and IRQ to devm; the driver
    // core runs the devm actions when probe fails, so it unwinds too.
    let t = stress::target("testdrv").unwrap();
    let sweep = fault_sweep(&*t, Style::Legacy);
    let total: u64 = sweep.hits.iter().map(|(_, n)| n).sum();
    assert!(total >= 10, "{:?}", sweep.hits);
    assert_eq!(sweep.cases.len() as u64, total);
    assert!(sweep.failures().is_empty(), "{:?}", sweep.failures());
}

/// A driver with the classic error-path bug: when registering its node
/// fails, it returns without freeing its state (a missing `kfree`).
mod leaky {
    use devlife_harness::stress::{Instance, KernelOp, NodeProfile, Style, Target, nodes_of};
    use devlife_model::{
        BusKind, DeviceSpec, Driver, Errno, FaultPoint, FileOps, KResult, Kernel, Node, NodeKind,
        NodeSpec, OpCtx, ProbeCtx, RemoveCtx,
    };
    use std::sync::Arc;

    struct Ops;
    impl FileOps for Ops {
        type Private = ();
        fn open(&self, _ctx: &OpCtx<'_>) -> KResult<()> {
            Ok(())
        }
    }

    struct Leaky;
    impl Driver for Leaky {
        type Data = (devlife::Ref<u32>, Node);
        fn name(&self) -> &str {
            "leaky"
        }
        fn bus(&self) -> BusKind {
            BusKind::Platform
        }
        fn id_table(&self) -> &[&str] {
            &["platform:leaky"]
        }
        fn probe(&self, ctx: &ProbeCtx<'_>) -> KResult<Self::Data> {
            let state = ctx.alloc("leaky_state", 0u32)?;
            match ctx.register_node(NodeSpec::new(NodeKind::Misc).name("leaky0"), Arc::new(Ops)) {
                Ok(node) => Ok((state, node)),
                Err(e) => {
                    // The bug: the error path forgets to free the state.
                    std::mem::forget(state);
                    Err(e)
                }
            }
        }
        fn remove(&self, _ctx: &RemoveCtx<'_>, _data: &Self::Data) {}
    }

    pub struct LeakyTarget;
    struct LeakyInstance(Kernel);

    impl Target for LeakyTarget {
        fn name(&self) -> &'static str {
            "leaky"
        }
        fn description(&self) -> &'static str {
            "a driver that leaks its state when probe fails late"
        }
        fn register(&self, k: &Kernel, _style: Style) -> KResult<Box<dyn Instance>> {
            let m = k.load_module("leaky")?;
            if let Err(e) = k.register_driver(Leaky, Some(&m)) {
                drop(m);
                let _ = k.unload_module("leaky");
                return Err(e);
            }
            k.add_device(DeviceSpec::platform("leaky", 0))?;
            Ok(Box::new(LeakyInstance(k.clone())))
        }
        fn fault_points(&self) -> &'static [FaultPoint] {
            &[
                FaultPoint::Alloc,
                FaultPoint::MinorAlloc,
                FaultPoint::NodeRegister,
            ]
        }
    }

    impl Instance for LeakyInstance {
        fn nodes(&self) -> Vec<Node> {
            nodes_of(&self.0, |d| d.modalias() == "platform:leaky")
        }
        fn kernel_ops(&self) -> &'static [KernelOp] {
            &[]
        }
        fn perform(&self, _op: KernelOp, _rng: &mut dyn rand::RngCore) -> KResult<()> {
            Err(Errno::EINVAL)
        }
        fn profile(&self, _node: &Node) -> std::sync::Arc<NodeProfile> {
            std::sync::Arc::default()
        }
        fn fully_bound(&self) -> bool {
            self.0.device("leaky.0").is_some_and(|d| d.is_bound())
        }
        fn restore(&self) {
            if let Some(d) = self.0.device("leaky.0") {
                self.0.attach(&d);
            }
        }
    }
}

#[test]
fn the_sweep_catches_a_leaking_error_path() {
    let sweep = fault_sweep(&leaky::LeakyTarget, Style::Framework);
    assert!(sweep.baseline_clean);
    assert!(sweep.missing.is_empty(), "{:?}", sweep.hits);
    let bad: Vec<(FaultPoint, &Vec<String>)> = sweep
        .failures()
        .iter()
        .map(|c| (c.point, &c.leaks))
        .collect();
    // Failing the allocation itself leaks nothing; failing either step of
    // the node registration after it leaks the state.
    assert_eq!(bad.len(), 2, "{bad:?}");
    for (p, leaks) in bad {
        assert!(
            matches!(p, FaultPoint::MinorAlloc | FaultPoint::NodeRegister),
            "{p:?}"
        );
        assert_eq!(leaks, &vec!["leaky_state: 1".to_owned()], "{p:?}");
    }
}
