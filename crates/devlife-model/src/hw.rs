//! Simulated hardware: register blocks, bus transfers and interrupt lines.
//!
//! Each device has a [`Hardware`] object (USB interfaces share their USB
//! device's). Drivers reach it only through handles that belong to one
//! *binding session*: a [`Registers`] block (`ioremap`) and a [`BusChannel`]
//! (USB/I2C transfers). When the driver's `remove()` returns, the framework
//! closes the session; from then on every access through one of its handles is
//! a bug (docs/rules.md, rule 2) and is reported as
//! [`ReportKind::HwAfterRemove`] with the access site. The framework style
//! never gets there (its handles live in a revocable resource scope); the
//! legacy style keeps raw handles in devm-freed state and does.
//!
//! Accesses can be slow ([`Hardware::set_latency`]) or held until released
//! ([`Hardware::stall`]), so that calls really are in flight during unbind;
//! a thread waiting for the hardware is published as blocked
//! ([`BlockKind::Hardware`]). After a physical hot-unplug
//! ([`Hardware::set_present`]`(false)`), reads return all ones and transfers
//! fail, as on a real bus; that is not a bug by itself.

use crate::activity::{Activity, BlockKind};
use crate::errno::{Errno, KResult};
use crate::irq::IrqLine;
use devlife::Monitor;
use devlife::check::{Report, ReportKind};
use parking_lot::{Condvar, Mutex};
use std::panic::Location;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

/// Which bus a piece of hardware sits on (decides transfer errors).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BusKind {
    /// Memory-mapped platform device.
    Platform,
    /// USB (devices with interfaces).
    Usb,
    /// An I2C bus (sensors, tuners, decoders).
    I2c,
}

type WriteHook = Arc<dyn Fn(&Hardware, u32, u32) + Send + Sync>;
type TransferHook = Arc<dyn Fn(&Hardware, &mut [u8]) -> KResult<usize> + Send + Sync>;

struct Stall {
    /// Active stalls: id and the only thread they hold (`None`: every thread).
    active: Vec<(u64, Option<String>)>,
    next: u64,
    waiting: usize,
}

impl Stall {
    fn holds(&self, thread: &str) -> bool {
        self.active
            .iter()
            .any(|(_, t)| t.as_deref().is_none_or(|t| t == thread))
    }
}

pub(crate) struct HwInner {
    id: u64,
    name: String,
    bus: BusKind,
    regs: Vec<AtomicU32>,
    irq: Option<Arc<IrqLine>>,
    present: AtomicBool,
    latency_ns: AtomicU64,
    stall: Mutex<Stall>,
    stall_cv: Condvar,
    accesses: AtomicU64,
    write_hook: Mutex<Option<WriteHook>>,
    transfer_hook: Mutex<Option<TransferHook>>,
    monitor: Monitor,
    activity: Arc<Activity>,
}

/// A simulated piece of hardware. Cloning gives another handle.
///
/// # Invariants
///
/// Register offsets are byte offsets of 32-bit registers; an offset outside
/// the block reads as all ones and ignores writes (and never panics).
#[derive(Clone)]
pub struct Hardware {
    pub(crate) inner: Arc<HwInner>,
}

impl std::fmt::Debug for Hardware {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hardware")
            .field("name", &self.inner.name)
            .field("regs", &self.inner.regs.len())
            .field("present", &self.is_present())
            .finish()
    }
}

/// A [`Hardware::stall`] in effect; dropping it lets held accesses go.
pub struct StallGuard {
    hw: Hardware,
    id: u64,
}

impl std::fmt::Debug for StallGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StallGuard({})", self.hw.name())
    }
}

impl Drop for StallGuard {
    fn drop(&mut self) {
        let mut s = self.hw.inner.stall.lock();
        s.active.retain(|(i, _)| *i != self.id);
        self.hw.inner.stall_cv.notify_all();
    }
}

impl Hardware {
    pub(crate) fn new(
        monitor: &Monitor,
        activity: Arc<Activity>,
        name: &str,
        bus: BusKind,
        nregs: usize,
        irq: Option<Arc<IrqLine>>,
        latency: Duration,
    ) -> Self {
        Self {
            inner: Arc::new(HwInner {
                id: monitor.next_id(),
                name: name.to_owned(),
                bus,
                regs: (0..nregs).map(|_| AtomicU32::new(0)).collect(),
                irq,
                present: AtomicBool::new(true),
                latency_ns: AtomicU64::new(latency.as_nanos().min(u64::MAX as u128) as u64),
                stall: Mutex::new(Stall {
                    active: Vec::new(),
                    next: 0,
                    waiting: 0,
                }),
                stall_cv: Condvar::new(),
                accesses: AtomicU64::new(0),
                write_hook: Mutex::new(None),
                transfer_hook: Mutex::new(None),
                monitor: monitor.clone(),
                activity,
            }),
        }
    }

