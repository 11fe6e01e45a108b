//! Runs every scenario of the library in `scenarios/` (repository root), in
//! every style it declares. A failure names the file and line of the first
//! failed expectation, followed by the transcript of the failed run.

use devlife_harness::scenario::{RunOptions, parse, run};
use std::path::{Path, PathBuf};

fn library() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios")
}

fn files() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(library())
        .expect("scenarios/ exists")
        .map(|e| e.expect("readable directory").path())
        .filter(|p| p.extension().is_some_and(|e| e == "scn"))
        .collect();
    v.sort();
    v
}

#[test]
fn every_scenario_of_the_library_passes() {
    let files = files();
    assert!(!files.is_empty(), "no .scn file in {}", library().display());
    let mut failures = Vec::new();
    for f in &files {
        let sc = match parse(f) {
            Ok(sc) => sc,
            Err(e) => {
                failures.push(format!("{e}"));
                continue;
            }
        };
        match run(&sc, &RunOptions::default()) {
            // Shown with `cargo test -- --nocapture`.
            Ok(out) => println!("{out}"),
            Err(e) => failures.push(e.report()),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} scenario files failed:\n\n{}",
        failures.len(),
        files.len(),
        failures.join("\n\n")
    );
}

/// Every mutant of `devlife_drivers::mutants` has a scenario in
/// `scenarios/mutants/` that names its driver, and every one of them passes:
/// each expects its checker's report, so a checker that cannot fire fails here.
#[test]
fn every_mutant_is_caught() {
    use devlife_drivers::mutants::Mutation;
    let dir = library().join("mutants");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("scenarios/mutants/ exists")
        .map(|e| e.expect("readable directory").path())
        .filter(|p| p.extension().is_some_and(|e| e == "scn"))
        .collect();
    files.sort();
    let mut covered = Vec::new();
    let mut failures = Vec::new();
    for f in &files {
        let sc = match parse(f) {
            Ok(sc) => sc,
            Err(e) => {
                failures.push(format!("{e}"));
                continue;
            }
        };
        covered.push(sc.driver.clone());
        if let Err(e) = run(&sc, &RunOptions::default()) {
            failures.push(e.report());
        }
    }
    for m in Mutation::ALL {
        assert!(
            covered.iter().any(|d| d == m.driver_name()),
            "no scenario in {} uses `driver {}`",
            dir.display(),
            m.driver_name()
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
