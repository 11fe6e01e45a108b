//! The URB completion loop of a stream ([`Pump`]) and its control block
//! ([`PumpCtl`]): a stop flag and a doorbell, shared by the video and audio
//! drivers.

use devlife_model::{Errno, KResult};
use parking_lot::{Condvar, Mutex};
use std::sync::Arc;
use std::thread::JoinHandle;

#[derive(Default)]
struct Flags {
    stop: bool,
    kicks: u64,
}

/// The control block of a URB completion loop: a stop flag and a doorbell.
///
/// # Invariants
///
/// `ready` closures run with the flag lock held; they may take the driver's
/// data locks, so those locks must never be held while calling
/// [`kick`](Self::kick) or [`request_stop`](Self::request_stop).
#[derive(Default)]
pub(crate) struct PumpCtl {
    flags: Mutex<Flags>,
    cv: Condvar,
}

impl PumpCtl {
    /// Something changed (a buffer was queued, ring space was freed).
    pub(crate) fn kick(&self) {
        let mut f = self.flags.lock();
        f.kicks = f.kicks.wrapping_add(1);
        self.cv.notify_all();
    }

    /// Asks the loop to stop.
    pub(crate) fn request_stop(&self) {
        self.flags.lock().stop = true;
        self.cv.notify_all();
    }

    /// Re-arms the control block for a new loop.
    pub(crate) fn reset(&self) {
        self.flags.lock().stop = false;
    }

    /// Whether a stop was requested.
    pub(crate) fn stopping(&self) -> bool {
        self.flags.lock().stop
    }

    /// Sleeps until `ready` gives a value (`Some`) or a stop is requested
    /// (`None`). Not a file operation: unplug does not wake it, the driver's
    /// stop path does.
    pub(crate) fn wait_for<T>(&self, mut ready: impl FnMut() -> Option<T>) -> Option<T> {
        let mut f = self.flags.lock();
        loop {
            if f.stop {
                return None;
            }
            if let Some(v) = ready() {
                return Some(v);
            }
            self.cv.wait(&mut f);
        }
    }
}

/// A running URB completion loop on its own named thread (a kernel thread
/// in the model; tests stall its transfers by thread name).
pub(crate) struct Pump {
    ctl: Arc<PumpCtl>,
    thread: Option<JoinHandle<()>>,
}

impl Pump {
    /// Starts `body` on a thread named `name`.
    pub(crate) fn start(
        name: String,
        ctl: &Arc<PumpCtl>,
        body: impl FnOnce() + Send + 'static,
    ) -> KResult<Pump> {
        ctl.reset();
        let thread = std::thread::Builder::new()
            .name(name)
            .spawn(body)
            .map_err(|_| Errno::ENOMEM)?;
        Ok(Pump {
            ctl: ctl.clone(),
            thread: Some(thread),
        })
    }

    /// Stops the loop and waits for it (`usb_kill_urb`: returns when no
    /// completion runs any more).
    pub(crate) fn stop(mut self) {
        self.ctl.request_stop();
        if let Some(t) = self.thread.take()
            && t.thread().id() != std::thread::current().id()
        {
            let _ = t.join();
        }
    }
}

impl Drop for Pump {
    fn drop(&mut self) {
        if self.thread.is_some() {
            self.ctl.request_stop();
            if let Some(t) = self.thread.take()
                && t.thread().id() != std::thread::current().id()
            {
                let _ = t.join();
            }
        }
    }
}
