//! The runner itself: transcripts, failures with file and line, hangs
//! reported (not hanging), breakpoints at the runner's and the kernel's
//! points, runtime step errors, and proptest fuzzing of the parser.

use devlife_harness::scenario::{
    Outcome, ParseErrorKind, RunError, RunErrorKind, RunOptions, parse_str, run,
};
use proptest::prelude::*;

fn go(src: &str) -> Result<Outcome, RunError> {
    let sc = parse_str("t.scn", src).unwrap_or_else(|e| panic!("{e}"));
    run(&sc, &RunOptions::default())
}

const READ_UNBIND: &str = "
scenario blocking read vs unbind
driver testdrv
style both
thread reader
reader: open f /dev/testdrv0
reader: read f 4 &
wait reader blocked read
unbind
join reader -> ENODEV
reader: close f
[framework] expect no reports
[legacy] expect report use-after-free
";

#[test]
fn the_transcript_shows_every_step_and_the_legacy_report() {
    let out = go(READ_UNBIND).unwrap();
    assert_eq!(out.runs.len(), 2);
    let fw = &out.runs[0];
    assert_eq!(fw.style, "framework");
    let results: Vec<(usize, &str)> = fw
        .steps
        .iter()
        .map(|s| (s.line, s.result.as_str()))
        .collect();
    assert_eq!(
        results,
        vec![
            (6, "ok"),
            (7, "started"),
            (8, "blocked in read"),
            (9, "ok"),
            (10, "line 7: ENODEV"),
            (11, "ok"),
            (12, "no reports"),
        ]
    );
    assert!(fw.reports.is_empty());
    let lg = &out.runs[1];
    assert!(lg.reports.iter().any(|r| r.kind == "use-after-free"));
    let text = out.to_string();
    assert!(text.contains("[legacy] PASS"), "{text}");
    assert!(text.contains("BUG: devlife: use-after-free"), "{text}");
}

#[test]
fn a_failed_expectation_names_file_line_and_style() {
    // The legacy driver's use after free makes `expect no reports` fail.
    let src = READ_UNBIND.replace("[legacy] expect report use-after-free", "expect no reports");
    let e = go(&src).unwrap_err();
    assert_eq!(
        (e.file.as_str(), e.line, e.style.as_str()),
        ("t.scn", 13, "legacy")
    );
    assert!(matches!(e.kind, RunErrorKind::Expectation(_)));
    assert!(
        e.to_string()
            .starts_with("t.scn:13: [legacy] expectation failed"),
        "{e}"
    );
    assert!(e.report().contains("use-after-free"), "{}", e.report());
}

#[test]
fn a_result_mismatch_is_reported_at_its_line() {
    let e = go("driver testdrv\nthread a\na: open f testdrv0 nonblock\na: read f 4 -> 4\n")
        .unwrap_err();
    assert_eq!(e.line, 4);
    assert_eq!(
        e.kind,
        RunErrorKind::Expectation("expected 4, got EAGAIN".into())
    );
    // Join expectations are checked at the join line.
    let e = go(
        "driver testdrv\nthread a\na: open f testdrv0\na: read f 4 &\nwait a blocked read\n\
         unbind\njoin a -> EIO\n",
    )
    .unwrap_err();
    assert_eq!(e.line, 7);
    assert_eq!(
        e.kind,
        RunErrorKind::Expectation("expected EIO, got ENODEV".into())
    );
}

