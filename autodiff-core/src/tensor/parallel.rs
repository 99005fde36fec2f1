//! When tensor operations use more than one thread (compiled with the feature `rayon`).
//!
//! Threads come from rayon's global pool (one pool for the process: a GEMM called from
//! inside a rayon task, e.g. one shard of `examples/data_parallel.rs`, runs its blocks on the
//! same workers instead of starting more threads, so nothing is oversubscribed).
//! matrixmultiply's own `threading` feature is not used: it keeps a second pool.
//!
//! A product is split only when it is large enough that the split pays for waking a second
//! worker (measured in `benches/benches/gemm.rs` and `benches/benches/mlp.rs`, see
//! BENCHMARKS.md): every product of the 8-16-1 and 64-128-10 perceptrons stays on one
//! thread.

/// Multiply-adds (`m * k * n`) from which a GEMM is split across threads: 2^21, about
/// 100 µs of f64 work on one core. The 784-256-10 perceptron's `X·W1` and `Xᵀ·g`
/// (128·784·256 ≈ 2^24.6) are split; its `h·W2`-sized products (≈ 2^18.3) are not.
pub const GEMM_MIN_WORK: usize = 1 << 21;

/// Rows of the output per task, at least 8 (a multiple of the micro-kernel's rows).
const GEMM_MIN_ROWS: usize = 8;

/// The rows of `c` each task computes, or `None` to stay on one thread.
pub(crate) fn gemm_rows_per_task(m: usize, k: usize, n: usize) -> Option<usize> {
    if m < 2 * GEMM_MIN_ROWS || m.saturating_mul(k).saturating_mul(n) < GEMM_MIN_WORK {
        return None;
    }
    let threads = threads();
    if threads < 2 {
        return None;
    }
    // One block per thread, rounded up to a multiple of 8 rows.
    let rows = m.div_ceil(threads).div_ceil(GEMM_MIN_ROWS) * GEMM_MIN_ROWS;
    (rows < m).then_some(rows)
}

/// The number of threads of the pool the caller runs in.
fn threads() -> usize {
    rayon::current_num_threads()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_products_stay_on_one_thread() {
        // The 8-16-1 and 64-128-10 products, and the small 784-256-10 ones.
        for (m, k, n) in [
            (32, 8, 16),
            (8, 32, 16),
            (32, 64, 128),
            (64, 32, 128),
            (128, 256, 10),
        ] {
            assert_eq!(gemm_rows_per_task(m, k, n), None, "{m}x{k}x{n}");
        }
    }

    #[test]
    fn large_products_are_split_in_blocks_of_eight_rows() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        pool.install(|| {
            assert_eq!(gemm_rows_per_task(784, 128, 256), Some(392));
            assert_eq!(gemm_rows_per_task(127, 784, 256), Some(64));
            assert_eq!(gemm_rows_per_task(10, 1 << 20, 10), None);
        });
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        one.install(|| assert_eq!(gemm_rows_per_task(784, 128, 256), None));
    }
}
