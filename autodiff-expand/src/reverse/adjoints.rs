//! The adjoint of each statement (`Rev::stmt`, `Rev::let_adjoint`): which adjoints a
//! statement adds to, the partials read from `rules`, calls through the calling convention,
//! and the array moves and element-wise adds that array assignments need.
use super::*;

impl Rev<'_> {
    pub(super) fn stmt(&mut self, stmt: &Stmt, out: &mut Vec<Stmt>) {
        let act = self.act;
        match stmt {
            Stmt::Let {
                dst: Some(d),
                rhs,
                span,
            } => {
                let d = *d;
                if !act.is_active(d) || act.stopped[d] {
                    return;
                }
                let Some(g) = self.adj[d].clone() else { return };
                if self.is_location(d) && !self.vars[d].is_array() {
                    // The location's declaration: its initial value gets the adjoint.
                    if let Rhs::Op(Op::Id, args) = rhs {
                        if let Some(init) = args[0].var() {
                            let mut b = self.builder(out, *span);
                            let g = b.let_(Rhs::Op(Op::Id, vec![g]));
                            self.accumulate(init, (g, false), out);
                        }
                    }
                    return;
                }
                self.let_adjoint(d, rhs, g, *span, out);
            }
            Stmt::Let { dst: None, .. } | Stmt::Push { .. } => {}
            Stmt::Assign { dst, value, span } => {
                let Some(acc) = self.acc[*dst] else {
                    return;
                };
                if act.stopped[*dst] {
                    return;
                }
                if self.vars[*dst].is_array() {
                    // `y = e` of a whole array: `y`'s adjoint moves to `e`'s element by
                    // element, and `y`'s starts again from zero (it was added to `e`'s as an
                    // array sum, and zeroed as a scalar: neither compiled).
                    let to = value
                        .var()
                        .and_then(|v| self.acc[v].filter(|_| act.varied[v]));
                    out.push(move_adjoint(&mut self.vars, acc, to, *span));
                    return;
                }
                // `loc = 0.0`, `loc = T::zero()`: the value written carries no derivative, but
                // the location's old value is still overwritten, so its adjoint is reset.
                let increment = value.var().and_then(|v| {
                    increment_of((&self.defs, &self.reads, &self.increments), *dst, v)
                });
                let mut b = self.builder(out, *span);
                let g = b.let_(Rhs::Op(Op::Id, vec![Operand::Var(acc)]));
                // `s = s + e` (and `s += e`): the adjoint of `s` passes through unchanged, so
                // it is neither reset here nor added back at the read of `s`.
                if let (Some(snapshot), Some(v)) = (increment, value.var()) {
                    self.passthrough[snapshot] = true;
                    self.accumulate(v, (g, false), out);
                    return;
                }
                // A tensor location may be overwritten with a value of another shape (`h =
                // layer(h)`): its adjoint restarts from a rank-0 zero, which broadcasts.
                let zero = if b.vars[*dst].tensor && !b.vars[*dst].is_array() {
                    b.let_(Rhs::Op(
                        Op::Rule(crate::ir::RuleFn::ResetRule),
                        vec![g.clone()],
                    ))
                } else {
                    b.let_(Rhs::Zero(g.clone()))
                };
                b.assign(acc, zero);
                if let Some(v) = value.var() {
                    self.accumulate(v, (g, false), out);
                }
            }
            Stmt::Store {
                array,
                index,
                value,
                accumulate,
                span,
            } => {
                let Some(acc) = self.acc[*array] else { return };
                let mut b = self.builder(out, *span);
                let g = b.let_(Rhs::Index(acc, index.clone()));
                if !accumulate {
                    let zero = b.let_(Rhs::Zero(g.clone()));
                    out.push(Stmt::Store {
                        array: acc,
                        index: index.clone(),
                        value: zero,
                        accumulate: false,
                        span: *span,
                    });
                }
                if let Some(v) = value.var() {
                    self.accumulate(v, (g, false), out);
                }
            }
            Stmt::If {
                cond,
                then,
                otherwise,
                span,
            } => {
                let promoted = self.promote(stmt, out);
                let then = self.nested_block(then, None);
                let otherwise = self.nested_block(otherwise, None);
                out.push(Stmt::If {
                    cond: cond.clone(),
                    then,
                    otherwise,
                    span: *span,
                });
                self.unpromote(promoted);
            }
            Stmt::While {
                body, trips, span, ..
            } => {
                // The body's adjoint runs as many times as the body ran.
                let promoted = self.promote(stmt, out);
                let body = self.nested_block(body, None);
                let index = fresh(&mut self.vars, "trip", *span, Origin::Temp);
                out.push(Stmt::For {
                    index,
                    start: Operand::Const {
                        tokens: quote::quote!(0),
                        value: Some(0.0),
                    },
                    end: Operand::Var(*trips),
                    inclusive: false,
                    reversed: true,
                    body,
                    span: *span,
                });
                self.unpromote(promoted);
            }
            Stmt::For {
                index,
                start,
                end,
                inclusive,
                reversed,
                body,
                span,
            } => {
                if std::ptr::eq(stmt, &self.primal.body[self.top]) {
                    if let Some(scaling) = self.fused_reversal(body, *index, *span) {
                        out.extend(scaling);
                        return;
                    }
                }
                let promoted = self.promote(stmt, out);
                let mut body = match self.replay_reversal(body, Some((*index, *span))) {
                    Some(reversed) => reversed,
                    None => self.nested_block(body, Some(*index)),
                };
                // A reversed loop adds to `acc[i]` and `acc[i + 1]` each iteration: carry the
                // `acc[i]` part to the next iteration, where it joins `acc[i + 1]`'s (then `i`
                // is one less), so each element is written once (two overlapping writes per
                // iteration stall store forwarding: Rosenbrock ran at 9x its primal).
                // A reversed loop that adds to `acc[a]` with `a` fixed in the loop sums in a
                // register and adds the sum once after it.
                let mut carried = Vec::new();
                if let (false, false) = (*reversed, *inclusive) {
                    let neighbour = carry_neighbour(&mut self.vars, &mut body, *index, *span);
                    // Each element of the accumulator is then written once by the loop and
                    // its flush; if nothing in the adjoint sweep touched the accumulator
                    // before (it is still all zeros), those writes are plain stores, not
                    // read-modify-writes.
                    let top_level = std::ptr::eq(stmt, &self.primal.body[self.top]);
                    let first_writes =
                        neighbour.is_some_and(|(_, acc, _)| top_level && !touches(out, acc));
                    if let (true, Some((_, acc, _))) = (first_writes, neighbour) {
                        for s in body.iter_mut() {
                            if let Stmt::Store {
                                array, accumulate, ..
                            } = s
                            {
                                *accumulate &= *array != acc;
                            }
                        }
                    }
                    carried.extend(
                        neighbour.map(|(carry, acc, _)| (carry, acc, start.clone(), !first_writes)),
                    );
                    carried.extend(
                        invariant_accumulations(&mut self.vars, &mut body, *index, *span)
                            .into_iter()
                            .map(|(carry, acc, at)| (carry, acc, at, true)),
                    );
                }
                for &(carry, acc, _, _) in &carried {
                    out.push(zero_element_of(carry, acc, *span));
                }
                out.push(Stmt::For {
                    index: *index,
                    start: start.clone(),
                    end: end.clone(),
                    inclusive: *inclusive,
                    reversed: !reversed,
                    body,
                    span: *span,
                });
                for (carry, acc, at, accumulate) in carried {
                    out.extend(flush_carry(
                        &mut self.vars,
                        carry,
                        (acc, accumulate),
                        at,
                        start,
                        end,
                        *span,
                    ));
                }
                self.unpromote(promoted);
            }
        }
    }

    /// The adjoint of `let d = rhs;` given the adjoint `g` of `d`.
    pub(super) fn let_adjoint(
        &mut self,
        d: VarId,
        rhs: &Rhs,
        g: Operand,
        span: Span,
        out: &mut Vec<Stmt>,
    ) {
        match rhs {
            // Reading a location: its accumulator gets the adjoint.
            Rhs::Op(Op::Id, args) if args[0].var().is_some_and(|l| self.is_location(l)) => {
                let l = args[0].var().expect("checked");
                if !self.passthrough[d] {
                    self.accumulate(l, (g, false), out);
                }
            }
            Rhs::Op(op, args) => {
                let act = self.act;
                let mut b = self.builder(out, span);
                let partials = rules::partials(&mut b, *op, args, &Operand::Var(d));
                let mut contributions = Vec::new();
                for (arg, partial) in args.iter().zip(&partials) {
                    let Some(a) = arg.var().filter(|&a| act.varied[a]) else {
                        continue;
                    };
                    if let Some((c, negate)) = rules::apply(&mut b, partial, g.clone(), true) {
                        // Broadcasting arithmetic: the cotangent is summed back to the
                        // operand's shape (a scalar operand gets the sum).
                        let c = match broadcasts(b.vars, *op, args) {
                            true => b.op(Op::ReduceTo, vec![arg.clone(), c]),
                            false => c,
                        };
                        contributions.push((a, (c, negate)));
                    }
                }
                for (a, c) in contributions {
                    self.accumulate(a, c, out);
                }
            }
            Rhs::Index(array, index) => {
                if let Some(acc) = self.acc[*array] {
                    out.push(Stmt::Store {
                        array: acc,
                        index: index.clone(),
                        value: g,
                        accumulate: true,
                        span,
                    });
                }
            }
            Rhs::ArrayLit(elements) => {
                let Some(acc) = self.acc[d] else { return };
                for (k, e) in elements.iter().enumerate() {
                    let Some(e) = e.var().filter(|&e| self.act.varied[e]) else {
                        continue;
                    };
                    let k = proc_macro2::Literal::usize_unsuffixed(k);
                    let index = vec![Operand::Const {
                        tokens: quote::quote!(#k),
                        value: None,
                    }];
                    let mut b = self.builder(out, span);
                    let c = b.let_(Rhs::Index(acc, index));
                    self.accumulate(e, (c, false), out);
                }
            }
            Rhs::CopyArray(src) => {
                let (Some(from), Some(to)) = (self.acc[d], self.acc[*src]) else {
                    return;
                };
                out.push(elementwise_add(
                    &mut self.vars,
                    to,
                    Operand::Var(from),
                    None,
                    span,
                ));
            }
            Rhs::Call(call) => {
                // A tuple-valued call's seed: each output's adjoint, zero where none arrived.
                let g = match self.outputs_of(d) {
                    Some(outputs) => {
                        let adjoints: Vec<Option<Operand>> = outputs
                            .into_iter()
                            .map(|o| o.and_then(|o| self.adj[o].clone()))
                            .collect();
                        let mut b = self.builder(out, span);
                        let entries = adjoints
                            .into_iter()
                            .map(|a| a.unwrap_or_else(|| b.let_(Rhs::Zero(Operand::Lit(0.0)))))
                            .collect();
                        b.let_(Rhs::Tuple(entries))
                    }
                    None => g,
                };
                // The callee's reverse derivative gives the gradient of every argument.
                let seen = self.call_arguments(d, call, span, out);
                let mut b = self.builder(out, span);
                let pair = b.let_(Rhs::CallReverse(seen, g, d));
                let pair = pair.var().expect("a let");
                for (i, arg) in call.args.iter().enumerate() {
                    let Some(a) = arg.value.var().filter(|&a| self.act.varied[a]) else {
                        continue;
                    };
                    let mut b = self.builder(out, span);
                    let grad = b.let_(Rhs::Field(pair, vec![1, i]));
                    if let Some(g) = grad.var() {
                        b.vars[g].tensor = b.vars[a].tensor;
                    }
                    match self.acc[a].filter(|_| self.vars[a].is_array()) {
                        // Part of the array (`&x[a..b]`, `&rows[k]`): into that part.
                        Some(acc) if arg.view.is_some() => {
                            let view = arg.view.as_ref().expect("checked");
                            if let Some(g) = grad.var() {
                                self.vars[g].shape = vec![crate::ir::Level::Dynamic];
                                out.push(add_into_part(&mut self.vars, acc, view, g, span));
                            }
                        }
                        Some(acc) => out.push(Stmt::Let {
                            dst: None,
                            rhs: Rhs::AddInto(acc, grad),
                            span,
                        }),
                        None => self.accumulate(a, (grad, false), out),
                    }
                }
            }
            // Output `k` of a tuple-valued call: its adjoint joins the call's seed, built
            // where the call is reversed (after every use of its outputs).
            Rhs::Output(call, _) => {
                if self.adj[*call].is_none() {
                    self.adj[*call] = Some(Operand::Lit(0.0));
                }
            }
            Rhs::Opaque(_)
            | Rhs::Tuple(_)
            | Rhs::Uninit
            | Rhs::Zero(_)
            | Rhs::NewStack
            | Rhs::Pop(_)
            | Rhs::CallForward(..)
            | Rhs::CallReverse(..)
            | Rhs::Field(..)
            | Rhs::AddInto(..) => {}
        }
    }

    /// Before a branch or loop is reversed: values defined outside it that receive
    /// contributions inside it get an accumulator (SSA adjoints cannot cross iterations).
    pub(super) fn promote(&mut self, stmt: &Stmt, out: &mut Vec<Stmt>) -> Vec<VarId> {
        let mut defined = HashSet::new();
        let mut read = Vec::new();
        for block in stmt.blocks() {
            walk(block, &mut |s| {
                defined.extend(s.dst());
                read.extend(s.reads());
            });
        }
        let mut promoted = Vec::new();
        for v in read {
            if defined.contains(&v)
                || promoted.contains(&v)
                || self.acc[v].is_some()
                || !self.act.is_active(v)
            {
                continue;
            }
            let span = self.vars[v].span;
            let init = match self.adj[v].take() {
                // A rule constant (`f_grad`'s seed 1) has no type of its own for the `let
                // mut` to take in generic code (`let mut adj_s = 1.0;` is an f64): zero of
                // `v`'s type, plus the constant.
                Some(Operand::Lit(c)) => {
                    let mut b = self.builder(out, span);
                    let zero = b.let_(Rhs::Zero(Operand::Var(v)));
                    b.add(zero, Operand::Lit(c))
                }
                Some(adj) => adj,
                None => {
                    let mut b = self.builder(out, span);
                    b.let_(Rhs::Zero(Operand::Var(v)))
                }
            };
            let mut b = self.builder(out, span);
            let name = format!("adj_{}", b.vars[v].name);
            let acc = b.location(&name, init);
            self.acc[v] = Some(acc);
            self.adj[v] = Some(Operand::Var(acc));
            promoted.push(v);
        }
        promoted
    }

    /// After the branch or loop: the accumulated value is the adjoint from here on.
    pub(super) fn unpromote(&mut self, promoted: Vec<VarId>) {
        for v in promoted {
            self.acc[v] = None;
        }
    }

    /// The call `let d = call;` as its reverse derivative is to see it: an array argument
    /// that something writes between the call and its adjoint (a later statement, a later
    /// iteration of a loop around it) is pushed right after the call, in the primal sweep,
    /// and the adjoint sweep passes the popped copy instead, so the callee's derivative reads
    /// the elements the call read (otherwise it got the array as the primal sweep left it).
    pub(super) fn call_arguments(
        &mut self,
        d: VarId,
        call: &Call,
        span: Span,
        out: &mut Vec<Stmt>,
    ) -> Call {
        let mut call = call.clone();
        for arg in &mut call.args {
            let Some(a) = arg.value.var() else { continue };
            let array = self.vars[a].is_array() || self.vars[a].tensor;
            if !array || !self.vars[a].mutable || self.unchanged(a) {
                continue;
            }
            let name = format!("saved_{}", self.vars[a].name);
            let stack = fresh(&mut self.vars, name, Span::call_site(), Origin::Derivative);
            self.vars[stack].mutable = true;
            self.inserts.stacks.push(stack);
            self.inserts.after.entry(d).or_default().push(Stmt::Push {
                stack,
                value: Operand::Var(a),
                span,
            });
            let name = self.vars[a].name.clone();
            let copy = fresh(&mut self.vars, name, span, Origin::Temp);
            self.vars[copy].shape = self.vars[a].shape.clone();
            self.vars[copy].tensor = self.vars[a].tensor;
            out.push(Stmt::Let {
                dst: Some(copy),
                rhs: Rhs::Pop(stack),
                span,
            });
            arg.value = Operand::Var(copy);
        }
        call
    }

    /// For a call that returns a tuple, the variable of each output the primal reads (`None`
    /// where it reads none); `None` for a call that returns one value.
    pub(super) fn outputs_of(&self, call: VarId) -> Option<Vec<Option<VarId>>> {
        let outputs: Vec<(usize, VarId)> = self
            .defs
            .iter()
            .filter_map(|(&v, rhs)| match rhs {
                Rhs::Output(c, k) if *c == call => Some((*k, v)),
                _ => None,
            })
            .collect();
        let n = outputs.iter().map(|&(k, _)| k + 1).max()?;
        let mut vars = vec![None; n];
        for (k, v) in outputs {
            vars[k] = Some(v);
        }
        Some(vars)
    }
}

