//! Unit tests of the parser.

use super::values::{parse_duration, parse_expected};
use super::*;
use devlife_model::{Errno, PollMask};

fn err(src: &str) -> ParseError {
    parse_str("t.scn", src).unwrap_err()
}

#[test]
fn a_small_scenario_parses() {
    let sc = parse_str(
        "t.scn",
        "scenario \"blocking read woken by unbind\"  # title\n\
         driver testdrv\nstyle both\nthread reader\n\n\
         reader: open f /dev/testdrv0\n\
         reader: read f 4 &\n\
         wait reader blocked read\n\
         unbind\n\
         [framework] join reader -> ENODEV\n\
         [legacy] join reader -> ENODEV or EIO\n\
         reader: close f\n\
         [framework] expect no reports\n\
         [legacy] expect report use-after-free on testdrv count 1\n\
         expect leaks none\n",
    )
    .unwrap();
    assert_eq!(sc.title.as_deref(), Some("blocking read woken by unbind"));
    assert_eq!(sc.styles, vec![Style::Framework, Style::Legacy]);
    assert_eq!(sc.steps.len(), 10);
    assert_eq!(sc.steps_for(Style::Framework).count(), 8);
    assert_eq!(sc.steps[2].line, 8);
    assert!(matches!(
        sc.steps[1].cmd,
        Command::Op {
            background: true,
            ..
        }
    ));
}

#[test]
fn errors_carry_file_line_and_reason() {
    let e = err("driver testdrv\nthread a\na: open f testdrv0\na: fly f\n");
    assert_eq!((e.file.as_str(), e.line), ("t.scn", 4));
    assert!(
        e.to_string().starts_with("t.scn:4: unknown command `fly`"),
        "{e}"
    );
    let e = err("driver nope\n");
    assert!(
        matches!(e.kind, ParseErrorKind::UnknownDriver { .. }),
        "{e}"
    );
    let e = err("thread a\na: open f x\n");
    assert_eq!(e.kind, ParseErrorKind::MissingDriver);
    assert_eq!(
        e.to_string(),
        "t.scn: no `driver` header (e.g. `driver testdrv`)"
    );
    let e = err("driver testdrv\nb: open f x\n");
    assert_eq!(e.kind, ParseErrorKind::UnknownThread("b".into()));
    let e = err("driver testdrv\nthread a\na: open f x\na: ioctl f VIDIOC_REQBUFS cont=1\n");
    assert_eq!(e.line, 4);
    assert!(e.to_string().contains("no field `cont`"), "{e}");
    let e = err("driver testdrv\nthread a\na: read g 4\n");
    assert!(matches!(e.kind, ParseErrorKind::NotOpen { .. }), "{e}");
    let e = err("driver testdrv\nthread a\na: open f x\na: read f 4 &\na: close f\n");
    assert_eq!(e.line, 5);
    assert!(
        matches!(e.kind, ParseErrorKind::ThreadBusy { since: 4, .. }),
        "{e}"
    );
    let e = err("driver testdrv\nthread a\njoin a\n");
    assert!(matches!(e.kind, ParseErrorKind::ThreadIdle { .. }), "{e}");
    let e = err("driver testdrv\nunbind &\n");
    assert!(matches!(e.kind, ParseErrorKind::KernelBackground(_)), "{e}");
    let e = err("driver testdrv\nexpect leaks none\nunbind\n");
    assert_eq!((e.line, e.kind.clone()), (3, ParseErrorKind::AfterTeardown));
    let e = err("driver testdrv\nthread a\nbreak a at nowhere\n");
    assert!(matches!(e.kind, ParseErrorKind::UnknownPoint { .. }), "{e}");
    let e = err("driver testdrv\nthread a\na: open f x -> EWHAT\n");
    assert_eq!(e.kind, ParseErrorKind::UnknownErrno("EWHAT".into()));
    let e = err("driver testdrv\nexpect report nothing\n");
    assert!(matches!(e.kind, ParseErrorKind::UnknownChecker(_)), "{e}");
    let e = err("driver testdrv\nstyle legacy\n[framework] unbind\n");
    assert!(matches!(e.kind, ParseErrorKind::StyleNotRun(_)), "{e}");
    let e = err("driver testdrv\nthread a\na: open f x -> ok count=1\n");
    assert!(matches!(e.kind, ParseErrorKind::FieldsNotIoctl(_)), "{e}");
    let e = err("scenario \"unterminated\n");
    assert_eq!(e.kind, ParseErrorKind::Unterminated);
    let e = err("driver testdrv\nthread a\nthread a\n");
    assert_eq!(e.kind, ParseErrorKind::DuplicateThread("a".into()));
    let e = err("driver testdrv\nthread kernel\n");
    assert!(matches!(e.kind, ParseErrorKind::BadName(_)), "{e}");
}

#[test]
fn results_and_masks() {
    assert_eq!(
        parse_expected("ENODEV").unwrap(),
        Expected::Errno(Errno::ENODEV)
    );
    assert_eq!(
        parse_expected("ENOLINK").unwrap(),
        Expected::Errno(Errno::from_raw(67))
    );
    assert_eq!(
        parse_expected("ERR|HUP|PRI").unwrap(),
        Expected::Mask(PollMask::ERR | PollMask::HUP | PollMask::PRI)
    );
    assert_eq!(
        parse_expected("EPOLLERR|EPOLLHUP").unwrap(),
        Expected::Mask(PollMask::ERR | PollMask::HUP)
    );
    assert_eq!(parse_expected("-5").unwrap(), Expected::Value(-5));
    assert!(parse_expected("maybe").is_err());
    assert_eq!(
        parse_duration("250ms").unwrap(),
        Some(Duration::from_millis(250))
    );
    assert_eq!(parse_duration("inf").unwrap(), None);
    assert!(parse_duration("5 minutes").is_err());
    // The header: `timeout 0` and `timeout inf` mean no hang guard.
    for t in ["0", "inf"] {
        let sc = parse_str(
            "t.scn",
            &format!("driver testdrv\ntimeout {t}\nexpect no reports\n"),
        )
        .unwrap_or_else(|e| panic!("timeout {t}: {e}"));
        assert_eq!(sc.timeout, super::super::NO_TIMEOUT, "timeout {t}");
    }
    let sc = parse_str("t.scn", "driver testdrv\ntimeout 250ms\n").unwrap();
    assert_eq!(sc.timeout, Duration::from_millis(250));
    assert!(parse_duration("99999999999999999999s").is_err());
}
