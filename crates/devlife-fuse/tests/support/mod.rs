//! Support for the tests that run real programs on devlife's nodes:
//! prerequisites (root, /dev/fuse, v4l-utils), the `devlife` binary, and
//! running a shell script under `devlife exec`.
//!
//! Outside CI a missing prerequisite makes a test print why and pass; with
//! `CI` set it fails.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// Whether the machine can run these tests; prints why not (and panics
/// under CI).
pub fn ready() -> bool {
    if which("python3").is_none() {
        eprintln!("note: python3 missing; the Python client tests will fail");
    }
    let mut why = Vec::new();
    let root = std::fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false);
    if !root {
        why.push("not root (mount(2) of FUSE and mount namespaces need it)".to_owned());
    }
    if !Path::new("/dev/fuse").exists() {
        why.push("/dev/fuse is missing".to_owned());
    }
    for tool in ["media-ctl", "v4l2-ctl"] {
        if which(tool).is_none() {
            why.push(format!(
                "{tool} is not installed (apt-get install v4l-utils)"
            ));
        }
    }
    if why.is_empty() {
        return true;
    }
    let msg = format!("skipping: {}", why.join("; "));
    if std::env::var_os("CI").is_some() {
        panic!("{msg} — CI must provide them");
    }
    eprintln!("{msg}");
    false
}

/// The path of `tool` in `PATH`, if any.
pub fn which(tool: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(tool))
            .find(|f| f.is_file())
    })
}

/// The `devlife` binary of this workspace, built (once per test process) if
/// needed: the binary belongs to devlife-cli, which this crate's tests cannot
/// depend on.
pub fn devlife() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let exe = std::env::current_exe().expect("test executable path");
        // target/<profile>/deps/<test> -> target/<profile>/devlife
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("target dir")
            .to_owned();
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.toml");
        let mut cmd = Command::new(cargo);
        cmd.args([
            "build",
            "-q",
            "-p",
            "devlife-cli",
            "--bin",
            "devlife",
            "--manifest-path",
        ])
        .arg(&manifest);
        if profile_dir.file_name().is_some_and(|n| n == "release") {
            cmd.arg("--release");
        }
        let st = cmd
            .status()
            .expect("running cargo build for the devlife binary");
        assert!(st.success(), "building the devlife binary failed");
        let bin = profile_dir.join("devlife");
        assert!(bin.is_file(), "{} missing after the build", bin.display());
        bin
    })
    .clone()
}

/// The release build of the `devlife` binary (`target/release/devlife`),
/// built once per test process if needed (`./scripts/test` builds it before
/// the tests): for the suites that take too long against a debug build.
pub fn devlife_release() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let exe = std::env::current_exe().expect("test executable path");
        // target/<profile>/deps/<test> -> target/release/devlife
        let target = exe
            .parent()
            .and_then(Path::parent)
            .and_then(Path::parent)
            .expect("target dir")
            .to_owned();
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.toml");
        let st = Command::new(cargo)
            .args([
                "build",
                "-q",
                "--release",
                "-p",
                "devlife-cli",
                "--bin",
                "devlife",
            ])
            .arg("--manifest-path")
            .arg(&manifest)
            .status()
            .expect("running cargo build --release for the devlife binary");
        assert!(st.success(), "building the release devlife binary failed");
        let bin = target.join("release").join("devlife");
        assert!(bin.is_file(), "{} missing after the build", bin.display());
        bin
    })
    .clone()
}

/// Runs `BIN exec [--driver D]... -- sh -c SCRIPT` with the given `devlife`
/// binary and returns its transcript.
pub fn exec_script_with(bin: &Path, drivers: &[&str], script: &str) -> Transcript {
    let mut cmd = Command::new(bin);
    cmd.arg("exec");
    for d in drivers {
        cmd.args(["--driver", d]);
    }
    cmd.args(["--", "sh", "-c", script]);
    cmd.output().expect("running devlife exec").into()
}

/// What a command printed and how it ended.
#[derive(Debug)]
pub struct Transcript {
    /// Exit code (`None`: killed by a signal).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl From<Output> for Transcript {
    fn from(o: Output) -> Self {
        Self {
            code: o.status.code(),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

/// Runs `devlife exec [--driver D]... -- sh -c SCRIPT` and returns its transcript.
pub fn exec_script(drivers: &[&str], script: &str) -> Transcript {
    exec_script_with(&devlife(), drivers, script)
}

/// Runs `devlife ARGS...` and returns its transcript.
pub fn devlife_cmd(args: &[&str]) -> Transcript {
    Command::new(devlife())
        .args(args)
        .output()
        .expect("running devlife")
        .into()
}

/// The vimc streaming recipe of the kernel's vimc documentation, with the
/// scaler's source size set too (the kernel's scaler no longer multiplies by
/// three): SBGGR8 640x480 sensors and debayers, BA81 on the raw captures,
/// RGB24 1920x1440 on the RGB/YUV Capture.
pub const VIMC_RECIPE: &str = r#"
media-ctl -d /dev/media0 -V '"Sensor A":0[fmt:SBGGR8_1X8/640x480]' || exit 20
media-ctl -d /dev/media0 -V '"Debayer A":0[fmt:SBGGR8_1X8/640x480]' || exit 21
media-ctl -d /dev/media0 -V '"Sensor B":0[fmt:SBGGR8_1X8/640x480]' || exit 22
media-ctl -d /dev/media0 -V '"Debayer B":0[fmt:SBGGR8_1X8/640x480]' || exit 23
media-ctl -d /dev/media0 -V '"Scaler":1[fmt:RGB888_1X24/1920x1440]' || exit 24
v4l2-ctl -d /dev/video2 -v width=1920,height=1440 || exit 25
v4l2-ctl -d /dev/video0 -v pixelformat=BA81 || exit 26
v4l2-ctl -d /dev/video1 -v pixelformat=BA81 || exit 27
"#;

/// A scratch directory under the system temp dir (visible inside
/// `devlife exec`, which only lays its mounts over /dev and /sys), removed on
/// drop. It holds a copy of the Python client.
pub struct Scratch {
    /// The directory.
    pub dir: PathBuf,
}

impl Scratch {
    /// A new scratch directory for test `name`.
    pub fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("devlife-fuse-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch dir");
        std::fs::write(dir.join("client.py"), include_str!("client.py")).expect("client.py");
        Self { dir }
    }

    /// `dir/name` as a string for scripts.
    pub fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The value after `key ` on the line starting with it.
pub fn field<'a>(out: &'a str, key: &str) -> Option<&'a str> {
    out.lines()
        .find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix(' ')))
}
