//! How forward and reverse mode use an op's partials: `forward` multiplies each partial by
//! its operand's tangent and sums ([`apply`] with `reverse = false`, [`accumulate`]);
//! `reverse` multiplies it by the result's adjoint and accumulates into the operand's.
//!
//! The partials themselves are the `partials` facet of the op's row in the registry,
//! `ir::op` (one row per op: its name, partials, evaluation, cost, flow and emission).
//! Passive operands (constants) are skipped by the callers, so a rule may build partials
//! they never use: the builder only emits what is asked for.
use crate::ir::{Builder, Op, Operand, Rhs};

pub use crate::ir::op::{Coef, Partial};

/// The partial derivatives of `y = op(x)` with respect to each operand, in operand order
/// (the registry's rule).
pub fn partials(b: &mut Builder, op: Op, x: &[Operand], y: &Operand) -> Vec<Partial> {
    op.partials(b, x, y)
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
        // An exact zero partial (x⁰): the operand stays connected, but its contribution is
        // 0, not `g * 0`, which is NaN where `g` overflowed (dual numbers give 0 there too).
        Coef::Mul(Operand::Lit(c)) if *c == 0.0 => b.let_(Rhs::Zero(g)),
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
