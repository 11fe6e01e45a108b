//! Multi-threaded stress: user threads open/read/write/ioctl/poll/mmap/close
//! at random while a kernel thread unbinds, binds, hot-unplugs, replugs and
//! unloads the module, and an interrupt thread fires the devices' IRQs; all
//! checkers on. The framework style must end with no report and no leak;
//! the legacy style must make the checkers fire.
//!
//! Bounded by operation counts, not time; reproducible per seed as far as
//! thread scheduling allows.

mod common;

use common::*;
use devlife_model::devlife::check::ReportKind;
use devlife_model::testdrv::{self, Style, TestDriver};
use devlife_model::{Errno, File, KResult, Kernel, KernelConfig, MmapRequest, OpenFlags, PollMask};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

const DEVICES: u32 = 3;
const USERS: usize = 4;
const USER_OPS: usize = 150;
const KERNEL_OPS: usize = 80;

/// Results a user call may legitimately see while devices come and go.
fn allowed(e: Errno) -> bool {
    matches!(
        e,
        Errno::ENODEV | Errno::EAGAIN | Errno::ENOENT | Errno::ENXIO
    )
}

fn check<T>(what: &str, r: KResult<T>, stats: &mut BTreeMap<String, u64>) -> Option<T> {
    match r {
        Ok(v) => {
            *stats.entry(format!("{what}:ok")).or_default() += 1;
            Some(v)
        }
        Err(e) => {
            assert!(allowed(e), "{what} returned {e:?}");
            *stats.entry(format!("{what}:{e}")).or_default() += 1;
            None
        }
    }
}

fn user_op(
    f: &File,
    rng: &mut SmallRng,
    keep: &mut Vec<devlife_model::Mapping>,
    s: &mut BTreeMap<String, u64>,
) {
    match rng.random_range(0..10) {
        0 => {
            check("read", f.read(&mut [0; 16]), s);
        }
        1 => {
            check("write", f.write(&[1; 8]), s);
        }
        2 => {
            check("ping", f.ioctl(testdrv::IOC_PING, &mut []), s);
        }
        3 => {
            let n: u32 = rng.random_range(1..4);
            check("hwop", f.ioctl(testdrv::IOC_HWOP, &mut n.to_le_bytes()), s);
        }
        4 => {
            check("trigger", f.ioctl(testdrv::IOC_TRIGGER, &mut []), s);
        }
        5 => {
            let t = if rng.random_bool(0.5) {
                Some(Duration::ZERO)
            } else {
                None
            };
            if let Some(m) = check("poll", f.poll(PollMask::IN, t), s) {
                assert!(!m.contains(PollMask::NVAL));
            }
        }
        6 => {
            let r = f.mmap(MmapRequest {
                offset: 0,
                len: 256,
                write: true,
            });
            if let Some(m) = check("mmap", r, s) {
                m.write(0, &[7; 8]).unwrap();
                keep.push(m);
            }
        }
        7 => {
            // Touch (and sometimes drop) mappings kept from earlier files.
            if let Some(m) = keep.pop() {
                let mut b = [0u8; 8];
                m.read(0, &mut b).unwrap();
                if rng.random_bool(0.5) {
                    keep.push(m);
                }
            }
        }
        8 => {
            let mut st = [0u8; 16];
            check("stats", f.ioctl(testdrv::IOC_STATS, &mut st), s);
        }
        _ => {
            let n: u32 = rng.random_range(1..3);
            check("wait", f.ioctl(testdrv::IOC_WAIT, &mut n.to_le_bytes()), s);
        }
    }
}

fn user(
    k: Kernel,
    seed: u64,
    stop: Arc<AtomicBool>,
    progress: Arc<AtomicU64>,
) -> BTreeMap<String, u64> {
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut stats = BTreeMap::new();
    let mut keep = Vec::new();
    let mut done = 0;
    // Only successful opens count toward the quota: the users keep working
    // until they did real work, or the test stops them.
    while done < USER_OPS && !stop.load(Ordering::Acquire) {
        let name = format!("testdrv{}", rng.random_range(0..DEVICES));
        let flags = if rng.random_bool(0.7) {
            OpenFlags::RDWR.nonblocking()
        } else {
            OpenFlags::RDWR
        };
        let Some(f) = check("open", k.open(&name, flags), &mut stats) else {
            std::thread::yield_now();
            continue;
        };
        done += 1;
        progress.fetch_add(1, Ordering::AcqRel);
        let g = rng.random_bool(0.2).then(|| f.dup());
        for _ in 0..rng.random_range(1..6) {
            user_op(&f, &mut rng, &mut keep, &mut stats);
        }
        drop(f);
        if let Some(g) = g {
            user_op(&g, &mut rng, &mut keep, &mut stats);
        }
        if keep.len() > 4 {
            keep.remove(0);
        }
    }
    stats
}

/// Waits (yielding) until the users made `step` more successful opens, so
/// that kernel operations interleave with real user work. Gives up after a
/// bounded number of yields (liveness only, no timing assumption).
fn pace(progress: &AtomicU64, last: &mut u64, step: u64) {
    for _ in 0..20_000 {
        if progress.load(Ordering::Acquire) >= *last + step {
            break;
        }
        std::thread::yield_now();
    }
    *last = progress.load(Ordering::Acquire);
}

