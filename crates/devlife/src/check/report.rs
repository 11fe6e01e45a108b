//! Checker reports.

use super::journal::Event;
use std::panic::Location;
use std::sync::Mutex;

/// Which checker fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ReportKind {
    /// Access to an instrumented allocation after it was freed.
    UseAfterFree,
    /// An instrumented allocation freed twice.
    DoubleFree,
    /// Simulated hardware touched after its device's `remove()` returned.
    HwAfterRemove,
    /// An interrupt delivered to a handler whose data was released.
    IrqAfterRelease,
    /// Objects still alive when everything should have been released.
    Leak,
    /// A release callback ran more than once, or never.
    BadRelease,
    /// The watchdog found an unplug drain waiting too long.
    DrainStall,
    /// A blocked call was not woken by unplug (hang).
    Hang,
    /// Something else a layer checks (message says what).
    Other,
}

impl ReportKind {
    /// Short KASAN-like title.
    pub fn title(self) -> &'static str {
        match self {
            ReportKind::UseAfterFree => "use-after-free",
            ReportKind::DoubleFree => "double-free",
            ReportKind::HwAfterRemove => "hardware-access-after-remove",
            ReportKind::IrqAfterRelease => "interrupt-after-release",
            ReportKind::Leak => "leak",
            ReportKind::BadRelease => "bad-release",
            ReportKind::DrainStall => "drain-stall",
            ReportKind::Hang => "hang",
            ReportKind::Other => "lifetime-bug",
        }
    }
}

/// One checker report.
#[derive(Debug, Clone)]
pub struct Report {
    /// Which checker.
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
        }
    }
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

/// Collected reports.
#[derive(Default)]
pub struct Reports {
    list: Mutex<Vec<Report>>,
}

impl Reports {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Report>> {
        self.list
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
    /// Adds a report.
    pub fn push(&self, r: Report) {
        self.lock().push(r);
    }
    /// All reports so far.
    pub fn all(&self) -> Vec<Report> {
        self.lock().clone()
    }
    /// Number of reports.
    pub fn len(&self) -> usize {
        self.lock().len()
    }
    /// Whether no checker fired.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Number of reports of one kind.
    pub fn count(&self, kind: ReportKind) -> usize {
        self.lock().iter().filter(|r| r.kind == kind).count()
    }
    /// Removes and returns every report.
    pub fn take(&self) -> Vec<Report> {
        std::mem::take(&mut *self.lock())
    }
}
