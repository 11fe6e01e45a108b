//! Driver-side plumbing shared by the usb-av drivers: the way a driver
//! reaches its hardware ([`HwAccess`]) and the URB completion loop
//! ([`Pump`]).

use crate::Style;
use devlife::{Bound, Devres};
use devlife_model::legacy::Devm;
use devlife_model::{BusChannel, Errno, KResult, ProbeCtx, Registers};
use parking_lot::{Condvar, Mutex};
use std::sync::Arc;
use std::thread::JoinHandle;

/// How a driver reaches the device.
///
/// # Invariants
///
/// Framework handles are device resources of the binding: every access
/// enters the binding's gate (so an unbind waits for a transfer in flight)
/// and fails with `ENODEV` once the binding is gone. Legacy handles are raw:
/// nothing stops their use after `remove()`, and such uses are reported.
pub(crate) enum HwAccess {
    /// Revocable registers and bus channel (framework).
    Framework {
        regs: Devres<Registers>,
        bus: Devres<BusChannel>,
    },
    /// Raw handles kept in driver memory (legacy).
    Legacy { regs: Registers, bus: BusChannel },
}

impl HwAccess {
    /// Maps the registers and claims the bus handle, in the given style.
    pub(crate) fn claim(ctx: &ProbeCtx<'_>, style: Style) -> KResult<Self> {
        Ok(match style {
            Style::Framework => HwAccess::Framework {
                regs: ctx.ioremap()?,
                bus: ctx.bus_channel()?,
            },
            Style::Legacy => HwAccess::Legacy {
                regs: ctx.ioremap_unmanaged()?,
                bus: ctx.bus_channel_unmanaged()?,
            },
        })
    }

    /// A register write (a control request; may sleep in the hardware).
    /// `ENODEV` once the binding is gone (framework) and, in both styles,
    /// once the device is unplugged, as `usb_control_msg` answers then: a
    /// STREAMON racing a disconnect fails instead of "succeeding" on a
    /// device that is not there.
    #[track_caller]
    pub(crate) fn write(&self, off: u32, val: u32) -> KResult<()> {
        match self {
            HwAccess::Framework { regs, .. } => {
                let r = regs.try_access().map_err(|_| Errno::ENODEV)?;
                r.write_request(off, val)
            }
            HwAccess::Legacy { regs, .. } => regs.write_request(off, val),
        }
    }

    /// A register write from `remove()` (the binding gate is already
    /// unplugged there: the [`Bound`] proof of the remove context opens the
    /// registers).
    #[track_caller]
    pub(crate) fn write_bound(&self, bound: &Bound<'_>, off: u32, val: u32) {
        match self {
            HwAccess::Framework { regs, .. } => {
                if let Ok(r) = regs.access(bound) {
                    r.write(off, val);
                }
            }
            HwAccess::Legacy { regs, .. } => regs.write(off, val),
        }
    }

    /// A bus transfer (the request is in `buf`, see [`super::hw`]).
    #[track_caller]
    pub(crate) fn transfer(&self, buf: &mut [u8]) -> KResult<usize> {
        match self {
            HwAccess::Framework { bus, .. } => {
                let b = bus.try_access().map_err(|_| Errno::ENODEV)?;
                b.transfer(buf)
            }
            HwAccess::Legacy { bus, .. } => bus.transfer(buf),
        }
    }
}

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
