//! The test driver's probe and remove, framework style: state released on
//! its last reference, registers as a device resource, a gated IRQ and work
//! item; the framework does the rest at unbind. [`TestDriver`] hands the
//! pre-fix style to its twin (`legacy.rs`).

use crate::chrdev::{NodeKind, NodeSpec};
use crate::device::Device;
use crate::driver::{Driver, ProbeCtx, RemoveCtx};
use crate::errno::KResult;
use crate::fops::{EventQueue, SharedMemory};
use crate::hw::{BusKind, Hardware};
use crate::irq::IrqReturn;
use crate::testdrv::CTRL_START;
use crate::testdrv::MEM_SIZE;
use crate::testdrv::MODALIAS;
use crate::testdrv::REG_COUNT;
use crate::testdrv::REG_CTRL;
use crate::testdrv::REG_DATA;
use crate::testdrv::REG_IRQ_EN;
use crate::testdrv::REG_STATUS;
use crate::testdrv::STATUS_READY;
use crate::testdrv::State;
use crate::testdrv::Style;
use crate::testdrv::TestData;
use crate::testdrv::driver_name;
use crate::testdrv::ops::Ops;
use crate::testdrv::ops::irq_handler;
use crate::testdrv::state::RegsAccess;
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

/// The test driver.
#[derive(Clone, Copy, Debug)]
pub struct TestDriver {
    /// Whether the driver is written in the framework style or as its pre-fix twin.
    pub style: Style,
}

/// Device behaviour: `CTRL_START` produces a word and raises the interrupt.
pub fn install_device_model(hw: &Hardware) {
    hw.set_write_hook(|hw, off, val| {
        if off == REG_CTRL && val & CTRL_START != 0 {
            let n = hw.peek(REG_COUNT).wrapping_add(1);
            hw.poke(REG_COUNT, n);
            hw.poke(REG_DATA, 0x1000 + n);
            hw.poke(REG_STATUS, STATUS_READY);
            if hw.peek(REG_IRQ_EN) != 0 {
                hw.raise_irq();
            }
        }
    });
}

pub(crate) fn node_name(dev: &Device) -> String {
    let n = dev.name().rsplit('.').next().unwrap_or("0");
    format!("testdrv{n}")
}

/// A fresh driver state around `regs`.
pub(crate) fn new_state(regs: RegsAccess) -> State {
    State {
        fifo: Mutex::new(VecDeque::new()),
        readq: Arc::new(EventQueue::new()),
        produced: AtomicU64::new(0),
        consumed: AtomicU32::new(0),
        opens: AtomicU64::new(0),
        written: AtomicU64::new(0),
        deferred: AtomicU64::new(0),
        disconnected: AtomicBool::new(false),
        mem: SharedMemory::zeroed(MEM_SIZE),
        regs,
    }
}

impl Driver for TestDriver {
    type Data = TestData;

    fn name(&self) -> &str {
        driver_name(self.style)
    }
    fn bus(&self) -> BusKind {
        BusKind::Platform
    }
    fn id_table(&self) -> &[&str] {
        &[MODALIAS]
    }

    fn probe(&self, ctx: &ProbeCtx<'_>) -> KResult<TestData> {
        match self.style {
            Style::Framework => probe(ctx),
            Style::Legacy => super::legacy::probe(ctx),
        }
    }

    fn remove(&self, ctx: &RemoveCtx<'_>, data: &TestData) {
        match self.style {
            Style::Framework => remove(ctx, data),
            Style::Legacy => super::legacy::remove(ctx, data),
        }
    }
}

fn probe(ctx: &ProbeCtx<'_>) -> KResult<TestData> {
    let name = node_name(ctx.device());
    let regs = ctx.ioremap()?;
    let state = ctx.alloc_shadow(
        "testdrv_state",
        &name,
        new_state(RegsAccess::Framework(regs.clone())),
    )?;
    let (s2, r2) = (state.clone(), regs.clone());
    ctx.request_irq("testdrv", move |ic| match ic.bound() {
        Some(b) => match r2.access(&b) {
            Ok(r) => irq_handler(&s2, r),
            Err(_) => IrqReturn::None,
        },
        None => IrqReturn::None,
    })?;
    // Gated by the binding and disabled by the framework at unbind.
    let st = state.clone();
    let work = ctx.work("testdrv-work", move |wc| {
        if let (Some(b), RegsAccess::Framework(d)) = (wc.bound(), &st.get().regs)
            && let Ok(r) = d.access(&b)
        {
            let _ = r.read(REG_COUNT);
            st.get().deferred.fetch_add(1, Ordering::AcqRel);
        }
    });
    let ops = Arc::new(Ops {
        state: state.clone(),
        style: Style::Framework,
        work,
    });
    let node = ctx.register_node(NodeSpec::new(NodeKind::Misc).name(name), ops)?;
    // Enable the interrupt.
    if let Ok(r) = regs.access(&ctx.bound()) {
        r.write(REG_IRQ_EN, 1);
    }
    Ok(TestData { state, node })
}

fn remove(ctx: &RemoveCtx<'_>, data: &TestData) {
    if let RegsAccess::Framework(d) = &data.state.get().regs
        && let Ok(r) = d.access(&ctx.bound())
    {
        r.write(REG_IRQ_EN, 0);
        r.write(REG_CTRL, 0);
    }
}
