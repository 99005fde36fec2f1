//! Case 1: chained Rosenbrock over a slice.

mod common;

use std::hint::black_box;

use autodiff_benches::cases::experiments;
use autodiff_benches::cases::rosenbrock as rb;
use autodiff_benches::cases::Ours;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode};

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("rosenbrock");
    for n in [2usize, 10, 100, 1000] {
        let x = rb::point(n);
        let x = x.as_slice();
        g.sample_size(20).sampling_mode(SamplingMode::Auto);
        g.bench_with_input(BenchmarkId::new("primal", n), x, |b, x| {
            b.iter(|| rb::rosen(black_box(x)))
        });
        g.bench_with_input(BenchmarkId::new("hand", n), x, |b, x| {
            b.iter(|| rb::rosen_grad_hand(black_box(x)))
        });
        g.bench_with_input(BenchmarkId::new("hand-fused", n), x, |b, x| {
            b.iter(|| rb::rosen_grad_fused(black_box(x)))
        });
        g.bench_with_input(BenchmarkId::new("hand-rmw", n), x, |b, x| {
            b.iter(|| rb::rosen_grad_hand_rmw(black_box(x)))
        });
        g.bench_with_input(BenchmarkId::new("exp-carry", n), x, |b, x| {
            b.iter(|| experiments::rosen_grad_carry(black_box(x)))
        });
        if rb::OURS == Ours::Generated {
            g.bench_with_input(BenchmarkId::new("ours", n), x, |b, x| {
                b.iter(|| rb::ours_rosen_grad(black_box(x)))
            });
        }
        if n == 2 {
            g.bench_with_input(BenchmarkId::new("ours-scalar", n), x, |b, x| {
                b.iter(|| rb::rosen2_grad(black_box(x[0]), black_box(x[1])))
            });
            g.bench_with_input(BenchmarkId::new("symdiff", n), x, |b, x| {
                b.iter(|| rb::rosen2_sym_gradient(black_box(x)))
            });
        }
        if n == 10 {
            g.bench_with_input(BenchmarkId::new("symdiff", n), x, |b, x| {
                b.iter(|| rb::rosen10_sym_gradient(black_box(x)))
            });
        }
        g.bench_with_input(BenchmarkId::new("ad_trait", n), x, |b, x| {
            b.iter(|| rb::ad_trait_grad(black_box(x)))
        });
        if n >= 100 {
            // forward-mode peers take tens of µs to milliseconds here: fewer, flat samples
            g.sample_size(10).sampling_mode(SamplingMode::Flat);
        }
        g.bench_with_input(BenchmarkId::new("num-dual", n), x, |b, x| {
            b.iter(|| rb::num_dual_grad(black_box(x)))
        });
        g.bench_with_input(BenchmarkId::new("autodiff-0.7", n), x, |b, x| {
            b.iter(|| rb::autodiff_peer_grad(black_box(x)))
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = common::config();
    targets = bench
}
criterion_main!(benches);
