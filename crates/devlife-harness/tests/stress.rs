//! Short stress runs of every target, in both styles.
//!
//! Framework style: no checker report, no leak, no hang. Legacy style: the
//! checkers fire. Runs are short (about a second) with fixed seeds; nothing
//! here depends on how fast the machine is, only on what the checkers saw.

use devlife_harness::stress::{self, StressConfig, Style, Summary};
use std::time::Duration;

fn run(driver: &str, style: Style, seed: u64, inject_faults: bool) -> Summary {
    stress::run(&StressConfig {
        drivers: vec![driver.to_owned()],
        style,
        user_threads: 4,
        kernel_threads: 2,
        duration: Duration::from_millis(1000),
        seed,
        inject_faults,
        ..StressConfig::default()
    })
    .unwrap()
}

fn assert_clean(s: &Summary) {
    assert!(
        s.clean && s.report_count == 0 && s.leaks.is_empty() && s.hangs.is_empty(),
        "{}\n{}",
        s.table(),
        s.details()
    );
    // The run did race: calls were made, devices went away under them and
    // came back.
    assert!(
        s.ops["open"].results.get("OK").copied().unwrap_or(0) > 0,
        "{}",
        s.table()
    );
    assert!(s.unplugs.count > 0, "{}", s.table());
    assert!(s.unplugs.latency.is_some());
    assert!(s.unplugs.with_sleeper <= s.unplugs.count);
    assert_eq!(s.unplugs.samples_us.len() as u64, s.unplugs.count);
    // The progress timeline is taken about every 100 ms and never goes back.
    assert!(!s.timeline.is_empty());
    assert!(
        s.timeline
            .windows(2)
            .all(|w| w[0].t_s < w[1].t_s && w[0].ops <= w[1].ops)
    );
}

fn assert_fires(s: &Summary) {
    assert!(s.checkers_fired(), "{}", s.table());
    assert!(!s.clean);
    // Each report names the access site and carries the object's history.
    let g = &s.reports[0];
    assert!(g.count >= 1);
    assert!(g.text.starts_with("BUG: devlife: "), "{}", g.text);
}

#[test]
fn every_target_is_listed() {
    let names = stress::target_names();
    assert!(names.contains(&"testdrv"), "{names:?}");
    for n in &names {
        assert_eq!(stress::target(n).unwrap().name(), *n);
    }
    assert!(stress::target("nonexistent").is_none());
}

#[test]
fn unknown_driver_is_an_error() {
    let e = stress::run(&StressConfig {
        drivers: vec!["nope".into()],
        duration: Duration::from_millis(10),
        ..StressConfig::default()
    })
    .unwrap_err();
    assert!(e.to_string().contains("unknown driver `nope`"), "{e}");
    let e = stress::run(&StressConfig {
        user_threads: 0,
        ..StressConfig::default()
    })
    .unwrap_err();
    assert_eq!(e, stress::StressError::NoThreads);
}

#[test]
fn testdrv_legacy_reports_use_after_free_with_site_and_history() {
    let s = run("testdrv", Style::Legacy, 3, false);
    assert_fires(&s);
    assert!(
        s.reports_of(devlife::check::ReportKind::UseAfterFree) > 0,
        "{}",
        s.table()
    );
    let uaf = s
        .reports
        .iter()
        .find(|g| g.kind == "use-after-free")
        .unwrap();
    assert!(uaf.text.contains("access at"), "{}", uaf.text);
    assert!(uaf.text.contains("history of the object"), "{}", uaf.text);
}

