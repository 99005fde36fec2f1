//! Clean-up after differentiation: common subexpressions (a derivative rule's `x.cos()` reuses
//! the user's own `x.cos()`), then dead code (partials nobody asked for, primal values the
//! gradient does not need). Identities such as `g * 1` were already folded by `ir::Builder`.
use crate::ir::{Function, Op, Operand, Origin, Rhs, Stmt, VarId};
use std::collections::HashMap;

/// Simplifies `f` in place; `f.outputs` are the roots that must survive.
pub fn simplify(f: &mut Function) {
    eliminate_common_subexpressions(f);
    eliminate_dead_code(f);
}

/// A key that is equal for two statements computing the same value (`a + b` and `b + a`
/// too: addition and multiplication commute exactly in IEEE arithmetic).
fn key(op: Op, args: &[Operand]) -> String {
    let mut parts: Vec<String> = args
        .iter()
        .map(|a| match a {
            Operand::Var(v) => format!("v{v}"),
            Operand::Lit(c) => format!("l{}", c.to_bits()),
            Operand::Const { tokens, .. } => format!("c{tokens}"),
        })
        .collect();
    if matches!(op, Op::Add | Op::Mul) {
        parts.sort();
    }
    format!("{op:?}|{}", parts.join("|"))
}

fn substitute(map: &HashMap<VarId, VarId>, operand: &mut Operand) {
    if let Operand::Var(v) = operand {
        if let Some(&to) = map.get(v) {
            *v = to;
        }
    }
}

fn eliminate_common_subexpressions(f: &mut Function) {
    let mut seen: HashMap<String, VarId> = HashMap::new();
    let mut replaced: HashMap<VarId, VarId> = HashMap::new();
    let mut body = Vec::with_capacity(f.body.len());
    for mut stmt in std::mem::take(&mut f.body) {
        if let Rhs::Op(op, args) = &mut stmt.rhs {
            args.iter_mut().for_each(|a| substitute(&replaced, a));
            if let Some(dst) = stmt.dst {
                // A user's binding stays: passive code may name it.
                let replaceable = matches!(f.vars[dst].origin, Origin::Temp | Origin::Derivative);
                let k = key(*op, args);
                match seen.get(&k) {
                    Some(&earlier) if replaceable => {
                        replaced.insert(dst, earlier);
                        continue;
                    }
                    Some(_) => {}
                    None => {
                        seen.insert(k, dst);
                    }
                }
            }
        }
        body.push(stmt);
    }
    f.body = body;
    f.outputs.iter_mut().for_each(|o| substitute(&replaced, o));
}

/// A statement the function's result does not need can go, unless it may have an effect.
fn has_effect(stmt: &Stmt) -> bool {
    match &stmt.rhs {
        Rhs::Op(..) => false,
        // Unknown code (a call, a macro) is kept, so a user's `println!` still prints.
        Rhs::Opaque(o) => stmt.dst.is_none() || !o.passive_result,
    }
}

fn eliminate_dead_code(f: &mut Function) {
    let mut live = vec![false; f.vars.len()];
    for o in &f.outputs {
        if let Some(v) = o.var() {
            live[v] = true;
        }
    }
    let mut keep = vec![false; f.body.len()];
    for (i, stmt) in f.body.iter().enumerate().rev() {
        if has_effect(stmt) || stmt.dst.is_some_and(|d| live[d]) {
            keep[i] = true;
            for r in stmt.reads() {
                live[r] = true;
            }
        }
    }
    let mut i = 0;
    f.body.retain(|_| {
        i += 1;
        keep[i - 1]
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::Unary;
    use proc_macro2::Span;

    #[test]
    fn shares_repeated_work_and_drops_unused() {
        let s = Span::call_site();
        let mut f = Function::default();
        let x = f.new_var("x", s, Origin::Param(0));
        let a = f.push_op(Op::Unary(Unary::Cos), vec![Operand::Var(x)], s);
        let b = f.push_op(Op::Unary(Unary::Cos), vec![Operand::Var(x)], s);
        let _unused = f.push_op(Op::Unary(Unary::Sin), vec![Operand::Var(x)], s);
        let c = f.push_op(Op::Mul, vec![Operand::Var(a), Operand::Var(b)], s);
        f.outputs.push(Operand::Var(c));
        simplify(&mut f);
        assert_eq!(f.body.len(), 2, "{:?}", f.body);
        match &f.body[1].rhs {
            Rhs::Op(Op::Mul, args) => {
                assert_eq!(args[0].var(), Some(a));
                assert_eq!(args[1].var(), Some(a));
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
