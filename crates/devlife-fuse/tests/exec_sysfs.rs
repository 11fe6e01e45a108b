//! The sysfs tree from a shell under `devlife exec`: unbind and bind, module
//! unload refused while a file is open, bad writes and their errno as bash
//! reports them, and a usb-av physical unplug while a PCM read and a video
//! read are in progress (the other usb-av device and vimc work on).

mod support;

use support::{Transcript, exec_script, ready};

/// Runs `script` with bash under `devlife exec --driver D...` (bash, not
/// dash: dash reports every failed write as "I/O error", bash names the errno).
fn bash(drivers: &[&str], script: &str) -> Transcript {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!("devlife-sysfs-{}-{n}.sh", std::process::id()));
    std::fs::write(&path, script).unwrap();
    let t = exec_script(drivers, &format!("exec bash {}", path.display()));
    let _ = std::fs::remove_file(&path);
    t
}

/// The lines of `text`.
fn lines(text: &str) -> Vec<&str> {
    text.lines().collect()
}

#[test]
fn unbind_and_bind_vimc_from_a_shell() {
    if !ready() {
        return;
    }
    let t = bash(
        &["vimc"],
        r#"
cat /sys/class/video4linux/video0/name
readlink /sys/dev/char/81:0
ls /dev | grep -c -E '^(video|media|v4l-subdev)'
echo vimc.0 > /sys/bus/platform/drivers/vimc/unbind && echo unbound
ls /dev | grep -c -E '^(video|media|v4l-subdev)'
ls /sys/class/video4linux | wc -l
test -e /sys/bus/platform/devices/vimc.0/driver || echo no-driver-link
echo vimc.0 > /sys/bus/platform/drivers/vimc/bind && echo bound
ls /sys/class/video4linux | wc -l
v4l2-ctl -d /dev/video2 --info | grep -m1 'Driver name'
"#,
    );
    assert_eq!(t.code, Some(0), "{t:?}");
    assert_eq!(
        lines(&t.stdout),
        [
            "Raw Capture 0",
            "../../devices/platform/vimc.0/video4linux/video0",
            "12",
            "unbound",
            "0",
            "0",
            "no-driver-link",
            "bound",
            "11",
            "\tDriver name      : vimc",
        ],
        "{t:?}"
    );
    assert!(t.stderr.is_empty(), "{}", t.stderr);
}

#[test]
fn bad_sysfs_writes_give_the_errno_from_a_shell() {
    if !ready() {
        return;
    }
    let t = bash(
        &["vimc"],
        r#"
echo garbage > /sys/bus/platform/drivers/vimc/bind; echo "rc=$?"
echo vimc.0 > /sys/bus/platform/drivers/vimc/bind; echo "rc=$?"
echo 1-1 > /sys/bus/platform/drivers/vimc/unbind; echo "rc=$?"
echo vimc.0 > /sys/bus/platform/drivers/nope/bind; echo "rc=$?"
echo x > /sys/class/video4linux/video0/name; echo "rc=$?"
echo vimc.0 > /sys/kernel/devlife/plug; echo "rc=$?"
echo nosuch > /sys/kernel/devlife/modules/unload; echo "rc=$?"
echo loud > /sys/class/video4linux/video0/dev_debug; echo "rc=$?"
head -c 10000 /dev/zero | tr '\0' a > /sys/bus/platform/drivers/vimc/unbind; echo "rc=$?"
cat /sys/bus/platform/drivers/vimc/bind; echo "rc=$?"
stat -c %a /sys/bus/platform/drivers/vimc/bind /sys/class/video4linux/video0/name
ls /dev | grep -c -E '^(video|media|v4l-subdev)'
"#,
    );
    assert_eq!(t.code, Some(0), "{t:?}");
    assert_eq!(
        lines(&t.stdout),
        [
            "rc=1", "rc=1", "rc=1", "rc=1", "rc=1", "rc=1", "rc=1", "rc=1", "rc=1", "rc=1", "200",
            "444", "12"
        ],
        "{t:?}"
    );
    let want = [
        "echo: write error: No such device",
        "echo: write error: Device or resource busy",
        "echo: write error: No such device",
        "/sys/bus/platform/drivers/nope/bind: No such file or directory",
        "/sys/class/video4linux/video0/name: Permission denied",
        "echo: write error: File exists",
        "echo: write error: No such file or directory",
        "echo: write error: Invalid argument",
        "tr: write error: No such device",
        // coreutils' close_stdout reports the failed stream once more.
        "tr: write error",
        // Write-only attributes cannot even be opened for reading.
        "cat: /sys/bus/platform/drivers/vimc/bind: Permission denied",
    ];
    let errs = lines(&t.stderr);
    assert_eq!(errs.len(), want.len(), "{errs:#?}");
    for (e, w) in errs.iter().zip(want) {
        assert!(e.ends_with(w), "`{e}` does not end with `{w}`");
    }
}

