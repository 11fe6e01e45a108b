//! A small misc-like test driver, in both styles, used by this crate's tests,
//! the drivers crate and the harness.
//!
//! The device (`platform:devlife-testdrv`) has a few registers and an
//! interrupt. Writing [`CTRL_START`] to [`REG_CTRL`] makes it produce a data
//! word and raise its interrupt; the handler moves the word into a FIFO and
//! wakes readers. The driver exposes one misc node (`testdrvN`) with:
//!
//! * a blocking `read` of 4-byte words from the FIFO (`EAGAIN` if non-blocking);
//! * `write` of words into the data register (hardware access);
//! * ioctls: [`IOC_PING`] (memory only), [`IOC_HWOP`] (N register reads that
//!   may sleep in the hardware: latency/stall), [`IOC_TRIGGER`] (start the
//!   device), [`IOC_WAIT`] (sleep until N words were produced, like DQBUF),
//!   [`IOC_STATS`], [`IOC_DEFER`] (queue a work item that touches the
//!   hardware and the state);
//! * `poll` (IN when the FIFO is not empty) and `mmap` of a 4 KiB buffer.
//!
//! [`Style::Framework`] is written the way the seeds say: state released on
//! the last reference, registers as a revocable device resource, a gated IRQ,
//! every op gated. [`Style::Legacy`] is the pre-fix driver: state allocated
//! with `devm_kzalloc` (freed at unbind), raw register pointer, a devm IRQ
//! requested before the state (so devm frees the state first), and a node
//! with a `registered` flag checked only at call entry. The checkers stay
//! silent for the first and fire for the second.

use crate::chrdev::{Node, NodeKind, NodeSpec};
use crate::device::{Device, DeviceSpec};
use crate::driver::{Driver, ProbeCtx, RemoveCtx};
use crate::errno::{Errno, KResult};
use crate::fops::{
    EventQueue, FileOps, MmapRequest, OpCtx, PollMask, PollTable, ReleaseCtx, SharedMemory, VmOps,
};
use crate::hw::{BusKind, Hardware, Registers};
use crate::irq::{IrqDevId, IrqHandle, IrqReturn};
use crate::kernel::Kernel;
use crate::module::Module;
use crate::work::Work;
use devlife::Devres;
use devlife::check::Shadow;
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

/// Control register.
pub const REG_CTRL: u32 = 0x00;
/// Status register ([`STATUS_READY`]).
pub const REG_STATUS: u32 = 0x04;
/// Data register.
pub const REG_DATA: u32 = 0x08;
/// Interrupt enable register.
pub const REG_IRQ_EN: u32 = 0x0c;
/// Words produced by the device so far.
pub const REG_COUNT: u32 = 0x10;
/// `CTRL` bit: produce one word.
pub const CTRL_START: u32 = 1;
/// `STATUS` bit: a word is ready in `DATA`.
pub const STATUS_READY: u32 = 1;

/// `ioctl`: returns 0, touches only memory.
pub const IOC_PING: u32 = 0x7401;
/// `ioctl`: `arg` = u32 LE count N; performs N reads of `STATUS` (each may
/// sleep in the hardware) and writes the last value back into `arg`.
pub const IOC_HWOP: u32 = 0x7402;
/// `ioctl`: makes the device produce one word (and interrupt).
pub const IOC_TRIGGER: u32 = 0x7403;
/// `ioctl`: `arg` = u32 LE N; sleeps until N words were produced in total.
pub const IOC_WAIT: u32 = 0x7404;
/// `ioctl`: fills `arg` (>= 16 bytes) with u64 LE opens and words produced,
/// and deferred-work runs if `arg` has 24 bytes or more.
pub const IOC_STATS: u32 = 0x7405;

/// `ioctl`: queues the driver's work item (returns 1 if queued, 0 if it was
/// already pending). The work reads `COUNT` and bumps a counter in the state.
pub const IOC_DEFER: u32 = 0x7406;

/// Size of the mmap-able buffer.
pub const MEM_SIZE: usize = 4096;

/// Driver name of each style.
pub fn driver_name(style: Style) -> &'static str {
    match style {
        Style::Framework => "testdrv",
        Style::Legacy => "testdrv-legacy",
    }
}

