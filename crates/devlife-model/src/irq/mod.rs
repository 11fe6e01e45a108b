//! Interrupts: lines raised by simulated hardware, handled on one handler
//! thread per line (like a threaded IRQ); `free_irq` that waits for a running
//! handler; framework IRQs gated by the binding's gate, and devm-style
//! (legacy) IRQs that are not.
//!
//! An interrupt delivered to an action whose `dev_id` has been released (a
//! devm/kfree'd driver state that the handler still points to) is reported as
//! [`ReportKind::IrqAfterRelease`] before the handler runs. Every request made
//! during a probe also carries that binding: a handler about to run after the
//! binding's `remove()` returned is reported the same way (a framework handler
//! gated by its binding never gets there; one requested outside the framework's
//! `request_irq` and left installed does).

mod controller;
mod handle;
mod handler;
mod line;

pub use controller::IrqController;
pub use handle::IrqHandle;
pub(crate) use handler::Action;
pub use handler::{IrqCtx, IrqDevId, IrqRequest, IrqReturn};
pub use line::{IrqLine, IrqStats};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activity::Activity;
    use crate::errno::Errno;
    use devlife::check::{ReportKind, Shadow};
    use devlife::{Gate, Monitor};
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;
    use std::sync::atomic::Ordering;
    use std::time::Duration;

    fn ctl() -> (Monitor, IrqController) {
        let m = Monitor::new();
        let c = IrqController::new(&m, Arc::new(Activity::default()), 1);
        (m, c)
    }

    /// The handler thread stays with its line across `free_irq` and the
    /// next request (a bind/unbind cycle starts no thread), and ends when the
    /// line goes: cycles do not accumulate threads.
    #[test]
    fn handler_thread_serves_every_request_and_ends_with_the_line() {
        let (_m, c) = ctl();
        let line = c.allocate_line("cycle");
        let sync = Arc::downgrade(&line.sync);
        let hits = Arc::new(AtomicUsize::new(0));
        let threads = Arc::new(parking_lot::Mutex::new(Vec::new()));
        for round in 1..=3 {
            let (h2, t2) = (hits.clone(), threads.clone());
            let h = c
                .request(
                    line.number(),
                    IrqRequest::new("cycle", move |_| {
                        h2.fetch_add(1, Ordering::SeqCst);
                        t2.lock().push(std::thread::current().id());
                        IrqReturn::Handled
                    }),
                )
                .unwrap();
            line.raise();
            assert!(line.wait_idle(Duration::from_secs(30)));
            assert_eq!(hits.load(Ordering::SeqCst), round);
            h.free();
            assert!(line.sync.st.lock().thread.is_some(), "round {round}");
        }
        let t = threads.lock().clone();
        assert_eq!(t.len(), 3);
        assert!(t.iter().all(|id| *id == t[0]), "{t:?}");
        assert_ne!(t[0], std::thread::current().id());
        // Dropping the last reference joins the thread: the state it shared
        // with the line is gone with it.
        drop(line);
        assert!(sync.upgrade().is_none());
        assert_eq!(c.line_count(), 0);
    }

    /// A handler that frees its own request while the line's other owners
    /// let go leaves the line's last reference to its thread: the line dies
    /// there (the thread does not wait for itself) and the thread ends.
    #[test]
    fn line_dropped_by_its_own_handler_thread_ends_it() {
        let (_m, c) = ctl();
        let line = c.allocate_line("self");
        let sync = Arc::downgrade(&line.sync);
        let slot: Arc<parking_lot::Mutex<Option<IrqHandle>>> = Arc::default();
        let (go_tx, go_rx) = crossbeam::channel::bounded::<()>(1);
        let s2 = slot.clone();
        let h = c
            .request(
                line.number(),
                IrqRequest::new("self", move |_| {
                    let _ = go_rx.recv();
                    drop(s2.lock().take());
                    IrqReturn::Handled
                }),
            )
            .unwrap();
        *slot.lock() = Some(h);
        line.raise();
        drop(line);
        go_tx.send(()).unwrap();
        // Bounded only as a hang guard: the thread ends on its own.
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while sync.strong_count() > 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(sync.strong_count(), 0);
        assert_eq!(c.line_count(), 0);
    }

    #[test]
    fn raise_deliver_and_free_waits_for_running_handler() {
        let (_m, c) = ctl();
        let line = c.allocate_line("t");
        let hits = Arc::new(AtomicUsize::new(0));
        let (enter_tx, enter_rx) = crossbeam::channel::bounded::<()>(1);
        let (go_tx, go_rx) = crossbeam::channel::bounded::<()>(1);
        let h2 = hits.clone();
        let h = c
            .request(
                line.number(),
                IrqRequest::new("t", move |_| {
                    h2.fetch_add(1, Ordering::SeqCst);
                    let _ = enter_tx.send(());
                    let _ = go_rx.recv();
                    IrqReturn::Handled
                }),
            )
            .unwrap();
        assert_eq!(
            c.request(line.number(), IrqRequest::new("x", |_| IrqReturn::None))
                .unwrap_err(),
            Errno::EBUSY
        );
        line.raise();
        enter_rx.recv().unwrap();
        // The handler is running: free_irq must wait for it.
        let h2 = h.clone();
        let freer = std::thread::spawn(move || h2.free());
        // Let the handler finish; free returns after.
        go_tx.send(()).unwrap();
        freer.join().unwrap();
        assert!(h.is_freed());
        line.raise();
        assert!(line.wait_idle(Duration::from_secs(10)));
        assert_eq!(hits.load(Ordering::SeqCst), 1);
        let s = line.stats();
        assert_eq!(
            (s.raised, s.delivered, s.handled, s.unhandled),
            (2, 1, 1, 1)
        );
    }

    #[test]
    fn gated_handler_does_not_run_after_unplug_and_released_dev_id_reports() {
        let (m, c) = ctl();
        let line = c.allocate_line("g");
        let gate = Gate::named("binding");
        let hits = Arc::new(AtomicUsize::new(0));
        let h2 = hits.clone();
        let _h = c
            .request(
                line.number(),
                IrqRequest::new("g", move |ctx| {
                    assert!(ctx.bound().is_some());
                    h2.fetch_add(1, Ordering::SeqCst);
                    IrqReturn::Handled
                })
                .gated(&gate),
            )
            .unwrap();
        line.raise();
        assert!(line.wait_idle(Duration::from_secs(10)));
        gate.unplug().unwrap();
        line.raise();
        assert!(line.wait_idle(Duration::from_secs(10)));
        assert_eq!(hits.load(Ordering::SeqCst), 1);
        assert_eq!(line.stats().gated, 1);
        assert!(m.reports().is_empty());

        let line2 = c.allocate_line("l");
        let state = Shadow::new(&m, "state", "legacy_state", 1u32);
        let s2 = state.clone();
        let _h2 = c
            .request(
                line2.number(),
                IrqRequest::new("l", move |_| {
                    let _ = *s2.get();
                    IrqReturn::Handled
                })
                .dev_id(IrqDevId::shadow(&state)),
            )
            .unwrap();
        state.free();
        line2.raise();
        assert!(line2.wait_idle(Duration::from_secs(10)));
        assert_eq!(m.reports().count(ReportKind::IrqAfterRelease), 1);
        assert_eq!(m.reports().count(ReportKind::UseAfterFree), 1);
    }

    /// A line lives as long as its device: plugging and unplugging devices
    /// with an interrupt (each binding requesting it, so the line gets a
    /// handler thread and a name) leaves no line record, no name and no
    /// thread behind, so memory stays flat over any number of cycles.
    #[test]
    fn lines_die_with_their_devices() {
        use crate::testdrv::{self, Style};
        let k = crate::Kernel::new();
        let t = testdrv::setup(&k, Style::Framework).unwrap();
        let lines = k.irq().line_count();
        let names = k.shared_activity().named_objects();
        assert_eq!(lines, 1, "the setup's own device");
        for n in 0..500 {
            let d = testdrv::add_test_device(&k, 100 + n).unwrap();
            assert!(d.is_bound());
            let line = d.hardware().irq().unwrap();
            assert!(k.irq().line(line).unwrap().is_requested());
            assert_eq!(k.irq().line_count(), lines + 1);
            k.hot_unplug(&d).unwrap();
            drop(d);
            assert!(k.irq().line(line).is_none(), "cycle {n}: line {line} kept");
        }
        assert_eq!(k.irq().line_count(), lines);
        assert_eq!(k.shared_activity().named_objects(), names);
        k.shutdown();
        drop(t);
        assert_eq!(k.irq().line_count(), 0);
        assert!(k.leaks().is_empty(), "{:?}", k.leaks());
    }
}
