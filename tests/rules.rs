//! Every float method with a derivative rule, checked against independent oracles: dual
//! numbers from the `num-dual` crate (exact forward-mode derivatives of the same expression),
//! central finite differences, and forward against reverse (`f_jvp` against `f_grad`).
use autodiff::prelude::*;
use num_dual::{Dual64, DualNum};

/// Checks `f_grad` and `f_jvp` of a one-argument function at `x`; `exact` is the derivative
/// from an independent oracle.
fn check(
    name: &str,
    x: f64,
    exact: f64,
    primal: fn(f64) -> f64,
    grad: fn(f64) -> (f64, f64),
    jvp: fn(f64, f64) -> (f64, f64),
) {
    let (value, g) = grad(x);
    assert_eq!(value, primal(x), "{name}: value");
    assert!(
        (g - exact).abs() <= 1e-12 * (1.0 + exact.abs()),
        "{name}({x}): grad {g}, oracle {exact}"
    );
    let h = 1e-6;
    let fd = (primal(x + h) - primal(x - h)) / (2.0 * h);
    assert!(
        (g - fd).abs() <= 1e-5 * (1.0 + fd.abs()),
        "{name}({x}): grad {g}, finite difference {fd}"
    );
    let (v2, t) = jvp(x, 0.75);
    assert_eq!(v2, value, "{name}: jvp value");
    assert!(
        (t - 0.75 * g).abs() <= 1e-12 * (1.0 + t.abs()),
        "{name}: jvp {t} vs 0.75 * grad {g}"
    );
}

/// One test per rule: the body is written once and run on `f64` (differentiated by the
/// macro) and on `Dual64` (the oracle).
macro_rules! rule {
    ($f:ident, $grad:ident, $jvp:ident, |$x:ident| $body:expr, at [$($v:expr),+]) => {
        // One module per rule, holding the function and its test.
        mod $f {
            use super::*;

            #[differentiate(wrt = x)]
            fn $f($x: f64) -> f64 {
                $body
            }

            #[test]
            fn matches_dual_numbers_finite_differences_and_forward_mode() {
                $(
                    let exact = (|$x: Dual64| $body)(Dual64::new($v, 1.0)).eps;
                    check(stringify!($f), $v, exact, $f, $grad, $jvp);
                )+
            }
        }
    };
}

mod with_dual_oracle {
    use super::*;
    rule!(sin, sin_grad, sin_jvp, |x| (x * 1.5).sin() * x, at [0.3, -1.2]);
    rule!(cos, cos_grad, cos_jvp, |x| (x * 1.5).cos() * x, at [0.3, 2.0]);
    rule!(tan, tan_grad, tan_jvp, |x| (x * 0.5).tan() * x, at [0.3, -1.0]);
    rule!(asin, asin_grad, asin_jvp, |x| (x * 0.5).asin() * x, at [0.3, -1.5]);
    rule!(acos, acos_grad, acos_jvp, |x| (x * 0.5).acos() * x, at [0.3, 1.5]);
    rule!(atan, atan_grad, atan_jvp, |x| (x * 1.5).atan() * x, at [0.3, -4.0]);
    rule!(sinh, sinh_grad, sinh_jvp, |x| (x * 1.5).sinh() * x, at [0.3, -2.0]);
    rule!(cosh, cosh_grad, cosh_jvp, |x| (x * 1.5).cosh() * x, at [0.3, -2.0]);
    rule!(tanh, tanh_grad, tanh_jvp, |x| (x * 1.5).tanh() * x, at [0.3, -2.0]);
    rule!(asinh, asinh_grad, asinh_jvp, |x| (x * 1.5).asinh() * x, at [0.3, -2.0]);
    rule!(acosh, acosh_grad, acosh_jvp, |x| (x * 1.5).acosh() * x, at [1.3, 4.0]);
    rule!(atanh, atanh_grad, atanh_jvp, |x| (x * 0.5).atanh() * x, at [0.3, -1.5]);
    rule!(exp, exp_grad, exp_jvp, |x| (x * 1.5).exp() * x, at [0.3, -2.0]);
    rule!(exp2, exp2_grad, exp2_jvp, |x| (x * 1.5).exp2() * x, at [0.3, -2.0]);
    rule!(exp_m1, exp_m1_grad, exp_m1_jvp, |x| (x * 1.5).exp_m1() * x, at [0.3, -2.0]);
    rule!(ln, ln_grad, ln_jvp, |x| (x * 1.5).ln() * x, at [0.3, 2.0]);
    rule!(ln_1p, ln_1p_grad, ln_1p_jvp, |x| (x * 1.5).ln_1p() * x, at [0.3, -0.5]);
    rule!(log2, log2_grad, log2_jvp, |x| (x * 1.5).log2() * x, at [0.3, 2.0]);
    rule!(log10, log10_grad, log10_jvp, |x| (x * 1.5).log10() * x, at [0.3, 2.0]);
    rule!(sqrt, sqrt_grad, sqrt_jvp, |x| (x * 1.5).sqrt() * x, at [0.3, 2.0]);
    rule!(cbrt, cbrt_grad, cbrt_jvp, |x| (x * 1.5).cbrt() * x, at [0.3, -2.0]);
    rule!(recip, recip_grad, recip_jvp, |x| (x * 1.5).recip() * x.sin(), at [0.3, -2.0]);
    rule!(powi, powi_grad, powi_jvp, |x| (x * 1.5).powi(3) + x.powi(-2), at [0.3, -2.0]);
    rule!(powf, powf_grad, powf_jvp, |x| (x * 1.5).powf(2.5) * x, at [0.3, 2.0]);
    rule!(log, log_grad, log_jvp, |x| (x * 1.5).log(3.0) * x, at [0.3, 2.0]);
    rule!(atan2, atan2_grad, atan2_jvp, |x| (x * 1.5).atan2(x * x + 1.0), at [0.3, -2.0]);
    rule!(mul_add, mul_add_grad, mul_add_jvp, |x| x.mul_add(x.sin(), x * 3.0), at [0.3, -2.0]);
    rule!(division, division_grad, division_jvp, |x| (x + 1.0) / (x * x + 2.0) - x / 3.0, at [0.3, -2.0]);
    rule!(negation, negation_grad, negation_jvp, |x| -(x * x) - -x, at [0.3, -2.0]);
}

