//! The driver side of the queue: [`BufferQueue`] to take the next buffer and
//! [`ActiveBuffer`] to fill and complete it.

use super::{BufState, BufferMemory, Shared};
use crate::uapi::videodev2::{Timeval, buf_flag, field};
use devlife_model::{Errno, KResult};
use std::sync::Arc;
use std::time::Duration;

/// The driver's handle to its queue: take the next buffer, fill it, complete
/// it, from any thread (an IRQ handler, a kthread). Cloning is cheap.
///
/// ```ignore
/// // In the driver's frame thread:
/// if let Some(mut buf) = queue.next_buffer() {
///     buf.with_mut(|b| b[..4].copy_from_slice(b"RGB3"));
///     buf.set_bytesused(buf.len() as u32);
///     let _ = buf.done(); // Err(Stale) if the stream was stopped meanwhile
/// }
/// ```
#[derive(Clone)]
pub struct BufferQueue {
    pub(super) shared: Arc<Shared>,
}

impl std::fmt::Debug for BufferQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let c = self.shared.core.lock();
        f.debug_struct("BufferQueue")
            .field("streaming", &c.start_streaming_called)
            .field("pending", &c.driver.len())
            .field("done", &c.done.len())
            .finish()
    }
}

/// A completion came too late: the stream it belongs to was stopped (stream
/// off, unplug) after the buffer was taken. Nothing was changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("buffer completion after the stream stopped")]
pub struct Stale;

impl BufferQueue {
    /// Takes the oldest buffer given to the driver, if streaming and any.
    pub fn next_buffer(&self) -> Option<ActiveBuffer> {
        let mut c = self.shared.core.lock();
        if !c.start_streaming_called || c.dead {
            return None;
        }
        let index = c.driver.pop_front()?;
        let s = &c.bufs[index as usize];
        Some(ActiveBuffer {
            shared: self.shared.clone(),
            index,
            generation: c.generation,
            mem: s.mem.clone(),
            length: s.length,
            bytesused: 0,
            field: field::NONE,
            sequence: None,
            timestamp: None,
            flags: 0,
            finished: false,
        })
    }

    /// Buffers given to the driver and not yet taken.
    pub fn pending(&self) -> usize {
        self.shared.core.lock().driver.len()
    }

    /// Whether the driver has been started and not stopped.
    pub fn is_streaming(&self) -> bool {
        let c = self.shared.core.lock();
        c.start_streaming_called && !c.dead
    }

    /// `vb2_queue_error`: a fatal error; `DQBUF` and `QBUF` now fail with
    /// `EIO` and poll reports `ERR` until the stream is stopped.
    pub fn set_error(&self) {
        self.shared.core.lock().error = true;
        self.shared.done_wq.wake_all();
    }

    /// Returns every buffer the driver holds in its list with `ERROR`, as a
    /// driver's `stop_streaming` does (`vb2_buffer_done(..., ERROR)`).
    pub fn return_all(&self) {
        let mut c = self.shared.core.lock();
        while let Some(i) = c.driver.pop_front() {
            c.bufs[i as usize].state = BufState::Error;
            c.done.push_back(i);
        }
        drop(c);
        self.shared.done_wq.wake_all();
    }
}

/// A buffer the driver is filling (`struct vb2_v4l2_buffer` in state ACTIVE).
///
/// Complete it with [`done`](Self::done) or [`error`](Self::error); dropping it
/// without completing returns it with an error. Memory accesses stay valid
/// whatever happens to the queue (the buffer holds its memory).
pub struct ActiveBuffer {
    shared: Arc<Shared>,
    index: u32,
    generation: u64,
    mem: Arc<BufferMemory>,
    length: u32,
    bytesused: u32,
    field: u32,
    sequence: Option<u32>,
    timestamp: Option<Timeval>,
    flags: u32,
    finished: bool,
}

impl std::fmt::Debug for ActiveBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActiveBuffer")
            .field("index", &self.index)
            .field("length", &self.length)
            .finish()
    }
}

impl ActiveBuffer {
    /// The buffer index.
    pub fn index(&self) -> u32 {
        self.index
    }
    /// The plane size (`v4l2_buffer.length`).
    pub fn len(&self) -> usize {
        self.length as usize
    }
    /// Whether the plane is empty (never).
    pub fn is_empty(&self) -> bool {
        self.length == 0
    }
    /// Runs `f` on the plane's bytes (DMA into the buffer).
    pub fn with_mut<R>(&mut self, f: impl FnOnce(&mut [u8]) -> R) -> R {
        let len = self.len();
        self.mem.with(|b| f(&mut b[..len]))
    }
    /// Copies `data` into the plane at `offset` (`EINVAL` past its end).
    pub fn write(&mut self, offset: usize, data: &[u8]) -> KResult<()> {
        let end = offset.checked_add(data.len()).ok_or(Errno::EINVAL)?;
        if end > self.len() {
            return Err(Errno::EINVAL);
        }
        // Within the plane, so within the memory.
        self.mem.write(offset, data).map_err(|_| Errno::EINVAL)
    }
    /// Sets the payload size (clamped to the plane size).
    pub fn set_bytesused(&mut self, n: u32) {
        self.bytesused = n.min(self.length);
    }
    /// Sets the field (default `V4L2_FIELD_NONE`).
    pub fn set_field(&mut self, f: u32) {
        self.field = f;
    }
    /// Overrides the sequence number (default: the queue's frame counter).
    pub fn set_sequence(&mut self, seq: u32) {
        self.sequence = Some(seq);
    }
    /// Overrides the timestamp (default: the monotonic time of completion).
    pub fn set_timestamp(&mut self, ts: Duration) {
        self.timestamp = Some(Timeval::from_duration(ts));
    }
    /// Marks the buffer as a key frame.
    pub fn set_keyframe(&mut self) {
        self.flags |= buf_flag::KEYFRAME;
    }

    /// `vb2_buffer_done(vb, DONE)`: hands the buffer to `DQBUF` with the next
    /// sequence number and a timestamp. Returns the sequence number.
    pub fn done(mut self) -> Result<u32, Stale> {
        self.finish(BufState::Done)
    }

    /// `vb2_buffer_done(vb, ERROR)`.
    pub fn error(mut self) -> Result<u32, Stale> {
        self.finish(BufState::Error)
    }

    fn finish(&mut self, state: BufState) -> Result<u32, Stale> {
        self.finished = true;
        let ts = self.timestamp.unwrap_or_else(|| self.shared.now());
        let seq = {
            let mut c = self.shared.core.lock();
            if c.generation != self.generation || c.dead {
                return Err(Stale);
            }
            let seq = self.sequence.unwrap_or(c.sequence);
            c.sequence = seq.wrapping_add(1);
            let s = &mut c.bufs[self.index as usize];
            if s.state != BufState::Active {
                return Err(Stale);
            }
            s.state = state;
            s.bytesused = if state == BufState::Error {
                0
            } else {
                self.bytesused
            };
            s.field = self.field;
            s.sequence = seq;
            s.timestamp = ts;
            s.flags = self.flags;
            c.done.push_back(self.index);
            seq
        };
        self.shared.done_wq.wake_all();
        Ok(seq)
    }
}

impl Drop for ActiveBuffer {
    fn drop(&mut self) {
        if !self.finished {
            let _ = self.finish(BufState::Error);
        }
    }
}
