//! Cost of dispatching file operations through the model: a trivial ioctl on
//! a gated (framework) node and on a legacy entry-check node, compared in the
//! same run with a bare gate enter+exit and a direct call of the ops.
//!
//! `cargo bench -p devlife-model --bench dispatch`

use criterion::{Criterion, criterion_group, criterion_main};
use devlife_model::legacy::EntryCheck;
use devlife_model::{FileOps, KResult, Kernel, NodeKind, NodeSpec, OpCtx, OpenFlags};
use std::hint::black_box;
use std::sync::Arc;

struct Trivial;

impl FileOps for Trivial {
    type Private = ();
    fn open(&self, _: &OpCtx<'_>) -> KResult<()> {
        Ok(())
    }
    fn ioctl(&self, _: &OpCtx<'_>, _: &(), cmd: u32, _: &mut [u8]) -> KResult<i64> {
        Ok(i64::from(cmd))
    }
}

fn dispatch(c: &mut Criterion) {
    let k = Kernel::new();
    let reg = k
        .register_node(
            NodeSpec::new(NodeKind::Misc).name("trivial"),
            Arc::new(Trivial),
        )
        .unwrap();
    let leg = k
        .register_node(
            NodeSpec::new(NodeKind::Misc)
                .name("trivial-legacy")
                .entry_check(),
            Arc::new(Trivial),
        )
        .unwrap();
    let f = k.open("trivial", OpenFlags::RDWR).unwrap();
    let l = k.open("trivial-legacy", OpenFlags::RDWR).unwrap();
    let gate = reg.node().unwrap().gate().clone();
    let mut g = c.benchmark_group("dispatch");
    g.bench_function("gate enter+exit", |b| {
        b.iter(|| drop(black_box(gate.enter().unwrap())))
    });
    g.bench_function("gate enter_as+exit", |b| {
        b.iter(|| drop(black_box(gate.enter_as("ioctl").unwrap())))
    });
    g.bench_function("ioctl framework node", |b| {
        b.iter(|| black_box(f.ioctl(black_box(1), &mut []).unwrap()))
    });
    g.bench_function("ioctl legacy node", |b| {
        b.iter(|| black_box(l.ioctl(black_box(1), &mut []).unwrap()))
    });
    g.finish();
    drop((f, l, reg, leg));
}

criterion_group!(benches, dispatch);
criterion_main!(benches);
