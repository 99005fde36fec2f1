//! An oracle type for generic `T: Float` functions: `num_dual::Dual64` behind a newtype that
//! implements `num_traits::Float` (num-dual 0.15 does not), each method delegating to
//! num-dual's own. The same generic function then runs at `f64` (differentiated by the macro)
//! and at `D` (exact forward-mode derivatives computed by num-dual), and the two share no code.
#![allow(dead_code)]

use num_dual::{Dual64, DualNum};
use num_traits::{Float, Num, NumCast, One, ToPrimitive, Zero};
use std::cmp::Ordering;
use std::num::FpCategory;
use std::ops::{Add, Div, Mul, Neg, Rem, Sub};

#[derive(Clone, Copy, Debug)]
pub struct D(pub Dual64);

impl D {
    /// A variable with tangent `eps`.
    pub fn var(re: f64, eps: f64) -> D {
        D(Dual64::new(re, eps))
    }
    /// A constant (tangent zero).
    pub fn cst(re: f64) -> D {
        D(Dual64::new(re, 0.0))
    }
    pub fn re(self) -> f64 {
        self.0.re
    }
    pub fn eps(self) -> f64 {
        self.0.eps
    }
}

impl PartialEq for D {
    fn eq(&self, other: &D) -> bool {
        self.0.re == other.0.re
    }
}

impl PartialOrd for D {
    fn partial_cmp(&self, other: &D) -> Option<Ordering> {
        self.0.re.partial_cmp(&other.0.re)
    }
}

macro_rules! binop {
    ($($trait:ident $method:ident $op:tt),*) => {$(
        impl $trait for D {
            type Output = D;
            fn $method(self, other: D) -> D {
                D(self.0 $op other.0)
            }
        }
    )*};
}
binop!(Add add +, Sub sub -, Mul mul *, Div div /);
impl std::ops::AddAssign for D {
    fn add_assign(&mut self, other: D) {
        *self = *self + other;
    }
}
impl std::ops::SubAssign for D {
    fn sub_assign(&mut self, other: D) {
        *self = *self - other;
    }
}
impl std::ops::MulAssign for D {
    fn mul_assign(&mut self, other: D) {
        *self = *self * other;
    }
}
impl std::iter::Sum for D {
    fn sum<I: Iterator<Item = D>>(it: I) -> D {
        it.fold(D::cst(0.0), |a, b| a + b)
    }
}
impl std::iter::Product for D {
    fn product<I: Iterator<Item = D>>(it: I) -> D {
        it.fold(D::cst(1.0), |a, b| a * b)
    }
}

impl Rem for D {
    type Output = D;
    fn rem(self, other: D) -> D {
        // d(a % b) = da - trunc(a / b) db where it is smooth.
        let q = (self.0.re / other.0.re).trunc();
        D(Dual64::new(
            self.0.re % other.0.re,
            self.0.eps - q * other.0.eps,
        ))
    }
}

impl Neg for D {
    type Output = D;
    fn neg(self) -> D {
        D(-self.0)
    }
}

impl Zero for D {
    fn zero() -> D {
        D::cst(0.0)
    }
    fn is_zero(&self) -> bool {
        self.0.re == 0.0
    }
}

impl One for D {
    fn one() -> D {
        D::cst(1.0)
    }
}

impl Num for D {
    type FromStrRadixErr = <f64 as Num>::FromStrRadixErr;
    fn from_str_radix(s: &str, radix: u32) -> Result<D, Self::FromStrRadixErr> {
        f64::from_str_radix(s, radix).map(D::cst)
    }
}

impl ToPrimitive for D {
    fn to_i64(&self) -> Option<i64> {
        self.0.re.to_i64()
    }
    fn to_u64(&self) -> Option<u64> {
        self.0.re.to_u64()
    }
    fn to_f64(&self) -> Option<f64> {
        Some(self.0.re)
    }
}

impl NumCast for D {
    fn from<N: ToPrimitive>(n: N) -> Option<D> {
        n.to_f64().map(D::cst)
    }
}