/// Framework (plain and with injected faults) and legacy runs of one target.
macro_rules! target_tests {
    ($m:ident, $name:literal, $seed:literal) => {
        mod $m {
            use super::*;

            #[test]
            fn framework_is_clean() {
                let s = run($name, Style::Framework, $seed, false);
                assert_clean(&s);
                // Userspace saw the unplugs.
                assert!(
                    s.results.contains_key("ENODEV") || s.results.contains_key("POLLHUP"),
                    "{}",
                    s.table()
                );
            }

            #[test]
            fn framework_with_injected_faults_is_clean() {
                let s = run($name, Style::Framework, $seed + 1, true);
                assert_clean(&s);
                assert!(s.faults_injected > 0, "{}", s.table());
            }

            #[test]
            fn legacy_fires_the_checkers() {
                let s = run($name, Style::Legacy, $seed + 2, false);
                assert_fires(&s);
            }
        }
    };
}

target_tests!(vimc, "vimc", 100);
target_tests!(usb_av, "usb-av", 200);
target_tests!(isp, "isp", 300);
target_tests!(testdrv, "testdrv", 400);

#[test]
fn every_driver_at_once_is_clean() {
    let s = stress::run(&StressConfig {
        user_threads: 4,
        kernel_threads: 2,
        duration: Duration::from_millis(1500),
        seed: 8,
        ..StressConfig::default()
    })
    .unwrap();
    assert_eq!(s.drivers, stress::target_names());
    assert_clean(&s);
}

#[test]
fn a_seed_replays_each_threads_calls() {
    // No kernel thread: nothing goes away, so which call each thread makes
    // depends only on its random generator (results may still depend on
    // timing, e.g. a read that finds data or is interrupted).
    let cfg = |seed| StressConfig {
        drivers: vec!["testdrv".to_owned()],
        user_threads: 2,
        kernel_threads: 0,
        duration: Duration::from_secs(60),
        ops_per_thread: Some(1000),
        signal_after: Duration::from_millis(1),
        seed,
        ..StressConfig::default()
    };
    let calls = |s: &Summary| -> Vec<(String, u64)> {
        s.ops.iter().map(|(k, v)| (k.clone(), v.count)).collect()
    };
    let a = stress::run(&cfg(11)).unwrap();
    let b = stress::run(&cfg(11)).unwrap();
    let c = stress::run(&cfg(12)).unwrap();
    assert_clean_no_unplug(&a);
    assert_eq!(a.total_ops, 2000, "{}", a.table());
    assert_eq!(calls(&a), calls(&b), "{}\n{}", a.table(), b.table());
    assert_ne!(calls(&a), calls(&c));
}

fn assert_clean_no_unplug(s: &Summary) {
    assert!(s.clean, "{}\n{}", s.table(), s.details());
    assert_eq!(s.unplugs.count, 0);
}

#[test]
fn summary_json_has_the_documented_shape() {
    let s = run("testdrv", Style::Framework, 4, false);
    let v = serde_json::to_value(&s).unwrap();
    for key in [
        "seed",
        "style",
        "drivers",
        "ops",
        "results",
        "unplugs",
        "report_count",
        "reports",
        "leaks",
        "hangs",
        "clean",
    ] {
        assert!(v.get(key).is_some(), "missing {key}: {v}");
    }
    assert_eq!(v["seed"], 4);
    assert_eq!(v["style"], "framework");
    assert!(v["unplugs"]["latency"]["p99_us"].is_number(), "{v}");
}

#[test]
fn stop_point_mode_unplugs_at_the_points_and_stays_clean() {
    let cfg = |style| StressConfig {
        drivers: vec!["testdrv".into()],
        style,
        duration: std::time::Duration::from_millis(800),
        user_threads: 4,
        kernel_threads: 2,
        seed: 11,
        stop_points: true,
        ..StressConfig::default()
    };
    let s = stress::run(&cfg(Style::Framework)).unwrap();
    assert!(s.clean, "{}", s.details());
    assert!(s.unplugs.at_stop_points > 0, "{}", s.table());
    assert!(s.unplugs.at_stop_points <= s.unplugs.count);
    let s = stress::run(&cfg(Style::Legacy)).unwrap();
    assert!(
        !s.clean,
        "the legacy twin's windows are reached: {}",
        s.table()
    );
}
