//! The mutant driver: the framework-style skeleton every mutant shares, and
//! the one place per [`Mutation`] where it goes wrong (each marked `BUG`).

use super::Mutation;
use devlife::check::{CheckedMutex, Shadow};
use devlife::{Devres, Gate, WaitError, WaitOptions, WaitQueue};
use devlife_model::{
    BlockKind, BoundOnly, BusKind, Driver, Errno, EventQueue, FileOps, IrqHandle, IrqRequest,
    IrqReturn, KResult, Node, NodeKind, NodeSpec, OpCtx, ProbeCtx, Registers, ReleaseCtx,
    RemoveCtx, current_signal,
};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

/// `ioctl`: takes the driver lock, returns 0 (testdrv's `TESTDRV_PING` number).
pub const IOC_PING: u32 = 0x7401;

/// The control register (0 stops the engine).
const REG_CTRL: u32 = 0x00;

/// A mutant driver (module docs of [`super`]).
#[derive(Clone, Copy, Debug)]
pub struct MutantDriver {
    /// The one lifetime bug this driver carries.
    pub mutation: Mutation,
}

/// Driver state, released on its last reference (framework style).
struct State {
    mutation: Mutation,
    regs: Devres<Registers>,
    /// The engine's mode: meaningful only while bound.
    engine: BoundOnly<AtomicU32>,
    /// The driver lock (`struct mutex lock`), checked for lock order.
    lock: CheckedMutex<u64>,
    readq: EventQueue,
    /// `HwAfterRemove`: a register handle copied out of the resource.
    raw_regs: Option<Registers>,
    /// `DoubleFree`: a separately allocated buffer.
    buffer: Option<Shadow<[u8; 16]>>,
    /// `Leak`: the state's own node.
    own_node: OnceLock<Node>,
    /// `Hang`: a private gate and a queue of it.
    own_gate: Gate,
    own_wq: WaitQueue,
    /// `IrqAfterRelease`: the IRQ, freed when the state goes.
    irq: OnceLock<IrqHandle>,
    irqs: Arc<AtomicU64>,
}

impl Drop for State {
    fn drop(&mut self) {
        if self.mutation == Mutation::DoubleFree
            && let Some(b) = &self.buffer
        {
            // BUG: `remove()` already freed it.
            b.free();
        }
        // `IrqAfterRelease`: the handle drops here, after remove() (BUG).
    }
}

/// What the binding holds.
pub struct Data {
    state: Shadow<State>,
    node: Node,
}

struct Ops {
    state: Shadow<State>,
}

impl FileOps for Ops {
    type Private = ();

    fn open(&self, _ctx: &OpCtx<'_>) -> KResult<()> {
        let _ = self.state.get();
        Ok(())
    }

    fn release(&self, _ctx: &ReleaseCtx<'_>, _p: ()) {
        // `release` runs outside the gates, possibly after remove(): memory only.
        let st = self.state.get(); // BUG (UseAfterFree): remove() freed it
        match st.mutation {
            // BUG: engine bookkeeping belongs in remove().
            Mutation::UseAfterRemove => st.engine.get().store(0, Ordering::Release),
            // BUG: stopping the hardware belongs in remove().
            Mutation::HwAfterRemove => {
                if let Some(r) = &st.raw_regs {
                    r.write(REG_CTRL, 0);
                }
            }
            _ => {}
        }
    }

    fn read(&self, ctx: &OpCtx<'_>, _p: &(), _buf: &mut [u8]) -> KResult<usize> {
        let st = self.state.get();
        if st.mutation != Mutation::Hang {
            // Correct: sleep on the node's behalf; unplug wakes it with ENODEV.
            return ctx.wait_event(&st.readq, || None::<usize>);
        }
        // BUG: a queue of a gate nobody unplugs; the node's unplug cannot
        // wake it, and its drain waits for this call forever.
        let access = st.own_gate.enter().map_err(|_| Errno::ENODEV)?;
        let kernel = ctx.kernel().ok_or(Errno::ENODEV)?;
        let _blocked = kernel.activity().block(BlockKind::Wait, ctx.node().name());
        let signal = current_signal();
        let opts = WaitOptions {
            timeout: None,
            signal: Some(&signal),
        };
        match st.own_wq.wait_until(&access, opts, || None::<usize>) {
            Ok(n) => Ok(n),
            Err(WaitError::Interrupted) => Err(Errno::EINTR),
            Err(_) => Err(Errno::ENODEV),
        }
    }

