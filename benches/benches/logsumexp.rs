//! Case 2: LogSumExp.

mod common;

use std::hint::black_box;

use autodiff_benches::cases::experiments;
use autodiff_benches::cases::logsumexp as lse;
use autodiff_benches::cases::Ours;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode};

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("logsumexp");
    for n in [1000usize, 10_000] {
        let x = lse::point(n);
        let x = x.as_slice();
        g.sample_size(20).sampling_mode(SamplingMode::Auto);
        g.bench_with_input(BenchmarkId::new("primal", n), x, |b, x| {
            b.iter(|| lse::logsumexp(black_box(x)))
        });
        g.bench_with_input(BenchmarkId::new("hand", n), x, |b, x| {
            b.iter(|| lse::logsumexp_grad_hand(black_box(x)))
        });
        if lse::OURS == Ours::Generated {
            g.bench_with_input(BenchmarkId::new("ours", n), x, |b, x| {
                b.iter(|| lse::ours_logsumexp_grad(black_box(x)))
            });
        }
        g.bench_with_input(BenchmarkId::new("exp-save-exp", n), x, |b, x| {
            b.iter(|| experiments::logsumexp_grad_save_exp(black_box(x)))
        });
        g.bench_with_input(BenchmarkId::new("ad_trait", n), x, |b, x| {
            b.iter(|| lse::ad_trait_grad(black_box(x)))
        });
        // forward mode costs O(n²): milliseconds to a second per call; fewer, flat samples
        g.sample_size(10).sampling_mode(SamplingMode::Flat);
        g.bench_with_input(BenchmarkId::new("num-dual", n), x, |b, x| {
            b.iter(|| lse::num_dual_grad(black_box(x)))
        });
        g.bench_with_input(BenchmarkId::new("autodiff-0.7", n), x, |b, x| {
            b.iter(|| lse::autodiff_peer_grad(black_box(x)))
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