/// Module name of each style.
pub fn module_name(style: Style) -> &'static str {
    driver_name(style)
}

/// Modalias the driver matches.
pub const MODALIAS: &str = "platform:devlife-testdrv";

/// How the driver is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Style {
    /// The framework style (no checker may fire).
    Framework,
    /// The pre-fix style (checkers fire).
    Legacy,
}

enum RegsAccess {
    Framework(Devres<Registers>),
    Legacy(Registers),
}

/// Driver state (`struct testdrv`).
pub struct State {
    fifo: Mutex<VecDeque<u32>>,
    readq: Arc<EventQueue>,
    produced: AtomicU64,
    consumed: AtomicU32,
    opens: AtomicU64,
    written: AtomicU64,
    deferred: AtomicU64,
    disconnected: AtomicBool,
    mem: SharedMemory,
    regs: RegsAccess,
}

impl State {
    /// Words produced (seen by the IRQ handler) so far.
    pub fn produced(&self) -> u64 {
        self.produced.load(Ordering::Acquire)
    }
    /// Words written through `write`.
    pub fn written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }
    /// Runs of the deferred work so far.
    pub fn deferred(&self) -> u64 {
        self.deferred.load(Ordering::Acquire)
    }
    /// Open files right now (maintained by open/release).
    pub fn opens(&self) -> u64 {
        self.opens.load(Ordering::Acquire)
    }
}

/// The test driver.
#[derive(Clone, Copy, Debug)]
pub struct TestDriver {
    /// Style.
    pub style: Style,
}

/// What the binding holds.
pub struct TestData {
    /// The state (the binding's reference).
    pub state: Shadow<State>,
    /// The node.
    pub node: Node,
    irq: IrqHandle,
}

/// Per-file data.
pub struct FilePriv {
    reads: AtomicU64,
}

struct Ops {
    state: Shadow<State>,
    style: Style,
    // Held by the ops, not the state: the work's function holds the state.
    work: Work,
}

fn word_arg(arg: &[u8]) -> KResult<u32> {
    let b: [u8; 4] = arg
        .get(..4)
        .ok_or(Errno::EFAULT)?
        .try_into()
        .map_err(|_| Errno::EFAULT)?;
    Ok(u32::from_le_bytes(b))
}

impl Ops {
    /// Runs `f` with the registers: framework through the revocable resource
    /// (entering the binding's gate, held across hardware sleeps), legacy
    /// through the raw pointer.
    fn with_regs<R>(&self, f: impl FnOnce(&Registers) -> R) -> KResult<R> {
        let st = self.state.get();
        match &st.regs {
            RegsAccess::Framework(d) => {
                let g = d.try_access().map_err(|_| Errno::ENODEV)?;
                Ok(f(&g))
            }
            RegsAccess::Legacy(r) => Ok(f(r)),
        }
    }
}

impl FileOps for Ops {
    type Private = FilePriv;

    fn open(&self, _ctx: &OpCtx<'_>) -> KResult<FilePriv> {
        self.state.get().opens.fetch_add(1, Ordering::AcqRel);
        Ok(FilePriv {
            reads: AtomicU64::new(0),
        })
    }

    fn release(&self, _ctx: &ReleaseCtx<'_>, _p: FilePriv) {
        // Memory only. In the legacy style the state may already be freed:
        // this is the `subdev_close` use-after-free.
        self.state.get().opens.fetch_sub(1, Ordering::AcqRel);
    }

    fn read(&self, ctx: &OpCtx<'_>, p: &FilePriv, buf: &mut [u8]) -> KResult<usize> {
        if buf.len() < 4 {
            return Err(Errno::EINVAL);
        }
        let max = buf.len() / 4;
        let st = self.state.get();
        let legacy = self.style == Style::Legacy;
        let words = ctx.wait_event(&st.readq, || {
            let st = self.state.get();
            if legacy && st.disconnected.load(Ordering::Acquire) {
                return Some(Err(Errno::ENODEV));
            }
            let mut f = st.fifo.lock();
            if f.is_empty() {
                None
            } else {
                let n = f.len().min(max);
                Some(Ok(f.drain(..n).collect::<Vec<u32>>()))
            }
        })??;
        for (i, w) in words.iter().enumerate() {
            buf[i * 4..i * 4 + 4].copy_from_slice(&w.to_le_bytes());
        }
        p.reads.fetch_add(1, Ordering::Relaxed);
        Ok(words.len() * 4)
    }

