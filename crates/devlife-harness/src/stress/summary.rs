//! The result of a stress run: counters, unplug latency, checker reports,
//! leaks and hangs, as a table for people and as JSON for machines.

use super::stats::{Latency, OpStats};
use devlife::check::{Report, ReportKind};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Reports of one checker at one access site (the first in full, the others
/// counted): a legacy run reports the same bug thousands of times.
#[derive(Clone, Debug, Serialize)]
pub struct ReportGroup {
    /// Checker (`"use-after-free"`, `"hardware-access-after-remove"`, ...).
    pub kind: String,
    /// Checker, as the enum.
    #[serde(skip)]
    pub report_kind: ReportKind,
    /// The object of the first report.
    pub object: String,
    /// The access site (`file:line:col`), when known.
    pub site: Option<String>,
    /// Reports in the group.
    pub count: usize,
    /// The first report's one-line message.
    pub message: String,
    /// The first report in full (access site, related sites, object history).
    pub text: String,
}

/// Live objects of one type after every handle was closed.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Leak {
    /// Object type (`"file"`, `"binding"`, `"testdrv_state"`, ...).
    #[serde(rename = "type")]
    pub type_name: String,
    /// Objects still alive.
    pub live: u64,
    /// Created during the run.
    pub created: u64,
    /// Released during the run.
    pub released: u64,
}

/// A thread stuck in one operation far longer than the run allows.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Hang {
    /// Thread name (`stress-user-3`, `stress-kernel-0`, `stress-shutdown`).
    pub thread: String,
    /// The operation it is stuck in (`"read"`, `"TESTDRV_WAIT"`, `"unbind"`).
    pub op: String,
    /// The node or target it operates on.
    pub object: String,
    /// How long it had been in the operation when reported, in milliseconds.
    pub stuck_ms: u64,
    /// Whether it came back later (reported during the run, then finished).
    pub recovered: bool,
}

impl std::fmt::Display for Hang {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "HANG: thread `{}` stuck in `{}` on `{}` for {} ms{}",
            self.thread,
            self.op,
            self.object,
            self.stuck_ms,
            if self.recovered {
                " (it returned later)"
            } else {
                ""
            }
        )
    }
}

/// Unplugs of the run.
#[derive(Clone, Debug, Serialize, Default)]
pub struct Unplugs {
    /// Successful unbinds, hot-unplugs and module unloads.
    pub count: u64,
    /// The same, by kind.
    pub by_kind: BTreeMap<String, u64>,
    /// Those that began while a userspace thread was asleep in a blocking
    /// call (on a wait queue: `DQBUF`, `read`, `poll`, ...), the case the
    /// wake-up step of an unplug exists for. A faster run that slept less
    /// would test less: this count must not fall.
    pub with_sleeper: u64,
    /// Those run while a userspace thread was stopped at a stop point the
    /// seed picked (`--stop-points`; 0 otherwise).
    pub at_stop_points: u64,
    /// Wall time of each (the seven steps, drain included).
    pub latency: Option<Latency>,
    /// Every unplug's wall time, in microseconds, in completion order (for
    /// `--plot`; not serialised).
    #[serde(skip)]
    pub samples_us: Vec<f64>,
}

/// One point of the run's progress, taken about every 100 ms.
#[derive(Clone, Copy, Debug, Serialize, PartialEq)]
pub struct TimePoint {
    /// Seconds since the threads started.
    pub t_s: f64,
    /// Calls made so far (all threads).
    pub ops: u64,
    /// Successful unplugs so far.
    pub unplugs: u64,
}