    /// What a bus request to this device answers once it is physically gone:
    /// `ENODEV` on USB (a disconnected device), `EREMOTEIO` on I2C (no
    /// acknowledge), `EIO` on a platform bus.
    pub fn gone_errno(&self) -> Errno {
        match self.bus() {
            BusKind::Usb => Errno::ENODEV,
            BusKind::I2c => Errno::EREMOTEIO,
            BusKind::Platform => Errno::EIO,
        }
    }

    /// Name (the device's).
    pub fn name(&self) -> &str {
        &self.inner.name
    }
    /// The id this hardware has in the monitor's journal and reports.
    pub fn id(&self) -> u64 {
        self.inner.id
    }
    /// The bus the hardware sits on (which decides the errno of a request after it is gone).
    pub fn bus(&self) -> BusKind {
        self.inner.bus
    }
    /// Number of 32-bit registers.
    pub fn nregs(&self) -> usize {
        self.inner.regs.len()
    }
    /// Whether the hardware is physically present.
    pub fn is_present(&self) -> bool {
        self.inner.present.load(Ordering::Acquire)
    }
    /// Physically removes (or re-inserts) the hardware.
    pub fn set_present(&self, present: bool) {
        self.inner.present.store(present, Ordering::Release);
    }
    /// Delay of every register access and transfer.
    pub fn set_latency(&self, d: Duration) {
        self.inner
            .latency_ns
            .store(d.as_nanos().min(u64::MAX as u128) as u64, Ordering::Relaxed);
    }
    /// Holds every access until the returned guard drops (nested stalls add up).
    pub fn stall(&self) -> StallGuard {
        self.add_stall(None)
    }
    /// Holds the accesses of thread `thread` only (by name), until the guard
    /// drops: the call in flight sleeps in the hardware while the driver's
    /// own `remove()` can still reach it.
    pub fn stall_thread(&self, thread: &str) -> StallGuard {
        self.add_stall(Some(thread.to_owned()))
    }
    fn add_stall(&self, who: Option<String>) -> StallGuard {
        let mut s = self.inner.stall.lock();
        s.next += 1;
        let id = s.next;
        s.active.push((id, who));
        StallGuard {
            hw: self.clone(),
            id,
        }
    }
    /// Accesses waiting in a stall right now.
    pub fn stalled(&self) -> usize {
        self.inner.stall.lock().waiting
    }
    /// Accesses made so far (all sessions).
    pub fn accesses(&self) -> u64 {
        self.inner.accesses.load(Ordering::Relaxed)
    }
    /// The interrupt line, if the hardware has one.
    pub fn irq(&self) -> Option<u32> {
        self.inner.irq.as_ref().map(|l| l.number())
    }
    /// The hardware raises its interrupt (nothing if it has no line).
    pub fn raise_irq(&self) {
        if let Some(l) = &self.inner.irq {
            l.raise();
        }
    }
    /// Reads a register as a test bench would (no session, no checks, no latency).
    pub fn peek(&self, offset: u32) -> u32 {
        self.reg(offset)
            .map_or(u32::MAX, |r| r.load(Ordering::Acquire))
    }
    /// Sets a register as the device itself would (status bits, counters).
    pub fn poke(&self, offset: u32, value: u32) {
        if let Some(r) = self.reg(offset) {
            r.store(value, Ordering::Release);
        }
    }
    /// Device behaviour on register writes: called after each driver write.
    pub fn set_write_hook(&self, f: impl Fn(&Hardware, u32, u32) + Send + Sync + 'static) {
        *self.inner.write_hook.lock() = Some(Arc::new(f));
    }
    /// Device behaviour on bus transfers (default: fill with a byte counter).
    pub fn set_transfer_hook(
        &self,
        f: impl Fn(&Hardware, &mut [u8]) -> KResult<usize> + Send + Sync + 'static,
    ) {
        *self.inner.transfer_hook.lock() = Some(Arc::new(f));
    }

    fn reg(&self, offset: u32) -> Option<&AtomicU32> {
        if !offset.is_multiple_of(4) {
            return None;
        }
        self.inner.regs.get((offset / 4) as usize)
    }