/// `for k in 0..to.len() { to[k] += from[k]; }`, or `+= from` for a constant: the adjoint of
/// an array copy, and the seed of an array output.
pub(super) fn elementwise_add(
    vars: &mut Vec<Var>,
    to: VarId,
    from: Operand,
    scale: Option<Operand>,
    span: Span,
) -> Stmt {
    let k = fresh(vars, "k", span, Origin::Temp);
    let len = fresh(vars, "len", span, Origin::Temp);
    let mut body = Vec::new();
    let value = match from {
        Operand::Var(from) if vars[from].is_array() => {
            let element = fresh(vars, "element", span, Origin::Temp);
            body.push(Stmt::Let {
                dst: Some(element),
                rhs: Rhs::Index(from, vec![Operand::Var(k)]),
                span,
            });
            match scale {
                Some(scale) => {
                    let scaled = fresh(vars, "scaled", span, Origin::Temp);
                    body.push(Stmt::Let {
                        dst: Some(scaled),
                        rhs: Rhs::Op(Op::Mul, vec![Operand::Var(element), scale]),
                        span,
                    });
                    Operand::Var(scaled)
                }
                None => Operand::Var(element),
            }
        }
        constant => constant,
    };
    body.push(Stmt::Store {
        array: to,
        index: vec![Operand::Var(k)],
        value,
        accumulate: true,
        span,
    });
    over_indices(to, k, len, body, span)
}

