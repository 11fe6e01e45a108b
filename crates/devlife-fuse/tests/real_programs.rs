//! v4l-utils and a Python client on vimc's nodes under `devlife exec`:
//! queries, MMAP and read() streaming with frames checked by content,
//! embedded user pointers, held files after an unbind, and hot-unplug of a
//! streaming v4l2-ctl.

mod support;

use devlife_drivers::vimc::formats::code;
use devlife_drivers::vimc::pattern::{FrameFmt, debayer, frame_counter, scale, sensor_frame};
use devlife_media::uapi::videodev2::V4l2Rect;
use support::{Scratch, VIMC_RECIPE, exec_script, field, ready};

#[test]
fn v4l2_ctl_queries_every_node() {
    if !ready() {
        return;
    }
    let t = exec_script(
        &["vimc"],
        "for v in 0 1 2; do v4l2-ctl -d /dev/video$v --all || exit 1$v; echo ==end==; done
         v4l2-ctl --list-devices || exit 30; echo ==end==
         v4l2-ctl -d /dev/v4l-subdev0 --get-subdev-fmt || exit 31",
    );
    assert_eq!(t.code, Some(0), "{t:?}");
    let parts: Vec<&str> = t.stdout.split("==end==").collect();
    assert_eq!(parts.len(), 5, "{}", t.stdout);
    for (i, name) in ["Raw Capture 0", "Raw Capture 1", "RGB/YUV Capture"]
        .iter()
        .enumerate()
    {
        let p = parts[i];
        assert!(p.contains("Driver name      : vimc"), "video{i}: {p}");
        assert!(
            p.contains(&format!("Name             : {name}")),
            "video{i}: {p}"
        );
        assert!(p.contains("Pixel Format"), "video{i}: {p}");
    }
    // --list-devices groups the nodes of one bus info, media node included.
    let l = parts[3];
    assert!(l.contains("platform:vimc"), "{l}");
    for n in ["/dev/video0", "/dev/video1", "/dev/video2", "/dev/media0"] {
        assert!(l.contains(n), "{n} missing: {l}");
    }
    let f = parts[4];
    assert!(f.contains("Width/Height      : 640/480"), "{f}");
    assert!(f.contains("Mediabus Code     : 0x100a"), "{f}");
}

fn raw_fmt() -> FrameFmt {
    FrameFmt {
        code: code::SBGGR8_1X8,
        width: 640,
        height: 480,
    }
}

/// Checks each raw frame against the sensor pattern of its own counter;
/// returns the counters.
fn check_raw(frames: &[u8], what: &str) -> Vec<u32> {
    let f = raw_fmt();
    assert!(
        !frames.is_empty() && frames.len().is_multiple_of(f.size()),
        "{what}: {} bytes",
        frames.len()
    );
    frames
        .chunks(f.size())
        .enumerate()
        .map(|(i, fr)| {
            let seq = frame_counter(fr).unwrap();
            assert!(
                fr == sensor_frame(f, seq).as_slice(),
                "{what}: frame {i} (seq {seq}) differs from the pattern"
            );
            seq
        })
        .collect()
}

fn rgb_expected(seq: u32) -> Vec<u8> {
    let raw = raw_fmt();
    let rgb = FrameFmt {
        code: code::RGB888_1X24,
        width: 640,
        height: 480,
    };
    let big = FrameFmt {
        code: code::RGB888_1X24,
        width: 1920,
        height: 1440,
    };
    let crop = V4l2Rect {
        left: 0,
        top: 0,
        width: 640,
        height: 480,
    };
    scale(&debayer(&sensor_frame(raw, seq), raw, rgb), rgb, crop, big)
}

/// RGB frames carry no counter: the first frame's sequence is searched among
/// the first few, then every next frame must be the next pattern.
fn check_rgb(frames: &[u8], what: &str) {
    let size = 1920 * 1440 * 3;
    assert!(
        !frames.is_empty() && frames.len().is_multiple_of(size),
        "{what}: {} bytes",
        frames.len()
    );
    let first = &frames[..size];
    let seq0 = (0..16)
        .find(|&s| rgb_expected(s) == first)
        .unwrap_or_else(|| panic!("{what}: frame 0 matches no pattern of sequence 0..16"));
    for (i, fr) in frames.chunks(size).enumerate() {
        let want = rgb_expected(seq0 + i as u32);
        let same = fr == want.as_slice();
        assert!(
            same,
            "{what}: frame {i} differs from pattern {}",
            seq0 + i as u32
        );
    }
}

