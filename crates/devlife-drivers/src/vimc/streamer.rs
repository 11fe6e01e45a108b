//! The streamer (`vimc-streamer.c`): when a capture starts streaming, the
//! pipeline from its sensor is resolved and "s_stream"ed, and a driver
//! thread produces one frame per period through every entity's
//! `process_frame` into the next queued buffer; the frame-done interrupt
//! completes it.
//!
//! The kernel runs a kthread per stream that sleeps `HZ/60` between frames.
//! Here the thread is a model [`Timer`] re-armed after each frame. How that
//! thread is made, started and stopped is the driver's [`StreamerThread`]:
//! the framework driver's is a timer created at probe through the binding
//! (gated, disabled at unbind); the legacy twin's is an ungated kthread
//! started at `start_streaming` that nobody stops at unbind. This file
//! carries no trace of which one it runs with.

use super::hw::{REG_IRQ_ACK, REG_IRQ_STATUS, REG_TRIGGER, reg_frames, reg_stream};
use super::pattern::{FrameFmt, debayer, scale, sensor_frame};
use super::state::{Stage, Stat, VimcState};
use super::topology::{ENTITIES, EntKind, NUM_ENTITIES};
use devlife::Bound;
use devlife::check::Shadow;
use devlife_media::mc::{PadKey, Pipeline};
use devlife_media::uapi::media::{MEDIA_LNK_FL_ENABLED, MEDIA_PAD_FL_SINK};
use devlife_media::uapi::subdev::V4l2MbusFramefmt;
use devlife_media::v4l2::BufferQueue;
use devlife_model::{Errno, IrqReturn, KResult, ProbeCtx, Timer, WorkCtx};
use parking_lot::Mutex;
use std::sync::Arc;

/// How a capture's streamer thread lives (`kthread_run` / `kthread_stop`):
/// the driver's choice, made once for all its captures.
pub(crate) trait StreamerThread: Send + Sync {
    /// At probe, once the capture's stream control exists: makes the
    /// thread if it lives as long as the binding.
    fn probe(&self, ctx: &ProbeCtx<'_>, ctl: &Arc<StreamCtl>);
    /// At the end of a successful `start_streaming`: schedules the first
    /// frame (starting the thread if it lives per stream). `st` is the
    /// device state the caller already reached.
    fn start(&self, ctl: &Arc<StreamCtl>, st: &VimcState);
    /// The first step of `stop_streaming`. `false` skips everything after
    /// it (the stream stays marked active, nothing is returned).
    fn stop_first(&self, _ctl: &StreamCtl, _st: &VimcState) -> bool {
        true
    }
    /// After the stream is marked stopped: stops the thread and waits for a
    /// running frame, then whatever of the engine is still running.
    fn stop(&self, ctl: &StreamCtl, st: &VimcState);
}

/// The control of one capture's stream (`struct vimc_stream`): which
/// capture, the device state, the frame timer and the driver's way of
/// running it.
///
/// # Invariants
///
/// `timer`, when set, is the streamer thread of this capture; its
/// lifetime and who holds whom is the [`StreamerThread`]'s (stated by each
/// implementation).
pub(crate) struct StreamCtl {
    pub(crate) st: Shadow<VimcState>,
    /// The capture number.
    pub(crate) cap: usize,
    /// The capture's entity index.
    pub(crate) ent: usize,
    pub(crate) timer: Mutex<Option<Timer>>,
    /// How the streamer thread lives.
    thread: &'static dyn StreamerThread,
}

fn frame_fmt(f: &V4l2MbusFramefmt) -> FrameFmt {
    FrameFmt {
        code: f.code,
        width: f.width,
        height: f.height,
    }
}

/// Runs every stage for frame `seq` (sensor first).
pub(crate) fn render(stages: &[Stage], seq: u32) -> Vec<u8> {
    let mut frame = Vec::new();
    for s in stages {
        frame = match *s {
            Stage::Sensor(f) => sensor_frame(f, seq),
            Stage::Debayer(sink, src) => debayer(&frame, sink, src),
            Stage::Scaler(sink, crop, src) => scale(&frame, sink, crop, src),
        };
    }
    frame
}

/// The entity indices feeding capture entity `ent`, sensor first
/// (`vimc_streamer_pipeline_init`: from the capture, the remote end of the
/// enabled link into pad 0, recursively while that entity has a sink pad).
/// `EPIPE` if the chain does not start at a sensor.
fn resolve_chain(st: &VimcState, ent: usize) -> KResult<Vec<usize>> {
    let links = st.mdev.graph().links();
    let mut chain = Vec::new();
    let mut cur = st.id(ent);
    loop {
        let src = links.iter().find_map(|l| {
            let (s, k) = l.data()?;
            (l.flags & MEDIA_LNK_FL_ENABLED != 0 && k.entity == cur && k.index == 0).then_some(s)
        });
        let Some(src) = src else { break };
        let idx = st.index_of(src.entity).ok_or(Errno::EPIPE)?;
        chain.push(idx);
        if chain.len() > NUM_ENTITIES {
            return Err(Errno::EPIPE);
        }
        if ENTITIES[idx].kind.pads().first() != Some(&MEDIA_PAD_FL_SINK) {
            break;
        }
        cur = src.entity;
    }
    chain.reverse();
    match chain.first() {
        Some(&i) if ENTITIES[i].kind == EntKind::Sensor => Ok(chain),
        _ => Err(Errno::EPIPE),
    }
}

impl StreamCtl {
    pub(crate) fn new(
        st: &Shadow<VimcState>,
        cap: usize,
        ent: usize,
        thread: &'static dyn StreamerThread,
    ) -> Self {
        Self {
            st: st.clone(),
            cap,
            ent,
            timer: Mutex::new(None),
            thread,
        }
    }