    fn ioctl(&self, _ctx: &OpCtx<'_>, _p: &(), cmd: u32, _arg: &mut [u8]) -> KResult<i64> {
        match cmd {
            IOC_PING => {
                let st = self.state.get();
                let mut g = st.lock.lock();
                *g += 1;
                Ok(0)
            }
            _ => Err(Errno::ENOTTY),
        }
    }

    fn ioctl_name(&self, cmd: u32) -> &'static str {
        match cmd {
            IOC_PING => "TESTDRV_PING",
            _ => "ioctl",
        }
    }
}

impl Driver for MutantDriver {
    type Data = Data;

    fn name(&self) -> &str {
        self.mutation.driver_name()
    }
    fn bus(&self) -> BusKind {
        BusKind::Platform
    }
    fn id_table(&self) -> &[&str] {
        &[super::MODALIAS]
    }

    fn probe(&self, ctx: &ProbeCtx<'_>) -> KResult<Data> {
        let m = self.mutation;
        let regs = ctx.ioremap()?;
        let raw_regs = match m {
            // BUG: a copy that outlives the resource's revocation.
            Mutation::HwAfterRemove => Some(
                regs.access(&ctx.bound())
                    .map_err(|_| Errno::ENODEV)?
                    .clone(),
            ),
            _ => None,
        };
        let buffer = match m {
            Mutation::DoubleFree => {
                Some(ctx.alloc_shadow("mutant_buffer", "mutant buffer", [0u8; 16])?)
            }
            _ => None,
        };
        let own_gate = Gate::named(format!("{} private gate", m.driver_name()));
        let own_wq = WaitQueue::new(&own_gate);
        let state = ctx.alloc_shadow(
            "mutant_state",
            &format!("{} state", m.driver_name()),
            State {
                mutation: m,
                regs,
                engine: ctx.bound_only("mutant engine", AtomicU32::new(1)),
                lock: CheckedMutex::new(ctx.monitor(), format!("{}.lock", m.driver_name()), 0),
                readq: EventQueue::new(),
                raw_regs,
                buffer,
                own_node: OnceLock::new(),
                own_gate,
                own_wq,
                irq: OnceLock::new(),
                irqs: Arc::new(AtomicU64::new(0)),
            },
        )?;
        if m == Mutation::IrqAfterRelease {
            // BUG: requested on the controller directly, so neither gated by
            // the binding nor freed by the framework; freed with the state.
            let line = ctx.hardware().irq().ok_or(Errno::ENXIO)?;
            let n = state.get().irqs.clone();
            let h = ctx.kernel().irq().request(
                line,
                IrqRequest::new("mutant", move |_| {
                    n.fetch_add(1, Ordering::Relaxed);
                    IrqReturn::Handled
                }),
            )?;
            let _ = state.get().irq.set(h);
        }
        let node = ctx.register_node(
            NodeSpec::new(NodeKind::Misc).name("mutant0"),
            Arc::new(Ops {
                state: state.clone(),
            }),
        )?;
        if m == Mutation::Leak {
            // BUG: node -> ops -> state -> node: nothing is ever released.
            let _ = state.get().own_node.set(node.clone());
        }
        Ok(Data { state, node })
    }

    fn remove(&self, ctx: &RemoveCtx<'_>, data: &Data) {
        let st = data.state.get();
        // Correct for every mutant: stop the engine while bound.
        if let Ok(r) = st.regs.access(&ctx.bound()) {
            r.write(REG_CTRL, 0);
        }
        st.engine.get().store(0, Ordering::Release);
        match self.mutation {
            // BUG: open files still point to the state.
            Mutation::UseAfterFree => data.state.free(),
            // First free (the state's release frees it again).
            Mutation::DoubleFree => {
                if let Some(b) = &st.buffer {
                    b.free();
                }
            }
            Mutation::LockOrder => {
                // BUG: the node's calls take this lock; unregistering waits
                // for them while holding it.
                let _g = st.lock.lock();
                let _ = data.node.unregister();
            }
            _ => {}
        }
    }
}
