//! THE table of derivative rules: one entry per operation, read by both `forward` (tangents)
//! and `reverse` (adjoints).
//!
//! A rule gives, for each operand, the partial derivative of the result with respect to it,
//! as a [`Partial`] built from the operands `x` and the primal result `y` (rules may reuse `y`,
//! as JAX's `defjvp2`: `exp`, `sqrt`, `tanh` cost no extra transcendental). Forward mode
//! multiplies partials by tangents and sums; reverse mode multiplies them by the adjoint and
//! accumulates. Passive operands (constants) are skipped by the callers, so a rule may build
//! partials they never use: the builder only emits what is asked for.
use crate::ir::{Binary, Builder, Cmp, Op, Operand, RuleFn, TensorOp, Unary};

/// How the result depends on one operand: the derivative `g'` of a cotangent or tangent `g`
/// flowing through it is `coef(g)`, negated if `negate`.
#[derive(Clone, Debug)]
pub struct Partial {
    pub coef: Coef,
    pub negate: bool,
}

#[derive(Clone, Debug)]
pub enum Coef {
    /// No dependence (`signum`, the condition of a select, `stop_gradient`).
    Zero,
    /// `g`
    One,
    /// `g * c`
    Mul(Operand),
    /// `g / c`: cheaper and more accurate than `g * (1 / c)` (`ln`, `sqrt`, division).
    Div(Operand),
    /// `if a CMP b { g } else { 0 }` when `.3` is true, else the other way round (the kinks
    /// of `max`/`min`: on ties the receiver gets the gradient, as TensorFlow does).
    Gate(Cmp, Operand, Operand, bool),
    /// `tensor_rules::name(&args.., &g)`: a tensor operation's rule, with one helper for each
    /// direction (the same one where the Jacobian is symmetric).
    Call {
        reverse: RuleFn,
        forward: RuleFn,
        args: Vec<Operand>,
    },
}

fn tensor_rule(
    reverse: &'static str,
    forward: &'static str,
    args: Vec<Operand>,
    forward_tensor: bool,
) -> Partial {
    p(Coef::Call {
        reverse: RuleFn {
            name: reverse,
            tensor: true,
        },
        forward: RuleFn {
            name: forward,
            tensor: forward_tensor,
        },
        args,
    })
}

/// The partials of a tensor method `y = x.op(arg)`.
fn tensor(op: TensorOp, x: &[Operand], y: Operand) -> Vec<Partial> {
    use TensorOp::*;
    let x0 = x[0].clone();
    let axis = || x[1].clone();
    match op {
        Matmul => vec![
            tensor_rule(
                "matmul_lhs_vjp",
                "matmul_lhs_jvp",
                vec![x0.clone(), x[1].clone()],
                true,
            ),
            tensor_rule(
                "matmul_rhs_vjp",
                "matmul_rhs_jvp",
                vec![x0, x[1].clone()],
                true,
            ),
        ],
        Transpose => vec![tensor_rule(
            "transpose_rule",
            "transpose_rule",
            vec![],
            true,
        )],
        Sum => vec![tensor_rule("sum_vjp", "sum_jvp", vec![x0], false)],
        Mean => vec![tensor_rule("mean_vjp", "mean_jvp", vec![x0], false)],
        SumAxis => vec![
            tensor_rule(
                "sum_axis_rule_vjp",
                "sum_axis_rule_jvp",
                vec![x0, axis()],
                true,
            ),
            p(Coef::Zero),
        ],
        MeanAxis => vec![
            tensor_rule(
                "mean_axis_rule_vjp",
                "mean_axis_rule_jvp",
                vec![x0, axis()],
                true,
            ),
            p(Coef::Zero),
        ],
        MaxAxis => vec![
            tensor_rule(
                "max_axis_rule_vjp",
                "max_axis_rule_jvp",
                vec![x0, axis()],
                true,
            ),
            p(Coef::Zero),
        ],
        LogsumexpAxis => vec![
            tensor_rule(
                "logsumexp_axis_rule_vjp",
                "logsumexp_axis_rule_jvp",
                vec![x0, y, axis()],
                true,
            ),
            p(Coef::Zero),
        ],
        Softmax => vec![
            tensor_rule("softmax_rule", "softmax_rule", vec![x0, y, axis()], true),
            p(Coef::Zero),
        ],
        LogSoftmax => vec![
            tensor_rule(
                "log_softmax_rule_vjp",
                "log_softmax_rule_jvp",
                vec![x0, y, axis()],
                true,
            ),
            p(Coef::Zero),
        ],
        Relu => vec![tensor_rule("relu_rule", "relu_rule", vec![x0, y], true)],
        Sigmoid => vec![tensor_rule(
            "sigmoid_rule",
            "sigmoid_rule",
            vec![x0, y],
            true,
        )],
        Square => vec![tensor_rule("square_rule", "square_rule", vec![x0, y], true)],
    }
}

