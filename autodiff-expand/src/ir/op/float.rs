//! The float methods' rows of the op registry (`x.sin()`, `x.atan2(y)`): adding a float
//! method is one row here and one line in `tests/rule_table.rs` (CONTRIBUTING.md).
use super::*;

const LN_2: f64 = std::f64::consts::LN_2;
const LN_10: f64 = std::f64::consts::LN_10;

/// The float methods: `Name { Variant => method, cost, [draws], rule; .. }`. The method is
/// also the op's evaluation (`x.method()` on `f64`) and its emission (`x.method()`); the rule
/// is `|b, x, y| partial` for a unary method and `|b, x, z, y| [partial of x, partial of z]`
/// for a binary one (`y` is the result). Generates the enum with `ALL`, `method`,
/// `from_method`, `eval`, `cost`, `fuzz` and `partials`.
macro_rules! float_methods {
    (unary $name:ident { $($variant:ident => $method:ident, $cost:ident, [$($draw:ident),*], $rule:expr;)* }) => {
        float_methods!(@common $name { $($variant => $method, $cost, [$($draw),*];)* });
        impl $name {
            pub fn eval(self, x: f64) -> f64 {
                match self { $($name::$variant => x.$method(),)* }
            }
            pub fn partial(self, b: &mut Builder, x: Operand, y: Operand) -> Partial {
                match self {
                    $($name::$variant => {
                        let rule: fn(&mut Builder, Operand, Operand) -> Partial = $rule;
                        rule(b, x, y)
                    })*
                }
            }
        }
    };
    (binary $name:ident { $($variant:ident => $method:ident, $cost:ident, [$($draw:ident),*], $rule:expr;)* }) => {
        float_methods!(@common $name { $($variant => $method, $cost, [$($draw),*];)* });
        impl $name {
            pub fn eval(self, x: f64, z: f64) -> f64 {
                match self { $($name::$variant => x.$method(z),)* }
            }
            pub fn partials(self, b: &mut Builder, x: Operand, z: Operand, y: Operand) -> [Partial; 2] {
                match self {
                    $($name::$variant => {
                        let rule: fn(&mut Builder, Operand, Operand, Operand) -> [Partial; 2] = $rule;
                        rule(b, x, z, y)
                    })*
                }
            }
        }
    };
    (@common $name:ident { $($variant:ident => $method:ident, $cost:ident, [$($draw:ident),*];)* }) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name { $($variant,)* }
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];
            /// The float method's name, as written in Rust.
            pub fn method(self) -> &'static str {
                match self { $($name::$variant => stringify!($method),)* }
            }
            pub fn from_method(name: &str) -> Option<Self> {
                match name { $(stringify!($method) => Some($name::$variant),)* _ => None }
            }
            pub fn cost(self) -> Cost {
                match self { $($name::$variant => Cost::$cost,)* }
            }
            pub fn fuzz(self) -> &'static [Draw] {
                match self { $($name::$variant => &[$(Draw::$draw),*],)* }
            }
        }
    };
}

float_methods!(unary Unary {
    Sin => sin, Save, [Real], |b, x, _| p(Coef::Mul(b.unary(Unary::Cos, x)));
    Cos => cos, Save, [Real], |b, x, _| neg(Coef::Mul(b.unary(Unary::Sin, x)));
    Tan => tan, Save, [Bounded], |b, _, y| {
        let yy = b.mul(y.clone(), y);
        p(Coef::Mul(b.add(one(), yy)))
    };
    Asin => asin, Save, [Unit], |b, x, _| p(Coef::Div(sqrt_one_minus_square(b, x)));
    Acos => acos, Save, [Unit], |b, x, _| neg(Coef::Div(sqrt_one_minus_square(b, x)));
    Atan => atan, Save, [Real], |b, x, _| {
        let xx = b.mul(x.clone(), x);
        p(Coef::Div(b.add(one(), xx)))
    };
    Sinh => sinh, Save, [Bounded], |b, x, _| p(Coef::Mul(b.unary(Unary::Cosh, x)));
    Cosh => cosh, Save, [Bounded], |b, x, _| p(Coef::Mul(b.unary(Unary::Sinh, x)));
    Tanh => tanh, Save, [Real], |b, _, y| {
        let yy = b.mul(y.clone(), y);
        p(Coef::Mul(b.sub(one(), yy)))
    };
    Asinh => asinh, Save, [Real], |b, x, _| {
        let xx = b.mul(x.clone(), x);
        let d = b.add(xx, one());
        p(Coef::Div(b.unary(Unary::Sqrt, d)))
    };
    Acosh => acosh, Save, [AboveOne], |b, x, _| {
        let xx = b.mul(x.clone(), x);
        let d = b.sub(xx, one());
        p(Coef::Div(b.unary(Unary::Sqrt, d)))
    };
    Atanh => atanh, Save, [Unit], |b, x, _| {
        let xx = b.mul(x.clone(), x);
        p(Coef::Div(b.sub(one(), xx)))
    };
    Exp => exp, Save, [Bounded], |_, _, y| p(Coef::Mul(y));
    Exp2 => exp2, Save, [Bounded], |b, _, y| p(Coef::Mul(b.mul(y, Operand::Lit(LN_2))));
    ExpM1 => exp_m1, Save, [Bounded], |b, _, y| p(Coef::Mul(b.add(y, one())));
    Ln => ln, Save, [Positive], |_, x, _| p(Coef::Div(x));
    Ln1p => ln_1p, Save, [Positive], |b, x, _| p(Coef::Div(b.add(x, one())));
    Log2 => log2, Save, [Positive], |b, x, _| p(Coef::Div(b.mul(x, Operand::Lit(LN_2))));
    Log10 => log10, Save, [Positive], |b, x, _| p(Coef::Div(b.mul(x, Operand::Lit(LN_10))));
    Sqrt => sqrt, Recompute, [Positive], |b, _, y| p(Coef::Div(b.add(y.clone(), y)));
    Cbrt => cbrt, Save, [Positive], |b, _, y| {
        let yy = b.mul(y.clone(), y);
        p(Coef::Div(b.mul(yy, Operand::Lit(3.0))))
    };
    Recip => recip, Recompute, [Positive], |b, _, y| neg(Coef::Mul(b.mul(y.clone(), y)));
    Abs => abs, Recompute, [Real], |b, x, _| p(Coef::Mul(b.op(Op::Sign, vec![x])));
    // The partial 0 (g * 0), not no partial: x stays connected, as activity says and as
    // TensorFlow's `sign` is (`unconnected = none` gives `Some(0)`).
    Signum => signum, Recompute, [Real], |_, _, _| p(Coef::Mul(Operand::Lit(0.0)));
});

