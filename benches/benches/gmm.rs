//! Case 3: ADBench GMM objective and gradient, on the files of `<repo>/../shared/data/gmm`.

mod common;

use std::hint::black_box;

use autodiff_benches::cases::gmm::{self, Gmm};
use autodiff_benches::cases::Ours;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode};

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("gmm");
    for (file, _) in gmm::FILES {
        let path = gmm::data_dir().join(file);
        let data = Gmm::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let id = format!("d{}_K{}", data.d, data.k);
        let p = data.params.as_slice();
        g.sample_size(20).sampling_mode(SamplingMode::Auto);
        // the primal column is the function our gradient is generated from
        g.bench_with_input(BenchmarkId::new("primal", &id), p, |b, p| {
            b.iter(|| data.ours_objective(black_box(p)))
        });
        g.bench_with_input(BenchmarkId::new("primal-generic", &id), p, |b, p| {
            b.iter(|| data.objective(black_box(p)))
        });
        g.bench_with_input(BenchmarkId::new("hand", &id), p, |b, p| {
            b.iter(|| data.gradient(black_box(p)))
        });
        if gmm::OURS == Ours::Generated {
            g.bench_with_input(BenchmarkId::new("ours", &id), p, |b, p| {
                b.iter(|| data.ours_gradient(black_box(p)))
            });
        }
        g.sample_size(10).sampling_mode(SamplingMode::Flat);
        g.bench_with_input(BenchmarkId::new("ad_trait", &id), p, |b, p| {
            b.iter(|| data.ad_trait_gradient(black_box(p)))
        });
        // one forward pass per parameter (30 or 330)
        g.bench_with_input(BenchmarkId::new("autodiff-0.7", &id), p, |b, p| {
            b.iter(|| data.autodiff_peer_gradient(black_box(p)))
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