#[test]
fn a_hang_is_reported_with_the_thread_and_step_instead_of_hanging() {
    // Nobody wakes the reader: `join` cannot finish.
    let e = go(
        "driver testdrv\ntimeout 200ms\nthread reader\nreader: open f testdrv0\n\
         reader: read f 4 &\nwait reader blocked read\njoin reader\n",
    )
    .unwrap_err();
    assert_eq!(e.line, 7);
    match &e.kind {
        RunErrorKind::Hang { thread, message } => {
            assert_eq!(thread, "reader");
            assert!(message.contains("did not finish line 5"), "{message}");
            assert!(message.contains("blocked (Wait) in `read`"), "{message}");
        }
        k => panic!("{k:?}"),
    }
    // A synchronous step that blocks forever is a hang of that step.
    let e = go("driver testdrv\ntimeout 200ms\nthread a\na: open f testdrv0\na: read f 4\n")
        .unwrap_err();
    assert_eq!(e.line, 5);
    assert!(matches!(&e.kind, RunErrorKind::Hang { thread, .. } if thread == "a"));
    // Waiting for a block that never comes.
    let e = go(
        "driver testdrv\ntimeout 200ms\nthread a\na: open f testdrv0\na: read f 4 &\n\
         wait a blocked TESTDRV_WAIT\n",
    )
    .unwrap_err();
    assert_eq!(e.line, 6);
    assert!(matches!(e.kind, RunErrorKind::Hang { .. }), "{e}");
}

#[test]
fn waiting_for_a_block_that_returned_early_fails_fast() {
    let e = go(
        "driver testdrv\nthread a\na: open f testdrv0 nonblock\na: read f 4 &\nwait a blocked read\n",
    )
    .unwrap_err();
    assert_eq!(e.line, 5);
    match e.kind {
        RunErrorKind::Expectation(m) => {
            assert!(
                m.contains("finished line 4 (EAGAIN) instead of blocking"),
                "{m}"
            )
        }
        k => panic!("{k:?}"),
    }
}

#[test]
fn open_between_lookup_and_open_sees_the_unregistered_node() {
    // The VFS found /dev/testdrv0, then the device is unbound, then the
    // node's open runs: ENODEV (misc node policy), not a use of the gone driver.
    let out = go(
        "driver testdrv\nstyle both\nthread a\nbreak a at open:lookup\n\
         a: open f /dev/testdrv0 &\nwait a at open:lookup\nunbind\nresume a\n\
         join a -> ENODEV\nexpect node testdrv0 absent\nexpect no reports\nexpect leaks none\n",
    )
    .unwrap();
    assert_eq!(out.runs.len(), 2);
}

#[test]
fn a_thread_can_be_stopped_inside_an_unbind() {
    // `k` unbinds and stops after remove(); a call now fails cleanly.
    go(
        "driver testdrv\nthreads k a\na: open f testdrv0\nbreak k at unbind:removed\n\
        k: unbind &\nwait k at unbind:removed\nexpect node testdrv0 present\n\
        a: ioctl f TESTDRV_PING -> ENODEV\nresume k\njoin k -> ok\nexpect node testdrv0 absent\n\
        a: close f\nexpect no reports\nexpect leaks none\n",
    )
    .unwrap();
}

#[test]
fn step_errors_are_runtime_errors_with_their_line() {
    let e = go("driver testdrv\nthread a\nsignal a\n").unwrap_err();
    assert_eq!(e.line, 3);
    assert!(
        matches!(&e.kind, RunErrorKind::Step(m) if m.contains("not blocked")),
        "{e}"
    );
    let e = go("driver testdrv\nthread a\na: open f nosuch -> ENOENT\na: read f 4\n").unwrap_err();
    assert_eq!(e.line, 4);
    assert!(
        matches!(&e.kind, RunErrorKind::Step(m) if m.contains("did its open fail")),
        "{e}"
    );
}

#[test]
fn module_unload_is_refused_while_a_file_is_open() {
    go(
        "driver testdrv\nthread a\na: open f testdrv0\nunload -> EBUSY\na: close f\n\
        unload -> ok\nexpect node testdrv0 absent\nexpect no reports\nexpect leaks none\n",
    )
    .unwrap();
}

#[test]
fn live_counts_and_leak_checks() {
    go(
        "driver testdrv\nthread a\na: open f testdrv0\nexpect live file 1\na: dup g f\n\
        expect live file 1\na: close f\nexpect live file 1\na: close g\nexpect live file 0\n\
        expect leaks none\nexpect no reports\n",
    )
    .unwrap();
    // A file left open is closed by the teardown, so nothing leaks.
    go("driver testdrv\nthread a\na: open f testdrv0\nexpect leaks none\n").unwrap();
    let e = go("driver testdrv\nexpect leak file\n").unwrap_err();
    assert!(matches!(e.kind, RunErrorKind::Expectation(_)), "{e}");
}

