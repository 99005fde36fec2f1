//! Replaying a loop iteration in the adjoint sweep: checkpointing at the granularity of one
//! iteration.
//!
//! A reversed loop gets the primal values its adjoint needs back from per-value stacks
//! filled by the primal sweep. When the body holds loops of its own, that is one value per
//! inner iteration: ADBench's GMM at d = 10 pushed ~600 000 values (4.8 MB) per gradient
//! call, and most of the time went to page faults. A hand-written gradient instead runs the
//! body again at the head of its reversed iteration. So does the macro, when that gives the
//! primal's values: the primal sweep then saves nothing for the body; the reversed iteration
//! first runs the body again, pushing what the adjoints of its inner loops need on stacks
//! that hold one iteration's values at a time (in cache, their buffers reused), then runs
//! the body's adjoint. The body's top-level values are in scope after the replay, and a read
//! of data the rest of the body does not write is recomputed from the replayed state.
//!
//! Running the body again gives the primal's value of a read when the location or array read
//! still holds, when the replay reads it, the value it held when the primal sweep ran that
//! iteration:
//! - data the body does not write: nothing may write it from the loop on;
//! - data the body writes: a location must be assigned at the body's top level before the
//!   read; an array must be filled at the body's top level (`for j in 0..n { a[j] = ..; }`)
//!   before the read, and read at the index of a loop over `..n`, the same `n`.
//!
//! Other reads are *stale*. The replay may still skip them: it runs only the statements the
//! adjoint needs (`live_part`), so `total += e`, whose adjoint does not need `total`, is no
//! obstacle; but if a needed statement reads stale data, the loop is reversed without a
//! replay. The body must also have no effects (impure code, such as `println!`) and no
//! tensors (their values move). Replaying costs a second run of the body, so it is chosen
//! only where the body's inner loops would otherwise save values (see
//! `Rev::replay_reversal`).
use crate::ir::{walk, Operand, Rhs, Stmt, Var, VarId};
use std::collections::{HashMap, HashSet};

/// A loop body being reversed by replay.
#[derive(Clone)]
pub struct Replay {
    /// For each top-level statement of the body: the locations and arrays it or a later
    /// statement of the body writes.
    pub written_from: Vec<HashSet<VarId>>,
    /// The top-level statement of the body being reversed.
    pub pos: usize,
    /// The variables the body declares at its top level: after the replay, in scope with
    /// their values at the end of the iteration.
    pub declared: HashSet<VarId>,
    /// Locations and arrays some read of the body may find changed since the primal sweep.
    pub stale: HashSet<VarId>,
}

impl Replay {
    /// Whether a read of `v` inside the body's statement `pos` gives, after the replay, the
    /// value the primal read (`None`: the body does not write `v`; the caller decides).
    pub fn unchanged(&self, v: VarId) -> Option<bool> {
        if self.stale.contains(&v) {
            return Some(false);
        }
        self.written_from
            .first()
            .is_some_and(|all| all.contains(&v))
            .then(|| !self.written_from[self.pos].contains(&v))
    }
}

/// The replay of `body`, if running it again in the adjoint sweep gives the primal values;
/// `later` holds what the loop or anything after it writes.
pub fn plan(
    vars: &[Var],
    defs: &HashMap<VarId, Rhs>,
    body: &[Stmt],
    later: &HashSet<VarId>,
) -> Option<Replay> {
    let mut declared = HashSet::new();
    let mut loop_ends: HashMap<VarId, &Operand> = HashMap::new();
    let mut has_loop = false;
    let mut effects = false;
    walk(body, &mut |s| {
        declared.extend(s.dst());
        match s {
            Stmt::For {
                index,
                end,
                inclusive,
                ..
            } => {
                has_loop = true;
                if !inclusive {
                    loop_ends.insert(*index, end);
                }
            }
            Stmt::While { .. } => has_loop = true,
            Stmt::Let {
                rhs: Rhs::Opaque(o),
                ..
            } => effects |= !o.pure,
            Stmt::Let {
                rhs: Rhs::Pop(_) | Rhs::NewStack,
                ..
            }
            | Stmt::Push { .. } => effects = true,
            _ => {}
        }
        effects |= s.dst().is_some_and(|d| vars[d].tensor);
    });
    if !has_loop || effects {
        return None;
    }
    let written = crate::reverse::written_from(body);
    let same = |a: &Operand, b: &Operand| match (a.var(), b.var()) {
        (Some(x), Some(y)) => x == y && !vars[x].mutable,
        (None, None) => a.constant().is_some() && a.constant() == b.constant(),
        _ => false,
    };
    // The first top-level statement that assigns each location, and that fills each array
    // (with the fill's end).
    let mut assigned: HashMap<VarId, usize> = HashMap::new();
    let mut filled: HashMap<VarId, (usize, &Operand)> = HashMap::new();
    let mut stale = HashSet::new();
    for (t, top) in body.iter().enumerate() {
        let mut tensors = false;
        walk(std::slice::from_ref(top), &mut |s| {
            for r in s.reads() {
                if !vars[r].mutable && !vars[r].tensor || declared.contains(&r) {
                    continue;
                }
                tensors |= vars[r].tensor;
                let fresh = if !written[0].contains(&r) {
                    !later.contains(&r)
                } else if vars[r].is_array() {
                    let index = element_index(s, r).and_then(|i| loop_ends.get(&i));
                    let filled = filled.get(&r);
                    // Filled whole (`for j in 0..n` over an array made with length `n`): any
                    // read is of this iteration's data.
                    let whole = filled.is_some_and(|(_, end)| fills_whole(vars, defs, r, end));
                    vars[r].shape.len() == 1
                        && (whole
                            || matches!((index, filled),
                                (Some(end), Some((_, fill_end))) if same(end, fill_end)))
                } else {
                    assigned.contains_key(&r)
                };
                if !fresh {
                    stale.insert(r);
                }
            }
        });
        if tensors {
            return None;
        }
        match top {
            Stmt::Assign { dst, .. } => {
                assigned.entry(*dst).or_insert(t);
            }
            Stmt::For {
                index,
                start,
                end,
                inclusive: false,
                body: inner,
                ..
            } if start.constant() == Some(0.0) => {
                for s in inner {
                    if let Stmt::Store {
                        array,
                        index: at,
                        accumulate: false,
                        ..
                    } = s
                    {
                        if at.len() == 1 && at[0].var() == Some(*index) {
                            filled.entry(*array).or_insert((t, end));
                        }
                    }
                }
            }
            _ => {}
        }
    }
    Some(Replay {
        written_from: written,
        pos: 0,
        declared: body.iter().filter_map(Stmt::dst).collect(),
        stale,
    })
}

