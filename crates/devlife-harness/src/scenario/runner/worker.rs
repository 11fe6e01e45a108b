//! The scenario's process and its threads: each declared thread is a real
//! OS thread driven one operation at a time through a channel.

use super::super::ast::{Op, ResultExpect};
use super::super::breaks::{self, Breaks};
use super::super::ioctls::IoctlCall;
use super::super::target::Target;
use super::SLICE;
use super::exec::exec;
use super::result::Done;
use devlife_media::mc::preempt;
use devlife_media::uapi::ioctl::AddressSpace;
use devlife_model::{File, Kernel, Mapping, StallGuard};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, TryRecvError, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The scenario's process: descriptors and mappings are shared by its threads.
pub(super) struct Shared {
    pub(super) kernel: Kernel,
    pub(super) target: Box<dyn Target>,
    pub(super) files: Mutex<HashMap<String, File>>,
    pub(super) maps: Mutex<HashMap<String, Mapping>>,
    pub(super) stalls: Mutex<HashMap<String, StallGuard>>,
    pub(super) mm: Arc<AddressSpace>,
    pub(super) timeout: Duration,
}

/// The operation a thread runs right now (started with `&`).
pub(super) struct Pending {
    pub(super) line: usize,
    pub(super) text: String,
    pub(super) expect: Option<ResultExpect>,
    pub(super) call: Option<IoctlCall>,
}

pub(super) struct Worker {
    pub(super) name: String,
    pub(super) tx: Option<Sender<Op>>,
    pub(super) rx: Receiver<Done>,
    pub(super) breaks: Option<Arc<Breaks>>,
    pub(super) handle: Option<JoinHandle<()>>,
    pub(super) pending: Option<Pending>,
    /// A result that arrived while the runner waited for something else.
    pub(super) early: Option<Done>,
}

impl Worker {
    pub(super) fn spawn(
        name: &str,
        shared: &Arc<Shared>,
        breaks: Option<Arc<Breaks>>,
    ) -> Result<Self, String> {
        let (tx, jobs) = channel::<Op>();
        let (done_tx, rx) = channel::<Done>();
        let sh = shared.clone();
        let b2 = breaks.clone();
        let handle = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                if let Some(b) = b2 {
                    breaks::install(b);
                }
                while let Ok(op) = jobs.recv() {
                    let r = std::panic::catch_unwind(AssertUnwindSafe(|| {
                        preempt::with_hook(breaks::point, || exec(&sh, &op))
                    }))
                    .unwrap_or_else(|p| {
                        let msg = p
                            .downcast_ref::<&str>()
                            .map(|s| (*s).to_owned())
                            .or_else(|| p.downcast_ref::<String>().cloned())
                            .unwrap_or_else(|| "unknown panic".to_owned());
                        Err(format!("the model panicked: {msg}"))
                    });
                    if done_tx.send(r).is_err() {
                        break;
                    }
                }
            })
            .map_err(|e| format!("cannot spawn thread `{name}`: {e}"))?;
        Ok(Self {
            name: name.to_owned(),
            tx: Some(tx),
            rx,
            breaks,
            handle: Some(handle),
            pending: None,
            early: None,
        })
    }

    pub(super) fn send(&self, op: Op) -> Result<(), String> {
        self.tx
            .as_ref()
            .ok_or_else(|| format!("thread `{}` has stopped", self.name))?
            .send(op)
            .map_err(|_| format!("thread `{}` has stopped", self.name))
    }

    /// The result of the running operation, waiting up to `timeout`.
    pub(super) fn recv(&mut self, timeout: Duration) -> Option<Done> {
        if let Some(d) = self.early.take() {
            return Some(d);
        }
        match self.rx.recv_timeout(timeout) {
            Ok(d) => Some(d),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => {
                Some(Err(format!("thread `{}` exited unexpectedly", self.name)))
            }
        }
    }

    /// Whether the running operation finished (its result is kept).
    pub(super) fn finished(&mut self) -> bool {
        if self.early.is_some() {
            return true;
        }
        match self.rx.try_recv() {
            Ok(d) => {
                self.early = Some(d);
                true
            }
            Err(TryRecvError::Empty) => false,
            Err(TryRecvError::Disconnected) => {
                self.early = Some(Err(format!("thread `{}` exited unexpectedly", self.name)));
                true
            }
        }
    }

    /// Stops the thread; returns whether it could be joined.
    pub(super) fn quit(&mut self, wait: Duration) -> bool {
        self.tx = None;
        let Some(h) = self.handle.take() else {
            return true;
        };
        let deadline = Instant::now() + wait;
        while !h.is_finished() {
            if Instant::now() >= deadline {
                // Stuck in the model: leave it detached.
                return false;
            }
            // Drain results so the thread is never blocked on a full channel
            // (channels are unbounded; this only frees memory).
            let _ = self.rx.recv_timeout(SLICE);
        }
        let _ = h.join();
        true
    }
}
