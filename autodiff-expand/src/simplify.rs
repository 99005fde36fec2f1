//! Clean-up after differentiation: common subexpressions (a derivative rule's `x.cos()` reuses
//! the user's own `x.cos()`), then dead code (partials nobody asked for, primal values the
//! derivative does not need). Identities such as `g * 1` were already folded by
//! `ir::Builder`.
use crate::ir::{walk, Function, Op, Operand, Origin, Rhs, Stmt, Var, VarId};
use std::collections::{HashMap, HashSet};

/// Simplifies `f` in place; `f.outputs` are the roots that must survive.
pub fn simplify(f: &mut Function) {
    share(f);
    eliminate_dead_code(f);
    f.body = hoist_reads(&mut f.vars, std::mem::take(&mut f.body));
}

/// Common subexpressions only, on derivative code.
pub fn share(f: &mut Function) {
    share_keeping(f, &[]);
}

/// Common subexpressions, keeping `named` apart. Run on the primal too, before
/// differentiation: three reads of `x[i]` become one, so their adjoints add up in a register
/// and reach the array once. There `named` are the values `wrt` and `stop` name, which mean
/// that one value, not every equal one: with `let w = x * x;` and `stop = [w]`, a later
/// `(x * x).sin()` still carries a derivative, so it must not become a read of `w` (nor of a
/// snapshot `stop` names). So the primal is shared only once `wrt` and `stop` are resolved.
pub fn share_keeping(f: &mut Function, named: &[VarId]) {
    let body = hoist_snapshots(&f.vars, std::mem::take(&mut f.body));
    let mut kept = HashSet::new();
    walk(&body, &mut |s| {
        if let Stmt::Let {
            rhs: Rhs::Opaque(o),
            ..
        } = s
        {
            kept.extend(o.reads.iter().copied());
        }
    });
    let mut scope = Scope {
        named: named.iter().copied().collect(),
        kept,
        ..Scope::default()
    };
    f.body = cse_block(&f.vars, body, &mut scope);
    f.outputs.iter_mut().for_each(|o| scope.substitute(o));
}

/// What common-subexpression elimination knows at a point: values computed so far, and
/// variables replaced by an earlier equal one. Nested blocks start from a copy, so nothing
/// defined inside a block is reused outside it.
#[derive(Clone, Default)]
struct Scope {
    seen: HashMap<String, VarId>,
    replaced: HashMap<VarId, VarId>,
    /// Scalars (values and locations) known to hold a constant here: `f_grad`'s seed 1 in
    /// the accumulator of a running sum, which loops then read.
    constants: HashMap<VarId, f64>,
    /// Values that no other value is replaced by (`share_keeping`).
    named: HashSet<VarId>,
    /// Values that are not replaced: code kept as written names them in its tokens, which
    /// substitution does not reach.
    kept: HashSet<VarId>,
}

impl Scope {
    /// Records that `v` is `to`, or what `to` itself was replaced by: a value may be known
    /// under two keys (a read of `c[1]` is both a forwarded element and an index
    /// expression), and the later key may replace it after the first one recorded it.
    fn replace(&mut self, v: VarId, mut to: VarId) {
        while let Some(&next) = self.replaced.get(&to) {
            to = next;
        }
        self.replaced.insert(v, to);
    }

    fn substitute(&self, operand: &mut Operand) {
        if let Operand::Var(v) = operand {
            if let Some(&to) = self.replaced.get(v) {
                *v = to;
            }
        }
    }
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
    if op.row().commutes {
        parts.sort();
    }
    format!("{op:?}|{}", parts.join("|"))
}

