//! Thread ordering for tests: named threads, and waits on the model's
//! blocked-thread table instead of sleeps.

use devlife_model::Kernel;
use std::time::Duration;

/// A generous bound for "this must happen": never reached unless the test
/// fails (the machine may be slow; no test measures time against it).
pub const PATIENCE: Duration = Duration::from_secs(30);

/// Waits until `thread` is parked inside `op` (asserts it happens within
/// [`PATIENCE`], listing the threads that are blocked otherwise).
pub fn wait_blocked(k: &Kernel, thread: &str, op: &str) {
    assert!(
        k.wait_blocked(thread, op, PATIENCE),
        "{thread} never blocked in {op}; blocked: {:?}",
        k.activity().blocked()
    );
}

/// Whether `thread` is parked inside `op` right now.
pub fn is_blocked(k: &Kernel, thread: &str, op: &str) -> bool {
    k.activity()
        .blocked()
        .iter()
        .any(|b| b.thread == thread && b.op == op)
}

/// Waits until `cond` holds, re-checking it after yielding (asserts it
/// happens within [`PATIENCE`]; `what` names it in the failure).
pub fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + PATIENCE;
    while !cond() {
        assert!(
            std::time::Instant::now() < deadline,
            "never happened: {what}"
        );
        std::thread::yield_now();
    }
}

/// Spawns a thread named `name` (the name the blocked-thread table and the
/// checkers' reports show).
pub fn spawn<T: Send + 'static>(
    name: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> std::thread::JoinHandle<T> {
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(f)
        .expect("spawning a test thread")
}
