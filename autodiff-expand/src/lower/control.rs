//! Lowering of control flow: branches, `while` and `loop` loops, `break`, `continue` and
//! early `return` (flags that guard the rest of an iteration or of the body). `for` loops
//! are in `iteration`, the syntactic scans these need in `syntax`.
use super::*;

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
