//! Names and places: `let` bindings and their patterns (tuples, slices, a call's tuple
//! result, deferred `let x;`), the variable a name is bound to, and assignments to names and
//! array elements (`x = e`, `x op= e`, `a[i] = e`).
use super::*;

impl Lower<'_> {
    pub(super) fn local(&mut self, local: &syn::Local) {
        let Some(init) = &local.init else {
            if self.deferred(&local.pat, None) {
                return;
            }
            self.cx.error_spanned_by(
                local,
                "give the binding its value where it is declared: `let x = ..;`",
            );
            return;
        };
        if let Some((else_token, _)) = &init.diverge {
            self.cx.error_spanned_by(
                else_token,
                "`let .. else` is not supported in #[differentiate] functions; use a plain `let`",
            );
            return;
        }
        self.bind_pattern(&local.pat, &init.expr, None);
    }

    /// `let x0: f64;` assigned later (`if .. { x0 = .. } else { x0 = .. }`): a location
    /// with no value yet; rustc checks it is assigned before it is read.
    pub(super) fn deferred(&mut self, pat: &Pat, ty: Option<&Type>) -> bool {
        match pat {
            Pat::Type(pt) => self.deferred(&pt.pat, Some(&pt.ty)),
            Pat::Ident(pi) if pi.subpat.is_none() && pi.by_ref.is_none() => {
                let span = pi.ident.span();
                let v = self.f.new_var(pi.ident.to_string(), span, Origin::Local);
                let info = &mut self.f.vars[v];
                info.mutable = true;
                info.ty = ty.map(ToTokens::to_token_stream);
                if let Some(ty) = ty {
                    info.shape = shape_of(ty);
                    info.tensor = holds_tensors(ty);
                }
                self.f.body.push(Stmt::Let {
                    dst: Some(v),
                    rhs: Rhs::Uninit,
                    span,
                });
                self.bind(&pi.ident, v);
                true
            }
            _ => false,
        }
    }

    /// `let pat = expr;`: names, `_`, type annotations and tuples of these.
    pub(super) fn bind_pattern(&mut self, pat: &Pat, expr: &Expr, ty: Option<&Type>) {
        if let (Pat::Ident(pi), Expr::Closure(c)) = (pat, strip_parens(expr)) {
            if pi.subpat.is_none() && pi.by_ref.is_none() {
                return self.define_closure(&pi.ident, c);
            }
        }
        match pat {
            Pat::Type(pt) => self.bind_pattern(&pt.pat, expr, Some(&pt.ty)),
            Pat::Ident(pi) if pi.subpat.is_none() && pi.by_ref.is_none() => {
                let written_here = self.nested > 0
                    && pi.mutability.is_some()
                    && self.locations.contains(&pi.ident.to_string());
                if written_here && self.hoist_array(&pi.ident, expr, ty) {
                    return;
                }
                if pi.mutability.is_none() && self.bind_part(&pi.ident, expr) {
                    return;
                }
                let value = self.expr(expr);
                self.define(&pi.ident, value, ty.cloned(), pi.mutability.is_some(), true);
            }
            Pat::Wild(_) => {
                self.expr(expr);
            }
            Pat::Tuple(pt) => match strip_parens(expr) {
                Expr::Tuple(et) if et.elems.len() == pt.elems.len() => {
                    let tys: Vec<Option<&Type>> = match ty {
                        Some(Type::Tuple(tt)) if tt.elems.len() == pt.elems.len() => tt.elems.iter().map(Some).collect(),
                        _ => vec![None; pt.elems.len()],
                    };
                    // Evaluate every element before binding any, as Rust does.
                    let values: Vec<Operand> = et.elems.iter().map(|e| self.expr(e)).collect();
                    for ((p, v), t) in pt.elems.iter().zip(values).zip(tys) {
                        self.bind_value(p, v, t);
                    }
                }
                Expr::If(_) | Expr::Match(_) => self.bind_branch_tuple(pt, expr, ty),
                _ if self.bind_split(pt, expr) => {}
                _ => self.bind_call_outputs(pt, expr, ty),
            },
            Pat::Slice(ps) => self.bind_elements(ps, expr),
            other => self.cx.error_spanned_by(
                other,
                "this pattern is not supported in #[differentiate] functions; bind plain names or tuples of names",
            ),
        }
    }

    /// `let [a, b] = s;`: each name is bound to one element of the array (`s[0]`, `s[1]`).
    pub(super) fn bind_elements(&mut self, ps: &syn::PatSlice, expr: &Expr) {
        if let Some(rest) = ps.elems.iter().find(|p| matches!(p, Pat::Rest(_))) {
            self.cx.error_spanned_by(
                rest,
                "`..` in an array pattern is not supported in #[differentiate] functions; name every element (`let [a, b, _] = s;`), or read them as `s[i]`",
            );
            return;
        }
        if let Expr::Array(a) = strip_parens(expr) {
            if a.elems.len() == ps.elems.len() {
                let values: Vec<Operand> = a.elems.iter().map(|e| self.expr(e)).collect();
                for (p, v) in ps.elems.iter().zip(values) {
                    self.bind_value(p, v, None);
                }
                return;
            }
        }
        let value = self.expr(expr);
        let Some(array) = value.var().filter(|&v| self.f.vars[v].shape.len() == 1) else {
            self.cx.error_spanned_by(
                expr,
                "an array pattern destructures an array: a local or parameter of type `[T; N]`, an array literal, or a call's result bound with its type (`let s: [f64; 2] = f(..);`), of floats",
            );
            return;
        };
        for (k, p) in ps.elems.iter().enumerate() {
            let v = self.f.new_var("", p.span(), Origin::Temp);
            self.f.body.push(Stmt::Let {
                dst: Some(v),
                rhs: Rhs::Index(array, vec![int_const(k)]),
                span: p.span(),
            });
            self.bind_value(p, Operand::Var(v), None);
        }
    }

    /// `let (a, b) = if c { (x, y) } else { (y, x) };` (or a `match`): one location per
    /// name, declared first and assigned at the end of each branch, as deferred
    /// initialisation (`let t0; if c { t0 = x; .. }`) is.
    pub(super) fn bind_branch_tuple(&mut self, pt: &syn::PatTuple, expr: &Expr, ty: Option<&Type>) {
        let n = pt.elems.len();
        let base = self.f.vars.len();
        let names: Vec<Ident> = (0..n)
            .map(|k| Ident::new(&format!("__tuple{base}_{k}"), pt.span()))
            .collect();
        let Some(rewritten) = tuple_tails(expr, &names) else {
            self.cx.error_spanned_by(
                expr,
                format!("to destructure this value, end each of its branches in a tuple of {n} values written in place, `(a, b)`"),
            );
            return;
        };
        let tys: Vec<Option<&Type>> = match ty {
            Some(Type::Tuple(tt)) if tt.elems.len() == n => tt.elems.iter().map(Some).collect(),
            _ => vec![None; n],
        };
        for (name, t) in names.iter().zip(&tys) {
            let pat: Pat = syn::parse_quote!(#name);
            self.deferred(&pat, *t);
        }
        self.expr_stmt(&rewritten);
        for ((p, name), t) in pt.elems.iter().zip(&names).zip(tys) {
            let var = self.lookup(&name.to_string()).expect("just declared");
            let value = self.read(var, p.span());
            self.bind_value(p, value, t);
        }
    }

    /// `let (a, b) = f(x);`: each name is bound to one output of the call (`Rhs::Output`).
    pub(super) fn bind_call_outputs(&mut self, pt: &syn::PatTuple, expr: &Expr, ty: Option<&Type>) {
        let is_call = matches!(strip_parens(expr), Expr::Call(_) | Expr::MethodCall(_));
        // `let (s, c) = x.sin_cos();`: `x.sin()` and `x.cos()`.
        if let Expr::MethodCall(m) = strip_parens(expr) {
            if m.method == "sin_cos" && m.args.is_empty() && pt.elems.len() == 2 {
                let x = self.expr(&m.receiver);
                let span = m.method.span();
                let sin = self.f.push_op(Op::Unary(Unary::Sin), vec![x.clone()], span);
                let cos = self.f.push_op(Op::Unary(Unary::Cos), vec![x], span);
                self.bind_value(&pt.elems[0], Operand::Var(sin), None);
                self.bind_value(&pt.elems[1], Operand::Var(cos), None);
                return;
            }
        }
        let call = is_call.then(|| self.expr(expr)).and_then(|value| {
            value.var().filter(|&c| {
                matches!(
                    self.f.body.last(),
                    Some(Stmt::Let { dst: Some(d), rhs: Rhs::Call(_), .. }) if *d == c
                )
            })
        });
        let Some(call) = call else {
            // A tuple variable (`let (d, h) = dims;`): each field as code kept as written,
            // fine for passive values (sizes); a differentiated one is reported by `check`.
            if let Expr::Path(_) = strip_parens(expr) {
                for (k, p) in pt.elems.iter().enumerate() {
                    let k = syn::Index::from(k);
                    let Ok(field) = syn::parse2::<Expr>(quote!((#expr).#k)) else {
                        return;
                    };
                    let value = self.opaque(&field, "a tuple's field", false);
                    self.bind_value(p, value, None);
                }
                return;
            }
            self.cx.error_spanned_by(
                expr,
                "destructure a tuple written in place, `let (a, b) = (x, y);`, the tuple a differentiated function returns, `let (a, b) = f(x);`, or a tuple variable",
            );
            return;
        };
        let tys: Vec<Option<&Type>> = match ty {
            Some(Type::Tuple(tt)) if tt.elems.len() == pt.elems.len() => {
                tt.elems.iter().map(Some).collect()
            }
            _ => vec![None; pt.elems.len()],
        };
        if let Some(t) = tys
            .iter()
            .flatten()
            .find(|t| !shape_of(t).is_empty() || is_tensor_type(t))
        {
            self.cx.error_spanned_by(
                t,
                "a call's tuple result is destructured into floats only; return the arrays from separate functions, or one array",
            );
            return;
        }
        for (k, (p, t)) in pt.elems.iter().zip(tys).enumerate() {
            let output = self.f.new_var("", p.span(), Origin::Temp);
            self.f.body.push(Stmt::Let {
                dst: Some(output),
                rhs: Rhs::Output(call, k),
                span: p.span(),
            });
            self.bind_value(p, Operand::Var(output), t);
        }
    }

    pub(super) fn bind_value(&mut self, pat: &Pat, value: Operand, ty: Option<&Type>) {
        match pat {
            Pat::Type(pt) => self.bind_value(&pt.pat, value, Some(&pt.ty)),
            Pat::Ident(pi) if pi.subpat.is_none() && pi.by_ref.is_none() => {
                self.define(&pi.ident, value, ty.cloned(), pi.mutability.is_some(), true)
            }
            Pat::Wild(_) => {}
            other => self.cx.error_spanned_by(
                other,
                "bind plain names inside a tuple pattern, `let (a, b) = ..;`",
            ),
        }
    }

    /// Gives `value` the user's name: the statement that computed it is renamed when it is
    /// a fresh temporary, otherwise a copy is made (`let y = x;`, `let c = 2.0;`).
    /// `declared` is false for assignments, which never make a name `wrt` can refer to.
    pub(super) fn define(
        &mut self,
        ident: &Ident,
        value: Operand,
        ty: Option<Type>,
        mutable: bool,
        declared: bool,
    ) {
        let location = mutable && self.locations.contains(&ident.to_string());
        // A fresh temporary just computed takes the name; a location must be a new variable,
        // unless it is an array just created (it is written in place either way).
        let value_var = value.var();
        let renamable = match (&value, self.f.body.last()) {
            (Operand::Var(v), Some(last)) => {
                last.dst() == Some(*v)
                    && self.f.vars[*v].origin == Origin::Temp
                    && (!location || self.f.vars[*v].is_array())
            }
            _ => false,
        };
        let var = match value {
            Operand::Var(v) if renamable => v,
            value => {
                let v = self.f.new_var("", ident.span(), Origin::Temp);
                self.f.vars[v].tensor = value.var().is_some_and(|x| self.f.vars[x].tensor);
                let rhs = match value.var() {
                    // A copy of an array is a new array.
                    Some(a) if self.f.vars[a].is_array() => {
                        self.f.vars[v].shape = self.f.vars[a].shape.clone();
                        Rhs::CopyArray(a)
                    }
                    _ => Rhs::Op(Op::Id, vec![value]),
                };
                self.f.body.push(Stmt::Let {
                    dst: Some(v),
                    rhs,
                    span: ident.span(),
                });
                v
            }
        };
        if value_var.is_some_and(|v| self.elements.contains(&v)) {
            self.elements.insert(var);
        }
        // `let h: Tensor<f64> = batch.x.clone();`: the value kept as written is the tensor
        // the type says (so it is cloned, not moved, where it is read again).
        if let (Some(ty), Some(x)) = (&ty, value_var) {
            if holds_tensors(ty)
                && self.f.vars[x].origin == Origin::Temp
                && !self.f.vars[x].is_array()
            {
                self.f.vars[x].tensor = true;
            }
        }
        if mutable {
            self.declared_mut.insert(var);
        }
        let info = &mut self.f.vars[var];
        info.name = ident.to_string();
        info.span = ident.span();
        info.origin = Origin::Local;
        info.mutable = location || self.collected.contains(&var);
        info.ty = ty.as_ref().map(ToTokens::to_token_stream);
        if let Some(ty) = &ty {
            if info.shape.is_empty() {
                info.shape = shape_of(ty);
            }
            info.tensor |= holds_tensors(ty);
        }
        if location && info.is_array() && self.nested > 0 && !self.hoisted_arrays.contains(&var) {
            self.cx.error_spanned_by(
                ident,
                "an array written inside a loop or branch must be created outside it, unless it is `vec![value; n]` or `[value; n]` with `value` and `n` known before the loop, a literal `[a, b, c]` of floats, or a copy `x.to_vec()` of an array that exists before it or whose length is written (`[a, b, c]`, `: [T; 3]`); move the `let` before the loop",
            );
        }
        if self.depth == 0 {
            // A name bound again (shadowed or assigned) no longer names one value.
            for t in self.top_lets.iter_mut().filter(|t| t.ident == *ident) {
                t.rebound = true;
            }
            if declared {
                self.top_lets.push(TopLet {
                    ident: ident.clone(),
                    var,
                    ty,
                    rebound: mutable,
                });
            }
        }
        self.bind(ident, var);
    }

    /// The value of a name: the variable, or a snapshot of a location (`let v = loc;`), so
    /// every operand names one value. Arrays are used in place.
    pub(super) fn read(&mut self, var: VarId, span: Span) -> Operand {
        if self.f.vars[var].mutable && !self.f.vars[var].is_array() {
            return Operand::Var(self.f.push_op(Op::Id, vec![Operand::Var(var)], span));
        }
        Operand::Var(var)
    }

    /// Expression statements: assignments, branches and loops, or code run for its effect.
    pub(super) fn expr_stmt(&mut self, e: &Expr) {
        match e {
            Expr::Assign(a) => self.assign(&a.left, None, &a.right),
            Expr::Binary(b) if compound_op(&b.op).is_some() => {
                self.assign(&b.left, compound_op(&b.op), &b.right)
            }
            Expr::Return(r) => self.early_return(r.expr.as_deref(), r),
            Expr::Macro(m) => {
                let what = format!("the macro `{}!`", path_name(&m.mac.path));
                self.effect(m.to_token_stream(), what);
            }
            Expr::If(i) => self.if_stmt(i),
            Expr::Match(m) => self.match_expr(m, None),
            Expr::ForLoop(f) => self.for_loop(f),
            Expr::While(w) => self.while_loop(w),
            Expr::Loop(l) => self.plain_loop(l),
            Expr::Break(b) => self.jump(
                b,
                b.label
                    .as_ref()
                    .map(|l| l.to_token_stream())
                    .or(b.expr.as_ref().map(|e| e.to_token_stream())),
                true,
            ),
            Expr::Continue(c) => self.jump(c, c.label.as_ref().map(|l| l.to_token_stream()), false),
            other => {
                self.expr(other);
            }
        }
    }

    /// `x = e`, `x op= e`, `a[i] = e`, `a[i] op= e`.
    pub(super) fn assign(&mut self, left: &Expr, op: Option<Op>, right: &Expr) {
        if let Expr::Index(_) = strip_parens(left) {
            return self.store(left, op, right);
        }
        let Expr::Path(p) = strip_parens(left) else {
            self.cx.error_spanned_by(
                left,
                "only local names and array elements can be assigned to here",
            );
            return;
        };
        let Some(ident) = p.path.get_ident() else {
            self.cx.error_spanned_by(left, "assign to a local name");
            return;
        };
        let Some(old) = self.lookup(&ident.to_string()) else {
            self.cx
                .error_spanned_by(left, format!("cannot find the local `{ident}`"));
            return;
        };
        let rhs = self.expr(right);
        let value = match op {
            Some(op) => {
                let current = self.read(old, left.span());
                Operand::Var(self.f.push_op(op, vec![current, rhs], right.span()))
            }
            None => rhs,
        };
        // `s = step(s, h);` with `s` an array: the call returns an array of its shape.
        if let Some(v) = value.var() {
            let is_call = matches!(
                self.f.body.last(),
                Some(Stmt::Let { dst: Some(d), rhs: Rhs::Call(_), .. }) if *d == v
            );
            if is_call && self.f.vars[old].is_array() && !self.f.vars[v].is_array() {
                self.f.vars[v].shape = self.f.vars[old].shape.clone();
            }
        }
        if self.f.vars[old].mutable {
            self.f.body.push(Stmt::Assign {
                dst: old,
                value,
                span: left.span(),
            });
            return;
        }
        // A `let mut` that no branch or loop assigns (`assigned_in_nested`) is assigned only
        // at the top level as written, which is inside the block that runs when nothing
        // returned (`if !returned { .. }`) after an early `return`: it may be bound again
        // there, since the rest of the body is in that block.
        if self.nested > 0 && !self.declared_mut.contains(&old) {
            self.cx.error_spanned_by(
                left,
                format!("declare `{ident}` with `let mut` to assign it inside a branch or loop"),
            );
            return;
        }
        // Outside branches and loops an assignment is a new binding of the same name.
        self.define(ident, value, None, true, false);
        let new = self.lookup(&ident.to_string()).expect("just bound");
        self.f.vars[new].ty = self.f.vars[old].ty.clone();
    }

    /// `a[i][j] = e` or `a[i][j] op= e`.
    pub(super) fn store(&mut self, left: &Expr, op: Option<Op>, right: &Expr) {
        let Some((array, index)) = self.place(left) else {
            self.cx.error_spanned_by(left, "write elements of a local array declared with `let mut`, e.g. `let mut c = [0.0; 4];`");
            return;
        };
        let value = self.expr(right);
        let span = left.span();
        let (value, accumulate) = match op {
            None => (value, false),
            Some(Op::Add) => (value, true),
            Some(Op::Sub) => (
                Operand::Var(self.f.push_op(Op::Neg, vec![value], span)),
                true,
            ),
            Some(op) => {
                let current = self.f.new_var("", span, Origin::Temp);
                self.f.body.push(Stmt::Let {
                    dst: Some(current),
                    rhs: Rhs::Index(array, index.clone()),
                    span,
                });
                let v = self.f.push_op(op, vec![Operand::Var(current), value], span);
                (Operand::Var(v), false)
            }
        };
        self.f.body.push(Stmt::Store {
            array,
            index,
            value,
            accumulate,
            span,
        });
    }

    /// `a[i][j]` on an array variable: the array and the lowered indices.
    pub(super) fn place(&mut self, e: &Expr) -> Option<(VarId, Vec<Operand>)> {
        match strip_parens(e) {
            // An element of a part: of the array it is part of.
            Expr::Index(i) if self.view_named(&i.expr).is_some() => {
                let view = self.view_named(&i.expr).expect("checked");
                let at = self.expr(&i.index);
                let at = self.offset(&view.start, at, e.span());
                let mut index = view.prefix;
                index.push(at);
                Some((view.base, index))
            }
            Expr::Index(i) => {
                let (array, mut index) = self.place(&i.expr)?;
                index.push(self.expr(&i.index));
                Some((array, index))
            }
            Expr::Path(p) => {
                let v = self.lookup(&p.path.get_ident()?.to_string())?;
                self.f.vars[v].is_array().then_some((v, Vec::new()))
            }
            _ => None,
        }
    }
}
