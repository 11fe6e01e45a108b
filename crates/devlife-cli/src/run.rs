//! `devlife run`: scenario files, each played deterministically step by step
//! in every style it names (the scenario runner of `devlife-harness`).

use crate::args::parse_duration;
use crate::{EXIT_ERROR, EXIT_FOUND, EXIT_USAGE};
use clap::Args;
use devlife_harness::scenario::{self, ParseErrorKind, RunOptions, ScenarioError};
use devlife_harness::stress::Style;
use std::path::PathBuf;
use std::time::Duration;

/// Options of `devlife run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// Scenario files to run, in order.
    #[arg(value_name = "SCENARIO", required = true)]
    files: Vec<PathBuf>,
    /// Run only this style, `framework` or `legacy` (default: every style
    /// the scenario names).
    #[arg(long, value_name = "STYLE")]
    style: Option<Style>,
    /// Override every scenario's timeout (the hang guard of each wait).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    timeout: Option<Duration>,
    /// Print every step to stderr as it completes.
    #[arg(long)]
    trace: bool,
    /// Print the results as JSON on stdout.
    #[arg(long)]
    json: bool,
}

/// Runs `devlife run`; returns the exit code: 0 when every scenario passed,
/// 1 when one failed (an expectation, a hang), 2 when one does not parse, 3
/// when one cannot be read (the worst of them when there are several).
pub fn main(a: RunArgs) -> u8 {
    let opts = RunOptions {
        timeout: a.timeout,
        style: a.style,
        trace: a.trace,
        leaks: false,
    };
    let mut code = 0u8;
    let mut passed = 0usize;
    let mut results = Vec::new();
    for f in &a.files {
        let r = scenario::parse_and_run(f, &opts);
        let (status, c) = match &r {
            Ok(_) => ("pass", 0),
            Err(ScenarioError::Run(_)) => ("fail", EXIT_FOUND),
            // A file that cannot be read is not a bad scenario: it could not run.
            Err(ScenarioError::Parse(p)) if matches!(p.kind, ParseErrorKind::Io(_)) => {
                ("error", EXIT_ERROR)
            }
            Err(ScenarioError::Parse(_)) => ("error", EXIT_USAGE),
        };
        code = code.max(c);
        passed += usize::from(c == 0);
        if a.json {
            let mut v = serde_json::json!({ "file": f.display().to_string(), "status": status });
            match &r {
                Ok(o) => v["outcome"] = serde_json::to_value(o).unwrap_or_default(),
                Err(ScenarioError::Run(e)) => {
                    v["error"] = serde_json::Value::String(e.to_string());
                    v["run"] = serde_json::to_value(e).unwrap_or_default();
                }
                Err(e) => v["error"] = serde_json::Value::String(e.to_string()),
            }
            results.push(v);
            continue;
        }
        match r {
            Ok(o) => crate::out(o.to_string()),
            Err(ScenarioError::Run(e)) => {
                crate::outln(format!("{}: FAIL", f.display()));
                eprintln!("{}", e.report());
            }
            Err(e) => eprintln!("error: {e}"),
        }
    }
    if a.json {
        match serde_json::to_string_pretty(&results) {
            Ok(j) => crate::outln(j),
            Err(e) => {
                eprintln!("error: {e}");
                return EXIT_ERROR;
            }
        }
    } else if a.files.len() > 1 {
        crate::outln(format!("{passed} of {} scenario(s) passed", a.files.len()));
    }
    code
}
