//! Vectorisable element-wise kernels for `exp`, `ln`, `tanh` and `sigmoid`.
//!
//! Each kernel is branch-free f64 arithmetic and integer operations on the bits (range
//! reduction by a rounding constant, a polynomial, a scale by a power of two built from its
//! exponent bits, and selects for the special values), so the loop over a slice compiles to
//! SIMD code. The slice functions are compiled three times, for AVX-512, AVX2 and the x86-64
//! baseline (SSE2), and the widest the CPU has is chosen at run time; no FMA is used, so the
//! three give bit-identical results. f32 (and any other `Float`) is computed in f64 and
//! rounded once, so its results are within 1 ulp of the correctly rounded value.
//!
//! Accuracy against the standard library's `f64::exp`, `f64::ln`, `f64::tanh` (tested over
//! dense ranges and at ±0, ±inf, NaN, subnormals and the overflow thresholds, in this
//! module's tests): at most **2 ulp** for `exp` and `ln` (1 ulp seen), **3 ulp** for `tanh` and
//! `sigmoid` (3 seen; f64); special values are exact (`exp(-inf) = 0`, `ln(0) = -inf`, `tanh(±0) = ±0`,
//! `tanh(±inf) = ±1`, NaN in, NaN out).

use num_traits::Float;

/// 1.5 · 2^52: adding it to a float of magnitude < 2^51 rounds to an integer held in the
/// low bits of the sum.
const SHIFT: f64 = 6_755_399_441_055_744.0;
/// ln 2 split so that `n · LN2_HI` is exact for |n| < 2^21 (fdlibm's constants).
const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000); // 6.93147180369123816490e-01
const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76); // 1.90821492927058770002e-10

/// `round(v)` as a float and as an integer, for |v| < 2^51, without a rounding instruction
/// (SSE2 has none) or a float-to-int conversion.
#[inline(always)]
fn round_split(v: f64) -> (f64, i64) {
    let t = v + SHIFT;
    let n = t - SHIFT;
    let i = (t.to_bits() as i64).wrapping_sub(SHIFT.to_bits() as i64);
    (n, i)
}

/// 2^i for -1022 <= i <= 1023, from its exponent bits.
#[inline(always)]
fn pow2(i: i64) -> f64 {
    f64::from_bits((i.wrapping_add(1023) as u64) << 52)
}

/// `e^r - 1` for |r| <= ln(2)/2: Taylor to degree 14 (truncation below 1e-17 relative).
#[inline(always)]
fn expm1_reduced(r: f64) -> f64 {
    const C: [f64; 13] = [
        1.0 / 2.0,
        1.0 / 6.0,
        1.0 / 24.0,
        1.0 / 120.0,
        1.0 / 720.0,
        1.0 / 5040.0,
        1.0 / 40320.0,
        1.0 / 362_880.0,
        1.0 / 3_628_800.0,
        1.0 / 39_916_800.0,
        1.0 / 479_001_600.0,
        1.0 / 6_227_020_800.0,
        1.0 / 87_178_291_200.0,
    ];
    let mut q = C[12];
    for &c in C[..12].iter().rev() {
        q = c + r * q;
    }
    r + (r * r) * q
}

/// `e^x` (see the module documentation for the accuracy).
#[inline(always)]
pub(crate) fn exp(x: f64) -> f64 {
    // Outside [-746, 710] the result is 0 or inf; clamping keeps the exponents in range.
    let xc = x.clamp(-746.0, 710.0);
    let (n, i) = round_split(xc * std::f64::consts::LOG2_E);
    let r = (xc - n * LN2_HI) - n * LN2_LO;
    let p = 1.0 + expm1_reduced(r);
    // 2^i in two factors, so that i down to -1076 (subnormal results) and up to 1025
    // (overflow to inf) are both representable.
    let i1 = i >> 1;
    let y = p * pow2(i1) * pow2(i - i1);
    if x.is_nan() {
        x
    } else {
        y
    }
}

/// `e^x - 1` for -40 <= x <= 0, accurate for tiny |x| (used by `tanh`).
#[inline(always)]
fn expm1_nonpositive(x: f64) -> f64 {
    let (n, i) = round_split(x * std::f64::consts::LOG2_E);
    let r = (x - n * LN2_HI) - n * LN2_LO;
    let s = pow2(i);
    s * expm1_reduced(r) + (s - 1.0)
}