/// Everything a stress run found.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    /// The seed (rerun with `--seed` to replay the same per-thread choices).
    pub seed: u64,
    /// `"framework"` or `"legacy"`.
    pub style: &'static str,
    /// Targets exercised.
    pub drivers: Vec<String>,
    /// Userspace threads.
    pub user_threads: usize,
    /// Kernel-side threads.
    pub kernel_threads: usize,
    /// Requested duration, in milliseconds.
    pub duration_ms: u64,
    /// Wall time of the whole run (wind-down included), in milliseconds.
    pub elapsed_ms: u64,
    /// Whether probe/registration failures were injected.
    pub inject_faults: bool,
    /// Failures injected.
    pub faults_injected: u64,
    /// Signals sent to userspace threads sleeping in a call (EINTR).
    pub signals: u64,
    /// Calls made, all kinds.
    pub total_ops: u64,
    /// Calls by kind (`open`, `ioctl`, ..., `unbind`, `hot-unplug`, ...).
    pub ops: BTreeMap<String, OpStats>,
    /// Ioctls by name.
    pub ioctls: BTreeMap<String, OpStats>,
    /// Results of every call by errno name (`"OK"` for success).
    pub results: BTreeMap<String, u64>,
    /// Unplugs and their latency.
    pub unplugs: Unplugs,
    /// Progress over time (for `--plot`; not serialised).
    #[serde(skip)]
    pub timeline: Vec<TimePoint>,
    /// Checker reports, in total.
    pub report_count: usize,
    /// Checker reports by checker title.
    pub reports_by_kind: BTreeMap<String, usize>,
    /// Checker reports grouped by checker and access site.
    pub reports: Vec<ReportGroup>,
    /// Objects still alive after everything was closed and unloaded.
    pub leaks: Vec<Leak>,
    /// Threads stuck in one call.
    pub hangs: Vec<Hang>,
    /// No report, no leak, no hang.
    pub clean: bool,
}

impl Summary {
    /// Groups `reports` by checker and access site, in order of first appearance.
    pub fn group_reports(reports: &[Report]) -> Vec<ReportGroup> {
        let mut groups: Vec<ReportGroup> = Vec::new();
        let mut index: BTreeMap<(ReportKind, Option<String>, String), usize> = BTreeMap::new();
        for r in reports {
            let site = r.site.map(|s| s.to_string());
            let key = (r.kind, site.clone(), r.object_name.clone());
            let n = usize::try_from(r.occurrences()).unwrap_or(usize::MAX);
            match index.get(&key) {
                Some(&i) => groups[i].count += n,
                None => {
                    index.insert(key, groups.len());
                    groups.push(ReportGroup {
                        kind: r.kind.title().to_owned(),
                        report_kind: r.kind,
                        object: r.object_name.clone(),
                        site,
                        count: n,
                        message: r.message.clone(),
                        text: r.to_string(),
                    });
                }
            }
        }
        groups
    }

    /// Whether any checker fired (what a legacy run must show).
    pub fn checkers_fired(&self) -> bool {
        self.report_count > 0
    }

    /// Reports of one checker.
    pub fn reports_of(&self, kind: ReportKind) -> usize {
        self.reports
            .iter()
            .filter(|g| g.report_kind == kind)
            .map(|g| g.count)
            .sum()
    }