/// Whether a fill over `0..end` covers all of `array`: `end` is the length the array was
/// made with (`vec![x; n]`, `[x; n]`), or `array.len()`.
fn fills_whole(vars: &[Var], defs: &HashMap<VarId, Rhs>, array: VarId, end: &Operand) -> bool {
    let parsed = |v: VarId| match defs.get(&v) {
        Some(Rhs::Opaque(o)) => syn::parse2::<syn::Expr>(o.tokens.clone()).ok(),
        _ => None,
    };
    let names = |e: &syn::Expr, v: VarId| match e {
        syn::Expr::Path(p) => p
            .path
            .get_ident()
            .and_then(crate::lower::placeholder_var)
            .is_some_and(|p| p == v),
        _ => false,
    };
    // `end` is `array.len()`.
    if let Some(syn::Expr::MethodCall(m)) = end.var().and_then(parsed) {
        if m.method == "len" && m.args.is_empty() && names(&m.receiver, array) {
            return true;
        }
    }
    // The array's creation, through `let a = b;` copies of it.
    let mut made = array;
    while let Some(Rhs::Op(crate::ir::Op::Id, args)) = defs.get(&made) {
        match args[0].var() {
            Some(v) => made = v,
            None => return false,
        }
    }
    let length = match parsed(made) {
        Some(syn::Expr::Repeat(r)) => *r.len,
        Some(syn::Expr::Macro(m)) if m.mac.path.is_ident("vec") => {
            let length = m.mac.parse_body_with(|input: syn::parse::ParseStream| {
                let _: syn::Expr = input.parse()?;
                let _: syn::Token![;] = input.parse()?;
                input.parse::<syn::Expr>()
            });
            match length {
                Ok(length) => length,
                Err(_) => return false,
            }
        }
        _ => return false,
    };
    match (&length, end) {
        (_, Operand::Var(e)) => !vars[*e].mutable && names(&length, *e),
        (
            syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Int(n),
                ..
            }),
            _,
        ) => n.base10_parse::<f64>().ok() == end.constant(),
        _ => false,
    }
}

/// The index variable of `s`'s single-index element read of `array` (`array[i]`, or the read
/// in `array[i] += v`).
fn element_index(s: &Stmt, array: VarId) -> Option<VarId> {
    match s {
        Stmt::Let {
            rhs: Rhs::Index(a, index),
            ..
        } if *a == array && index.len() == 1 => index[0].var(),
        Stmt::Store {
            array: a,
            index,
            accumulate: true,
            ..
        } if *a == array && index.len() == 1 => index[0].var(),
        _ => None,
    }
}

/// The statements of `replay` the adjoint needs: those that define a value it reads, write
/// an array or location it reads, or push a value it pops (and what those read). The rest
/// (the body's output, a running sum only the primal uses) is not run again.
pub fn live_part(replay: Vec<Stmt>, adjoint: &[Stmt]) -> Vec<Stmt> {
    let mut defined = HashSet::new();
    walk(adjoint, &mut |s| defined.extend(s.dst()));
    let mut needed: HashSet<VarId> = HashSet::new();
    walk(adjoint, &mut |s| {
        needed.extend(s.reads().into_iter().filter(|r| !defined.contains(r)))
    });
    loop {
        let before = needed.len();
        let mut reads = Vec::new();
        walk(&replay, &mut |s| {
            if live(s, &needed) {
                reads.extend(s.reads());
            }
        });
        needed.extend(reads);
        if needed.len() == before {
            break;
        }
    }
    prune(replay, &needed)
}

fn live(s: &Stmt, needed: &HashSet<VarId>) -> bool {
    match s {
        Stmt::Let { dst: Some(d), .. } => needed.contains(d),
        Stmt::Assign { dst, .. } => needed.contains(dst),
        Stmt::Store { array, .. } => needed.contains(array),
        Stmt::If { .. } | Stmt::For { .. } => s
            .blocks()
            .into_iter()
            .any(|b| b.iter().any(|s| live(s, needed))),
        Stmt::Let { dst: None, .. } | Stmt::Push { .. } | Stmt::While { .. } => true,
    }
}

fn prune(block: Vec<Stmt>, needed: &HashSet<VarId>) -> Vec<Stmt> {
    block
        .into_iter()
        .filter(|s| live(s, needed))
        .map(|mut s| {
            for inner in s.blocks_mut() {
                *inner = prune(std::mem::take(inner), needed);
            }
            s
        })
        .collect()
}
