//! The `devlife` binary: flags, JSON output, exit codes and bad input.

use std::process::{Command, Output};

fn devlife(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_devlife"))
        .args(args)
        .output()
        .expect("run devlife")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
            stdout(o),
            stderr(o)
        )
    })
}

#[test]
fn help_lists_the_commands() {
    let o = devlife(&["--help"]);
    assert!(o.status.success());
    let s = stdout(&o);
    for c in ["stress", "topology", "run", "list", "Exit codes"] {
        assert!(s.contains(c), "{c} missing from:\n{s}");
    }
    let o = devlife(&["stress", "--help"]);
    assert!(o.status.success());
    for f in [
        "--driver",
        "--threads",
        "--duration",
        "--seed",
        "--legacy",
        "--json",
        "--inject-faults",
    ] {
        assert!(stdout(&o).contains(f), "{f} missing");
    }
}

#[test]
fn list_names_every_driver() {
    let o = devlife(&["list"]);
    assert!(o.status.success());
    assert!(stdout(&o).contains("testdrv"), "{}", stdout(&o));
}

#[test]
fn framework_run_is_clean_and_json_has_the_documented_shape() {
    let o = devlife(&[
        "stress",
        "--driver",
        "testdrv",
        "--duration",
        "700ms",
        "--threads",
        "3",
        "--seed",
        "0x2a",
        "--json",
    ]);
    let v = json(&o);
    assert_eq!(o.status.code(), Some(0), "{v}");
    assert_eq!(v["seed"], 42);
    assert_eq!(v["style"], "framework");
    assert_eq!(v["drivers"], serde_json::json!(["testdrv"]));
    assert_eq!(v["user_threads"], 3);
    assert_eq!(v["duration_ms"], 700);
    assert_eq!(v["clean"], true);
    assert_eq!(v["report_count"], 0);
    assert_eq!(v["leaks"], serde_json::json!([]));
    assert_eq!(v["hangs"], serde_json::json!([]));
    assert!(v["ops"]["open"]["count"].as_u64().unwrap() > 0, "{v}");
    assert!(v["ops"]["open"]["results"].is_object());
    assert!(v["results"]["OK"].as_u64().unwrap() > 0);
    assert!(v["unplugs"]["count"].is_u64());
    // --json prints nothing else on stdout, and no banner on stderr.
    assert!(stderr(&o).is_empty(), "{}", stderr(&o));
}

