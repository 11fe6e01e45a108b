//! A small misc-like test driver, in both styles, used by this crate's tests,
//! the drivers crate and the harness.
//!
//! The device (`platform:devlife-testdrv`) has a few registers and an
//! interrupt. Writing [`CTRL_START`] to [`REG_CTRL`] makes it produce a data
//! word and raise its interrupt; the handler moves the word into a FIFO and
//! wakes readers. The driver exposes one misc node (`testdrvN`) with:
//!
//! * a blocking `read` of 4-byte words from the FIFO (`EAGAIN` if non-blocking);
//! * `write` of words into the data register (hardware access);
//! * ioctls: [`IOC_PING`] (memory only), [`IOC_HWOP`] (N register reads that
//!   may sleep in the hardware: latency/stall), [`IOC_TRIGGER`] (start the
//!   device), [`IOC_WAIT`] (sleep until N words were produced, like DQBUF),
//!   [`IOC_STATS`], [`IOC_DEFER`] (queue a work item that touches the
//!   hardware and the state);
//! * `poll` (IN when the FIFO is not empty) and `mmap` of a 4 KiB buffer.
//!
//! [`Style::Framework`] is written the way docs/rules.md says: state released on
//! the last reference, registers as a revocable device resource, a gated IRQ,
//! every op gated. [`Style::Legacy`] is the pre-fix driver: state allocated
//! with `devm_kzalloc` (freed at unbind), raw register pointer, a devm IRQ
//! requested before the state (so devm frees the state first), and a node
//! with a `registered` flag checked only at call entry. The checkers stay
//! silent for the first and fire for the second.

use crate::chrdev::Node;
use crate::device::{Device, DeviceSpec};
use crate::errno::KResult;
use crate::hw::Hardware;
use crate::kernel::Kernel;
use crate::module::Module;
use crate::testdrv::driver::node_name;

mod driver;
mod legacy;
mod ops;
mod state;

pub use driver::{TestDriver, install_device_model};
pub use state::{FilePriv, State, TestData};

/// Control register.
pub const REG_CTRL: u32 = 0x00;
/// Status register ([`STATUS_READY`]).
pub const REG_STATUS: u32 = 0x04;
/// Data register.
pub const REG_DATA: u32 = 0x08;
/// Interrupt enable register.
pub const REG_IRQ_EN: u32 = 0x0c;
/// Words produced by the device so far.
pub const REG_COUNT: u32 = 0x10;
/// `CTRL` bit: produce one word.
pub const CTRL_START: u32 = 1;
/// `STATUS` bit: a word is ready in `DATA`.
pub const STATUS_READY: u32 = 1;

/// `ioctl`: returns 0, touches only memory.
pub const IOC_PING: u32 = 0x7401;
/// `ioctl`: `arg` = u32 LE count N; performs N reads of `STATUS` (each may
/// sleep in the hardware) and writes the last value back into `arg`.
pub const IOC_HWOP: u32 = 0x7402;
/// `ioctl`: makes the device produce one word (and interrupt).
pub const IOC_TRIGGER: u32 = 0x7403;
/// `ioctl`: `arg` = u32 LE N; sleeps until N words were produced in total.
pub const IOC_WAIT: u32 = 0x7404;
/// `ioctl`: fills `arg` (>= 16 bytes) with u64 LE opens and words produced,
/// and deferred-work runs if `arg` has 24 bytes or more.
pub const IOC_STATS: u32 = 0x7405;

/// `ioctl`: queues the driver's work item (returns 1 if queued, 0 if it was
/// already pending). The work reads `COUNT` and bumps a counter in the state.
pub const IOC_DEFER: u32 = 0x7406;

/// Size of the mmap-able buffer.
pub const MEM_SIZE: usize = 4096;

/// Driver name of each style.
pub fn driver_name(style: Style) -> &'static str {
    match style {
        Style::Framework => "testdrv",
        Style::Legacy => "testdrv-legacy",
    }
}

/// Module name of each style.
pub fn module_name(style: Style) -> &'static str {
    driver_name(style)
}

/// Modalias the driver matches.
pub const MODALIAS: &str = "platform:devlife-testdrv";

/// How the driver is written (the workspace's one [`Style`](crate::Style)).
pub use crate::Style;

/// A test setup: the driver's module loaded, the driver registered, one
/// device added and bound.
#[derive(Clone, Debug)]
pub struct Setup {
    /// The kernel the driver is registered in.
    pub kernel: Kernel,
    /// The driver's module.
    pub module: Module,
    /// The device (`devlife-testdrv.N`).
    pub device: Device,
    /// How the registered driver is written.
    pub style: Style,
}

impl Setup {
    /// Name of the device's node (`testdrvN`).
    pub fn node_name(&self) -> String {
        node_name(&self.device)
    }
    /// The device's node, if registered.
    pub fn node(&self) -> Option<Node> {
        self.kernel.lookup(&self.node_name())
    }
    /// The device's hardware.
    pub fn hw(&self) -> &Hardware {
        self.device.hardware()
    }
    /// The driver name.
    pub fn driver(&self) -> &'static str {
        driver_name(self.style)
    }
    /// Adds another device (`devlife-testdrv.N`) for the same driver.
    pub fn add_device(&self, n: u32) -> KResult<Device> {
        add_test_device(&self.kernel, n)
    }
    /// Re-adds the device after a hot-unplug (same name, new device) and
    /// updates `self.device`.
    pub fn replug(&mut self) -> KResult<()> {
        let n: u32 = self
            .device
            .name()
            .rsplit('.')
            .next()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        self.device = add_test_device(&self.kernel, n)?;
        Ok(())
    }
}

/// Adds test device number `n` with its device model installed.
pub fn add_test_device(k: &Kernel, n: u32) -> KResult<Device> {
    // Install the device model before the driver can probe: create the
    // device through a spec, then the hook is set on its hardware right away
    // (probe only enables the interrupt; production starts on TRIGGER).
    let dev = k.add_device(DeviceSpec::platform("devlife-testdrv", n).regs(8))?;
    install_device_model(dev.hardware());
    Ok(dev)
}

/// Loads the style's module, registers its driver and adds device 0.
pub fn setup(k: &Kernel, style: Style) -> KResult<Setup> {
    let module = match k.module(module_name(style)) {
        Some(m) => m,
        None => k.load_module(module_name(style))?,
    };
    if !k.drivers().iter().any(|d| d == driver_name(style)) {
        k.register_driver(TestDriver { style }, Some(&module))?;
    }
    let device = add_test_device(k, 0)?;
    Ok(Setup {
        kernel: k.clone(),
        module,
        device,
        style,
    })
}
