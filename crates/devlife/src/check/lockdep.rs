//! [`Lockdep`]: a lock-order checker in the spirit of the kernel's lockdep.
//!
//! Locks are grouped in *classes* (a name: `"vimc.lock"`, `"node video0"`).
//! Each thread keeps the classes it holds, with the site where it took them.
//! When a thread takes class `B` with a *blocking* acquisition while it holds
//! `A`, the checker records the dependency `A -> B` (with both sites). If `B`
//! already reaches `A` through recorded dependencies, some other path takes
//! them in the opposite order: the two can deadlock, and a
//! [`ReportKind::LockOrder`] report names both acquisition sites of each
//! order. It fires the first time both orders have been *seen*, whatever the
//! timing, so the deadlock does not have to happen.
//!
//! Non-blocking acquisitions (entering a gate, a `try_lock`) are held like
//! any other (they are the `A` of later dependencies) but add no dependency
//! themselves: taking them cannot wait. Waiting for a gate to drain (unplug)
//! is a blocking acquisition of the gate's class.

use super::Monitor;
use super::report::{Report, ReportKind};
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::marker::PhantomData;
use std::panic::Location;
use std::sync::{Mutex, MutexGuard, PoisonError};

type Site = &'static Location<'static>;

/// One recorded dependency `from -> to`: `to` was taken at `acquired` while
/// `from`, taken at `held`, was held.
#[derive(Clone)]
struct Edge {
    held: Site,
    acquired: Site,
    thread: String,
}

#[derive(Default)]
struct Graph {
    ids: HashMap<String, usize>,
    names: Vec<String>,
    adj: Vec<Vec<usize>>,
    edges: HashMap<(usize, usize), Edge>,
    reported: HashSet<(usize, usize)>,
}

impl Graph {
    fn class(&mut self, name: &str) -> usize {
        if let Some(&i) = self.ids.get(name) {
            return i;
        }
        let i = self.names.len();
        self.ids.insert(name.to_owned(), i);
        self.names.push(name.to_owned());
        self.adj.push(Vec::new());
        i
    }

    /// A path `from -> ... -> to`, as the list of its classes.
    fn path(&self, from: usize, to: usize) -> Option<Vec<usize>> {
        let mut prev: HashMap<usize, usize> = HashMap::new();
        let mut stack = vec![from];
        let mut seen = HashSet::from([from]);
        while let Some(c) = stack.pop() {
            if c == to {
                let mut p = vec![to];
                let mut x = to;
                while x != from {
                    x = prev[&x];
                    p.push(x);
                }
                p.reverse();
                return Some(p);
            }
            for &n in &self.adj[c] {
                if seen.insert(n) {
                    prev.insert(n, c);
                    stack.push(n);
                }
            }
        }
        None
    }
}

struct HeldEntry {
    lockdep: u64,
    class: &'static str,
    site: Site,
    token: u64,
}

/// The class called `name`, interned for the life of the process (class
/// names are few: one per lock kind or per node name), so that holding a
/// class costs no allocation and no shared write.
pub fn lock_class(name: &str) -> &'static str {
    static NAMES: Mutex<Option<HashSet<&'static str>>> = Mutex::new(None);
    let mut g = NAMES.lock().unwrap_or_else(PoisonError::into_inner);
    let set = g.get_or_insert_with(HashSet::new);
    if let Some(n) = set.get(name) {
        return n;
    }
    let n: &'static str = Box::leak(name.to_owned().into_boxed_str());
    set.insert(n);
    n
}

thread_local! {
    static HELD: RefCell<Vec<HeldEntry>> = const { RefCell::new(Vec::new()) };
    static NEXT_TOKEN: std::cell::Cell<u64> = const { std::cell::Cell::new(1) };
}

/// The lock-order checker of one [`Monitor`] (module docs).
///
/// # Invariants
///
/// The dependency graph only grows; each class pair is reported at most once.
/// A thread's held list contains only entries whose [`Held`] token is alive.
pub struct Lockdep {
    id: u64,
    graph: Mutex<Graph>,
}

impl Default for Lockdep {
    fn default() -> Self {
        Self {
            id: super::next_object_id(),
            graph: Mutex::new(Graph::default()),
        }
    }
}

impl std::fmt::Debug for Lockdep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lockdep")
            .field("classes", &self.lock().names.len())
            .finish()
    }
}

/// A class held by the current thread, until dropped. Not `Send`: it must be
/// dropped on the thread that took it.
#[must_use = "the class is held until this is dropped"]
pub struct Held {
    lockdep: u64,
    token: u64,
    _not_send: PhantomData<*const ()>,
}