    fn write(&self, _ctx: &OpCtx<'_>, _p: &FilePriv, buf: &[u8]) -> KResult<usize> {
        let words = buf.len() / 4;
        if words == 0 {
            return Err(Errno::EINVAL);
        }
        self.with_regs(|r| {
            for c in buf.chunks_exact(4) {
                r.write(REG_DATA, u32::from_le_bytes([c[0], c[1], c[2], c[3]]));
            }
        })?;
        // Bookkeeping after the (possibly slow) hardware access.
        self.state
            .get()
            .written
            .fetch_add(words as u64, Ordering::Relaxed);
        Ok(words * 4)
    }

    fn ioctl(&self, ctx: &OpCtx<'_>, _p: &FilePriv, cmd: u32, arg: &mut [u8]) -> KResult<i64> {
        match cmd {
            IOC_PING => {
                let _ = self.state.get();
                Ok(0)
            }
            IOC_HWOP => {
                let n = word_arg(arg)?;
                let v = self.with_regs(|r| {
                    let mut v = 0;
                    for _ in 0..n {
                        v = r.read(REG_STATUS);
                    }
                    v
                })?;
                // In the legacy style the state may be gone by now.
                let _ = self.state.get().produced();
                arg[..4].copy_from_slice(&v.to_le_bytes());
                Ok(0)
            }
            IOC_TRIGGER => {
                self.with_regs(|r| r.write(REG_CTRL, CTRL_START))?;
                Ok(0)
            }
            IOC_WAIT => {
                let n = u64::from(word_arg(arg)?);
                let st = self.state.get();
                let legacy = self.style == Style::Legacy;
                ctx.wait_event(&st.readq, || {
                    let st = self.state.get();
                    if legacy && st.disconnected.load(Ordering::Acquire) {
                        return Some(Err(Errno::ENODEV));
                    }
                    (st.produced() >= n).then_some(Ok(()))
                })??;
                Ok(0)
            }
            IOC_DEFER => Ok(i64::from(self.work.schedule())),
            IOC_STATS => {
                let st = self.state.get();
                let out = arg.get_mut(..16).ok_or(Errno::EFAULT)?;
                out[..8].copy_from_slice(&st.opens().to_le_bytes());
                out[8..].copy_from_slice(&st.produced().to_le_bytes());
                if let Some(d) = arg.get_mut(16..24) {
                    d.copy_from_slice(&st.deferred().to_le_bytes());
                }
                Ok(0)
            }
            _ => Err(Errno::ENOTTY),
        }
    }

    fn ioctl_name(&self, cmd: u32) -> &'static str {
        match cmd {
            IOC_PING => "TESTDRV_PING",
            IOC_HWOP => "TESTDRV_HWOP",
            IOC_TRIGGER => "TESTDRV_TRIGGER",
            IOC_WAIT => "TESTDRV_WAIT",
            IOC_STATS => "TESTDRV_STATS",
            IOC_DEFER => "TESTDRV_DEFER",
            _ => "ioctl",
        }
    }

    fn poll(&self, _ctx: &OpCtx<'_>, _p: &FilePriv, table: &mut PollTable) -> PollMask {
        let st = self.state.get();
        table.wait(&st.readq);
        let mut m = PollMask::OUT | PollMask::WRNORM;
        if !st.fifo.lock().is_empty() {
            m |= PollMask::IN | PollMask::RDNORM;
        }
        if self.style == Style::Legacy && st.disconnected.load(Ordering::Acquire) {
            m |= PollMask::ERR | PollMask::HUP;
        }
        m
    }

    fn mmap(&self, _ctx: &OpCtx<'_>, _p: &FilePriv, req: &MmapRequest) -> KResult<Arc<dyn VmOps>> {
        if req.offset != 0 || req.len > MEM_SIZE {
            return Err(Errno::EINVAL);
        }
        Ok(Arc::new(StateVm {
            state: self.state.clone(),
        }))
    }
}

