//! `devlife stress`.

use crate::args::{parse_duration, parse_seed};
use crate::{EXIT_ERROR, EXIT_FOUND, EXIT_USAGE};
use clap::Args;
use clap::builder::PossibleValuesParser;
use devlife_harness::stress::{self, Progress, StressConfig, StressError, Style, target_names};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::time::Duration;

/// Options of `devlife stress`.
#[derive(Args, Debug)]
pub struct StressArgs {
    /// Driver to stress (repeatable); default: every driver.
    #[arg(short, long = "driver", value_name = "DRIVER",
          value_parser = PossibleValuesParser::new(target_names()))]
    drivers: Vec<String>,
    /// Userspace threads (open/ioctl/read/poll/mmap/close); default: 8 per CPU, at least 4.
    #[arg(short, long, value_name = "N",
          value_parser = clap::value_parser!(u16).range(1..=512))]
    threads: Option<u16>,
    /// Kernel threads (unbind/bind/hot-unplug/replug/module unload and reload); 0: none.
    #[arg(long, value_name = "N", default_value_t = stress::DEFAULT_KERNEL_THREADS as u16,
          value_parser = clap::value_parser!(u16).range(0..=64))]
    kernel_threads: u16,
    /// How long the threads race: 10, 10s, 500ms, 2m.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    duration: Duration,
    /// Seed of the per-thread random generators (decimal or 0x-hex); default: random, printed.
    #[arg(long, value_name = "SEED", value_parser = parse_seed)]
    seed: Option<u64>,
    /// Use the drivers' legacy (pre-fix) twins: the checkers then report.
    /// Exit 0 when a checker fired, 1 when none did.
    #[arg(long)]
    legacy: bool,
    /// Make fallible probe and registration steps fail at random.
    #[arg(long)]
    inject_faults: bool,
    /// A thread in one call for longer than this is a hang (default: the duration, at least 5s).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    hang_timeout: Option<Duration>,
    /// Send a signal (EINTR) to a userspace thread sleeping in one call longer than this.
    #[arg(long, value_name = "DURATION", default_value = "20ms", value_parser = parse_duration)]
    signal_after: Duration,
    /// Stop each userspace thread after N calls (with --kernel-threads 0, a
    /// thread's calls are then a pure function of the seed).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    ops_per_thread: Option<u64>,
    /// Stop-point mode: userspace threads stop at stop points picked from
    /// the seed (`open:entered`, `ioctl:entered`, `release:begin`, ...) and
    /// a kernel thread unplugs their device right there; `--seed` replays the
    /// choices.
    #[arg(long)]
    stop_points: bool,
    /// Print the summary as JSON on stdout (nothing else is printed there).
    #[arg(long)]
    json: bool,
    /// Also draw the unplug-latency histogram and the call and unplug rates
    /// over time into this SVG file.
    #[arg(long, value_name = "FILE.svg")]
    plot: Option<std::path::PathBuf>,
}

/// Runs `devlife stress`; returns the exit code.
pub fn main(a: StressArgs) -> u8 {
    let seed = a.seed.unwrap_or_else(stress::random_seed);
    let style = if a.legacy {
        Style::Legacy
    } else {
        Style::Framework
    };
    let cfg = StressConfig {
        drivers: a.drivers,
        style,
        user_threads: a
            .threads
            .map_or_else(stress::default_user_threads, usize::from),
        kernel_threads: usize::from(a.kernel_threads),
        duration: a.duration,
        seed,
        inject_faults: a.inject_faults,
        hang_timeout: a.hang_timeout,
        signal_after: a.signal_after,
        ops_per_thread: a.ops_per_thread,
        stop_points: a.stop_points,
    };
    if !a.json {
        eprintln!(
            "devlife stress: seed {seed} (replay with --seed {seed}), {:.1} s, {} style",
            cfg.duration.as_secs_f64(),
            cfg.style
        );
    }
    let bar = (!a.json && std::io::stderr().is_terminal()).then(|| {
        let b = ProgressBar::new(cfg.duration.as_millis() as u64);
        b.set_style(
            ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:40} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        b
    });
    let mut on_progress = |p: &Progress| {
        if let Some(b) = &bar {
            b.set_position(p.elapsed.as_millis() as u64);
            b.set_message(format!(
                "{} calls, {} unplugs, {} reports",
                stress::thousands(p.ops),
                stress::thousands(p.unplugs),
                p.reports
            ));
        }
    };
    let r = stress::run_with_progress(&cfg, &mut on_progress);
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let s = match r {
        Ok(s) => s,
        Err(
            e @ (StressError::UnknownDriver { .. }
            | StressError::NoThreads
            | StressError::HangTimeoutTooShort { .. }),
        ) => {
            eprintln!("error: {e}");
            return EXIT_USAGE;
        }
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_ERROR;
        }
    };
    if let Some(path) = &a.plot
        && let Err(e) = crate::plot::stress_svg(path, &s)
    {
        eprintln!("error: cannot draw {}: {e:#}", path.display());
        return EXIT_ERROR;
    }
    if a.json {
        match serde_json::to_string_pretty(&s) {
            Ok(j) => crate::outln(j),
            Err(e) => {
                eprintln!("error: {e}");
                return EXIT_ERROR;
            }
        }
    } else {
        crate::out(s.table());
        let details = s.details();
        if !details.is_empty() {
            crate::out(String::from("\n"));
            crate::out(details);
        }
        crate::out(String::from("\n"));
        crate::outln(verdict(&s, a.legacy));
    }
    exit_code(&s, a.legacy)
}

/// The exit code of a finished run. Framework: 0 when clean, 1 when a
/// checker, the leak check or the hang watch found something. `--legacy`:
/// the run is a test of the checkers, so 0 when at least one checker fired
/// on the pre-fix drivers, 1 when none did (the run showed nothing).
fn exit_code(s: &stress::Summary, legacy: bool) -> u8 {
    let expected = if legacy { s.checkers_fired() } else { s.clean };
    if expected { 0 } else { EXIT_FOUND }
}

fn verdict(s: &stress::Summary, legacy: bool) -> String {
    match (legacy, s.clean) {
        (false, true) => "result: PASS (no checker report, no leak, no hang)".to_owned(),
        (false, false) => format!(
            "result: FAIL ({} checker report(s), {} leaked type(s), {} hang(s))",
            s.report_count,
            s.leaks.len(),
            s.hangs.len()
        ),
        (true, _) if s.checkers_fired() => format!(
            "result: the checkers caught the legacy drivers' bugs ({} report(s))",
            s.report_count
        ),
        (true, _) => "result: no checker fired on the legacy drivers in this run \
                      (try a longer --duration)"
            .to_owned(),
    }
}