/// Loop-invariant code motion for reads of locations: a snapshot of a location that a loop
/// never writes is the same in every iteration, so it moves before the loop (and the reverse
/// sweep saves it once per entry to the loop, not once per iteration).
fn hoist_snapshots(vars: &[Var], block: Vec<Stmt>) -> Vec<Stmt> {
    let mut out = Vec::with_capacity(block.len());
    for mut stmt in block {
        for inner in stmt.blocks_mut() {
            *inner = hoist_snapshots(vars, std::mem::take(inner));
        }
        if let Stmt::For { body, .. } | Stmt::While { body, .. } = &mut stmt {
            let mut written = written_in(body);
            // What code run for its effect reads, it may change (`std::mem::swap(&mut a,
            // &mut b)`): a snapshot of it is not the same in every iteration. A location
            // declared in the loop (an inner accumulator's adjoint, `let mut adj_acc = 0.0;`)
            // does not exist before it.
            walk(body, &mut |s| {
                written.extend(s.dst());
                if let Stmt::Let {
                    rhs: Rhs::Opaque(o),
                    ..
                } = s
                {
                    if !o.pure {
                        written.extend(o.reads.iter().copied());
                    }
                }
                written.extend(s.runtime_writes());
            });
            let (hoisted, kept): (Vec<Stmt>, Vec<Stmt>) =
                std::mem::take(body).into_iter().partition(|s| match s {
                    Stmt::Let {
                        dst: Some(d),
                        rhs: Rhs::Op(Op::Id, args),
                        ..
                    } => {
                        !vars[*d].mutable
                            && args[0]
                                .var()
                                .is_some_and(|l| vars[l].mutable && !written.contains(&l))
                    }
                    _ => false,
                });
            *body = kept;
            out.extend(hoisted);
        }
        out.push(stmt);
    }
    out
}

/// Loop-invariant code motion for array reads, on the generated code (after differentiation,
/// so the passes see the user's structure): `let v = a[k];` at the top level of a `for` body,
/// where nothing in the loop writes `a` or changes `k`, moves before the loop, under an
/// `if start < end` so that a loop that does not run reads nothing (the read could be out
/// of bounds). rustc cannot hoist such reads itself: a store through any other array in the
/// loop might, for all it knows, change the array's pointer or length (GMM's `xc[a]` in its
/// triangular loops: forward, replayed and reversed).
fn hoist_reads(vars: &mut Vec<Var>, block: Vec<Stmt>) -> Vec<Stmt> {
    let mut out = Vec::with_capacity(block.len());
    for mut stmt in block {
        for inner in stmt.blocks_mut() {
            *inner = hoist_reads(vars, std::mem::take(inner));
        }
        let Stmt::For {
            index,
            start,
            end,
            inclusive,
            body,
            span,
            ..
        } = &mut stmt
        else {
            out.push(stmt);
            continue;
        };
        let mut written: HashSet<VarId> = written_in(body).into_iter().collect();
        let mut changing: HashSet<VarId> = HashSet::from([*index]);
        walk(body, &mut |s| {
            changing.extend(s.dst());
            written.extend(s.runtime_writes());
            match s {
                Stmt::Assign { dst, .. } => {
                    changing.insert(*dst);
                }
                // What code run for its effect reads, it may change; `add_into` changes its
                // accumulator.
                Stmt::Let {
                    rhs: Rhs::Opaque(o),
                    ..
                } if !o.pure => written.extend(o.reads.iter().copied()),
                Stmt::Let {
                    rhs: Rhs::AddInto(acc, _),
                    ..
                } => {
                    written.insert(*acc);
                }
                _ => {}
            }
        });
        let (hoisted, kept): (Vec<Stmt>, Vec<Stmt>) =
            std::mem::take(body).into_iter().partition(|s| match s {
                Stmt::Let {
                    dst: Some(d),
                    rhs: Rhs::Index(array, at),
                    ..
                } => {
                    // An array the body itself creates (`let y = x.to_vec();`) is a
                    // new one in every iteration, and is not in scope before the loop.
                    !vars[*d].mutable
                        && !written.contains(array)
                        && !changing.contains(array)
                        && at
                            .iter()
                            .all(|i| i.var().is_none_or(|v| !changing.contains(&v)))
                }
                _ => false,
            });
        *body = kept;
        if hoisted.is_empty() {
            out.push(stmt);
            continue;
        }
        let (runs, test) = crate::ir::loop_runs(vars, start, end, *inclusive, *span);
        let span = *span;
        out.push(test);
        let mut then = hoisted;
        then.push(stmt);
        out.push(Stmt::If {
            cond: Operand::Var(runs),
            then,
            otherwise: Vec::new(),
            span,
        });
    }
    out
}

/// The locations and arrays a block assigns or stores into, at any depth.
fn written_in(block: &[Stmt]) -> Vec<VarId> {
    let mut written = Vec::new();
    walk(block, &mut |s| match s {
        Stmt::Assign { dst, .. } => written.push(*dst),
        Stmt::Store { array, .. } => written.push(*array),
        _ => {}
    });
    written
}

