//! `devlife run`.

use crate::EXIT_ERROR;
use clap::Args;
use std::path::PathBuf;

/// Options of `devlife run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// Scenario files to run, in order.
    #[arg(value_name = "SCENARIO", required = true)]
    files: Vec<PathBuf>,
}

/// Runs `devlife run`; returns the exit code.
pub fn main(a: RunArgs) -> u8 {
    eprintln!(
        "error: the scenario runner is not part of this build yet ({} file(s) not run)",
        a.files.len()
    );
    EXIT_ERROR
}
