//! Lowering of control flow: branches, loops (`for`, `while`, `loop`), `break`, `continue`
//! and early `return` (flags that guard the rest of an iteration or of the body), and the
//! syntactic scans they need.
use super::*;
use syn::visit::Visit;

impl Lower<'_> {
    /// A body with a `return` before its end: each output goes to a location, `returned`
    /// guards what follows a statement that may return, and the tail is one more return.
    pub(super) fn body_with_early_returns(
        &mut self,
        block: &syn::Block,
        tuple_outputs: Option<usize>,
    ) -> Vec<Operand> {
        let span = block.brace_token.span.join();
        let results: Vec<VarId> = (0..tuple_outputs.unwrap_or(1))
            .map(|k| {
                let v = self.f.new_var(format!("result_{k}"), span, Origin::Temp);
                self.f.vars[v].mutable = true;
                // Initialised, because rustc cannot see that a flag guards every path; an
                // array output (`-> [T; 3]`) with an array of its type.
                let array = self.output_types.get(k).and_then(zero_array);
                let rhs = match array {
                    Some(tokens) => {
                        let ty = &self.output_types[k];
                        self.f.vars[v].shape = shape_of(ty);
                        self.f.vars[v].ty = Some(ty.to_token_stream());
                        Rhs::Opaque(Opaque {
                            tokens,
                            reads: Vec::new(),
                            passive_result: true,
                            pure: true,
                            what: "an array".into(),
                        })
                    }
                    None => Rhs::Zero(Operand::Lit(0.0)),
                };
                self.f.body.push(Stmt::Let {
                    dst: Some(v),
                    rhs,
                    span,
                });
                v
            })
            .collect();
        let returned = self.passive_location("returned", bool_const(false), span);
        self.returns = Some(Returns {
            results: results.clone(),
            returned,
        });
        self.body_level = true;
        self.stmts(&block.stmts);
        self.returns = None;
        results.into_iter().map(|r| self.read(r, span)).collect()
    }

    /// `return e` (or the tail of a body with early returns): the outputs are assigned,
    /// `returned` is set, and every enclosing loop stops.
    pub(super) fn early_return(&mut self, value: Option<&Expr>, token: impl ToTokens) {
        let Some(returns) = self.returns.clone() else {
            self.cx.error_spanned_by(
                token,
                "`return` is supported at the end of the body and inside branches and loops",
            );
            return;
        };
        let Some(value) = value else {
            self.cx
                .error_spanned_by(token, "return the value to differentiate, e.g. `return y;`");
            return;
        };
        let values = match (strip_parens(value), returns.results.len()) {
            (Expr::Tuple(t), n) if n > 1 && t.elems.len() == n => {
                t.elems.iter().map(|e| self.expr(e)).collect()
            }
            (_, 1) => vec![self.expr(value)],
            (_, n) => {
                self.cx.error_spanned_by(
                    value,
                    format!("return a tuple expression of {n} values, `(a, b)`"),
                );
                return;
            }
        };
        let span = value.span();
        for (result, v) in returns.results.iter().zip(values) {
            self.f.body.push(Stmt::Assign {
                dst: *result,
                value: v,
                span,
            });
        }
        self.set_flag(returns.returned, true, span);
        for flags in self.loops.clone() {
            if let Some(running) = flags.running {
                self.set_flag(running, false, span);
            }
            if let Some(skip) = flags.skip {
                self.set_flag(skip, true, span);
            }
        }
    }

    /// `break` or `continue` of the innermost loop.
    pub(super) fn jump(
        &mut self,
        token: impl ToTokens,
        extra: Option<TokenStream>,
        is_break: bool,
    ) {
        if let Some(extra) = extra {
            self.cx.error_spanned_by(extra, "loop labels and `break` with a value are not supported; use a plain `break` and a `let mut` declared before the loop");
            return;
        }
        let Some(flags) = self.loops.last().copied() else {
            self.cx
                .error_spanned_by(token, "`break` and `continue` belong inside a loop");
            return;
        };
        let span = token
            .into_token_stream()
            .into_iter()
            .next()
            .map_or_else(Span::call_site, |t| t.span());
        if is_break {
            let running = flags
                .running
                .expect("a loop with `break` has a running flag");
            self.set_flag(running, false, span);
        }
        let skip = flags
            .skip
            .expect("a loop with `break` or `continue` has a skip flag");
        self.set_flag(skip, true, span);
    }

    pub(super) fn set_flag(&mut self, flag: VarId, value: bool, span: Span) {
        self.f.body.push(Stmt::Assign {
            dst: flag,
            value: bool_const(value),
            span,
        });
    }

    /// A passive location: a flag or a counter.
    pub(super) fn passive_location(&mut self, name: &str, init: Operand, span: Span) -> VarId {
        let v = self.f.new_var(name, span, Origin::Temp);
        self.f.vars[v].mutable = true;
        self.f.body.push(Stmt::Let {
            dst: Some(v),
            rhs: Rhs::Op(Op::Id, vec![init]),
            span,
        });
        v
    }

    /// `v = v + 1;`
    pub(super) fn increment(&mut self, v: VarId, span: Span) {
        let current = self.read(v, span);
        let one = Operand::Const {
            tokens: quote!(1),
            value: Some(1.0),
        };
        let next = self.f.push_op(Op::Add, vec![current, one], span);
        self.f.body.push(Stmt::Assign {
            dst: v,
            value: Operand::Var(next),
            span,
        });
    }

    /// Passive code combining operands (`running && i < n`), kept as written.
    pub(super) fn passive_code(
        &mut self,
        parts: &[&Operand],
        combine: impl Fn(&[TokenStream]) -> TokenStream,
        span: Span,
    ) -> Operand {
        let tokens: Vec<TokenStream> = parts.iter().map(|o| o.tokens(span)).collect();
        let v = self.f.new_var("", span, Origin::Temp);
        self.f.body.push(Stmt::Let {
            dst: Some(v),
            rhs: Rhs::Opaque(Opaque {
                tokens: combine(&tokens),
                reads: parts.iter().filter_map(|o| o.var()).collect(),
                passive_result: true,
                pure: true,
                what: "a loop condition".into(),
            }),
            span,
        });
        Operand::Var(v)
    }

    /// Flags for a loop body with `break` / `continue`: `running`, declared before the loop;
    /// `skip` is declared by `loop_body` at the head of each iteration.
    pub(super) fn loop_flags(&mut self, body: &[syn::Stmt], span: Span) -> LoopFlags {
        let (has_break, _) = jumps(body);
        LoopFlags {
            running: has_break.then(|| self.passive_location("running", bool_const(true), span)),
            skip: None,
        }
    }

    /// The body of a loop: flags reset, statements (the rest of the iteration guarded after a
    /// `break` or `continue`), then `after` (index and trip-count updates).
    pub(super) fn loop_body(
        &mut self,
        flags: LoopFlags,
        stmts: &[syn::Stmt],
        before: impl FnOnce(&mut Self),
        after: impl FnOnce(&mut Self),
    ) -> Vec<Stmt> {
        let (has_break, has_continue) = jumps(stmts);
        self.nested_block(|l| {
            before(l);
            // Declared in the iteration (it only guards the rest of it), so that wherever
            // the adjoint sweep runs an iteration again, the flag is declared there too.
            let mut flags = flags;
            flags.skip = (has_break || has_continue)
                .then(|| l.passive_location("skip", bool_const(false), Span::call_site()));
            l.loops.push(flags);
            l.stmts(stmts);
            l.loops.pop();
            after(l);
        })
    }

    /// A `while` loop in the IR: the header, the body, and the trip count after it.
    pub(super) fn push_while(
        &mut self,
        header: Vec<Stmt>,
        cond: Operand,
        body: Vec<Stmt>,
        count: VarId,
        span: Span,
    ) {
        let trips = self.f.new_var("trips", span, Origin::Temp);
        self.f.body.push(Stmt::While {
            header,
            cond,
            body,
            trips,
            span,
        });
        self.f.body.push(Stmt::Let {
            dst: Some(trips),
            rhs: Rhs::Op(Op::Id, vec![Operand::Var(count)]),
            span,
        });
    }

    /// `while cond { body }`.
    pub(super) fn while_loop(&mut self, w: &syn::ExprWhile) {
        if let Some(label) = &w.label {
            self.cx
                .error_spanned_by(label, "loop labels are not supported");
        }
        let span = w.while_token.span;
        let flags = self.loop_flags(&w.body.stmts, span);
        let count = self.passive_location("count", int_const(0), span);
        let mut cond = Operand::Lit(0.0);
        let header = self.nested_block(|l| {
            let c = l.expr(&w.cond);
            cond = match flags.running {
                Some(running) => {
                    let r = l.read(running, span);
                    l.passive_code(
                        &[&r, &c],
                        |t| {
                            let (r, c) = (&t[0], &t[1]);
                            quote!(#r && #c)
                        },
                        span,
                    )
                }
                None => c,
            };
        });
        let body = self.loop_body(flags, &w.body.stmts, |_| {}, |l| l.increment(count, span));
        self.push_while(header, cond, body, count, span);
    }

    /// `loop { .. break; .. }`.
    pub(super) fn plain_loop(&mut self, lp: &syn::ExprLoop) {
        let span = lp.loop_token.span;
        if let Some(label) = &lp.label {
            self.cx
                .error_spanned_by(label, "loop labels are not supported");
        }
        let flags = self.loop_flags(&lp.body.stmts, span);
        let Some(running) = flags.running else {
            self.cx.error_spanned_by(lp.loop_token, "this `loop` has no `break`, so the function never returns; add `if done { break; }`");
            return;
        };
        let count = self.passive_location("count", int_const(0), span);
        let mut cond = Operand::Lit(0.0);
        let header = self.nested_block(|l| cond = l.read(running, span));
        let body = self.loop_body(flags, &lp.body.stmts, |_| {}, |l| l.increment(count, span));
        self.push_while(header, cond, body, count, span);
    }

    /// `if` as a statement; `else if` chains nest.
    pub(super) fn if_stmt(&mut self, i: &syn::ExprIf) {
        if let Expr::Let(l) = strip_parens(&i.cond) {
            return self.if_let(i, l, None);
        }
        let cond = self.expr(&i.cond);
        let then = self.nested_block(|l| l.stmts(&i.then_branch.stmts));
        let otherwise = match &i.else_branch {
            None => Vec::new(),
            Some((_, e)) => self.nested_block(|l| match &**e {
                Expr::Block(b) => l.stmts(&b.block.stmts),
                other => l.expr_stmt(other),
            }),
        };
        self.f.body.push(Stmt::If {
            cond,
            then,
            otherwise,
            span: i.if_token.span,
        });
    }

    /// `if` as an expression: each branch assigns its value to a location read after it.
    pub(super) fn if_expr(&mut self, i: &syn::ExprIf) -> Operand {
        let span = i.if_token.span;
        let result = self.branch_result(span);
        if let Expr::Let(l) = strip_parens(&i.cond) {
            self.if_let(i, l, Some(result));
            return self.read(result, span);
        }
        let cond = self.expr(&i.cond);
        let then = self.nested_block(|l| {
            let v = l.block_value(&i.then_branch);
            l.assign_result(result, v, span);
        });
        let otherwise = match &i.else_branch {
            Some((_, e)) => self.nested_block(|l| {
                let v = l.expr(e);
                l.assign_result(result, v, span);
            }),
            None => {
                self.cx
                    .error_spanned_by(i, "an `if` used as a value needs an `else` branch");
                Vec::new()
            }
        };
        self.f.body.push(Stmt::If {
            cond,
            then,
            otherwise,
            span,
        });
        self.read(result, span)
    }

    /// The location each branch of an `if` or arm of a `match` used as a value assigns.
    pub(super) fn branch_result(&mut self, span: Span) -> VarId {
        let result = self.f.new_var("branch", span, Origin::Temp);
        self.f.vars[result].mutable = true;
        self.f.body.push(Stmt::Let {
            dst: Some(result),
            rhs: Rhs::Uninit,
            span,
        });
        result
    }

    /// A branch's value assigned to the location of its `if` or `match`: an array value
    /// (`if c { [x, y] } else { [y, x] }`) makes the location an array of its shape.
    pub(super) fn assign_result(&mut self, dst: VarId, value: Operand, span: Span) {
        if let Some(a) = value.var().filter(|&a| self.f.vars[a].is_array()) {
            if !self.f.vars[dst].is_array() {
                self.f.vars[dst].shape = self.f.vars[a].shape.clone();
            }
        }
        self.f.body.push(Stmt::Assign { dst, value, span });
    }

    /// `match` used as a value.
    pub(super) fn match_value(&mut self, m: &syn::ExprMatch) -> Operand {
        let span = m.match_token.span;
        let result = self.branch_result(span);
        self.match_expr(m, Some(result));
        self.read(result, span)
    }

    /// `for i in a..b`, `for v in x.iter()` / `&x`, `.iter().enumerate()`,
    /// `.iter().zip(y.iter())`: a loop over an index range.
    pub(super) fn for_loop(&mut self, f: &syn::ExprForLoop) {
        if let Some(label) = &f.label {
            self.cx.error_spanned_by(
                label,
                "loop labels are not supported; `break` and `continue` apply to the innermost loop (use a flag to leave outer loops)",
            );
        }
        if let Some(rewritten) = filtered_loop(f) {
            return self.for_loop(&rewritten);
        }
        let span = f.for_token.span;
        let Some(iteration) = self.iteration(&f.expr) else {
            self.cx.error_spanned_by(
                &f.expr,
                "loop over a range (`for i in 0..n`, `a..=b`), an array or part of one (`x.iter()`, `&x`, `&x[a..b]`, `.iter().enumerate()`, `.iter().zip(y.iter())`, `x.windows(k)`, `x.chunks(k)`, `x.chunks_exact(k)`), narrowed with `.skip(k)`, `.take(k)`, `.step_by(k)` (after `enumerate` and `zip`), reversed with `.rev()`, and `.filter(|v| ..)` last; for other chains (`chain`, `enumerate` after `rev` or `skip`), loop over the indices (`for i in 0..x.len() { .. x[i] .. }`)",
            );
            return;
        };
        let flags = self.loop_flags(&f.body.stmts, span);
        if flags.running.is_none() {
            let index = self.f.new_var("i", span, Origin::Temp);
            let body = self.loop_body(
                flags,
                &f.body.stmts,
                |l| l.bind_iteration(&f.pat, &iteration, index),
                |_| {},
            );
            self.f.body.push(iteration.into_loop(index, body, span));
            return;
        }
        // With `break`: a `while` over an index location, so the trip count is known. A
        // reversed loop counts forward too and binds the mirrored index, `end - 1 - (k -
        // start)` (`end - (k - start)` for `a..=b`), which never goes below `start`.
        let running = flags.running.expect("checked");
        let next = self.passive_location("index", iteration.start.clone(), span);
        let count = self.passive_location("count", int_const(0), span);
        let mut cond = Operand::Lit(0.0);
        let header = self.nested_block(|l| {
            let r = l.read(running, span);
            let k = l.read(next, span);
            let less = if iteration.inclusive {
                quote!(<=)
            } else {
                quote!(<)
            };
            cond = l.passive_code(
                &[&r, &k, &iteration.end],
                |t| {
                    let (r, k, end) = (&t[0], &t[1], &t[2]);
                    quote!(#r && #k #less #end)
                },
                span,
            );
        });
        let body = self.loop_body(
            flags,
            &f.body.stmts,
            |l| {
                let mut index = l.read(next, span).var().expect("a snapshot");
                if iteration.reversed {
                    let k = Operand::Var(index);
                    let inclusive = iteration.inclusive;
                    index = l
                        .passive_code(
                            &[&iteration.start, &iteration.end, &k],
                            |t| {
                                let (start, end, k) = (&t[0], &t[1], &t[2]);
                                match inclusive {
                                    true => quote!(#end - (#k - #start)),
                                    false => quote!(#end - 1 - (#k - #start)),
                                }
                            },
                            span,
                        )
                        .var()
                        .expect("a value");
                }
                l.bind_iteration(&f.pat, &iteration, index);
            },
            |l| {
                l.increment(next, span);
                l.increment(count, span);
            },
        );
        self.push_while(header, cond, body, count, span);
    }

    /// What a `for` loop iterates over.
    pub(super) fn iteration(&mut self, e: &Expr) -> Option<Iteration> {
        let zero = || Operand::Const {
            tokens: quote!(0),
            value: Some(0.0),
        };
        match strip_parens(e) {
            Expr::Range(r) => {
                let start = match &r.start {
                    Some(s) => self.expr(s),
                    None => zero(),
                };
                let end = self.expr(r.end.as_deref()?);
                let inclusive = matches!(r.limits, syn::RangeLimits::Closed(_));
                Some(Iteration {
                    start,
                    end,
                    inclusive,
                    arrays: Vec::new(),
                    chunks: None,
                    enumerate: false,
                    reversed: false,
                    narrowed: false,
                    stride: None,
                })
            }
            Expr::Reference(r) if sub_slice(&r.expr).is_some() => self.sub_slice_iteration(&r.expr),
            Expr::Reference(r) => self.array_iteration(&r.expr, Vec::new(), false),
            Expr::Path(_) => self.array_iteration(e, Vec::new(), false),
            Expr::MethodCall(m) => {
                let name = m.method.to_string();
                match (name.as_str(), m.args.len()) {
                    ("iter", 0) if sub_slice(&m.receiver).is_some() => {
                        self.sub_slice_iteration(&m.receiver)
                    }
                    ("iter", 0) => self.array_iteration(&m.receiver, Vec::new(), false),
                    // `x.iter().copied()`: the same elements, by value (as the loop reads them).
                    ("copied" | "cloned", 0) => self.iteration(&m.receiver),
                    // `(a..b).rev()`, `x.iter().rev()`, `x.iter().enumerate().rev()`: the same
                    // indices from the last down.
                    ("rev", 0) => {
                        let mut it = self.iteration(&m.receiver)?;
                        it.reversed = !it.reversed;
                        Some(it)
                    }
                    // After `rev`, `enumerate` would count up while the elements go down, and
                    // `zip` would pair a reversed array with a forward one.
                    ("enumerate", 0) => {
                        let mut it = self.iteration(&m.receiver)?;
                        if it.reversed || it.narrowed {
                            return None;
                        }
                        it.enumerate = true;
                        Some(it)
                    }
                    // `skip(k)` / `take(k)`: a narrower index range (from the end when
                    // reversed). Not before `enumerate`, which would count from the new start.
                    ("skip" | "take", 1) => {
                        let mut it = self.iteration(&m.receiver)?;
                        let k = self.expr(&m.args[0]);
                        if it.inclusive {
                            it.end = self.passive_code(
                                &[&it.end],
                                |t| {
                                    let e = &t[0];
                                    quote!(#e + 1)
                                },
                                m.method.span(),
                            );
                            it.inclusive = false;
                        }
                        let span = m.method.span();
                        let (start, end) = (it.start.clone(), it.end.clone());
                        match (name.as_str(), it.reversed) {
                            ("skip", false) => {
                                it.start = self.passive_code(
                                    &[&start, &k, &end],
                                    |t| {
                                        let (s, k, e) = (&t[0], &t[1], &t[2]);
                                        quote!((#s + #k).min(#e))
                                    },
                                    span,
                                )
                            }
                            ("take", false) => {
                                it.end = self.passive_code(
                                    &[&start, &k, &end],
                                    |t| {
                                        let (s, k, e) = (&t[0], &t[1], &t[2]);
                                        quote!((#e).min(#s + #k).max(#s))
                                    },
                                    span,
                                )
                            }
                            ("skip", true) => {
                                it.end = self.passive_code(
                                    &[&start, &k, &end],
                                    |t| {
                                        let (s, k, e) = (&t[0], &t[1], &t[2]);
                                        quote!((#e).saturating_sub(#k).max(#s))
                                    },
                                    span,
                                )
                            }
                            _ => {
                                it.start = self.passive_code(
                                    &[&start, &k, &end],
                                    |t| {
                                        let (s, k, e) = (&t[0], &t[1], &t[2]);
                                        quote!((#e).saturating_sub(#k).max(#s).min(#e))
                                    },
                                    span,
                                )
                            }
                        }
                        it.narrowed = true;
                        Some(it)
                    }
                    // `step_by(k)`: a count `j` in `0..(len + k - 1) / k`, the index
                    // `start + j * k` (after `rev`, `end - 1 - j * k`: a forward loop from
                    // the last index down). Not twice.
                    ("step_by", 1) => {
                        let mut it = self.iteration(&m.receiver)?;
                        if it.stride.is_some() {
                            return None;
                        }
                        let span = m.method.span();
                        let k = self.expr(&m.args[0]);
                        let plus = if it.inclusive { quote!(+ 1) } else { quote!() };
                        let count = self.passive_code(&[&it.start, &it.end, &k], |t| {
                            let (s, e, k) = (&t[0], &t[1], &t[2]);
                            quote!(if #e #plus > #s { (#e #plus - #s + #k - 1) / #k } else { 0 })
                        }, span);
                        // After `rev`: from the last index down, `last - j * k`.
                        let down = it.reversed;
                        let base = match down {
                            false => it.start.clone(),
                            // One past the last index (nothing subtracted before the loop
                            // knows it runs).
                            true => self.passive_code(
                                &[&it.end],
                                |t| {
                                    let e = &t[0];
                                    quote!(#e #plus)
                                },
                                span,
                            ),
                        };
                        it.reversed = false;
                        it.stride = Some((base, k, down));
                        it.start = Operand::Const {
                            tokens: quote!(0),
                            value: Some(0.0),
                        };
                        it.end = count;
                        it.inclusive = false;
                        it.narrowed = true;
                        Some(it)
                    }
                    ("windows" | "chunks" | "chunks_exact", 1) => {
                        let chunking = match name.as_str() {
                            "windows" => Chunking::Windows,
                            "chunks" => Chunking::Chunks,
                            _ => Chunking::ChunksExact,
                        };
                        let source = self.part(&m.receiver)?;
                        let span = m.method.span();
                        let k = self.expr(&m.args[0]);
                        let n = self.part_len(&source, span);
                        let end = self.chunk_count(chunking, &n, &k, span);
                        Some(Iteration {
                            start: zero(),
                            end,
                            inclusive: false,
                            arrays: Vec::new(),
                            chunks: Some((chunking, k, source)),
                            enumerate: false,
                            reversed: false,
                            narrowed: false,
                            stride: None,
                        })
                    }
                    ("zip", 1) => {
                        let receiver = self.iteration(&m.receiver)?;
                        if receiver.reversed || receiver.narrowed {
                            return None;
                        }
                        if receiver.arrays.is_empty() {
                            return None;
                        }
                        // `y.iter().copied()`: the same elements, by value.
                        let mut other = strip_parens(&m.args[0]);
                        while let Expr::MethodCall(o) = other {
                            if !(o.method == "copied" || o.method == "cloned") || !o.args.is_empty()
                            {
                                break;
                            }
                            other = strip_parens(&o.receiver);
                        }
                        let other = match other {
                            Expr::MethodCall(o) if o.method == "iter" && o.args.is_empty() => {
                                &o.receiver
                            }
                            Expr::Reference(r) => &r.expr,
                            other => other,
                        };
                        let second = self.part(other)?;
                        // `a.iter().zip(b.iter()).zip(c.iter())`: every array so far, then `c`.
                        if receiver.enumerate {
                            return None;
                        }
                        let mut arrays = receiver.arrays.clone();
                        arrays.push(second);
                        self.array_iteration(&m.receiver, arrays, false)
                    }
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// `x[a..b].iter()`, `&x[a..]`, `x[..=b]`: the indices of the range over `x`, which is
    /// how the elements are read (and their adjoints land in the range).
    pub(super) fn sub_slice_iteration(&mut self, e: &Expr) -> Option<Iteration> {
        let (base, range) = sub_slice(e)?;
        let mut it = self.array_iteration(base, Vec::new(), false)?;
        if let Some(start) = &range.start {
            it.start = self.expr(start);
        }
        if let Some(end) = &range.end {
            let end = self.expr(end);
            it.end = match range.limits {
                syn::RangeLimits::HalfOpen(_) => end,
                syn::RangeLimits::Closed(_) => self.passive_code(
                    &[&end],
                    |t| {
                        let e = &t[0];
                        quote!(#e + 1)
                    },
                    e.span(),
                ),
            };
        }
        it.narrowed = true;
        Some(it)
    }

    pub(super) fn array_var(&mut self, e: &Expr) -> Option<VarId> {
        match strip_parens(e) {
            Expr::Path(p) => self
                .lookup(&p.path.get_ident()?.to_string())
                .filter(|&v| self.f.vars[v].is_array() && !self.views.contains_key(&v)),
            _ => None,
        }
    }

    /// `0..len` over one array (or part of one), or over the shortest of several (`zip`).
    pub(super) fn array_iteration(
        &mut self,
        e: &Expr,
        arrays: Vec<View>,
        enumerate: bool,
    ) -> Option<Iteration> {
        let arrays = if arrays.is_empty() {
            vec![self.part(e)?]
        } else {
            arrays
        };
        let mut reads = Vec::new();
        let lens: Vec<TokenStream> = arrays
            .iter()
            .map(|a| match &a.len {
                Some(len) => {
                    reads.extend(len.var());
                    len.tokens(Span::call_site())
                }
                None => {
                    let p = placeholder(a.base, Span::call_site());
                    reads.push(a.base);
                    reads.extend(a.prefix.iter().filter_map(Operand::var));
                    let prefix = a.prefix.iter().map(|o| o.tokens(Span::call_site()));
                    quote!(#p #([#prefix])*.len())
                }
            })
            .collect();
        let (first, rest) = lens.split_first()?;
        let len = quote!(#first #(.min(#rest))*);
        reads.sort_unstable();
        reads.dedup();
        let end = self.f.new_var("len", e.span(), Origin::Temp);
        self.f.body.push(Stmt::Let {
            dst: Some(end),
            rhs: Rhs::Opaque(Opaque {
                tokens: len,
                reads,
                passive_result: true,
                pure: true,
                what: "the length of an array".into(),
            }),
            span: e.span(),
        });
        Some(Iteration {
            start: Operand::Const {
                tokens: quote!(0),
                value: Some(0.0),
            },
            end: Operand::Var(end),
            inclusive: false,
            arrays,
            chunks: None,
            enumerate,
            reversed: false,
            narrowed: false,
            stride: None,
        })
    }

    /// Binds the loop pattern at the top of the body: the index, or the elements.
    pub(super) fn bind_iteration(&mut self, pat: &Pat, it: &Iteration, index: VarId) {
        let index = self.real_index(it, index, pat.span());
        let bind_part = |l: &mut Self, view: View, pat: &Pat| match strip_pat(pat) {
            Pat::Ident(pi) if pi.subpat.is_none() => l.define_view(&pi.ident, view),
            Pat::Wild(_) => {}
            other => {
                l.cx.error_spanned_by(other, "bind the loop variable with a name or `_`")
            }
        };
        let element = |l: &mut Self, array: &View, pat: &Pat| {
            match l.part_element(array, index, pat.span()) {
                Element::Value(v) => {
                    l.elements.insert(v);
                    l.bind_loop_pattern(pat, Operand::Var(v));
                }
                // A row of a nested array.
                Element::Row(row) => bind_part(l, row, pat),
            }
        };
        if let Some((chunking, k, source)) = &it.chunks {
            let part = |l: &mut Self, pat: &Pat| {
                let view = l.chunk_at(source, *chunking, k, index, pat.span());
                bind_part(l, view, pat);
            };
            match (it.enumerate, strip_pat(pat)) {
                (false, p) => part(self, p),
                (true, Pat::Tuple(t)) if t.elems.len() == 2 => {
                    self.bind_loop_pattern(&t.elems[0], Operand::Var(index));
                    part(self, &t.elems[1]);
                }
                (_, p) => self.cx.error_spanned_by(
                    p,
                    "bind the loop variable with a name, `_`, or a pair `(i, w)`",
                ),
            }
            return;
        }
        match (it.arrays.len(), it.enumerate, strip_pat(pat)) {
            (0, _, p) => self.bind_loop_pattern(p, Operand::Var(index)),
            (1, false, p) => element(self, &it.arrays[0], p),
            (1, true, Pat::Tuple(t)) if t.elems.len() == 2 => {
                self.bind_loop_pattern(&t.elems[0], Operand::Var(index));
                element(self, &it.arrays[0], &t.elems[1]);
            }
            (n, false, p) if n >= 2 && zip_pattern(p, n) => {
                // `((a, b), c)` for a zip of a zip: the last array on the right of each pair.
                let mut p = p;
                for k in (1..n).rev() {
                    let Pat::Tuple(t) = strip_pat(p) else { break };
                    element(self, &it.arrays[k], &t.elems[1]);
                    p = &t.elems[0];
                    if k == 1 {
                        element(self, &it.arrays[0], p);
                    }
                }
            }
            (_, _, p) => self.cx.error_spanned_by(
                p,
                "bind the loop variable with a name, `_`, or a pair `(i, v)` / `(a, b)`",
            ),
        }
    }

    /// The array index of a loop's count: itself, or `base + j * k` under `step_by`.
    pub(super) fn real_index(&mut self, it: &Iteration, index: VarId, span: Span) -> VarId {
        match &it.stride {
            None => index,
            Some((base, k, down)) => self
                .passive_code(
                    &[base, &Operand::Var(index), k],
                    |t| {
                        let (b, j, k) = (&t[0], &t[1], &t[2]);
                        match down {
                            false => quote!(#b + #j * #k),
                            true => quote!(#b - 1 - #j * #k),
                        }
                    },
                    span,
                )
                .var()
                .expect("passive code is a variable"),
        }
    }

    pub(super) fn bind_loop_pattern(&mut self, pat: &Pat, value: Operand) {
        match strip_pat(pat) {
            Pat::Ident(pi) if pi.subpat.is_none() => {
                let v = value.var().expect("loop values are variables");
                let info = &mut self.f.vars[v];
                info.name = pi.ident.to_string();
                info.span = pi.ident.span();
                info.origin = Origin::Local;
                self.bind(&pi.ident, v);
            }
            Pat::Wild(_) => {}
            other => self
                .cx
                .error_spanned_by(other, "bind the loop variable with a name or `_`"),
        }
    }
}

/// The names assigned inside a branch or loop, and the arrays written by element anywhere.
pub(super) fn assigned_in_nested(block: &syn::Block) -> HashSet<String> {
    let mut assignments = Assignments {
        nested: false,
        names: HashSet::new(),
    };
    for stmt in &block.stmts {
        assignments.visit_stmt(stmt);
    }
    assignments.names
}

/// The names a function body writes (syn's `Visit`, so no position is missed): a plain name
/// assigned in a branch, loop or closure, an array written by element (`x[i] = ..`)
/// anywhere, a receiver of a method that changes it in place (`z.swap(i, j)`), and what
/// `&mut name` borrows (`helper(&mut z)`, also inside a macro's tokens). A plain name
/// assigned at the top level is not one: lowering renames it.
struct Assignments {
    /// Inside a branch, loop or closure, which may run other than once.
    nested: bool,
    names: HashSet<String>,
}

impl Assignments {
    fn target(&mut self, left: &Expr) {
        let (base, indexed) = index_base(left);
        if let Some(base) = base {
            if self.nested || indexed {
                self.names.insert(base.to_string());
            }
        }
    }

    fn nested(&mut self, visit: impl FnOnce(&mut Self)) {
        let outer = std::mem::replace(&mut self.nested, true);
        visit(self);
        self.nested = outer;
    }
}

impl<'ast> Visit<'ast> for Assignments {
    fn visit_expr(&mut self, e: &'ast Expr) {
        if let Some(receiver) = in_place::changed_receiver(e) {
            self.names.insert(receiver.to_string());
        }
        syn::visit::visit_expr(self, e);
    }

    fn visit_expr_assign(&mut self, a: &'ast syn::ExprAssign) {
        self.target(&a.left);
        syn::visit::visit_expr_assign(self, a);
    }

    fn visit_expr_binary(&mut self, b: &'ast syn::ExprBinary) {
        if compound_op(&b.op).is_some() {
            self.target(&b.left);
        }
        syn::visit::visit_expr_binary(self, b);
    }

    fn visit_expr_reference(&mut self, r: &'ast syn::ExprReference) {
        if r.mutability.is_some() {
            self.names
                .extend(in_place::borrowed_base(&r.expr).map(ToString::to_string));
        }
        syn::visit::visit_expr_reference(self, r);
    }

    fn visit_expr_if(&mut self, i: &'ast syn::ExprIf) {
        self.visit_expr(&i.cond);
        self.nested(|v| {
            v.visit_block(&i.then_branch);
            if let Some((_, e)) = &i.else_branch {
                v.visit_expr(e);
            }
        });
    }

    fn visit_expr_match(&mut self, m: &'ast syn::ExprMatch) {
        self.visit_expr(&m.expr);
        self.nested(|v| m.arms.iter().for_each(|a| v.visit_arm(a)));
    }

    fn visit_expr_for_loop(&mut self, f: &'ast syn::ExprForLoop) {
        self.visit_expr(&f.expr);
        self.nested(|v| v.visit_block(&f.body));
    }

    fn visit_expr_while(&mut self, w: &'ast syn::ExprWhile) {
        self.nested(|v| syn::visit::visit_expr_while(v, w));
    }

    fn visit_expr_loop(&mut self, l: &'ast syn::ExprLoop) {
        self.nested(|v| syn::visit::visit_expr_loop(v, l));
    }

    fn visit_expr_closure(&mut self, c: &'ast syn::ExprClosure) {
        self.nested(|v| syn::visit::visit_expr_closure(v, c));
    }

    /// syn does not parse a macro's tokens: `&mut name` is found in them as tokens.
    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        in_place::borrowed_mut_tokens(m.tokens.clone(), &mut self.names);
    }

    /// A nested `fn` or other item does not see the function's bindings.
    fn visit_item(&mut self, _: &'ast syn::Item) {}
}

/// Whether a `return` is anywhere in `e`, in nested closures and blocks too (syn's `Visit`;
/// inside a macro's tokens, as a token): in a closure body it would leave the closure, where
/// the loop the macro writes in its place would leave the function. `expr_contains_return`
/// follows only the statement positions the lowering of early returns handles.
pub(super) fn returns_anywhere(e: &Expr) -> bool {
    struct Returns(bool);
    impl<'ast> Visit<'ast> for Returns {
        fn visit_expr_return(&mut self, _: &'ast syn::ExprReturn) {
            self.0 = true;
        }
        fn visit_macro(&mut self, m: &'ast syn::Macro) {
            fn any_return(tokens: TokenStream) -> bool {
                tokens.into_iter().any(|t| match t {
                    proc_macro2::TokenTree::Ident(i) => i == "return",
                    proc_macro2::TokenTree::Group(g) => any_return(g.stream()),
                    _ => false,
                })
            }
            self.0 |= any_return(m.tokens.clone());
        }
    }
    let mut returns = Returns(false);
    returns.visit_expr(e);
    returns.0
}

/// The expression of an expression statement or of a `let`'s value.
pub(super) fn stmt_expr(s: &syn::Stmt) -> Option<&Expr> {
    match s {
        syn::Stmt::Expr(e, _) => Some(e),
        syn::Stmt::Local(l) => l.init.as_ref().map(|i| &*i.expr),
        _ => None,
    }
}

/// The variable under `x`, `x[i]`, `x[i][j]`, and whether it is indexed.
pub(super) fn index_base(e: &Expr) -> (Option<&Ident>, bool) {
    match strip_parens(e) {
        Expr::Path(p) => (p.path.get_ident(), false),
        Expr::Index(i) => (index_base(&i.expr).0, true),
        _ => (None, false),
    }
}

/// Whether these statements `break` / `continue` the innermost loop around them (jumps in
/// nested loops belong to those).
pub(super) fn jumps(stmts: &[syn::Stmt]) -> (bool, bool) {
    let mut found = (false, false);
    for s in stmts {
        if let Some(e) = stmt_expr(s) {
            expr_jumps(e, &mut found);
        }
    }
    found
}

pub(super) fn expr_jumps(e: &Expr, found: &mut (bool, bool)) {
    match e {
        Expr::Break(_) | Expr::Return(_) => found.0 = true,
        Expr::Continue(_) => found.1 = true,
        // A `return` inside a nested loop leaves this loop too.
        Expr::ForLoop(_) | Expr::While(_) | Expr::Loop(_) => found.0 |= expr_contains_return(e),
        Expr::If(i) => {
            let (b, c) = jumps(&i.then_branch.stmts);
            found.0 |= b;
            found.1 |= c;
            if let Some((_, e)) = &i.else_branch {
                expr_jumps(e, found);
            }
        }
        Expr::Block(b) => {
            let (b, c) = jumps(&b.block.stmts);
            found.0 |= b;
            found.1 |= c;
        }
        Expr::Match(m) => m.arms.iter().for_each(|a| expr_jumps(&a.body, found)),
        Expr::Paren(p) => expr_jumps(&p.expr, found),
        _ => {}
    }
}

/// Whether a statement contains a `return` (closures aside).
pub(super) fn contains_return(s: &syn::Stmt) -> bool {
    stmt_expr(s).is_some_and(expr_contains_return)
}

pub(super) fn expr_contains_return(e: &Expr) -> bool {
    let in_block = |b: &syn::Block| b.stmts.iter().any(contains_return);
    match e {
        Expr::Return(_) => true,
        Expr::If(i) => {
            in_block(&i.then_branch)
                || i.else_branch
                    .as_ref()
                    .is_some_and(|(_, e)| expr_contains_return(e))
        }
        Expr::Block(b) => in_block(&b.block),
        Expr::Match(m) => m.arms.iter().any(|a| expr_contains_return(&a.body)),
        Expr::ForLoop(f) => in_block(&f.body),
        Expr::While(w) => in_block(&w.body),
        Expr::Loop(l) => in_block(&l.body),
        Expr::Paren(p) => expr_contains_return(&p.expr),
        _ => false,
    }
}

/// Loops, `return`, and branches that return: statements even in tail position (an `if`
/// without returns in the tail is the function's value).
pub(super) fn is_control_flow(e: &Expr) -> bool {
    match e {
        Expr::If(_) | Expr::Match(_) => expr_contains_return(e),
        other => matches!(
            other,
            Expr::ForLoop(_) | Expr::While(_) | Expr::Loop(_) | Expr::Return(_)
        ),
    }
}

pub(super) fn bool_const(value: bool) -> Operand {
    Operand::Const {
        tokens: quote!(#value),
        value: Some(if value { 1.0 } else { 0.0 }),
    }
}

pub(super) fn int_const(value: usize) -> Operand {
    let lit = proc_macro2::Literal::usize_unsuffixed(value);
    Operand::Const {
        tokens: quote!(#lit),
        value: Some(value as f64),
    }
}

/// What a `for` loop runs over: an index range, and the arrays whose elements the pattern
/// binds (none for a plain range).
pub(super) struct Iteration {
    pub(super) start: Operand,
    pub(super) end: Operand,
    pub(super) inclusive: bool,
    /// The arrays (or parts of arrays) whose elements the pattern binds, zipped.
    pub(super) arrays: Vec<View>,
    /// `x.windows(k)`, `x.chunks(k)`, `x.chunks_exact(k)`: the pattern binds the part at
    /// each position (`arrays` is empty).
    pub(super) chunks: Option<(Chunking, Operand, View)>,
    pub(super) enumerate: bool,
    /// `.rev()`: from the last index down.
    pub(super) reversed: bool,
    /// `skip` / `take` / `step_by`: the range no longer starts at the array's first element.
    pub(super) narrowed: bool,
    /// `step_by(k)`: the loop counts `j` over `start..end` and the index is `base + j * k`
    /// (`base - 1 - j * k` after `rev`, when the third field is set: `base` is then one past
    /// the last index).
    pub(super) stride: Option<(Operand, Operand, bool)>,
}

impl Iteration {
    /// `for index in start..end { body }` over this iteration (backwards if reversed).
    pub(super) fn into_loop(self, index: VarId, body: Vec<Stmt>, span: Span) -> Stmt {
        Stmt::For {
            index,
            start: self.start,
            end: self.end,
            inclusive: self.inclusive,
            reversed: self.reversed,
            body,
            span,
        }
    }
}

/// `for pat in ITER.filter(|q| keep) { body }` as `for pat in ITER { if { let q = pat; keep }
/// { body } }`: the predicate is passive code on the element. `None` for other loops, and
/// for patterns that are not names or tuples of names.
pub(super) fn filtered_loop(f: &syn::ExprForLoop) -> Option<syn::ExprForLoop> {
    let Expr::MethodCall(m) = strip_parens(&f.expr) else {
        return None;
    };
    if m.method != "filter" || m.args.len() != 1 {
        return None;
    }
    let Expr::Closure(c) = strip_parens(&m.args[0]) else {
        return None;
    };
    if c.inputs.len() != 1 {
        return None;
    }
    let mut f = f.clone();
    let item: Pat = match strip_pat(&f.pat) {
        Pat::Wild(_) => syn::parse_quote!(__autodiff_item),
        other => other.clone(),
    };
    let value: Expr = match &item {
        Pat::Ident(i) if i.subpat.is_none() => {
            let name = &i.ident;
            syn::parse_quote!(#name)
        }
        Pat::Tuple(t) => {
            let names = t
                .elems
                .iter()
                .map(|p| match strip_pat(p) {
                    Pat::Ident(i) if i.subpat.is_none() => Some(i.ident.clone()),
                    _ => None,
                })
                .collect::<Option<Vec<_>>>()?;
            syn::parse_quote!((#(#names),*))
        }
        _ => return None,
    };
    let q = strip_pat(&c.inputs[0]);
    let keep = &c.body;
    let body = &f.body;
    f.pat = Box::new(item);
    f.expr = m.receiver.clone();
    f.body = syn::parse_quote!({ if { let #q = #value; #keep } #body });
    Some(f)
}

/// `x[a..b]` on a name: the name and the range.
fn sub_slice(e: &Expr) -> Option<(&Expr, &syn::ExprRange)> {
    match strip_parens(e) {
        Expr::Index(ix) if matches!(strip_parens(&ix.expr), Expr::Path(_)) => {
            match strip_parens(&ix.index) {
                Expr::Range(r) => Some((&ix.expr, r)),
                _ => None,
            }
        }
        _ => None,
    }
}

/// The pattern of a zip of `n` arrays: `(a, b)`, `((a, b), c)`, ..
fn zip_pattern(p: &Pat, n: usize) -> bool {
    match (strip_pat(p), n) {
        (_, 1) => true,
        (Pat::Tuple(t), n) if t.elems.len() == 2 => zip_pattern(&t.elems[0], n - 1),
        _ => false,
    }
}

pub(super) fn strip_pat(p: &Pat) -> &Pat {
    match p {
        Pat::Reference(r) => strip_pat(&r.pat),
        Pat::Paren(p) => strip_pat(&p.pat),
        // A closure's `|v: &f64|`.
        Pat::Type(t) => strip_pat(&t.pat),
        other => other,
    }
}

/// A zero array of type `ty` (`[[zero(); 3]; 2]`), or `None` for a scalar (or a `Vec`).
fn zero_array(ty: &Type) -> Option<TokenStream> {
    let p = crate::emit::private();
    match ty {
        Type::Paren(t) => zero_array(&t.elem),
        Type::Array(a) => {
            let inner = zero_array(&a.elem).unwrap_or_else(|| quote!(#p::zero()));
            let len = &a.len;
            Some(quote!([#inner; #len]))
        }
        _ => None,
    }
}
