//! How a usb-av driver reaches its device: register writes (control
//! requests) and bus transfers, through the [`DeviceIo`] trait. The
//! framework drivers use [`DevresIo`], device resources of the binding.

use devlife::{Bound, Devres};
use devlife_model::{BusChannel, Errno, KResult, ProbeCtx, Registers};

/// The register and bus accesses of a driver's state, whatever the handles.
///
/// # Contract
///
/// Every method may sleep in the hardware (a transfer has a latency). An
/// access to a device that is unplugged answers `ENODEV`, as
/// `usb_control_msg` does.
pub(crate) trait DeviceIo: Send + Sync + 'static {
    /// A register write (a control request). `ENODEV` once the device can
    /// no longer be reached: a STREAMON racing a disconnect fails instead of
    /// "succeeding" on a device that is not there.
    #[track_caller]
    fn write(&self, off: u32, val: u32) -> KResult<()>;

    /// A register write from `remove()`: the binding's gate is already
    /// unplugged there, the [`Bound`] proof of the remove context opens the
    /// registers.
    #[track_caller]
    fn write_bound(&self, bound: &Bound<'_>, off: u32, val: u32);

    /// A bus transfer (the request is in `buf`, see [`super::hw`]).
    #[track_caller]
    fn transfer(&self, buf: &mut [u8]) -> KResult<usize>;

    /// Whether the driver has marked the device disconnected in its own
    /// state (a driver flag a URB completion checks before resubmitting).
    /// Handles that the binding revokes never need one: the node's unplug
    /// stops the URB loop while the device is still bound.
    fn marked_disconnected(&self) -> bool {
        false
    }
}

/// Registers and bus channel as device resources of the binding.
///
/// # Invariants
///
/// Every access enters the binding's gate (so an unbind waits for a
/// transfer in flight) and fails with `ENODEV` once the binding is gone.
pub(crate) struct DevresIo {
    regs: Devres<Registers>,
    bus: Devres<BusChannel>,
}

impl DevresIo {
    /// Maps the registers and claims the bus handle (fault point `IoRemap`
    /// for each).
    pub(crate) fn claim(ctx: &ProbeCtx<'_>) -> KResult<Self> {
        Ok(Self {
            regs: ctx.ioremap()?,
            bus: ctx.bus_channel()?,
        })
    }
}

impl DeviceIo for DevresIo {
    #[track_caller]
    fn write(&self, off: u32, val: u32) -> KResult<()> {
        let r = self.regs.try_access().map_err(|_| Errno::ENODEV)?;
        r.write_request(off, val)
    }

    #[track_caller]
    fn write_bound(&self, bound: &Bound<'_>, off: u32, val: u32) {
        if let Ok(r) = self.regs.access(bound) {
            r.write(off, val);
        }
    }

    #[track_caller]
    fn transfer(&self, buf: &mut [u8]) -> KResult<usize> {
        let b = self.bus.try_access().map_err(|_| Errno::ENODEV)?;
        b.transfer(buf)
    }
}
