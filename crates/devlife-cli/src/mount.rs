//! `devlife mount DIR`: serve the nodes and the sysfs tree until Ctrl-C or
//! `umount DIR`.

use crate::serve;
use crate::{EXIT_ERROR, EXIT_FOUND, EXIT_USAGE};
use clap::Args;
use clap::builder::PossibleValuesParser;
use devlife_fuse::sys::SysTree;
use devlife_fuse::{Mounted, ServeOptions, ns};
use devlife_harness::stress::target_names;
use std::path::PathBuf;

/// Options of `devlife mount`.
#[derive(Args, Debug)]
pub struct MountArgs {
    /// Where to mount (an existing directory): DIR/dev and DIR/sys appear there.
    #[arg(value_name = "DIR")]
    dir: PathBuf,
    /// Driver to bind (repeatable); default: vimc.
    #[arg(short, long = "driver", value_name = "DRIVER",
          value_parser = PossibleValuesParser::new(target_names()))]
    drivers: Vec<String>,
    /// Bind the drivers' legacy (pre-fix) twins.
    #[arg(long)]
    legacy: bool,
}

/// Runs `devlife mount`; returns the exit code.
pub fn main(a: MountArgs) -> u8 {
    // Before any thread: every thread then leaves these to `wait_termination`.
    ns::block_termination_signals();
    if !a.dir.is_dir() {
        eprintln!("error: {} is not a directory", a.dir.display());
        return EXIT_USAGE;
    }
    let served = match serve::start(&a.drivers, a.legacy) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_ERROR;
        }
    };
    let sys = SysTree::new(served.kernel.clone(), served.instances.clone());
    let opts = ServeOptions {
        on_end: Some(Box::new(ns::wake_termination)),
        ..ServeOptions::default()
    };
    let mut m = match Mounted::mount(&a.dir, served.kernel.clone(), sys, opts) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("error: {e} (devlife mount needs root and /dev/fuse)");
            drop(served);
            return EXIT_ERROR;
        }
    };
    eprintln!(
        "devlife: serving {}/dev and {}/sys; Ctrl-C or `umount {}` to stop",
        a.dir.display(),
        a.dir.display(),
        a.dir.display()
    );
    let sig = ns::wait_termination();
    let r = m.stop();
    drop(m);
    if r.open_files > 0 {
        eprintln!(
            "devlife: {} file(s) were still open (answered ENODEV by the unplug, then ENOTCONN)",
            r.open_files
        );
    }
    let how = if ns::is_wake(sig) {
        "unmounted"
    } else {
        "stopped by a signal"
    };
    eprintln!("devlife: {how}; every device unplugged");
    if serve::finish(served) { EXIT_FOUND } else { 0 }
}