    /// Gives this capture its streamer thread at probe, if the driver's
    /// lives as long as the binding.
    pub(crate) fn probe(self: &Arc<Self>, ctx: &ProbeCtx<'_>) {
        self.thread.probe(ctx, self);
    }

    fn origin(&self) -> PadKey {
        PadKey {
            entity: self.st.get().id(self.ent),
            index: 0,
        }
    }

    /// `vimc_capture_start_streaming`: pipeline start (link validation),
    /// streamer init (`s_stream(1)` on every subdev of the chain), the
    /// engine started, the first frame scheduled.
    #[track_caller]
    pub(crate) fn start(self: &Arc<Self>, pipe: &Pipeline, queue: &BufferQueue) -> KResult<()> {
        let st = self.st.get();
        let origin = self.origin();
        st.mdev.pipeline_start(origin, pipe)?;
        let chain = match self.s_stream_on(st) {
            Ok(c) => c,
            Err(e) => {
                let _ = st.mdev.pipeline_stop(origin, pipe);
                return Err(e);
            }
        };
        if !st.regs.write(reg_stream(self.cap), 1) {
            self.s_stream_off(st, &chain);
            let _ = st.mdev.pipeline_stop(origin, pipe);
            return Err(Errno::ENODEV);
        }
        let stages = chain
            .iter()
            .map(|&i| {
                let m = st.ents[i].lock();
                match ENTITIES[i].kind {
                    EntKind::Debayer => {
                        Stage::Debayer(frame_fmt(&m.pads[0]), frame_fmt(&m.pads[1]))
                    }
                    EntKind::Scaler => {
                        Stage::Scaler(frame_fmt(&m.pads[0]), m.crop, frame_fmt(&m.pads[1]))
                    }
                    _ => Stage::Sensor(frame_fmt(&m.pads[0])),
                }
            })
            .collect();
        {
            let c = &st.caps[self.cap];
            let out = *c.fmt.lock();
            let mut s = c.stream.lock();
            s.active = true;
            s.queue = Some(queue.clone());
            s.chain = chain;
            s.stages = stages;
            s.out = out;
            s.sequence = 0;
            s.pending.clear();
        }
        self.thread.start(self, st);
        st.stats.bump(Stat::StreamStarts);
        Ok(())
    }

    fn s_stream_on(&self, st: &VimcState) -> KResult<Vec<usize>> {
        let chain = resolve_chain(st, self.ent)?;
        for (n, &i) in chain.iter().enumerate() {
            let mut m = st.ents[i].lock();
            if m.streaming {
                drop(m);
                self.s_stream_off(st, &chain[..n]);
                return Err(Errno::EBUSY);
            }
            m.streaming = true;
        }
        Ok(chain)
    }