// ----- fuzzing ----------------------------------------------------------------

const WORDS: &[&str] = &[
    "driver",
    "testdrv",
    "vimc",
    "style",
    "both",
    "legacy",
    "framework",
    "thread",
    "a",
    "b",
    "kernel",
    "a:",
    "b:",
    "kernel:",
    "open",
    "close",
    "dup",
    "f",
    "g",
    "/dev/testdrv0",
    "ioctl",
    "VIDIOC_REQBUFS",
    "count=4",
    "memory=mmap",
    "memory=",
    "=",
    "TESTDRV_WAIT",
    "read",
    "4",
    "-1",
    "0x",
    "write",
    "poll",
    "IN|ERR",
    "timeout=0",
    "mmap",
    "m",
    "len=8",
    "buffer=1",
    "munmap",
    "load",
    "store",
    "bind",
    "unbind",
    "hot-unplug",
    "replug",
    "unload",
    "stall",
    "unstall",
    "irq",
    "signal",
    "wait",
    "blocked",
    "at",
    "open:lookup",
    "break",
    "after",
    "resume",
    "join",
    "expect",
    "no",
    "reports",
    "report",
    "use-after-free",
    "leaks",
    "none",
    "live",
    "node",
    "present",
    "->",
    "ok",
    "ENODEV",
    "or",
    "&",
    "#",
    "\"",
    "[legacy]",
    "[framework]",
    "[x]",
    "timeout",
    "10s",
    "scenario",
    "repeat",
    "3",
    "{",
    "}",
    "fault",
    "node-register",
    "hit",
    "settled",
    "on",
    "video0",
    "trace",
    "release",
    "order",
    "load",
    "insmod",
    "open:entered",
    "release:begin",
    "probe:node-registered",
    "unplug",
    "mistake",
    "extra-put",
    "refcount-reset",
    "lock-across-unregister",
    "\n",
    "\n",
    "\n",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Arbitrary text never panics the parser; an error points at a line of the input.
    #[test]
    fn arbitrary_text_never_panics(src in "\\PC{0,300}") {
        if let Err(e) = parse_str("fuzz.scn", &src) {
            prop_assert!(e.line <= src.lines().count());
            prop_assert!(!e.to_string().is_empty());
        }
    }

    /// Sequences of scenario words (mostly almost-valid programs) never panic,
    /// and errors carry a line within the input.
    #[test]
    fn word_soup_never_panics(ws in proptest::collection::vec(proptest::sample::select(WORDS), 0..60)) {
        let src = ws.join(" ");
        match parse_str("fuzz.scn", &src) {
            Ok(sc) => prop_assert!(!sc.styles.is_empty()),
            Err(e) => {
                prop_assert!(e.line <= src.lines().count().max(1));
                if e.line == 0 {
                    prop_assert!(matches!(e.kind, ParseErrorKind::MissingDriver | ParseErrorKind::Io(_)));
                }
            }
        }
    }

}

proptest! {
    // Each case builds a kernel and runs threads: fewer cases.
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Valid programs built from a small grammar parse, and running them
    /// never panics or hangs the runner (results may be anything).
    #[test]
    fn generated_programs_run(ops in proptest::collection::vec(0usize..9, 0..12), legacy in any::<bool>()) {
        let mut src = format!("driver testdrv\nstyle {}\ntimeout 2s\nthread a\na: open f testdrv0 nonblock\n",
            if legacy { "legacy" } else { "framework" });
        for o in ops {
            src.push_str(match o {
                0 => "a: ioctl f TESTDRV_PING -> any\n",
                1 => "a: read f 4 -> any\n",
                2 => "a: write f 8 -> any\n",
                3 => "a: poll f IN timeout=0 -> any\n",
                4 => "unbind -> any\n",
                5 => "bind -> any\n",
                6 => "a: ioctl f TESTDRV_TRIGGER -> any\n",
                7 => "a: ioctl f TESTDRV_STATS -> any\n",
                _ => "a: ioctl f 0x1234 -> any\n",
            });
        }
        src.push_str("a: close f\n");
        let sc = parse_str("gen.scn", &src).unwrap();
        let r = run(&sc, &RunOptions::default());
        if let Err(e) = &r {
            // Only the legacy driver may misbehave, and never by hanging.
            prop_assert!(legacy, "{}", e.report());
            prop_assert!(!matches!(e.kind, RunErrorKind::Hang { .. }), "{}", e.report());
        }
    }
}

