//! `devlife explore`: one userspace call racing one unplug, run once per
//! stop point the call passes with the unplug exactly there
//! (`devlife_harness::scenario::explore`); prints the table stop point →
//! what userspace got, checker reports.

use crate::args::parse_duration;
use crate::{EXIT_ERROR, EXIT_FOUND, EXIT_USAGE};
use clap::{Args, ValueEnum};
use devlife_harness::scenario::explore::{self, ExploreError, ExploreOptions, ExploreRow};
use devlife_harness::scenario::{self, ParseErrorKind};
use devlife_harness::stress::Style;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Which styles to explore.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum StyleArg {
    /// The framework-style drivers.
    Framework,
    /// The legacy twins.
    Legacy,
}

/// Options of `devlife explore`.
#[derive(Args, Debug)]
pub struct ExploreArgs {
    /// Scenario files, each with one userspace call right before its one
    /// unplug step (`unbind`, `hot-unplug` or `unload`).
    #[arg(value_name = "SCENARIO", required_unless_present = "driver")]
    files: Vec<PathBuf>,
    /// Explore every file-operation kind (open, ioctl, read, poll, mmap,
    /// close) of one node of each kind of this driver, racing an unbind.
    #[arg(long, value_name = "DRIVER", conflicts_with = "files")]
    driver: Option<String>,
    /// Only this style (default: every style of the scenario).
    #[arg(long, value_enum)]
    style: Option<StyleArg>,
    /// Override the timeout (the hang guard of each wait).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    timeout: Option<Duration>,
    /// Print the rows as JSON: `[{point, style, call, result, reports}]`.
    #[arg(long)]
    json: bool,
}

/// Runs `devlife explore`; returns the exit code: 0 when every framework
/// cell is clean, 1 when one is not, 2 for a scenario that does not parse or
/// cannot be explored, 3 for a file that cannot be read.
pub fn main(a: ExploreArgs) -> u8 {
    let opts = ExploreOptions {
        style: a.style.map(|s| match s {
            StyleArg::Framework => Style::Framework,
            StyleArg::Legacy => Style::Legacy,
        }),
        timeout: a.timeout,
    };
    let t0 = Instant::now();
    let mut rows: Vec<ExploreRow> = Vec::new();
    let mut code = 0u8;
    let mut report = |r: Result<Vec<ExploreRow>, ExploreError>, code: &mut u8| match r {
        Ok(v) => rows.extend(v),
        Err(e) => {
            eprintln!("error: {e}");
            *code = (*code).max(match &e {
                ExploreError::Parse(p) if matches!(p.kind, ParseErrorKind::Io(_)) => EXIT_ERROR,
                ExploreError::Record { .. } => EXIT_FOUND,
                _ => EXIT_USAGE,
            });
        }
    };
    if let Some(d) = &a.driver {
        report(explore::explore_driver(d, &opts), &mut code);
    }
    for f in &a.files {
        match scenario::parse(f) {
            Ok(sc) => report(explore::explore(&sc, &opts), &mut code),
            Err(e) => report(Err(e.into()), &mut code),
        }
    }
    let dirty = rows.iter().any(|r| r.style == "framework" && !r.clean());
    if dirty {
        code = code.max(EXIT_FOUND);
    }
    if a.json {
        match serde_json::to_string_pretty(&rows) {
            Ok(j) => crate::outln(j),
            Err(e) => {
                eprintln!("error: {e}");
                return EXIT_ERROR;
            }
        }
    } else {
        crate::out(explore::table(&rows));
        let windows = rows.iter().filter(|r| !r.clean()).count();
        crate::outln(format!(
            "{} runs in {:.1} s; {} cell(s) with a report ({} in the framework style)",
            rows.len(),
            t0.elapsed().as_secs_f64(),
            windows,
            rows.iter()
                .filter(|r| r.style == "framework" && !r.clean())
                .count()
        ));
    }
    code
}