/// Mapping memory reached through the driver state (the buffer lives in it).
struct StateVm {
    state: Shadow<State>,
}

impl VmOps for StateVm {
    fn len(&self) -> usize {
        MEM_SIZE
    }
    fn read(&self, offset: usize, buf: &mut [u8]) -> KResult<()> {
        self.state.get().mem.read(offset, buf)
    }
    fn write(&self, offset: usize, data: &[u8]) -> KResult<()> {
        self.state.get().mem.write(offset, data)
    }
}

fn irq_handler(state: &Shadow<State>, regs: &Registers) -> IrqReturn {
    let st = state.get();
    let status = regs.read(REG_STATUS);
    // All ones: the device is gone (hot-unplug), nothing is valid.
    if status == u32::MAX || status & STATUS_READY == 0 {
        return IrqReturn::None;
    }
    // Word n of the device is 0x1000 + n; COUNT says how many exist, so
    // interrupts that coalesce lose nothing.
    let count = regs.read(REG_COUNT);
    regs.write(REG_STATUS, 0);
    let mut fifo = st.fifo.lock();
    let done = st.consumed.load(Ordering::Acquire);
    if count == done || count == u32::MAX || count.wrapping_sub(done) > 1 << 16 {
        return IrqReturn::None;
    }
    for n in done.wrapping_add(1)..=count {
        fifo.push_back(0x1000 + n);
        st.produced.fetch_add(1, Ordering::AcqRel);
    }
    st.consumed.store(count, Ordering::Release);
    drop(fifo);
    st.readq.wake_all();
    IrqReturn::Handled
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

fn node_name(dev: &Device) -> String {
    let n = dev.name().rsplit('.').next().unwrap_or("0");
    format!("testdrv{n}")
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
        let mk_state = |regs| State {
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
        };
        let name = node_name(ctx.device());
        let (state, irq, raw) = match self.style {
            Style::Framework => {
                let regs = ctx.ioremap()?;
                let state = ctx.alloc_shadow(
                    "testdrv_state",
                    &name,
                    mk_state(RegsAccess::Framework(regs.clone())),
                )?;
                let (s2, r2) = (state.clone(), regs);
                let irq = ctx.request_irq("testdrv", move |ic| match ic.bound() {
                    Some(b) => match r2.access(&b) {
                        Ok(r) => irq_handler(&s2, r),
                        Err(_) => IrqReturn::None,
                    },
                    None => IrqReturn::None,
                })?;
                (state, irq, None)
            }
            Style::Legacy => {
                let regs = ctx.ioremap_unmanaged()?;
                // The IRQ is requested before the state exists; its handler
                // finds the state through drvdata (set below).
                let drvdata: Arc<OnceLock<Shadow<State>>> = Arc::new(OnceLock::new());
                let (d2, d3, r2) = (drvdata.clone(), drvdata.clone(), regs.clone());
                let irq = ctx.devm_request_irq(
                    "testdrv-legacy",
                    Some(IrqDevId::custom("drvdata", move || {
                        d3.get().is_none_or(|s| !s.is_freed())
                    })),
                    move |_| match d2.get() {
                        Some(s) => irq_handler(s, &r2),
                        None => IrqReturn::None,
                    },
                )?;
                let state = ctx.devm_alloc(
                    "testdrv_state",
                    &name,
                    mk_state(RegsAccess::Legacy(regs.clone())),
                )?;
                let _ = drvdata.set(state.clone());
                (state, irq, Some(regs))
            }
        };
        let work = {
            let st = state.clone();
            match self.style {
                // Gated by the binding and disabled by the framework at unbind.
                Style::Framework => ctx.work("testdrv-work", move |wc| {
                    if let (Some(b), RegsAccess::Framework(d)) = (wc.bound(), &st.get().regs)
                        && let Ok(r) = d.access(&b)
                    {
                        let _ = r.read(REG_COUNT);
                        st.get().deferred.fetch_add(1, Ordering::AcqRel);
                    }
                }),
                // INIT_WORK on the system workqueue, never cancelled.
                Style::Legacy => {
                    let r = raw.clone();
                    ctx.kernel()
                        .system_wq()
                        .work("testdrv-legacy-work", None, move |_| {
                            if let Some(r) = &r {
                                let _ = r.read(REG_COUNT);
                            }
                            st.get().deferred.fetch_add(1, Ordering::AcqRel);
                        })
                }
            }
        };
        let ops = Arc::new(Ops {
            state: state.clone(),
            style: self.style,
            work,
        });
        let spec = NodeSpec::new(NodeKind::Misc)
            .name(name)
            .legacy_if(self.style == Style::Legacy);
        let node = ctx.register_node(spec, ops)?;
        // Enable the interrupt.
        match &raw {
            Some(r) => r.write(REG_IRQ_EN, 1),
            None => {
                if let RegsAccess::Framework(d) = &state.get().regs
                    && let Ok(r) = d.access(&ctx.bound())
                {
                    r.write(REG_IRQ_EN, 1);
                }
            }
        }
        Ok(TestData { state, node, irq })
    }

    fn remove(&self, ctx: &RemoveCtx<'_>, data: &TestData) {
        let st = data.state.get();
        match (&st.regs, self.style) {
            (RegsAccess::Framework(d), _) => {
                if let Ok(r) = d.access(&ctx.bound()) {
                    r.write(REG_IRQ_EN, 0);
                    r.write(REG_CTRL, 0);
                }
                data.irq.free();
            }
            (RegsAccess::Legacy(r), _) => {
                // The pre-fix driver: stop the device, tell sleepers, and
                // leave the rest to devm.
                r.write(REG_CTRL, 0);
                st.disconnected.store(true, Ordering::Release);
                st.readq.wake_all();
            }
        }
        let _ = &data.node;
    }
}

