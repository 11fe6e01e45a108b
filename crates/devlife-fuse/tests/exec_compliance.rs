//! The media community's own judge: the installed v4l2-compliance (Debian
//! 12: v4l-utils 1.22.1) on every node of vimc, usb-av and isp under
//! `devlife exec`, and its streaming suite (`-s`) on each vimc capture, with
//! the totals docs/compliance.md records. The runs use the release build of
//! `devlife` (`./scripts/test` builds it first): against a debug build
//! usb-av's and isp's suites take longer than the harness allows.
//!
//! On vimc the one failure is the tool's own (1.22.1 counts the ancillary
//! links as interface links in `MEDIA_IOC_G_TOPOLOGY`); Linux 6.1's vimc
//! scores the same. Everything else passes with no failure or warning.

mod support;

use support::{Transcript, devlife_release, exec_script_with, ready, which};

fn compliance_ready() -> bool {
    if !ready() {
        return false;
    }
    if which("v4l2-compliance").is_none() {
        let msg = "skipping: v4l2-compliance is not installed (apt-get install v4l-utils)";
        if std::env::var_os("CI").is_some() {
            panic!("{msg} — CI must provide it");
        }
        eprintln!("{msg}");
        return false;
    }
    true
}

/// One `Total for ... device NODE: T, Succeeded: S, Failed: F, Warnings: W`
/// line of a transcript (per node, or the `Grand Total`).
#[derive(Debug, PartialEq, Eq)]
struct Total {
    node: String,
    tests: u32,
    succeeded: u32,
    failed: u32,
    warnings: u32,
}

/// Parses the `Total for` lines (`grand == false`) or the `Grand Total for`
/// lines (`grand == true`) of a transcript.
fn totals(out: &str, grand: bool) -> Vec<Total> {
    let prefix = if grand {
        "Grand Total for "
    } else {
        "Total for "
    };
    out.lines()
        .filter_map(|l| l.strip_prefix(prefix))
        .map(|rest| {
            let (head, nums) = rest.split_once(": ").expect("a total has ': '");
            let node = head.rsplit(' ').next().expect("node path").to_owned();
            let n: Vec<u32> = nums
                .split(", ")
                .map(|f| {
                    let v = f.rsplit(' ').next().expect("a number");
                    v.parse()
                        .unwrap_or_else(|_| panic!("bad number in {l}", l = rest))
                })
                .collect();
            assert_eq!(n.len(), 4, "{rest}");
            Total {
                node,
                tests: n[0],
                succeeded: n[1],
                failed: n[2],
                warnings: n[3],
            }
        })
        .collect()
}

fn run(drivers: &[&str], script: &str) -> Transcript {
    let t = exec_script_with(&devlife_release(), drivers, script);
    assert!(
        t.stdout.contains("Total for"),
        "no totals:\n{}\n{}",
        t.stdout,
        t.stderr
    );
    t
}

/// Asserts the per-node totals (node, tests) with no failure and no
/// warning on any node but those listed in `failing` (node, failures), and
/// the grand total.
fn assert_totals(t: &Transcript, nodes: &[(&str, u32)], failing: &[(&str, u32)]) {
    let got = totals(&t.stdout, false);
    let want: Vec<Total> = nodes
        .iter()
        .map(|&(node, tests)| {
            let failed = failing
                .iter()
                .find(|(n, _)| *n == node)
                .map_or(0, |&(_, f)| f);
            Total {
                node: node.to_owned(),
                tests,
                succeeded: tests - failed,
                failed,
                warnings: 0,
            }
        })
        .collect();
    assert_eq!(got, want, "{}", t.stdout);
    let sum = |f: fn(&Total) -> u32| want.iter().map(f).sum::<u32>();
    let grand = totals(&t.stdout, true);
    assert_eq!(
        grand,
        vec![Total {
            node: "/dev/media0".into(),
            tests: sum(|t| t.tests),
            succeeded: sum(|t| t.succeeded),
            failed: sum(|t| t.failed),
            warnings: 0,
        }],
        "{}",
        t.stdout
    );
}