fn snapshot_key(location: VarId) -> String {
    format!("snapshot|{location}")
}

fn stored_prefix(array: VarId) -> String {
    format!("stored|{array}|")
}

/// The locations a branch or loop assigns, at any depth.
fn written_inside(stmt: &Stmt) -> Vec<VarId> {
    stmt.blocks()
        .into_iter()
        .flat_map(|b| written_in(b))
        .collect()
}

fn cse_block(vars: &[Var], block: Vec<Stmt>, scope: &mut Scope) -> Vec<Stmt> {
    let mut out = Vec::with_capacity(block.len());
    for mut stmt in block {
        substitute_operands(&mut stmt, scope);
        // Snapshots of locations a branch or loop writes are stale inside it (a loop runs
        // again) and after it.
        let written = written_inside(&stmt);
        if !written.is_empty() {
            let stale: Vec<(String, String)> = written
                .iter()
                .map(|w| (snapshot_key(*w), stored_prefix(*w)))
                .collect();
            scope.seen.retain(|k, _| {
                !stale
                    .iter()
                    .any(|(snapshot, stored)| k == snapshot || k.starts_with(stored))
            });
            scope.constants.retain(|v, _| !written.contains(v));
        }
        for inner in stmt.blocks_mut() {
            let mut inner_scope = scope.clone();
            *inner = cse_block(vars, std::mem::take(inner), &mut inner_scope);
        }
        match &stmt {
            Stmt::Assign { dst, .. } => {
                scope.seen.remove(&snapshot_key(*dst));
                // A whole array assigned (`y = x.to_vec();`): its elements read or stored
                // before are not its elements now.
                let prefix = stored_prefix(*dst);
                scope.seen.retain(|k, _| !k.starts_with(&prefix));
            }
            // Store-to-load forwarding: `c[i] = v; .. c[i]` reads `v`, if nothing stored into
            // `c` in between (another index might be the same element).
            Stmt::Store {
                array,
                index,
                value,
                accumulate,
                ..
            } => {
                let prefix = stored_prefix(*array);
                scope.seen.retain(|k, _| !k.starts_with(&prefix));
                if let (false, Some(v)) = (*accumulate, value.var()) {
                    scope
                        .seen
                        .insert(format!("{prefix}{}", key(Op::Id, index)), v);
                }
            }
            _ => {}
        }
        if propagate_constants(vars, &mut stmt, scope) {
            continue;
        }
        // Code run for its effect may change what it reads (`c.swap(0, 1)`),
        // `add_into(&mut acc[..], g)` (a call's array gradient) changes its accumulator, and
        // `pop_into` the array it restores: an element stored into `acc` before it is not
        // what a read after it gets.
        let changed: Vec<VarId> = match &stmt {
            Stmt::Let {
                rhs: Rhs::Opaque(o),
                ..
            } if !o.pure => o.reads.clone(),
            Stmt::Let {
                rhs: Rhs::AddInto(acc, _),
                ..
            } => vec![*acc],
            _ => stmt.runtime_writes(),
        };
        for v in &changed {
            let (snapshot, stored) = (snapshot_key(*v), stored_prefix(*v));
            scope
                .seen
                .retain(|k, _| k != &snapshot && !k.starts_with(&stored));
        }
        // A read of an element stored or read earlier, with no store into the array in
        // between, is that value (`qxc[j] * qxc[j]` reads once).
        if let Some((dst, k)) = forwarded_key(&stmt) {
            match scope.seen.get(&k) {
                Some(&value) if replaceable(vars, dst) && !scope.kept.contains(&dst) => {
                    scope.replace(dst, value);
                    continue;
                }
                Some(_) => {}
                None if scope.named.contains(&dst) => {}
                None => {
                    scope.seen.insert(k, dst);
                }
            }
        }
        if let Some((dst, k)) = share_key(vars, &stmt) {
            match scope.seen.get(&k) {
                Some(&earlier) if replaceable(vars, dst) && !scope.kept.contains(&dst) => {
                    scope.replace(dst, earlier);
                    continue;
                }
                Some(_) => {}
                None if scope.named.contains(&dst) => {}
                None => {
                    scope.seen.insert(k, dst);
                }
            }
        }
        out.push(stmt);
    }
    out
}