/// `for k in 0..from.len() { to[k] += from[k]; from[k] = 0; }` (without `to`: the zeroing
/// only): the adjoint of assigning a whole array.
pub(super) fn move_adjoint(
    vars: &mut Vec<Var>,
    from: VarId,
    to: Option<VarId>,
    span: Span,
) -> Stmt {
    let k = fresh(vars, "k", span, Origin::Temp);
    let len = fresh(vars, "len", span, Origin::Temp);
    let element = fresh(vars, "element", span, Origin::Temp);
    let zero = fresh(vars, "zero", span, Origin::Temp);
    let at = || vec![Operand::Var(k)];
    let mut body = vec![Stmt::Let {
        dst: Some(element),
        rhs: Rhs::Index(from, at()),
        span,
    }];
    body.extend(to.map(|to| Stmt::Store {
        array: to,
        index: at(),
        value: Operand::Var(element),
        accumulate: true,
        span,
    }));
    body.push(Stmt::Let {
        dst: Some(zero),
        rhs: Rhs::Zero(Operand::Var(element)),
        span,
    });
    body.push(Stmt::Store {
        array: from,
        index: at(),
        value: Operand::Var(zero),
        accumulate: false,
        span,
    });
    over_indices(from, k, len, body, span)
}

/// `acc[i][s + k] += g[k]` for every `k` of `g`: a call's gradient of part of an array
/// (`&x[s..e]`, the row `&x[i]`) added into that part of the array's adjoint.
fn add_into_part(
    vars: &mut Vec<Var>,
    acc: VarId,
    view: &crate::ir::ArgView,
    g: VarId,
    span: Span,
) -> Stmt {
    let k = fresh(vars, "k", span, Origin::Temp);
    let len = fresh(vars, "len", span, Origin::Temp);
    let element = fresh(vars, "element", span, Origin::Temp);
    let mut body = vec![Stmt::Let {
        dst: Some(element),
        rhs: Rhs::Index(g, vec![Operand::Var(k)]),
        span,
    }];
    let mut index = view.index.clone();
    index.push(match &view.range {
        None => Operand::Var(k),
        Some((start, _)) => {
            let at = fresh(vars, "at", span, Origin::Temp);
            let (s, kk) = (start.tokens(span), crate::ir::placeholder(k, span));
            body.push(Stmt::Let {
                dst: Some(at),
                rhs: Rhs::Opaque(crate::ir::Opaque {
                    tokens: quote::quote!(#s + #kk),
                    reads: start.var().into_iter().chain([k]).collect(),
                    passive_result: true,
                    pure: true,
                    what: "an index".into(),
                }),
                span,
            });
            Operand::Var(at)
        }
    });
    body.push(Stmt::Store {
        array: acc,
        index,
        value: Operand::Var(element),
        accumulate: true,
        span,
    });
    over_indices(g, k, len, body, span)
}

/// Arithmetic with a tensor operand, where operands may have different shapes (the ops the
/// registry writes as infix operators, broadcasting helpers on tensors).
pub(super) fn broadcasts(vars: &[Var], op: Op, args: &[Operand]) -> bool {
    matches!(op.row().form, crate::ir::op::Form::Infix { .. })
        && args.iter().any(|a| a.var().is_some_and(|v| vars[v].tensor))
}

/// `{ let len = array.len(); for k in 0..len { body } }`: a loop over an array's indices, in
/// a block of its own (`if true`) so `len` and `k` stay local. `elementwise_add` and
/// `move_adjoint` build their loops with it.
fn over_indices(array: VarId, k: VarId, len: VarId, body: Vec<Stmt>, span: Span) -> Stmt {
    let placeholder = crate::ir::placeholder(array, span);
    Stmt::If {
        cond: Operand::Const {
            tokens: quote::quote!(true),
            value: Some(1.0),
        },
        then: vec![
            Stmt::Let {
                dst: Some(len),
                rhs: Rhs::Opaque(crate::ir::Opaque {
                    tokens: quote::quote!(#placeholder.len()),
                    reads: vec![array],
                    passive_result: true,
                    pure: true,
                    what: "the length of an array".into(),
                }),
                span,
            },
            Stmt::For {
                index: k,
                start: Operand::Const {
                    tokens: quote::quote!(0),
                    value: Some(0.0),
                },
                end: Operand::Var(len),
                inclusive: false,
                reversed: false,
                body,
                span,
            },
        ],
        otherwise: Vec::new(),
        span,
    }
}