#[test]
fn vimc_recipe_streams_by_mmap_and_read_on_every_capture() {
    if !ready() {
        return;
    }
    let s = Scratch::new("stream");
    let script = format!(
        "{VIMC_RECIPE}
         for v in 0 1 2; do
           v4l2-ctl -d /dev/video$v --stream-mmap --stream-count=10 --stream-to={d}/mmap$v.raw || exit 3$v
         done
         python3 {d}/client.py read /dev/video0 3 307200 {d}/read0.raw || exit 40
         python3 {d}/client.py read /dev/video1 3 307200 {d}/read1.raw || exit 41
         python3 {d}/client.py read /dev/video2 2 8294400 {d}/read2.raw || exit 42",
        d = s.dir.display()
    );
    let t = exec_script(&["vimc"], &script);
    assert_eq!(t.code, Some(0), "{t:?}");
    let read = |n: &str| std::fs::read(s.dir.join(n)).unwrap();
    for v in 0..2 {
        let seqs = check_raw(&read(&format!("mmap{v}.raw")), &format!("mmap video{v}"));
        assert_eq!(seqs.len(), 10);
        assert!(
            seqs.windows(2).all(|w| w[1] > w[0]),
            "video{v} counters: {seqs:?}"
        );
        let seqs = check_raw(&read(&format!("read{v}.raw")), &format!("read video{v}"));
        assert_eq!(seqs.len(), 3);
    }
    let m = read("mmap2.raw");
    assert_eq!(m.len(), 10 * 1920 * 1440 * 3);
    check_rgb(&m, "mmap video2");
    check_rgb(&read("read2.raw"), "read video2");
    assert!(!t.stderr.contains("devlife:"), "findings: {}", t.stderr);
}

#[test]
fn embedded_pointers_are_followed_in_the_caller_and_bad_ones_fault() {
    if !ready() {
        return;
    }
    let s = Scratch::new("efault");
    let t = exec_script(
        &["vimc"],
        &format!("python3 {}/client.py efault /dev/media0", s.dir.display()),
    );
    assert_eq!(t.code, Some(0), "{t:?}");
    let o = &t.stdout;
    assert_eq!(field(o, "topology-null"), Some("OK"), "{o}");
    assert_eq!(field(o, "entities"), Some("11"), "{o}");
    assert_eq!(field(o, "topology-bad"), Some("EFAULT"), "{o}");
    assert_eq!(
        field(o, "topology-bad-version"),
        Some("0"),
        "nothing written back: {o}"
    );
    assert_eq!(field(o, "links-bad-pads"), Some("EFAULT"), "{o}");
    assert_eq!(field(o, "links-bad-links"), Some("EFAULT"), "{o}");
    assert_eq!(field(o, "links-good"), Some("OK"), "{o}");
    assert_eq!(field(o, "link0-source-entity"), Some("1"), "{o}");
}

#[test]
fn held_files_after_unbind_get_the_node_policy_and_rebind_streams_again() {
    if !ready() {
        return;
    }
    let s = Scratch::new("held");
    let script = format!(
        "python3 {d}/client.py hold /dev/v4l-subdev0 /dev/media0 {d}/ready {d}/go > {d}/hold.out 2>&1 &
         h=$!
         while [ ! -e {d}/ready ]; do sleep 0.01; done
         echo vimc.0 > /sys/bus/platform/drivers/vimc/unbind || exit 50
         ls /dev | grep -c -E '^(video|media|v4l-subdev)' ; touch {d}/go; wait $h || exit 51
         cat {d}/hold.out
         echo vimc.0 > /sys/bus/platform/drivers/vimc/bind || exit 52
         {VIMC_RECIPE}
         v4l2-ctl -d /dev/video0 --stream-mmap --stream-count=3 --stream-to={d}/again.raw || exit 53",
        d = s.dir.display()
    );
    let t = exec_script(&["vimc"], &script);
    assert_eq!(t.code, Some(0), "{t:?}");
    let o = &t.stdout;
    assert_eq!(o.lines().next(), Some("0"), "every node vanished: {o}");
    assert_eq!(field(o, "before-subdev"), Some("OK"), "{o}");
    assert_eq!(field(o, "subdev-ioctl"), Some("ENODEV"), "{o}");
    assert_eq!(
        field(o, "subdev-poll"),
        Some("0x1a"),
        "POLLPRI|POLLERR|POLLHUP: {o}"
    );
    assert_eq!(field(o, "media-ioctl"), Some("EIO"), "{o}");
    assert_eq!(field(o, "media-poll"), Some("0x18"), "POLLERR|POLLHUP: {o}");
    assert_ne!(field(o, "subdev-reopen"), Some("OK"), "{o}");
    assert_ne!(field(o, "media-reopen"), Some("OK"), "{o}");
    assert!(o.contains("closed"), "{o}");
    let seqs = check_raw(
        &std::fs::read(s.dir.join("again.raw")).unwrap(),
        "after rebind",
    );
    assert_eq!(seqs.len(), 3);
    assert!(!t.stderr.contains("devlife:"), "findings: {}", t.stderr);
}