/// Constant propagation for scalars: tracks which values and locations hold a known
/// constant (a zero-initialised accumulator, `0 + 1`), folds operations that become an
/// identity (`1 * g` is `g`) and puts constants into arithmetic that keeps another operand
/// (which gives the constant its type in generic code). A statement that folds to a
/// constant is kept as written, since a bare literal has no type to take; dead code
/// elimination drops it once nothing reads it. Returns whether `stmt` was replaced by an
/// earlier value (and is to be dropped).
fn propagate_constants(vars: &[Var], stmt: &mut Stmt, scope: &mut Scope) -> bool {
    let scalar = |v: VarId| !vars[v].tensor && !vars[v].is_array();
    match stmt {
        Stmt::Let {
            dst: Some(d),
            rhs: Rhs::Zero(_),
            ..
        } if scalar(*d) => {
            scope.constants.insert(*d, 0.0);
        }
        Stmt::Let {
            dst: Some(d),
            rhs: Rhs::Op(op, args),
            ..
        } if scalar(*d) => {
            let known: Vec<Operand> = args
                .iter()
                .map(|a| match a.var().and_then(|v| scope.constants.get(&v)) {
                    Some(&c) => Operand::Lit(c),
                    None => a.clone(),
                })
                .collect();
            match crate::ir::fold(*op, &known) {
                // (A snapshot of a location is not the location.)
                Some(Operand::Var(v))
                    if replaceable(vars, *d) && !vars[v].mutable && !scope.kept.contains(d) =>
                {
                    scope.replace(*d, v);
                    return true;
                }
                Some(Operand::Lit(c)) => {
                    scope.constants.insert(*d, c);
                }
                Some(_) => {}
                None => {
                    let arithmetic = matches!(op, Op::Add | Op::Sub | Op::Mul | Op::Div);
                    if arithmetic && known.iter().any(|a| a.var().is_some()) {
                        *args = known;
                    }
                }
            }
        }
        Stmt::Assign { dst, value, .. } => {
            match value.var().and_then(|v| scope.constants.get(&v)).copied() {
                Some(c) if scalar(*dst) => scope.constants.insert(*dst, c),
                _ => scope.constants.remove(dst),
            };
        }
        _ => {}
    }
    false
}

/// A value the macro made (not a user's binding, which passive code may name).
fn replaceable(vars: &[Var], v: VarId) -> bool {
    matches!(vars[v].origin, Origin::Temp | Origin::Derivative) && !vars[v].mutable
}

/// The key of an array read that a store earlier in the block may have forwarded.
fn forwarded_key(stmt: &Stmt) -> Option<(VarId, String)> {
    match stmt {
        Stmt::Let {
            dst: Some(dst),
            rhs: Rhs::Index(array, index),
            ..
        } => Some((
            *dst,
            format!("{}{}", stored_prefix(*array), key(Op::Id, index)),
        )),
        _ => None,
    }
}

/// The key under which a statement's value is shared with an equal one: an operation on
/// values that do not change, a read of a location (until it is written), or a read of an
/// array that never changes (a parameter).
fn share_key(vars: &[Var], stmt: &Stmt) -> Option<(VarId, String)> {
    let Stmt::Let {
        dst: Some(dst),
        rhs,
        ..
    } = stmt
    else {
        return None;
    };
    if vars[*dst].mutable {
        return None;
    }
    let changes = |o: &Operand| o.var().is_some_and(|v| vars[v].mutable);
    let k = match rhs {
        Rhs::Op(Op::Id, args) if changes(&args[0]) => snapshot_key(args[0].var()?),
        Rhs::Index(array, index) if !vars[*array].mutable => {
            format!("index|{array}|{}", key(Op::Id, index))
        }
        Rhs::Op(op, args) if !args.iter().any(changes) => key(*op, args),
        _ => return None,
    };
    Some((*dst, k))
}

