//! Saving or recomputing: which primal values a reversed block recomputes, which are
//! pushed on value stacks in the primal sweep and popped back (`Rev::restore`), and index
//! locations stepped back instead of saved (`Rev::undo`).
use super::*;

impl Rev<'_> {
    /// The statements that bring back the primal values `adjoint` reads that `block` (the
    /// body of the loop over `index`, if it is one) defines: read back from the array element
    /// the body stored them in, recomputed where that gives the same value, popped where
    /// they were saved.
    pub(super) fn restore(
        &mut self,
        block: &[Stmt],
        adjoint: &[Stmt],
        index: Option<VarId>,
    ) -> Vec<Stmt> {
        let mut needed: HashSet<VarId> = HashSet::new();
        walk(adjoint, &mut |s| needed.extend(s.reads()));
        // `a[i] = d;` at the top of the body: where `a[i]` still holds `d` when iteration `i`
        // is reversed, one load gives `d` back, whatever computed it (GMM's `xc[j] = x - mu`
        // then needs neither `x` nor `mu`, and an `exp` stored so is not saved).
        let stored: HashMap<VarId, VarId> = match index {
            Some(i) => block
                .iter()
                .filter_map(|s| match s {
                    Stmt::Store {
                        array,
                        index: at,
                        value: Operand::Var(d),
                        accumulate: false,
                        ..
                    } if matches!(at.as_slice(), [Operand::Var(j)] if *j == i)
                        && self.vars[*array].shape.len() == 1
                        && self.holds_stored(*array, i) =>
                    {
                        Some((*d, *array))
                    }
                    _ => None,
                })
                .collect(),
            None => HashMap::new(),
        };
        let mut restore = Vec::new();
        for stmt in block.iter().rev() {
            let Stmt::Let {
                dst: Some(d),
                rhs,
                span,
            } = stmt
            else {
                continue;
            };
            if !needed.contains(d) || self.vars[*d].mutable {
                continue;
            }
            let one_load = matches!(rhs, Rhs::Index(..)) || matches!(rhs, Rhs::Op(Op::Id, _));
            if let (Some(&array), Some(i), false) = (stored.get(d), index, one_load) {
                restore.push(Stmt::Let {
                    dst: Some(*d),
                    rhs: Rhs::Index(array, vec![Operand::Var(i)]),
                    span: *span,
                });
            } else if self.recomputable(rhs) {
                needed.extend(stmt.reads());
                restore.push(stmt.clone());
            } else if let Some((undo, location)) = self.undo(block, *d, rhs) {
                // Pushed in reverse order: `d = loc - c; loc = d;`.
                needed.extend(undo.var());
                restore.push(Stmt::Assign {
                    dst: location,
                    value: Operand::Var(*d),
                    span: *span,
                });
                let (op, c) = undo.split();
                restore.push(Stmt::Let {
                    dst: Some(*d),
                    rhs: Rhs::Op(op, vec![Operand::Var(location), c]),
                    span: *span,
                });
            } else {
                let stack = self.stack_for(*d);
                restore.push(Stmt::Let {
                    dst: Some(*d),
                    rhs: Rhs::Pop(stack),
                    span: *span,
                });
            }
        }
        restore.reverse();
        restore
    }

    /// For a snapshot `d = loc` of an index location stepped by the block's one
    /// `loc = d + c` (a running index into packed storage, GMM's `li += 1`): the inverse step.
    /// At the head of the block's reversed iteration `loc` holds the value the iteration left
    /// in it, so `d = loc - c; loc = d;` gives `d` back and leaves `loc` as the iteration
    /// found it, for the iteration reversed next; nothing is saved. This needs `loc` in scope
    /// with its final value when the reversal starts: declared by the body a replay runs
    /// again, and assigned nowhere else. Integers only (a float step does not invert
    /// exactly): `d` is used as an index.
    pub(super) fn undo(&self, block: &[Stmt], d: VarId, rhs: &Rhs) -> Option<(Step, VarId)> {
        let Rhs::Op(Op::Id, args) = rhs else {
            return None;
        };
        let location = args[0].var()?;
        let replay = self.replay.as_ref()?;
        if !replay.declared.contains(&location) || self.reads[location] != 1 {
            return None;
        }
        let mut assigns = Vec::new();
        walk(&self.primal.body, &mut |s| match s {
            Stmt::Assign { dst, value, .. } if *dst == location => assigns.push(value.clone()),
            _ => {}
        });
        let [Operand::Var(next)] = assigns.as_slice() else {
            return None;
        };
        let at_top = |v: VarId| block.iter().any(|s| s.dst() == Some(v));
        let assigned_here = block
            .iter()
            .any(|s| matches!(s, Stmt::Assign { dst, .. } if *dst == location));
        if !assigned_here || !at_top(*next) || !at_top(d) {
            return None;
        }
        let mut indexes = false;
        walk(block, &mut |s| {
            let index = match s {
                Stmt::Let {
                    rhs: Rhs::Index(_, index),
                    ..
                }
                | Stmt::Store { index, .. } => index.as_slice(),
                _ => &[],
            };
            indexes |= index.iter().any(|i| i.var() == Some(d));
        });
        let step = match self.defs.get(next)? {
            Rhs::Op(Op::Add, a) if a[0].var() == Some(d) => Step::Sub(a[1].clone()),
            Rhs::Op(Op::Add, a) if a[1].var() == Some(d) => Step::Sub(a[0].clone()),
            Rhs::Op(Op::Sub, a) if a[0].var() == Some(d) => Step::Add(a[1].clone()),
            _ => return None,
        };
        let invariant = step
            .var()
            .is_none_or(|c| !self.vars[c].mutable && !at_top(c));
        (indexes && invariant).then_some((step, location))
    }

    /// Whether element `i` of `array`, when iteration `i` of the loop over `i` is reversed,
    /// still holds what the loop body stored there: the loop is a top-level statement of the
    /// region whose end state the adjoint sweep sees, so it ran once per iteration of that
    /// region, and the body's store is the only write to `array` in the region. The region
    /// is the loop body being reversed by fusion or from snapshots (not a replay, which
    /// runs only the part of the body its adjoint needs), or else the function's body.
    pub(super) fn holds_stored(&self, array: VarId, i: VarId) -> bool {
        match &self.replay {
            Some(r) => {
                !r.rerun && r.loops.get(r.pos) == Some(&Some(i)) && r.writes.get(&array) == Some(&1)
            }
            None => {
                matches!(&self.primal.body[self.top], Stmt::For { index, .. } if *index == i)
                    && self.writes.get(&array) == Some(&1)
            }
        }
    }

    /// Whether evaluating `rhs` again in the adjoint sweep gives the primal value.
    /// Recomputation is preferred (it costs no memory), except for transcendental functions,
    /// which cost more to call again than to save and load (measured on LogSumExp: 1.6x).
    pub(super) fn recomputable(&self, rhs: &Rhs) -> bool {
        let unchanged = |v: VarId| self.unchanged(v);
        match rhs {
            // A snapshot of a location: the same value if nothing writes it from here on.
            Rhs::Op(Op::Id, args) if args[0].var().is_some_and(|v| self.vars[v].mutable) => {
                args[0].var().is_some_and(unchanged)
            }
            // The registry's `cost` facet.
            Rhs::Op(op, _) => op.row().cost == crate::ir::op::Cost::Recompute,
            // An array nothing writes from here on (a parameter, or one filled before the
            // loop) reads the same again.
            Rhs::Index(array, _) => unchanged(*array),
            // Its elements are values (brought back in turn), and so is a copy's source
            // where nothing writes it from here on.
            Rhs::ArrayLit(_) => true,
            Rhs::CopyArray(src) => unchanged(*src),
            Rhs::Opaque(o) => o.pure && o.reads.iter().all(|&v| unchanged(v)),
            _ => false,
        }
    }

    /// Whether the location `v`, read here in the adjoint sweep, holds what the primal read
    /// (nothing writes it from here on, or a replay made it so).
    pub(super) fn unchanged(&self, v: VarId) -> bool {
        !self.vars[v].mutable
            || match self.replay.as_ref().and_then(|r| r.unchanged(v)) {
                Some(unchanged) => unchanged,
                None => !self.written_from[self.top].contains(&v),
            }
    }

    pub(super) fn stack_for(&mut self, v: VarId) -> VarId {
        if let Some(&(_, s)) = self.stacks.iter().find(|(value, _)| *value == v) {
            return s;
        }
        let name = format!("saved_{}", self.vars[v].name);
        let stack = fresh(&mut self.vars, name, Span::call_site(), Origin::Derivative);
        self.vars[stack].mutable = true;
        self.stacks.push((v, stack));
        stack
    }
}

/// The inverse of an index location's step: `loc - c` or `loc + c`.
pub(super) enum Step {
    Sub(Operand),
    Add(Operand),
}

impl Step {
    pub(super) fn split(self) -> (Op, Operand) {
        match self {
            Step::Sub(c) => (Op::Sub, c),
            Step::Add(c) => (Op::Add, c),
        }
    }

    pub(super) fn var(&self) -> Option<VarId> {
        match self {
            Step::Sub(c) | Step::Add(c) => c.var(),
        }
    }
}

/// `push_slice(&mut stack, &a[..])` and `pop_into(&mut stack, &mut a[..])`: an array's
/// contents saved at the end of an iteration and put back, whole (a copy, not a push and a
/// pop per element, each of which updates the stack's length in memory).
pub(super) fn array_snapshot(array: VarId, stack: VarId, span: Span) -> (Stmt, Stmt) {
    let call = |r: crate::ir::Runtime| Stmt::Let {
        dst: None,
        rhs: Rhs::Op(
            Op::Runtime(r),
            vec![Operand::Var(stack), Operand::Var(array)],
        ),
        span,
    };
    (
        call(crate::ir::Runtime::PushSlice),
        call(crate::ir::Runtime::PopInto),
    )
}
