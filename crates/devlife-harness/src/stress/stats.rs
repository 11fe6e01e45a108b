//! Per-thread counters of a stress run, merged into the summary at the end.

use devlife_model::Errno;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

/// What one call returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Outcome {
    /// The call succeeded (any non-negative result).
    Ok,
    /// The call failed with this errno.
    Err(Errno),
    /// `poll` reported `ERR`/`HUP` (the node went away).
    PollHup,
}

impl Outcome {
    pub(crate) fn name(self) -> String {
        match self {
            Outcome::Ok => "OK".to_owned(),
            Outcome::Err(e) => errno_name(e),
            Outcome::PollHup => "POLLHUP".to_owned(),
        }
    }
}

/// The errno's name, including the few the model's table does not name
/// (ALSA's `EBADFD` after a disconnect, `ENOLINK` from pipeline checks).
pub(crate) fn errno_name(e: Errno) -> String {
    match e.raw() {
        67 => "ENOLINK".to_owned(),
        77 => "EBADFD".to_owned(),
        86 => "ESTRPIPE".to_owned(),
        _ => crate::scenario::errno_name(e),
    }
}

impl<T> From<&Result<T, Errno>> for Outcome {
    fn from(r: &Result<T, Errno>) -> Self {
        match r {
            Ok(_) => Outcome::Ok,
            Err(e) => Outcome::Err(*e),
        }
    }
}

#[derive(Default, Debug)]
struct Local {
    count: u64,
    results: HashMap<Outcome, u64>,
}

/// Counters of one thread.
#[derive(Default, Debug)]
pub(crate) struct ThreadStats {
    ops: HashMap<&'static str, Local>,
    ioctls: HashMap<&'static str, Local>,
    /// Wall time of every successful unplug (unbind, hot-unplug, unload).
    pub(crate) unplug_latency: Vec<Duration>,
    /// Successful unplugs by kind.
    pub(crate) unplugs: HashMap<&'static str, u64>,
    /// Successful unplugs that began while a userspace thread slept in a call.
    pub(crate) unplugs_with_sleeper: u64,
    /// Unplugs run while a userspace thread was stopped at a stop point.
    pub(crate) unplugs_at_stop_points: u64,
}

impl ThreadStats {
    /// Counts one call of operation kind `op`.
    pub(crate) fn record(&mut self, op: &'static str, o: Outcome) {
        let l = self.ops.entry(op).or_default();
        l.count += 1;
        *l.results.entry(o).or_default() += 1;
    }

    /// Counts one ioctl by name (in addition to the `ioctl` kind).
    pub(crate) fn record_ioctl(&mut self, name: &'static str, o: Outcome) {
        self.record("ioctl", o);
        self.record_ioctl_name(name, o);
    }

    /// Counts one ioctl by name only (a step of an `ioctl-seq`).
    pub(crate) fn record_ioctl_name(&mut self, name: &'static str, o: Outcome) {
        let l = self.ioctls.entry(name).or_default();
        l.count += 1;
        *l.results.entry(o).or_default() += 1;
    }
}

/// Calls of one kind and what they returned.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct OpStats {
    /// Calls made.
    pub count: u64,
    /// Results by name: `"OK"`, an errno name (`"ENODEV"`), or `"POLLHUP"`
    /// for a poll that reported the node gone.
    pub results: BTreeMap<String, u64>,
}

impl OpStats {
    /// Calls that did not succeed.
    pub fn errors(&self) -> u64 {
        self.count - self.results.get("OK").copied().unwrap_or(0)
    }
}

/// Unplug wall-time percentiles, in microseconds.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Latency {
    /// Number of samples.
    pub count: usize,
    /// Median, in microseconds.
    pub p50_us: f64,
    /// 99th percentile, in microseconds.
    pub p99_us: f64,
    /// Largest sample, in microseconds.
    pub max_us: f64,
}