float_methods!(binary Binary {
    // y = x.atan2(z) = atan(x / z): dx = z / r, dz = -x / r with r = x² + z².
    Atan2 => atan2, Save, [Real, Positive], |b, x, z, _| {
        let xx = b.mul(x.clone(), x.clone());
        let zz = b.mul(z.clone(), z.clone());
        let r = b.add(xx, zz);
        [p(Coef::Mul(b.div(z, r.clone()))), neg(Coef::Mul(b.div(x, r)))]
    };
    Powf => powf, Save, [Positive, Bounded], powf_partials;
    // y = ln x / ln z: dx = 1 / (x ln z), dz = -y / (z ln z)
    Log => log, Save, [Positive, AboveOne], |b, x, z, y| {
        let ln_z = b.unary(Unary::Ln, z.clone());
        let dx = b.mul(x, ln_z.clone());
        let z_ln_z = b.mul(z, ln_z);
        [p(Coef::Div(dx)), neg(Coef::Mul(b.div(y, z_ln_z)))]
    };
    Hypot => hypot, Recompute, [Positive, Real], |b, x, z, y| {
        [p(Coef::Mul(b.div(x, y.clone()))), p(Coef::Mul(b.div(z, y)))]
    };
    Max => max, Recompute, [Real, Real], |_, x, z, _| gates(Cmp::Ge, x, z);
    Min => min, Recompute, [Real, Real], |_, x, z, _| gates(Cmp::Le, x, z);
});

/// `sqrt(1 - x²)`, the divisor of `asin`'s and `acos`'s partials.
fn sqrt_one_minus_square(b: &mut Builder, x: Operand) -> Operand {
    let xx = b.mul(x.clone(), x);
    let d = b.sub(one(), xx);
    b.unary(Unary::Sqrt, d)
}

/// The partials of `max`/`min`: the operand the comparison picks gets the gradient (the
/// receiver on ties).
fn gates(cmp: Cmp, x: Operand, z: Operand) -> [Partial; 2] {
    [
        p(Coef::Gate(cmp, x.clone(), z.clone(), true)),
        p(Coef::Gate(cmp, x, z, false)),
    ]
}

/// `y = x.powf(z)`. dx = z x^(z-1), which is 0 · inf = NaN at x = 0 where z = 0 (x⁰ = 1 has
/// the derivative 0): a literal 0 has the partial 0, and an exponent not known as a constant
/// takes x^(z-1) as x⁰ = 1 where z = 0 (`if z * z > 0 { z - 1 } else { 0 }` on the scalar
/// exponent, so a NaN exponent still gives NaN). dz = y ln x (0 where x ≤ 0).
fn powf_partials(b: &mut Builder, x: Operand, z: Operand, y: Operand) -> [Partial; 2] {
    let dx = match z.constant() {
        // The partial 0 (g * 0), not no partial: x stays connected, as activity says (as
        // powi(0)).
        Some(0.0) => p(Coef::Mul(Operand::Lit(0.0))),
        known => {
            let mut e = b.sub(z.clone(), Operand::Lit(1.0));
            if known.is_none() {
                let zz = b.mul(z.clone(), z.clone());
                let zero = Operand::Lit(0.0);
                e = b.op(Op::Select(Cmp::Gt), vec![zz, zero.clone(), e, zero]);
            }
            let pow = b.op(Op::Binary(Binary::Powf), vec![x.clone(), e]);
            p(Coef::Mul(b.mul(z, pow)))
        }
    };
    let ln = b.op(Op::LnOrZero, vec![x]);
    [dx, p(Coef::Mul(b.mul(y, ln)))]
}