    /// The summary table.
    pub fn table(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "devlife stress: {} style, drivers {}, {} user + {} kernel threads, {:.1} s, seed {}{}",
            self.style,
            self.drivers.join(","),
            self.user_threads,
            self.kernel_threads,
            self.duration_ms as f64 / 1000.0,
            self.seed,
            if self.inject_faults {
                ", faults injected"
            } else {
                ""
            }
        );
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "{:<16} {:>12} {:>12} {:>10}  most frequent errors",
            "operation", "calls", "ok", "errors"
        );
        for (name, op) in &self.ops {
            let mut errs: Vec<(&String, &u64)> =
                op.results.iter().filter(|(k, _)| *k != "OK").collect();
            errs.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            let top: Vec<String> = errs
                .iter()
                .take(3)
                .map(|(k, n)| format!("{k} {}", thousands(**n)))
                .collect();
            let _ = writeln!(
                s,
                "{:<16} {:>12} {:>12} {:>10}  {}",
                name,
                thousands(op.count),
                thousands(op.results.get("OK").copied().unwrap_or(0)),
                thousands(op.errors()),
                top.join(", ")
            );
        }
        let _ = writeln!(s, "{:<16} {:>12}", "total", thousands(self.total_ops));
        let _ = writeln!(s);
        let _ = writeln!(s, "results by errno");
        let mut res: Vec<(&String, &u64)> = self.results.iter().collect();
        res.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        for (k, n) in res {
            let _ = writeln!(s, "  {:<14} {:>12}", k, thousands(*n));
        }
        let _ = writeln!(s);
        let kinds: Vec<String> = self
            .unplugs
            .by_kind
            .iter()
            .map(|(k, n)| format!("{k} {}", thousands(*n)))
            .collect();
        let _ = writeln!(
            s,
            "unplugs          {:>12}  ({})",
            thousands(self.unplugs.count),
            kinds.join(", ")
        );
        let _ = writeln!(
            s,
            "  with a sleeper {:>12}  (a userspace thread asleep in a call when it began)",
            thousands(self.unplugs.with_sleeper)
        );
        if self.unplugs.at_stop_points > 0 {
            let _ = writeln!(
                s,
                "  at stop points {:>12}  (a userspace thread stopped at a stop point the seed picked)",
                thousands(self.unplugs.at_stop_points)
            );
        }
        match &self.unplugs.latency {
            Some(l) => {
                let _ = writeln!(
                    s,
                    "unplug latency   p50 {}  p99 {}  max {}",
                    micros(l.p50_us),
                    micros(l.p99_us),
                    micros(l.max_us)
                );
            }
            None => {
                let _ = writeln!(s, "unplug latency   - (no unplug)");
            }
        }
        let _ = writeln!(s, "signals (EINTR)  {:>12}", thousands(self.signals));
        if self.inject_faults {
            let _ = writeln!(
                s,
                "faults injected  {:>12}",
                thousands(self.faults_injected)
            );
        }
        let by_kind: Vec<String> = self
            .reports_by_kind
            .iter()
            .map(|(k, n)| format!("{k} {}", thousands(*n as u64)))
            .collect();
        let _ = writeln!(
            s,
            "checker reports  {:>12}{}",
            thousands(self.report_count as u64),
            if by_kind.is_empty() {
                String::new()
            } else {
                format!("  ({})", by_kind.join(", "))
            }
        );
        let leaks: Vec<String> = self
            .leaks
            .iter()
            .map(|l| format!("{} {}", l.type_name, l.live))
            .collect();
        let _ = writeln!(
            s,
            "leaked objects   {:>12}{}",
            thousands(self.leaks.iter().map(|l| l.live).sum()),
            if leaks.is_empty() {
                String::new()
            } else {
                format!("  ({})", leaks.join(", "))
            }
        );
        let _ = writeln!(s, "hangs            {:>12}", self.hangs.len());
        s
    }

    /// Every report group in full (first report of each group, with the
    /// access site and the object's history), then every hang.
    pub fn details(&self) -> String {
        let mut s = String::new();
        for g in &self.reports {
            s.push_str(&g.text);
            if g.count > 1 {
                let _ = writeln!(
                    s,
                    "  ({} more {} report(s) at the same site)",
                    g.count - 1,
                    g.kind
                );
            }
            s.push('\n');
        }
        for h in &self.hangs {
            let _ = writeln!(s, "{h}");
        }
        s
    }
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
    let d = n.to_string();
    let mut out = String::with_capacity(d.len() + d.len() / 3);
    for (i, c) in d.chars().enumerate() {
        if i > 0 && (d.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn micros(us: f64) -> String {
    if us >= 1000.0 {
        format!("{:.2} ms", us / 1000.0)
    } else {
        format!("{us:.0} µs")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
    }

    #[test]
    fn reports_group_by_checker_site_and_object() {
        let m = devlife::Monitor::new();
        let site = std::panic::Location::caller();
        for _ in 0..3 {
            m.report(Report::new(
                ReportKind::UseAfterFree,
                5,
                "st",
                "uaf",
                Some(site),
            ));
        }
        m.report(Report::new(ReportKind::Leak, 0, "file", "leak", None));
        let g = Summary::group_reports(&m.reports().all());
        assert_eq!(g.len(), 2);
        assert_eq!((g[0].count, g[0].kind.as_str()), (3, "use-after-free"));
        assert!(g[0].text.contains("access at"), "{}", g[0].text);
        assert_eq!((g[1].count, g[1].object.as_str()), (1, "file"));
    }
}