#[test]
fn vimc_scores_what_linux_scores() {
    if !compliance_ready() {
        return;
    }
    let t = run(&["vimc"], "v4l2-compliance -m /dev/media0");
    assert_totals(
        &t,
        &[
            ("/dev/media0", 8),
            ("/dev/video0", 46),
            ("/dev/video1", 46),
            ("/dev/video2", 46),
            ("/dev/v4l-subdev0", 51),
            ("/dev/v4l-subdev1", 51),
            ("/dev/v4l-subdev2", 58),
            ("/dev/v4l-subdev3", 58),
            ("/dev/v4l-subdev4", 51),
            ("/dev/v4l-subdev5", 58),
            ("/dev/v4l-subdev6", 44),
            ("/dev/v4l-subdev7", 44),
        ],
        &[("/dev/media0", 1)],
    );
    // 561 tests, 560 succeeded, as Linux 6.1's vimc.
    assert_eq!(totals(&t.stdout, true)[0].tests, 561);
    // The one failure is the tool's ancillary-link bug, nothing else.
    let fails: Vec<&str> = t.stdout.lines().filter(|l| l.contains("fail:")).collect();
    assert_eq!(fails.len(), 1, "{fails:?}");
    assert!(
        fails[0].contains("v2_interfaces_set.find(link.source_id)"),
        "{fails:?}"
    );
}

#[test]
fn usb_av_passes_on_every_node() {
    if !compliance_ready() {
        return;
    }
    let t = run(&["usb-av"], "v4l2-compliance -m /dev/media0");
    // The capture node has two inputs: its format tests run once per input.
    assert_totals(
        &t,
        &[
            ("/dev/media0", 8),
            ("/dev/video0", 67),
            ("/dev/v4l-subdev0", 43),
        ],
        &[],
    );
    assert!(!t.stdout.contains("fail:"), "{}", t.stdout);
}

#[test]
fn isp_passes_on_every_node() {
    if !compliance_ready() {
        return;
    }
    let t = run(&["isp"], "v4l2-compliance -m /dev/media0");
    assert_totals(
        &t,
        &[
            ("/dev/media0", 8),
            ("/dev/video0", 46),
            ("/dev/v4l-subdev0", 51),
            ("/dev/v4l-subdev1", 58),
            ("/dev/v4l-subdev2", 58),
            ("/dev/v4l-subdev3", 58),
        ],
        &[],
    );
    assert!(!t.stdout.contains("fail:"), "{}", t.stdout);
}

/// The streaming suite on each vimc capture after configuring the pipelines
/// as the kernel's vimc documentation does (`fidelity/stream.sh`): read(),
/// blocking `DQBUF` against `STREAMOFF`, and MMAP streaming without poll,
/// with select() and with epoll (through FUSE's mmap and poll
/// notifications, docs/fuse.md). USERPTR and DMABUF are not supported, as
/// on Linux's vimc.
#[test]
fn vimc_streams_on_every_capture() {
    if !compliance_ready() {
        return;
    }
    let script = r#"
        set -e
        media-ctl -d /dev/media0 -V '"Sensor A":0[fmt:SBGGR8_1X8/640x480]'
        media-ctl -d /dev/media0 -V '"Debayer A":0[fmt:SBGGR8_1X8/640x480]'
        media-ctl -d /dev/media0 -V '"Sensor B":0[fmt:SBGGR8_1X8/640x480]'
        media-ctl -d /dev/media0 -V '"Debayer B":0[fmt:SBGGR8_1X8/640x480]'
        v4l2-ctl -d /dev/video2 -v width=640,height=480
        v4l2-ctl -d /dev/video0 -v pixelformat=BA81
        v4l2-ctl -d /dev/video1 -v pixelformat=BA81
        set +e
        for n in 0 1 2; do v4l2-compliance -s -d /dev/video$n; done
    "#;
    let t = run(&["vimc"], script);
    let got = totals(&t.stdout, false);
    let want: Vec<Total> = (0..3)
        .map(|n| Total {
            node: format!("/dev/video{n}"),
            tests: 55,
            succeeded: 55,
            failed: 0,
            warnings: 0,
        })
        .collect();
    assert_eq!(got, want, "{}", t.stdout);
    for test in [
        "test read/write: OK",
        "test blocking wait: OK",
        "test MMAP (no poll): OK",
        "test MMAP (select): OK",
        "test MMAP (epoll): OK",
    ] {
        assert_eq!(t.stdout.matches(test).count(), 3, "{test}\n{}", t.stdout);
    }
}
