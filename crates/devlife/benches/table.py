#!/usr/bin/env python3
"""Turns criterion's output of `benches/gate.rs` into the tables of docs/benchmarks.md.

Usage: python3 crates/devlife/benches/table.py [CRITERION_DIR]
(default: $CARGO_TARGET_DIR/criterion, else target/criterion).

Prints each benchmark's point estimate (as criterion prints it) and, for the
enter/exit group, its ratio to the per-thread plain-store floor at the same
thread count. When several runs were saved (`-- --save-baseline runN`), each
benchmark's best (lowest) estimate over the runs is used: on a shared machine
the minimum is the estimate least disturbed by other load.
"""
import json
import os
import sys

ORDER = [
    ("floor", "per-thread plain store + compiler fence + flag check (floor)"),
    ("urcu_memb", "liburcu-memb `urcu_memb_read_lock` + flag check + unlock (C)"),
    ("gate", "**devlife `Gate::enter` + drop**"),
    ("gate_labelled", "devlife `Gate::enter_as` (labelled) + drop"),
    ("revocable", "devlife `Revocable::try_access` + drop"),
    ("devres_bound", "devlife `Devres::access(&Bound)` (inside one access)"),
    ("tls_fence", "per-thread store + `SeqCst` fence (gate without membarrier)"),
    ("epoch_pin", "crossbeam-epoch `pin`"),
    ("shared_counter", "shared `AtomicUsize` + flag (kref / 2017 RFC)"),
    ("sharded_lock", "crossbeam `ShardedLock::read`"),
    ("parking_lot_rwlock", "`parking_lot::RwLock::read`"),
    ("std_rwlock", "`std::sync::RwLock::read`"),
]

UNPLUG = [
    ("idle", "idle gate (nothing in flight)"),
    ("1000_open_files", "1,000 idle open files (1,000 wait queues + 1,000 `Devres`, one revoke)"),
    ("100_sleepers", "100 threads asleep in wait queues inside the gate"),
    ("idle_after_100_threads", "idle gate, 100 more threads registered"),
]


def load(root):
    out = {}
    for dirpath, _dirs, files in os.walk(root):
        if "benchmark.json" not in files or "estimates.json" not in files:
            continue
        if os.path.basename(dirpath) in ("base", "change", "report"):
            continue
        with open(os.path.join(dirpath, "benchmark.json")) as f:
            bench = json.load(f)
        with open(os.path.join(dirpath, "estimates.json")) as f:
            est = json.load(f)
        # The estimate criterion prints: the slope of the linear regression
        # when it sampled linearly, else the mean.
        key = "slope" if est.get("slope") else "mean"
        v = est[key]["point_estimate"]
        fid = bench["full_id"]
        out[fid] = min(v, out.get(fid, v))
    return out


def fmt_ns(ns, unit=False):
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.1f} µs"
    return f"{ns:.2f} ns" if unit else f"{ns:.2f}"


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.environ.get("CARGO_TARGET_DIR", "target"), "criterion")
    res = load(root)
    print("| scheme | 1 thread (ns) | ratio | 2 threads (ns) | ratio |")
    print("|---|---:|---:|---:|---:|")
    floor = {t: res.get(f"enter_exit/floor/{t}") for t in (1, 2)}
    for key, label in ORDER:
        cells = []
        for t in (1, 2):
            v = res.get(f"enter_exit/{key}/{t}")
            if v is None:
                cells += ["–", "–"]
            else:
                cells += [fmt_ns(v), f"{v / floor[t]:.2f}x" if floor[t] else "–"]
        print(f"| {label} | " + " | ".join(cells) + " |")
    print()
    print("| unplug case | time |")
    print("|---|---:|")
    for key, label in UNPLUG:
        v = res.get(f"unplug/{key}")
        print(f"| {label} | {fmt_ns(v, unit=True) if v is not None else '–'} |")


if __name__ == "__main__":
    main()
