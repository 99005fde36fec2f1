//! Carry peepholes: a reversed loop that adds to `acc[i + 1]` and `acc[i]`, or to `acc[a]`
//! with `a` fixed, keeps the running part in a register and flushes it once.
use super::*;

/// In a loop body reversed over `i`: one `acc[i] += a` and one `acc[i + 1] += b`, both
/// unconditional, and no other use of `acc`. Rewrites them to `acc[i + 1] += carry + b;
/// carry = a;` and returns `(carry, acc, i + 1)`; the caller declares the carry before the
/// loop and adds it to `acc[start]` after.
pub(super) fn carry_neighbour(
    vars: &mut Vec<Var>,
    body: &mut Vec<Stmt>,
    i: VarId,
    span: Span,
) -> Option<(VarId, VarId, VarId)> {
    let is_next = |v: VarId, body: &[Stmt]| {
        body.iter().any(|s| {
            matches!(s, Stmt::Let { dst: Some(d), rhs: Rhs::Op(Op::Add, args), .. }
                if *d == v && args[0].var() == Some(i) && args[1].constant() == Some(1.0))
        })
    };
    let stores: Vec<(usize, VarId, VarId, Operand)> = body
        .iter()
        .enumerate()
        .filter_map(|(k, s)| match s {
            Stmt::Store {
                array,
                index,
                value,
                accumulate: true,
                ..
            } if index.len() == 1 => Some((k, *array, index[0].var()?, value.clone())),
            _ => None,
        })
        .collect();
    let [first, second] = stores.as_slice() else {
        return None;
    };
    if first.1 != second.1 || !vars[first.1].mutable {
        return None;
    }
    let acc = first.1;
    let (here, next) = match (first.2 == i, second.2 == i) {
        (true, false) if is_next(second.2, body) => (first, second),
        (false, true) if is_next(first.2, body) => (second, first),
        _ => return None,
    };
    // Nothing else may read or write the accumulator inside the loop.
    let mut other_uses = 0;
    walk(body, &mut |s| {
        if s.reads().contains(&acc) || matches!(s, Stmt::Store { array, .. } if *array == acc) {
            other_uses += 1;
        }
    });
    if other_uses != 2 {
        return None;
    }
    let carry = fresh(
        vars,
        format!("carry_{}", vars[acc].name),
        span,
        Origin::Derivative,
    );
    vars[carry].mutable = true;
    let (here_k, next_k, next_index, a, b) =
        (here.0, next.0, next.2, here.3.clone(), next.3.clone());
    let ([read, add], sum) = plus_carry(vars, carry, b, span);
    let store_next = Stmt::Store {
        array: acc,
        index: vec![Operand::Var(next_index)],
        value: sum,
        accumulate: true,
        span,
    };
    let carry_here = Stmt::Assign {
        dst: carry,
        value: a,
        span,
    };
    // The carry is read (for `acc[i + 1]`) before it takes this iteration's `a`, and `a` is
    // assigned where it is known: with the `acc[i + 1]` store when `acc[i]`'s came first,
    // else where `acc[i]`'s was (its value may be computed between the two).
    let (at_next, at_here) = match here_k < next_k {
        true => (vec![read, add, store_next, carry_here], Vec::new()),
        false => (vec![read, add, store_next], vec![carry_here]),
    };
    let mut rebuilt = Vec::with_capacity(body.len() + 3);
    for (k, stmt) in std::mem::take(body).into_iter().enumerate() {
        if k == next_k {
            rebuilt.extend(at_next.iter().cloned());
        } else if k == here_k {
            rebuilt.extend(at_here.iter().cloned());
        } else {
            rebuilt.push(stmt);
        }
    }
    *body = rebuilt;
    Some((carry, acc, next_index))
}

/// `let previous = carry; let sum = previous + value;`: the statements and `sum`.
pub(super) fn plus_carry(
    vars: &mut Vec<Var>,
    carry: VarId,
    value: Operand,
    span: Span,
) -> ([Stmt; 2], Operand) {
    let previous = fresh(vars, "carried", span, Origin::Temp);
    let sum = fresh(vars, "summed", span, Origin::Temp);
    let statements = [
        Stmt::Let {
            dst: Some(previous),
            rhs: Rhs::Op(Op::Id, vec![Operand::Var(carry)]),
            span,
        },
        Stmt::Let {
            dst: Some(sum),
            rhs: Rhs::Op(Op::Add, vec![Operand::Var(previous), value]),
            span,
        },
    ];
    (statements, Operand::Var(sum))
}