/// A test setup: the driver's module loaded, the driver registered, one
/// device added and bound.
#[derive(Clone, Debug)]
pub struct Setup {
    /// The kernel.
    pub kernel: Kernel,
    /// The driver's module.
    pub module: Module,
    /// The device (`devlife-testdrv.N`).
    pub device: Device,
    /// The style.
    pub style: Style,
}

impl Setup {
    /// Name of the device's node (`testdrvN`).
    pub fn node_name(&self) -> String {
        node_name(&self.device)
    }
    /// The device's node, if registered.
    pub fn node(&self) -> Option<Node> {
        self.kernel.lookup(&self.node_name())
    }
    /// The device's hardware.
    pub fn hw(&self) -> &Hardware {
        self.device.hardware()
    }
    /// The driver name.
    pub fn driver(&self) -> &'static str {
        driver_name(self.style)
    }
    /// Adds another device (`devlife-testdrv.N`) for the same driver.
    pub fn add_device(&self, n: u32) -> KResult<Device> {
        add_test_device(&self.kernel, n)
    }
    /// Re-adds the device after a hot-unplug (same name, new device) and
    /// updates `self.device`.
    pub fn replug(&mut self) -> KResult<()> {
        let n: u32 = self
            .device
            .name()
            .rsplit('.')
            .next()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        self.device = add_test_device(&self.kernel, n)?;
        Ok(())
    }
}

/// Adds test device number `n` with its device model installed.
pub fn add_test_device(k: &Kernel, n: u32) -> KResult<Device> {
    // Install the device model before the driver can probe: create the
    // device through a spec, then the hook is set on its hardware right away
    // (probe only enables the interrupt; production starts on TRIGGER).
    let dev = k.add_device(DeviceSpec::platform("devlife-testdrv", n).regs(8))?;
    install_device_model(dev.hardware());
    Ok(dev)
}

/// Loads the style's module, registers its driver and adds device 0.
pub fn setup(k: &Kernel, style: Style) -> KResult<Setup> {
    let module = match k.module(module_name(style)) {
        Some(m) => m,
        None => k.load_module(module_name(style))?,
    };
    if !k.drivers().iter().any(|d| d == driver_name(style)) {
        k.register_driver(TestDriver { style }, Some(&module))?;
    }
    let device = add_test_device(k, 0)?;
    Ok(Setup {
        kernel: k.clone(),
        module,
        device,
        style,
    })
}
