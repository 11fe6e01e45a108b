//! Streaming I/O: `QBUF`, `DQBUF`, `STREAMON`, `STREAMOFF`, cancelling the
//! queue, and its release by the owner's close or by unplug.

use super::{BufState, Core, Io, Queue, QueueDriver};
use crate::uapi::videodev2::{V4l2Buffer, buf_flag};
use devlife_model::{Errno, KResult, OpCtx};
use parking_lot::MutexGuard;

impl Queue {
    // ----- QBUF / DQBUF ------------------------------------------------------

    /// `VIDIOC_QBUF`.
    pub(crate) fn qbuf(
        &self,
        ctx: &OpCtx<'_>,
        file: u64,
        b: &mut V4l2Buffer,
        drv: &dyn QueueDriver,
    ) -> KResult<()> {
        let io = self.io.lock();
        self.check_alive()?;
        Self::check_owner(&io, file)?;
        if io.fileio.is_some() {
            return Err(Errno::EBUSY);
        }
        let index = self.check_buf(&self.shared.core.lock(), b, &io)?;
        self.qbuf_core(ctx, index, drv)?;
        let c = self.shared.core.lock();
        self.fill(&c, index, b);
        Ok(())
    }

    /// `vb2_core_qbuf` (called with `io` held).
    pub(super) fn qbuf_core(
        &self,
        ctx: &OpCtx<'_>,
        index: u32,
        drv: &dyn QueueDriver,
    ) -> KResult<()> {
        let (to_driver, start) = {
            let mut c = self.shared.core.lock();
            if c.error {
                return Err(Errno::EIO);
            }
            let s = &mut c.bufs[index as usize];
            if s.state != BufState::Dequeued {
                return Err(Errno::EINVAL);
            }
            s.bytesused = 0;
            s.flags = 0;
            s.prepared = false;
            c.queued_count += 1;
            if c.start_streaming_called {
                c.bufs[index as usize].state = BufState::Active;
                c.driver.push_back(index);
                (true, false)
            } else {
                c.bufs[index as usize].state = BufState::Queued;
                let start = c.streaming && c.queued_count >= self.cfg.min_queued_buffers;
                (false, start)
            }
        };
        if to_driver {
            drv.buf_queued(&self.handle());
        }
        if start {
            self.start_streaming(ctx, drv)?;
        }
        Ok(())
    }

    /// `VIDIOC_DQBUF`.
    pub(crate) fn dqbuf(&self, ctx: &OpCtx<'_>, file: u64, b: &mut V4l2Buffer) -> KResult<()> {
        let mut io = self.io.lock();
        self.check_alive()?;
        Self::check_owner(&io, file)?;
        if io.fileio.is_some() {
            return Err(Errno::EBUSY);
        }
        if b.type_ != self.cfg.type_ {
            return Err(Errno::EINVAL);
        }
        let index = self.wait_done(ctx, &mut io)?;
        let mut c = self.shared.core.lock();
        self.fill(&c, index, b);
        // The buffer left the done list: DONE is always clear after DQBUF
        // (ERROR stays).
        b.flags &= !buf_flag::DONE;
        Self::dequeued(&mut c, index);
        Ok(())
    }

    pub(super) fn dequeued(c: &mut Core, index: u32) {
        c.bufs[index as usize].state = BufState::Dequeued;
        c.queued_count = c.queued_count.saturating_sub(1);
    }

    /// `__vb2_wait_for_done_vb` + `__vb2_get_done_vb`: pops the first done
    /// buffer, sleeping (with `io` released) while there is none.
    pub(super) fn wait_done(&self, ctx: &OpCtx<'_>, io: &mut MutexGuard<'_, Io>) -> KResult<u32> {
        loop {
            {
                let mut c = self.shared.core.lock();
                if c.dead {
                    return Err(Errno::ENODEV);
                }
                if c.waiting_in_dqbuf {
                    return Err(Errno::EBUSY);
                }
                if !c.streaming {
                    return Err(Errno::EINVAL);
                }
                if c.error {
                    return Err(Errno::EIO);
                }
                if let Some(i) = c.done.pop_front() {
                    return Ok(i);
                }
                if ctx.nonblocking() {
                    return Err(Errno::EAGAIN);
                }
                c.waiting_in_dqbuf = true;
            }
            let shared = &self.shared;
            let r = MutexGuard::unlocked(io, || {
                ctx.wait_event(&shared.done_wq, || {
                    let c = shared.core.lock();
                    (!c.done.is_empty() || !c.streaming || c.error || c.dead).then_some(())
                })
            });
            self.shared.core.lock().waiting_in_dqbuf = false;
            r?;
        }
    }

    // ----- STREAMON / STREAMOFF ------------------------------------------------

    /// `VIDIOC_STREAMON`.
    pub(crate) fn streamon(
        &self,
        ctx: &OpCtx<'_>,
        file: u64,
        type_: u32,
        drv: &dyn QueueDriver,
    ) -> KResult<()> {
        let io = self.io.lock();
        self.check_alive()?;
        Self::check_owner(&io, file)?;
        if io.fileio.is_some() {
            return Err(Errno::EBUSY);
        }
        if type_ != self.cfg.type_ {
            return Err(Errno::EINVAL);
        }
        self.streamon_core(ctx, drv)
    }

    pub(super) fn streamon_core(&self, ctx: &OpCtx<'_>, drv: &dyn QueueDriver) -> KResult<()> {
        let start = {
            let mut c = self.shared.core.lock();
            if c.streaming {
                return Ok(());
            }
            if c.bufs.is_empty() || (c.bufs.len() as u32) < self.cfg.min_queued_buffers {
                return Err(Errno::EINVAL);
            }
            c.sequence = 0;
            c.queued_count >= self.cfg.min_queued_buffers
        };
        if start {
            self.start_streaming(ctx, drv)?;
        }
        self.shared.core.lock().streaming = true;
        Ok(())
    }

