//! Differential testing of `#[differentiate]` at the source level.
//!
//! [`gen`] writes random, valid Rust functions (generic over `T: Float`) inside the subset
//! the macro documents; they go through the real macro, and [`check`] compares what it
//! generated against oracles that share no code with it:
//!
//! 1. `f_grad`, `f_vjp` and `f_jvp` return the value of the original `f::<f64>`;
//! 2. the same source run at dual numbers ([`Dual`], num-dual's `Dual64`) gives the exact
//!    directional derivative along a random direction: `f_jvp`'s tangent must equal it per
//!    output, and `<gradient, direction>` from `f_grad` must equal the sum over outputs
//!    (reverse mode against an independent oracle, not only against forward mode);
//! 3. `f_vjp` with a random seed: `<vjp, direction>` equals `<seed, dual tangent>`;
//! 4. on functions without kinks or float comparisons, central finite differences with
//!    Richardson extrapolation agree with the dual tangent (a check of the oracle itself).
//!
//! [`fuzz`] runs any number of programs through a temporary crate and shrinks failures;
//! the CI corpus is written by `build.rs` from the same generator.

pub mod dual;
pub mod fuzz;
pub mod gen;

pub use dual::{Dual, Stop};

pub use gen::{CORPUS_PROGRAMS, CORPUS_SEED};

/// Relative tolerance of values (the macro's primal sweep runs the same float operations).
pub const VALUE_TOL: f64 = 1e-10;
/// Tolerance of derivatives against dual numbers, relative to the size of the terms.
pub const DERIV_TOL: f64 = 1e-8;
/// Tolerance of Richardson-extrapolated central differences against dual numbers.
pub const FD_TOL: f64 = 1e-5;

type Values<'a> = &'a dyn Fn(&[f64]) -> Vec<f64>;
type Gradient<'a> = &'a dyn Fn(&[f64]) -> (Vec<f64>, Vec<f64>);
type WithVector<'a> = &'a dyn Fn(&[f64], &[f64]) -> (Vec<f64>, Vec<f64>);

/// One generated function and its generated derivatives, over flat `f64` inputs (scalars and
/// array elements in parameter order) and flat outputs.
pub struct Subject<'a> {
    pub name: &'a str,
    pub input: &'a [f64],
    /// The flat input positions in the gradient's order (the `wrt` list).
    pub wrt: &'a [usize],
    pub n_out: usize,
    /// No kinks, no float comparisons: finite differences apply.
    pub smooth: bool,
    /// `f::<f64>`.
    pub value: Values<'a>,
    /// `f_grad`: (outputs, flat gradient in `wrt` order).
    pub grad: Gradient<'a>,
    /// `f_vjp` with a seed per output.
    pub vjp: WithVector<'a>,
    /// `f_jvp` with a tangent per flat input (only the `wrt` ones are passed).
    pub jvp: WithVector<'a>,
    /// The oracle: `f::<Dual>` with `Dual::new(input, direction)`: (values, tangents).
    pub dual: WithVector<'a>,
}

/// What a check found.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Passed,
    /// Values out of the range where comparisons mean something (not finite, huge).
    Skipped(String),
    /// `kind` names the oracle that disagreed (the shrinker keeps failures of one kind).
    Failed {
        kind: String,
        message: String,
    },
}

fn fail(kind: &str, message: String) -> Outcome {
    Outcome::Failed {
        kind: kind.to_string(),
        message,
    }
}

/// `|a - b| <= tol * (1 + scale)`.
pub fn close(a: f64, b: f64, scale: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * (1.0 + scale)
}

/// A small fixed stream for directions and seeds (no dependency, same on every platform).
fn stream(seed: u64) -> impl FnMut() -> f64 {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    move || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let u = (s >> 11) as f64 / (1u64 << 53) as f64;
        // in ±[0.2, 1]
        let v = 0.2 + 0.8 * u;
        if (s >> 7) & 1 == 0 {
            v
        } else {
            -v
        }
    }
}

fn finite(v: &[f64], limit: f64) -> bool {
    v.iter().all(|x| x.is_finite() && x.abs() < limit)
}