    /// Latency and stall, published as a hardware block.
    fn delay(&self) {
        let lat = self.inner.latency_ns.load(Ordering::Relaxed);
        if lat == 0 && self.inner.stall.lock().active.is_empty() {
            return;
        }
        let me = crate::activity::thread_name();
        let stalled = self.inner.stall.lock().holds(&me);
        if lat == 0 && !stalled {
            return;
        }
        let _b = self
            .inner
            .activity
            .block(BlockKind::Hardware, &self.inner.name);
        if lat > 0 {
            std::thread::sleep(Duration::from_nanos(lat));
        }
        let mut s = self.inner.stall.lock();
        if s.holds(&me) {
            s.waiting += 1;
            self.inner.stall_cv.notify_all();
            while s.holds(&me) {
                self.inner.stall_cv.wait(&mut s);
            }
            s.waiting -= 1;
        }
    }

    /// Waits until `n` accesses sit in a stall (a test helper; `timeout` is a
    /// safety bound). Returns whether they did.
    pub fn wait_stalled(&self, n: usize, timeout: Duration) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        let mut s = self.inner.stall.lock();
        while s.waiting < n {
            if self.inner.stall_cv.wait_until(&mut s, deadline).timed_out() {
                return s.waiting >= n;
            }
        }
        true
    }
}

/// One binding's claim on a piece of hardware. Closed when the driver's
/// `remove()` returns; any access through its handles after that is reported.
pub struct HwSession {
    id: u64,
    owner: String,
    closed: AtomicBool,
    reported: AtomicU64,
}

impl std::fmt::Debug for HwSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HwSession")
            .field("owner", &self.owner)
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl HwSession {
    pub(crate) fn new(monitor: &Monitor, owner: String) -> Arc<Self> {
        Arc::new(Self {
            id: monitor.next_id(),
            owner,
            closed: AtomicBool::new(false),
            reported: AtomicU64::new(0),
        })
    }
    /// Marks `remove()` as returned.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
    }
    /// Who holds the session (`driver bound to device`).
    pub fn owner(&self) -> &str {
        &self.owner
    }
    /// Whether `remove()` returned.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }
    /// Accesses reported after close.
    pub fn violations(&self) -> u64 {
        self.reported.load(Ordering::Relaxed)
    }

    fn check(&self, hw: &Hardware, what: &str, site: &'static Location<'static>) {
        if self.is_closed() {
            self.reported.fetch_add(1, Ordering::Relaxed);
            let m = &hw.inner.monitor;
            m.report(Report::new(
                ReportKind::HwAfterRemove,
                hw.inner.id,
                &hw.inner.name,
                format!(
                    "{what} of `{}` by `{}` after its remove() returned (thread `{}`)",
                    hw.inner.name,
                    self.owner,
                    crate::activity::thread_name()
                ),
                Some(site),
            ));
        }
        let _ = self.id;
    }
}

/// A mapped register block (`void __iomem *`) of one binding session.
#[derive(Clone)]
pub struct Registers {
    hw: Hardware,
    session: Arc<HwSession>,
}

impl std::fmt::Debug for Registers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registers")
            .field("hw", &self.hw.name())
            .field("session", &self.session)
            .finish()
    }
}

impl Registers {
    pub(crate) fn new(hw: Hardware, session: Arc<HwSession>) -> Self {
        Self { hw, session }
    }

    /// `readl`. Reports an access after remove; all ones when the device is gone.
    #[track_caller]
    pub fn read(&self, offset: u32) -> u32 {
        let site = Location::caller();
        // The access happens when the latency is over: check then.
        self.hw.delay();
        self.session.check(&self.hw, "register read", site);
        self.hw.inner.accesses.fetch_add(1, Ordering::Relaxed);
        if !self.hw.is_present() {
            return u32::MAX;
        }
        self.hw.peek(offset)
    }

    /// `writel`. Reports an access after remove; ignored when the device is gone.
    #[track_caller]
    pub fn write(&self, offset: u32, value: u32) {
        let _ = self.write_request(offset, value);
    }

    /// A register write carried by a bus request (a USB control message, an
    /// I2C write): like [`write`](Self::write), but a device that is
    /// physically gone answers with its bus's errno ([`Hardware::gone_errno`]:
    /// `ENODEV` on USB, as `usb_control_msg` after a disconnect) instead of
    /// the write being dropped silently.
    #[track_caller]
    pub fn write_request(&self, offset: u32, value: u32) -> KResult<()> {
        let site = Location::caller();
        // The access happens when the latency is over: check then.
        self.hw.delay();
        self.session.check(&self.hw, "register write", site);
        self.hw.inner.accesses.fetch_add(1, Ordering::Relaxed);
        if !self.hw.is_present() {
            return Err(self.hw.gone_errno());
        }
        self.hw.poke(offset, value);
        let hook = self.hw.inner.write_hook.lock().clone();
        if let Some(h) = hook {
            h(&self.hw, offset, value);
        }
        Ok(())
    }

