//! Checker reports.

use super::journal::Event;
use std::collections::HashMap;
use std::panic::Location;
use std::str::FromStr;
use std::sync::Mutex;

/// Which checker fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ReportKind {
    /// Access to an instrumented allocation after it was freed
    /// ([`Shadow`](super::Shadow)).
    UseAfterFree,
    /// Access to bound-only driver state (hardware bookkeeping, IRQ state,
    /// anything only a bound driver may touch) after the driver's `remove()`
    /// returned, although its memory is still alive (raised by the model's
    /// bound-only cells).
    UseAfterRemove,
    /// An instrumented allocation freed twice.
    DoubleFree,
    /// Simulated hardware touched after its device's `remove()` returned.
    HwAfterRemove,
    /// An interrupt handler run on data that was released, or for a binding
    /// whose `remove()` returned.
    IrqAfterRelease,
    /// Objects still alive when everything should have been released.
    Leak,
    /// The watchdog found an unplug drain waiting too long.
    DrainStall,
    /// A blocked call was not woken by unplug (hang).
    Hang,
    /// Two locks (or a lock and a gate drain) taken in both orders: a
    /// possible deadlock, reported before it happens ([`Lockdep`](super::Lockdep)).
    LockOrder,
}

impl ReportKind {
    /// Every kind, in declaration order.
    pub const ALL: [ReportKind; 9] = [
        ReportKind::UseAfterFree,
        ReportKind::UseAfterRemove,
        ReportKind::DoubleFree,
        ReportKind::HwAfterRemove,
        ReportKind::IrqAfterRelease,
        ReportKind::Leak,
        ReportKind::DrainStall,
        ReportKind::Hang,
        ReportKind::LockOrder,
    ];

    /// Short KASAN-like title: the name reports, summaries and scenario
    /// files use for the checker (`"use-after-free"`). [`FromStr`] reads it
    /// back.
    pub fn title(self) -> &'static str {
        match self {
            ReportKind::UseAfterFree => "use-after-free",
            ReportKind::UseAfterRemove => "use-after-remove",
            ReportKind::DoubleFree => "double-free",
            ReportKind::HwAfterRemove => "hardware-access-after-remove",
            ReportKind::IrqAfterRelease => "interrupt-after-release",
            ReportKind::Leak => "leak",
            ReportKind::DrainStall => "drain-stall",
            ReportKind::Hang => "hang",
            ReportKind::LockOrder => "lock-order",
        }
    }

    /// The abbreviation scenario files may write instead of the title
    /// (`uaf`, `hw-after-remove`, ...), for the kinds that have one.
    pub fn abbreviation(self) -> Option<&'static str> {
        match self {
            ReportKind::UseAfterFree => Some("uaf"),
            ReportKind::UseAfterRemove => Some("uar"),
            ReportKind::HwAfterRemove => Some("hw-after-remove"),
            ReportKind::IrqAfterRelease => Some("irq-after-release"),
            _ => None,
        }
    }
}

impl std::fmt::Display for ReportKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.title())
    }
}

/// A checker name that is neither a [`ReportKind::title`] nor an
/// [`ReportKind::abbreviation`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown checker `{0}` (known: {known})", known = ReportKind::titles())]
pub struct UnknownReportKind(pub String);

impl ReportKind {
    /// Every title (with its abbreviation), comma-separated, for error
    /// messages.
    fn titles() -> String {
        ReportKind::ALL
            .map(|k| match k.abbreviation() {
                Some(a) => format!("{} ({a})", k.title()),
                None => k.title().to_owned(),
            })
            .join(", ")
    }
}

impl FromStr for ReportKind {
    type Err = UnknownReportKind;

    /// Reads a title or an abbreviation back.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ReportKind::ALL
            .into_iter()
            .find(|k| k.title() == s || k.abbreviation() == Some(s))
            .ok_or_else(|| UnknownReportKind(s.to_owned()))
    }
}

/// One checker report.
#[derive(Debug, Clone)]
pub struct Report {
    /// The checker that fired.
    pub kind: ReportKind,
    /// The object concerned, if any.
    pub object: Option<u64>,
    /// Its name (type or instance name).
    pub object_name: String,
    /// What happened, in one line.
    pub message: String,
    /// Where the bad access happened.
    pub site: Option<&'static Location<'static>>,
    /// Extra sites (allocation, free), labelled.
    pub related: Vec<(&'static str, &'static Location<'static>)>,
    /// The object's journal history up to the report.
    pub history: Vec<Event>,
    /// Later reports of the same kind at the same site, counted but not kept
    /// (see [`Reports`]).
    pub repeats: u64,
}

impl Report {
    /// A report about `object` (0 for none).
    pub fn new(
        kind: ReportKind,
        object: u64,
        object_name: &str,
        message: impl Into<String>,
        site: Option<&'static Location<'static>>,
    ) -> Self {
        Self {
            kind,
            object: (object != 0).then_some(object),
            object_name: object_name.to_owned(),
            message: message.into(),
            site,
            related: Vec::new(),
            history: Vec::new(),
            repeats: 0,
        }
    }

    /// How many times this report fired (itself and its repeats).
    pub fn occurrences(&self) -> u64 {
        1 + self.repeats
    }

