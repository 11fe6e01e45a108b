//! `explore`: one row per stop point a call passes, the framework clean at
//! every point, the legacy twin's windows visible.

use devlife_harness::scenario::explore::{ExploreOptions, explore, explore_driver};
use devlife_harness::scenario::parse_str;

#[test]
fn a_read_racing_unbind_is_run_once_per_stop_point() {
    let sc = parse_str(
        "read.scn",
        "driver testdrv\nstyle both\nthread a\na: open f testdrv0 nonblock\na: read f 4\nunbind\na: close f\n",
    )
    .unwrap();
    let rows = explore(&sc, &ExploreOptions::default()).unwrap();
    for style in ["framework", "legacy"] {
        let points: Vec<&str> = rows
            .iter()
            .filter(|r| r.style == style)
            .map(|r| r.point.as_str())
            .collect();
        assert_eq!(points, ["(before)", "read:entered", "(after)"], "{style}");
    }
    for r in rows.iter().filter(|r| r.style == "framework") {
        assert!(r.clean(), "{r:?}");
    }
    // Unplugged before the call: the framework answers ENODEV.
    assert_eq!(rows[0].result, "ENODEV");
    // Legacy: the close after unbind runs release on freed state.
    assert!(
        rows.iter().any(|r| r.style == "legacy" && !r.clean()),
        "{rows:?}"
    );
}

#[test]
fn a_scenario_without_one_unplug_cannot_be_explored() {
    let sc = parse_str("x.scn", "driver testdrv\nthread a\na: open f testdrv0\n").unwrap();
    let e = explore(&sc, &ExploreOptions::default()).unwrap_err();
    assert!(e.to_string().contains("exactly one unplug"), "{e}");
    let sc = parse_str("x.scn", "driver testdrv\nthread a\nunbind\n").unwrap();
    let e = explore(&sc, &ExploreOptions::default()).unwrap_err();
    assert!(e.to_string().contains("userspace call"), "{e}");
}

#[test]
fn every_file_operation_of_testdrv_is_clean_in_the_framework() {
    let rows = explore_driver("testdrv", &ExploreOptions::default()).unwrap();
    let calls: std::collections::BTreeSet<String> = rows
        .iter()
        .map(|r| r.call.split_whitespace().next().unwrap_or("").to_owned())
        .collect();
    for c in ["open", "close", "ioctl", "read", "poll", "mmap"] {
        assert!(calls.contains(c), "{c} not explored: {calls:?}");
    }
    for r in rows.iter().filter(|r| r.style == "framework") {
        assert!(r.clean(), "{r:?}");
    }
    // Stop points inside the calls were explored, not only before/after.
    assert!(rows.iter().any(|r| r.point == "open:entered"));
    assert!(rows.iter().any(|r| r.point == "release:begin"));
    assert!(rows.iter().any(|r| r.style == "legacy" && !r.clean()));
}
