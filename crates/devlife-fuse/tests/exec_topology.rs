//! The installed media-ctl (Debian 12: v4l-utils 1.22.1) on usb-av's and
//! isp's media nodes under `devlife exec` prints what `devlife topology`
//! prints in that release's format (vimc: `exec_media.rs`).

mod support;

use support::{devlife_cmd, exec_script, ready};

#[test]
fn media_ctl_p_equals_devlife_topology_for_usb_av_and_isp() {
    if !ready() {
        return;
    }
    for driver in ["usb-av", "isp"] {
        let got = exec_script(&[driver], "media-ctl -d /dev/media0 -p");
        assert_eq!(got.code, Some(0), "{driver}: {got:?}");
        // Without --format, topology prints the installed media-ctl's format.
        let want = devlife_cmd(&["topology", driver]);
        assert_eq!(want.code, Some(0), "{driver}: {want:?}");
        assert!(
            got.stdout.contains("device node name /dev/"),
            "{driver}: {}",
            got.stdout
        );
        assert_eq!(got.stdout, want.stdout, "{driver}");
        let got = exec_script(&[driver], "media-ctl -d /dev/media0 --print-dot");
        let want = devlife_cmd(&["topology", driver, "--dot"]);
        assert_eq!(got.stdout, want.stdout, "{driver}");
    }
}
