//! The lifetime journal: an ordered, bounded log of events per object.

use super::report::ReportKind;
use std::collections::VecDeque;
use std::panic::Location;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    /// An object was created / allocated.
    Alloc,
    /// A gate was entered.
    Enter,
    /// A gate was exited.
    Exit,
    /// Unplug started (new entries refused).
    UnplugBegin,
    /// Sleepers woken and cancel hooks run.
    Wake,
    /// Unplug drained.
    UnplugEnd,
    /// A driver's remove ran.
    Remove,
    /// Memory released on the last reference.
    Release,
    /// Memory freed explicitly (devm-style, at unbind).
    Free,
    /// An instrumented access.
    Access,
    /// A checker fired.
    Report(ReportKind),
    /// Anything else a layer wants in the history (open, ioctl, bind, ...).
    Note(String),
}

/// One journal entry.
#[derive(Debug, Clone)]
pub struct Event {
    /// Global order of the event in its journal.
    pub seq: u64,
    /// Time since the journal was created.
    pub at: Duration,
    /// Thread that recorded it.
    pub thread: String,
    /// Object id (0 when none).
    pub object: u64,
    /// Object name.
    pub name: String,
    /// What happened.
    pub kind: EventKind,
    /// Free-form detail (ioctl name, label, ...).
    pub detail: Option<String>,
    /// Source location, when known.
    pub site: Option<&'static Location<'static>>,
}

impl std::fmt::Display for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "#{:<6} {:>10.3?} [{}] {}({}) {:?}",
            self.seq, self.at, self.thread, self.name, self.object, self.kind
        )?;
        if let Some(d) = &self.detail {
            write!(f, " {d}")?;
        }
        if let Some(s) = self.site {
            write!(f, " at {s}")?;
        }
        Ok(())
    }
}

struct Inner {
    events: VecDeque<Event>,
    next: u64,
    capacity: usize,
}

/// A bounded journal (oldest events are dropped first).
pub struct Journal {
    start: Instant,
    inner: Mutex<Inner>,
}

impl Default for Journal {
    fn default() -> Self {
        Self::with_capacity(1 << 16)
    }
}

impl Journal {
    /// A journal keeping at most `capacity` events.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            start: Instant::now(),
            inner: Mutex::new(Inner {
                events: VecDeque::new(),
                next: 0,
                capacity: capacity.max(1),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Records an event about `object`.
    pub fn record_named(&self, object: u64, name: &str, kind: EventKind, detail: Option<&str>) {
        self.push(object, name, kind, detail.map(str::to_owned), None);
    }

    /// Records an event with its source location.
    pub fn record_at(
        &self,
        object: u64,
        name: &str,
        kind: EventKind,
        detail: Option<String>,
        site: &'static Location<'static>,
    ) {
        self.push(object, name, kind, detail, Some(site));
    }

    /// Records a free-form note about `object` (open, ioctl, bind, ...).
    pub fn note(&self, object: u64, name: &str, what: impl Into<String>) {
        self.push(object, name, EventKind::Note(what.into()), None, None);
    }

    fn push(
        &self,
        object: u64,
        name: &str,
        kind: EventKind,
        detail: Option<String>,
        site: Option<&'static Location<'static>>,
    ) {
        let at = self.start.elapsed();
        let current = std::thread::current();
        let mut g = self.lock();
        let seq = g.next;
        g.next += 1;
        // A full journal recycles the text buffers of the event it evicts:
        // with every checker on, events are recorded on every bind, unbind
        // and unplug, and allocating and freeing their strings was the
        // largest cost of a vimc bind+unbind cycle.
        let (mut thread, mut owned_name) = match g.events.len() == g.capacity {
            true => g
                .events
                .pop_front()
                .map(|e| (e.thread, e.name))
                .unwrap_or_default(),
            false => Default::default(),
        };
        thread.clear();
        match current.name() {
            Some(n) => thread.push_str(n),
            None => {
                use std::fmt::Write as _;
                let _ = write!(thread, "{:?}", current.id());
            }
        }
        owned_name.clear();
        owned_name.push_str(name);
        let name = owned_name;
        g.events.push_back(Event {
            seq,
            at,
            thread,
            object,
            name,
            kind,
            detail,
            site,
        });
    }

    /// All retained events, oldest first.
    pub fn events(&self) -> Vec<Event> {
        self.lock().events.iter().cloned().collect()
    }

    /// The retained events of one object, oldest first.
    pub fn history(&self, object: u64) -> Vec<Event> {
        self.lock()
            .events
            .iter()
            .filter(|e| e.object == object)
            .cloned()
            .collect()
    }

    /// Number of retained events.
    pub fn len(&self) -> usize {
        self.lock().events.len()
    }

    /// Whether nothing is retained.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Kinds of the events of `object`, in order (handy in tests).
    pub fn kinds(&self, object: u64) -> Vec<EventKind> {
        self.history(object).into_iter().map(|e| e.kind).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_and_ordered() {
        let j = Journal::with_capacity(3);
        for i in 0..5 {
            j.note(1, "x", format!("n{i}"));
        }
        j.record_named(2, "y", EventKind::Release, None);
        let ev = j.events();
        assert_eq!(ev.len(), 3);
        assert!(ev.windows(2).all(|w| w[0].seq < w[1].seq));
        assert_eq!(j.kinds(2), vec![EventKind::Release]);
        assert_eq!(j.history(1).len(), 2);
        // Recycled text buffers carry the new event's name and thread, not
        // the evicted one's.
        let last = ev.last().unwrap();
        assert_eq!(last.name, "y");
        let me = std::thread::current();
        assert_eq!(Some(last.thread.as_str()), me.name());
        std::thread::scope(|s| {
            std::thread::Builder::new()
                .name("other-thread".into())
                .spawn_scoped(s, || j.note(3, "a longer object name", "n"))
                .unwrap();
        });
        let ev = j.events();
        let last = ev.last().unwrap();
        assert_eq!(
            (last.name.as_str(), last.thread.as_str()),
            ("a longer object name", "other-thread")
        );
    }
}
