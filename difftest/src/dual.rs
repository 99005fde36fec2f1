//! The oracle's number type: `num_dual::Dual64` (forward-mode dual numbers, a crate that
//! shares no code with the macro) behind a newtype that implements `num_traits::Float`, which
//! `Dual64` itself does not, so a generated `fn f<T: Float ..>` runs at it unchanged.
//!
//! Every derivative comes from num-dual's `DualNum`; where the `Float` method has no
//! `DualNum` counterpart (`hypot`, `max`, `min`, `log` with a dual base, `powf` with a dual
//! exponent) it is composed from ones that do. The real part is computed with the same `f64`
//! operation the function runs at `f64` (fused `mul_add`, `hypot`), so both take the same
//! branch at every comparison.

use num_dual::{Dual64, DualNum};
use num_traits::{Float, Num, NumCast, One, ToPrimitive, Zero};
use std::cmp::Ordering;
use std::num::FpCategory;
use std::ops::{
    Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Rem, RemAssign, Sub, SubAssign,
};

/// A dual number `re + eps·ε` implementing `num_traits::Float`.
#[derive(Clone, Copy, Debug)]
pub struct Dual(pub Dual64);

thread_local! {
    static NON_FINITE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` and says whether any value or tangent it computed at dual numbers was not finite
/// (an overflow, or NaN out of a function's domain), wherever it went: reverse mode
/// multiplies the zero adjoint of such a value by its infinite partials and gets NaN
/// (TensorFlow and JAX do the same: JAX's FAQ on NaN gradients through `where`), where dual
/// numbers never look at it; a rule of forward mode may multiply an infinite tangent by a
/// zero partial that num-dual never forms.
pub fn saw_non_finite<R>(f: impl FnOnce() -> R) -> (R, bool) {
    NON_FINITE.with(|c| c.set(false));
    let r = f();
    (r, NON_FINITE.with(|c| c.get()))
}

impl Dual {
    /// `re + eps·ε`.
    pub fn new(re: f64, eps: f64) -> Self {
        Dual::wrap(Dual64::new(re, eps))
    }
    /// Every value the oracle computes passes here (`saw_non_finite`).
    fn wrap(d: Dual64) -> Self {
        if !(d.re.is_finite() && d.eps.is_finite()) {
            NON_FINITE.with(|c| c.set(true));
        }
        Dual(d)
    }
    /// The value.
    pub fn re(self) -> f64 {
        self.0.re
    }
    /// The directional derivative.
    pub fn eps(self) -> f64 {
        self.0.eps
    }
    fn constant(re: f64) -> Self {
        Dual::new(re, 0.0)
    }
    /// The same derivative, with the real part `re` (bit-equal to the `f64` computation).
    fn with_re(self, re: f64) -> Self {
        Dual::new(re, self.0.eps)
    }
}

/// `stop_gradient` at the oracle: the identity at `f64`, a constant (zero tangent) at `Dual`.
pub trait Stop: Copy {
    fn stop(self) -> Self;
}

impl Stop for f64 {
    fn stop(self) -> Self {
        self
    }
}

impl Stop for Dual {
    fn stop(self) -> Self {
        Dual::constant(self.re())
    }
}

impl PartialEq for Dual {
    fn eq(&self, other: &Self) -> bool {
        self.re() == other.re()
    }
}

impl PartialOrd for Dual {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        self.re().partial_cmp(&other.re())
    }
}

macro_rules! binop {
    ($tr:ident, $f:ident, $atr:ident, $af:ident) => {
        impl $tr for Dual {
            type Output = Dual;
            fn $f(self, rhs: Dual) -> Dual {
                Dual::wrap($tr::$f(self.0, rhs.0))
            }
        }
        impl $atr for Dual {
            fn $af(&mut self, rhs: Dual) {
                *self = $tr::$f(*self, rhs);
            }
        }
    };
}
binop!(Add, add, AddAssign, add_assign);
binop!(Sub, sub, SubAssign, sub_assign);
binop!(Mul, mul, MulAssign, mul_assign);
binop!(Div, div, DivAssign, div_assign);

impl Rem for Dual {
    type Output = Dual;
    fn rem(self, rhs: Dual) -> Dual {
        // d(a mod b) = da - trunc(a / b) db
        let q = (self.re() / rhs.re()).trunc();
        Dual::new(self.re() % rhs.re(), self.eps() - q * rhs.eps())
    }
}
impl RemAssign for Dual {
    fn rem_assign(&mut self, rhs: Dual) {
        *self = *self % rhs;
    }
}

impl Neg for Dual {
    type Output = Dual;
    fn neg(self) -> Dual {
        Dual(-self.0)
    }
}

impl Zero for Dual {
    fn zero() -> Self {
        Dual::constant(0.0)
    }
    fn is_zero(&self) -> bool {
        self.re() == 0.0
    }
}

impl One for Dual {
    fn one() -> Self {
        Dual::constant(1.0)
    }
}

impl Num for Dual {
    type FromStrRadixErr = <f64 as Num>::FromStrRadixErr;
    fn from_str_radix(s: &str, radix: u32) -> Result<Self, Self::FromStrRadixErr> {
        f64::from_str_radix(s, radix).map(Dual::constant)
    }
}

impl ToPrimitive for Dual {
    fn to_i64(&self) -> Option<i64> {
        self.re().to_i64()
    }
    fn to_u64(&self) -> Option<u64> {
        self.re().to_u64()
    }
    fn to_f64(&self) -> Option<f64> {
        Some(self.re())
    }
}

impl NumCast for Dual {
    fn from<N: ToPrimitive>(n: N) -> Option<Self> {
        n.to_f64().map(Dual::constant)
    }
}

impl std::iter::Sum for Dual {
    fn sum<I: Iterator<Item = Dual>>(iter: I) -> Dual {
        iter.fold(Dual::zero(), |a, b| a + b)
    }
}

impl std::iter::Product for Dual {
    fn product<I: Iterator<Item = Dual>>(iter: I) -> Dual {
        iter.fold(Dual::one(), |a, b| a * b)
    }
}

macro_rules! unary {
    ($($f:ident),*) => {
        $(fn $f(self) -> Self { Dual(DualNum::$f(&self.0)).with_re(self.re().$f()) })*
    };
}
macro_rules! piecewise_constant {
    ($($f:ident),*) => {
        $(fn $f(self) -> Self { Dual::constant(self.re().$f()) })*
    };
}

impl Float for Dual {
    unary!(
        recip, sqrt, cbrt, exp, exp2, exp_m1, ln, log2, log10, ln_1p, sin, cos, tan, asin, acos,
        atan, sinh, cosh, tanh, asinh, acosh, atanh
    );
    piecewise_constant!(floor, ceil, round, trunc);

    fn nan() -> Self {
        Dual::constant(f64::NAN)
    }
    fn infinity() -> Self {
        Dual::constant(f64::INFINITY)
    }
    fn neg_infinity() -> Self {
        Dual::constant(f64::NEG_INFINITY)
    }
    fn neg_zero() -> Self {
        Dual::constant(-0.0)
    }
    fn min_value() -> Self {
        Dual::constant(f64::MIN)
    }
    fn min_positive_value() -> Self {
        Dual::constant(f64::MIN_POSITIVE)
    }
    fn max_value() -> Self {
        Dual::constant(f64::MAX)
    }
    fn is_nan(self) -> bool {
        self.re().is_nan() || self.eps().is_nan()
    }
    fn is_infinite(self) -> bool {
        self.re().is_infinite()
    }
    fn is_finite(self) -> bool {
        self.re().is_finite()
    }
    fn is_normal(self) -> bool {
        self.re().is_normal()
    }
    fn classify(self) -> FpCategory {
        self.re().classify()
    }
    fn fract(self) -> Self {
        self.with_re(self.re().fract())
    }
    fn abs(self) -> Self {
        // TensorFlow's convention abs'(0) = 0, as the macro documents.
        let s = if self.re() > 0.0 {
            1.0
        } else if self.re() < 0.0 {
            -1.0
        } else {
            0.0
        };
        Dual::new(self.re().abs(), s * self.eps())
    }
    fn signum(self) -> Self {
        Dual::constant(self.re().signum())
    }
    fn is_sign_positive(self) -> bool {
        self.re().is_sign_positive()
    }
    fn is_sign_negative(self) -> bool {
        self.re().is_sign_negative()
    }
    fn mul_add(self, a: Self, b: Self) -> Self {
        (self * a + b).with_re(self.re().mul_add(a.re(), b.re()))
    }
    fn powi(self, n: i32) -> Self {
        Dual(DualNum::powi(&self.0, n)).with_re(self.re().powi(n))
    }
    fn powf(self, n: Self) -> Self {
        let re = self.re().powf(n.re());
        if n.eps() == 0.0 {
            Dual(DualNum::powf(&self.0, n.re())).with_re(re)
        } else {
            // x^y = exp(y ln x); the macro's convention: d/dy is 0 where x <= 0.
            let dx = n.re() * self.re().powf(n.re() - 1.0) * self.eps();
            let dy = if self.re() > 0.0 {
                re * self.re().ln() * n.eps()
            } else {
                0.0
            };
            Dual::new(re, dx + dy)
        }
    }
    fn log(self, base: Self) -> Self {
        (self.ln() / base.ln()).with_re(self.re().log(base.re()))
    }
    fn max(self, other: Self) -> Self {
        // Ties go to the receiver, as the macro documents.
        if other.re() > self.re() {
            other
        } else {
            self
        }
    }
    fn min(self, other: Self) -> Self {
        if other.re() < self.re() {
            other
        } else {
            self
        }
    }
    fn abs_sub(self, other: Self) -> Self {
        if self.re() > other.re() {
            self - other
        } else {
            Dual::zero()
        }
    }
    fn hypot(self, other: Self) -> Self {
        (self * self + other * other)
            .sqrt()
            .with_re(self.re().hypot(other.re()))
    }
    fn atan2(self, other: Self) -> Self {
        Dual(DualNum::atan2(&self.0, other.0)).with_re(self.re().atan2(other.re()))
    }
    fn sin_cos(self) -> (Self, Self) {
        (self.sin(), self.cos())
    }
    fn integer_decode(self) -> (u64, i16, i8) {
        self.re().integer_decode()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(f: impl Fn(Dual) -> Dual, x: f64) -> f64 {
        f(Dual::new(x, 1.0)).eps()
    }

    #[test]
    fn derivatives_of_composed_methods() {
        let y = Dual::constant(0.7);
        assert!((d(|x| x.hypot(y), 0.5) - 0.5 / 0.5f64.hypot(0.7)).abs() < 1e-15);
        assert!((d(|x| y.powf(x), 0.5) - 0.7f64.powf(0.5) * 0.7f64.ln()).abs() < 1e-15);
        assert!((d(|x| x.powf(y), 0.5) - 0.7 * 0.5f64.powf(-0.3)).abs() < 1e-15);
        assert!((d(|x| x.log(y), 0.5) - 1.0 / (0.5 * 0.7f64.ln())).abs() < 1e-14);
        assert!((d(|x| y.log(x), 0.5) + 0.7f64.ln() / (0.5 * 0.5f64.ln().powi(2))).abs() < 1e-14);
        assert_eq!(d(|x| x.max(y), 0.5), 0.0);
        assert_eq!(d(|x| x.max(y), 0.9), 1.0);
        assert_eq!(d(|x| x.abs(), -0.3), -1.0);
        assert!((d(|x| x.mul_add(x, y), 0.5) - 1.0).abs() < 1e-15);
        assert!((d(|x| x.powi(3), 2.0) - 12.0).abs() < 1e-15);
    }
}