/// `tanh(x) = -expm1(-2|x|) / (2 + expm1(-2|x|))` with the sign of `x`.
#[inline(always)]
pub(crate) fn tanh(x: f64) -> f64 {
    // tanh(20) rounds to 1; the clamp also maps inf (and NaN, fixed below) into range.
    let y = (-2.0 * x.abs()).max(-40.0);
    let e = expm1_nonpositive(y);
    let t = -e / (2.0 + e);
    if x.is_nan() {
        x
    } else {
        t.copysign(x)
    }
}

/// The logistic function `1 / (1 + e^-x)`, with `e^-|x|` so nothing overflows.
#[inline(always)]
pub(crate) fn sigmoid(x: f64) -> f64 {
    let e = exp(-x.abs());
    let s = 1.0 / (1.0 + e);
    if x.is_nan() {
        x
    } else if x >= 0.0 {
        s
    } else {
        e * s
    }
}

/// `ln x`: `x = 2^k (1 + f)` with `1 + f` in [√2/2, √2), then
/// `ln(1 + f) = f - f²/2 + s (f²/2 + R(s²))` with `s = f / (2 + f)` (fdlibm's scheme;
/// `R` is the Taylor series of `2 atanh(s)/s - 2` to degree 22).
#[inline(always)]
pub(crate) fn ln(x: f64) -> f64 {
    const C: [f64; 11] = [
        2.0 / 3.0,
        2.0 / 5.0,
        2.0 / 7.0,
        2.0 / 9.0,
        2.0 / 11.0,
        2.0 / 13.0,
        2.0 / 15.0,
        2.0 / 17.0,
        2.0 / 19.0,
        2.0 / 21.0,
        2.0 / 23.0,
    ];
    // Subnormals are scaled into the normal range first.
    let subnormal = x < f64::MIN_POSITIVE;
    let xs = if subnormal {
        x * 18_014_398_509_481_984.0
    } else {
        x
    }; // 2^54
    let bias = if subnormal { -54 } else { 0 };
    const SQRT_HALF_BITS: i64 = 0x3fe6_a09e_0000_0000;
    let hx = (xs.to_bits() as i64).wrapping_add(0x3ff0_0000_0000_0000 - SQRT_HALF_BITS);
    let k = (hx >> 52) - 1023 + bias;
    let m = f64::from_bits(((hx & 0x000f_ffff_ffff_ffff) + SQRT_HALF_BITS) as u64);
    let f = m - 1.0;
    let hfsq = 0.5 * f * f;
    let s = f / (2.0 + f);
    let z = s * s;
    let mut r = C[10];
    for &c in C[..10].iter().rev() {
        r = c + z * r;
    }
    let r = z * r;
    // k as a float without an int-to-float conversion (SSE2 has none for i64).
    let dk = f64::from_bits((k + SHIFT.to_bits() as i64) as u64) - SHIFT;
    let y = dk * LN2_HI - ((hfsq - (s * (hfsq + r) + dk * LN2_LO)) - f);
    if x.is_nan() || x == f64::INFINITY {
        x
    } else if x == 0.0 {
        f64::NEG_INFINITY
    } else if x < 0.0 {
        f64::NAN
    } else {
        y
    }
}

/// Applies `f` (computed in f64) to each element of `src` into `dst`.
#[inline(always)]
fn apply<T: Float>(src: &[T], dst: &mut [T], f: impl Fn(f64) -> f64) {
    for (d, &s) in dst.iter_mut().zip(src) {
        let v = s.to_f64().unwrap_or(f64::NAN);
        *d = T::from(f(v)).unwrap_or_else(T::nan);
    }
}

/// The kernels by name, for [`map_slice`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kernel {
    Exp,
    Ln,
    Tanh,
    Sigmoid,
}

