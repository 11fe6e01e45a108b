//! `devlife exec -- CMD`: run CMD in a private mount namespace where the
//! model's nodes are `/dev/*` and the sysfs tree is over `/sys/{bus,dev,class,module,devices,kernel}`.

use crate::serve;
use crate::{EXIT_ERROR, EXIT_FOUND};
use clap::Args;
use clap::builder::PossibleValuesParser;
use devlife_fuse::sys::SysTree;
use devlife_fuse::{Mounted, ServeOptions, ns, shim};
use devlife_harness::stress::target_names;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Options of `devlife exec`.
#[derive(Args, Debug)]
pub struct ExecArgs {
    /// Driver to bind (repeatable); default: vimc.
    #[arg(short, long = "driver", value_name = "DRIVER",
          value_parser = PossibleValuesParser::new(target_names()))]
    drivers: Vec<String>,
    /// Bind the drivers' legacy (pre-fix) twins.
    #[arg(long)]
    legacy: bool,
    /// The command and its arguments (after `--`).
    #[arg(last = true, required = true, value_name = "CMD")]
    cmd: Vec<String>,
}

/// The sysfs directories laid over the host's `/sys`.
const SYS_DIRS: [&str; 6] = ["bus", "dev", "class", "module", "devices", "kernel"];

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `devlife exec`; returns the exit code.
pub fn main(a: ExecArgs) -> u8 {
    // Both must happen before any thread starts.
    if let Err(e) = ns::enter_private_mount_namespace() {
        eprintln!("error: {e} (devlife exec needs root)");
        return EXIT_ERROR;
    }
    ns::block_termination_signals();
    let served = match serve::start(&a.drivers, a.legacy) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_ERROR;
        }
    };
    let code = match run(&a, &served) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_ERROR
        }
    };
    let found = serve::finish(served);
    if found { EXIT_FOUND } else { code }
}

fn run(a: &ExecArgs, served: &serve::Served) -> Result<u8, String> {
    let tmp = TempDir(std::env::temp_dir().join(format!("devlife-exec-{}", std::process::id())));
    let mnt = tmp.0.join("mnt");
    std::fs::create_dir_all(&mnt).map_err(|e| format!("creating {}: {e}", mnt.display()))?;
    let host_dev = ns::open_dir(Path::new("/dev")).map_err(|e| format!("opening /dev: {e}"))?;
    let sys = SysTree::new(served.kernel.clone(), served.instances.clone());
    let opts = ServeOptions {
        host_dev: Some(host_dev),
        ..ServeOptions::default()
    };
    let mut m = Mounted::mount(&mnt, served.kernel.clone(), sys, opts)
        .map_err(|e| format!("{e} (devlife exec needs root and /dev/fuse)"))?;
    let host = mnt.join("dev/.host");
    ns::bind(Path::new("/dev"), &host, true).map_err(|e| e.to_string())?;
    m.track_bind(&host);
    m.bind("dev", Path::new("/dev"))
        .map_err(|e| e.to_string())?;
    for d in SYS_DIRS {
        let src = mnt.join("sys").join(d);
        let dst = Path::new("/sys").join(d);
        if src.is_dir() && dst.is_dir() {
            m.bind(&format!("sys/{d}"), &dst)
                .map_err(|e| e.to_string())?;
        }
    }
    let lib = shim::install(&tmp.0).map_err(|e| format!("writing the identity shim: {e}"))?;
    let preload = match std::env::var("LD_PRELOAD") {
        Ok(p) if !p.is_empty() => format!("{} {p}", lib.display()),
        _ => lib.display().to_string(),
    };
    let mut cmd = Command::new(&a.cmd[0]);
    cmd.args(&a.cmd[1..]).env("LD_PRELOAD", preload);
    let status = ns::spawn(&mut cmd)
        .and_then(|mut c| {
            ns::forward_termination(c.id());
            c.wait()
        })
        .map_err(|e| format!("running {}: {e}", a.cmd[0]));
    let r = m.stop();
    drop(m);
    if r.open_files > 0 {
        eprintln!(
            "devlife: {} file(s) were still open at the end (children of the command?)",
            r.open_files
        );
    }
    let status = status?;
    Ok(match status.code() {
        Some(c) => u8::try_from(c).unwrap_or(EXIT_ERROR),
        None => {
            use std::os::unix::process::ExitStatusExt;
            128u8.saturating_add(u8::try_from(status.signal().unwrap_or(0)).unwrap_or(0))
        }
    })
}