// Methods `num-dual` does not have: oracles written by hand.
#[differentiate(wrt = x)]
fn abs(x: f64) -> f64 {
    (x * 3.0).abs() + x.signum() * x
}

#[differentiate(wrt = x)]
fn hypot(x: f64) -> f64 {
    x.hypot(x * 2.0 + 1.0)
}

#[differentiate(wrt = x)]
fn powf_exponent(x: f64) -> f64 {
    1.7_f64.powf(x * x)
}

#[differentiate(wrt = x)]
fn log_base(x: f64) -> f64 {
    5.0_f64.log(x + 2.0)
}

#[differentiate(wrt = [a, b])]
fn max_min(a: f64, b: f64) -> f64 {
    a.max(b) * 10.0 + a.min(b)
}

#[test]
fn methods_without_a_dual_oracle() {
    check("abs", 0.5, 3.0 + 1.0, abs, abs_grad, abs_jvp);
    check("abs", -0.5, -3.0 - 1.0, abs, abs_grad, abs_jvp);
    // TensorFlow's convention at the kink: abs'(0) = 0 (signum contributes 1 * 0).
    assert_eq!(abs_grad(0.0).1, 1.0);
    let h = |x: f64| (x * x + (2.0 * x + 1.0).powi(2)).sqrt();
    let dh = |x: f64| (x + 2.0 * (2.0 * x + 1.0)) / h(x);
    check("hypot", 0.7, dh(0.7), hypot, hypot_grad, hypot_jvp);
    let x: f64 = 0.8;
    check(
        "powf exponent",
        x,
        1.7_f64.powf(x * x) * 1.7_f64.ln() * 2.0 * x,
        powf_exponent,
        powf_exponent_grad,
        powf_exponent_jvp,
    );
    let l = (x + 2.0).ln();
    check(
        "log base",
        x,
        -(5.0_f64.ln()) / (l * l * (x + 2.0)),
        log_base,
        log_base_grad,
        log_base_jvp,
    );
    assert_eq!(max_min_grad(2.0, 1.0).1, (10.0, 1.0));
    assert_eq!(max_min_grad(1.0, 2.0).1, (1.0, 10.0));
    // On ties the receiver gets the gradient, for max and for min.
    assert_eq!(max_min_grad(1.0, 1.0).1, (11.0, 0.0));
}

#[differentiate(wrt = x)]
fn kinked_abs(x: f64) -> f64 {
    x.abs()
}

#[test]
fn abs_has_a_zero_derivative_at_zero() {
    assert_eq!(kinked_abs_grad(0.0).1, 0.0);
    assert_eq!(kinked_abs_grad(-0.0).1, 0.0);
}

#[differentiate(wrt = y)]
fn powf_at_zero_base(x: f64, y: f64) -> f64 {
    x.powf(y)
}

#[test]
fn powf_exponent_gradient_is_zero_where_the_base_is_zero() {
    // As TensorFlow's pow: d/dy 0^y = 0 rather than NaN.
    assert_eq!(powf_at_zero_base_grad(0.0, 2.0).1, 0.0);
}