impl Latency {
    /// Nearest-rank percentiles of `samples`; `None` when empty.
    pub fn from_samples(mut samples: Vec<Duration>) -> Option<Self> {
        if samples.is_empty() {
            return None;
        }
        samples.sort_unstable();
        let pick = |p: f64| {
            let rank = ((p * samples.len() as f64).ceil() as usize).clamp(1, samples.len());
            samples[rank - 1].as_secs_f64() * 1e6
        };
        Some(Self {
            count: samples.len(),
            p50_us: pick(0.50),
            p99_us: pick(0.99),
            max_us: pick(1.0),
        })
    }
}

/// The merged counters of every thread.
#[derive(Default)]
pub(crate) struct Merged {
    pub(crate) ops: BTreeMap<String, OpStats>,
    pub(crate) ioctls: BTreeMap<String, OpStats>,
    pub(crate) results: BTreeMap<String, u64>,
    pub(crate) unplug_latency: Vec<Duration>,
    pub(crate) unplugs: BTreeMap<String, u64>,
    pub(crate) unplugs_with_sleeper: u64,
    pub(crate) unplugs_at_stop_points: u64,
}

fn merge_into(dst: &mut BTreeMap<String, OpStats>, src: HashMap<&'static str, Local>) {
    for (k, l) in src {
        let d = dst.entry(k.to_owned()).or_default();
        d.count += l.count;
        for (o, n) in l.results {
            *d.results.entry(o.name()).or_default() += n;
        }
    }
}

impl Merged {
    pub(crate) fn add(&mut self, t: ThreadStats) {
        for l in t.ops.values() {
            for (o, n) in &l.results {
                *self.results.entry(o.name()).or_default() += n;
            }
        }
        merge_into(&mut self.ops, t.ops);
        merge_into(&mut self.ioctls, t.ioctls);
        self.unplug_latency.extend(t.unplug_latency);
        for (k, n) in t.unplugs {
            *self.unplugs.entry(k.to_owned()).or_default() += n;
        }
        self.unplugs_with_sleeper += t.unplugs_with_sleeper;
        self.unplugs_at_stop_points += t.unplugs_at_stop_points;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_names() {
        assert_eq!(Outcome::Err(Errno::ENODEV).name(), "ENODEV");
        assert_eq!(Outcome::Err(Errno::from_raw(77)).name(), "EBADFD");
        assert_eq!(Outcome::Err(Errno::from_raw(67)).name(), "ENOLINK");
        assert_eq!(Outcome::Err(Errno::from_raw(4000)).name(), "E4000");
        assert_eq!(Outcome::PollHup.name(), "POLLHUP");
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        assert_eq!(Latency::from_samples(Vec::new()), None);
        let s: Vec<Duration> = (1..=100).rev().map(Duration::from_micros).collect();
        let l = Latency::from_samples(s).unwrap();
        assert_eq!(l.count, 100);
        assert_eq!(l.p50_us.round(), 50.0);
        assert_eq!(l.p99_us.round(), 99.0);
        assert_eq!(l.max_us.round(), 100.0);
        let one = Latency::from_samples(vec![Duration::from_micros(7)]).unwrap();
        assert_eq!((one.p50_us.round(), one.max_us.round()), (7.0, 7.0));
    }

    #[test]
    fn merge_sums_threads_and_results() {
        let mut a = ThreadStats::default();
        a.record("open", Outcome::Ok);
        a.record("open", Outcome::Err(Errno::ENODEV));
        a.record_ioctl("PING", Outcome::Ok);
        let mut b = ThreadStats::default();
        b.record("open", Outcome::Err(Errno::ENODEV));
        b.record("poll", Outcome::PollHup);
        b.unplugs.insert("unbind", 2);
        b.unplug_latency.push(Duration::from_micros(3));
        let mut m = Merged::default();
        m.add(a);
        m.add(b);
        assert_eq!(m.ops["open"].count, 3);
        assert_eq!(m.ops["open"].results["ENODEV"], 2);
        assert_eq!(m.ops["open"].errors(), 2);
        assert_eq!(m.ops["ioctl"].count, 1);
        assert_eq!(m.ioctls["PING"].results["OK"], 1);
        assert_eq!(m.results["OK"], 2);
        assert_eq!(m.results["POLLHUP"], 1);
        assert_eq!(m.unplugs["unbind"], 2);
        assert_eq!(m.unplug_latency.len(), 1);
    }
}
