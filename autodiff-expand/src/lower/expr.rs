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
        // `(__self.layers[l]).forward__needs_differentiate_wrt_self(..)`: a method of a struct
        // in `wrt` called on a part of another (`models`); the receiver is passive, kept as
        // written with its local names renamed.
        if name.ends_with(crate::ir::THROUGH_SELF) && m.turbofish.is_none() {
            let args = m.args.iter().map(|a| self.call_arg(a)).collect();
            let (receiver, _) = self.rename(m.receiver.to_token_stream());
            return self.push_call(
                TokenStream::new(),
                Some((receiver, m.method.clone())),
                args,
                m.method.span(),
            );
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
