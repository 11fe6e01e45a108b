//! `devlife mount DIR`: serves until SIGINT or an external `umount`, and
//! never leaves a mount behind.

mod support;

use std::process::{Command, Stdio};
use support::{Scratch, devlife, ready};

fn mounted(dir: &std::path::Path) -> bool {
    let m = std::fs::read_to_string("/proc/self/mounts").unwrap();
    let d = dir.display().to_string();
    m.lines().any(|l| l.split(' ').nth(1) == Some(d.as_str()))
}

/// Waits (polling the directory, no timing) until DIR/dev/media0 exists or
/// the server exited.
fn wait_served(child: &mut std::process::Child, dir: &std::path::Path) {
    while !dir.join("dev/media0").exists() {
        if let Some(st) = child.try_wait().unwrap() {
            panic!("devlife mount exited early: {st}");
        }
        std::thread::yield_now();
    }
}

fn stop(child: &mut std::process::Child, how: &str, dir: &std::path::Path) -> i32 {
    match how {
        "sigint" => {
            let st = Command::new("kill")
                .args(["-INT", &child.id().to_string()])
                .status()
                .unwrap();
            assert!(st.success());
        }
        _ => {
            let st = Command::new("umount").arg(dir).status().unwrap();
            assert!(st.success(), "umount {}", dir.display());
        }
    }
    child.wait().unwrap().code().unwrap_or(-1)
}

#[test]
fn mount_serves_until_sigint_or_umount_and_leaves_no_mount() {
    if !ready() {
        return;
    }
    for how in ["sigint", "umount"] {
        let s = Scratch::new(&format!("mount-{how}"));
        let dir = s.dir.join("mnt");
        std::fs::create_dir(&dir).unwrap();
        let mut child = Command::new(devlife())
            .args(["mount", dir.to_str().unwrap(), "--driver", "vimc"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        wait_served(&mut child, &dir);
        assert!(mounted(&dir));
        let out = Command::new("media-ctl")
            .args(["-d", dir.join("dev/media0").to_str().unwrap(), "-p"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        assert!(String::from_utf8_lossy(&out.stdout).contains("entity 24: RGB/YUV Capture"));
        let uevent =
            std::fs::read_to_string(dir.join("sys/class/video4linux/video0/name")).unwrap();
        assert_eq!(uevent.trim(), "Raw Capture 0");
        let code = stop(&mut child, how, &dir);
        assert_eq!(code, 0, "{how}");
        assert!(!mounted(&dir), "{how}: mount left behind");
        // An empty directory again, not a dead (ENOTCONN) mount.
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0, "{how}");
    }
}
