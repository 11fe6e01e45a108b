//! Allocating buffers: `REQBUFS`, `CREATE_BUFS`, `PREPARE_BUF` and
//! `QUERYBUF`.

use super::{BufState, BufferMemory, Io, Queue, QueueDriver, Slot, page_align};
use crate::uapi::io::V4l2CreateBuffers;
use crate::uapi::videodev2::{Timeval, V4l2Buffer, V4l2Requestbuffers, field, memory};
use devlife_model::{Errno, KResult};

impl Queue {
    // ----- REQBUFS --------------------------------------------------------

    /// `VIDIOC_REQBUFS` (`vb2_ioctl_reqbufs`).
    pub(crate) fn reqbufs(
        &self,
        file: u64,
        p: &mut V4l2Requestbuffers,
        drv: &dyn QueueDriver,
    ) -> KResult<()> {
        let mut io = self.io.lock();
        self.check_alive()?;
        p.capabilities = self.caps();
        p.flags = 0;
        p.reserved = [0; 3];
        if p.memory != memory::MMAP || !self.cfg.io_modes.mmap {
            // USERPTR and DMABUF need the caller's memory or fds: not served.
            return Err(Errno::EINVAL);
        }
        if p.type_ != self.cfg.type_ {
            return Err(Errno::EINVAL);
        }
        if io.fileio.is_some() {
            return Err(Errno::EBUSY);
        }
        Self::check_owner(&io, file)?;
        let mut count = p.count;
        self.reqbufs_core(&mut io, &mut count, drv)?;
        p.count = count;
        io.owner = (count != 0).then_some(file);
        Ok(())
    }

    /// `vb2_core_reqbufs`.
    pub(super) fn reqbufs_core(
        &self,
        io: &mut Io,
        count: &mut u32,
        drv: &dyn QueueDriver,
    ) -> KResult<()> {
        {
            let c = self.shared.core.lock();
            if c.streaming {
                return Err(Errno::EBUSY);
            }
            if c.waiting_in_dqbuf && *count != 0 {
                return Err(Errno::EBUSY);
            }
        }
        if *count == 0 || !self.shared.core.lock().bufs.is_empty() {
            self.cancel(None);
            self.free_buffers();
            if *count == 0 {
                io.memory = 0;
                return Ok(());
            }
        }
        let mut n = (*count)
            .max(self.cfg.min_reqbufs_allocation)
            .min(self.cfg.max_num_buffers);
        let size = drv.queue_setup(&mut n)?;
        let n = n.min(self.cfg.max_num_buffers);
        if size == 0 || n == 0 {
            return Err(Errno::EINVAL);
        }
        let alloc = page_align(size as usize);
        let mut c = self.shared.core.lock();
        c.bufs = (0..n)
            .map(|_| Slot {
                mem: BufferMemory::new(&self.monitor, alloc),
                length: size,
                state: BufState::Dequeued,
                bytesused: 0,
                field: field::NONE,
                sequence: 0,
                timestamp: Timeval::default(),
                flags: 0,
                prepared: false,
            })
            .collect();
        io.memory = memory::MMAP;
        *count = n;
        Ok(())
    }

    // ----- CREATE_BUFS / PREPARE_BUF ----------------------------------------

    /// `VIDIOC_CREATE_BUFS` (`vb2_ioctl_create_bufs`, as Linux 6.1 answers
    /// it): adds `count` buffers
    /// of at least `sizeimage` bytes (`EINVAL` if smaller than the current
    /// format needs, as vimc's `queue_setup` says) after the existing ones;
    /// `count == 0` only checks memory and type. `ENOBUFS` when full.
    pub(crate) fn create_bufs(
        &self,
        file: u64,
        p: &mut V4l2CreateBuffers,
        drv: &dyn QueueDriver,
    ) -> KResult<()> {
        let mut io = self.io.lock();
        self.check_alive()?;
        let nbufs = self.shared.core.lock().bufs.len() as u32;
        p.index = nbufs;
        p.capabilities = self.caps();
        p.flags = 0;
        // `max_num_buffers` (6.8+) stays zero: the field is `reserved[0]` for
        // the 6.1-era v4l-utils docs/compliance.md measures against, which
        // checks that it is zero.
        p.max_num_buffers = 0;
        p.reserved = [0; 5];
        // vb2_verify_memory_type
        let verify = if p.memory != memory::MMAP
            || !self.cfg.io_modes.mmap
            || p.format.type_ != self.cfg.type_
        {
            Err(Errno::EINVAL)
        } else if io.fileio.is_some() {
            Err(Errno::EBUSY)
        } else {
            Ok(())
        };
        if p.count == 0 {
            return match verify {
                Err(Errno::EBUSY) => Ok(()),
                r => r,
            };
        }
        verify?;
        Self::check_owner(&io, file)?;
        let want = p.format.pix().sizeimage;
        if want == 0 {
            return Err(Errno::EINVAL);
        }
        if nbufs >= self.cfg.max_num_buffers {
            return Err(Errno::ENOBUFS);
        }
        if nbufs > 0 && io.memory != memory::MMAP {
            return Err(Errno::EINVAL);
        }
        if nbufs == 0 && self.shared.core.lock().waiting_in_dqbuf {
            return Err(Errno::EBUSY);
        }
        let mut n = p.count.min(self.cfg.max_num_buffers - nbufs);
        // The driver's queue_setup for the current format: the minimum size.
        let mut probe = n;
        let need = drv.queue_setup(&mut probe)?;
        if want < need {
            return Err(Errno::EINVAL);
        }
        n = n.min(self.cfg.max_num_buffers - nbufs);
        let alloc = page_align(want as usize);
        let mut c = self.shared.core.lock();
        for _ in 0..n {
            c.bufs.push(Slot {
                mem: BufferMemory::new(&self.monitor, alloc),
                length: want,
                state: BufState::Dequeued,
                bytesused: 0,
                field: field::NONE,
                sequence: 0,
                timestamp: Timeval::default(),
                flags: 0,
                prepared: false,
            });
        }
        io.memory = memory::MMAP;
        io.owner = Some(file);
        p.count = n;
        Ok(())
    }

    /// `VIDIOC_PREPARE_BUF` (`vb2_prepare_buf`): a dequeued buffer becomes
    /// prepared (`V4L2_BUF_FLAG_PREPARED`); `QBUF` then takes it as is.
    /// `EINVAL` for a buffer that is queued or already prepared.
    pub(crate) fn prepare_buf(&self, file: u64, b: &mut V4l2Buffer) -> KResult<()> {
        let io = self.io.lock();
        self.check_alive()?;
        Self::check_owner(&io, file)?;
        if io.fileio.is_some() {
            return Err(Errno::EBUSY);
        }
        let mut c = self.shared.core.lock();
        let index = self.check_buf(&c, b, &io)?;
        let s = &mut c.bufs[index as usize];
        if s.state != BufState::Dequeued || s.prepared {
            return Err(Errno::EINVAL);
        }
        s.prepared = true;
        self.fill(&c, index, b);
        Ok(())
    }

    /// `VIDIOC_QUERYBUF`.
    pub(crate) fn querybuf(&self, b: &mut V4l2Buffer) -> KResult<()> {
        let _io = self.io.lock();
        let c = self.shared.core.lock();
        if c.dead {
            return Err(Errno::ENODEV);
        }
        if b.type_ != self.cfg.type_ || b.index as usize >= c.bufs.len() {
            return Err(Errno::EINVAL);
        }
        self.fill(&c, b.index, b);
        Ok(())
    }
}
