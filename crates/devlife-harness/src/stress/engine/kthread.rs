//! Kernel threads: unbind, bind, hot-unplug, replug, module unload and
//! reload at random, each unplug timed; optional fault injection.

use super::super::stats::{Outcome, ThreadStats};
use super::super::target::KernelOp;
use super::Ctx;
use super::watch::Worker;
use devlife_model::{BlockKind, Errno, FaultPoint};
use rand::Rng;
use rand::rngs::SmallRng;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

const FAULT_POINTS: [FaultPoint; 6] = [
    FaultPoint::Alloc,
    FaultPoint::MinorAlloc,
    FaultPoint::NodeRegister,
    FaultPoint::EntityRegister,
    FaultPoint::IrqRequest,
    FaultPoint::IoRemap,
];

/// Picks an action: only teardowns while every device of the target is
/// bound, mostly restores (bind, replug, reload) otherwise, so that the
/// devices are up most of the time and userspace gets to use them.
fn pick_kernel_op(rng: &mut SmallRng, ops: &[KernelOp], up: bool) -> Option<KernelOp> {
    let weight = |op: KernelOp| match op {
        KernelOp::Unbind => 3,
        KernelOp::Bind => 3,
        KernelOp::HotUnplug => 2,
        KernelOp::Replug => 3,
        KernelOp::Unload => 1,
        KernelOp::Reload => 2,
    };
    let restore = !up && rng.random_bool(0.8);
    let cands: Vec<KernelOp> = ops
        .iter()
        .copied()
        .filter(|o| o.probes() == restore)
        .collect();
    let total: u32 = cands.iter().map(|o| weight(*o)).sum();
    if total == 0 {
        return None;
    }
    let mut r = rng.random_range(0..total);
    for o in cands {
        if r < weight(o) {
            return Some(o);
        }
        r -= weight(o);
    }
    None
}

/// `rmmod` of target `ti`'s module(s): userspace is asked to close the
/// driver's files, and the unload is retried while it says `EBUSY` (at most
/// 20 times, 250 µs apart). New opens keep racing with it. Returns the last
/// attempt's result and wall time.
fn unload(ctx: &Ctx, ti: usize, rng: &mut SmallRng) -> (Result<(), Errno>, Duration) {
    let t = &ctx.instances[ti].1;
    ctx.draining[ti].store(true, Ordering::Release);
    let mut last = (Err(Errno::EBUSY), Duration::ZERO);
    for _ in 0..20 {
        let t0 = Instant::now();
        let r = t.perform(KernelOp::Unload, rng);
        last = (r, t0.elapsed());
        if r != Err(Errno::EBUSY) || ctx.stop.load(Ordering::Acquire) {
            break;
        }
        std::thread::sleep(Duration::from_micros(250));
    }
    ctx.draining[ti].store(false, Ordering::Release);
    last
}

pub(super) fn kernel_thread(ctx: &Ctx, me: &Worker, mut rng: SmallRng) -> ThreadStats {
    let mut st = ThreadStats::default();
    let k = &ctx.kernel;
    while !ctx.stop.load(Ordering::Acquire) {
        // A userspace thread stopped at a stop point comes first.
        if ctx.stop_points && super::windows::serve(ctx, me, &mut rng, &mut st) {
            continue;
        }
        let ti = rng.random_range(0..ctx.instances.len());
        let (name, t) = (&ctx.instances[ti].0, &ctx.instances[ti].1);
        let ops = t.kernel_ops();
        if ops.is_empty() {
            std::thread::sleep(Duration::from_millis(1));
            continue;
        }
        let Some(op) = pick_kernel_op(&mut rng, ops, t.fully_bound()) else {
            std::thread::sleep(Duration::from_millis(1));
            continue;
        };
        if ctx.inject_faults && op.probes() && rng.random_bool(0.5) {
            let p = FAULT_POINTS[rng.random_range(0..FAULT_POINTS.len())];
            k.faults().fail_nth(p, rng.random_range(1..=3));
        }
        // Whether a userspace thread sleeps in a call as the unplug begins
        // (any target: a sleeper on another device still races the model's
        // shared state, and the table does not say which target a node is).
        let sleeper = op.is_unplug()
            && k.activity().blocked().iter().any(|b| {
                b.kind == BlockKind::Wait && b.op != "-" && b.thread.starts_with("stress-user")
            });
        me.begin(op.name(), name);
        let (r, dt) = if op == KernelOp::Unload {
            unload(ctx, ti, &mut rng)
        } else {
            let t0 = Instant::now();
            let r = t.perform(op, &mut rng);
            (r, t0.elapsed())
        };
        me.end();
        st.record(op.name(), Outcome::from(&r));
        if r.is_ok() && op.is_unplug() {
            st.unplug_latency.push(dt);
            *st.unplugs.entry(op.name()).or_default() += 1;
            st.unplugs_with_sleeper += u64::from(sleeper);
            me.unplugs.fetch_add(1, Ordering::Relaxed);
        }
        // Leave the devices up for a moment so userspace gets to use them;
        // now and then for long enough to stream a few frames. (The long
        // pauses were 10% of binds at 20-60 ms: 70% of a kernel thread's
        // time, which held a run to a few hundred unplugs per second.)
        let pause = if op.probes() && r.is_ok() {
            if rng.random_bool(0.05) {
                rng.random_range(10_000..30_000)
            } else {
                rng.random_range(500..3000)
            }
        } else {
            rng.random_range(0..500)
        };
        if ctx.stop_points {
            // A stopped userspace thread waits for a kernel thread: look at
            // the requests while pausing.
            let until = Instant::now() + Duration::from_micros(pause);
            while Instant::now() < until && !ctx.windows.pending() {
                std::thread::sleep(Duration::from_micros(200));
            }
        } else {
            std::thread::sleep(Duration::from_micros(pause));
        }
    }
    k.faults().clear();
    st
}
