//! [`Ref`] / [`WeakRef`]: reference-counted objects with a release callback.
//!
//! `Arc`/`Weak` already give the two hard properties of rules 1 and 4 (docs/architecture.md):
//! release runs exactly once, on whichever thread drops the last strong
//! reference, and `Weak::upgrade` is `kref_get_unless_zero` (a count that reached
//! zero never rises again). What they lack, and this module adds:
//!
//! * a driver-supplied **release callback** that runs on the last reference, just
//!   before the object's memory goes (the media device's `release` op, docs/architecture.md);
//! * **journal and live accounting** (a [`Monitor`]) so tests can prove each
//!   release ran exactly once and nothing leaked;
//! * a documented **release order**: the callback runs first, then the fields of
//!   `T` drop in declaration order. An object that references its parent (an
//!   entity holding its media device) declares that reference as its *last*
//!   field, so the parent reference is dropped last.
//!
//! ```
//! use devlife::{Monitor, Ref};
//! let m = Monitor::new();
//! let mdev = Ref::with_release(&m, "media_device", String::from("vimc"), |name| {
//!     println!("release {name}");
//! });
//! let weak = Ref::downgrade(&mdev);
//! assert!(weak.try_get().is_some());
//! drop(mdev);                 // last reference: the callback runs here
//! assert!(weak.try_get().is_none()); // and the count never rises again
//! assert_eq!(m.ledger().live("media_device"), 0);
//! ```

use crate::check::{EventKind, LiveToken, Monitor};
use std::sync::{Arc, Mutex, Weak};

type Release<T> = Box<dyn FnOnce(&T) + Send>;

struct Inner<T> {
    id: u64,
    monitor: Monitor,
    type_name: &'static str,
    release: Mutex<Option<Release<T>>>,
    _live: LiveToken,
    value: T,
}

impl<T> Drop for Inner<T> {
    fn drop(&mut self) {
        let cb = self
            .release
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(cb) = cb {
            cb(&self.value);
        }
        self.monitor
            .journal()
            .record_named(self.id, self.type_name, EventKind::Release, None);
        // `value` (and its fields, in declaration order) drops after this.
    }
}

/// A strong reference. Cloning takes a reference; dropping the last one
/// releases the object.
///
/// # Invariants
///
/// The release callback runs exactly once, when the strong count reaches zero,
/// before the value's fields are dropped.
pub struct Ref<T> {
    inner: Arc<Inner<T>>,
}

/// A weak reference: reaches the object only through [`WeakRef::try_get`].
pub struct WeakRef<T> {
    inner: Weak<Inner<T>>,
}

impl<T> Clone for Ref<T> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<T> Clone for WeakRef<T> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<T> std::ops::Deref for Ref<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.inner.value
    }
}

impl<T> std::fmt::Debug for Ref<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Ref<{}>({})", self.inner.type_name, self.inner.id)
    }
}

impl<T> std::fmt::Debug for WeakRef<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WeakRef(alive={})", self.inner.strong_count() > 0)
    }
}

impl<T> Ref<T> {
    /// A new object accounted under `type_name`, with no release callback.
    pub fn new(monitor: &Monitor, type_name: &'static str, value: T) -> Self {
        Self::build(monitor, type_name, value, None)
    }

    /// A new object whose `release` callback runs on the last reference.
    pub fn with_release(
        monitor: &Monitor,
        type_name: &'static str,
        value: T,
        release: impl FnOnce(&T) + Send + 'static,
    ) -> Self {
        Self::build(monitor, type_name, value, Some(Box::new(release)))
    }

    fn build(
        monitor: &Monitor,
        type_name: &'static str,
        value: T,
        release: Option<Release<T>>,
    ) -> Self {
        let id = monitor.next_id();
        monitor
            .journal()
            .record_named(id, type_name, EventKind::Alloc, None);
        Self {
            inner: Arc::new(Inner {
                id,
                monitor: monitor.clone(),
                type_name,
                release: Mutex::new(release),
                _live: monitor.live(type_name),
                value,
            }),
        }
    }

    /// Replaces the release callback (e.g. a driver installs it after probe).
    pub fn set_release(this: &Self, release: impl FnOnce(&T) + Send + 'static) {
        *this
            .inner
            .release
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Box::new(release));
    }

    /// A weak reference.
    pub fn downgrade(this: &Self) -> WeakRef<T> {
        WeakRef {
            inner: Arc::downgrade(&this.inner),
        }
    }

    /// The object's journal id.
    pub fn id(this: &Self) -> u64 {
        this.inner.id
    }

    /// Strong references right now.
    pub fn count(this: &Self) -> usize {
        Arc::strong_count(&this.inner)
    }

    /// Whether two references point to the same object.
    pub fn ptr_eq(a: &Self, b: &Self) -> bool {
        Arc::ptr_eq(&a.inner, &b.inner)
    }
}

impl<T> WeakRef<T> {
    /// A weak reference that never upgrades.
    pub fn new() -> Self {
        Self { inner: Weak::new() }
    }

    /// `kref_get_unless_zero`: a strong reference, or `None` once the object
    /// started releasing.
    pub fn try_get(&self) -> Option<Ref<T>> {
        self.inner.upgrade().map(|inner| Ref { inner })
    }

    /// Whether the object is still alive (racy by nature).
    pub fn is_alive(&self) -> bool {
        self.inner.strong_count() > 0
    }
}

impl<T> Default for WeakRef<T> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc as StdArc;
    use std::sync::Mutex as StdMutex;

    #[test]
    fn release_runs_once_on_any_thread() {
        let m = Monitor::new();
        let hits = StdArc::new(std::sync::atomic::AtomicUsize::new(0));
        let h = hits.clone();
        let r = Ref::with_release(&m, "obj", 1u8, move |_| {
            h.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        });
        let ts: Vec<_> = (0..4)
            .map(|_| {
                let r = r.clone();
                std::thread::spawn(move || drop(r))
            })
            .collect();
        drop(r);
        for t in ts {
            t.join().unwrap();
        }
        assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert_eq!(m.ledger().live("obj"), 0);
    }

    /// An entity holds its media device as its last field: the entity's release
    /// callback runs, then the media device reference drops, then (if it was
    /// the last) the media device releases.
    #[test]
    fn dependent_release_order() {
        let m = Monitor::new();
        let order = StdArc::new(StdMutex::new(Vec::new()));
        struct Entity {
            _name: &'static str,
            _mdev: Ref<&'static str>,
        }
        let o = order.clone();
        let mdev = Ref::with_release(&m, "mdev", "vimc", move |_| o.lock().unwrap().push("mdev"));
        let o = order.clone();
        let ent = Ref::with_release(
            &m,
            "entity",
            Entity {
                _name: "sensor",
                _mdev: mdev.clone(),
            },
            move |_| o.lock().unwrap().push("entity"),
        );
        drop(mdev);
        assert!(order.lock().unwrap().is_empty());
        drop(ent);
        assert_eq!(*order.lock().unwrap(), vec!["entity", "mdev"]);
    }

    #[test]
    fn try_get_fails_after_zero() {
        let m = Monitor::new();
        let r = Ref::new(&m, "x", 3);
        let w = Ref::downgrade(&r);
        assert_eq!(*w.try_get().unwrap(), 3);
        drop(r);
        assert!(w.try_get().is_none());
        assert!(!w.is_alive());
    }
}
