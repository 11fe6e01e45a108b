//! The `devlife` command.
//!
//! * `devlife stress`: racing userspace calls against unbind, hot-unplug and
//!   module unload on every driver, with every checker on; a summary table
//!   (or `--json`) at the end.
//! * `devlife topology <driver>`: the media graph of a freshly bound
//!   instance, as `media-ctl -p` (or `--dot`: `media-ctl --print-dot`).
//! * `devlife run <scenario>...`: scenario files, step by step.
//! * `devlife mount DIR`: the drivers' nodes as files in `DIR/dev` and a
//!   sysfs tree in `DIR/sys` (FUSE), until Ctrl-C or `umount DIR`.
//! * `devlife exec -- CMD`: CMD in a private mount namespace where the nodes
//!   are `/dev/*` and the sysfs tree is over `/sys`.
//! * `devlife list`: the drivers `stress` and `topology` know.
//!
//! Exit codes: 0 success; 1 the run found a problem (a checker report, leak
//! or hang in the framework style, a failed scenario) or, for
//! `stress --legacy`, no checker fired on the pre-fix drivers; 2 bad usage
//! (clap's errors, an unknown driver, an unparsable scenario); 3 the command
//! could not run (a scenario file that cannot be read, a model that failed).

#![forbid(unsafe_code)]

mod args;
mod exec;
mod explore;
mod mount;
mod plot;
mod run;
mod serve;
mod stress;
mod topology;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Exit code: the run found a problem.
pub const EXIT_FOUND: u8 = 1;
/// Exit code: bad usage.
pub const EXIT_USAGE: u8 = 2;
/// Exit code: the command could not run.
pub const EXIT_ERROR: u8 = 3;

#[derive(Parser, Debug)]
#[command(
    name = "devlife",
    version,
    about = "Device-object lifetimes in user space: stress drivers, replay races, print media graphs",
    after_help = "Exit codes: 0 success; 1 a problem was found (checker report, leak or hang in \
                  the framework style, failed scenario) or, with stress --legacy, no checker fired; \
                  2 bad usage; 3 the command could not run (e.g. a missing scenario file)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Hammer the drivers with racing userspace calls and unbinds, and report.
    Stress(stress::StressArgs),
    /// Print a driver's media graph as `media-ctl -p` (or `--print-dot`).
    Topology(topology::TopologyArgs),
    /// Run scenario files (a race written step by step) deterministically.
    Run(run::RunArgs),
    /// Run one userspace call racing one unplug once per stop point it passes.
    Explore(explore::ExploreArgs),
    /// Serve the drivers' nodes (DIR/dev) and a sysfs tree (DIR/sys) through FUSE.
    Mount(mount::MountArgs),
    /// Run a command where the drivers' nodes are /dev/* and the sysfs tree is /sys.
    Exec(exec::ExecArgs),
    /// List the drivers known to `stress` and `topology`.
    List,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Stress(a) => stress::main(a),
        Command::Topology(a) => topology::main(a),
        Command::Run(a) => run::main(a),
        Command::Explore(a) => explore::main(a),
        Command::Mount(a) => mount::main(a),
        Command::Exec(a) => exec::main(a),
        Command::List => {
            for t in devlife_harness::stress::all_targets() {
                crate::outln(format!("{:<10} {}", t.name(), t.description()));
            }
            0
        }
    };
    ExitCode::from(code)
}

/// Writes `s` to stdout. A closed pipe (`devlife stress | head`) is not an
/// error worth a panic: the output is simply cut.
pub fn out(s: impl AsRef<str>) {
    use std::io::Write as _;
    let _ = std::io::stdout().lock().write_all(s.as_ref().as_bytes());
}

/// [`out`] and a newline.
pub fn outln(s: impl AsRef<str>) {
    out(format!("{}\n", s.as_ref()));
}
