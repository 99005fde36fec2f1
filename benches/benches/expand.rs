//! Case 5: compile-time cost. `autodiff_expand::differentiate` (the macro's compiler, no
//! proc-macro boundary) on straight-line functions of 10, 100 and 1000 statements.

mod common;

use std::hint::black_box;

use autodiff_benches::expand_gen::{chain_tokens, SIZES};
use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion};

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("expand");
    for n in SIZES {
        let tokens = chain_tokens(n);
        g.bench_with_input(BenchmarkId::new("differentiate", n), &tokens, |b, t| {
            b.iter_batched(
                || t.clone(),
                |(attr, item)| autodiff_expand::differentiate(black_box(attr), black_box(item)),
                BatchSize::LargeInput,
            )
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
