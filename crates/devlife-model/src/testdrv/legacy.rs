//! The test driver's legacy twin: the pre-fix probe and remove. The state is
//! `devm_kzalloc`ed after a devm IRQ (so devm frees it first), the registers
//! are a raw mapping, the work item is never cancelled, and the node checks
//! its `registered` flag only at call entry. `remove` stops the device and
//! wakes sleepers; devm does the rest, whoever still points to the state.

use super::driver::new_state;
use super::ops::{Ops, irq_handler};
use super::state::RegsAccess;
use super::{REG_COUNT, REG_CTRL, REG_IRQ_EN, Style, TestData};
use crate::chrdev::{NodeKind, NodeSpec};
use crate::driver::{ProbeCtx, RemoveCtx};
use crate::errno::KResult;
use crate::legacy::{Devm, EntryCheck};
use std::sync::Arc;
use std::sync::atomic::Ordering;

pub(crate) fn probe(ctx: &ProbeCtx<'_>) -> KResult<TestData> {
    let name = super::driver::node_name(ctx.device());
    let regs = ctx.ioremap_unmanaged()?;
    // The IRQ is requested before the state exists.
    let r2 = regs.clone();
    let state = ctx.devm_irq_before_state(
        "testdrv-legacy",
        "drvdata",
        "testdrv_state",
        &name,
        new_state(RegsAccess::Legacy(regs.clone())),
        move |s| irq_handler(s, &r2),
    )?;
    // INIT_WORK on the system workqueue, never cancelled.
    let (st, r) = (state.clone(), regs.clone());
    let work = ctx
        .kernel()
        .system_wq()
        .work("testdrv-legacy-work", None, move |_| {
            let _ = r.read(REG_COUNT);
            st.get().deferred.fetch_add(1, Ordering::AcqRel);
        });
    let ops = Arc::new(Ops {
        state: state.clone(),
        style: Style::Legacy,
        work,
    });
    let spec = NodeSpec::new(NodeKind::Misc).name(name).entry_check();
    let node = ctx.register_node(spec, ops)?;
    // Enable the interrupt.
    regs.write(REG_IRQ_EN, 1);
    Ok(TestData { state, node })
}

pub(crate) fn remove(_ctx: &RemoveCtx<'_>, data: &TestData) {
    let st = data.state.get();
    if let RegsAccess::Legacy(r) = &st.regs {
        // The pre-fix driver: stop the device, tell sleepers, and leave the
        // rest to devm.
        r.write(REG_CTRL, 0);
        st.disconnected.store(true, Ordering::Release);
        st.readq.wake_all();
    }
}