/// A constant of the value of `x` (for the methods that are piecewise constant).
fn flat(x: f64) -> D {
    D::cst(x)
}

impl Float for D {
    fn nan() -> D {
        D::cst(f64::NAN)
    }
    fn infinity() -> D {
        D::cst(f64::INFINITY)
    }
    fn neg_infinity() -> D {
        D::cst(f64::NEG_INFINITY)
    }
    fn neg_zero() -> D {
        D::cst(-0.0)
    }
    fn min_value() -> D {
        D::cst(f64::MIN)
    }
    fn min_positive_value() -> D {
        D::cst(f64::MIN_POSITIVE)
    }
    fn max_value() -> D {
        D::cst(f64::MAX)
    }
    fn epsilon() -> D {
        D::cst(f64::EPSILON)
    }
    fn is_nan(self) -> bool {
        self.0.re.is_nan()
    }
    fn is_infinite(self) -> bool {
        self.0.re.is_infinite()
    }
    fn is_finite(self) -> bool {
        self.0.re.is_finite()
    }
    fn is_normal(self) -> bool {
        self.0.re.is_normal()
    }
    fn classify(self) -> FpCategory {
        self.0.re.classify()
    }
    fn floor(self) -> D {
        flat(self.0.re.floor())
    }
    fn ceil(self) -> D {
        flat(self.0.re.ceil())
    }
    fn round(self) -> D {
        flat(self.0.re.round())
    }
    fn trunc(self) -> D {
        flat(self.0.re.trunc())
    }
    fn fract(self) -> D {
        D(Dual64::new(self.0.re.fract(), self.0.eps))
    }
    fn abs(self) -> D {
        if self.0.re < 0.0 {
            -self
        } else {
            self
        }
    }
    fn signum(self) -> D {
        flat(self.0.re.signum())
    }
    fn is_sign_positive(self) -> bool {
        self.0.re.is_sign_positive()
    }
    fn is_sign_negative(self) -> bool {
        self.0.re.is_sign_negative()
    }
    fn mul_add(self, a: D, b: D) -> D {
        D(self.0.mul_add(a.0, b.0))
    }
    fn recip(self) -> D {
        D(DualNum::recip(&self.0))
    }
    fn powi(self, n: i32) -> D {
        D(DualNum::powi(&self.0, n))
    }
    fn powf(self, n: D) -> D {
        D(self.0.powd(n.0))
    }
    fn sqrt(self) -> D {
        D(DualNum::sqrt(&self.0))
    }
    fn exp(self) -> D {
        D(DualNum::exp(&self.0))
    }
    fn exp2(self) -> D {
        D(DualNum::exp2(&self.0))
    }
    fn ln(self) -> D {
        D(DualNum::ln(&self.0))
    }
    fn log(self, base: D) -> D {
        self.ln() / base.ln()
    }
    fn log2(self) -> D {
        D(DualNum::log2(&self.0))
    }
    fn log10(self) -> D {
        D(DualNum::log10(&self.0))
    }
    fn max(self, other: D) -> D {
        if self.0.re >= other.0.re {
            self
        } else {
            other
        }
    }
    fn min(self, other: D) -> D {
        if self.0.re <= other.0.re {
            self
        } else {
            other
        }
    }
    fn abs_sub(self, other: D) -> D {
        if self.0.re <= other.0.re {
            D::cst(0.0)
        } else {
            self - other
        }
    }
    fn cbrt(self) -> D {
        D(DualNum::cbrt(&self.0))
    }
    fn hypot(self, other: D) -> D {
        (self * self + other * other).sqrt()
    }
    fn sin(self) -> D {
        D(DualNum::sin(&self.0))
    }
    fn cos(self) -> D {
        D(DualNum::cos(&self.0))
    }
    fn tan(self) -> D {
        D(DualNum::tan(&self.0))
    }
    fn asin(self) -> D {
        D(DualNum::asin(&self.0))
    }
    fn acos(self) -> D {
        D(DualNum::acos(&self.0))
    }
    fn atan(self) -> D {
        D(DualNum::atan(&self.0))
    }
    fn atan2(self, other: D) -> D {
        D(DualNum::atan2(&self.0, other.0))
    }
    fn sin_cos(self) -> (D, D) {
        (self.sin(), self.cos())
    }
    fn exp_m1(self) -> D {
        D(DualNum::exp_m1(&self.0))
    }
    fn ln_1p(self) -> D {
        D(DualNum::ln_1p(&self.0))
    }
    fn sinh(self) -> D {
        D(DualNum::sinh(&self.0))
    }
    fn cosh(self) -> D {
        D(DualNum::cosh(&self.0))
    }
    fn tanh(self) -> D {
        D(DualNum::tanh(&self.0))
    }
    fn asinh(self) -> D {
        D(DualNum::asinh(&self.0))
    }
    fn acosh(self) -> D {
        D(DualNum::acosh(&self.0))
    }
    fn atanh(self) -> D {
        D(DualNum::atanh(&self.0))
    }
    fn integer_decode(self) -> (u64, i16, i8) {
        self.0.re.integer_decode()
    }
}