    /// The deduplication key: the kind and the access site (the object name
    /// when there is no site).
    pub(crate) fn key(&self) -> DedupKey {
        DedupKey {
            kind: self.kind,
            site: self.site.map(|s| (s.file(), s.line(), s.column())),
            name: if self.site.is_none() {
                self.object_name.clone()
            } else {
                String::new()
            },
        }
    }
}

/// What makes two reports the same for [`Reports`]: kind and site.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct DedupKey {
    kind: ReportKind,
    site: Option<(&'static str, u32, u32)>,
    name: String,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "BUG: devlife: {} in {}",
            self.kind.title(),
            self.object_name
        )?;
        writeln!(f, "  {}", self.message)?;
        if self.repeats > 0 {
            writeln!(
                f,
                "  (and {} more time(s) of the same kind at the same site, not shown)",
                self.repeats
            )?;
        }
        if let Some(s) = self.site {
            writeln!(f, "  access at {s}")?;
        }
        for (what, s) in &self.related {
            writeln!(f, "  {what} at {s}")?;
        }
        if !self.history.is_empty() {
            writeln!(f, "  history of the object:")?;
            for e in &self.history {
                writeln!(f, "    {e}")?;
            }
        }
        Ok(())
    }
}

/// Collected reports, deduplicated.
///
/// The first report of each (kind, site) is kept in full (message, sites,
/// history); later ones only bump its [`repeats`](Report::repeats) counter,
/// so a run that hits the same bug a million times stays small.
///
/// # Invariants
///
/// `index` maps the key of every kept report to its position in `list`; no
/// two kept reports share a key.
#[derive(Default)]
pub struct Reports {
    inner: Mutex<ReportsInner>,
}

#[derive(Default)]
struct ReportsInner {
    list: Vec<Report>,
    index: HashMap<DedupKey, usize>,
    total: u64,
}

impl Reports {
    fn lock(&self) -> std::sync::MutexGuard<'_, ReportsInner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
    /// Adds a report (or counts it as a repeat of a kept one). Returns whether
    /// it was kept in full.
    pub fn push(&self, r: Report) -> bool {
        let key = r.key();
        let mut g = self.lock();
        g.total += 1;
        if let Some(&i) = g.index.get(&key) {
            g.list[i].repeats += 1;
            return false;
        }
        let i = g.list.len();
        g.list.push(r);
        g.index.insert(key, i);
        true
    }
    /// Counts `r` as a repeat if a report with its key is kept; returns
    /// whether it did (then the caller need not build the full report).
    pub(crate) fn bump(&self, key: &DedupKey) -> bool {
        let mut g = self.lock();
        match g.index.get(key).copied() {
            Some(i) => {
                g.list[i].repeats += 1;
                g.total += 1;
                true
            }
            None => false,
        }
    }
    /// The kept reports (one per kind and site, with their repeat counts).
    pub fn all(&self) -> Vec<Report> {
        self.lock().list.clone()
    }
    /// Number of reports raised, repeats included.
    pub fn len(&self) -> usize {
        usize::try_from(self.lock().total).unwrap_or(usize::MAX)
    }
    /// Number of distinct (kind, site) reports kept.
    pub fn distinct(&self) -> usize {
        self.lock().list.len()
    }
    /// Whether no checker fired.
    pub fn is_empty(&self) -> bool {
        self.lock().total == 0
    }
    /// Number of reports of one kind raised, repeats included.
    pub fn count(&self, kind: ReportKind) -> usize {
        let n: u64 = self
            .lock()
            .list
            .iter()
            .filter(|r| r.kind == kind)
            .map(Report::occurrences)
            .sum();
        usize::try_from(n).unwrap_or(usize::MAX)
    }
    /// Removes and returns every kept report.
    pub fn take(&self) -> Vec<Report> {
        let mut g = self.lock();
        g.index.clear();
        g.total = 0;
        std::mem::take(&mut g.list)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_names_read_back_and_unknown_names_list_the_known_ones() {
        for k in ReportKind::ALL {
            assert_eq!(k.title().parse::<ReportKind>(), Ok(k));
            assert_eq!(k.to_string(), k.title());
            if let Some(a) = k.abbreviation() {
                assert_eq!(a.parse::<ReportKind>(), Ok(k));
            }
        }
        assert_eq!("uaf".parse::<ReportKind>(), Ok(ReportKind::UseAfterFree));
        let e = "use-after-freed".parse::<ReportKind>().unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("`use-after-freed`"), "{msg}");
        assert!(
            msg.contains("interrupt-after-release (irq-after-release), leak"),
            "{msg}"
        );
    }

    #[track_caller]
    fn uaf(name: &str) -> Report {
        Report::new(
            ReportKind::UseAfterFree,
            1,
            name,
            "x",
            Some(Location::caller()),
        )
    }

    #[test]
    fn same_kind_and_site_is_counted_not_kept() {
        let r = Reports::default();
        for _ in 0..1000 {
            r.push(uaf("a")); // one site
        }
        r.push(uaf("b")); // another site
        let mut hang = Report::new(ReportKind::Hang, 0, "video0", "h", None);
        r.push(hang.clone());
        hang.object_name = "video1".into();
        r.push(hang.clone());
        r.push(hang);
        let all = r.all();
        assert_eq!(all.len(), 4, "{all:?}");
        assert_eq!(all[0].repeats, 999);
        assert_eq!(all[1].repeats, 0);
        assert_eq!(all[3].repeats, 1);
        assert_eq!(r.len(), 1004);
        assert_eq!(r.distinct(), 4);
        assert_eq!(r.count(ReportKind::UseAfterFree), 1001);
        assert_eq!(r.count(ReportKind::Hang), 3);
        assert!(all[0].to_string().contains("999 more time(s)"));
        assert_eq!(r.take().len(), 4);
        assert!(r.is_empty());
        r.push(uaf("a"));
        assert_eq!(r.all()[0].repeats, 0);
    }
}
