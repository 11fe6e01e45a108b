//! The `expect` checks: reports, leaks, lifetimes, blocked threads, nodes.

use super::super::ast::Expect;
use super::Run;
use devlife::check::EventKind;

impl Run<'_> {
    pub(super) fn expect(&mut self, e: &Expect) -> Result<String, String> {
        if matches!(
            e,
            Expect::NoReports | Expect::Report { .. } | Expect::NoReport { .. }
        ) {
            // Sleepers an unplug did not wake are reported by the kernel's
            // hang checker, which looks when asked.
            self.shared.kernel.check_hangs();
            if self.torn_down {
                self.checked_after_teardown = true;
            }
        }
        let reports = self.shared.kernel.monitor().reports().all();
        let list = |rs: &[&devlife::check::Report]| -> String {
            rs.iter()
                .map(|r| format!("{} in {}: {}", r.kind.title(), r.object_name, r.message))
                .collect::<Vec<_>>()
                .join("; ")
        };
        match e {
            Expect::NoReports => {
                if reports.is_empty() {
                    Ok("no reports".into())
                } else {
                    let all: Vec<_> = reports.iter().collect();
                    Err(format!(
                        "{} checker report(s): {}\nfirst report:\n{}",
                        reports.len(),
                        list(&all),
                        reports[0]
                    ))
                }
            }
            Expect::Report { filter, count } => {
                let hits: Vec<_> = reports.iter().filter(|r| filter.matches(r)).collect();
                // Repeats of a kept report (same kind and site) count too.
                let n_hits: u64 = hits.iter().map(|r| r.occurrences()).sum();
                let ok = match count {
                    Some(n) => n_hits == *n as u64,
                    None => !hits.is_empty(),
                };
                if ok {
                    Ok(format!("{n_hits} report(s): {}", list(&hits)))
                } else {
                    let all: Vec<_> = reports.iter().collect();
                    Err(format!(
                        "expected {} {filter} report(s), found {}; all reports: {}",
                        count.map_or("some".to_owned(), |n| n.to_string()),
                        n_hits,
                        if all.is_empty() {
                            "none".to_owned()
                        } else {
                            list(&all)
                        }
                    ))
                }
            }
            Expect::NoReport { filter } => {
                let hits: Vec<_> = reports.iter().filter(|r| filter.matches(r)).collect();
                if hits.is_empty() {
                    Ok(format!("no {filter} report"))
                } else {
                    Err(format!(
                        "{} {filter} report(s): {}",
                        hits.len(),
                        list(&hits)
                    ))
                }
            }
            Expect::LeaksNone | Expect::Leak { .. } => {
                self.join_all().map_err(|f| format!("{}", f.kind))?;
                if !self.teardown() {
                    return Err("a thread could not be stopped for the teardown".into());
                }
                let leaks = self.leaks();
                match e {
                    Expect::Leak { type_name } => {
                        if leaks
                            .iter()
                            .any(|l| l.starts_with(&format!("{type_name}:")))
                        {
                            Ok(format!("leaked: {}", leaks.join(", ")))
                        } else {
                            Err(format!(
                                "expected live `{type_name}` objects after teardown, leaks: {}",
                                if leaks.is_empty() {
                                    "none".to_owned()
                                } else {
                                    leaks.join(", ")
                                }
                            ))
                        }
                    }
                    _ if leaks.is_empty() => Ok("no leaks".into()),
                    _ => Err(format!(
                        "objects still alive after teardown: {}",
                        leaks.join(", ")
                    )),
                }
            }
            Expect::Live { type_name, count } => {
                let n = self.shared.kernel.monitor().ledger().live(type_name);
                if n == *count {
                    Ok(format!("{n} live"))
                } else {
                    Err(format!(
                        "{n} live `{type_name}` object(s), expected {count}"
                    ))
                }
            }
            Expect::Blocked { thread, op } => {
                let b = self.shared.kernel.activity().blocked();
                let hit = b.iter().find(|x| {
                    x.thread == *thread && op.as_ref().is_none_or(|o| x.op == o.as_str())
                });
                match hit {
                    Some(x) => Ok(x.to_string()),
                    None => Err(format!(
                        "thread `{thread}` is not blocked{}; model activity: {}",
                        op.as_ref()
                            .map(|o| format!(" in `{o}`"))
                            .unwrap_or_default(),
                        self.activity()
                    )),
                }
            }
            Expect::Freed { name, freed } => {
                let ev: Vec<_> = self
                    .shared
                    .kernel
                    .monitor()
                    .journal()
                    .events()
                    .into_iter()
                    .filter(|e| {
                        matches!(e.kind, EventKind::Free | EventKind::Release)
                            && e.name.contains(name.as_str())
                    })
                    .collect();
                match (ev.first(), *freed) {
                    (Some(e), true) => Ok(format!(
                        "{} {:?} by `{}`{}",
                        e.name,
                        e.kind,
                        e.thread,
                        e.site.map(|s| format!(" at {s}")).unwrap_or_default()
                    )),
                    (None, false) => Ok(format!("`{name}` not freed")),
                    (Some(e), false) => Err(format!(
                        "`{}` was freed ({:?} by `{}`{})",
                        e.name,
                        e.kind,
                        e.thread,
                        e.site.map(|s| format!(" at {s}")).unwrap_or_default()
                    )),
                    (None, true) => Err(format!("no object named like `{name}` was freed")),
                }
            }
            Expect::ReleaseOrder { names } => {
                let events = self.shared.kernel.monitor().journal().events();
                // The position of the first release of an object named like each name.
                let mut at = Vec::new();
                for n in names {
                    let i = events.iter().position(|e| {
                        matches!(e.kind, EventKind::Release) && e.name.contains(n.as_str())
                    });
                    match i {
                        Some(i) => at.push((n, i, events[i].name.clone())),
                        None => {
                            let mut seen: Vec<&str> = events
                                .iter()
                                .filter(|e| matches!(e.kind, EventKind::Release))
                                .map(|e| e.name.as_str())
                                .collect();
                            seen.dedup();
                            return Err(format!(
                                "no object named like `{n}` was released (released, in order: {})",
                                seen.join(", ")
                            ));
                        }
                    }
                }
                let shown: Vec<String> = {
                    let mut v = at.clone();
                    v.sort_by_key(|x| x.1);
                    v.into_iter().map(|x| x.2).collect()
                };
                if at.windows(2).all(|p| p[0].1 < p[1].1) {
                    Ok(format!("released in order: {}", shown.join(", ")))
                } else {
                    Err(format!("released in order: {}", shown.join(", ")))
                }
            }
            Expect::Node { path, present } => {
                let name = path.strip_prefix("/dev/").unwrap_or(path);
                let is = self.shared.kernel.lookup(name).is_some();
                if is == *present {
                    Ok(if is { "present" } else { "absent" }.into())
                } else {
                    let mut names: Vec<String> = self
                        .shared
                        .kernel
                        .nodes()
                        .iter()
                        .map(|n| n.name().to_owned())
                        .collect();
                    names.sort();
                    Err(format!(
                        "node `{path}` is {} (registered: {})",
                        if is { "present" } else { "absent" },
                        if names.is_empty() {
                            "none".to_owned()
                        } else {
                            names.join(", ")
                        }
                    ))
                }
            }
        }
    }
}
