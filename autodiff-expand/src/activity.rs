//! Activity analysis (Enzyme's and Tapenade's): a variable is *varied* when it depends on a
//! `wrt` entry through a path that no stop cuts, *useful* when an output depends on it
//! through such a path, and *active* when both. Only active variables get derivative code.
//!
//! It also decides TensorFlow's connectivity at compile time: a `wrt` entry is connected
//! exactly when it is useful.
use crate::ir::op::Flow;
use crate::ir::{walk, Function, Rhs, Stmt, VarId};

#[derive(Clone, Debug)]
pub struct Activity {
    pub varied: Vec<bool>,
    pub useful: Vec<bool>,
    /// Variables through which no gradient flows back (`stop = [..]`).
    pub stopped: Vec<bool>,
}

impl Activity {
    pub fn is_active(&self, v: VarId) -> bool {
        self.varied[v] && self.useful[v]
    }
}

/// Whether a derivative flows from the operands of `rhs` to its result.
fn flows(rhs: &Rhs) -> bool {
    match rhs {
        // The registry's `flow` facet.
        Rhs::Op(op, _) => op.row().flow != Flow::Cut,
        Rhs::Opaque(o) => !o.passive_result,
        Rhs::Index(..) | Rhs::ArrayLit(_) | Rhs::CopyArray(_) | Rhs::Call(_) | Rhs::Output(..) => {
            true
        }
        Rhs::CallForward(..)
        | Rhs::CallReverse(..)
        | Rhs::Field(..)
        | Rhs::AddInto(..)
        | Rhs::Tuple(_) => false,
        Rhs::Uninit | Rhs::Zero(_) | Rhs::NewStack | Rhs::Pop(_) => false,
    }
}

/// For each statement that carries a derivative: the variable it defines or changes, and
/// the variables the derivative flows from.
fn edges(f: &Function) -> Vec<(VarId, Vec<VarId>)> {
    let mut edges = Vec::new();
    walk(&f.body, &mut |stmt| match stmt {
        Stmt::Let {
            dst: Some(dst),
            rhs,
            ..
        } if flows(rhs) => {
            let from = match rhs {
                // The indices are passive: only the array's elements carry derivatives.
                Rhs::Index(array, _) => vec![*array],
                Rhs::Op(op, args) => match op.row().flow {
                    Flow::Only(operands) => {
                        operands.iter().filter_map(|&k| args[k].var()).collect()
                    }
                    _ => stmt.reads(),
                },
                _ => stmt.reads(),
            };
            edges.push((*dst, from));
        }
        Stmt::Assign { dst, value, .. } => edges.push((*dst, value.var().into_iter().collect())),
        Stmt::Store { array, value, .. } => edges.push((*array, value.var().into_iter().collect())),
        _ => {}
    });
    edges
}

/// Runs both analyses to a fixpoint (loops carry values around, so one sweep each is not
/// enough).
pub fn analyze(f: &Function, wrt: &[VarId], stop: &[VarId]) -> Activity {
    let n = f.vars.len();
    let mut stopped = vec![false; n];
    for &s in stop {
        stopped[s] = true;
    }
    let edges = edges(f);
    let mut varied = vec![false; n];
    for &w in wrt {
        varied[w] = true;
    }
    let mut changed = true;
    while changed {
        changed = false;
        for (dst, from) in &edges {
            if !varied[*dst] && !stopped[*dst] && from.iter().any(|&r| varied[r]) {
                varied[*dst] = true;
                changed = true;
            }
        }
    }
    let mut useful = vec![false; n];
    for out in &f.outputs {
        if let Some(v) = out.var() {
            useful[v] = true;
        }
    }
    let mut changed = true;
    while changed {
        changed = false;
        for (dst, from) in edges.iter().rev() {
            if !useful[*dst] || stopped[*dst] {
                continue;
            }
            for &r in from {
                if !useful[r] {
                    useful[r] = true;
                    changed = true;
                }
            }
        }
    }
    Activity {
        varied,
        useful,
        stopped,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{Op, Operand, Origin};
    use proc_macro2::Span;

    /// a; b = 2a; y = a + b: the stop_gradients example from TensorFlow's documentation.
    fn tf_example() -> (Function, VarId, VarId) {
        let mut f = Function::default();
        let a = f.new_var("a", Span::call_site(), Origin::Param(0));
        f.params.push(a);
        let b = f.push_op(
            Op::Mul,
            vec![Operand::Lit(2.0), Operand::Var(a)],
            Span::call_site(),
        );
        let y = f.push_op(
            Op::Add,
            vec![Operand::Var(a), Operand::Var(b)],
            Span::call_site(),
        );
        f.outputs.push(Operand::Var(y));
        (f, a, b)
    }

    #[test]
    fn stop_cuts_usefulness_but_not_own_gradient() {
        let (f, a, b) = tf_example();
        let act = analyze(&f, &[a, b], &[b]);
        assert!(act.is_active(a) && act.is_active(b));
        let act = analyze(&f, &[a], &[]);
        assert!(act.is_active(b), "b carries a's derivative");
        let act = analyze(&f, &[a], &[b]);
        assert!(!act.varied[b], "a stopped b is a constant");
    }

    #[test]
    fn unused_input_is_not_useful() {
        let mut f = Function::default();
        let x = f.new_var("x", Span::call_site(), Origin::Param(0));
        let z = f.new_var("z", Span::call_site(), Origin::Param(1));
        f.params = vec![x, z];
        let y = f.push_op(
            Op::Unary(crate::ir::Unary::Sin),
            vec![Operand::Var(x)],
            Span::call_site(),
        );
        f.outputs.push(Operand::Var(y));
        let act = analyze(&f, &[x, z], &[]);
        assert!(act.useful[x] && !act.useful[z]);
    }
}