    fn s_stream_off(&self, st: &VimcState, chain: &[usize]) {
        for &i in chain {
            st.ents[i].lock().streaming = false;
        }
    }

    /// `vimc_capture_stop_streaming`: the streamer stopped (and waited for),
    /// the engine stopped, the buffers the driver holds returned with an
    /// error, `s_stream(0)`, pipeline stop.
    #[track_caller]
    pub(crate) fn stop(&self, pipe: &Pipeline, queue: &BufferQueue) {
        let st = self.st.get();
        if !self.thread.stop_first(self, st) {
            return;
        }
        let (pending, chain) = {
            let mut s = st.caps[self.cap].stream.lock();
            s.active = false;
            s.queue = None;
            s.stages.clear();
            (std::mem::take(&mut s.pending), std::mem::take(&mut s.chain))
        };
        // kthread_stop: no frame runs after this.
        self.thread.stop(self, st);
        drop(pending);
        queue.return_all();
        self.s_stream_off(st, &chain);
        let _ = st.mdev.pipeline_stop(self.origin(), pipe);
        st.stats.bump(Stat::StreamStops);
    }

    /// One iteration of the streamer thread: read the engine's frame
    /// counter, render a frame into the next buffer, latch it in the engine
    /// (which interrupts), sleep a period.
    #[track_caller]
    pub(crate) fn tick(&self, w: &WorkCtx<'_>) {
        let bound = w.bound();
        let st = self.st.get();
        let c = &st.caps[self.cap];
        // The period starts with the engine's frame counter (a vsync).
        let _vsync = st.regs.read_bound(bound.as_ref(), reg_frames(self.cap));
        let filled = {
            let mut s = c.stream.lock();
            if !s.active {
                return;
            }
            let buf = s.queue.as_ref().and_then(BufferQueue::next_buffer);
            match buf {
                Some(mut buf) => {
                    let seq = s.sequence;
                    s.sequence = seq.wrapping_add(1);
                    let frame = render(&s.stages, seq);
                    let n = frame.len().min(buf.len());
                    buf.with_mut(|b| b[..n].copy_from_slice(&frame[..n]));
                    buf.set_bytesused(s.out.sizeimage);
                    buf.set_sequence(seq);
                    buf.set_field(s.out.field);
                    s.pending.push_back(buf);
                    true
                }
                None => false,
            }
        };
        if filled {
            st.stats.bump(Stat::Frames);
            st.regs
                .write_bound(bound.as_ref(), REG_TRIGGER, 1 << self.cap);
        }
        // Sleep a period, unless the stream stopped: stopped by the driver,
        // or, for a streamer nobody stopped (one not stopped at unbind), its
        // queue stopped streaming (it then parks, holding its data).
        let again = {
            let s = c.stream.lock();
            s.active && s.queue.as_ref().is_some_and(BufferQueue::is_streaming)
        };
        if again {
            let t = self.timer.lock().clone();
            if let Some(t) = t {
                t.arm(st.interval);
            }
        }
    }
}

/// The frame-done interrupt handler: acknowledge, then complete every
/// buffer waiting for its frame. `bound` is the framework handler's proof.
#[track_caller]
pub(crate) fn irq(state: &Shadow<VimcState>, bound: Option<&Bound<'_>>) -> IrqReturn {
    let st = state.get();
    let Some(status) = st.regs.read_bound(bound, REG_IRQ_STATUS) else {
        return IrqReturn::None;
    };
    // All ones: the device is gone.
    if status == u32::MAX || status & 0b111 == 0 {
        return IrqReturn::None;
    }
    st.regs.write_bound(bound, REG_IRQ_ACK, status & 0b111);
    for (c, cap) in st.caps.iter().enumerate() {
        if status & (1 << c) == 0 {
            continue;
        }
        let done: Vec<_> = cap.stream.lock().pending.drain(..).collect();
        for b in done {
            if b.done().is_err() {
                st.stats.bump(Stat::LateCompletions);
            }
        }
    }
    st.stats.bump(Stat::Irqs);
    IrqReturn::Handled
}
