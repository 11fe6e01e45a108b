//! Real v4l-utils programs on vimc's nodes under `devlife exec`.

mod support;

use support::{devlife_cmd, exec_script, ready};

#[test]
fn exec_returns_the_command_exit_code_and_shows_the_live_nodes() {
    if !ready() {
        return;
    }
    let t = exec_script(
        &["vimc"],
        "ls /dev; test -c /dev/video0 && test -e /dev/null; exit 7",
    );
    assert_eq!(t.code, Some(7), "{t:?}");
    for n in [
        "media0",
        "video0",
        "video1",
        "video2",
        "v4l-subdev0",
        "v4l-subdev7",
        "null",
        "char",
    ] {
        assert!(
            t.stdout.lines().any(|l| l == n),
            "`{n}` missing from ls /dev: {t:?}"
        );
    }
    assert!(
        t.stderr.is_empty(),
        "checker findings or errors: {}",
        t.stderr
    );
}

#[test]
fn media_ctl_print_and_dot_equal_devlife_topology() {
    if !ready() {
        return;
    }
    // The installed media-ctl's format (topology picks it by default).
    let t = exec_script(&["vimc"], "media-ctl -d /dev/media0 -p");
    assert_eq!(t.code, Some(0), "{t:?}");
    let want = devlife_cmd(&["topology", "vimc"]);
    assert_eq!(want.code, Some(0), "{want:?}");
    assert!(
        t.stdout.contains("device node name /dev/v4l-subdev0"),
        "{}",
        t.stdout
    );
    assert_eq!(t.stdout, want.stdout);

    let t = exec_script(&["vimc"], "media-ctl -d /dev/media0 --print-dot");
    assert_eq!(t.code, Some(0), "{t:?}");
    let want = devlife_cmd(&["topology", "vimc", "--dot"]);
    assert_eq!(t.stdout, want.stdout);
}
