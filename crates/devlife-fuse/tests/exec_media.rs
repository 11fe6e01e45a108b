//! Real v4l-utils programs on vimc's nodes under `devlife exec`.

mod support;

use support::{devlife_cmd, exec_script, ready};

#[test]
fn exec_returns_the_command_exit_code_and_shows_the_live_nodes() {
    if !ready() {
        return;
    }
    let t = exec_script(&["vimc"], "ls /dev; test -c /dev/video0 && test -e /dev/null; exit 7");
    assert_eq!(t.code, Some(7), "{t:?}");
    for n in ["media0", "video0", "video1", "video2", "v4l-subdev0", "v4l-subdev7", "null", "char"] {
        assert!(t.stdout.lines().any(|l| l == n), "`{n}` missing from ls /dev: {t:?}");
    }
    assert!(t.stderr.is_empty(), "checker findings or errors: {}", t.stderr);
}

#[test]
fn media_ctl_print_matches_devlife_topology_entities() {
    if !ready() {
        return;
    }
    let t = exec_script(&["vimc"], "media-ctl -d /dev/media0 -p");
    assert_eq!(t.code, Some(0), "{t:?}");
    let want = devlife_cmd(&["topology", "vimc"]);
    assert_eq!(want.code, Some(0), "{want:?}");
    // Entities and links; newer media-ctl also counts routes (1.22 does not).
    let lines = |s: &str| -> Vec<String> {
        s.lines()
            .filter(|l| l.contains("- entity") || l.contains("->") || l.contains("<-"))
            .map(|l| l.replace(", 0 routes", ""))
            .collect()
    };
    assert!(!lines(&t.stdout).is_empty());
    assert_eq!(lines(&t.stdout), lines(&want.stdout));
}
