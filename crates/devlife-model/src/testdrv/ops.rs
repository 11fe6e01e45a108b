//! The test driver's file operations, its mapping and its interrupt handler.

use super::{IOC_DEFER, IOC_HWOP, IOC_PING, IOC_STATS, IOC_TRIGGER, IOC_WAIT};
use crate::errno::{Errno, KResult};
use crate::fops::{FileOps, MmapRequest, OpCtx, PollMask, PollTable, ReleaseCtx, VmOps};
use crate::hw::Registers;
use crate::irq::IrqReturn;
use crate::testdrv::CTRL_START;
use crate::testdrv::FilePriv;
use crate::testdrv::MEM_SIZE;
use crate::testdrv::REG_COUNT;
use crate::testdrv::REG_CTRL;
use crate::testdrv::REG_DATA;
use crate::testdrv::REG_STATUS;
use crate::testdrv::STATUS_READY;
use crate::testdrv::State;
use crate::testdrv::Style;
use crate::testdrv::state::RegsAccess;
use crate::work::Work;
use devlife::check::Shadow;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

pub(crate) struct Ops {
    pub(crate) state: Shadow<State>,
    pub(crate) style: Style,
    // Held by the ops, not the state: the work's function holds the state.
    pub(crate) work: Work,
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

pub(crate) fn irq_handler(state: &Shadow<State>, regs: &Registers) -> IrqReturn {
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