/// Runs every oracle on `s`.
pub fn check(s: &Subject) -> Outcome {
    let x = s.input;
    let value = (s.value)(x);
    if value.len() != s.n_out {
        return fail(
            "shape",
            format!("{} outputs, expected {}", value.len(), s.n_out),
        );
    }
    if !finite(&value, 1e6) {
        return Outcome::Skipped(format!("value {value:?}"));
    }
    let mut rnd = stream(
        x.iter()
            .map(|v| v.to_bits())
            .fold(7, |a, b| a ^ b.rotate_left(17)),
    );
    let mut dir = vec![0.0; x.len()];
    for &w in s.wrt {
        dir[w] = rnd();
    }
    let seed: Vec<f64> = (0..s.n_out).map(|_| rnd()).collect();

    let ((dual_v, dual_t), overflowed) = dual::saw_non_finite(|| (s.dual)(x, &dir));
    if !finite(&dual_t, 1e8) {
        return Outcome::Skipped(format!("dual tangent {dual_t:?}"));
    }
    let (grad_v, grad) = (s.grad)(x);
    let (vjp_v, vjp) = (s.vjp)(x, &seed);
    let (jvp_v, jvp_t) = (s.jvp)(x, &dir);
    // A value or tangent that overflowed (or left a function's domain) on its way nowhere:
    // reverse mode gives NaN there, as TensorFlow and JAX do (`dual::saw_non_finite`). Only
    // a derivative that is not finite is excused; a finite one must still be right.
    let all_finite = |v: &[f64]| finite(v, f64::INFINITY);
    if overflowed && !(all_finite(&grad) && all_finite(&vjp) && all_finite(&jvp_t)) {
        return Outcome::Skipped(format!(
            "a value that is not finite on the way: gradient {grad:?}, tangent {jvp_t:?}"
        ));
    }
    for (what, v) in [
        ("dual", &dual_v),
        ("grad", &grad_v),
        ("vjp", &vjp_v),
        ("jvp", &jvp_v),
    ] {
        if v.len() != value.len()
            || v.iter()
                .zip(&value)
                .any(|(a, b)| !close(*a, *b, a.abs() + b.abs(), VALUE_TOL))
        {
            let kind = if what == "dual" {
                "oracle-value"
            } else {
                "value"
            };
            return fail(
                kind,
                format!("{}: value of {what} {v:?} vs f::<f64> {value:?}", s.name),
            );
        }
    }
    if grad.len() != s.wrt.len() || vjp.len() != s.wrt.len() {
        return fail(
            "shape",
            format!(
                "{}: gradient of length {} for {} inputs",
                s.name,
                grad.len(),
                s.wrt.len()
            ),
        );
    }
    // forward mode against the oracle, output by output
    for (j, (a, b)) in jvp_t.iter().zip(&dual_t).enumerate() {
        if !close(*a, *b, a.abs() + b.abs(), DERIV_TOL) {
            return fail(
                "jvp",
                format!(
                    "{}: f_jvp tangent of output {j} is {a}, dual numbers give {b} (direction {dir:?})",
                    s.name
                ),
            );
        }
    }
    // reverse mode against the oracle: <grad, dir> = sum of the tangents
    let dot = |g: &[f64]| -> (f64, f64) {
        let terms: Vec<f64> = s.wrt.iter().zip(g).map(|(&w, gi)| gi * dir[w]).collect();
        (terms.iter().sum(), terms.iter().map(|t| t.abs()).sum())
    };
    let (gd, gscale) = dot(&grad);
    let expect: f64 = dual_t.iter().sum();
    let escale: f64 = dual_t.iter().map(|t| t.abs()).sum();
    if !close(gd, expect, gscale + escale, DERIV_TOL) {
        return fail(
            "grad",
            format!(
                "{}: <f_grad, u> = {gd}, dual numbers give {expect} (gradient {grad:?}, direction {dir:?})",
                s.name
            ),
        );
    }
    let (vd, vscale) = dot(&vjp);
    let expect: f64 = dual_t.iter().zip(&seed).map(|(t, w)| t * w).sum();
    if !close(vd, expect, vscale + escale, DERIV_TOL) {
        return fail(
            "vjp",
            format!(
                "{}: <f_vjp(w), u> = {vd}, <w, dual tangent> = {expect} (seed {seed:?}, vjp {vjp:?}, direction {dir:?})",
                s.name
            ),
        );
    }
    if s.smooth {
        let at = |h: f64| -> Vec<f64> {
            let p: Vec<f64> = x.iter().zip(&dir).map(|(a, d)| a + h * d).collect();
            let m: Vec<f64> = x.iter().zip(&dir).map(|(a, d)| a - h * d).collect();
            let (fp, fm) = ((s.value)(&p), (s.value)(&m));
            fp.iter()
                .zip(&fm)
                .map(|(a, b)| (a - b) / (2.0 * h))
                .collect()
        };
        let (d1, d2) = (at(2e-4), at(1e-4));
        for (j, t) in dual_t.iter().enumerate() {
            let r = (4.0 * d2[j] - d1[j]) / 3.0;
            if r.is_finite() && !close(r, *t, t.abs(), FD_TOL) {
                return fail(
                    "finite-differences",
                    format!(
                        "{}: output {j}: dual tangent {t}, finite differences {r}",
                        s.name
                    ),
                );
            }
        }
    }
    Outcome::Passed
}

/// Runs checks, catching panics (a panic in generated code is a failure of its own kind).
pub fn run_check(f: fn() -> Outcome) -> Outcome {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let r = std::panic::catch_unwind(f);
    std::panic::set_hook(hook);
    match r {
        Ok(o) => o,
        Err(e) => {
            let msg = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            fail("panic", msg)
        }
    }
}

/// Checks of one program, by name.
pub type Checks = Vec<(&'static str, fn() -> Outcome)>;

/// Runs a corpus and fails with every failure's message; skipped checks (values out of range)
/// must stay rare, or the corpus would check less than it says.
pub fn assert_corpus(all: Vec<(usize, Checks)>) {
    let mut failures = Vec::new();
    let (mut passed, mut skipped) = (0, 0);
    for (i, checks) in all {
        for (name, c) in checks {
            match run_check(c) {
                Outcome::Passed => passed += 1,
                Outcome::Skipped(_) => skipped += 1,
                Outcome::Failed { kind, message } => {
                    failures.push(format!("program {i} {name}: {kind}: {message}"))
                }
            }
        }
    }
    let total = passed + skipped + failures.len();
    assert!(
        failures.is_empty(),
        "{} of {total} functions failed (reproduce and shrink with `cargo run -p difftest --release -- --seed 2026 --count 1000`):\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        skipped * 10 <= total,
        "{skipped} of {total} functions skipped (values out of range): the generator needs bounding"
    );
}