#[test]
fn waiting_for_a_report_made_by_another_thread() {
    // The interrupt handler thread makes the report.
    go(
        "driver testdrv\nstyle legacy\nthread udev\nbreak udev at unbind:devm\nudev: unbind &\n\
        wait udev at unbind:devm\nirq\nwait report irq-after-release on testdrv\nresume udev\n\
        join udev -> ok\n",
    )
    .unwrap();
    let e = go("driver testdrv\ntimeout 100ms\nwait report double-free\n").unwrap_err();
    assert_eq!(e.line, 3);
    assert!(
        matches!(&e.kind, RunErrorKind::Hang { message, .. } if message.contains("no double-free report")),
        "{e}"
    );
}

#[test]
fn a_deadlocked_kernel_step_is_a_hang_not_a_hung_runner() {
    // A synchronous unbind waits for a call the scenario keeps stalled.
    let e = go(
        "driver testdrv\ntimeout 200ms\nthread a\na: open f testdrv0\nstall a\n\
                a: ioctl f TESTDRV_HWOP &\nwait a blocked TESTDRV_HWOP\nunbind\n",
    )
    .unwrap_err();
    assert_eq!(e.line, 8);
    match &e.kind {
        RunErrorKind::Hang { thread, message } => {
            assert_eq!(thread, "kernel");
            assert!(
                message.contains("`kernel` did not finish `unbind`"),
                "{message}"
            );
            assert!(
                message.contains("thread `kernel` blocked (Kernel) in `unplug`"),
                "{message}"
            );
            assert!(
                message.contains("thread `a` blocked (Hardware) in `TESTDRV_HWOP`"),
                "{message}"
            );
        }
        k => panic!("{k:?}"),
    }
}

#[test]
fn a_hand_built_scenario_is_validated_before_running() {
    let mut sc = parse_str("t.scn", "driver testdrv\nthread a\na: open f testdrv0\n").unwrap();
    sc.threads.clear();
    let e = run(&sc, &RunOptions::default()).unwrap_err();
    assert_eq!(e.line, 3);
    assert!(
        matches!(&e.kind, RunErrorKind::Step(m) if m.contains("unknown thread `a`")),
        "{e}"
    );
}

/// A framework run whose teardown raises a report (here the file closed by the
/// runner at the end runs `release` on state the mutant freed in `remove()`)
/// fails, unless an `expect` after a teardown looked at the reports.
#[test]
fn a_report_raised_during_the_teardown_fails_a_framework_run() {
    let src = "
driver mutant-use-after-free
style framework
thread app
app: open f /dev/mutant0
unbind
expect no reports
";
    let e = go(src).unwrap_err();
    assert!(
        matches!(&e.kind, RunErrorKind::Expectation(m) if m.contains("raised during the teardown")),
        "{}",
        e.report()
    );
    assert!(e.report().contains("use-after-free"), "{}", e.report());
    // Looked at after the (explicit) teardown: the run decides by its expectations.
    let checked = format!("{src}expect leak mutant_state_never\n");
    assert!(go(&checked).is_err());
    let checked = format!("{src}expect leaks none\nexpect report use-after-free\n");
    go(&checked).unwrap_or_else(|e| panic!("{}", e.report()));
}

