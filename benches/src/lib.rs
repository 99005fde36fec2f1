//! Benchmark cases for `differentiate`: each module holds a primal function, a hand-written
//! gradient, our generated gradient where the macro supports the case (or a clearly marked
//! pending slot), and the peers' versions, so that the criterion benches (`benches/`), the
//! correctness tests (`tests/`) and the report (`src/bin/report.rs`) share one definition.
//!
//! Nothing here is published: this package is its own workspace, excluded from the root one.

pub mod cases;
pub mod expand_gen;

/// Central finite differences of `f` at `x`, one coordinate at a time (test oracle).
pub fn central_differences(f: impl Fn(&[f64]) -> f64, x: &[f64], h: f64) -> Vec<f64> {
    let mut xp = x.to_vec();
    (0..x.len())
        .map(|i| {
            let xi = xp[i];
            xp[i] = xi + h;
            let fp = f(&xp);
            xp[i] = xi - h;
            let fm = f(&xp);
            xp[i] = xi;
            (fp - fm) / (2.0 * h)
        })
        .collect()
}

/// A deterministic pseudo-random vector in `[lo, hi)` (xorshift; benchmarks need no `rand`).
pub fn pseudo_random(n: usize, seed: u64, lo: f64, hi: f64) -> Vec<f64> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let unit = (state >> 11) as f64 / (1u64 << 53) as f64;
            lo + (hi - lo) * unit
        })
        .collect()
}
