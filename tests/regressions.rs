//! Silent wrong gradients found by differential testing (issue 13), each at the source level
//! against oracles that share no code with the macro: the same generic function run at dual
//! numbers (`dual::D`, num-dual's `Dual64` as a `Float`) and central finite differences.
//! Every case checks `_grad`, `_vjp` and `_jvp`, at operands that are not constants.
use autodiff::prelude::*;

mod dual;
use dual::{assert_close, derivative, finite_difference, gradient, D};

/// `f(x)` with one differentiated scalar `x`: the value, `_grad`, `_vjp` (seed 0.7) and
/// `_jvp` (tangent -1.3) against dual numbers, and the gradient against finite differences.
#[allow(clippy::too_many_arguments)]
fn check_scalar(
    name: &str,
    x: f64,
    primal: impl Fn(f64) -> f64,
    oracle: impl Fn(D) -> D,
    grad: impl Fn(f64) -> (f64, f64),
    vjp: impl Fn(f64, f64) -> (f64, f64),
    jvp: impl Fn(f64, f64) -> (f64, f64),
) {
    let (value, exact) = derivative(&oracle, x, 1.0);
    assert_close(&format!("{name}({x}): oracle value"), value, primal(x), 1e-12);
    let fd = finite_difference(&primal, x);
    assert_close(&format!("{name}({x}): dual vs finite difference"), exact, fd, 1e-6);
    let (v, g) = grad(x);
    assert_close(&format!("{name}({x}): _grad value"), v, value, 1e-12);
    assert_close(&format!("{name}({x}): _grad"), g, exact, 1e-10);
    let (v, g) = vjp(x, 0.7);
    assert_close(&format!("{name}({x}): _vjp value"), v, value, 1e-12);
    assert_close(&format!("{name}({x}): _vjp"), g, 0.7 * exact, 1e-10);
    let (v, t) = jvp(x, -1.3);
    assert_close(&format!("{name}({x}): _jvp value"), v, value, 1e-12);
    let (_, exact_t) = derivative(&oracle, x, -1.3);
    assert_close(&format!("{name}({x}): _jvp"), t, exact_t, 1e-10);
}

/// `check_scalar` for a generic function `f(.., x, ..)` differentiated with respect to `x`
/// alone: `|x| f(args)` names where `x` goes among the arguments.
macro_rules! check {
    ($f:ident, $grad:ident, $vjp:ident, $jvp:ident, |$x:ident| ($($a:expr),*), at [$($at:expr),+]) => {
        for at in [$($at),+] {
            check_scalar(
                stringify!($f),
                at,
                |$x: f64| $f($($a),*),
                |$x: D| $f($($a),*),
                |$x: f64| $grad($($a),*),
                |$x: f64, s: f64| $vjp($($a,)* s),
                |$x: f64, t: f64| $jvp($($a,)* t),
            );
        }
    };
}

fn c<T: Float>(v: f64) -> T {
    T::from(v).unwrap()
}

// ---------------------------------------------------------------------------------------
// 1. `x.powi(n)` with an exponent that is not a literal: the rule took `n - 1` to be `n`.

#[differentiate(wrt = r)]
fn powi_param<T: Float>(r: T, n: i32) -> T {
    r.powi(n) * (r * T::from(0.5).unwrap()).sin()
}

#[differentiate(wrt = r)]
fn powi_loop<T: Float>(r: T, m: usize) -> T {
    let mut s = T::zero();
    for k in 0..m {
        s = s + r.powi(k as i32) / T::from(k + 1).unwrap();
    }
    s
}

/// Exponents computed from a parameter, in path form, negative, and inside a loop whose
/// reversal needs the exponent back.
#[differentiate(wrt = r)]
fn powi_computed<T: Float>(r: T, n: i32) -> T {
    let mut p = r;
    let mut total = T::zero();
    for k in 0..3 {
        p = T::powi(p, n - k) * T::from(0.9).unwrap() + r;
        total = total + r.powi(-n) + p.powi(2 * k + 1 - n);
    }
    total + p
}

#[test]
fn powi_with_a_variable_exponent() {
    // The example: d/dr r³ at r = 2 is 12.
    let (_, g) = powi_param_grad(2.0_f64, 3);
    let want = 12.0 * 1.0_f64.sin() + 8.0 * 0.5 * 1.0_f64.cos();
    assert_close("d/dr r^3 sin(r/2) at 2", g, want, 1e-12);
    for n in [-3, -1, 0, 1, 2, 5] {
        check!(powi_param, powi_param_grad, powi_param_vjp, powi_param_jvp, |x| (x, n), at [2.0, -0.7, 1.3]);
    }
    for m in [0, 1, 4] {
        check!(powi_loop, powi_loop_grad, powi_loop_vjp, powi_loop_jvp, |x| (x, m), at [2.0, -0.7]);
    }
    for n in [1, 2, 3] {
        check!(powi_computed, powi_computed_grad, powi_computed_vjp, powi_computed_jvp, |x| (x, n), at [0.8, 1.1]);
    }
}
