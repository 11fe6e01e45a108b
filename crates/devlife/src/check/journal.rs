//! The lifetime journal: an ordered, bounded log of events per object.

use super::report::ReportKind;
use std::collections::{HashSet, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::panic::Location;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What happened to an object, as the journal records it.
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
    /// Name the object was registered under (type or instance).
    pub name: String,
    /// What happened to it.
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

/// What [`Journal::push`] is given as the kind: a kind, or the text of a
/// note borrowed from the caller.
enum Text<'a> {
    Kind(EventKind),
    Note(&'a str),
}

/// An event as the ring keeps it: every text is a shared, interned string,
/// so recording copies no text and evicting frees none (the strings live as
/// long as some entry or the intern table uses them).
struct Rec {
    seq: u64,
    at: Duration,
    thread: Arc<str>,
    object: u64,
    name: Arc<str>,
    kind: Kind,
    detail: Option<Arc<str>>,
    site: Option<&'static Location<'static>>,
}

/// [`EventKind`] with the text of a note interned.
enum Kind {
    /// Any kind but [`EventKind::Note`].
    Plain(EventKind),
    /// A free-form note a component attached to the object.
    Note(Arc<str>),
}

impl Rec {
    fn to_event(&self) -> Event {
        Event {
            seq: self.seq,
            at: self.at,
            thread: self.thread.to_string(),
            object: self.object,
            name: self.name.to_string(),
            kind: match &self.kind {
                Kind::Plain(k) => k.clone(),
                Kind::Note(t) => EventKind::Note(t.to_string()),
            },
            detail: self.detail.as_deref().map(str::to_owned),
            site: self.site,
        }
    }
}

/// Most distinct texts the intern table keeps before it starts over. Object
/// names, labels and notes repeat from one bind to the next, so the table
/// stays small; a caller that writes a new text every time (a counter in a
/// note) only makes it start over, which bounds its memory.
const MAX_TEXTS: usize = 4096;

/// # Invariants
///
/// * `events` holds at most `capacity` entries, in increasing `seq` order.
/// * `texts` holds at most `MAX_TEXTS` strings.
struct Inner {
    events: VecDeque<Rec>,
    texts: HashSet<Arc<str>, BuildHasherDefault<Fnv>>,
    next: u64,
    capacity: usize,
}

impl Inner {
    /// The shared copy of `s`, made on first use.
    fn intern(&mut self, s: &str) -> Arc<str> {
        if let Some(t) = self.texts.get(s) {
            return t.clone();
        }
        if self.texts.len() >= MAX_TEXTS {
            // INVARIANT: the table starts over; entries keep their own copies.
            self.texts.clear();
        }
        let t: Arc<str> = Arc::from(s);
        self.texts.insert(t.clone());
        t
    }
}

/// FNV-1a: the intern table hashes short names on every event, where the
/// default hasher's resistance to chosen keys buys nothing (the keys are the
/// program's own object names) and costs several times as much.
#[derive(Default)]
struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for b in bytes {
            h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

/// The calling thread's name (or id) as the journal shows it, made once per
/// thread.
fn thread_label() -> Arc<str> {
    thread_local! {
        static LABEL: Arc<str> = {
            let t = std::thread::current();
            match t.name() {
                Some(n) => Arc::from(n),
                None => Arc::from(format!("{:?}", t.id())),
            }
        };
    }
    LABEL.with(Arc::clone)
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
                texts: HashSet::default(),
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
        self.push(object, name, Text::Kind(kind), detail, None);
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
        self.push(
            object,
            name,
            Text::Kind(kind),
            detail.as_deref(),
            Some(site),
        );
    }

    /// Records a free-form note about `object` (open, ioctl, bind, ...).
    pub fn note(&self, object: u64, name: &str, what: impl AsRef<str>) {
        self.push(object, name, Text::Note(what.as_ref()), None, None);
    }

    fn push(
        &self,
        object: u64,
        name: &str,
        kind: Text<'_>,
        detail: Option<&str>,
        site: Option<&'static Location<'static>>,
    ) {
        let at = self.start.elapsed();
        let thread = thread_label();
        let mut g = self.lock();
        let seq = g.next;
        g.next += 1;
        let kind = match kind {
            Text::Kind(EventKind::Note(t)) => Kind::Note(g.intern(&t)),
            Text::Kind(k) => Kind::Plain(k),
            Text::Note(t) => Kind::Note(g.intern(t)),
        };
        let rec = Rec {
            seq,
            at,
            thread,
            object,
            name: g.intern(name),
            kind,
            detail: detail.map(|d| g.intern(d)),
            site,
        };
        if g.events.len() == g.capacity {
            g.events.pop_front();
        }
        g.events.push_back(rec);
    }

    /// All retained events, oldest first.
    pub fn events(&self) -> Vec<Event> {
        self.lock().events.iter().map(Rec::to_event).collect()
    }

    /// The retained events of one object, oldest first.
    pub fn history(&self, object: u64) -> Vec<Event> {
        self.lock()
            .events
            .iter()
            .filter(|e| e.object == object)
            .map(Rec::to_event)
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
        // Interned texts carry the new event's name and thread, not the
        // evicted one's.
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
