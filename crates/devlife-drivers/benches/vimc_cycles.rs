//! vimc bind + unbind throughput and memory growth (`scripts/bench`).
//!
//! One thread unbinds and binds the framework vimc in a loop, like
//! `echo vimc.0 > .../unbind; echo vimc.0 > .../bind` repeated: every cycle
//! runs probe (a media graph of 12 entities, 4 video nodes and 7 subdev
//! nodes, the IRQ request) and the seven steps of remove.
//!
//! After `WARM` cycles (allocator pools, registries and id tables reach their
//! steady size) the resident set size is read from `/proc/self/statm`; the
//! loop then runs `DEVLIFE_VIMC_CYCLES` more cycles (default 100,000) and
//! prints the rate and the RSS growth:
//!
//! ```text
//! vimc_cycles_per_s 12345.6
//! vimc_rss_growth_kib 0
//! ```

use devlife_drivers::Style;
use devlife_drivers::vimc;
use devlife_model::Kernel;
use std::time::Instant;

/// Cycles before the RSS baseline is taken.
const WARM: u64 = 10_000;

/// Resident set size in KiB (Linux).
fn rss_kib() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("/proc/self/statm");
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|f| f.parse().ok())
        .expect("statm: resident pages");
    // 4 KiB pages: the page size of the x86-64 and AArch64 Linux hosts this runs on.
    pages * 4
}

fn cycle(v: &vimc::VimcHandle) {
    v.unbind().expect("unbind");
    v.bind().expect("bind");
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument may follow.
    let n: u64 = std::env::var("DEVLIFE_VIMC_CYCLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let k = Kernel::new();
    let v = vimc::register(&k, Style::Framework).expect("vimc registers");
    for _ in 0..WARM {
        cycle(&v);
    }
    let before = rss_kib();
    let t0 = Instant::now();
    for _ in 0..n {
        cycle(&v);
    }
    let secs = t0.elapsed().as_secs_f64();
    let after = rss_kib();
    assert!(
        k.monitor().reports().is_empty(),
        "the checkers reported during the cycles"
    );
    println!("vimc_cycles_per_s {:.1}", n as f64 / secs);
    println!("vimc_rss_growth_kib {}", after.saturating_sub(before));
    eprintln!(
        "vimc: {n} bind+unbind cycles after {WARM} warm-up cycles in {secs:.2} s; RSS {before} KiB -> {after} KiB"
    );
    v.unload().expect("rmmod vimc");
}
