//! GEMM kernels side by side at the perceptron shapes, for f64 and f32, with the transposed
//! operands of the backward products read through strides (no copy): matrixmultiply (one
//! thread; with `--features mm-threading` its own pool, sized by `MATMUL_NUM_THREADS`) and
//! the `gemm` crate (one thread, and rayon with 2 threads). The shapes are
//! `name/m x k x n` with the operand layouts `N` (row-major) or `T` (a transpose's strides).
//!
//! `cargo bench --manifest-path benches/Cargo.toml --bench gemm`

mod common;

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};

/// (label, m, k, n, a transposed, b transposed).
const SHAPES: [(&str, usize, usize, usize, bool, bool); 9] = [
    // 784-256-10, batch 128: X·W1, h·W2, then g·W2ᵀ, hᵀ·g, Xᵀ·g1.
    ("784/XW1", 128, 784, 256, false, false),
    ("784/hW2", 128, 256, 10, false, false),
    ("784/gW2t", 128, 10, 256, false, true),
    ("784/htg", 256, 128, 10, true, false),
    ("784/Xtg1", 784, 128, 256, true, false),
    // 64-128-10, batch 32: X·W1 and Xᵀ·g1.
    ("64/XW1", 32, 64, 128, false, false),
    ("64/Xtg1", 64, 32, 128, true, false),
    // 8-16-1, batch 32.
    ("8/XW1", 32, 8, 16, false, false),
    ("8/Xtg1", 8, 32, 16, true, false),
];

/// Row and column strides of an `r x c` operand stored row-major, or stored as its
/// transpose (`c x r` row-major).
fn strides(r: usize, c: usize, transposed: bool) -> (isize, isize) {
    if transposed {
        (1, r as isize)
    } else {
        (c as isize, 1)
    }
}

macro_rules! kernels {
    ($mm:ident, $gm:ident, $t:ty, $mmgemm:path) => {
        fn $mm(
            m: usize,
            k: usize,
            n: usize,
            a: &[$t],
            sa: (isize, isize),
            b: &[$t],
            sb: (isize, isize),
            c: &mut [$t],
        ) {
            // SAFETY: the operands hold m*k and k*n elements read with in-bounds strides.
            unsafe {
                $mmgemm(
                    m,
                    k,
                    n,
                    1.0,
                    a.as_ptr(),
                    sa.0,
                    sa.1,
                    b.as_ptr(),
                    sb.0,
                    sb.1,
                    0.0,
                    c.as_mut_ptr(),
                    n as isize,
                    1,
                );
            }
        }
        #[allow(clippy::too_many_arguments)]
        fn $gm(
            m: usize,
            k: usize,
            n: usize,
            a: &[$t],
            sa: (isize, isize),
            b: &[$t],
            sb: (isize, isize),
            c: &mut [$t],
            par: gemm::Parallelism,
        ) {
            // SAFETY: as above; gemm's column stride comes first.
            unsafe {
                gemm::gemm(
                    m,
                    n,
                    k,
                    c.as_mut_ptr(),
                    1,
                    n as isize,
                    false,
                    a.as_ptr(),
                    sa.1,
                    sa.0,
                    b.as_ptr(),
                    sb.1,
                    sb.0,
                    0.0,
                    1.0,
                    false,
                    false,
                    false,
                    par,
                );
            }
        }
    };
}
kernels!(mm64, gm64, f64, matrixmultiply::dgemm);
kernels!(mm32, gm32, f32, matrixmultiply::sgemm);

fn bench(c: &mut Criterion) {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    let mm_label = if cfg!(feature = "mm-threading") {
        format!(
            "matrixmultiply-threading-{}",
            std::env::var("MATMUL_NUM_THREADS").unwrap_or_default()
        )
    } else {
        "matrixmultiply".to_string()
    };
    let mut g = c.benchmark_group("gemm");
    for (name, m, k, n, ta, tb) in SHAPES {
        let a64: Vec<f64> = autodiff_benches::pseudo_random(m * k, 1, -1.0, 1.0);
        let b64: Vec<f64> = autodiff_benches::pseudo_random(k * n, 2, -1.0, 1.0);
        let a32: Vec<f32> = a64.iter().map(|&v| v as f32).collect();
        let b32: Vec<f32> = b64.iter().map(|&v| v as f32).collect();
        let (sa, sb) = (strides(m, k, ta), strides(k, n, tb));
        let mut c64 = vec![0.0f64; m * n];
        let mut c32 = vec![0.0f32; m * n];
        // Both kernels agree before anything is timed.
        let mut check = vec![0.0f64; m * n];
        mm64(m, k, n, &a64, sa, &b64, sb, &mut c64);
        gm64(
            m,
            k,
            n,
            &a64,
            sa,
            &b64,
            sb,
            &mut check,
            gemm::Parallelism::None,
        );
        assert!(
            c64.iter().zip(&check).all(|(x, y)| (x - y).abs() < 1e-9),
            "{name}"
        );
        let label = format!("{name}/{m}x{k}x{n}");
        g.bench_function(BenchmarkId::new(format!("f64/{mm_label}"), &label), |bch| {
            bch.iter(|| mm64(m, k, n, black_box(&a64), sa, &b64, sb, &mut c64))
        });
        g.bench_function(BenchmarkId::new("f64/gemm-1", &label), |bch| {
            bch.iter(|| {
                gm64(
                    m,
                    k,
                    n,
                    black_box(&a64),
                    sa,
                    &b64,
                    sb,
                    &mut c64,
                    gemm::Parallelism::None,
                )
            })
        });
        g.bench_function(BenchmarkId::new("f64/gemm-rayon2", &label), |bch| {
            pool.install(|| {
                bch.iter(|| {
                    gm64(
                        m,
                        k,
                        n,
                        black_box(&a64),
                        sa,
                        &b64,
                        sb,
                        &mut c64,
                        gemm::Parallelism::Rayon(2),
                    )
                })
            })
        });
        g.bench_function(BenchmarkId::new(format!("f32/{mm_label}"), &label), |bch| {
            bch.iter(|| mm32(m, k, n, black_box(&a32), sa, &b32, sb, &mut c32))
        });
        g.bench_function(BenchmarkId::new("f32/gemm-1", &label), |bch| {
            bch.iter(|| {
                gm32(
                    m,
                    k,
                    n,
                    black_box(&a32),
                    sa,
                    &b32,
                    sb,
                    &mut c32,
                    gemm::Parallelism::None,
                )
            })
        });
        g.bench_function(BenchmarkId::new("f32/gemm-rayon2", &label), |bch| {
            pool.install(|| {
                bch.iter(|| {
                    gm32(
                        m,
                        k,
                        n,
                        black_box(&a32),
                        sa,
                        &b32,
                        sb,
                        &mut c32,
                        gemm::Parallelism::Rayon(2),
                    )
                })
            })
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