impl std::fmt::Debug for Held {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Held").field("token", &self.token).finish()
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        let (l, t) = (self.lockdep, self.token);
        let _ = HELD.try_with(|h| {
            let mut h = h.borrow_mut();
            if let Some(i) = h.iter().rposition(|e| e.lockdep == l && e.token == t) {
                h.remove(i);
            }
        });
    }
}

impl Lockdep {
    fn lock(&self) -> MutexGuard<'_, Graph> {
        self.graph.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records that the current thread takes `class` (a name from
    /// [`lock_class`]) at `site` (`blocking`: the acquisition may wait) and
    /// reports an order inversion through `monitor`. The class is held until
    /// the returned token drops. A non-blocking acquisition takes no lock.
    pub fn acquire_at(
        &self,
        monitor: &Monitor,
        class: &'static str,
        blocking: bool,
        site: Site,
    ) -> Held {
        if blocking {
            self.depend(monitor, class, site);
        }
        let token = NEXT_TOKEN.with(|t| {
            let v = t.get();
            t.set(v + 1);
            v
        });
        HELD.with(|h| {
            h.borrow_mut().push(HeldEntry {
                lockdep: self.id,
                class,
                site,
                token,
            });
        });
        Held {
            lockdep: self.id,
            token,
            _not_send: PhantomData,
        }
    }

    /// Adds the dependencies of a blocking acquisition of `class` on every
    /// class the thread holds, reporting inversions.
    fn depend(&self, monitor: &Monitor, class: &'static str, site: Site) {
        let held: Vec<(&'static str, Site)> = HELD.with(|h| {
            h.borrow()
                .iter()
                .filter(|e| e.lockdep == self.id)
                .map(|e| (e.class, e.site))
                .collect()
        });
        if held.is_empty() {
            return;
        }
        let mut reports = Vec::new();
        {
            let mut g = self.lock();
            let b = g.class(class);
            for (a_name, a_site) in held {
                let a = g.class(a_name);
                if a == b || g.edges.contains_key(&(a, b)) {
                    continue;
                }
                if let Some(path) = g.path(b, a)
                    && g.reported.insert((a.min(b), a.max(b)))
                {
                    reports.push(inversion(&g, a, a_site, b, site, &path));
                }
                g.edges.insert(
                    (a, b),
                    Edge {
                        held: a_site,
                        acquired: site,
                        thread: thread_name(),
                    },
                );
                g.adj[a].push(b);
            }
        }
        for r in reports {
            monitor.report(r);
        }
    }

    /// Number of classes seen so far.
    pub fn classes(&self) -> usize {
        self.lock().names.len()
    }

    /// Whether the dependency `from -> to` was recorded.
    pub fn depends(&self, from: &str, to: &str) -> bool {
        let g = self.lock();
        match (g.ids.get(from), g.ids.get(to)) {
            (Some(&a), Some(&b)) => g.edges.contains_key(&(a, b)),
            _ => false,
        }
    }
}

fn thread_name() -> String {
    std::thread::current().name().unwrap_or("?").to_owned()
}

/// The report for taking `b` at `b_site` while holding `a` (taken at
/// `a_site`), when `path` (`b -> ... -> a`) was recorded before.
fn inversion(g: &Graph, a: usize, a_site: Site, b: usize, b_site: Site, path: &[usize]) -> Report {
    let (an, bn) = (&g.names[a], &g.names[b]);
    let chain: Vec<&str> = path.iter().map(|&c| g.names[c].as_str()).collect();
    let first = &g.edges[&(path[0], path[1])];
    let mut r = Report::new(
        ReportKind::LockOrder,
        0,
        &format!("{an} -> {bn}"),
        format!(
            "possible deadlock: thread `{}` takes `{bn}` while holding `{an}`, but `{}` was \
             recorded before (thread `{}` took `{}` while holding `{bn}`)",
            thread_name(),
            chain.join("` -> `"),
            first.thread,
            chain[1],
        ),
        Some(b_site),
    );
    r.related.push(("this order: held lock taken", a_site));
    r.related
        .push(("reverse order: lock taken", first.acquired));
    r.related
        .push(("reverse order: held lock taken", first.held));
    r
}

/// A mutex whose acquisitions go through the lock-order checker (a driver's
/// own lock, a model lock).
///
/// # Invariants
///
/// Every guard handed out holds the class until it drops.
pub struct CheckedMutex<T> {
    monitor: Monitor,
    class: &'static str,
    inner: Mutex<T>,
}

