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
//! - data the body writes: a location must be assigned before the read, earlier in the same
//!   block or an enclosing one inside the body; an array must be filled the same way
//!   (`for j in 0..n { a[j] = ..; }`) and read at the index of a loop over `..n`, the same
//!   `n`, or filled whole (`n` is the length it was made with, or `a.len()`).
//!
//! Other reads are *stale*. The replay may still skip them: it runs only the statements the
//! adjoint needs (`live_part`), so `total += e`, whose adjoint does not need `total`, is no
//! obstacle; but if a needed statement reads stale data, the loop is reversed without a
//! replay. The body must also have no effects (impure code, such as `println!`) and no
//! tensors (their values move). Replaying costs a second run of the body, so it is chosen
//! only where the body's inner loops would otherwise save values (see
//! `Rev::replay_reversal`).
//!
//! Better still, a top-level loop whose only data flowing out of an iteration is a running
//! sum `total += e` is *fused* (`fusion`, `Rev::fused_reversal`): each iteration's adjoint
//! runs in the primal sweep right after the iteration, while its values are current, with
//! the sum's adjoint taken as 1; the adjoint sweep scales what it accumulated by the sum's
//! real adjoint. Nothing is saved across iterations and nothing runs twice. Inside a fused
//! loop, an inner loop that would replay instead saves the arrays and locations its body
//! leaves behind at the end of each iteration, whole, and puts them back at the head of the
//! reversed iteration (`Rev::snapshot_block`): those stacks hold one iteration of the fused
//! loop, so they stay in cache, and a copy costs less than running the body again.
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
    /// The adjoint runs right after the primal iteration (`fusion`), not after a replay:
    /// data the body does not write is current, whatever runs after the loop.
    pub fused: bool,
    /// The reversed iteration starts by running the body again; `false` where the arrays
    /// already hold the iteration's end state without that (fused, or restored from
    /// snapshots).
    pub rerun: bool,
    /// How many statements of the body (nested ones included) write each location or array.
    pub writes: HashMap<VarId, usize>,
    /// For each top-level statement of the body, the index of the loop it is.
    pub loops: Vec<Option<VarId>>,
}

impl Replay {
    /// Whether a read of `v` inside the body's statement `pos` gives, after the replay, the
    /// value the primal read (`None`: the body does not write `v`; the caller decides).
    pub fn unchanged(&self, v: VarId) -> Option<bool> {
        if self.stale.contains(&v) {
            return Some(false);
        }
        let written = self
            .written_from
            .first()
            .is_some_and(|all| all.contains(&v));
        match (written, self.fused) {
            (true, _) => Some(!self.written_from[self.pos].contains(&v)),
            (false, true) => Some(true),
            (false, false) => None,
        }
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
    let written = crate::ir::analysis::written_from(body);
    let mut coverage = Coverage {
        vars,
        defs,
        declared,
        loop_ends,
        written: &written[0],
        later,
        stale: HashSet::new(),
        tensors: false,
    };
    coverage.block(body, HashMap::new(), HashSet::new());
    if coverage.tensors {
        return None;
    }
    Some(Replay {
        written_from: written.clone(),
        pos: 0,
        declared: body.iter().filter_map(Stmt::dst).collect(),
        stale: coverage.stale,
        fused: false,
        rerun: true,
        writes: crate::ir::analysis::write_counts(body),
        loops: body
            .iter()
            .map(|s| match s {
                Stmt::For { index, .. } => Some(*index),
                _ => None,
            })
            .collect(),
    })
}

/// Which reads of a loop body may find data that is not what the primal read there: the
/// body's *stale* reads.
struct Coverage<'a> {
    vars: &'a [Var],
    defs: &'a HashMap<VarId, Rhs>,
    /// What the body declares (its own in every iteration).
    declared: HashSet<VarId>,
    /// The end of each loop over `..end` in the body, by index variable.
    loop_ends: HashMap<VarId, &'a Operand>,
    /// What the body writes, at any depth.
    written: &'a HashSet<VarId>,
    /// What the loop or anything after it writes.
    later: &'a HashSet<VarId>,
    stale: HashSet<VarId>,
    tensors: bool,
}