fn p(coef: Coef) -> Partial {
    Partial {
        coef,
        negate: false,
    }
}

fn neg(coef: Coef) -> Partial {
    Partial { coef, negate: true }
}

const LN_2: f64 = std::f64::consts::LN_2;
const LN_10: f64 = std::f64::consts::LN_10;

/// The partial derivatives of `y = op(x)` with respect to each operand, in operand order.
pub fn partials(b: &mut Builder, op: Op, x: &[Operand], y: &Operand) -> Vec<Partial> {
    use Coef::{Div, Mul, One, Zero};
    let x0 = || x[0].clone();
    let y = y.clone();
    match op {
        Op::Id => vec![p(One)],
        Op::Stop => vec![p(Zero)],
        Op::Neg => vec![neg(One)],
        Op::Add => vec![p(One), p(One)],
        Op::Sub => vec![p(One), neg(One)],
        Op::Mul => vec![p(Mul(x[1].clone())), p(Mul(x0()))],
        Op::Div => {
            // d(a/b)/db = -y/b
            let y_over_b = b.div(y, x[1].clone());
            vec![p(Div(x[1].clone())), neg(Mul(y_over_b))]
        }
        Op::Unary(u) => vec![unary(b, u, x0(), y)],
        Op::Binary(bin) => binary(b, bin, x0(), x[1].clone(), y),
        Op::Powi => {
            // d(x^n)/dx = n x^(n-1); the exponent is passive, an integer: a literal or
            // constant as written, or a value computed at run time (`k as i32`, a parameter).
            // x^0: the partial is 0 (not 0 * inf at x = 0), and x stays connected.
            if x[1].constant() == Some(0.0) {
                return vec![p(Mul(Operand::Lit(0.0))), p(Zero)];
            }
            let n_minus_1 = match &x[1] {
                Operand::Const { tokens, value } => Operand::Const {
                    tokens: quote::quote!((#tokens - 1)),
                    value: value.map(|v| v - 1.0),
                },
                // Integer arithmetic in the IR's own subtraction (not code kept as written), so
                // that passes which replace the exponent by an equal value replace it here too.
                Operand::Var(_) => b.op(
                    Op::Sub,
                    vec![
                        x[1].clone(),
                        Operand::Const {
                            tokens: quote::quote!(1),
                            value: Some(1.0),
                        },
                    ],
                ),
                // A rule constant is never an exponent; were it one, it is a float.
                Operand::Lit(c) => Operand::Lit(c - 1.0),
            };
            let n = b.op(Op::CastLike, vec![x0(), x[1].clone()]);
            let pow = b.op(Op::Powi, vec![x0(), n_minus_1]);
            let coef = b.mul(n.clone(), pow);
            // An exponent not known to be nonzero may be 0 at run time (`r.powi(k as i32)`
            // from k = 0), where n x^(n-1) is 0 * inf = NaN at x = 0: the partial is 0.
            let coef = match x[1].constant() {
                Some(_) => coef,
                None => {
                    let nn = b.mul(n.clone(), n);
                    let zero = Operand::Lit(0.0);
                    b.op(Op::Select(Cmp::Gt), vec![nn, zero.clone(), coef, zero])
                }
            };
            vec![p(Mul(coef)), p(Zero)]
        }
        Op::MulAdd => vec![p(Mul(x[1].clone())), p(Mul(x0())), p(One)],
        Op::Select(cmp) => vec![
            p(Zero),
            p(Zero),
            p(Coef::Gate(cmp, x0(), x[1].clone(), true)),
            p(Coef::Gate(cmp, x0(), x[1].clone(), false)),
        ],
        // These appear only in derivative code, which is never differentiated again.
        Op::Tensor(t) => tensor(t, x, y),
        Op::LnOrZero | Op::Sign | Op::CastLike | Op::Rule(_) | Op::ReduceTo => {
            x.iter().map(|_| p(Zero)).collect()
        }
    }
}

fn unary(b: &mut Builder, u: Unary, x: Operand, y: Operand) -> Partial {
    use Coef::{Div, Mul, Zero};
    let one = || Operand::Lit(1.0);
    match u {
        Unary::Sin => p(Mul(b.unary(Unary::Cos, x))),
        Unary::Cos => neg(Mul(b.unary(Unary::Sin, x))),
        Unary::Tan => {
            let yy = b.mul(y.clone(), y);
            p(Mul(b.add(one(), yy)))
        }
        Unary::Asin | Unary::Acos => {
            let xx = b.mul(x.clone(), x);
            let d = b.sub(one(), xx);
            let s = b.unary(Unary::Sqrt, d);
            Partial {
                coef: Div(s),
                negate: u == Unary::Acos,
            }
        }
        Unary::Atan => {
            let xx = b.mul(x.clone(), x);
            p(Div(b.add(one(), xx)))
        }
        Unary::Sinh => p(Mul(b.unary(Unary::Cosh, x))),
        Unary::Cosh => p(Mul(b.unary(Unary::Sinh, x))),
        Unary::Tanh => {
            let yy = b.mul(y.clone(), y);
            p(Mul(b.sub(one(), yy)))
        }
        Unary::Asinh => {
            let xx = b.mul(x.clone(), x);
            let d = b.add(xx, one());
            p(Div(b.unary(Unary::Sqrt, d)))
        }
        Unary::Acosh => {
            let xx = b.mul(x.clone(), x);
            let d = b.sub(xx, one());
            p(Div(b.unary(Unary::Sqrt, d)))
        }
        Unary::Atanh => {
            let xx = b.mul(x.clone(), x);
            p(Div(b.sub(one(), xx)))
        }
        Unary::Exp => p(Mul(y)),
        Unary::Exp2 => p(Mul(b.mul(y, Operand::Lit(LN_2)))),
        Unary::ExpM1 => p(Mul(b.add(y, one()))),
        Unary::Ln => p(Div(x)),
        Unary::Ln1p => p(Div(b.add(x, one()))),
        Unary::Log2 => p(Div(b.mul(x, Operand::Lit(LN_2)))),
        Unary::Log10 => p(Div(b.mul(x, Operand::Lit(LN_10)))),
        Unary::Sqrt => p(Div(b.add(y.clone(), y))),
        Unary::Cbrt => {
            let yy = b.mul(y.clone(), y);
            p(Div(b.mul(yy, Operand::Lit(3.0))))
        }
        Unary::Recip => neg(Mul(b.mul(y.clone(), y))),
        Unary::Abs => p(Mul(b.op(Op::Sign, vec![x]))),
        Unary::Signum => p(Zero),
    }
}

fn binary(b: &mut Builder, bin: Binary, x: Operand, z: Operand, y: Operand) -> Vec<Partial> {
    use Coef::{Div, Gate, Mul};
    match bin {
        Binary::Atan2 => {
            // y = x.atan2(z) = atan(x / z): dx = z / r, dz = -x / r with r = x² + z².
            let xx = b.mul(x.clone(), x.clone());
            let zz = b.mul(z.clone(), z.clone());
            let r = b.add(xx, zz);
            vec![p(Mul(b.div(z, r.clone()))), neg(Mul(b.div(x, r)))]
        }
        Binary::Powf => {
            // dx = z x^(z-1), which is 0 · inf = NaN at x = 0 where z = 0 (x⁰ = 1 has the
            // derivative 0): a literal 0 has the partial 0, and an exponent not known as a
            // constant takes x^(z-1) as x⁰ = 1 where z = 0 (`if z * z > 0 { z - 1 } else { 0 }`
            // on the scalar exponent, so a NaN exponent still gives NaN).
            let dx = match z.constant() {
                // The partial 0 (g * 0), not no partial: x stays connected, as activity
                // says (as powi(0)).
                Some(0.0) => p(Mul(Operand::Lit(0.0))),
                known => {
                    let mut e = b.sub(z.clone(), Operand::Lit(1.0));
                    if known.is_none() {
                        let zz = b.mul(z.clone(), z.clone());
                        let zero = Operand::Lit(0.0);
                        e = b.op(Op::Select(Cmp::Gt), vec![zz, zero.clone(), e, zero]);
                    }
                    let pow = b.op(Op::Binary(Binary::Powf), vec![x.clone(), e]);
                    p(Mul(b.mul(z, pow)))
                }
            };
            let ln = b.op(Op::LnOrZero, vec![x]);
            vec![dx, p(Mul(b.mul(y, ln)))]
        }
        Binary::Log => {
            // y = ln x / ln z: dx = 1 / (x ln z), dz = -y / (z ln z)
            let ln_z = b.unary(Unary::Ln, z.clone());
            let dx = b.mul(x, ln_z.clone());
            let z_ln_z = b.mul(z, ln_z);
            vec![p(Div(dx)), neg(Mul(b.div(y, z_ln_z)))]
        }
        Binary::Hypot => vec![p(Mul(b.div(x, y.clone()))), p(Mul(b.div(z, y)))],
        Binary::Max => vec![
            p(Gate(Cmp::Ge, x.clone(), z.clone(), true)),
            p(Gate(Cmp::Ge, x, z, false)),
        ],
        Binary::Min => vec![
            p(Gate(Cmp::Le, x.clone(), z.clone(), true)),
            p(Gate(Cmp::Le, x, z, false)),
        ],
    }
}

/// `partial(g)`: the contribution of a tangent or cotangent `g` through one partial, and
/// whether it is to be subtracted. `None` for no dependence.
pub fn apply(
    b: &mut Builder,
    partial: &Partial,
    g: Operand,
    reverse: bool,
) -> Option<(Operand, bool)> {
    let value = match &partial.coef {
        Coef::Call {
            reverse: r,
            forward: f,
            args,
        } => {
            let rule = if reverse { *r } else { *f };
            let mut args = args.clone();
            args.push(g);
            b.op(Op::Rule(rule), args)
        }
        Coef::Zero => return None,
        Coef::One => g,
        Coef::Mul(c) => b.mul(g, c.clone()),
        Coef::Div(c) => b.div(g, c.clone()),
        Coef::Gate(cmp, l, r, when) => {
            let zero = Operand::Lit(0.0);
            let (t, f) = if *when { (g, zero) } else { (zero, g) };
            b.op(Op::Select(*cmp), vec![l.clone(), r.clone(), t, f])
        }
    };
    Some((value, partial.negate))
}

/// `acc ± value`, or `±value` where nothing has accumulated yet.
pub fn accumulate(
    b: &mut Builder,
    acc: Option<Operand>,
    (value, negate): (Operand, bool),
) -> Operand {
    match (acc, negate) {
        (None, false) => value,
        (None, true) => b.neg(value),
        (Some(acc), false) => b.add(acc, value),
        (Some(acc), true) => b.sub(acc, value),
    }
}