fn substitute_operands(stmt: &mut Stmt, scope: &Scope) {
    let sub = |o: &mut Operand| scope.substitute(o);
    match stmt {
        Stmt::Let { rhs, .. } => match rhs {
            Rhs::Op(_, args) | Rhs::ArrayLit(args) | Rhs::Tuple(args) => {
                args.iter_mut().for_each(sub)
            }
            Rhs::Index(_, index) => index.iter_mut().for_each(sub),
            Rhs::Zero(o) | Rhs::AddInto(_, o) => sub(o),
            Rhs::Call(c) => c.args.iter_mut().for_each(|a| sub(&mut a.value)),
            Rhs::CallForward(c, tangents) => {
                c.args.iter_mut().for_each(|a| sub(&mut a.value));
                tangents.iter_mut().flatten().for_each(sub);
            }
            Rhs::CallReverse(c, seed, _) => {
                c.args.iter_mut().for_each(|a| sub(&mut a.value));
                sub(seed);
            }
            _ => {}
        },
        Stmt::Assign { value, .. } | Stmt::Push { value, .. } => sub(value),
        Stmt::Store { index, value, .. } => {
            index.iter_mut().for_each(sub);
            sub(value);
        }
        Stmt::If { cond, .. } | Stmt::While { cond, .. } => sub(cond),
        Stmt::For { start, end, .. } => {
            sub(start);
            sub(end);
        }
    }
}

/// A statement may go when nothing reads what it defines and it has no other effect.
fn removable(stmt: &Stmt, used: &HashSet<VarId>) -> bool {
    match stmt {
        Stmt::Let {
            dst: Some(d), rhs, ..
        } => {
            !used.contains(d)
                && match rhs {
                    // Unknown code (a call, a macro) is kept, so a user's `println!` still prints.
                    Rhs::Opaque(o) => o.pure,
                    Rhs::Call(_) => false,
                    _ => true,
                }
        }
        Stmt::Let { dst: None, .. } => false,
        Stmt::Assign { dst, .. } => !used.contains(dst),
        Stmt::Store { array, .. } => !used.contains(array),
        Stmt::If {
            then, otherwise, ..
        } => then.is_empty() && otherwise.is_empty(),
        Stmt::For { body, .. } => body.is_empty(),
        Stmt::Push { .. } | Stmt::While { .. } => false,
    }
}

/// Removes dead statements until none is left (a removal can make others dead).
fn eliminate_dead_code(f: &mut Function) {
    loop {
        let mut used: HashSet<VarId> = f.outputs.iter().filter_map(Operand::var).collect();
        walk(&f.body, &mut |s| used.extend(s.reads()));
        let before = count(&f.body);
        prune(&mut f.body, &used);
        if count(&f.body) == before {
            break;
        }
    }
}

fn prune(block: &mut Vec<Stmt>, used: &HashSet<VarId>) {
    for stmt in block.iter_mut() {
        for inner in stmt.blocks_mut() {
            prune(inner, used);
        }
    }
    block.retain(|s| !removable(s, used));
}

fn count(block: &[Stmt]) -> usize {
    let mut n = 0;
    walk(block, &mut |_| n += 1);
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::Unary;
    use proc_macro2::Span;

    /// A value that code kept as written names is not replaced by an equal earlier one: the
    /// tokens would name a variable that no longer exists.
    #[test]
    fn keeps_values_named_in_kept_code() {
        let s = Span::call_site();
        let mut f = Function::default();
        let x = f.new_var("x", s, Origin::Param(0));
        let a = f.push_op(Op::Unary(Unary::Cos), vec![Operand::Var(x)], s);
        let b = f.push_op(Op::Unary(Unary::Cos), vec![Operand::Var(x)], s);
        let tokens = Operand::Var(b).tokens(s);
        let kept = f.new_var("k", s, Origin::Temp);
        f.body.push(Stmt::Let {
            dst: Some(kept),
            rhs: Rhs::Opaque(crate::ir::Opaque {
                tokens: quote::quote!(#tokens > 0.0),
                reads: vec![b],
                passive_result: true,
                pure: true,
                what: "a comparison".into(),
            }),
            span: s,
        });
        let c = f.push_op(Op::Mul, vec![Operand::Var(a), Operand::Var(kept)], s);
        f.outputs.push(Operand::Var(c));
        share(&mut f);
        assert!(
            f.body.iter().any(|st| st.dst() == Some(b)),
            "the value the kept code reads is still defined: {:?}",
            f.body
        );
    }

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
        match &f.body[1] {
            Stmt::Let {
                rhs: Rhs::Op(Op::Mul, args),
                ..
            } => {
                assert_eq!(args[0].var(), Some(a));
                assert_eq!(args[1].var(), Some(a));
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
