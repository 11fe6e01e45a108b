//! `poll` and the `read()` emulator (`vb2_fileio`).

use super::{FileIo, Io, Queue, QueueDriver};
use devlife_model::{Errno, KResult, OpCtx, PollMask, PollTable};

impl Queue {
    /// `vb2_poll` for a capture queue. May start the read emulator, as vb2
    /// does when nothing else uses the queue.
    pub(crate) fn poll(
        &self,
        ctx: &OpCtx<'_>,
        file: u64,
        table: &mut PollTable,
        drv: &dyn QueueDriver,
    ) -> PollMask {
        // `v4l2_poll` on an unregistered node: the node's gone mask.
        if ctx.is_unplugging() {
            return ctx.node().policy().poll;
        }
        // A capture queue has nothing to report to a caller that does not
        // poll for input (vb2_core_poll).
        let wants_read = table
            .requested()
            .intersects(PollMask::IN | PollMask::RDNORM);
        if !wants_read {
            return PollMask::NONE;
        }
        table.wait(&self.shared.done_wq);
        let mut io = self.io.lock();
        let idle = {
            let c = self.shared.core.lock();
            if c.dead {
                return PollMask::ERR;
            }
            c.bufs.is_empty()
        };
        if idle && io.fileio.is_none() && self.cfg.io_modes.read {
            // No buffers and no emulator: nobody owns the queue.
            if self.init_fileio(ctx, &mut io, drv).is_err() {
                return PollMask::ERR;
            }
            io.owner = Some(file);
        }
        let c = self.shared.core.lock();
        if !c.streaming || c.error {
            return PollMask::ERR;
        }
        if !c.done.is_empty() {
            return PollMask::IN | PollMask::RDNORM;
        }
        PollMask::NONE
    }

    // ----- read() emulation -----------------------------------------------------------

    /// `vb2_read` (`__vb2_perform_fileio` for capture).
    pub(crate) fn read(
        &self,
        ctx: &OpCtx<'_>,
        file: u64,
        buf: &mut [u8],
        drv: &dyn QueueDriver,
    ) -> KResult<usize> {
        if !self.cfg.io_modes.read {
            return Err(Errno::EINVAL);
        }
        let mut io = self.io.lock();
        self.check_alive()?;
        Self::check_owner(&io, file)?;
        if io.fileio.is_none() {
            self.init_fileio(ctx, &mut io, drv)?;
            io.owner = Some(file);
        }
        if self.shared.core.lock().waiting_in_dqbuf {
            return Err(Errno::EBUSY);
        }
        let cur = io.fileio.as_ref().and_then(|f| f.cur);
        let (index, pos, size) = match cur {
            Some(c) => c,
            None => {
                let index = self.wait_done(ctx, &mut io)?;
                let mut c = self.shared.core.lock();
                let size = (c.bufs[index as usize].bytesused as usize)
                    .min(c.bufs[index as usize].mem.len());
                Self::dequeued(&mut c, index);
                (index, 0, size)
            }
        };
        // The emulator may have been torn down while we slept (unplug).
        let Some(fio) = io.fileio.as_mut() else {
            return Err(Errno::ENODEV);
        };
        let n = buf.len().min(size - pos);
        let mem = {
            let c = self.shared.core.lock();
            match c.bufs.get(index as usize) {
                Some(s) => s.mem.clone(),
                None => return Err(Errno::ENODEV),
            }
        };
        mem.read(pos, &mut buf[..n])?;
        let pos = pos + n;
        if pos == size {
            fio.cur = None;
            self.qbuf_core(ctx, index, drv)?;
        } else {
            fio.cur = Some((index, pos, size));
        }
        Ok(n)
    }

    /// `__vb2_init_fileio` for reading: allocate, queue everything, stream on.
    pub(super) fn init_fileio(
        &self,
        ctx: &OpCtx<'_>,
        io: &mut Io,
        drv: &dyn QueueDriver,
    ) -> KResult<()> {
        {
            let c = self.shared.core.lock();
            if c.streaming || !c.bufs.is_empty() {
                return Err(Errno::EBUSY);
            }
        }
        let mut count = self.cfg.min_reqbufs_allocation.max(1);
        io.fileio = Some(FileIo::default());
        let r = (|| {
            self.reqbufs_core(io, &mut count, drv)?;
            for i in 0..count {
                self.qbuf_core(ctx, i, drv)?;
            }
            self.streamon_core(ctx, drv)
        })();
        if let Err(e) = r {
            self.cancel(Some(drv));
            self.free_buffers();
            io.fileio = None;
            io.memory = 0;
            return Err(e);
        }
        Ok(())
    }
}
