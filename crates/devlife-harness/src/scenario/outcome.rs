//! What a run produces: a per-style transcript of every step with its
//! result, the checker reports and the leak check ([`Outcome`]), or the
//! first failure with its file and line ([`RunError`]).

use devlife::check::Report;
use serde::Serialize;

/// One executed step.
#[derive(Debug, Clone, Serialize)]
pub struct StepLog {
    /// 1-based line of the step in the scenario file.
    pub line: usize,
    /// Who ran it (`kernel`, a thread name, or `runner` for directives).
    pub actor: String,
    /// The step as written.
    pub text: String,
    /// What happened (`ok`, `ENODEV`, `started`, `blocked in VIDIOC_DQBUF`, ...).
    pub result: String,
}

/// One checker report, flattened for printing and JSON.
#[derive(Debug, Clone, Serialize)]
pub struct ReportLog {
    /// Checker title (`use-after-free`, ...).
    pub kind: String,
    /// Name of the object the report is about.
    pub object: String,
    /// The report's one-line message.
    pub message: String,
    /// Access site, if known.
    pub site: Option<String>,
    /// The full KASAN-style text (sites and the object's history).
    pub text: String,
}

impl From<&Report> for ReportLog {
    fn from(r: &Report) -> Self {
        Self {
            kind: r.kind.title().to_owned(),
            object: r.object_name.clone(),
            message: r.message.clone(),
            site: r.site.map(|s| s.to_string()),
            text: r.to_string(),
        }
    }
}

/// The transcript of one style's run.
#[derive(Debug, Clone, Serialize)]
pub struct RunLog {
    /// `framework` or `legacy`.
    pub style: String,
    /// Every executed step, in order.
    pub steps: Vec<StepLog>,
    /// Checker reports at the end of the run.
    pub reports: Vec<ReportLog>,
    /// Live objects after teardown (`type: count`), if the run was torn down cleanly.
    pub leaks: Option<Vec<String>>,
    /// Stop points passed by `trace`d threads, in order.
    pub traced: Vec<PointLog>,
}

/// One stop point a traced thread passed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PointLog {
    /// The traced scenario thread.
    pub thread: String,
    /// The point (`open:entered`, `media_ioctl`, ...).
    pub point: String,
}

impl RunLog {
    pub(crate) fn new(style: &str) -> Self {
        Self {
            style: style.to_owned(),
            steps: Vec::new(),
            reports: Vec::new(),
            leaks: None,
            traced: Vec::new(),
        }
    }
}

impl std::fmt::Display for RunLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let w = self
            .steps
            .iter()
            .map(|s| s.text.len())
            .max()
            .unwrap_or(0)
            .min(60);
        for s in &self.steps {
            writeln!(
                f,
                "    {:>4}  {:<8} {:<w$}  => {}",
                s.line, s.actor, s.text, s.result
            )?;
        }
        match &self.leaks {
            Some(l) if l.is_empty() => writeln!(f, "    leaks: none")?,
            Some(l) => writeln!(f, "    leaks: {}", l.join(", "))?,
            None => {}
        }
        if !self.reports.is_empty() {
            writeln!(f, "    checker reports ({}):", self.reports.len())?;
            for r in &self.reports {
                for l in r.text.lines() {
                    writeln!(f, "      {l}")?;
                }
            }
        }
        Ok(())
    }
}

/// The result of a passing scenario: one transcript per style.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// The scenario's file.
    pub file: String,
    /// The `scenario` header's title, if any.
    pub title: Option<String>,
    /// The driver the scenario runs against.
    pub driver: String,
    /// One run per style.
    pub runs: Vec<RunLog>,
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(t) = &self.title {
            write!(f, ": {t}")?;
        }
        writeln!(f, " (driver {})", self.driver)?;
        for r in &self.runs {
            writeln!(
                f,
                "  [{}] PASS: {} steps, {} checker report(s)",
                r.style,
                r.steps.len(),
                r.reports.len()
            )?;
            write!(f, "{r}")?;
        }
        Ok(())
    }
}

/// Why a run failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
pub enum RunErrorKind {
    /// The driver could not be set up.
    #[error("setting up driver `{driver}` failed: {errno}")]
    Setup {
        /// The driver that failed to set up.
        driver: String,
        /// The errno it answered, by name.
        errno: String,
    },
    /// An expectation did not hold.
    #[error("expectation failed: {0}")]
    Expectation(String),
    /// A thread did not get where it had to within the timeout.
    #[error("hang: {message}")]
    Hang {
        /// The thread waited for (`kernel` for a kernel step).
        thread: String,
        /// What was expected of it, and what the model says it is doing.
        message: String,
    },
    /// A step could not be carried out (a descriptor whose open failed, a
    /// signal to a thread that is not blocked, a panic in the model, ...).
    #[error("{0}")]
    Step(String),
}

/// The first failure of a run, with where it happened.
#[derive(Debug, Clone, Serialize, thiserror::Error)]
#[error("{}: [{style}] {kind}", super::parse::at(file, *line))]
pub struct RunError {
    /// The scenario's file.
    pub file: String,
    /// The line of the failed step or expectation.
    pub line: usize,
    /// The style of the failed run.
    pub style: String,
    /// What went wrong.
    pub kind: RunErrorKind,
    /// The transcript up to the failure (steps, reports).
    pub log: Box<RunLog>,
}

impl RunError {
    /// The error followed by the transcript of the failed run.
    pub fn report(&self) -> String {
        format!("{self}\n  transcript of the failed run:\n{}", self.log)
    }
}