/// Polls (no timing) until process `$p` is gone or a zombie, counting the
/// looks that found it in D state; prints `dstate N`.
const REAP: &str = r#"
d=0
while [ -e /proc/$p ] && ! grep -q 'State:.*Z' /proc/$p/status 2>/dev/null; do
  grep -q 'State:.*D' /proc/$p/status 2>/dev/null && d=$((d+1))
  sleep 0.01
done
wait $p; echo "exit $?"; echo "dstate $d"
"#;

#[test]
fn unbind_while_v4l2_ctl_streams_ends_it_and_rebind_streams_again() {
    if !ready() {
        return;
    }
    let s = Scratch::new("unplug");
    let script = format!(
        "{VIMC_RECIPE}
         : > {d}/out
         v4l2-ctl -d /dev/video2 --stream-mmap --stream-count=100000 > {d}/out 2>&1 &
         p=$!
         while ! grep -q '<' {d}/out; do kill -0 $p || exit 60; sleep 0.01; done
         echo vimc.0 > /sys/bus/platform/drivers/vimc/unbind || exit 61
         {REAP}
         ls /dev | grep -c -E '^(video|media|v4l-subdev)'
         cat {d}/out | tr -d '<' ; echo
         echo vimc.0 > /sys/bus/platform/drivers/vimc/bind || exit 62
         {VIMC_RECIPE}
         v4l2-ctl -d /dev/video0 --stream-mmap --stream-count=3 --stream-to={d}/again.raw || exit 63",
        d = s.dir.display()
    );
    let t = exec_script(&["vimc"], &script);
    assert_eq!(t.code, Some(0), "{t:?}");
    let o = &t.stdout;
    assert_eq!(
        field(o, "exit"),
        Some("0"),
        "v4l2-ctl ends normally after DQBUF fails: {o}"
    );
    // DQBUF (or the QBUF after it, if the unbind fell between them) failed.
    assert!(
        o.contains("VIDIOC_DQBUF: failed: No such device") || o.contains("qbuf error"),
        "{o}"
    );
    assert!(o.lines().any(|l| l == "0"), "every node vanished: {o}");
    check_raw(
        &std::fs::read(s.dir.join("again.raw")).unwrap(),
        "after rebind",
    );
    assert!(!t.stderr.contains("devlife:"), "findings: {}", t.stderr);
}

#[test]
fn signals_end_a_client_blocked_in_dqbuf() {
    if !ready() {
        return;
    }
    let s = Scratch::new("signals");
    let mut script = VIMC_RECIPE.to_owned();
    for sig in ["INT", "KILL"] {
        script += &format!(
            "rm -f {d}/ready
             python3 {d}/client.py block /dev/video0 {d}/ready > {d}/{sig}.out 2>&1 &
             p=$!
             while [ ! -e {d}/ready ]; do kill -0 $p || exit 71; sleep 0.01; done
             while ! grep -q request_wait_answer /proc/$p/wchan; do kill -0 $p || exit 72; sleep 0.01; done
             grep -q 'dqbuf' {d}/{sig}.out && exit 70
             kill -{sig} $p
             {REAP}
             cat {d}/{sig}.out
             ",
            d = s.dir.display()
        );
    }
    let t = exec_script(&["vimc"], &script);
    assert_eq!(t.code, Some(0), "{t:?}");
    let exits: Vec<&str> = t
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("exit "))
        .collect();
    // SIGINT: Python's KeyboardInterrupt out of the interrupted ioctl
    // (exit 130); SIGKILL: 128 + 9. Both ended: not stuck in D state (the
    // REAP loop only returns once the process is gone).
    assert_eq!(exits, ["130", "137"], "{t:?}");
    assert!(t.stdout.contains("KeyboardInterrupt"), "{t:?}");
    assert!(!t.stderr.contains("devlife:"), "findings: {}", t.stderr);
}

#[test]
fn a_blocking_poll_is_woken_by_the_server_and_the_mapping_shows_each_frame() {
    if !ready() {
        return;
    }
    let s = Scratch::new("poll");
    let t = exec_script(
        &["vimc"],
        &format!(
            "{VIMC_RECIPE}\npython3 {}/client.py pollwait /dev/video0 5",
            s.dir.display()
        ),
    );
    assert_eq!(t.code, Some(0), "{t:?}");
    let revents: Vec<&str> = t
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("revents "))
        .collect();
    assert_eq!(revents.len(), 5, "{t:?}");
    assert!(
        revents.iter().all(|r| *r == "0x41" || *r == "0x1"),
        "POLLIN|POLLRDNORM: {t:?}"
    );
    let seqs: Vec<u32> = field(&t.stdout, "seqs")
        .unwrap()
        .split(' ')
        .map(|x| x.parse().unwrap())
        .collect();
    // Frame counters read through MAP_SHARED pages the server stored: they
    // increase, so each DQBUF showed a new frame.
    assert!(seqs.windows(2).all(|w| w[1] > w[0]), "{seqs:?}");
}
