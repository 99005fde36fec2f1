//! How a loop or branch is reversed: the trials between the strategies (values saved on
//! stacks, the body replayed at the head of its reversed iteration, a fused reversal that
//! runs the adjoint in the primal sweep, scratch arrays restored from snapshots).
use super::*;

impl Rev<'_> {
    /// A reversed block (the body of the loop over `index`, if it is one): primal values
    /// brought back into scope, then the adjoint.
    pub(super) fn nested_block(&mut self, block: &[Stmt], index: Option<VarId>) -> Vec<Stmt> {
        let adjoint = self.scoped_adjoint(block, false);
        let restore = self.restore(block, &adjoint, index);
        let declarations = self.redeclared(block, &[&restore, &adjoint]);
        declarations
            .into_iter()
            .chain(restore)
            .chain(adjoint)
            .collect()
    }

    /// `let mut loc;` for each scalar location `block` declares that the reversed block uses
    /// (a loop replayed inside it runs again the assignments it made): the primal block's
    /// scope has ended when its reversal runs. A replay assigns such a location before it
    /// reads it (`replay::plan` takes it as stale otherwise), so no value is needed; a read
    /// of one never assigned would be a compile error, never a wrong value.
    fn redeclared(&self, block: &[Stmt], reversed: &[&Vec<Stmt>]) -> Vec<Stmt> {
        let mut used = HashSet::new();
        let mut declared = HashSet::new();
        for part in reversed {
            walk(part, &mut |s| {
                used.extend(s.reads());
                declared.extend(s.dst());
                if let Stmt::Assign { dst, .. } = s {
                    used.insert(*dst);
                }
            });
        }
        block
            .iter()
            .filter_map(|s| match s {
                Stmt::Let {
                    dst: Some(d), span, ..
                } if self.vars[*d].mutable
                    && !self.vars[*d].is_array()
                    && used.contains(d)
                    && !declared.contains(d) =>
                {
                    Some(Stmt::Let {
                        dst: Some(*d),
                        rhs: Rhs::Uninit,
                        span: *span,
                    })
                }
                _ => None,
            })
            .collect()
    }

    /// The adjoint of a block, with accumulators for the locations it declares; `replayed`:
    /// the block is the body a replay runs again.
    pub(super) fn scoped_adjoint(&mut self, block: &[Stmt], replayed: bool) -> Vec<Stmt> {
        let mut adjoint = Vec::new();
        let declared: Vec<(VarId, Operand)> = block
            .iter()
            .filter_map(|s| match s {
                Stmt::Let {
                    dst: Some(d), rhs, ..
                } if self.vars[*d].mutable && self.act.is_active(*d) => {
                    let witness = match rhs {
                        Rhs::Op(Op::Id, args) => args[0].clone(),
                        _ => Operand::Lit(0.0),
                    };
                    Some((*d, witness))
                }
                // An array the block creates and does not write (`let c = [a, b];`, a copy,
                // a call's array result): its elements' adjoints cross statements, so it
                // needs an accumulator shaped like it, as a top-level array has (without
                // one, the reads of its elements sent their adjoints nowhere).
                Stmt::Let { dst: Some(d), .. }
                    if self.vars[*d].is_array() && self.act.is_active(*d) =>
                {
                    Some((*d, Operand::Var(*d)))
                }
                _ => None,
            })
            .collect();
        let mut scoped = Vec::new();
        for (loc, witness) in declared {
            self.new_accumulator(loc, witness, &mut adjoint);
            scoped.push(loc);
        }
        for (k, stmt) in block.iter().enumerate().rev() {
            if let (true, Some(replay)) = (replayed, self.replay.as_mut()) {
                replay.pos = k;
            }
            self.stmt(stmt, &mut adjoint);
        }
        for loc in scoped {
            self.acc[loc] = None;
        }
        adjoint
    }

    /// The loop body reversed by replay (see `replay`), where that is valid and pays: the
    /// body's inner loops would otherwise save values, and no loop inside it replays (the
    /// innermost such loop replays, so its body runs twice, not once per enclosing replay).
    /// Trial reversals on copies decide; replays do not nest (a replay may sit inside a fused
    /// loop).
    pub(super) fn replay_reversal(
        &mut self,
        body: &[Stmt],
        snapshot: Option<(VarId, Span)>,
    ) -> Option<Vec<Stmt>> {
        let plan = self.replay_plan(body)?;
        let (saves, inner_replays) = self.trial(body);
        if !saves || inner_replays {
            return None;
        }
        self.reverse_by(body, plan, snapshot)
    }

    /// Whether a replay of `body` would give the primal values, and how. Replays do not nest
    /// inside replays (they may inside a fused loop), and each level of a loop nest runs
    /// trial reversals of the levels inside it, so the cost of deciding grows as 3^depth:
    /// deep nests are reversed without replays.
    pub(super) fn replay_plan(&self, body: &[Stmt]) -> Option<replay::Replay> {
        if self.replay.as_ref().is_some_and(|r| !r.fused) || loop_depth(body) > MAX_REPLAY_DEPTH {
            return None;
        }
        replay::plan(&self.vars, &self.defs, body, &self.written_from[self.top])
    }

    /// A trial reversal of `body` on a copy: whether its inner loops would save values the
    /// primal sweep pushes, and whether a loop inside it replays.
    pub(super) fn trial(&self, body: &[Stmt]) -> (bool, bool) {
        let mut inner = HashSet::new();
        for stmt in body {
            for block in stmt.blocks() {
                walk(block, &mut |s| inner.extend(s.dst()));
            }
        }
        let mut trial = self.clone();
        trial.nested_block(body, None);
        let saves = trial.stacks[self.stacks.len()..]
            .iter()
            .any(|(value, _)| inner.contains(value) && !trial.replayed.contains(value));
        (saves, trial.replays > self.replays)
    }

    /// `body` reversed by `plan`: a replay, or inside a fused loop snapshots; `None` (and
    /// nothing changed) where the replay would read data it cannot trust.
    pub(super) fn reverse_by(
        &mut self,
        body: &[Stmt],
        plan: replay::Replay,
        snapshot: Option<(VarId, Span)>,
    ) -> Option<Vec<Stmt>> {
        let mut attempt = self.clone();
        let reversed = match (self.replay.is_some(), snapshot) {
            // Inside a fused loop: restore the iteration's end state from snapshots.
            (true, Some((index, span))) => attempt.snapshot_block(body, plan, index, span),
            _ => attempt.replayed_block(body, plan)?,
        };
        *self = attempt;
        Some(reversed)
    }

    /// A top-level loop that only adds into a running sum `s` (`replay::fusion`): each
    /// iteration's adjoint runs in the primal sweep, right after the iteration, with the
    /// adjoint of `s` taken as 1 and every other adjoint the body touches redirected to a
    /// `unit_` accumulator. The adjoint sweep then adds each unit accumulator times the
    /// adjoint `s` really has (the adjoint is linear in it, and it is the same in every
    /// iteration, as `s += e` passes it through). No value is saved across iterations and
    /// the body is not run a second time. Chosen where the loop or one inside it would
    /// otherwise replay.
    /// Returns the adjoint sweep's statements for the loop.
    pub(super) fn fused_reversal(
        &mut self,
        body: &[Stmt],
        index: VarId,
        span: Span,
    ) -> Option<Vec<Stmt>> {
        let after = &self.primal.body[self.top + 1..];
        let (plan, sum) = replay::fusion(
            &self.vars,
            (&self.defs, &self.reads, &self.increments),
            body,
            after,
            &self.primal.outputs,
        )?;
        let acc_sum = self.acc[sum].filter(|_| self.act.is_active(sum))?;
        // Only where the loop, or a loop inside it, would otherwise replay: fusing saves that
        // replay (an inner loop then restores snapshots instead, `snapshot_block`).
        let (saves, inner_replays) = self.trial(body);
        let replays = inner_replays
            || saves
                && self
                    .replay_plan(body)
                    .is_some_and(|plan| self.clone().reverse_by(body, plan, None).is_some());
        if !replays {
            return None;
        }
        let mut declared = HashSet::new();
        walk(body, &mut |s| declared.extend(s.dst()));
        let mut outside: Vec<VarId> = Vec::new();
        walk(body, &mut |s| {
            let written = match s {
                Stmt::Store { array, .. } => Some(*array),
                Stmt::Assign { dst, .. } => Some(*dst),
                _ => None,
            };
            for v in s.reads().into_iter().chain(written) {
                if !declared.contains(&v) && !outside.contains(&v) && self.act.is_active(v) {
                    outside.push(v);
                }
            }
        });
        let mut before = Vec::new();
        let mut redirected = Vec::new();
        for &w in &outside {
            let name = format!("unit_{}", self.vars[w].name);
            let unit = fresh(&mut self.vars, name, span, Origin::Derivative);
            self.vars[unit].mutable = true;
            self.vars[unit].shape = self.vars[w].shape.clone();
            self.vars[unit].tensor = self.vars[w].is_array() && self.vars[w].tensor;
            before.push(Stmt::Let {
                dst: Some(unit),
                rhs: Rhs::Zero(Operand::Var(w)),
                span,
            });
            let acc = self.acc[w].replace(unit);
            let adj = self.adj[w].replace(Operand::Var(unit));
            redirected.push((w, unit, acc, adj));
        }
        // The seed: the running sum's adjoint, 1.
        let unit_sum = self.acc[sum].expect("redirected");
        let mut b = self.builder(&mut before, span);
        let zero = b.let_(Rhs::Op(Op::Id, vec![Operand::Var(unit_sum)]));
        let one = b.add(zero, Operand::Lit(1.0));
        b.assign(unit_sum, one);

        self.replay = Some(plan);
        let adjoint = self.scoped_adjoint(body, true);
        self.replay = None;

        let mut scaling = Vec::new();
        let mut b = self.builder(&mut scaling, span);
        let g = b.let_(Rhs::Op(Op::Id, vec![Operand::Var(acc_sum)]));
        for (w, unit, acc, adj) in redirected {
            self.acc[w] = acc;
            self.adj[w] = adj;
            if w == sum {
                continue;
            }
            match self.acc[w].filter(|_| self.vars[w].is_array()) {
                Some(acc) => scaling.push(elementwise_add(
                    &mut self.vars,
                    acc,
                    Operand::Var(unit),
                    Some(g.clone()),
                    span,
                )),
                None if self.vars[w].is_array() => {}
                None => {
                    let mut b = self.builder(&mut scaling, span);
                    let u = b.let_(Rhs::Op(Op::Id, vec![Operand::Var(unit)]));
                    let scaled = b.mul(u, g.clone());
                    self.accumulate(w, (scaled, false), &mut scaling);
                }
            }
        }
        self.inserts.before.insert(index, before);
        self.inserts.tails.entry(index).or_default().extend(adjoint);
        Some(scaling)
    }

    /// Inside a fused loop (whose values the adjoint uses within the same iteration of the
    /// fused loop, so these stacks stay small), a loop body reversed from snapshots instead
    /// of a replay: the primal sweep pushes, at the end of each iteration, the arrays and
    /// locations the body writes or declares that the adjoint reads; the reversed iteration
    /// first pops them back, which restores the state the iteration ended in, the state a
    /// replay would have produced, without running the body again.
    pub(super) fn snapshot_block(
        &mut self,
        body: &[Stmt],
        plan: replay::Replay,
        index: VarId,
        span: Span,
    ) -> Vec<Stmt> {
        let declared = plan.declared.clone();
        let plan = replay::Replay {
            rerun: false,
            ..plan
        };
        let outer = self.replay.replace(plan);
        let adjoint = self.scoped_adjoint(body, true);
        self.replay = outer;
        let restore = self.restore(body, &adjoint, None);
        let mut read = HashSet::new();
        walk(&adjoint, &mut |s| read.extend(s.reads()));
        walk(&restore, &mut |s| read.extend(s.reads()));
        let mut written: Vec<VarId> = Vec::new();
        walk(body, &mut |s| match s {
            Stmt::Assign { dst, .. } | Stmt::Store { array: dst, .. } => written.push(*dst),
            _ => {}
        });
        written.extend(
            declared
                .iter()
                .copied()
                .filter(|&v| self.vars[v].mutable && !self.vars[v].is_array()),
        );
        written.sort_unstable();
        written.dedup();
        let mut tail = Vec::new();
        let mut head: Vec<Vec<Stmt>> = Vec::new();
        for w in written.into_iter().filter(|w| read.contains(w)) {
            let name = format!("end_{}", self.vars[w].name);
            let key = fresh(&mut self.vars, name, span, Origin::Derivative);
            let stack = self.stack_for(key);
            self.replayed.insert(key);
            if self.vars[w].is_array() {
                let (push, pop) = array_snapshot(w, stack, span);
                tail.push(push);
                head.push(vec![pop]);
                continue;
            }
            tail.push(Stmt::Push {
                stack,
                value: Operand::Var(w),
                span,
            });
            head.push(if declared.contains(&w) {
                vec![Stmt::Let {
                    dst: Some(w),
                    rhs: Rhs::Pop(stack),
                    span,
                }]
            } else {
                let value = fresh(&mut self.vars, "restored", span, Origin::Temp);
                vec![
                    Stmt::Let {
                        dst: Some(value),
                        rhs: Rhs::Pop(stack),
                        span,
                    },
                    Stmt::Assign {
                        dst: w,
                        value: Operand::Var(value),
                        span,
                    },
                ]
            });
        }
        head.reverse();
        let head: Vec<Stmt> = head.into_iter().flatten().collect();
        self.inserts.tails.entry(index).or_default().extend(tail);
        head.into_iter().chain(restore).chain(adjoint).collect()
    }

    /// A loop body reversed by replay: the body again, pushing what the adjoints of its
    /// inner loops pop, then its adjoint. `None` if the part of the body the adjoint needs
    /// reads data the replay cannot trust (`Replay::stale`).
    pub(super) fn replayed_block(
        &mut self,
        body: &[Stmt],
        plan: replay::Replay,
    ) -> Option<Vec<Stmt>> {
        let before = self.stacks.len();
        let stale = plan.stale.clone();
        let outer = self.replay.replace(plan);
        let adjoint = self.scoped_adjoint(body, true);
        self.replay = outer;
        let saved: HashMap<VarId, VarId> = self.stacks[before..].iter().copied().collect();
        self.replayed.extend(saved.keys());
        let replay = replay::live_part(with_pushes(body, &saved, &Inserts::default()), &adjoint);
        let mut trusted = true;
        walk(&replay, &mut |s| {
            trusted &= s.reads().iter().all(|r| !stale.contains(r))
        });
        self.replays += usize::from(trusted);
        trusted.then(|| replay.into_iter().chain(adjoint).collect())
    }
}

/// The deepest loop nest inside a replay candidate's body that replay decisions explore.
pub(super) const MAX_REPLAY_DEPTH: usize = 4;

/// How deeply loops nest inside `block` (0: no loop).
pub(super) fn loop_depth(block: &[Stmt]) -> usize {
    block
        .iter()
        .map(|s| {
            let inner = s.blocks().into_iter().map(|b| loop_depth(b)).max();
            let own = usize::from(matches!(s, Stmt::For { .. } | Stmt::While { .. }));
            own + inner.unwrap_or(0)
        })
        .max()
        .unwrap_or(0)
}

/// Whether any statement of `block` reads or stores into `v` (its declaration aside).
pub(super) fn touches(block: &[Stmt], v: VarId) -> bool {
    let mut touched = false;
    walk(block, &mut |s| {
        touched |= s.reads().contains(&v) || matches!(s, Stmt::Store { array, .. } if *array == v);
    });
    touched
}
