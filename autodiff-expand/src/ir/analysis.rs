//! Analyses of IR blocks that several passes ask (reverse and its replay decisions): what a
//! block writes from each statement on, how often variables are written and read, the
//! definitions of a body's values, and which assignments are increments of a snapshot.
use crate::ir::*;
use std::collections::{HashMap, HashSet};

/// `written_from[k]`: the locations and arrays that top-level statement `k` or a later one
/// assigns or stores into.
pub fn written_from(body: &[Stmt]) -> Vec<HashSet<VarId>> {
    let mut suffix: HashSet<VarId> = HashSet::new();
    let mut result = vec![HashSet::new(); body.len()];
    for (k, stmt) in body.iter().enumerate().rev() {
        walk(std::slice::from_ref(stmt), &mut |s| match s {
            Stmt::Assign { dst, .. } => {
                suffix.insert(*dst);
            }
            Stmt::Store { array, .. } => {
                suffix.insert(*array);
            }
            _ => suffix.extend(changed_in_place(s)),
        });
        result[k] = suffix.clone();
    }
    result
}

/// How many statements of `body`, nested ones included, assign each location or store into
/// each array.
pub fn write_counts(body: &[Stmt]) -> HashMap<VarId, usize> {
    let mut counts = HashMap::new();
    walk(body, &mut |s| match s {
        Stmt::Assign { dst: v, .. } | Stmt::Store { array: v, .. } => {
            *counts.entry(*v).or_default() += 1;
        }
        _ => {
            for &v in changed_in_place(s) {
                *counts.entry(v).or_default() += 1;
            }
        }
    });
    counts
}

/// What a method kept as written that changes an array in place (`order.sort_by(..)` on an
/// array without a derivative) may change: everything it reads. A write like a store, so
/// the array is not read again in the adjoint sweep as if unchanged.
pub fn changed_in_place(s: &Stmt) -> &[VarId] {
    match s {
        Stmt::Let {
            rhs: Rhs::Opaque(o),
            ..
        } if o.what.ends_with(crate::ir::CHANGES_IN_PLACE) => &o.reads,
        _ => &[],
    }
}

/// For `loc = v` with `v = snapshot + e` and `snapshot = loc`, each read only there, and
/// `loc` unchanged since the snapshot (`current`, from [`current_snapshots`]): the snapshot.
/// The adjoint of `loc` then passes through the statement unchanged.
pub fn increment_of(
    (defs, reads, current): (&HashMap<VarId, Rhs>, &[usize], &HashSet<VarId>),
    loc: VarId,
    v: VarId,
) -> Option<VarId> {
    let Some(Rhs::Op(Op::Add, args)) = defs.get(&v) else {
        return None;
    };
    let snapshot = args[0].var()?;
    let Some(Rhs::Op(Op::Id, read)) = defs.get(&snapshot) else {
        return None;
    };
    let single = reads[v] == 1 && reads[snapshot] == 1;
    let pattern = read[0].var() == Some(loc) && single && args[1].var() != Some(snapshot);
    (pattern && current.contains(&v)).then_some(snapshot)
}

/// The values `v` of assignments `loc = v`, `v = snapshot + e`, where `snapshot = loc` was
/// taken in the same iteration and nothing wrote `loc` in between: only there does
/// `snapshot` still equal `loc`, so that the statement is the increment `loc += e`. Not when
/// `loc` was written after the copy (`let backup = s; s = s * x; s = backup + e;`, a
/// roll-back), nor when the copy was taken once before the loop the assignment is in
/// (`let start = pos; for .. { pos = start + e; }`). A branch sees the snapshots taken
/// before it; a loop body, which runs again, does not.
pub fn current_snapshots(
    vars: &[Var],
    defs: &HashMap<VarId, Rhs>,
    body: &[Stmt],
) -> HashSet<VarId> {
    fn block(
        vars: &[Var],
        defs: &HashMap<VarId, Rhs>,
        stmts: &[Stmt],
        mut live: HashMap<VarId, VarId>,
        found: &mut HashSet<VarId>,
    ) {
        for stmt in stmts {
            match stmt {
                Stmt::Let {
                    dst: Some(d),
                    rhs: Rhs::Op(Op::Id, args),
                    ..
                } => {
                    if let Some(l) = args[0].var().filter(|&l| vars[l].mutable) {
                        live.insert(*d, l);
                    }
                }
                Stmt::Assign { dst, value, .. } => {
                    let snapshot = value.var().and_then(|v| match defs.get(&v) {
                        Some(Rhs::Op(Op::Add, args)) => args[0].var(),
                        _ => None,
                    });
                    if let (Some(v), Some(s)) = (value.var(), snapshot) {
                        if live.get(&s) == Some(dst) {
                            found.insert(v);
                        }
                    }
                    live.retain(|_, l| l != dst);
                }
                Stmt::If {
                    then, otherwise, ..
                } => {
                    block(vars, defs, then, live.clone(), found);
                    block(vars, defs, otherwise, live.clone(), found);
                }
                Stmt::For { body, .. } => block(vars, defs, body, HashMap::new(), found),
                Stmt::While { header, body, .. } => {
                    block(vars, defs, header, HashMap::new(), found);
                    block(vars, defs, body, HashMap::new(), found);
                }
                _ => {}
            }
            let mut written = HashSet::new();
            for inner in stmt.blocks() {
                walk(inner, &mut |s| {
                    if let Stmt::Assign { dst, .. } = s {
                        written.insert(*dst);
                    }
                });
            }
            live.retain(|_, l| !written.contains(l));
        }
    }
    let mut found = HashSet::new();
    block(vars, defs, body, HashMap::new(), &mut found);
    found
}

/// The right-hand side of each `Let` of the primal.
pub fn definitions(body: &[Stmt]) -> HashMap<VarId, Rhs> {
    let mut defs = HashMap::new();
    walk(body, &mut |s| {
        if let Stmt::Let {
            dst: Some(d), rhs, ..
        } = s
        {
            defs.insert(*d, rhs.clone());
        }
    });
    defs
}

/// How often each variable is read in the primal.
pub fn read_counts(body: &[Stmt], n: usize) -> Vec<usize> {
    let mut reads = vec![0; n];
    walk(body, &mut |s| {
        for r in s.reads() {
            reads[r] += 1;
        }
    });
    reads
}