#[inline(always)]
fn run<T: Float>(kernel: Kernel, src: &[T], dst: &mut [T]) {
    match kernel {
        Kernel::Exp => apply(src, dst, exp),
        Kernel::Ln => apply(src, dst, ln),
        Kernel::Tanh => apply(src, dst, tanh),
        Kernel::Sigmoid => apply(src, dst, sigmoid),
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn run_avx512<T: Float>(kernel: Kernel, src: &[T], dst: &mut [T]) {
    run(kernel, src, dst);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn run_avx2<T: Float>(kernel: Kernel, src: &[T], dst: &mut [T]) {
    run(kernel, src, dst);
}

/// `dst[i] = kernel(src[i])`, with the widest vector instructions the CPU has.
#[allow(unsafe_code)] // Calls of `#[target_feature]` functions; see the SAFETY comments.
pub(crate) fn map_slice<T: Float>(kernel: Kernel, src: &[T], dst: &mut [T]) {
    assert_eq!(src.len(), dst.len(), "internal error: map lengths differ");
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU supports AVX-512F, checked on the line above.
            unsafe { run_avx512(kernel, src, dst) };
            return;
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2, checked on the line above.
            unsafe { run_avx2(kernel, src, dst) };
            return;
        }
    }
    run(kernel, src, dst);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Distance in units in the last place between two finite f64 of the same sign (or
    /// both zero): the number of representable values between them.
    fn ulps(a: f64, b: f64) -> u64 {
        if a == b {
            return 0;
        }
        let key = |v: f64| {
            let bits = v.to_bits() as i64;
            if bits < 0 {
                i64::MIN - bits
            } else {
                bits
            }
        };
        key(a).abs_diff(key(b))
    }

    /// Evenly spaced points of [lo, hi], plus their neighbours one ulp away.
    fn points(lo: f64, hi: f64, n: usize) -> Vec<f64> {
        (0..=n)
            .flat_map(|i| {
                let x = lo + (hi - lo) * i as f64 / n as f64;
                [x, f64::from_bits(x.to_bits() + 1)]
            })
            .collect()
    }

    fn max_ulps(f: impl Fn(f64) -> f64, reference: impl Fn(f64) -> f64, xs: &[f64]) -> u64 {
        xs.iter()
            .map(|&x| {
                let (got, want) = (f(x), reference(x));
                assert!(
                    got.is_finite() == want.is_finite(),
                    "at {x:e}: {got:e} vs {want:e}"
                );
                if want.is_finite() {
                    ulps(got, want)
                } else {
                    assert_eq!(got, want, "at {x:e}");
                    0
                }
            })
            .max()
            .unwrap()
    }

    fn reference_sigmoid(x: f64) -> f64 {
        // Correct to well under an ulp: 1/(1+e) and e/(1+e) each round twice at most.
        if x >= 0.0 {
            1.0 / (1.0 + (-x).exp())
        } else {
            let e = x.exp();
            e / (1.0 + e)
        }
    }

    #[test]
    fn exp_is_within_2_ulp_and_exact_at_special_values() {
        let mut xs = points(-745.0, 709.7, 400_000);
        xs.extend(points(-1.0, 1.0, 200_000));
        xs.extend(points(-1e-10, 1e-10, 10_000));
        assert!(max_ulps(exp, f64::exp, &xs) <= 2);
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(exp(-0.0), 1.0);
        assert_eq!(exp(f64::INFINITY), f64::INFINITY);
        assert_eq!(exp(f64::NEG_INFINITY), 0.0);
        assert!(exp(f64::NAN).is_nan());
        assert_eq!(exp(709.79), f64::INFINITY);
        assert_eq!(exp(-745.2), 0.0);
        // Subnormal results, and a subnormal argument.
        for x in [-708.5, -720.0, -740.0, -745.0] {
            assert!(ulps(exp(x), x.exp()) <= 2, "{x}");
        }
        assert_eq!(exp(5e-324), 1.0);
    }

    #[test]
    fn ln_is_within_2_ulp_and_exact_at_special_values() {
        let mut xs = points(1e-300, 1e300, 100_000);
        xs.extend(points(0.5, 2.0, 200_000));
        xs.extend(points(1.0 - 1e-8, 1.0 + 1e-8, 10_000));
        xs.extend((0..2000).map(|i| 10f64.powf(-300.0 + 0.3 * i as f64)));
        // Subnormals.
        xs.extend([5e-324, 1e-320, 2.2e-308, 1e-310]);
        assert!(max_ulps(ln, f64::ln, &xs) <= 2);
        assert_eq!(ln(1.0), 0.0);
        assert_eq!(ln(0.0), f64::NEG_INFINITY);
        assert_eq!(ln(-0.0), f64::NEG_INFINITY);
        assert_eq!(ln(f64::INFINITY), f64::INFINITY);
        assert!(ln(-1.0).is_nan());
        assert!(ln(f64::NEG_INFINITY).is_nan());
        assert!(ln(f64::NAN).is_nan());
        assert_eq!(ln(f64::MAX), f64::MAX.ln());
    }

    #[test]
    fn tanh_is_within_3_ulp_and_exact_at_special_values() {
        let mut xs = points(-25.0, 25.0, 400_000);
        xs.extend(points(-0.7, 0.7, 200_000));
        xs.extend(points(-1e-8, 1e-8, 10_000));
        xs.extend([5e-324, -5e-324, 1e-310, -2.2e-308, 1e-300]);
        assert!(max_ulps(tanh, f64::tanh, &xs) <= 3);
        assert_eq!(tanh(0.0).to_bits(), 0.0f64.to_bits());
        assert_eq!(tanh(-0.0).to_bits(), (-0.0f64).to_bits());
        assert_eq!(tanh(f64::INFINITY), 1.0);
        assert_eq!(tanh(f64::NEG_INFINITY), -1.0);
        assert_eq!(tanh(1e300), 1.0);
        assert!(tanh(f64::NAN).is_nan());
        assert_eq!(tanh(5e-324), 5e-324);
    }

    #[test]
    fn sigmoid_is_within_3_ulp_and_exact_at_special_values() {
        let mut xs = points(-740.0, 40.0, 400_000);
        xs.extend(points(-2.0, 2.0, 200_000));
        assert!(max_ulps(sigmoid, reference_sigmoid, &xs) <= 3);
        assert_eq!(sigmoid(0.0), 0.5);
        assert_eq!(sigmoid(-0.0), 0.5);
        assert_eq!(sigmoid(f64::INFINITY), 1.0);
        assert_eq!(sigmoid(f64::NEG_INFINITY), 0.0);
        assert_eq!(sigmoid(5e-324), 0.5);
        assert!(sigmoid(f64::NAN).is_nan());
    }

    #[test]
    fn f32_results_are_within_1_ulp_of_the_f64_reference() {
        let xs: Vec<f32> = points(-20.0, 20.0, 100_000)
            .iter()
            .map(|&x| x as f32)
            .collect();
        let positive: Vec<f32> = points(1e-30, 1e30, 100_000)
            .iter()
            .map(|&x| x as f32)
            .collect();
        let ulps32 = |a: f32, b: f32| ulps(f64::from(a), f64::from(b)) >> 29;
        for (kernel, reference, input) in [
            (Kernel::Exp, f64::exp as fn(f64) -> f64, &xs),
            (Kernel::Tanh, f64::tanh, &xs),
            (Kernel::Sigmoid, reference_sigmoid, &xs),
            (Kernel::Ln, f64::ln, &positive),
        ] {
            let mut out = vec![0.0f32; input.len()];
            map_slice(kernel, input, &mut out);
            for (&x, &y) in input.iter().zip(&out) {
                let want = reference(f64::from(x)) as f32;
                assert!(
                    ulps32(y, want) <= 1,
                    "{kernel:?}({x:e}) = {y:e}, want {want:e}"
                );
            }
        }
        let special = [
            0.0f32,
            -0.0,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            1e-45,
        ];
        let mut out = [0.0f32; 6];
        map_slice(Kernel::Tanh, &special, &mut out);
        assert_eq!(&out[..4], &[0.0, -0.0, 1.0, -1.0]);
        assert!(out[4].is_nan());
        assert_eq!(out[5], 1e-45);
    }

    #[test]
    fn every_instruction_set_gives_the_same_bits() {
        let xs = points(-30.0, 30.0, 10_000);
        let pos: Vec<f64> = xs.iter().map(|x| x.abs()).collect();
        for kernel in [Kernel::Exp, Kernel::Ln, Kernel::Tanh, Kernel::Sigmoid] {
            let input = if kernel == Kernel::Ln { &pos } else { &xs };
            let (mut a, mut b) = (vec![0.0; input.len()], vec![0.0; input.len()]);
            map_slice(kernel, input, &mut a);
            run(kernel, input, &mut b);
            let scalar: Vec<f64> = input
                .iter()
                .map(|&x| match kernel {
                    Kernel::Exp => exp(x),
                    Kernel::Ln => ln(x),
                    Kernel::Tanh => tanh(x),
                    Kernel::Sigmoid => sigmoid(x),
                })
                .collect();
            assert!(a.iter().zip(&b).all(|(p, q)| p.to_bits() == q.to_bits()));
            assert!(a
                .iter()
                .zip(&scalar)
                .all(|(p, q)| p.to_bits() == q.to_bits()));
        }
    }
}
