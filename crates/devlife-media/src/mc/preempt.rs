//! Named preemption points, for reproducing races deterministically.
//!
//! A race such as R1 (an ioctl that passed the media node's `registered`
//! check while the driver unregisters and frees the media device) needs the
//! ioctl to stop *between* its check and its use. The media layer calls
//! [`point`] at those places; a test (or the harness's scenario runner)
//! installs a hook on the thread that will run the call, and the hook blocks
//! on a barrier or channel until the other side has done its part.
//!
//! Hooks are per thread and cost one thread-local read when none is set.
//!
//! ```
//! use devlife_media::mc::preempt;
//! use std::sync::{Arc, Mutex};
//! let hits = Arc::new(Mutex::new(Vec::new()));
//! let h = hits.clone();
//! preempt::with_hook(move |p| h.lock().unwrap().push(p), || preempt::point("here"));
//! preempt::point("not recorded");
//! assert_eq!(*hits.lock().unwrap(), vec!["here"]);
//! ```

use std::cell::RefCell;
use std::rc::Rc;

/// `media_ioctl`: after the node's entry check, before the media device is used.
pub const MEDIA_IOCTL: &str = "media_ioctl";
/// `media_open`: after the registration check, before the file is set up.
pub const MEDIA_OPEN: &str = "media_open";

type Hook = Rc<dyn Fn(&'static str)>;

thread_local! {
    static HOOKS: RefCell<Vec<Hook>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with `hook` called at every preemption point the calling thread
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

/// A preemption point named `name`: calls the thread's innermost hook, if any.
pub fn point(name: &'static str) {
    let hook = HOOKS.with(|h| h.borrow().last().cloned());
    if let Some(hook) = hook {
        hook(name);
    }
}