fn kernel_side(
    k: Kernel,
    style: Style,
    seed: u64,
    progress: Arc<AtomicU64>,
) -> BTreeMap<String, u64> {
    let mut last = 0;
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut stats = BTreeMap::new();
    let drv = testdrv::driver_name(style);
    let module = testdrv::module_name(style);
    let kok = |e: Errno| {
        matches!(
            e,
            Errno::ENODEV | Errno::EBUSY | Errno::EEXIST | Errno::ENOENT
        )
    };
    for _ in 0..KERNEL_OPS {
        pace(&progress, &mut last, 2);
        let n = rng.random_range(0..DEVICES);
        let dev = format!("devlife-testdrv.{n}");
        // Keep at least one device bound so the users have work; otherwise
        // pick any action.
        let bound = k.devices().iter().filter(|d| d.is_bound()).count();
        let action = if bound == 0 {
            match k.device(&dev) {
                Some(_) => 1,
                None => 3,
            }
        } else {
            rng.random_range(0..7)
        };
        let (what, r): (&str, KResult<()>) = match action {
            0 => ("unbind", k.sysfs_unbind(drv, &dev)),
            1 | 5 => ("bind", k.sysfs_bind(drv, &dev)),
            2 => (
                "hot-unplug",
                match k.device(&dev) {
                    Some(d) => k.hot_unplug(&d),
                    None => Err(Errno::ENODEV),
                },
            ),
            3 | 6 => ("replug", testdrv::add_test_device(&k, n).map(|_| ())),
            _ => {
                let r = k.unload_module(module);
                if r.is_ok() {
                    let m = k.load_module(module).unwrap();
                    k.register_driver(TestDriver { style }, Some(&m)).unwrap();
                }
                ("rmmod", r)
            }
        };
        match r {
            Ok(()) => *stats.entry(format!("{what}:ok")).or_default() += 1,
            Err(e) => {
                assert!(kok(e), "{what} returned {e:?}");
                *stats.entry(format!("{what}:{e}")).or_default() += 1;
            }
        }
    }
    stats
}

fn irqs(k: Kernel, stop: Arc<AtomicBool>, progress: Arc<AtomicU64>) -> u64 {
    let mut n = 0;
    let mut last = 0;
    while !stop.load(Ordering::Acquire) {
        // One round of interrupts per unit of user progress.
        let p = progress.load(Ordering::Acquire);
        if p == last {
            std::thread::yield_now();
            continue;
        }
        last = p;
        for d in k.devices() {
            let hw = d.hardware();
            hw.poke(
                testdrv::REG_COUNT,
                hw.peek(testdrv::REG_COUNT).wrapping_add(1),
            );
            hw.poke(testdrv::REG_STATUS, testdrv::STATUS_READY);
            hw.raise_irq();
            n += 1;
        }
        std::thread::yield_now();
    }
    n
}

fn run(style: Style, seed: u64) -> Kernel {
    let k = Kernel::with_config(KernelConfig {
        name: format!("stress-{style:?}"),
        hw_latency: Duration::from_micros(20),
        ..Default::default()
    });
    let t = testdrv::setup(&k, style).unwrap();
    for n in 1..DEVICES {
        t.add_device(n).unwrap();
    }
    drop(t);
    let stop = Arc::new(AtomicBool::new(false));
    let progress = Arc::new(AtomicU64::new(0));
    let users: Vec<_> = (0..USERS)
        .map(|i| {
            let (k, s, p) = (k.clone(), stop.clone(), progress.clone());
            spawn(&format!("user{i}"), move || user(k, seed + i as u64, s, p))
        })
        .collect();
    let irq = {
        let (k, s, p) = (k.clone(), stop.clone(), progress.clone());
        spawn("hw", move || irqs(k, s, p))
    };
    let t0 = std::time::Instant::now();
    let kst = {
        let k = k.clone();
        let p = progress.clone();
        spawn("kernel", move || kernel_side(k, style, seed ^ 0x5eed, p))
    }
    .join()
    .unwrap();
    // Let the users finish their quota against bound devices, then tear down:
    // shutdown unplugs everything, which wakes every sleeper.
    let t_kernel = t0.elapsed();
    let mut ust = BTreeMap::new();
    k.shutdown();
    stop.store(true, Ordering::Release);
    k.shutdown();
    for u in users {
        for (key, v) in u.join().unwrap() {
            *ust.entry(key).or_insert(0u64) += v;
        }
    }
    let nirq = irq.join().unwrap();
    if std::env::var_os("DEVLIFE_STRESS_VERBOSE").is_some() {
        eprintln!("{style:?} seed {seed}: kernel {kst:?}\nusers {ust:?}\nirqs {nirq}");
        eprintln!("kernel side {t_kernel:?}, total {:?}", t0.elapsed());
        eprintln!(
            "reports: {:?}",
            k.monitor()
                .reports()
                .all()
                .iter()
                .map(|r| r.kind)
                .collect::<Vec<_>>()
                .len()
        );
    }
    k.shutdown();
    assert!(nirq > 0);
    assert!(ust.keys().any(|k| k.ends_with(":ok")), "{ust:?}");
    assert!(kst.values().sum::<u64>() == KERNEL_OPS as u64, "{kst:?}");
    k
}

#[test]
fn framework_stress_is_silent_and_leak_free() {
    for seed in [1, 2] {
        let k = run(Style::Framework, seed);
        assert_silent(&k);
        let leaks = k.leaks();
        assert!(leaks.is_empty(), "seed {seed}: leaks {leaks:?}");
    }
}

#[test]
fn legacy_stress_fires_the_checkers() {
    let k = run(Style::Legacy, 3);
    // Whatever the interleaving, files were open across unbinds and their
    // release used the freed state.
    let r = k.monitor().reports();
    assert!(
        r.count(ReportKind::UseAfterFree) > 0,
        "no use-after-free reported"
    );
    // No leak either: the legacy bugs are use-after-free, not lost memory.
    assert!(k.leaks().is_empty(), "{:?}", k.leaks());
}