#[test]
fn human_output_has_the_summary_table_and_the_seed() {
    let o = devlife(&[
        "stress",
        "-d",
        "testdrv",
        "--duration",
        "300ms",
        "--seed",
        "7",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let s = stdout(&o);
    for want in [
        "operation",
        "results by errno",
        "unplugs",
        "unplug latency",
        "checker reports",
        "leaked objects",
        "hangs",
        "result: PASS",
        "seed 7",
    ] {
        assert!(s.contains(want), "{want} missing from:\n{s}");
    }
    assert!(stderr(&o).contains("--seed 7"), "{}", stderr(&o));
}

#[test]
fn legacy_run_prints_each_report_with_its_site_and_history() {
    let o = devlife(&[
        "stress",
        "--driver",
        "testdrv",
        "--legacy",
        "--duration",
        "1s",
        "--seed",
        "3",
    ]);
    // Reports are what a legacy run is for: not a failure of the command.
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let s = stdout(&o);
    assert!(s.contains("BUG: devlife: use-after-free"), "{s}");
    assert!(s.contains("access at "), "{s}");
    assert!(s.contains("history of the object:"), "{s}");
    assert!(s.contains("the checkers caught"), "{s}");
}

#[test]
fn a_legacy_run_where_no_checker_fired_exits_1() {
    // No kernel thread: nothing is ever unbound, so the legacy bugs never
    // happen and the run shows nothing about the checkers.
    let o = devlife(&[
        "stress",
        "--driver",
        "testdrv",
        "--legacy",
        "--kernel-threads",
        "0",
        "--ops-per-thread",
        "20",
        "--threads",
        "1",
        "--seed",
        "5",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stdout(&o).contains("no checker fired"), "{}", stdout(&o));
}

#[test]
fn a_hang_in_the_framework_style_fails_the_run() {
    // No kernel thread unplugs anything and no signal comes: a thread that
    // sleeps in TESTDRV_WAIT stays there far longer than the hang timeout.
    let o = devlife(&[
        "stress",
        "--driver",
        "testdrv",
        "--kernel-threads",
        "0",
        "--signal-after",
        "1h",
        "--hang-timeout",
        "100ms",
        "--duration",
        "1s",
        "--seed",
        "9",
        "--json",
    ]);
    let v = json(&o);
    assert_eq!(o.status.code(), Some(1), "{v}");
    assert_eq!(v["clean"], false);
    let hangs = v["hangs"].as_array().unwrap();
    assert!(!hangs.is_empty(), "{v}");
    let h = &hangs[0];
    assert!(
        h["thread"].as_str().unwrap().starts_with("stress-user-"),
        "{h}"
    );
    assert!(h["op"].is_string() && h["object"].is_string(), "{h}");
    assert!(h["stuck_ms"].as_u64().unwrap() >= 100, "{h}");
}

#[test]
fn bad_flags_get_clear_errors() {
    let cases: [(&[&str], &str); 9] = [
        (
            &["stress", "--duration", "0.5ms"],
            "shorter than a millisecond",
        ),
        (&["stress", "--hang-timeout", "5ms"], "below"),
        (&["stress", "--driver", "nope"], "invalid value 'nope'"),
        (&["stress", "--threads", "0"], "--threads"),
        (&["stress", "--duration", "ten"], "is not a duration"),
        (&["stress", "--duration", "5d"], "unknown unit"),
        (&["stress", "--seed", "abc"], "is not a seed"),
        (&["stress", "--bogus"], "unexpected argument '--bogus'"),
        (&["topology"], "DRIVER"),
    ];
    for (args, want) in cases {
        let o = devlife(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(want), "{args:?}: {}", stderr(&o));
        assert!(o.stdout.is_empty(), "{args:?}");
    }
    // The valid driver names are listed.
    assert!(stderr(&devlife(&["stress", "--driver", "nope"])).contains("testdrv"));
}

#[test]
fn topology_prints_media_ctl_output_of_a_fresh_instance() {
    // The same text the media crate's renderer gives for a freshly bound
    // vimc in this process.
    let k = devlife_model::Kernel::new();
    let v = devlife_drivers::vimc::register(&k, devlife_drivers::Style::Framework).unwrap();
    let text = v.topology().unwrap();
    let dot = v.topology_dot().unwrap();
    drop(v);
    k.shutdown();
    let o = devlife(&["topology", "vimc", "--format", "current"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), text);
    assert!(text.contains("- entity 1: Sensor A (1 pad, 2 links, 0 routes)"));
    let o = devlife(&["topology", "vimc", "--dot"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), dot);
    assert!(dot.starts_with("digraph board {"), "{dot}");
    // Every driver with a media device prints one, in both styles.
    for d in ["usb-av", "isp"] {
        for extra in [&[][..], &["--legacy"][..]] {
            let mut args = vec!["topology", d];
            args.extend_from_slice(extra);
            let o = devlife(&args);
            assert_eq!(o.status.code(), Some(0), "{d}: {}", stderr(&o));
            assert!(stdout(&o).contains("Device topology"), "{d}");
        }
    }
}

/// The format `media-ctl --version` names, 1.22 without media-ctl.
fn installed_media_ctl_format() -> devlife_media::mc::render::MediaCtlFormat {
    Command::new("media-ctl")
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| devlife_media::mc::render::MediaCtlFormat::from_version_output(&stdout(&o)))
        .unwrap_or(devlife_media::mc::render::MediaCtlFormat::V1_22)
}

#[test]
fn topology_prints_the_format_of_the_chosen_or_installed_media_ctl() {
    use devlife_media::mc::render::{MediaCtlFormat, RenderOptions, media_ctl_print};
    let render = |format| {
        let k = devlife_model::Kernel::new();
        let v = devlife_drivers::vimc::register(&k, devlife_drivers::Style::Framework).unwrap();
        let mdev = v.media_device().unwrap();
        let opts = RenderOptions {
            format,
            ..RenderOptions::default()
        };
        let t = media_ctl_print(&mdev, &opts).unwrap();
        drop((mdev, v));
        k.shutdown();
        t
    };
    let o = devlife(&["topology", "vimc", "--format", "1.22"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), render(MediaCtlFormat::V1_22));
    assert!(stdout(&o).contains("- entity 1: Sensor A (1 pad, 2 links)\n"));
    assert!(stdout(&o).contains("\tpad0: Source\n\t\t[fmt:RGB888_1X24/640x480"));
    let o = devlife(&["topology", "vimc", "--format", "1.26"]);
    assert_eq!(stdout(&o), render(MediaCtlFormat::V1_26));
    let o = devlife(&["topology", "vimc"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), render(installed_media_ctl_format()));
    let o = devlife(&["topology", "vimc", "--format", "1.23"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("1.22"), "{}", stderr(&o));
}

#[test]
fn topology_of_a_driver_without_media_graph_is_a_usage_error() {
    let o = devlife(&["topology", "testdrv"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no media device"), "{}", stderr(&o));
}

fn write_scenario(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("devlife-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn run_plays_scenarios_and_reports_failures_and_parse_errors() {
    let pass = write_scenario(
        "pass.scn",
        "driver testdrv\nthread a\na: open f testdrv0\na: ioctl f TESTDRV_PING -> ok\n\
         unbind\na: ioctl f TESTDRV_PING -> ENODEV\na: close f\nexpect no reports\n",
    );
    let o = devlife(&["run", "--style", "framework", pass.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("PASS"), "{}", stdout(&o));

    // A wrong expectation: exit 1, the file and line in the error.
    let fail = write_scenario(
        "fail.scn",
        "driver testdrv\nthread a\na: open f testdrv0\nunbind\na: ioctl f TESTDRV_PING -> ok\n",
    );
    let o = devlife(&["run", fail.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    assert!(stderr(&o).contains("fail.scn:5"), "{}", stderr(&o));

    // A parse error: exit 2, file and line.
    let bad = write_scenario("bad.scn", "driver testdrv\nfrobnicate\n");
    let o = devlife(&["run", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("bad.scn:2"), "{}", stderr(&o));

    // JSON: one entry per file, with its status.
    let o = devlife(&[
        "run",
        "--json",
        pass.to_str().unwrap(),
        bad.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let v = json(&o);
    assert_eq!(v[0]["status"], "pass");
    assert_eq!(v[1]["status"], "error");
    assert!(v[0]["outcome"]["runs"].is_array(), "{v}");

    // A missing file could not run (3), naming it.
    let o = devlife(&["run", "/nonexistent/x.scn"]);
    assert_eq!(o.status.code(), Some(3));
    assert!(stderr(&o).contains("/nonexistent/x.scn"), "{}", stderr(&o));
}