#[test]
fn module_unload_is_refused_while_a_file_is_open_and_works_after_close() {
    if !ready() {
        return;
    }
    let t = bash(
        &["vimc"],
        r#"
exec 3</dev/video0
cat /sys/module/vimc/refcnt
echo vimc > /sys/kernel/devlife/modules/unload; echo "rc=$?"
ls /dev | grep -c -E '^(video|media|v4l-subdev)'
exec 3<&-
cat /sys/module/vimc/refcnt
echo vimc > /sys/kernel/devlife/modules/unload; echo "rc=$?"
ls /dev | grep -c -E '^(video|media|v4l-subdev)'
ls /sys/module /sys/bus/platform/drivers /sys/bus/platform/devices | grep -c vimc
echo vimc > /sys/kernel/devlife/modules/load; echo "rc=$?"
ls /dev | grep -c -E '^(video|media|v4l-subdev)'
cat /sys/module/vimc/initstate
"#,
    );
    assert_eq!(t.code, Some(0), "{t:?}");
    assert_eq!(
        lines(&t.stdout),
        [
            "1", "rc=1", "12", "0", "rc=0", "0", "0", "rc=0", "12", "live"
        ],
        "{t:?}"
    );
    assert!(
        t.stderr
            .trim_end()
            .ends_with("echo: write error: Resource temporarily unavailable"),
        "{}",
        t.stderr
    );
    assert_eq!(t.stderr.lines().count(), 1, "{}", t.stderr);
}

#[test]
fn usb_av_unplug_while_a_pcm_read_and_a_video_read_are_in_progress() {
    if !ready() {
        return;
    }
    let t = bash(
        &["vimc", "usb-av"],
        r#"
set -u
tmp=$(mktemp -d)
V=$(ls /sys/bus/usb/devices/1-1:1.0/video4linux | grep video)
P=$(ls /sys/bus/usb/devices/1-1:1.1/sound/card*/ | grep pcm)
P2=$(ls /sys/bus/usb/devices/2-1:1.1/sound/card*/ | grep pcm)
V2=$(ls /sys/bus/usb/devices/2-1:1.0/video4linux | grep video)
VIMC=$(ls /sys/bus/platform/devices/vimc.0/video4linux | grep video | head -1)
dd if=/dev/$V of=$tmp/v bs=4096 2>$tmp/v.err & VP=$!
dd if=/dev/$P of=$tmp/p bs=256 2>$tmp/p.err & PP=$!
# Both readers are streaming (and so sleeping in read between frames).
until [ -s $tmp/v ] && [ -s $tmp/p ]; do sleep 0.01; done
echo 1 > /sys/bus/usb/devices/1-1/remove; echo "remove rc=$?"
wait $VP; echo "video rc=$?"
wait $PP; echo "pcm rc=$?"
grep -o "error reading '.*': No such device" $tmp/v.err $tmp/p.err | sed 's/.*error reading/error reading/; s/[0-9]//g'
ls /sys/bus/usb/devices | tr '\n' ' '; echo
test -e /dev/$V || echo "$V gone"
# The other device keeps working.
head -c 1024 /dev/$P2 | wc -c
head -c 4096 /dev/$V2 | wc -c
# So does the other driver.
v4l2-ctl -d /dev/$VIMC --info | grep -m1 'Driver name'
echo 1-1 > /sys/kernel/devlife/plug; echo "plug rc=$?"
P=$(ls /sys/bus/usb/devices/1-1:1.1/sound/card*/ | grep pcm)
head -c 1024 /dev/$P | wc -c
rm -r $tmp
"#,
    );
    assert_eq!(t.code, Some(0), "{t:?}");
    let out = lines(&t.stdout);
    assert_eq!(
        out,
        [
            "remove rc=0",
            "video rc=1",
            "pcm rc=1",
            "error reading '/dev/video': No such device",
            "error reading '/dev/pcmCDc': No such device",
            "2-1 2-1:1.0 2-1:1.1 ",
            out[6],
            "1024",
            "4096",
            "\tDriver name      : vimc",
            "plug rc=0",
            "1024",
        ],
        "{t:?}"
    );
    assert!(out[6].ends_with(" gone"), "{t:?}");
    assert!(t.stderr.is_empty(), "{}", t.stderr);
}

#[test]
fn usb_authorized_soft_unplug_and_replug_from_a_shell() {
    if !ready() {
        return;
    }
    let t = bash(
        &["usb-av"],
        r#"
ls /sys/bus/usb/devices | tr '\n' ' '; echo
echo 0 > /sys/bus/usb/devices/2-1/authorized; echo "rc=$?"
cat /sys/bus/usb/devices/2-1/authorized
ls /sys/bus/usb/devices | tr '\n' ' '; echo
ls /dev | grep -c -E '^(video|media|v4l-subdev|pcm)'
echo maybe > /sys/bus/usb/devices/2-1/authorized; echo "rc=$?"
echo 1 > /sys/bus/usb/devices/2-1/authorized; echo "rc=$?"
ls /dev | grep -c -E '^(video|media|v4l-subdev|pcm)'
P=$(ls /sys/bus/usb/devices/2-1:1.1/sound/card*/ | grep pcm)
head -c 512 /dev/$P | wc -c
"#,
    );
    assert_eq!(t.code, Some(0), "{t:?}");
    assert_eq!(
        lines(&t.stdout),
        [
            "1-1 1-1:1.0 1-1:1.1 2-1 2-1:1.0 2-1:1.1 ",
            "rc=0",
            "0",
            "1-1 1-1:1.0 1-1:1.1 2-1 ",
            "4",
            "rc=1",
            "rc=0",
            "8",
            "512",
        ],
        "{t:?}"
    );
    assert!(
        t.stderr
            .trim_end()
            .ends_with("echo: write error: Invalid argument"),
        "{}",
        t.stderr
    );
}
