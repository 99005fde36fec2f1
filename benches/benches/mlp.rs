//! Case 4: two-layer perceptron loss over tensors (batch 32).

mod common;

use std::hint::black_box;

use autodiff_benches::cases::mlp;
use autodiff_benches::cases::Ours;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("mlp");
    for (name, batch, inputs, hidden, outputs) in mlp::SHAPES {
        let (p, data) = mlp::problem(batch, inputs, hidden, outputs);
        g.bench_with_input(BenchmarkId::new("primal", name), &p, |b, p| {
            b.iter(|| mlp::loss(black_box(p), &data))
        });
        g.bench_with_input(BenchmarkId::new("hand", name), &p, |b, p| {
            b.iter(|| mlp::loss_grad_hand(black_box(p), &data))
        });
        if mlp::OURS == Ours::Generated {
            g.bench_with_input(BenchmarkId::new("ours", name), &p, |b, p| {
                b.iter(|| mlp::ours_loss_grad(black_box(p), &data))
            });
        }
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = common::config();
    targets = bench
}
criterion_main!(benches);