    /// `vb2_start_streaming`: hands the queued buffers to the driver and calls
    /// its `start_streaming`; on failure the buffers go back to `Queued`.
    pub(super) fn start_streaming(&self, ctx: &OpCtx<'_>, drv: &dyn QueueDriver) -> KResult<()> {
        {
            let mut c = self.shared.core.lock();
            let queued: Vec<u32> = (0..c.bufs.len() as u32)
                .filter(|&i| c.bufs[i as usize].state == BufState::Queued)
                .collect();
            for i in queued {
                c.bufs[i as usize].state = BufState::Active;
                c.driver.push_back(i);
            }
            c.start_streaming_called = true;
            c.generation += 1;
        }
        let h = self.handle();
        match drv.start_streaming(ctx, &h) {
            Ok(()) => Ok(()),
            Err(e) => {
                let mut c = self.shared.core.lock();
                c.start_streaming_called = false;
                c.generation += 1;
                c.driver.clear();
                // vb2 expects the driver to return them as QUEUED; it forces
                // those it kept. Buffers the driver completed instead (a bug
                // vb2 only warns about) are taken back too.
                c.done.clear();
                for s in c.bufs.iter_mut() {
                    if matches!(s.state, BufState::Active | BufState::Done | BufState::Error) {
                        s.state = BufState::Queued;
                    }
                }
                Err(e)
            }
        }
    }

    /// `VIDIOC_STREAMOFF`.
    pub(crate) fn streamoff(&self, file: u64, type_: u32, drv: &dyn QueueDriver) -> KResult<()> {
        let io = self.io.lock();
        self.check_alive()?;
        Self::check_owner(&io, file)?;
        if io.fileio.is_some() {
            return Err(Errno::EBUSY);
        }
        if type_ != self.cfg.type_ {
            return Err(Errno::EINVAL);
        }
        self.cancel(Some(drv));
        Ok(())
    }

    /// `__vb2_queue_cancel`: stops the driver (if `drv` is given and it was
    /// started), returns every buffer to userspace and wakes the sleepers.
    ///
    /// Without `drv` the driver is *not* called; callers pass `None` only when
    /// the driver was never started or has already been stopped.
    pub(super) fn cancel(&self, drv: Option<&dyn QueueDriver>) {
        let was_started = {
            let c = self.shared.core.lock();
            c.start_streaming_called
        };
        if let (true, Some(d)) = (was_started, drv) {
            d.stop_streaming(&self.handle());
        }
        {
            let mut c = self.shared.core.lock();
            c.streaming = false;
            c.start_streaming_called = false;
            c.error = false;
            c.generation += 1;
            c.driver.clear();
            c.done.clear();
            c.queued_count = 0;
            for s in c.bufs.iter_mut() {
                s.state = BufState::Dequeued;
            }
        }
        self.shared.done_wq.wake_all();
    }

    // ----- mmap / poll ------------------------------------------------------------

    // ----- release / unplug -------------------------------------------------------------

    /// The file `file` is closed: if it owns the queue, release the queue
    /// (`vb2_queue_release`). `drv` is `None` when the driver may not be
    /// called (the node is unplugged: [`kill`](Self::kill) stops it).
    pub(crate) fn release(&self, file: u64, drv: Option<&dyn QueueDriver>) {
        let mut io = self.io.lock();
        if io.owner != Some(file) {
            return;
        }
        io.owner = None;
        if self.shared.core.lock().dead {
            return;
        }
        let started = self.shared.core.lock().start_streaming_called;
        if started && drv.is_none() {
            // The driver is running and may not be stopped from here: leave
            // the buffers to the unplug path, which stops it first.
            return;
        }
        io.fileio = None;
        self.cancel(drv);
        self.free_buffers();
        io.memory = 0;
    }

    /// Unplug (`vb2_video_unregister_device`'s queue release): stops the
    /// driver if it streams, returns and frees every buffer, wakes every
    /// sleeper, and refuses every later operation. Idempotent.
    pub(crate) fn kill(&self, drv: &dyn QueueDriver) {
        let io = self.io.lock();
        self.kill_with(io, drv);
    }

    /// [`kill`](Self::kill) unless an operation holds the queue lock (an
    /// ioctl still in flight inside the driver): then nothing is done and
    /// `false` returned; the caller leaves it to the post-drain path
    /// ([`VideoDevice::unregister`](super::VideoDevice::unregister)). Never
    /// waits for the queue lock, so it is safe in an unplug cancel hook.
    pub(crate) fn try_kill(&self, drv: &dyn QueueDriver) -> bool {
        match self.io.try_lock() {
            Some(io) => {
                self.kill_with(io, drv);
                true
            }
            None => false,
        }
    }

    /// Marks the queue dead and wakes every sleeper *before* stopping the
    /// driver, and releases the queue lock before the driver call: a sleeper
    /// woken by the unplug (which re-takes the queue lock on its way out)
    /// returns `ENODEV` at once, even when the driver's `stop_streaming` waits
    /// for hardware that is slow to cancel its transfers.
    pub(super) fn kill_with(&self, mut io: MutexGuard<'_, Io>, drv: &dyn QueueDriver) {
        {
            let mut c = self.shared.core.lock();
            if c.dead {
                return;
            }
            c.dead = true;
        }
        io.fileio = None;
        io.owner = None;
        io.memory = 0;
        drop(io);
        self.shared.done_wq.wake_all();
        self.cancel(Some(drv));
        self.free_buffers();
    }
}
