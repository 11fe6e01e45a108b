//! Stop points: named places in the model (and the layers above it) where a
//! thread can be held, so that a race is played out at an exact instruction
//! instead of by timing.
//!
//! The model calls [`point`] at each place listed in [`POINTS`]; upper layers
//! add their own names (devlife-media's `media_ioctl`, `media_open`). Nothing
//! happens unless the calling thread installed a hook with [`with_hook`]:
//! the scenario runner's breakpoints, `devlife explore` (which first records
//! the points a call passes, then stops it at each in turn while the device
//! is unplugged) and the stress engine's stop-point mode all install one.
//! A point costs one thread-local read when no hook is set.
//!
//! ```
//! use devlife_model::stop;
//! use std::sync::{Arc, Mutex};
//! let hits = Arc::new(Mutex::new(Vec::new()));
//! let h = hits.clone();
//! stop::with_hook(move |p| h.lock().unwrap().push(p), || stop::point("here"));
//! stop::point("not recorded");
//! assert_eq!(*hits.lock().unwrap(), vec!["here"]);
//! ```

use std::cell::RefCell;
use std::rc::Rc;

/// `open`: the node's registration check passed (the gate was entered), the
/// driver's `open` has not run yet.
pub const OPEN_ENTERED: &str = "open:entered";
/// `read`: inside the node's gate, before the driver's `read`.
pub const READ_ENTERED: &str = "read:entered";
/// `write`: inside the node's gate, before the driver's `write`.
pub const WRITE_ENTERED: &str = "write:entered";
/// An ioctl: inside the node's gate, before the driver's `ioctl`.
pub const IOCTL_ENTERED: &str = "ioctl:entered";
/// `poll`: inside the node's gate, before the driver's `poll`.
pub const POLL_ENTERED: &str = "poll:entered";
/// `mmap`: inside the node's gate, before the driver's `mmap`.
pub const MMAP_ENTERED: &str = "mmap:entered";
/// The last close of a file: before the driver's `release` runs (outside
/// any gate).
pub const RELEASE_BEGIN: &str = "release:begin";
/// The last close of a file: the driver's `release` returned; the module
/// reference and the node are not yet put.
pub const RELEASE_DONE: &str = "release:done";
/// A node's unregistration (from `remove()` or the framework's step 6): the
/// node is unplugged (calls drained) but still in `/dev`.
pub const UNREGISTER_UNPLUGGED: &str = "unregister:unplugged";
/// A node's unregistration: the node left `/dev`, its minor is free.
pub const UNREGISTER_DONE: &str = "unregister:done";
/// Probe: the binding exists, the driver's `probe` has not run yet.
pub const PROBE_BEGIN: &str = "probe:begin";
/// A node was registered (in `/dev`, openable); reached by the registering
/// thread, during probe or later.
pub const PROBE_NODE_REGISTERED: &str = "probe:node-registered";
/// Probe: an IRQ was requested (gated or devm).
pub const PROBE_IRQ_REQUESTED: &str = "probe:irq-requested";
/// Probe: a register block or bus handle was mapped.
pub const PROBE_IOREMAPPED: &str = "probe:ioremapped";
/// Probe: the driver's `probe` returned an error; the unwinding has not begun.
pub const PROBE_FAILED: &str = "probe:failed";
/// Probe: the driver's `probe` succeeded; the device is not yet marked bound.
pub const PROBE_DONE: &str = "probe:done";

/// Every point the model itself reaches, with what it means (for the
/// scenario language's list and `devlife explore`).
pub const POINTS: &[(&str, &str)] = &[
    (
        OPEN_ENTERED,
        "open: registration check passed, before the driver's open",
    ),
    (
        READ_ENTERED,
        "read: inside the gate, before the driver's read",
    ),
    (
        WRITE_ENTERED,
        "write: inside the gate, before the driver's write",
    ),
    (
        IOCTL_ENTERED,
        "ioctl: inside the gate, before the driver's ioctl",
    ),
    (
        POLL_ENTERED,
        "poll: inside the gate, before the driver's poll",
    ),
    (
        MMAP_ENTERED,
        "mmap: inside the gate, before the driver's mmap",
    ),
    (RELEASE_BEGIN, "last close: before the driver's release"),
    (
        RELEASE_DONE,
        "last close: release returned, module and node not yet put",
    ),
    (
        UNREGISTER_UNPLUGGED,
        "node unregistration: unplugged, still in /dev",
    ),
    (UNREGISTER_DONE, "node unregistration: gone from /dev"),
    (
        PROBE_BEGIN,
        "probe: binding created, before the driver's probe",
    ),
    (PROBE_NODE_REGISTERED, "a node was registered (openable)"),
    (PROBE_IRQ_REQUESTED, "probe: an IRQ was requested"),
    (
        PROBE_IOREMAPPED,
        "probe: registers or a bus handle were mapped",
    ),
    (
        PROBE_FAILED,
        "probe: the driver's probe failed, before the unwinding",
    ),
    (
        PROBE_DONE,
        "probe: the driver's probe succeeded, not yet bound",
    ),
];

/// The point a file operation labelled `op` reaches inside its gate
/// (`open`, `read`, `write`, `poll`, `mmap`; any other label is an ioctl).
pub fn entered(op: &str) -> &'static str {
    match op {
        "open" => OPEN_ENTERED,
        "read" => READ_ENTERED,
        "write" => WRITE_ENTERED,
        "poll" => POLL_ENTERED,
        "mmap" => MMAP_ENTERED,
        _ => IOCTL_ENTERED,
    }
}

type Hook = Rc<dyn Fn(&'static str)>;

thread_local! {
    static HOOKS: RefCell<Vec<Hook>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with `hook` called at every stop point the calling thread
/// reaches. Nests (the innermost hook is called).
pub fn with_hook<R>(hook: impl Fn(&'static str) + 'static, f: impl FnOnce() -> R) -> R {
    struct Pop;
    impl Drop for Pop {
        fn drop(&mut self) {
            HOOKS.with(|h| {
                h.borrow_mut().pop();
            });
        }
    }
    HOOKS.with(|h| h.borrow_mut().push(Rc::new(hook)));
    let _pop = Pop;
    f()
}

/// A stop point named `name`: calls the thread's innermost hook, if any.
pub fn point(name: &'static str) {
    let hook = HOOKS.with(|h| h.borrow().last().cloned());
    if let Some(hook) = hook {
        hook(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn hooks_nest_and_pop() {
        let outer = Rc::new(Cell::new(0));
        let inner = Rc::new(Cell::new(0));
        let (o, i) = (outer.clone(), inner.clone());
        with_hook(
            move |_| o.set(o.get() + 1),
            || {
                point("a");
                with_hook(move |_| i.set(i.get() + 1), || point("b"));
                point("c");
            },
        );
        point("d");
        assert_eq!((outer.get(), inner.get()), (2, 1));
    }

    #[test]
    fn every_file_operation_has_its_entered_point() {
        for (op, p) in [
            ("open", OPEN_ENTERED),
            ("read", READ_ENTERED),
            ("VIDIOC_DQBUF", IOCTL_ENTERED),
            ("mmap", MMAP_ENTERED),
        ] {
            assert_eq!(entered(op), p);
            assert!(POINTS.iter().any(|(n, _)| *n == p));
        }
    }
}