/// `let mut carry = 0.0;`, the zero of the accumulator's element type (the macro does not
/// know it).
pub(super) fn zero_element_of(carry: VarId, acc: VarId, span: Span) -> Stmt {
    Stmt::Let {
        dst: Some(carry),
        rhs: Rhs::Op(
            Op::Runtime(crate::ir::Runtime::ZeroElement),
            vec![Operand::Var(acc)],
        ),
        span,
    }
}

/// In a loop body reversed over `i`: every use of the accumulator `acc` is `acc[a] += v` at
/// the top level, with one `a` the loop does not change (Gmm's `adj_xc[a]` in its
/// triangular loop). Rewrites each to `carry += v` and returns `(carry, acc, a)` per such
/// accumulator; the caller declares the carry before the loop and adds it to `acc[a]`
/// after, so the loop keeps the sum in a register instead of a read-modify-write of memory
/// per iteration (each waits on the previous one's store).
pub(super) fn invariant_accumulations(
    vars: &mut Vec<Var>,
    body: &mut Vec<Stmt>,
    i: VarId,
    span: Span,
) -> Vec<(VarId, VarId, Operand)> {
    let mut varying: HashSet<VarId> = HashSet::from([i]);
    let mut uses: HashMap<VarId, usize> = HashMap::new();
    walk(body, &mut |s| {
        varying.extend(s.dst());
        if let Stmt::Assign { dst, .. } = s {
            varying.insert(*dst);
        }
        let stored = match s {
            Stmt::Store { array, .. } => Some(*array),
            _ => None,
        };
        for v in s.reads().into_iter().chain(stored) {
            *uses.entry(v).or_default() += 1;
        }
    });
    // Each accumulator's index, and how many top-level stores use it.
    let mut sites: std::collections::BTreeMap<VarId, (Option<Operand>, usize)> =
        std::collections::BTreeMap::new();
    for s in body.iter() {
        if let Stmt::Store {
            array,
            index,
            accumulate: true,
            ..
        } = s
        {
            let at = match index.as_slice() {
                [Operand::Var(a)] if !varying.contains(a) => Some(index[0].clone()),
                _ => None,
            };
            let site = sites.entry(*array).or_insert((at.clone(), 0));
            if site.0.as_ref().and_then(Operand::var) != at.as_ref().and_then(Operand::var) {
                site.0 = None;
            }
            site.1 += 1;
        }
    }
    let mut carried = Vec::new();
    for (acc, (at, stores)) in sites {
        let Some(at) = at else { continue };
        // Stores count once in `uses` as a write and once as a read (`+=`).
        if vars[acc].origin != Origin::Derivative || uses.get(&acc) != Some(&(2 * stores)) {
            continue;
        }
        let name = format!("carry_{}", vars[acc].name);
        let carry = fresh(vars, name, span, Origin::Derivative);
        vars[carry].mutable = true;
        let mut rebuilt = Vec::with_capacity(body.len() + 2 * stores);
        for stmt in std::mem::take(body) {
            match stmt {
                Stmt::Store {
                    array, value, span, ..
                } if array == acc => {
                    let (statements, sum) = plus_carry(vars, carry, value, span);
                    rebuilt.extend(statements);
                    rebuilt.push(Stmt::Assign {
                        dst: carry,
                        value: sum,
                        span,
                    });
                }
                other => rebuilt.push(other),
            }
        }
        *body = rebuilt;
        carried.push((carry, acc, at));
    }
    carried
}

/// `if start < end { acc[at] += carry; }` (`=` unless `accumulate`): what a loop carried,
/// added once if it ran.
pub(super) fn flush_carry(
    vars: &mut Vec<Var>,
    carry: VarId,
    (acc, accumulate): (VarId, bool),
    at: Operand,
    start: &Operand,
    end: &Operand,
    span: Span,
) -> Vec<Stmt> {
    let (ran, test) = crate::ir::loop_runs(vars, start, end, false, span);
    let value = fresh(vars, "carried", span, Origin::Temp);
    vec![
        test,
        Stmt::If {
            cond: Operand::Var(ran),
            then: vec![
                Stmt::Let {
                    dst: Some(value),
                    rhs: Rhs::Op(Op::Id, vec![Operand::Var(carry)]),
                    span,
                },
                Stmt::Store {
                    array: acc,
                    index: vec![at],
                    value: Operand::Var(value),
                    accumulate,
                    span,
                },
            ],
            otherwise: Vec::new(),
            span,
        },
    ]
}