impl<'a> Coverage<'a> {
    /// `filled`: the arrays a statement earlier in this block or an enclosing one (inside
    /// the body) filled over `0..end`, with that end; `assigned`: the locations one assigned.
    fn block(
        &mut self,
        block: &'a [Stmt],
        mut filled: HashMap<VarId, &'a Operand>,
        mut assigned: HashSet<VarId>,
    ) {
        for stmt in block {
            for r in stmt.reads() {
                if !self.current(stmt, r, &filled, &assigned) {
                    self.stale.insert(r);
                }
            }
            for inner in stmt.blocks() {
                self.block(inner, filled.clone(), assigned.clone());
            }
            match stmt {
                Stmt::Assign { dst, .. } => {
                    assigned.insert(*dst);
                }
                Stmt::For {
                    index,
                    start,
                    end,
                    inclusive: false,
                    body,
                    ..
                } if start.constant() == Some(0.0) => {
                    for s in body {
                        if let Stmt::Store {
                            array,
                            index: at,
                            accumulate: false,
                            ..
                        } = s
                        {
                            if at.len() == 1 && at[0].var() == Some(*index) {
                                filled.entry(*array).or_insert(end);
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }

    /// Whether `stmt`'s read of `r` finds what the primal read.
    fn current(
        &mut self,
        stmt: &Stmt,
        r: VarId,
        filled: &HashMap<VarId, &'a Operand>,
        assigned: &HashSet<VarId>,
    ) -> bool {
        let vars = self.vars;
        if !vars[r].mutable && !vars[r].tensor || self.declared.contains(&r) {
            return true;
        }
        self.tensors |= vars[r].tensor;
        if !self.written.contains(&r) {
            return !self.later.contains(&r);
        }
        if !vars[r].is_array() {
            return assigned.contains(&r);
        }
        let Some(fill_end) = filled.get(&r) else {
            return false;
        };
        // Filled whole (`for j in 0..n` over an array made with length `n`): any read is of
        // this iteration's data; otherwise the read's index must run over the fill's range.
        let same = |a: &Operand, b: &Operand| match (a.var(), b.var()) {
            (Some(x), Some(y)) => x == y && !vars[x].mutable,
            (None, None) => a.constant().is_some() && a.constant() == b.constant(),
            _ => false,
        };
        let index = element_index(stmt, r).and_then(|i| self.loop_ends.get(&i));
        vars[r].shape.len() == 1
            && (fills_whole(vars, self.defs, r, fill_end)
                || index.is_some_and(|end| same(end, fill_end)))
    }
}

/// The running sum `s` of a loop whose iterations' adjoints can run during the primal
/// sweep, each right after its iteration (see `Rev::fused_reversal`): the body's only data
/// flowing from one iteration to the next, or out of the loop, is `s += e`. Then the adjoint
/// of `s` is the same in every iteration (it passes through `s += e` unchanged), and each
/// iteration's adjoint is that adjoint times the adjoint computed with 1 in its place.
///
/// `after` is the code after the loop and `outputs` the function's outputs. Besides `s`,
/// every location and array the body writes and does not declare must be current when read
/// (`plan`'s analysis: written before read in each iteration) and unread after the loop.
pub fn fusion(
    vars: &[Var],
    (defs, reads, increments): (&HashMap<VarId, Rhs>, &[usize], &HashSet<VarId>),
    body: &[Stmt],
    after: &[Stmt],
    outputs: &[Operand],
) -> Option<(Replay, VarId)> {
    let mut plan = plan(vars, defs, body, &HashSet::new())?;
    let [sum] = plan.stale.iter().copied().collect::<Vec<_>>()[..] else {
        return None;
    };
    if vars[sum].is_array() {
        return None;
    }
    // `s` is read only by the snapshots of its increments `s = snapshot + e`, each of which
    // the increment alone reads (the reverse pass's pass-through: `reverse::increment_of`); an
    // increment that reads `s` elsewhere (`s += (s * x).sin()`) changes its adjoint.
    let mut snapshots = Vec::new();
    let mut reads_of_sum = 0;
    for stmt in body {
        if let Stmt::Assign { dst, value, .. } = stmt {
            if *dst == sum {
                let increment = value.var().and_then(|v| {
                    crate::ir::analysis::increment_of((defs, reads, increments), sum, v)
                })?;
                snapshots.push(increment);
            }
        }
    }
    let mut assigns = 0;
    walk(body, &mut |s| {
        reads_of_sum += s.reads().iter().filter(|&&r| r == sum).count();
        assigns += usize::from(matches!(s, Stmt::Assign { dst, .. } if *dst == sum));
    });
    if snapshots.is_empty() || reads_of_sum != snapshots.len() || assigns != snapshots.len() {
        return None;
    }
    // Nothing else the body writes is read after the loop.
    let mut declared = HashSet::new();
    walk(body, &mut |s| declared.extend(s.dst()));
    let written: Vec<VarId> = plan.written_from[0]
        .iter()
        .copied()
        .filter(|w| *w != sum && !declared.contains(w))
        .collect();
    let mut read_after: HashSet<VarId> = outputs.iter().filter_map(Operand::var).collect();
    walk(after, &mut |s| read_after.extend(s.reads()));
    if written.iter().any(|w| read_after.contains(w)) {
        return None;
    }
    plan.stale.clear();
    plan.fused = true;
    plan.rerun = false;
    Some((plan, sum))
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
            .and_then(crate::ir::placeholder_var)
            .is_some_and(|p| p == v),
        _ => false,
    };
    // `end` is `array.len()`, or `source.len()` for an array made as a copy of `source`
    // (`x.to_vec()`: the same length).
    if let Some(syn::Expr::MethodCall(m)) = end.var().and_then(parsed) {
        let copied_from = |v: VarId| matches!(defs.get(&array), Some(Rhs::CopyArray(s)) if *s == v);
        let measured = match &*m.receiver {
            syn::Expr::Path(p) => p.path.get_ident().and_then(crate::ir::placeholder_var),
            _ => None,
        };
        if m.method == "len"
            && m.args.is_empty()
            && measured.is_some_and(|v| v == array || copied_from(v))
        {
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
            match crate::lower::vec_repeat(&m.mac) {
                Some((_, length)) => length,
                None => return false,
            }
        }
        _ => return false,
    };
    // `end` is computed by the same (pure) code as the creation's length, `x.len()`, from
    // values that cannot have changed in between (immutable ones, and arrays, whose length
    // is fixed).
    if let (Some(code), Some(Rhs::Opaque(o))) = (
        end.var().and_then(parsed),
        end.var().and_then(|e| defs.get(&e)),
    ) {
        let fixed = o
            .reads
            .iter()
            .all(|&r| !vars[r].mutable || vars[r].is_array());
        if o.pure
            && fixed
            && quote::ToTokens::to_token_stream(&code).to_string()
                == quote::ToTokens::to_token_stream(&length).to_string()
        {
            return true;
        }
    }
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
