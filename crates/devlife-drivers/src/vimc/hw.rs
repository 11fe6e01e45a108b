//! vimc's simulated frame engine: a small register block and a frame-done
//! interrupt.
//!
//! The kernel's vimc has no hardware. devlife gives its platform device one,
//! so that rule 2 of docs/rules.md (hardware dies at unbind) applies to it and the
//! hardware checkers have something to watch: the streamer "latches" each
//! frame by writing [`REG_TRIGGER`]; the device counts it and raises its
//! interrupt, whose handler completes the buffer. Formats programmed through
//! the nodes are written to [`reg_fmt`]. The framework driver reaches the
//! block through a revocable device resource; the legacy twin keeps a raw
//! mapping, so its late accesses are reported.

use devlife::Bound;
use devlife::Devres;
use devlife_model::{Hardware, Registers};
use parking_lot::Mutex;
use std::sync::Arc;

/// Identification register: reads [`VIMC_ID`].
pub const REG_ID: u32 = 0x00;
/// Interrupt enable (non-zero: enabled).
pub const REG_IRQ_EN: u32 = 0x04;
/// Interrupt status: bit `c` = a frame of capture `c` was latched.
pub const REG_IRQ_STATUS: u32 = 0x08;
/// Interrupt acknowledge: writing a mask clears those status bits.
pub const REG_IRQ_ACK: u32 = 0x0c;
/// Frame trigger: writing bit `c` latches a frame for capture `c`.
pub const REG_TRIGGER: u32 = 0x10;
/// The value of [`REG_ID`].
pub const VIMC_ID: u32 = 0x434d_4956; // "VIMC"

/// Stream control of capture `c` (1 = streaming).
pub const fn reg_stream(c: usize) -> u32 {
    0x14 + 4 * c as u32
}

/// Frames latched for capture `c` so far.
pub const fn reg_frames(c: usize) -> u32 {
    0x20 + 4 * c as u32
}

/// The format last programmed for entity `e` (media bus code or fourcc).
pub const fn reg_fmt(e: usize) -> u32 {
    0x40 + 4 * e as u32
}

/// Control register pair: the id of the control last set...
pub const REG_CTRL_ID: u32 = 0x70;
/// ...and its value (written after the id by every control `s_ctrl`).
pub const REG_CTRL_VAL: u32 = 0x74;

/// Registers the block needs (32-bit words).
pub const NUM_REGS: usize = 32;

/// Installs the device's behaviour on `hw` (before any driver binds).
pub fn install_device_model(hw: &Hardware) {
    hw.poke(REG_ID, VIMC_ID);
    // The status register is read-modify-written by the trigger (streamer
    // thread) and the acknowledge (interrupt thread): one lock for both.
    let lock = Arc::new(Mutex::new(()));
    hw.set_write_hook(move |hw, off, val| match off {
        REG_TRIGGER => {
            let bits = val & 0b111;
            if bits == 0 {
                return;
            }
            {
                let _l = lock.lock();
                for c in 0..3 {
                    if bits & (1 << c) != 0 {
                        hw.poke(reg_frames(c), hw.peek(reg_frames(c)).wrapping_add(1));
                    }
                }
                hw.poke(REG_IRQ_STATUS, hw.peek(REG_IRQ_STATUS) | bits);
            }
            if hw.peek(REG_IRQ_EN) != 0 {
                hw.raise_irq();
            }
        }
        REG_IRQ_ACK => {
            let _l = lock.lock();
            hw.poke(REG_IRQ_STATUS, hw.peek(REG_IRQ_STATUS) & !val);
        }
        _ => {}
    });
}

/// How a binding reaches the registers.
pub(crate) enum Regs {
    /// Framework: a device resource, revoked at unbind.
    Framework(Devres<Registers>),
    /// Legacy: a raw mapping kept in devm-freed state.
    Legacy(Registers),
}

impl Regs {
    /// A register write from a file operation or a thread outside the
    /// binding's own proof: framework style enters the binding gate
    /// (`Devres::try_access`) and does nothing once revoked.
    pub(crate) fn write(&self, off: u32, val: u32) -> bool {
        match self {
            Regs::Framework(d) => match d.try_access() {
                Ok(r) => {
                    r.write(off, val);
                    true
                }
                Err(_) => false,
            },
            Regs::Legacy(r) => {
                r.write(off, val);
                true
            }
        }
    }

    /// A register write with the binding's proof (probe, remove, a gated
    /// timer or interrupt handler): no atomics on the framework path.
    pub(crate) fn write_bound(&self, bound: Option<&Bound<'_>>, off: u32, val: u32) -> bool {
        match (self, bound) {
            (Regs::Framework(d), Some(b)) => match d.access(b) {
                Ok(r) => {
                    r.write(off, val);
                    true
                }
                Err(_) => false,
            },
            _ => self.write(off, val),
        }
    }

    /// A register read with the binding's proof (or through the resource).
    pub(crate) fn read_bound(&self, bound: Option<&Bound<'_>>, off: u32) -> Option<u32> {
        match (self, bound) {
            (Regs::Framework(d), Some(b)) => d.access(b).ok().map(|r| r.read(off)),
            (Regs::Framework(d), None) => d.try_access().ok().map(|r| r.read(off)),
            (Regs::Legacy(r), _) => Some(r.read(off)),
        }
    }
}
