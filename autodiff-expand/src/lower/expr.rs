//! Lowering of expressions to three-address statements: arithmetic, float and tensor
//! methods, calls, arrays, and code kept as written (opaque) with its local names renamed.
use super::*;

impl Lower<'_> {
    /// Lowers an expression to an operand, appending the statements that compute it.
    pub(super) fn expr(&mut self, e: &Expr) -> Operand {
        let span = e.span();
        match e {
            Expr::Lit(l) => literal(&l.lit),
            Expr::Paren(p) => self.expr(&p.expr),
            Expr::Group(g) => self.expr(&g.expr),
            Expr::Path(p) if p.qself.is_none() => match p.path.get_ident().and_then(|i| self.lookup(&i.to_string())) {
                // A part of an array as a whole value: kept as written (`check` reports it
                // where it carries a derivative).
                Some(v) if self.views.contains_key(&v) => self.opaque(e, "a part of an array", false),
                Some(v) => self.read(v, span),
                None => self.opaque(e, "a path", true),
            },
            Expr::Unary(u) => match u.op {
                UnOp::Neg(_) => {
                    let x = self.expr(&u.expr);
                    if let Some(c) = x.constant() {
                        if let Operand::Const { tokens, .. } = &x {
                            return Operand::Const {
                                tokens: quote!(-#tokens),
                                value: Some(-c),
                            };
                        }
                    }
                    Operand::Var(self.f.push_op(Op::Neg, vec![x], span))
                }
                // `*x` on a `&f64` parameter: the value behind the reference.
                UnOp::Deref(_) => self.expr(&u.expr),
                _ => self.opaque(e, "the `!` operator", true),
            },
            Expr::Binary(b) => self.binary(e, b),
            Expr::MethodCall(m) => self.method_call(e, m),
            Expr::Call(c) => self.call(e, c),
            Expr::Block(b) if b.label.is_none() => self.block(&b.block),
            Expr::Cast(_) => self.opaque(e, "an `as` cast", false),
            Expr::Closure(c) => self.unsupported(c, "closures are not supported in #[differentiate] functions; write the computation inline, or move it into a separate #[differentiate] function"),
            Expr::Unsafe(u) => self.unsupported(u.unsafe_token, "`unsafe` blocks are not supported in #[differentiate] functions; move the unsafe code into a separate function with a custom derivative"),
            Expr::Async(a) => self.unsupported(a, "`async` blocks are not supported in #[differentiate] functions"),
            Expr::Await(a) => self.unsupported(a, "`.await` is not supported in #[differentiate] functions"),
                        Expr::Return(r) => self.unsupported(r, "`return` inside an expression is not supported; write `return ..;` as a statement (in a branch or loop is fine)"),
            Expr::Tuple(t) => self.unsupported(t, "tuples can only be returned or destructured in place (`let (a, b) = (x, y);`)"),
            Expr::Macro(m) if m.mac.path.is_ident("vec") => self.vec_macro(e, m),
            Expr::Macro(m) => {
                let what = format!("the macro `{}!`", path_name(&m.mac.path));
                self.opaque(e, &what, false)
            }
            Expr::If(i) => self.if_expr(i),
            Expr::Match(m) => self.match_value(m),
                        Expr::Loop(l) if !jumps(&l.body.stmts).0 => {
                self.plain_loop(l);
                Operand::Lit(0.0)
            }
            Expr::ForLoop(_) | Expr::While(_) | Expr::Loop(_) => {
                self.unsupported(e, "a loop has no value here; write it as a statement and assign the result to a `let mut` declared before it")
            }
            // `x[a..b]` is a slice, not an element: kept as written, so `check` reports it
            // where `x` is being differentiated (it was taken for one element).
            Expr::Index(_) if slices(e) => self.opaque(e, "the slice `x[a..b]` (pass the whole array, with the bounds as separate arguments)", false),
            Expr::Index(ix) => match self.place(e) {
                Some((array, index)) => {
                    let v = self.f.new_var("", span, Origin::Temp);
                    let element = crate::ir::tensor_element(&self.f.vars, array, index.len());
                    self.f.vars[v].tensor = element;
                    self.f.vars[v].reference = element;
                    self.f.body.push(Stmt::Let {
                        dst: Some(v),
                        rhs: Rhs::Index(array, index),
                        span,
                    });
                    Operand::Var(v)
                }
                None => {
                    let of_call = match strip_parens(&ix.expr) {
                        Expr::Path(p) => p
                            .path
                            .get_ident()
                            .and_then(|name| self.lookup(&name.to_string()))
                            .is_some_and(|v| self.call_results.contains(&v)),
                        _ => false,
                    };
                    let what = if of_call { CALL_RESULT_INDEXED } else { "indexing" };
                    self.opaque(e, what, false)
                }
            },
            Expr::Array(a) => {
                let elements: Vec<Operand> = a.elems.iter().map(|x| self.expr(x)).collect();
                let nested = elements.iter().any(|x| x.var().is_some_and(|v| self.f.vars[v].is_array()));
                if nested {
                    return self.unsupported(a, NESTED_LITERAL);
                }
                let v = self.f.new_var("", span, Origin::Temp);
                self.f.vars[v].shape = vec![Level::Fixed];
                self.f.body.push(Stmt::Let {
                    dst: Some(v),
                    rhs: Rhs::ArrayLit(elements),
                    span,
                });
                Operand::Var(v)
            }
            Expr::Repeat(r) => {
                if let Some(array) = self.repeat_of_values(e, &r.expr, &r.len, true) {
                    return array;
                }
                let shape = std::iter::once(Level::Fixed).chain(repeat_shape(&r.expr)).collect();
                self.array_constant(e, shape)
            }
            Expr::Field(_) => self.opaque(e, "a field access", false),
            // `&mut x` outside a call's arguments (`let r = &mut z;`): writes through `r`
            // would change `z`, which the macro does not follow.
            Expr::Reference(r) if r.mutability.is_some() => self.unsupported(r, "a `&mut` borrow is supported only as a call's argument; write through the variable's own name (`z[i] = ..`)"),
            // `&batch.labels`: a borrow of a field, kept as written (a field read alone would
            // move out of the borrowed struct).
            Expr::Reference(r) if matches!(strip_parens(&r.expr), Expr::Field(_)) => {
                let v = self.opaque(e, "a borrow of a field", false);
                if let Operand::Var(v) = v {
                    self.f.vars[v].reference = true;
                }
                v
            }
            Expr::Reference(r) => self.expr(&r.expr),
            _ => self.opaque(e, "this expression", false),
        }
    }

    pub(super) fn binary(&mut self, e: &Expr, b: &syn::ExprBinary) -> Operand {
        let op = match b.op {
            BinOp::Add(_) => Op::Add,
            BinOp::Sub(_) => Op::Sub,
            BinOp::Mul(_) => Op::Mul,
            BinOp::Div(_) => Op::Div,
            BinOp::Lt(_)
            | BinOp::Le(_)
            | BinOp::Gt(_)
            | BinOp::Ge(_)
            | BinOp::Eq(_)
            | BinOp::Ne(_)
            | BinOp::And(_)
            | BinOp::Or(_) => return self.opaque(e, "a comparison", true),
            _ => {
                return self.opaque(
                    e,
                    &format!("the `{}` operator", b.op.to_token_stream()),
                    false,
                )
            }
        };
        let l = self.expr(&b.left);
        let r = self.expr(&b.right);
        Operand::Var(self.f.push_op(op, vec![l, r], e.span()))
    }

    pub(super) fn method_call(&mut self, e: &Expr, m: &syn::ExprMethodCall) -> Operand {
        let name = m.method.to_string();
        if name == "len" && m.args.is_empty() {
            if let Some(view) = self.view_named(&m.receiver) {
                return self.part_len(&view, m.method.span());
            }
        }
        // Tensor methods: `x.matmul(w)`, `x.sum_axis(1)`, `x.relu()`, ..
        if let Some(op) = TensorOp::from_method(&name, m.args.len()) {
            if self.is_tensor_expr(&m.receiver) {
                let mut args = vec![self.expr(&m.receiver)];
                args.extend(m.args.iter().map(|a| self.call_arg(a).value));
                return Operand::Var(self.f.push_op(Op::Tensor(op), args, m.method.span()));
            }
        }
        if m.turbofish.is_none() {
            // `x.clamp(lo, hi)` is `x.max(lo).min(hi)`: TensorFlow's clip_by_value gradient
            // (1 to `x` inside `[lo, hi]`, ties included; the bound's where `x` is outside).
            if name == "clamp" && m.args.len() == 2 {
                let (receiver, lo, hi) = (&m.receiver, &m.args[0], &m.args[1]);
                if let Ok(rewritten) = syn::parse2::<Expr>(quote!((#receiver).max(#lo).min(#hi))) {
                    return self.expr(&rewritten);
                }
            }
            if let Some(op) = float_op(&name, m.args.len()) {
                let mut args = vec![self.expr(&m.receiver)];
                args.extend(m.args.iter().map(|a| self.expr(a)));
                return Operand::Var(self.f.push_op(op, args, m.method.span()));
            }
            if let Some(copy) = self.part_copy(e, m) {
                return copy;
            }
            if ["clone", "to_vec", "to_owned"].contains(&name.as_str()) && m.args.is_empty() {
                // `batch.x.clone()`: a copy of a field, kept as written (a field read alone
                // would move out of the borrowed struct).
                if matches!(strip_parens(&m.receiver), Expr::Field(_)) {
                    return self.opaque(e, "a copy of a field", false);
                }
                let x = self.expr(&m.receiver);
                let span = m.method.span();
                return match x.var().filter(|&a| self.f.vars[a].is_array()) {
                    Some(a) => {
                        let v = self.f.new_var("", span, Origin::Temp);
                        let mut shape = self.f.vars[a].shape.clone();
                        if name == "to_vec" {
                            shape[0] = Level::Dynamic;
                        }
                        self.f.vars[v].shape = shape;
                        self.f.body.push(Stmt::Let {
                            dst: Some(v),
                            rhs: Rhs::CopyArray(a),
                            span,
                        });
                        Operand::Var(v)
                    }
                    None => Operand::Var(self.f.push_op(Op::Id, vec![x], span)),
                };
            }
        }
        if let Some(done) = self.in_place_method(e, m) {
            return done;
        }
        let args: Vec<&Expr> = m.args.iter().collect();
        if let Some(kept) = self.call_through_mut(e, &args, &format!("the method `{name}`")) {
            return kept;
        }
        if PASSIVE_METHODS.contains(&name.as_str()) {
            return self.opaque(e, &format!("the method `{name}`"), true);
        }
        // `self.other(x)`: another method of the same type.
        if let Expr::Path(p) = strip_parens(&m.receiver) {
            if p.path.is_ident("self") && m.turbofish.is_none() {
                let args = m.args.iter().map(|a| self.call_arg(a)).collect();
                let receiver = m.receiver.to_token_stream();
                return self.push_call(
                    TokenStream::new(),
                    Some((receiver, m.method.clone())),
                    args,
                    m.method.span(),
                );
            }
        }
        if (name == "sum" || name == "product") && m.args.is_empty() {
            if let Some(total) = self.iterator_sum(m, name == "product") {
                return total;
            }
        }
        if name == "collect" && m.args.is_empty() {
            if let Some(array) = self.iterator_collect(e, m) {
                return array;
            }
        }
        if name == "unwrap" && m.args.is_empty() {
            if let Some(extreme) = self.iterator_extreme(&m.receiver) {
                return extreme;
            }
        }
        if name == "fold" && m.args.len() == 2 {
            if let Some(folded) = self.iterator_fold(m) {
                return folded;
            }
        }
        if ITERATOR_METHODS.contains(&name.as_str()) {
            // Name the step of the chain the macro does not take (`filter` in
            // `x.iter().filter(..).sum()`), not the `sum` it does.
            let mut culprit = name.clone();
            let mut receiver = &*m.receiver;
            while let Expr::MethodCall(inner) = strip_parens(receiver) {
                let step = inner.method.to_string();
                if !["iter", "enumerate", "zip", "rev", "map", "copied", "cloned"]
                    .contains(&step.as_str())
                {
                    culprit = step;
                }
                receiver = &inner.receiver;
            }
            let what = format!("the iterator method `{culprit}` (iterator chains other than `.sum()`, `.product()` and `.fold(..)` over what a `for` loop takes are not differentiated: write a `for v in x.iter()` loop)");
            return self.opaque(e, &what, false);
        }
        self.opaque(e, &format!("the method `{name}`"), false)
    }

    /// `x.iter().map(|v| body).sum()` (any iteration a `for` loop takes, with or without the
    /// `map`): the loop `let mut s = 0; for v in x.iter() { s = s + body; }`, and its value
    /// `s`; with `product`, `s` starts at one and multiplies. `None` (nothing lowered) for
    /// other receivers.
    fn iterator_sum(&mut self, m: &syn::ExprMethodCall, product: bool) -> Option<Operand> {
        let (source, closure) = match strip_parens(&m.receiver) {
            Expr::MethodCall(map) if map.method == "map" && map.args.len() == 1 => {
                match strip_parens(&map.args[0]) {
                    Expr::Closure(c) if c.inputs.len() == 1 => {
                        if returns_early(&c.body) {
                            return Some(self.unsupported(&c.body, RETURN_IN_CLOSURE));
                        }
                        (&*map.receiver, Some(c))
                    }
                    _ => return None,
                }
            }
            other => (other, None),
        };
        // `.filter(|v| keep)` before the `map`: a term only where `keep` holds.
        let (source, filter) = match strip_parens(source) {
            Expr::MethodCall(fm) if fm.method == "filter" && fm.args.len() == 1 => {
                match strip_parens(&fm.args[0]) {
                    Expr::Closure(c) if c.inputs.len() == 1 && !returns_early(&c.body) => {
                        (&*fm.receiver, Some(c))
                    }
                    _ => return None,
                }
            }
            other => (other, None),
        };
        let iteration = self.iteration(source)?;
        // Without a `map`, the sum of the elements of one array.
        let element = match (closure, iteration.arrays.as_slice()) {
            (None, [array]) if !iteration.enumerate => Some(array.clone()),
            (None, _) => return None,
            _ => None,
        };
        let span = m.method.span();
        // Zero (one) in the arrays' element type: a generic `T` is inferred from it. Over a
        // range, a literal, which concrete floats allow.
        let start = match (iteration.arrays.first(), product) {
            (Some(array), _) => {
                let constant = match product {
                    true => quote!(one_element),
                    false => quote!(zero_element),
                };
                let (part, reads) = match array.is_whole() {
                    true => {
                        let a = placeholder(array.base, span);
                        (quote!(&#a[..]), vec![array.base])
                    }
                    false => array.tokens(span),
                };
                Rhs::Opaque(Opaque {
                    tokens: quote!(::autodiff::__private::#constant(#part)),
                    reads,
                    passive_result: true,
                    pure: true,
                    what: "a constant".into(),
                })
            }
            (None, false) => Rhs::Zero(Operand::Lit(0.0)),
            (None, true) => Rhs::Op(
                Op::Id,
                vec![Operand::Const {
                    tokens: quote!(1.0),
                    value: Some(1.0),
                }],
            ),
        };
        Some(
            self.accumulate_over(iteration, start, span, |l, now, it, index| {
                let add = |l: &mut Self, now: Operand| {
                    let term = match (closure, &element) {
                        (Some(c), _) => {
                            l.bind_iteration(&c.inputs[0], it, index);
                            l.expr(&c.body)
                        }
                        (None, Some(array)) => {
                            let index = l.real_index(it, index, span);
                            match l.part_element(array, index, span) {
                                Element::Value(v) => Operand::Var(v),
                                Element::Row(_) => l.unsupported(m, "this sums rows of a nested array; sum their elements (`.map(|row| row.iter().sum::<f64>())`)"),
                            }
                        }
                        (None, None) => Operand::Lit(0.0),
                    };
                    let op = if product { Op::Mul } else { Op::Add };
                    Operand::Var(l.f.push_op(op, vec![now, term], span))
                };
                let Some(keep) = filter else {
                    return add(l, now);
                };
                l.bind_iteration(&keep.inputs[0], it, index);
                let cond = l.expr(&keep.body);
                let result = l.branch_result(span);
                let then = l.nested_block(|l| {
                    let next = add(l, now.clone());
                    l.f.body.push(Stmt::Assign {
                        dst: result,
                        value: next,
                        span,
                    });
                });
                let otherwise = l.nested_block(|l| {
                    l.f.body.push(Stmt::Assign {
                        dst: result,
                        value: now.clone(),
                        span,
                    });
                });
                l.f.body.push(Stmt::If {
                    cond,
                    then,
                    otherwise,
                    span,
                });
                l.read(result, span)
            }),
        )
    }

    /// `x.iter().map(|v| ..).collect::<Vec<_>>()` (or `.enumerate()` before the `map`): a
    /// copy of `x` as a `Vec`, then a loop writing each element, `y[i] = ..`. Outside
    /// branches and loops only (an array written there must be created before them).
    fn iterator_collect(&mut self, e: &Expr, m: &syn::ExprMethodCall) -> Option<Operand> {
        let Expr::MethodCall(map) = strip_parens(&m.receiver) else {
            return None;
        };
        if map.method != "map" || map.args.len() != 1 {
            return None;
        }
        let Expr::Closure(c) = strip_parens(&map.args[0]) else {
            return None;
        };
        if c.inputs.len() != 1 || returns_early(&c.body) {
            return None;
        }
        let iteration = self.iteration(&map.receiver)?;
        let [source] = iteration.arrays.as_slice() else {
            return None;
        };
        if !source.is_whole() {
            return None;
        }
        let source = source.base;
        if iteration.reversed || iteration.narrowed || self.f.vars[source].shape.len() != 1 {
            return None;
        }
        if self.nested > 0 {
            return Some(self.unsupported(e, "`collect` into an array inside a branch or loop is not supported; create the array before it (`let mut y = vec![0.0; n];`) and write its elements"));
        }
        let span = m.method.span();
        let y = self.f.new_var("", span, Origin::Temp);
        self.f.vars[y].shape = vec![Level::Dynamic];
        self.f.vars[y].mutable = true;
        self.f.body.push(Stmt::Let {
            dst: Some(y),
            rhs: Rhs::CopyArray(source),
            span,
        });
        self.collected.insert(y);
        let index = self.f.new_var("i", span, Origin::Temp);
        let body = self.nested_block(|l| {
            l.bind_iteration(&c.inputs[0], &iteration, index);
            let value = l.expr(&c.body);
            l.f.body.push(Stmt::Store {
                array: y,
                index: vec![Operand::Var(index)],
                value,
                accumulate: false,
                span,
            });
        });
        self.f.body.push(iteration.into_loop(index, body, span));
        Some(Operand::Var(y))
    }

    /// `ITER.max_by(|a, b| a.partial_cmp(b).unwrap()).unwrap()` (or `min_by`, `total_cmp`,
    /// `.copied()` / `.cloned()` around it) over one array: the loop
    /// `acc = first; for v in rest { acc = acc.max(v); }`, whose derivative goes to the
    /// first of equal extremes (`max`'s rule: the receiver on a tie). `None` otherwise.
    fn iterator_extreme(&mut self, e: &Expr) -> Option<Operand> {
        let m = match strip_parens(e) {
            Expr::MethodCall(c)
                if (c.method == "copied" || c.method == "cloned") && c.args.is_empty() =>
            {
                match strip_parens(&c.receiver) {
                    Expr::MethodCall(m) => m,
                    _ => return None,
                }
            }
            Expr::MethodCall(m) => m,
            _ => return None,
        };
        let name = m.method.to_string();
        if (name != "max_by" && name != "min_by") || m.args.len() != 1 {
            return None;
        }
        let Expr::Closure(c) = strip_parens(&m.args[0]) else {
            return None;
        };
        let names: Vec<String> = c
            .inputs
            .iter()
            .map(|p| match strip_pat(p) {
                Pat::Ident(i) => Some(i.ident.to_string()),
                _ => None,
            })
            .collect::<Option<_>>()?;
        let [a, b] = names.as_slice() else {
            return None;
        };
        let body: String = c
            .body
            .to_token_stream()
            .to_string()
            .chars()
            .filter(|ch| !ch.is_whitespace() && *ch != '*' && *ch != '&')
            .collect();
        let order = |x: &str, y: &str| {
            ["partial_cmp", "total_cmp"].iter().any(|cmp| {
                let call = format!("{x}.{cmp}({y})");
                body == call || body == format!("{call}.unwrap()")
            })
        };
        let max = match (order(a, b), order(b, a), name.as_str()) {
            (true, _, "max_by") | (_, true, "min_by") => true,
            (true, _, _) | (_, true, _) => false,
            _ => return None,
        };
        let mut iteration = self.iteration(&m.receiver)?;
        let [array] = iteration.arrays.as_slice() else {
            return None;
        };
        if !array.is_whole() || self.f.vars[array.base].shape.len() != 1 {
            return None;
        }
        let array = array.base;
        if iteration.enumerate || iteration.inclusive || iteration.stride.is_some() {
            return None;
        }
        let span = m.method.span();
        let (start, end) = (iteration.start.clone(), iteration.end.clone());
        let first = match iteration.reversed {
            false => start.clone(),
            true => self.passive_code(
                &[&end],
                |t| {
                    let e = &t[0];
                    quote!(#e - 1)
                },
                span,
            ),
        };
        match iteration.reversed {
            false => {
                iteration.start = self.passive_code(
                    &[&start],
                    |t| {
                        let s = &t[0];
                        quote!(#s + 1)
                    },
                    span,
                )
            }
            true => iteration.end = first.clone(),
        }
        let op = float_op(if max { "max" } else { "min" }, 1)?;
        // The first element read into a value, then copied into the accumulator (as `fold`'s
        // `init` is): the reverse sweep sends a location's final adjoint on through a copy.
        let head = self.f.new_var("", span, Origin::Temp);
        self.f.body.push(Stmt::Let {
            dst: Some(head),
            rhs: Rhs::Index(array, vec![first]),
            span,
        });
        let start = Rhs::Op(Op::Id, vec![Operand::Var(head)]);
        Some(
            self.accumulate_over(iteration, start, span, |l, now, _, index| {
                let v = l.f.new_var("", span, Origin::Temp);
                l.f.body.push(Stmt::Let {
                    dst: Some(v),
                    rhs: Rhs::Index(array, vec![Operand::Var(index)]),
                    span,
                });
                Operand::Var(l.f.push_op(op, vec![now, Operand::Var(v)], span))
            }),
        )
    }

    /// `ITER.fold(init, |acc, pat| body)` over any iteration a `for` loop takes: the loop
    /// `let mut acc = init; for pat in ITER { acc = body; }`, and its value `acc`. `None`
    /// (nothing lowered) for other receivers or closures.
    fn iterator_fold(&mut self, m: &syn::ExprMethodCall) -> Option<Operand> {
        // `fold(init, f64::max)`: the function as the closure `|acc, v| f64::max(acc, v)`.
        let named: syn::ExprClosure;
        let c = match strip_parens(&m.args[1]) {
            Expr::Closure(c) => c,
            Expr::Path(f) => {
                named = syn::parse2(quote!(
                    |__autodiff_acc, __autodiff_item| #f(__autodiff_acc, __autodiff_item)
                ))
                .ok()?;
                &named
            }
            _ => return None,
        };
        if returns_early(&c.body) {
            return Some(self.unsupported(&c.body, RETURN_IN_CLOSURE));
        }
        let (Some(acc_pat), Some(item_pat), 2) =
            (c.inputs.first(), c.inputs.get(1), c.inputs.len())
        else {
            return None;
        };
        let Pat::Ident(acc_name) = strip_pat(acc_pat) else {
            return None;
        };
        let iteration = self.iteration(&m.receiver)?;
        let span = m.method.span();
        let init = self.expr(&m.args[0]);
        Some(self.accumulate_over(
            iteration,
            Rhs::Op(Op::Id, vec![init]),
            span,
            |l, now, it, index| {
                if let Some(v) = now.var() {
                    l.bind(&acc_name.ident, v);
                }
                l.bind_iteration(item_pat, it, index);
                l.expr(&c.body)
            },
        ))
    }

    /// A loop over `iteration` that updates an accumulator declared as `start` before it:
    /// `acc = step(acc)` each iteration (`step` gets the accumulator's current value, the
    /// iteration and its index, inside the loop body). Returns the accumulator's final value.
    fn accumulate_over(
        &mut self,
        iteration: Iteration,
        start: Rhs,
        span: Span,
        step: impl FnOnce(&mut Self, Operand, &Iteration, VarId) -> Operand,
    ) -> Operand {
        let acc = self.f.new_var("acc", span, Origin::Temp);
        self.f.vars[acc].mutable = true;
        self.f.body.push(Stmt::Let {
            dst: Some(acc),
            rhs: start,
            span,
        });
        let index = self.f.new_var("i", span, Origin::Temp);
        let body = self.nested_block(|l| {
            let now = l.read(acc, span);
            let next = step(l, now, &iteration, index);
            l.f.body.push(Stmt::Assign {
                dst: acc,
                value: next,
                span,
            });
        });
        self.f.body.push(iteration.into_loop(index, body, span));
        self.read(acc, span)
    }

    pub(super) fn call(&mut self, e: &Expr, c: &syn::ExprCall) -> Operand {
        if let Some(name) = self.closure_called(&c.func) {
            return self.inline(&name, c);
        }
        let args: Vec<&Expr> = c.args.iter().collect();
        let what = match &*c.func {
            Expr::Path(p) => format!("the call of `{}`", path_name(&p.path)),
            _ => "this call".to_string(),
        };
        if let Some(done) = self.call_with_output(c) {
            return done;
        }
        if let Some(kept) = self.call_through_mut(e, &args, &what) {
            return kept;
        }
        if let Expr::Path(p) = &*c.func {
            let segments: Vec<String> = p
                .path
                .segments
                .iter()
                .map(|s| s.ident.to_string())
                .collect();
            let last = segments.last().map(String::as_str).unwrap_or("");
            if last == "stop_gradient" && c.args.len() == 1 {
                let x = self.expr(&c.args[0]);
                return Operand::Var(self.f.push_op(Op::Stop, vec![x], e.span()));
            }
            // `f64::sin(x)`, `T::powf(x, y)`, `Float::max(a, b)`: the method in path form.
            if segments.len() >= 2 && !c.args.is_empty() {
                if let Some(op) = float_op(last, c.args.len() - 1) {
                    let args = c.args.iter().map(|a| self.expr(a)).collect();
                    return Operand::Var(self.f.push_op(op, args, e.span()));
                }
            }
            // A call of a function: differentiated through the calling convention when an
            // argument carries a derivative (the callee must be #[differentiate]d or have a
            // hand-written derivative; rustc reports the missing convention items otherwise).
            let library = segments
                .first()
                .is_some_and(|s| ["std", "core", "alloc"].contains(&s.as_str()));
            let type_path = segments
                .iter()
                .any(|s| s != "Self" && s.starts_with(|c: char| c.is_uppercase()));
            if !library && !type_path && p.qself.is_none() {
                let args = c.args.iter().map(|a| self.call_arg(a)).collect();
                return self.push_call(p.path.to_token_stream(), None, args, e.span());
            }
            let what = format!("the function `{}`", segments.join("::"));
            return self.opaque(e, &what, false);
        }
        self.opaque(e, "this call", false)
    }

    /// Whether an expression names or computes a tensor (a tensor variable, or a method
    /// chain or arithmetic on one), decided before it is lowered.
    pub(super) fn is_tensor_expr(&self, e: &Expr) -> bool {
        match strip_parens(e) {
            Expr::Path(p) => p
                .path
                .get_ident()
                .and_then(|i| self.lookup(&i.to_string()))
                .is_some_and(|v| self.f.vars[v].tensor),
            Expr::Reference(r) => self.is_tensor_expr(&r.expr),
            // `ws[l]` of an array of tensors.
            Expr::Index(_) => {
                let (mut inner, mut levels) = (strip_parens(e), 0);
                while let Expr::Index(i) = inner {
                    (inner, levels) = (strip_parens(&i.expr), levels + 1);
                }
                match inner {
                    Expr::Path(p) => p
                        .path
                        .get_ident()
                        .and_then(|i| self.lookup(&i.to_string()))
                        .is_some_and(|v| crate::ir::tensor_element(&self.f.vars, v, levels)),
                    _ => false,
                }
            }
            Expr::MethodCall(m) => {
                let scalar = TensorOp::from_method(&m.method.to_string(), m.args.len())
                    .is_some_and(|t| t.scalar_result());
                !scalar && self.is_tensor_expr(&m.receiver)
            }
            Expr::Binary(b) => self.is_tensor_expr(&b.left) || self.is_tensor_expr(&b.right),
            Expr::Unary(u) => self.is_tensor_expr(&u.expr),
            _ => false,
        }
    }

    pub(super) fn call_arg(&mut self, a: &Expr) -> CallArg {
        if let Some(part) = self.part_arg(a) {
            return part;
        }
        match strip_parens(a) {
            // Without this, the `&mut` was dropped and rustc reported a mismatched type, with
            // an invalid suggestion, at the array's declaration.
            Expr::Reference(r) if r.mutability.is_some() => {
                self.cx.error_spanned_by(
                    r.mutability,
                    "`&mut` arguments (outputs written through a reference) are not supported in a differentiated function; have the called function return the value instead",
                );
                CallArg {
                    value: self.expr(&r.expr),
                    by_ref: true,
                    view: None,
                    out: false,
                }
            }
            Expr::Reference(r) if r.mutability.is_none() => CallArg {
                value: self.expr(&r.expr),
                by_ref: true,
                view: None,
                out: false,
            },
            other => CallArg {
                value: self.expr(other),
                by_ref: false,
                view: None,
                out: false,
            },
        }
    }

    pub(super) fn push_call(
        &mut self,
        path: TokenStream,
        method: Option<(TokenStream, Ident)>,
        args: Vec<CallArg>,
        span: Span,
    ) -> Operand {
        let v = self.f.new_var("", span, Origin::Temp);
        self.f.body.push(Stmt::Let {
            dst: Some(v),
            rhs: Rhs::Call(Call { path, method, args }),
            span,
        });
        self.call_results.insert(v);
        Operand::Var(v)
    }

    /// Code kept as written; `passive_result` when its value never carries a derivative.
    pub(super) fn opaque(&mut self, e: &Expr, what: &str, passive_result: bool) -> Operand {
        let (tokens, reads) = self.rename(e.to_token_stream());
        if reads.is_empty() && passive_result || reads.is_empty() && is_constant(e) {
            return Operand::Const {
                tokens,
                value: None,
            };
        }
        let dst = self
            .f
            .new_var(format!("v{}", self.f.vars.len()), e.span(), Origin::Temp);
        self.f.body.push(Stmt::Let {
            dst: Some(dst),
            rhs: Rhs::Opaque(Opaque {
                tokens,
                reads,
                passive_result,
                pure: is_pure(e),
                what: what.to_string(),
            }),
            span: e.span(),
        });
        // `Tensor::from_vec(..)` and friends: a passive tensor.
        self.f.vars[dst].tensor = e
            .to_token_stream()
            .into_iter()
            .next()
            .is_some_and(|t| t.to_string() == "Tensor");
        Operand::Var(dst)
    }

    /// `[0.0; n]`, `vec![0.0; n]`: a passive array the function then writes.
    pub(super) fn array_constant(&mut self, e: &Expr, shape: Vec<Level>) -> Operand {
        let (tokens, reads) = self.rename(e.to_token_stream());
        let v = self.f.new_var("", e.span(), Origin::Temp);
        self.f.vars[v].shape = shape;
        self.f.body.push(Stmt::Let {
            dst: Some(v),
            rhs: Rhs::Opaque(Opaque {
                tokens,
                reads,
                passive_result: true,
                pure: true,
                what: "an array".into(),
            }),
            span: e.span(),
        });
        Operand::Var(v)
    }

    /// `[v; n]` or `vec![v; n]` (`fixed`: the former) whose value reads variables, so it may
    /// carry a derivative (`[x[0]; 3]`): as an array constant it had none, and the gradient
    /// through its elements was silently lost. `[v; 3]` (a literal length) becomes the literal
    /// `[v, v, v]`; otherwise, at the top level of the body, the array is created and then
    /// filled with `v` by a loop (its elements are written, so they are differentiated);
    /// inside a branch or loop it is kept as written for `check` to report where it is
    /// differentiated. `None` for a value that reads nothing (`vec![0.0; n]`) and for nested
    /// arrays: lowered as before.
    fn repeat_of_values(
        &mut self,
        e: &Expr,
        value: &Expr,
        len: &Expr,
        fixed: bool,
    ) -> Option<Operand> {
        let nested = matches!(
            strip_parens(value),
            Expr::Repeat(_) | Expr::Macro(_) | Expr::Array(_)
        );
        if nested || self.rename(value.to_token_stream()).1.is_empty() {
            return None;
        }
        let span = e.span();
        let literal = match strip_parens(len) {
            Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Int(n),
                ..
            }) => n.base10_parse::<usize>().ok(),
            _ => None,
        };
        if let (true, Some(n @ 1..=64)) = (fixed, literal) {
            let v = self.expr(value);
            let array = self.f.new_var("", span, Origin::Temp);
            self.f.vars[array].shape = vec![Level::Fixed];
            self.f.body.push(Stmt::Let {
                dst: Some(array),
                rhs: Rhs::ArrayLit(vec![v; n]),
                span,
            });
            return Some(Operand::Var(array));
        }
        if self.nested > 0 {
            let what = "an array `vec![v; n]` of a value computed here (create it before the branch or loop, and write its elements)";
            return Some(self.opaque(e, what, false));
        }
        let level = if fixed { Level::Fixed } else { Level::Dynamic };
        let array = self.array_constant(e, vec![level]);
        let a = array.var()?;
        self.f.vars[a].mutable = true;
        let v = self.expr(value);
        let n = self.expr(len);
        self.push_fill(a, n, span, |_, _| (Vec::new(), v));
        Some(array)
    }

    /// `vec![value; n]` is an array; other `vec!` forms are opaque.
    pub(super) fn vec_macro(&mut self, e: &Expr, m: &syn::ExprMacro) -> Operand {
        match vec_repeat(&m.mac) {
            Some((value, len)) => {
                if let Some(array) = self.repeat_of_values(e, &value, &len, false) {
                    return array;
                }
                let shape = std::iter::once(Level::Dynamic)
                    .chain(repeat_shape(&value))
                    .collect();
                self.array_constant(e, shape)
            }
            None => {
                // `vec![a, b]`: the array literal `[a, b]`, copied into a `Vec`.
                let parser = syn::punctuated::Punctuated::<Expr, syn::Token![,]>::parse_terminated;
                let Ok(elems) = syn::parse::Parser::parse2(parser, m.mac.tokens.clone()) else {
                    return self.opaque(e, "the macro `vec!`", false);
                };
                if elems.is_empty() {
                    return self.opaque(e, "the macro `vec!`", false);
                }
                let literal = Expr::Array(syn::ExprArray {
                    attrs: Vec::new(),
                    bracket_token: Default::default(),
                    elems,
                });
                let fixed = self.expr(&literal);
                let Some(a) = fixed.var().filter(|&a| self.f.vars[a].is_array()) else {
                    return fixed;
                };
                let span = e.span();
                let v = self.f.new_var("", span, Origin::Temp);
                let mut shape = self.f.vars[a].shape.clone();
                shape[0] = Level::Dynamic;
                self.f.vars[v].shape = shape;
                self.f.body.push(Stmt::Let {
                    dst: Some(v),
                    rhs: Rhs::CopyArray(a),
                    span,
                });
                Operand::Var(v)
            }
        }
    }

    /// Replaces each local name in `tokens` by a placeholder `emit` resolves, and lists the
    /// variables read. A name is a local when it is bound and not a field, method, path
    /// segment, macro or function name.
    pub(super) fn rename(&self, tokens: TokenStream) -> (TokenStream, Vec<VarId>) {
        let mut reads = Vec::new();
        let out = self.rename_into(tokens, &mut reads);
        reads.sort_unstable();
        reads.dedup();
        (out, reads)
    }

    pub(super) fn rename_into(&self, tokens: TokenStream, reads: &mut Vec<VarId>) -> TokenStream {
        let trees: Vec<TokenTree> = tokens.into_iter().collect();
        let mut out = Vec::with_capacity(trees.len());
        for (i, tree) in trees.iter().enumerate() {
            match tree {
                TokenTree::Group(g) => {
                    let inner = self.rename_into(g.stream(), reads);
                    let mut group = Group::new(g.delimiter(), inner);
                    group.set_span(g.span());
                    out.push(TokenTree::Group(group));
                }
                TokenTree::Ident(ident) => {
                    let prev = i.checked_sub(1).map(|j| &trees[j]);
                    let next = trees.get(i + 1);
                    let after_dot_or_path = matches!(prev, Some(TokenTree::Punct(p)) if p.as_char() == '.' || p.as_char() == ':');
                    let before_path_or_call = match next {
                        Some(TokenTree::Punct(p)) => p.as_char() == ':' || p.as_char() == '!',
                        Some(TokenTree::Group(g)) => g.delimiter() == Delimiter::Parenthesis,
                        _ => false,
                    };
                    let name = ident.to_string();
                    if !after_dot_or_path
                        && self.lookup(&name).is_none()
                        && self.closures.contains_key(&name)
                    {
                        self.cx.error_spanned_by(
                            ident,
                            format!("the closure `{name}` is inlined where it is called, so it can only be called by name here (`{name}(x)`); write the calls out, or the loop with `for`"),
                        );
                    }
                    match self.lookup(&name) {
                        Some(v)
                            if !after_dot_or_path
                                && !before_path_or_call
                                && self.views.contains_key(&v) =>
                        {
                            let (tokens, read) = self.views[&v].tokens(ident.span());
                            reads.extend(read);
                            out.extend(tokens);
                        }
                        Some(v) if !after_dot_or_path && !before_path_or_call => {
                            reads.push(v);
                            out.push(TokenTree::Ident(placeholder(v, ident.span())));
                        }
                        _ => out.push(tree.clone()),
                    }
                }
                // `*v` on an element: the element is a value here.
                TokenTree::Punct(p) if p.as_char() == '*' && unary_at(&trees, i) => {
                    let j = (i..trees.len())
                        .find(|&j| !matches!(&trees[j], TokenTree::Punct(q) if q.as_char() == '*'))
                        .unwrap_or(trees.len());
                    let element = match trees.get(j) {
                        Some(TokenTree::Ident(id)) => self
                            .lookup(&id.to_string())
                            .is_some_and(|v| self.elements.contains(&v)),
                        _ => false,
                    };
                    if !element {
                        out.push(tree.clone());
                    }
                }
                other => out.push(other.clone()),
            }
        }
        out.into_iter().collect()
    }
}

/// Whether the `*` at `i` is a dereference: nothing before it, or an operator.
fn unary_at(trees: &[TokenTree], i: usize) -> bool {
    match i.checked_sub(1).map(|j| &trees[j]) {
        None => true,
        Some(TokenTree::Punct(p)) => p.as_char() != '\'',
        Some(_) => false,
    }
}

pub(super) fn float_op(name: &str, extra_args: usize) -> Option<Op> {
    match extra_args {
        0 => Unary::from_method(name).map(Op::Unary),
        1 if name == "powi" => Some(Op::Powi),
        1 => Binary::from_method(name).map(Op::Binary),
        2 if name == "mul_add" => Some(Op::MulAdd),
        _ => None,
    }
}

pub(super) fn literal(lit: &syn::Lit) -> Operand {
    let value = match lit {
        syn::Lit::Float(f) => f.base10_parse::<f64>().ok(),
        syn::Lit::Int(i) => i.base10_parse::<f64>().ok(),
        _ => None,
    };
    Operand::Const {
        tokens: lit.to_token_stream(),
        value,
    }
}

/// Paths and calls without local names are constants (`T::one()`, `f64::consts::PI`).
pub(super) fn is_constant(e: &Expr) -> bool {
    matches!(
        e,
        Expr::Path(_) | Expr::Call(_) | Expr::MethodCall(_) | Expr::Cast(_) | Expr::Lit(_)
    )
}

/// Whether an indexing expression has a range among its indices (`x[1..]`, `x[i][..n]`).
fn slices(e: &Expr) -> bool {
    match strip_parens(e) {
        Expr::Index(i) => matches!(strip_parens(&i.index), Expr::Range(_)) || slices(&i.expr),
        _ => false,
    }
}

/// Code whose evaluation can be repeated: casts, literals, paths, arithmetic and comparisons
/// of such, `.len()`. Calls and macros may have effects or differ between runs.
pub(super) fn is_pure(e: &Expr) -> bool {
    match e {
        Expr::Lit(_) | Expr::Path(_) => true,
        Expr::Cast(c) => is_pure(&c.expr),
        Expr::Paren(p) => is_pure(&p.expr),
        Expr::Unary(u) => is_pure(&u.expr),
        Expr::Binary(b) => is_pure(&b.left) && is_pure(&b.right),
        Expr::MethodCall(m) => {
            PASSIVE_METHODS.contains(&m.method.to_string().as_str()) && is_pure(&m.receiver)
        }
        Expr::Repeat(r) => is_pure(&r.expr),
        Expr::Index(i) => is_pure(&i.expr) && is_pure(&i.index),
        _ => false,
    }
}

const RETURN_IN_CLOSURE: &str = "`return` inside this closure would leave the closure, but the macro differentiates the chain as a loop in the function; write the loop out with `for` and `continue`";

/// Whether a closure body holds a `return` (it would leave the closure, where the loop the
/// macro writes in its place would leave the function): such chains are not lowered. Any
/// `return`, even inside a `let` (`control::returns_anywhere`).
fn returns_early(body: &Expr) -> bool {
    super::control::returns_anywhere(body)
}

/// The value and the length of `vec![value; len]`; `None` for other `vec!` forms.
pub(crate) fn vec_repeat(m: &syn::Macro) -> Option<(Expr, Expr)> {
    m.parse_body_with(|input: syn::parse::ParseStream| {
        let value: Expr = input.parse()?;
        let _: syn::Token![;] = input.parse()?;
        let len: Expr = input.parse()?;
        Ok((value, len))
    })
    .ok()
}

/// The array levels inside a repeated value: `[[0.0; 3]; 2]` has one more inside.
pub(super) fn repeat_shape(e: &Expr) -> Vec<Level> {
    match strip_parens(e) {
        Expr::Repeat(r) => std::iter::once(Level::Fixed)
            .chain(repeat_shape(&r.expr))
            .collect(),
        Expr::Macro(m) if m.mac.path.is_ident("vec") => {
            let inner = m.mac.parse_body_with(|input: syn::parse::ParseStream| {
                let value: Expr = input.parse()?;
                let _: TokenStream = input.parse()?;
                Ok(value)
            });
            match inner {
                Ok(value) => std::iter::once(Level::Dynamic)
                    .chain(repeat_shape(&value))
                    .collect(),
                Err(_) => Vec::new(),
            }
        }
        _ => Vec::new(),
    }
}

pub(super) const NESTED_LITERAL: &str = "nested array literals are not supported; build the inner arrays with `[0.0; n]` and write their elements";
