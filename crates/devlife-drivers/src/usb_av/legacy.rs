//! What usb-av's two legacy twins share: the pre-fix way to reach the
//! device ([`RawIo`]), raw handles kept in driver memory and the
//! `DEV_DISCONNECTED` bit of au0828's `dev_state`.

use super::io::DeviceIo;
use devlife::Bound;
use devlife_model::legacy::Devm;
use devlife_model::{BusChannel, KResult, ProbeCtx, Registers};
use std::sync::atomic::{AtomicBool, Ordering};

/// Raw register and bus handles, and the driver's disconnect flag.
///
/// # Invariants
///
/// Nothing stops a use of the handles after `remove()`; every such use is
/// reported (hardware after remove). `disconnected` is set by the twin's
/// `remove()` only; a URB completion reads it before resubmitting, through
/// the state it lives in, which devm may have freed by then.
pub(crate) struct RawIo {
    regs: Registers,
    bus: BusChannel,
    disconnected: AtomicBool,
}

impl RawIo {
    /// `devm_ioremap` and the raw bus handle (fault point `IoRemap` for
    /// each).
    pub(crate) fn claim(ctx: &ProbeCtx<'_>) -> KResult<Self> {
        Ok(Self {
            regs: ctx.ioremap_unmanaged()?,
            bus: ctx.bus_channel_unmanaged()?,
            disconnected: AtomicBool::new(false),
        })
    }

    /// `set_bit(DEV_DISCONNECTED, &dev->dev_state)`.
    pub(crate) fn mark_disconnected(&self) {
        self.disconnected.store(true, Ordering::Release);
    }
}

impl DeviceIo for RawIo {
    #[track_caller]
    fn write(&self, off: u32, val: u32) -> KResult<()> {
        self.regs.write_request(off, val)
    }

    #[track_caller]
    fn write_bound(&self, _bound: &Bound<'_>, off: u32, val: u32) {
        self.regs.write(off, val);
    }

    #[track_caller]
    fn transfer(&self, buf: &mut [u8]) -> KResult<usize> {
        self.bus.transfer(buf)
    }

    fn marked_disconnected(&self) -> bool {
        self.disconnected.load(Ordering::Acquire)
    }
}
