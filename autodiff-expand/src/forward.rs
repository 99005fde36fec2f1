//! Forward mode (JVP): each active statement is followed by its tangent,
//! `dy = Σ ∂y/∂xᵢ · dxᵢ` over the operands that carry one.
use crate::activity::Activity;
use crate::ir::{Builder, Function, Operand, Rhs, VarId};
use crate::rules;

pub struct Forward {
    /// Primal and tangent statements, interleaved.
    pub f: Function,
    /// The tangent of each output; `None` where it is zero.
    pub tangents: Vec<Option<Operand>>,
}

/// `seeds` pairs each differentiated parameter with its tangent.
pub fn forward(primal: &Function, act: &Activity, seeds: &[(VarId, Operand)]) -> Forward {
    let mut f = Function {
        body: Vec::new(),
        ..primal.clone()
    };
    let mut tangent: Vec<Option<Operand>> = vec![None; primal.vars.len()];
    for (v, t) in seeds {
        tangent[*v] = Some(t.clone());
    }
    for stmt in &primal.body {
        f.body.push(stmt.clone());
        let Some(dst) = stmt.dst else { continue };
        if !act.is_active(dst) || act.stopped[dst] || tangent[dst].is_some() {
            continue;
        }
        let Rhs::Op(op, args) = &stmt.rhs else {
            continue;
        };
        let mut b = Builder {
            f: &mut f,
            span: stmt.span,
        };
        let partials = rules::partials(&mut b, *op, args, &Operand::Var(dst));
        let mut sum = None;
        for (arg, partial) in args.iter().zip(&partials) {
            let Some(dx) = arg.var().and_then(|a| tangent[a].clone()) else {
                continue;
            };
            if let Some(term) = rules::apply(&mut b, partial, dx) {
                sum = Some(rules::accumulate(&mut b, sum, term));
            }
        }
        tangent[dst] = sum;
    }
    let tangents = primal
        .outputs
        .iter()
        .map(|o| o.var().and_then(|v| tangent[v].clone()))
        .collect();
    Forward { f, tangents }
}