impl<T> std::fmt::Debug for CheckedMutex<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckedMutex")
            .field("class", &self.class)
            .finish()
    }
}

/// The guard of a [`CheckedMutex`].
pub struct CheckedMutexGuard<'a, T> {
    guard: MutexGuard<'a, T>,
    _held: Held,
}

impl<T> std::ops::Deref for CheckedMutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T> std::ops::DerefMut for CheckedMutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.guard
    }
}

impl<T> CheckedMutex<T> {
    /// A mutex of lock class `class`, checked by `monitor`'s [`Lockdep`].
    pub fn new(monitor: &Monitor, class: impl Into<String>, value: T) -> Self {
        Self {
            monitor: monitor.clone(),
            class: lock_class(&class.into()),
            inner: Mutex::new(value),
        }
    }

    /// Takes the lock (recording the acquisition first, so an inversion is
    /// reported even if this acquisition then deadlocks).
    #[track_caller]
    pub fn lock(&self) -> CheckedMutexGuard<'_, T> {
        let held =
            self.monitor
                .lockdep()
                .acquire_at(&self.monitor, self.class, true, Location::caller());
        CheckedMutexGuard {
            guard: self.inner.lock().unwrap_or_else(PoisonError::into_inner),
            _held: held,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inversion_is_reported_with_both_orders_sites() {
        let m = Monitor::new();
        let a = CheckedMutex::new(&m, "drv.lock", 0);
        let b = CheckedMutex::new(&m, "node video0", 0);
        {
            let _a = a.lock();
            let _b = b.lock();
        }
        assert!(m.lockdep().depends("drv.lock", "node video0"));
        assert!(m.reports().is_empty());
        // The same order again: nothing.
        {
            let _a = a.lock();
            let _b = b.lock();
        }
        assert!(m.reports().is_empty());
        // The opposite order, on another thread: reported, without deadlocking.
        std::thread::scope(|s| {
            s.spawn(|| {
                let _b = b.lock();
                let _a = a.lock();
            });
        });
        let r = m.reports().all();
        assert_eq!(r.len(), 1, "{r:?}");
        assert_eq!(r[0].kind, ReportKind::LockOrder);
        assert_eq!(r[0].object_name, "node video0 -> drv.lock");
        assert_eq!(r[0].related.len(), 3);
        assert!(r[0].site.unwrap().file().ends_with("lockdep.rs"));
        assert!(r[0].message.contains("possible deadlock"), "{}", r[0]);
        // Reported once per pair.
        {
            let _b = b.lock();
            let _a = a.lock();
        }
        assert_eq!(m.reports().len(), 1);
    }

    #[test]
    fn longer_cycles_and_non_blocking_acquisitions() {
        let m = Monitor::new();
        let ld = m.lockdep();
        let s = Location::caller();
        let (a, b, c) = (lock_class("a"), lock_class("b"), lock_class("c"));
        assert!(std::ptr::eq(a, lock_class("a")));
        {
            let _a = ld.acquire_at(&m, a, true, s);
            let _b = ld.acquire_at(&m, b, true, s);
        }
        {
            let _b = ld.acquire_at(&m, b, true, s);
            let _c = ld.acquire_at(&m, c, true, s);
        }
        // Entering `a` without waiting while holding `c`: no dependency.
        {
            let _c = ld.acquire_at(&m, c, true, s);
            let _a = ld.acquire_at(&m, a, false, s);
        }
        assert!(m.reports().is_empty());
        assert!(!ld.depends("c", "a"));
        // Waiting for `a` while holding `c`: a -> b -> c -> a.
        {
            let _c = ld.acquire_at(&m, c, true, s);
            let _a = ld.acquire_at(&m, a, true, s);
        }
        let r = m.reports().all();
        assert_eq!(r.len(), 1);
        assert!(r[0].message.contains("`a` -> `b` -> `c`"), "{}", r[0]);
        assert_eq!(ld.classes(), 3);
    }

    #[test]
    fn held_classes_are_per_thread_and_per_monitor() {
        let m1 = Monitor::new();
        let m2 = Monitor::new();
        let a1 = CheckedMutex::new(&m1, "a", ());
        let b2 = CheckedMutex::new(&m2, "b", ());
        let _a = a1.lock();
        let _b = b2.lock(); // another monitor: no dependency
        assert!(!m1.lockdep().depends("a", "b"));
        assert!(!m2.lockdep().depends("a", "b"));
    }
}
