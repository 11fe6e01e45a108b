//! Named preemption points, for reproducing races deterministically.
//!
//! A race such as R1 (an ioctl that passed the media node's `registered`
//! check while the driver unregisters and frees the media device) needs the
//! ioctl to stop *between* its check and its use. The media layer calls
//! [`point`] at those places; a test (or the harness's scenario runner)
//! installs a hook on the thread that will run the call, and the hook blocks
//! on a barrier or channel until the other side has done its part.
//!
//! Hooks are per thread and cost one thread-local read when none is set;
//! they are devlife-model's [`stop`](devlife_model::stop) hooks, so a hook
//! sees the media points and the model's (`open:entered`, ...) alike.
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

/// `media_ioctl`: after the node's entry check, before the media device is used.
pub const MEDIA_IOCTL: &str = "media_ioctl";
/// `media_open`: after the registration check, before the file is set up.
pub const MEDIA_OPEN: &str = "media_open";

// One mechanism for every layer: the media layer's points are the model's
// stop points, so one hook sees both.
pub use devlife_model::stop::{point, with_hook};