/// The kernel's hang checker runs when a scenario asks about reports: a
/// sleeper the unplug did not wake is named.
#[test]
fn a_sleeper_unplug_cannot_wake_is_reported_as_a_hang() {
    let src = "
driver mutant-hang
style framework
threads reader udev
reader: open f /dev/mutant0
reader: read f 4 &
wait reader blocked read
udev: unbind &
wait udev blocked unplug
expect no reports
";
    let e = go(src).unwrap_err();
    assert!(
        e.report().contains("still sleeps in `read`"),
        "{}",
        e.report()
    );
}

// ----- the constructs of issue 12 --------------------------------------------

#[test]
fn a_stop_point_inside_open_holds_off_the_framework_unbind() {
    // `open:entered` is after the registration check, before the driver's
    // open: the framework unbind must wait for it (drain) and the open
    // completes on a live driver; `wait U blocked unplug on NODE` names the
    // node whose unplug waits, not any node's.
    let out = go("
driver testdrv
thread app unb
break app at open:entered
app: open f /dev/testdrv0 &
wait app at open:entered
unb: unbind &
wait unb blocked unplug on testdrv0
expect blocked unb unplug
resume app
join app -> ok
join unb -> ok
expect no reports
")
    .unwrap();
    let steps = &out.runs[0].steps;
    assert!(
        steps
            .iter()
            .any(|s| s.result == "blocked in unplug on testdrv0"),
        "{}",
        out
    );
}

#[test]
fn a_wait_on_another_object_does_not_match() {
    let e = go("
driver testdrv
timeout 300ms
thread app unb
break app at open:entered
app: open f /dev/testdrv0 &
wait app at open:entered
unb: unbind &
wait unb blocked unplug on media0
")
    .unwrap_err();
    assert!(matches!(e.kind, RunErrorKind::Hang { .. }), "{e}");
    assert_eq!(e.line, 9);
}

#[test]
fn settled_accepts_a_finished_or_a_parked_thread() {
    // Legacy: the unbind does not wait for the open (it finishes); the
    // framework's parks in the drain. Both settle.
    let out = go("
driver testdrv
style both
thread app unb
break app at open:entered
app: open f /dev/testdrv0 &
wait app at open:entered
unb: unbind &
wait unb settled on testdrv0
resume app
join app
join unb
")
    .unwrap();
    let fw = out.runs[0]
        .steps
        .iter()
        .find(|s| s.text.contains("settled"))
        .unwrap();
    let lg = out.runs[1]
        .steps
        .iter()
        .find(|s| s.text.contains("settled"))
        .unwrap();
    assert!(fw.result.contains("unplug"), "{}", fw.result);
    assert_eq!(lg.result, "finished");
}

#[test]
fn an_armed_fault_fails_that_hit_of_the_point() {
    // The module comes back with its driver, whose probe fails at its node
    // registration: the device stays unbound until a later bind.
    go("
driver testdrv
unload
fault node-register hit 1
load -> ok
expect node testdrv0 absent
bind -> ok
expect node testdrv0 present
expect no reports
")
    .unwrap_or_else(|e| panic!("{}", e.report()));
    // Hit 2: the first registration passes.
    go("
driver testdrv
unload
fault node-register hit 2
load -> ok
expect node testdrv0 present
")
    .unwrap_or_else(|e| panic!("{}", e.report()));
    let e = parse_str("t.scn", "driver testdrv\nfault nowhere\n").unwrap_err();
    assert!(matches!(e.kind, ParseErrorKind::UnknownFault(_)), "{e}");
    let e = parse_str("t.scn", "driver testdrv\nfault alloc hit 0\n").unwrap_err();
    assert!(matches!(e.kind, ParseErrorKind::BadNumber(_)), "{e}");
}

#[test]
fn a_module_loads_again_after_unload() {
    for d in ["testdrv", "vimc"] {
        let node = if d == "vimc" { "video0" } else { "testdrv0" };
        let out = go(&format!(
            "driver {d}\nstyle both\nthread a\nunload -> ok\nexpect node {node} absent\n\
             load -> ok\nexpect node {node} present\na: open f {node}\na: close f\n\
             unload -> ok\nmodule load\nexpect node {node} present\nexpect no reports\n"
        ));
        out.unwrap_or_else(|e| panic!("{d}: {}", e.report()));
    }
    // `load MAP OFFSET` is still a memory load.
    let sc = parse_str(
        "t.scn",
        "driver testdrv\nthread a\na: open f testdrv0\na: mmap m f\na: load m 0\n",
    )
    .unwrap();
    assert!(format!("{:?}", sc.steps[2].cmd).contains("Load {"));
}

#[test]
fn repeat_unrolls_its_block_and_errors_point_into_it() {
    let sc = parse_str(
        "t.scn",
        "driver testdrv\nthread a\nrepeat 3 {\n  a: open f testdrv0\n  repeat 2 {\n    a: ioctl f TESTDRV_PING\n  }\n  a: close f\n}\n",
    )
    .unwrap();
    assert_eq!(sc.steps.len(), 3 * 4);
    assert_eq!(sc.steps[1].line, 6);
    let out = run(&sc, &RunOptions::default()).unwrap();
    assert_eq!(out.runs[0].steps.len(), 12);
    let e = parse_str(
        "t.scn",
        "driver testdrv\nthread a\nrepeat 2 {\na: open f testdrv0\n",
    )
    .unwrap_err();
    assert_eq!(
        (e.line, e.kind.clone()),
        (3, ParseErrorKind::UnclosedRepeat(3))
    );
    let e = parse_str("t.scn", "driver testdrv\n}\n").unwrap_err();
    assert_eq!((e.line, e.kind.clone()), (2, ParseErrorKind::StrayBrace));
    // The static pass sees the unrolled steps: the second open is refused
    // because the first copy left `a` running.
    let e = parse_str(
        "t.scn",
        "driver testdrv\nthread a\nrepeat 2 {\na: read f 4 &\n}\n",
    )
    .unwrap_err();
    assert_eq!(e.line, 4, "{e}");
    let e = parse_str("t.scn", "driver testdrv\nrepeat 2 {\nthread b\n}\n").unwrap_err();
    assert!(matches!(e.kind, ParseErrorKind::HeaderInRepeat(_)), "{e}");
    let e = parse_str(
        "t.scn",
        "driver testdrv\nthread a\nrepeat 1000 {\nrepeat 1000 {\na: open f testdrv0\n}\n}\n",
    )
    .unwrap_err();
    assert!(matches!(e.kind, ParseErrorKind::TooManySteps(_)), "{e}");
}

#[test]
fn no_report_on_a_name_only_looks_at_that_object() {
    // Legacy read vs unbind: a use-after-free on the testdrv state, none on
    // a media device.
    let src = "
driver testdrv
style legacy
thread reader
reader: open f /dev/testdrv0
reader: read f 4 &
wait reader blocked read
unbind
join reader
reader: close f
expect report use-after-free on testdrv
expect no report use-after-free on media_device
expect no report hang by reader
";
    go(src).unwrap();
    let e = go(&src.replace("on media_device", "on testdrv")).unwrap_err();
    assert!(matches!(e.kind, RunErrorKind::Expectation(_)), "{e}");
    assert_eq!(e.line, 12);
}

#[test]
fn release_order_checks_the_order_of_release_callbacks() {
    // vimc: an open video file keeps its video device (`Raw Capture 0`)
    // after unbind; the v4l2 device goes after its last video device, the
    // media device after the v4l2 device's driver release.
    let src = "
driver vimc
thread a
a: open f video0
unbind
a: close f
expect leaks none
expect release order \"Raw Capture 0\", v4l2_device, media_device
";
    go(src).unwrap_or_else(|e| panic!("{}", e.report()));
    let e = go(&src.replace("v4l2_device, media_device", "media_device, v4l2_device")).unwrap_err();
    assert!(matches!(e.kind, RunErrorKind::Expectation(_)), "{e}");
    let e = parse_str("t.scn", "driver vimc\nexpect release order file\n").unwrap_err();
    assert!(matches!(e.kind, ParseErrorKind::BadExpect(_)), "{e}");
}

#[test]
fn trace_lists_the_stop_points_a_call_passes() {
    let out = go("
driver testdrv
thread a
trace a
a: open f testdrv0
a: ioctl f TESTDRV_PING
a: close f
")
    .unwrap();
    let pts: Vec<&str> = out.runs[0]
        .traced
        .iter()
        .map(|p| p.point.as_str())
        .collect();
    assert_eq!(
        pts,
        [
            "open:lookup",
            "open:entered",
            "ioctl:entered",
            "release:begin",
            "release:done"
        ]
    );
}

/// Runs a scenario of `scenarios/` as it is, then without its `mistake`
/// line: the first passes (the checker fires), the second fails on the
/// expected report (nothing fires without the mistake).
fn mistake_scenario(file: &str, expected: &str) {
    let path = format!("{}/../../scenarios/{file}", env!("CARGO_MANIFEST_DIR"));
    let src = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    go(&src).unwrap_or_else(|e| panic!("{}", e.report()));
    let without: String = src
        .lines()
        .filter(|l| !l.trim_start().starts_with("mistake "))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_ne!(without, src, "{file} arms no mistake");
    let e = go(&without).expect_err("without the mistake the report is missing");
    let text = e.report();
    assert!(text.contains(expected), "{text}");
}

#[test]
fn an_extra_put_is_a_double_free_of_the_private_structure() {
    mistake_scenario("m1_extra_put_vimc.scn", "double-free");
}

#[test]
fn a_refcount_reset_after_a_get_is_a_use_after_free() {
    mistake_scenario("m2_refcount_reset_vimc.scn", "use-after-free");
}

#[test]
fn a_lock_held_across_unregister_is_a_lock_order_report() {
    mistake_scenario("m3_lock_across_unregister_vimc.scn", "lock-order");
}

#[test]
fn usb_av_extra_put_at_disconnect_is_a_double_free_of_the_private_structure() {
    mistake_scenario("m4_extra_put_usb_av.scn", "double-free");
}

#[test]
fn usb_av_refcount_reset_at_disconnect_is_a_use_after_free() {
    mistake_scenario("m5_refcount_reset_usb_av.scn", "use-after-free");
}

#[test]
fn usb_av_lock_held_across_unregister_is_a_lock_order_report() {
    mistake_scenario("m6_lock_across_unregister_usb_av.scn", "lock-order");
}

#[test]
fn a_mistake_is_rejected_where_no_legacy_twin_makes_it() {
    // Framework style (the default), and `both`: the error names the line.
    for src in [
        "driver vimc\n\nmistake extra-put\n",
        "driver vimc\nstyle both\nmistake extra-put\n",
        "driver testdrv\nstyle legacy\nmistake extra-put\n",
        "driver usb-av\n\nmistake extra-put\n",
        "driver usb-av\nstyle both\nmistake lock-across-unregister\n",
        "driver isp\nstyle legacy\nmistake extra-put\n",
    ] {
        let e = parse_str("t.scn", src).unwrap_err();
        assert!(
            matches!(e.kind, ParseErrorKind::MistakeNotHere { .. }),
            "{e}"
        );
        assert!(e.to_string().starts_with("t.scn:3"), "{e}");
    }
    // Legacy-only steps of a `both` scenario are fine.
    parse_str(
        "t.scn",
        "driver vimc\nstyle both\n[legacy] mistake extra-put\n",
    )
    .unwrap();
    for m in ["extra-put", "refcount-reset", "lock-across-unregister"] {
        parse_str(
            "t.scn",
            &format!("driver usb-av\nstyle legacy\nmistake {m}\n"),
        )
        .unwrap();
    }
    let e = parse_str("t.scn", "driver vimc\nstyle legacy\nmistake double-get\n").unwrap_err();
    assert!(matches!(e.kind, ParseErrorKind::UnknownMistake(_)), "{e}");
}
