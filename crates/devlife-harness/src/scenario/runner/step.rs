//! One step of a run: operations sent to their thread, and the runner's
//! directives (`wait`, `break`, `resume`, `join`, `expect`).

use super::super::ast::*;
use super::super::outcome::RunErrorKind;
use super::result::{check_result, show};
use super::worker::Pending;
use super::{Fail, Run, SLICE, fail};
use std::time::{Duration, Instant};

impl Run<'_> {
    pub(super) fn step(&mut self, st: &Step) -> Result<(), Fail> {
        match &st.cmd {
            Command::Op {
                actor,
                op,
                background,
                expect,
            } => {
                let call = match op {
                    Op::Ioctl { call, .. } => Some(call.clone()),
                    _ => None,
                };
                let timeout = self.timeout;
                let name = actor.to_string();
                let w = match actor {
                    Actor::Kernel => &mut self.kernel_worker,
                    Actor::Thread(t) => {
                        let i = self
                            .workers
                            .iter()
                            .position(|w| &w.name == t)
                            .expect("run() validated the threads");
                        &mut self.workers[i]
                    }
                };
                w.send(op.clone())
                    .map_err(|m| fail(st.line, RunErrorKind::Step(m)))?;
                if *background {
                    w.pending = Some(Pending {
                        line: st.line,
                        text: st.text.clone(),
                        expect: expect.clone(),
                        call,
                    });
                    self.note(st, &name, "started".to_owned());
                    return Ok(());
                }
                let Some(done) = w.recv(timeout) else {
                    let what = format!("`{name}` did not finish `{}`", st.text);
                    return Err(self.hang(st.line, &name, what));
                };
                let r = done.map_err(|m| fail(st.line, RunErrorKind::Step(m)))?;
                let shown = show(&r, call.as_ref());
                self.note(st, &name, shown);
                if let Some(e) = expect {
                    check_result(&r, e, call.as_ref())
                        .map_err(|m| fail(st.line, RunErrorKind::Expectation(m)))?;
                }
                Ok(())
            }
            Command::Wait { thread, op, on } => {
                let want = op.clone().unwrap_or_else(|| "*".to_owned());
                let deadline = Instant::now() + self.timeout;
                let kernel = self.shared.kernel.clone();
                loop {
                    let seen = kernel.activity().wait_for(SLICE, |b| {
                        b.iter().any(|x| {
                            x.thread == *thread
                                && (want == "*" || x.op == want)
                                && on.as_ref().is_none_or(|o| x.object == *o)
                        })
                    });
                    if seen {
                        let r = match on {
                            Some(o) => format!("blocked in {want} on {o}"),
                            None => format!("blocked in {want}"),
                        };
                        self.note(st, "runner", r);
                        return Ok(());
                    }
                    let w = self.worker(thread);
                    if w.finished() {
                        let p = w.pending.as_ref().map(|p| p.line).unwrap_or(0);
                        let got = match &w.early {
                            Some(Ok(r)) => show(r, None),
                            Some(Err(m)) => m.clone(),
                            None => String::new(),
                        };
                        return Err(fail(
                            st.line,
                            RunErrorKind::Expectation(format!(
                                "thread `{thread}` finished line {p} ({got}) instead of blocking in `{want}`"
                            )),
                        ));
                    }
                    if Instant::now() >= deadline {
                        let what = format!("thread `{thread}` did not block in `{want}`");
                        return Err(self.hang(st.line, thread, what));
                    }
                }
            }
            Command::Settle { thread, on } => {
                let deadline = Instant::now() + self.timeout;
                let kernel = self.shared.kernel.clone();
                // An unplug publishes itself before it knows whether it has
                // calls to drain: on a node, it is settled only while a
                // call is really in flight there.
                let draining = |o: &str| kernel.lookup(o).is_none_or(|n| n.gate().in_flight() > 0);
                loop {
                    let mut parked = None;
                    kernel.activity().wait_for(SLICE, |b| {
                        parked = b
                            .iter()
                            .find(|x| {
                                x.thread == *thread && on.as_ref().is_none_or(|o| x.object == *o)
                            })
                            .map(|x| (x.to_string(), x.op));
                        parked.is_some()
                    });
                    if let Some((p, op)) = parked {
                        if op != "unplug" || on.as_deref().is_none_or(draining) {
                            self.note(st, "runner", p);
                            return Ok(());
                        }
                        std::thread::yield_now();
                    }
                    if self.worker(thread).finished() {
                        self.note(st, "runner", "finished".to_owned());
                        return Ok(());
                    }
                    if Instant::now() >= deadline {
                        let what = format!("thread `{thread}` neither blocked nor finished");
                        return Err(self.hang(st.line, thread, what));
                    }
                }
            }
            Command::Trace { thread } => {
                if let Some(b) = &self.worker(thread).breaks {
                    b.trace();
                }
                self.note(st, "runner", "tracing".to_owned());
                Ok(())
            }
            Command::WaitReport { filter } => {
                // The monitor has no notification: poll it (each check is
                // cheap; the step proceeds as soon as the report exists).
                let deadline = Instant::now() + self.timeout;
                let monitor = self.shared.kernel.monitor().clone();
                loop {
                    if filter.kind == devlife::check::ReportKind::Hang {
                        self.shared.kernel.check_hangs();
                    }
                    let hit = monitor
                        .reports()
                        .all()
                        .into_iter()
                        .find(|r| filter.matches(r));
                    if let Some(r) = hit {
                        let text =
                            format!("{} in {}: {}", r.kind.title(), r.object_name, r.message);
                        self.note(st, "runner", text);
                        return Ok(());
                    }
                    if Instant::now() >= deadline {
                        let what = format!("no {filter} report appeared");
                        return Err(self.hang(st.line, "runner", what));
                    }
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
            Command::Break {
                thread,
                point,
                skip,
            } => {
                let w = self.worker(thread);
                if let Some(b) = &w.breaks {
                    b.arm(point, *skip);
                }
                self.note(st, "runner", "armed".to_owned());
                Ok(())
            }
            Command::Resume { thread } => {
                let deadline = Instant::now() + self.timeout;
                loop {
                    let w = self.worker(thread);
                    let b = w.breaks.clone().expect("scenario threads have breakpoints");
                    if let Some(p) = b.resume(SLICE) {
                        self.note(st, "runner", format!("resumed from {p}"));
                        return Ok(());
                    }
                    if w.finished() {
                        return Err(fail(
                            st.line,
                            RunErrorKind::Expectation(format!(
                                "thread `{thread}` finished without stopping at a breakpoint"
                            )),
                        ));
                    }
                    if Instant::now() >= deadline {
                        let what = format!("thread `{thread}` did not stop at a breakpoint");
                        return Err(self.hang(st.line, thread, what));
                    }
                }
            }
            Command::Join { thread, expect } => {
                let r = self.join(thread, expect.as_ref(), st.line)?;
                self.note(st, "runner", r);
                Ok(())
            }
            Command::Expect(e) => {
                let r = self
                    .expect(e)
                    .map_err(|m| fail(st.line, RunErrorKind::Expectation(m)))?;
                self.note(st, "runner", r);
                Ok(())
            }
        }
    }
}
