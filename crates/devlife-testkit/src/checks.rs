//! Checker reports and leaks, as queries and assertions.

use devlife::check::{LiveCount, Report, ReportKind};
use devlife_model::Kernel;
use std::collections::BTreeMap;

/// Every checker report of `k` so far.
pub fn reports(k: &Kernel) -> Vec<Report> {
    k.monitor().reports().all()
}

/// Reports, one per line, for failure messages.
pub fn fmt_reports(r: &[Report]) -> String {
    r.iter()
        .map(|r| r.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Asserts that no checker fired on `k`.
pub fn no_reports(k: &Kernel) {
    let r = reports(k);
    assert!(r.is_empty(), "checker reports: {r:#?}");
}

/// How many reports of `kind` name an object containing `object`, repeats
/// at the same site included.
pub fn reports_on(k: &Kernel, kind: ReportKind, object: &str) -> usize {
    reports(k)
        .iter()
        .filter(|r| r.kind == kind && r.object_name.contains(object))
        // Repeats of a report at the same site are counted, not kept.
        .map(|r| usize::try_from(r.occurrences()).unwrap_or(usize::MAX))
        .sum()
}

/// How many objects of `kind` (a `devlife_media::kinds` name) `k`'s monitor
/// saw released so far: each counted once its last reference went and its
/// release callback ran.
pub fn released(k: &Kernel, kind: &str) -> u64 {
    k.monitor().ledger().released(kind)
}

/// Asserts that every object of `k` was released.
pub fn no_leaks(k: &Kernel) {
    let l = k.leaks();
    assert!(l.is_empty(), "live objects: {l:?}");
}

/// The ledger's live objects now, by type name, types with none left out
/// (compare before and after a plug/unplug cycle).
pub fn live_map(k: &Kernel) -> BTreeMap<&'static str, u64> {
    k.monitor()
        .ledger()
        .snapshot()
        .iter()
        .map(|c: &LiveCount| (c.type_name, c.live()))
        .filter(|(_, n)| *n != 0)
        .collect()
}