    /// The hardware behind the block.
    pub fn hardware(&self) -> &Hardware {
        &self.hw
    }
}

/// A bus handle (USB endpoint, I2C client) of one binding session.
#[derive(Clone)]
pub struct BusChannel {
    hw: Hardware,
    session: Arc<HwSession>,
}

impl std::fmt::Debug for BusChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BusChannel")
            .field("hw", &self.hw.name())
            .field("session", &self.session)
            .finish()
    }
}

impl BusChannel {
    pub(crate) fn new(hw: Hardware, session: Arc<HwSession>) -> Self {
        Self { hw, session }
    }

    /// A bus transfer into `buf` (e.g. a USB bulk-in or an I2C read).
    /// After a physical unplug: `ENODEV` on USB, `EREMOTEIO` on I2C, `EIO`
    /// on platform.
    #[track_caller]
    pub fn transfer(&self, buf: &mut [u8]) -> KResult<usize> {
        let site = Location::caller();
        // The access happens when the latency is over: check then.
        self.hw.delay();
        self.session.check(&self.hw, "bus transfer", site);
        self.hw.inner.accesses.fetch_add(1, Ordering::Relaxed);
        if !self.hw.is_present() {
            return Err(self.hw.gone_errno());
        }
        let hook = self.hw.inner.transfer_hook.lock().clone();
        match hook {
            Some(h) => h(&self.hw, buf),
            None => {
                let base = self.hw.accesses() as u8;
                for (i, b) in buf.iter_mut().enumerate() {
                    *b = base.wrapping_add(i as u8);
                }
                Ok(buf.len())
            }
        }
    }

    /// The hardware behind the channel.
    pub fn hardware(&self) -> &Hardware {
        &self.hw
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hw() -> (Monitor, Hardware) {
        let m = Monitor::new();
        let h = Hardware::new(
            &m,
            Arc::new(Activity::default()),
            "hw0",
            BusKind::Usb,
            4,
            None,
            Duration::ZERO,
        );
        (m, h)
    }

    #[test]
    fn access_after_close_is_reported_with_site() {
        let (m, h) = hw();
        let s = HwSession::new(&m, "drv".into());
        let r = Registers::new(h.clone(), s.clone());
        r.write(4, 7);
        assert_eq!(r.read(4), 7);
        assert_eq!(r.read(5), u32::MAX); // unaligned
        assert_eq!(r.read(400), u32::MAX); // out of range
        assert!(m.reports().is_empty());
        s.close();
        let _ = r.read(4);
        let reps = m.reports().all();
        assert_eq!(reps.len(), 1);
        assert_eq!(reps[0].kind, ReportKind::HwAfterRemove);
        assert!(reps[0].site.unwrap().file().ends_with("hw.rs"));
        assert_eq!(s.violations(), 1);
    }

    #[test]
    fn unplugged_bus_fails_transfers_without_report() {
        let (m, h) = hw();
        let s = HwSession::new(&m, "drv".into());
        let c = BusChannel::new(h.clone(), s);
        let mut b = [0u8; 4];
        assert_eq!(c.transfer(&mut b), Ok(4));
        h.set_present(false);
        assert_eq!(c.transfer(&mut b), Err(Errno::ENODEV));
        let r = Registers::new(h.clone(), HwSession::new(&m, "x".into()));
        assert_eq!(r.read(0), u32::MAX);
        // A control request to a disconnected USB device fails with ENODEV
        // (usb_control_msg); a plain MMIO write is dropped.
        assert_eq!(r.write_request(4, 1), Err(Errno::ENODEV));
        r.write(4, 1);
        h.set_present(true);
        assert_eq!(
            r.read(4),
            0,
            "nothing was written while the device was gone"
        );
        assert_eq!(r.write_request(4, 1), Ok(()));
        assert_eq!(r.read(4), 1);
        assert!(m.reports().is_empty());
    }

    #[test]
    fn stall_holds_accesses_until_released() {
        let (m, h) = hw();
        let r = Registers::new(h.clone(), HwSession::new(&m, "d".into()));
        let g = h.stall();
        let t = std::thread::spawn(move || r.read(0));
        assert!(h.wait_stalled(1, Duration::from_secs(10)));
        drop(g);
        assert_eq!(t.join().unwrap(), 0);
        assert_eq!(h.stalled(), 0);
    }
}
