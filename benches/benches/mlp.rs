//! Case 4: perceptron losses over tensors. Every bench runs inside an explicit rayon pool:
//! `…-1t` rows on one thread, `…-2t` rows on two (the runtime's `rayon` feature splits
//! large GEMMs; small shapes must not get slower), `ours-dp2` as two data-parallel shards.

mod common;

use std::hint::black_box;

use autodiff_benches::cases::mlp;
use autodiff_benches::cases::Ours;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};

fn bench(c: &mut Criterion) {
    let pool = |n| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .unwrap()
    };
    let (one, two) = (pool(1), pool(2));
    let mut g = c.benchmark_group("mlp");
    for (name, batch, inputs, hidden, outputs) in mlp::SHAPES {
        let (p, data) = mlp::problem(batch, inputs, hidden, outputs);
        g.bench_with_input(BenchmarkId::new("primal", name), &p, |b, p| {
            one.install(|| b.iter(|| mlp::loss(black_box(p), &data)))
        });
        g.bench_with_input(BenchmarkId::new("primal-2t", name), &p, |b, p| {
            two.install(|| b.iter(|| mlp::loss(black_box(p), &data)))
        });
        g.bench_with_input(BenchmarkId::new("hand", name), &p, |b, p| {
            one.install(|| b.iter(|| mlp::loss_grad_hand(black_box(p), &data)))
        });
        if mlp::OURS == Ours::Generated {
            g.bench_with_input(BenchmarkId::new("ours", name), &p, |b, p| {
                one.install(|| b.iter(|| mlp::ours_loss_grad(black_box(p), &data)))
            });
            g.bench_with_input(BenchmarkId::new("ours-2t", name), &p, |b, p| {
                two.install(|| b.iter(|| mlp::ours_loss_grad(black_box(p), &data)))
            });
            if outputs > 1 {
                let shards = mlp::shard(&data, 2);
                g.bench_with_input(BenchmarkId::new("ours-dp2", name), &p, |b, p| {
                    two.install(|| b.iter(|| mlp::ours_loss_grad_sharded(&shards, black_box(p))))
                });
            }
        }
        if name == "784-256-10" {
            let q = mlp::problem_f32(batch, inputs, hidden, outputs);
            g.bench_with_input(BenchmarkId::new("primal-f32", name), &q, |b, q| {
                one.install(|| b.iter(|| mlp::loss_f32(black_box(q))))
            });
            g.bench_with_input(BenchmarkId::new("ours-f32", name), &q, |b, q| {
                one.install(|| b.iter(|| mlp::ours_loss_grad_f32(black_box(q))))
            });
            g.bench_with_input(BenchmarkId::new("ours-f32-2t", name), &q, |b, q| {
                two.install(|| b.iter(|| mlp::ours_loss_grad_f32(black_box(q))))
            });
        }
    }
    let name = "1024-1024-1024-10";
    let q = mlp::deep_problem(256, 1024, 1024, 10);
    g.bench_with_input(BenchmarkId::new("primal", name), &q, |b, q| {
        one.install(|| b.iter(|| mlp::deep_loss(black_box(q))))
    });
    g.bench_with_input(BenchmarkId::new("ours", name), &q, |b, q| {
        one.install(|| b.iter(|| mlp::ours_deep_loss_grad(black_box(q))))
    });
    g.bench_with_input(BenchmarkId::new("primal-2t", name), &q, |b, q| {
        two.install(|| b.iter(|| mlp::deep_loss(black_box(q))))
    });
    g.bench_with_input(BenchmarkId::new("ours-2t", name), &q, |b, q| {
        two.install(|| b.iter(|| mlp::ours_deep_loss_grad(black_box(q))))
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = common::config();
    targets = bench
}
criterion_main!(benches);
