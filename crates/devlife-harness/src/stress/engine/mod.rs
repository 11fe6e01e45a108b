//! The stress engine: userspace threads, kernel threads, a coordinator that
//! signals long sleepers and watches for hangs, and the wind-down.
//!
//! One concern per file: [`config`] (settings, seeds, errors, progress),
//! [`watch`] (what each thread is doing, signals, hangs, joins), [`user`]
//! (userspace threads), [`kthread`] (kernel threads), this file (a run:
//! registration, the race, the wind-down and the summary).

mod config;
mod kthread;
mod user;
mod watch;
mod windows;

pub use config::{
    DEFAULT_KERNEL_THREADS, PACING, Progress, StressConfig, StressError, default_user_threads,
    random_seed,
};

use super::stats::{Merged, ThreadStats};
use super::summary::{Hang, Leak, Summary, TimePoint, Unplugs};
use super::target::{Instance, Target, all_targets};
use config::thread_rng;
use devlife_model::{Kernel, KernelConfig};
use kthread::kernel_thread;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use user::user_thread;
use watch::{Worker, join_all, signal_sleepers, watch};

struct Ctx {
    kernel: Kernel,
    /// One per target, with its name.
    instances: Vec<(&'static str, Box<dyn Instance>)>,
    stop: AtomicBool,
    inject_faults: bool,
    ops_per_thread: u64,
    /// Per target: a module unload is waiting for its users to close their
    /// files (userspace closes them; new opens still race with the unload).
    draining: Vec<AtomicBool>,
    /// Stop-point mode: userspace threads stop at seed-picked points and
    /// ask for an unplug there.
    stop_points: bool,
    /// The unplugs asked for by stopped threads.
    windows: windows::Windows,
}

/// Runs a stress test and returns its summary.
pub fn run(cfg: &StressConfig) -> Result<Summary, StressError> {
    run_with_progress(cfg, &mut |_| {})
}

/// Like [`run`], calling `progress` about every 10 ms while the threads race.
pub fn run_with_progress(
    cfg: &StressConfig,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Summary, StressError> {
    if cfg.user_threads == 0 {
        return Err(StressError::NoThreads);
    }
    if let Some(given) = cfg.hang_timeout
        && given < cfg.min_hang_timeout()
    {
        return Err(StressError::HangTimeoutTooShort {
            given,
            min: cfg.min_hang_timeout(),
        });
    }
    let targets = select_targets(&cfg.drivers)?;
    let hang_timeout = cfg.effective_hang_timeout();
    let kernel = Kernel::with_config(KernelConfig {
        name: "stress".to_owned(),
        watchdog: Some(hang_timeout),
        ..KernelConfig::default()
    });
    let mut instances = Vec::new();
    for t in &targets {
        match t.register(&kernel, cfg.style) {
            Ok(i) => {
                i.settle();
                instances.push((t.name(), i));
            }
            Err(errno) => {
                drop(instances);
                kernel.shutdown();
                return Err(StressError::Register {
                    driver: t.name().to_owned(),
                    errno,
                });
            }
        }
    }
    let ctx = Arc::new(Ctx {
        kernel: kernel.clone(),
        instances,
        stop: AtomicBool::new(false),
        inject_faults: cfg.inject_faults,
        ops_per_thread: cfg.ops_per_thread.unwrap_or(u64::MAX),
        draining: targets.iter().map(|_| AtomicBool::new(false)).collect(),
        stop_points: cfg.stop_points && cfg.kernel_threads > 0,
        windows: windows::Windows::default(),
    });
    let t0 = Instant::now();
    let mut users: Vec<(Arc<Worker>, JoinHandle<ThreadStats>)> = Vec::new();
    let mut kthreads: Vec<(Arc<Worker>, JoinHandle<ThreadStats>)> = Vec::new();
    let spawn = |role: u64, i: usize, prefix: &str| -> Result<_, StressError> {
        let w = Worker::new(format!("{prefix}-{i}"));
        let (c, w2) = (ctx.clone(), w.clone());
        let rng = thread_rng(cfg.seed, role, i);
        let seed = cfg.seed;
        let h = std::thread::Builder::new()
            .name(w.name.clone())
            .spawn(move || {
                if role == 0 {
                    user_thread(&c, &w2, rng, thread_rng(seed, 2, i))
                } else {
                    kernel_thread(&c, &w2, rng)
                }
            })
            .map_err(|e| StressError::Spawn(e.to_string()))?;
        Ok((w, h))
    };
    let mut spawn_err = None;
    for i in 0..cfg.user_threads {
        match spawn(0, i, "stress-user") {
            Ok(x) => users.push(x),
            Err(e) => spawn_err = Some(e),
        }
    }
    for i in 0..cfg.kernel_threads {
        match spawn(1, i, "stress-kernel") {
            Ok(x) => kthreads.push(x),
            Err(e) => spawn_err = Some(e),
        }
    }

    let mut hangs: Vec<Hang> = Vec::new();
    let mut seen_hangs: Vec<(String, Instant)> = Vec::new();
    let mut signals = 0u64;
    let workers: Vec<Arc<Worker>> = users
        .iter()
        .chain(kthreads.iter())
        .map(|(w, _)| w.clone())
        .collect();
    let snapshot = |elapsed| Progress {
        elapsed,
        duration: cfg.duration,
        ops: workers.iter().map(|w| w.ops.load(Ordering::Relaxed)).sum(),
        unplugs: workers
            .iter()
            .map(|w| w.unplugs.load(Ordering::Relaxed))
            .sum(),
        reports: kernel.monitor().reports().len(),
    };
    // The race.
    let mut timeline = Vec::new();
    let mut next_point = Duration::ZERO;
    while spawn_err.is_none() {
        let elapsed = t0.elapsed();
        if elapsed >= cfg.duration || users.iter().all(|(_, h)| h.is_finished()) {
            break;
        }
        std::thread::sleep((cfg.duration - elapsed).min(PACING));
        let p = snapshot(t0.elapsed().min(cfg.duration));
        if p.elapsed >= next_point {
            next_point = p.elapsed + Duration::from_millis(100);
            timeline.push(TimePoint {
                t_s: p.elapsed.as_secs_f64(),
                ops: p.ops,
                unplugs: p.unplugs,
            });
        }
        progress(&p);
        signals += signal_sleepers(&kernel, cfg.signal_after);
        watch(&workers, hang_timeout, &mut hangs, &mut seen_hangs);
    }
    ctx.stop.store(true, Ordering::Release);

    // Wind-down 1: the kernel threads finish their current action.
    let mut stats = Merged::default();
    for (w, h) in join_all(kthreads, hang_timeout, &mut hangs, &kernel, false) {
        let _ = w;
        stats.add(h);
    }
    // Wind-down 2: every device goes (framework: every sleeper wakes), while
    // the userspace threads finish their current call.
    let k2 = kernel.clone();
    let shutdown = std::thread::Builder::new()
        .name("stress-shutdown".to_owned())
        .spawn(move || k2.shutdown())
        .ok();
    let deadline = Instant::now() + hang_timeout;
    if let Some(h) = &shutdown {
        while !h.is_finished() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        if !h.is_finished() {
            hangs.push(Hang {
                thread: "stress-shutdown".to_owned(),
                op: "shutdown".to_owned(),
                object: "every device".to_owned(),
                stuck_ms: hang_timeout.as_millis() as u64,
                recovered: false,
            });
        }
    }
    // Every device is gone (or shutdown is stuck): a thread still sleeping in
    // an operation of an unplugged node was not woken by its unplug.
    kernel.check_hangs();
    for (_, h) in join_all(users, hang_timeout, &mut hangs, &kernel, true) {
        stats.add(h);
    }
    // The instances go with the last thread's handle on the context.
    drop(ctx);
    if let Some(h) = shutdown
        && h.is_finished()
    {
        let _ = h.join();
        // Wind-down 3: with every file closed, the modules unload.
        kernel.shutdown();
    }
    let elapsed = t0.elapsed();
    progress(&snapshot(cfg.duration));
    if let Some(e) = spawn_err {
        return Err(e);
    }

    // One kept report per kind and site, with its repeat count.
    let reports = kernel.monitor().reports().all();
    let report_total = kernel.monitor().reports().len();
    let groups = Summary::group_reports(&reports);
    let mut reports_by_kind = std::collections::BTreeMap::new();
    for r in &reports {
        *reports_by_kind
            .entry(r.kind.title().to_owned())
            .or_insert(0usize) += usize::try_from(r.occurrences()).unwrap_or(usize::MAX);
    }
    let leaks: Vec<Leak> = kernel
        .leaks()
        .into_iter()
        .map(|c| Leak {
            type_name: c.type_name.to_owned(),
            live: c.live(),
            created: c.created,
            released: c.released,
        })
        .collect();
    let samples_us = stats
        .unplug_latency
        .iter()
        .map(|d| d.as_secs_f64() * 1e6)
        .collect();
    let unplugs = Unplugs {
        count: stats.unplugs.values().sum(),
        by_kind: std::mem::take(&mut stats.unplugs),
        with_sleeper: stats.unplugs_with_sleeper,
        at_stop_points: stats.unplugs_at_stop_points,
        latency: super::stats::Latency::from_samples(std::mem::take(&mut stats.unplug_latency)),
        samples_us,
    };
    let clean = reports.is_empty() && leaks.is_empty() && hangs.is_empty();
    Ok(Summary {
        seed: cfg.seed,
        style: cfg.style.name(),
        drivers: targets.iter().map(|t| t.name().to_owned()).collect(),
        user_threads: cfg.user_threads,
        kernel_threads: cfg.kernel_threads,
        duration_ms: cfg.duration.as_millis() as u64,
        elapsed_ms: elapsed.as_millis() as u64,
        inject_faults: cfg.inject_faults,
        faults_injected: kernel.faults().injected(),
        signals,
        total_ops: stats.ops.values().map(|o| o.count).sum(),
        ops: stats.ops,
        ioctls: stats.ioctls,
        results: stats.results,
        unplugs,
        timeline,
        report_count: report_total,
        reports_by_kind,
        reports: groups,
        leaks,
        hangs,
        clean,
    })
}

fn select_targets(names: &[String]) -> Result<Vec<Arc<dyn Target>>, StressError> {
    let all = all_targets();
    if names.is_empty() {
        return Ok(all);
    }
    let mut out: Vec<Arc<dyn Target>> = Vec::new();
    for n in names {
        let t = all
            .iter()
            .find(|t| t.name() == n)
            .ok_or_else(|| StressError::UnknownDriver {
                name: n.clone(),
                known: all.iter().map(|t| t.name()).collect::<Vec<_>>().join(", "),
            })?;
        if !out.iter().any(|o| o.name() == t.name()) {
            out.push(t.clone());
        }
    }
    Ok(out)
}