/// The derivative of `f` at `x` along `t`, from dual numbers.
pub fn derivative(f: impl Fn(D) -> D, x: f64, t: f64) -> (f64, f64) {
    let y = f(D::var(x, t));
    (y.re(), y.eps())
}

/// The gradient of `f` at `x`, one dual evaluation per component.
pub fn gradient(f: impl Fn(&[D]) -> D, x: &[f64]) -> (f64, Vec<f64>) {
    let at = |k: Option<usize>| -> Vec<D> {
        x.iter()
            .enumerate()
            .map(|(i, &v)| D::var(v, if Some(i) == k { 1.0 } else { 0.0 }))
            .collect()
    };
    let value = f(&at(None)).re();
    let grad = (0..x.len()).map(|k| f(&at(Some(k))).eps()).collect();
    (value, grad)
}

/// Central finite difference of `f` at `x` (Richardson-extrapolated: error O(h⁴)).
pub fn finite_difference(f: impl Fn(f64) -> f64, x: f64) -> f64 {
    let h = 1e-3 * (1.0 + x.abs());
    let d = |h: f64| (f(x + h) - f(x - h)) / (2.0 * h);
    (4.0 * d(h / 2.0) - d(h)) / 3.0
}

/// `|a - b| <= tol (1 + |b|)`, with a message.
pub fn assert_close(what: &str, got: f64, want: f64, tol: f64) {
    assert!(
        (got - want).abs() <= tol * (1.0 + want.abs()),
        "{what}: got {got}, want {want}"
    );
}

/// `f(x)` with one differentiated scalar `x`: the value, `_grad`, `_vjp` (seed 0.7) and
/// `_jvp` (tangent -1.3) against dual numbers, and the gradient against finite differences.
#[allow(clippy::too_many_arguments)]
pub fn check_scalar(
    name: &str,
    x: f64,
    primal: impl Fn(f64) -> f64,
    oracle: impl Fn(D) -> D,
    grad: impl Fn(f64) -> (f64, f64),
    vjp: impl Fn(f64, f64) -> (f64, f64),
    jvp: impl Fn(f64, f64) -> (f64, f64),
) {
    let (value, exact) = derivative(&oracle, x, 1.0);
    assert_close(
        &format!("{name}({x}): oracle value"),
        value,
        primal(x),
        1e-12,
    );
    let fd = finite_difference(&primal, x);
    assert_close(
        &format!("{name}({x}): dual vs finite difference"),
        exact,
        fd,
        1e-6,
    );
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
#[allow(unused_macros)]
macro_rules! check {
    ($f:ident, $grad:ident, $vjp:ident, $jvp:ident, |$x:ident| ($($a:expr),*), at [$($at:expr),+]) => {
        for at in [$($at),+] {
            $crate::dual::check_scalar(
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
