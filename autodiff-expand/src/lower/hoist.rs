//! Arrays created inside a branch or loop and written there: the creation moves before the
//! enclosing top-level statement (the macro differentiates arrays created once), and where
//! it was, a fill gives the array its starting value again (`vec![v; n]`, `[v; n]`, a
//! literal `[a, b, c]`, a copy `x.to_vec()`).
use super::*;

impl Lower<'_> {
    /// `let mut a = vec![value; n];` (or `[value; n]`) inside a branch or loop, with `a`
    /// written there: the macro differentiates arrays created once, so the creation moves
    /// before the enclosing top-level statement and, where it was, a loop fills `a` with
    /// `value` again. Each iteration still starts from a fresh array; the allocation happens
    /// once. Only where `value` and `n` read nothing computed inside that statement, and
    /// for one-level arrays; `false` (nothing lowered) otherwise.
    pub(super) fn hoist_array(&mut self, ident: &Ident, expr: &Expr, ty: Option<&Type>) -> bool {
        if let Some(hoisted) = self.hoist_copy(ident, expr, ty) {
            return hoisted;
        }
        if let Some(hoisted) = self.hoist_literal(ident, expr, ty) {
            return hoisted;
        }
        let (value, len) = match strip_parens(expr) {
            Expr::Macro(m) if m.mac.path.is_ident("vec") => match vec_repeat(&m.mac) {
                Some(parts) => parts,
                None => return false,
            },
            Expr::Repeat(r) => ((*r.expr).clone(), (*r.len).clone()),
            _ => return false,
        };
        // The creation runs before the statement: it may read only values that exist then
        // and stay the same through it.
        let (_, reads) = self.rename(expr.to_token_stream());
        let nested_value = matches!(strip_parens(&value), Expr::Repeat(_) | Expr::Macro(_));
        let invariant = reads
            .iter()
            .all(|&r| r < self.hoist_limit && !self.f.vars[r].mutable);
        if nested_value || !invariant {
            return false;
        }
        let span = expr.span();
        let array = self.array_constant(expr, expr::repeat_shape(expr));
        let Some(v) = self.hoist_creation(ident, array, ty) else {
            return false;
        };
        // Where the array was created: `for k in 0..n { a[k] = value; }`, `n` the length it
        // was created with (so the reverse pass sees the fill covers the whole array).
        let fill = self.expr(&value);
        let len = self.expr(&len);
        self.push_fill(v, len, span, |_, _| (Vec::new(), fill));
        true
    }

    /// `for k in 0..end { prefix; array[k] = value; }`, `(prefix, value)` from `element(k)`.
    pub(super) fn push_fill(
        &mut self,
        array: VarId,
        end: Operand,
        span: Span,
        element: impl FnOnce(&mut Self, VarId) -> (Vec<Stmt>, Operand),
    ) {
        let k = self.f.new_var("fill", span, Origin::Temp);
        let (mut body, value) = element(self, k);
        body.push(Stmt::Store {
            array,
            index: vec![Operand::Var(k)],
            value,
            accumulate: false,
            span,
        });
        self.f.body.push(Stmt::For {
            index: k,
            start: int_const(0),
            end,
            inclusive: false,
            reversed: false,
            body,
            span,
        });
    }

    /// `let mut a = x.to_vec();` (or `.to_owned()`, `.clone()`) of a one-level array `x`
    /// that exists before the enclosing top-level statement: the copy moves before it and,
    /// where it was, `for k in 0..x.len() { a[k] = x[k]; }` copies `x`'s current elements
    /// again. `None` when `expr` is not such a copy.
    pub(super) fn hoist_copy(
        &mut self,
        ident: &Ident,
        expr: &Expr,
        ty: Option<&Type>,
    ) -> Option<bool> {
        let Expr::MethodCall(m) = strip_parens(expr) else {
            return None;
        };
        let copies = ["to_vec", "to_owned", "clone"].contains(&m.method.to_string().as_str());
        if !copies || !m.args.is_empty() {
            return None;
        }
        let source = self.array_var(&m.receiver)?;
        // The source must exist before the statement: made before it, or itself a creation
        // hoisted there (`let mut a = [0.0; 3]; let mut b = a.to_vec();` after an early
        // `return`), whose length is the same wherever it is made.
        let exists = source < self.hoist_limit
            || self.hoisted_arrays.contains(&source)
            || self.hoist_constant_source(source);
        if self.f.vars[source].shape.len() != 1 {
            return Some(false);
        }
        let span = expr.span();
        if !exists {
            // A source computed in this block (a literal of computed elements, a call's
            // `[T; N]` result): the copy is created as N zeros before the statement, and
            // filled from the source where it was.
            let Some(n) = self.static_len(source) else {
                return Some(false);
            };
            let zero = self.f.new_var("", span, Origin::Temp);
            self.hoisted.push(Stmt::Let {
                dst: Some(zero),
                rhs: Rhs::Zero(Operand::Lit(0.0)),
                span,
            });
            // `[0.0; N].to_vec()`: a `Vec`, as the copy of the source is.
            let zeros = self.f.new_var("", span, Origin::Temp);
            self.f.vars[zeros].shape = vec![Level::Dynamic];
            self.hoisted.push(Stmt::Let {
                dst: Some(zeros),
                rhs: Rhs::ArrayLit(vec![Operand::Var(zero); n]),
                span,
            });
            let array = self.f.new_var("", span, Origin::Temp);
            self.f.vars[array].shape = vec![Level::Dynamic];
            self.f.body.push(Stmt::Let {
                dst: Some(array),
                rhs: Rhs::CopyArray(zeros),
                span,
            });
            let v = self.hoist_creation(ident, Operand::Var(array), ty)?;
            self.push_copy(v, source, int_const(n), span);
            return Some(true);
        }
        let array = self.expr(expr);
        let v = self.hoist_creation(ident, array, ty)?;
        let len = self.passive_code(
            &[&Operand::Var(source)],
            |t| {
                let x = &t[0];
                quote!(#x.len())
            },
            span,
        );
        self.push_copy(v, source, len, span);
        Some(true)
    }

    /// The length of a one-level array known from its creation in this block or an
    /// enclosing one: a literal `[a, b, c]`, a type `[T; 3]` written where it was bound, a
    /// copy of either.
    fn static_len(&self, source: VarId) -> Option<usize> {
        let from_type = self.f.vars[source].ty.as_ref().and_then(|t| {
            match syn::parse2::<Type>(t.clone()).ok()? {
                Type::Array(a) => match &a.len {
                    Expr::Lit(syn::ExprLit {
                        lit: syn::Lit::Int(n),
                        ..
                    }) => n.base10_parse().ok(),
                    _ => None,
                },
                _ => None,
            }
        });
        if from_type.is_some() {
            return from_type;
        }
        match self.statement(self.creation(source)?) {
            Stmt::Let {
                rhs: Rhs::ArrayLit(elements),
                ..
            } => Some(elements.len()),
            Stmt::Let {
                rhs: Rhs::CopyArray(a),
                ..
            } => self.static_len(*a),
            Stmt::Let {
                rhs: Rhs::Op(Op::Id, args),
                ..
            } => self.static_len(args[0].var()?),
            _ => None,
        }
    }

    /// `for k in 0..end { array[k] = source[k]; }`
    pub(super) fn push_copy(&mut self, array: VarId, source: VarId, end: Operand, span: Span) {
        self.push_fill(array, end, span, |l, k| {
            let element = l.f.new_var("", span, Origin::Temp);
            let read = Stmt::Let {
                dst: Some(element),
                rhs: Rhs::Index(source, vec![Operand::Var(k)]),
                span,
            };
            (vec![read], Operand::Var(element))
        });
    }

    /// A copy's source created in this block and never written, as an array constant that
    /// reads only what exists before the statement (`let z = vec![0.5; 3];` after an early
    /// `return`) or a copy of an array that does (`let z = xs.to_vec();`): its creation moves
    /// before the statement too (it gives the same array there), so the copy can. Whether
    /// it moved.
    fn hoist_constant_source(&mut self, source: VarId) -> bool {
        if self.f.vars[source].mutable {
            return false;
        }
        let Some(at) = self.creation(source) else {
            return false;
        };
        let constant = match self.statement(at) {
            Stmt::Let {
                rhs: Rhs::Opaque(o),
                ..
            } => {
                o.pure
                    && o.passive_result
                    && o.reads
                        .iter()
                        .all(|&r| r < self.hoist_limit && !self.f.vars[r].mutable)
            }
            // A copy of an array that exists before the statement and nothing writes there.
            Stmt::Let {
                rhs: Rhs::CopyArray(a),
                ..
            } => {
                let a = *a;
                !self.f.vars[a].mutable
                    && (a < self.hoist_limit
                        || self.hoisted_arrays.contains(&a)
                        || self.hoist_constant_source(a))
            }
            _ => false,
        };
        // The source's own source may have moved: find the creation again.
        let Some(at) = self.creation(source) else {
            return false;
        };
        if constant {
            let block = match at.0 {
                None => &mut self.f.body,
                Some(k) => &mut self.enclosing[k],
            };
            let creation = block.remove(at.1);
            self.hoisted.push(creation);
            self.hoisted_arrays.insert(source);
        }
        constant
    }

    /// Where `v` is created: in the block being lowered (`None`) or an enclosing one (its
    /// index in `enclosing`), innermost first; and the statement's position there.
    fn creation(&self, v: VarId) -> Option<(Option<usize>, usize)> {
        if let Some(at) = self.f.body.iter().rposition(|s| s.dst() == Some(v)) {
            return Some((None, at));
        }
        (0..self.enclosing.len()).rev().find_map(|k| {
            let at = self.enclosing[k].iter().rposition(|s| s.dst() == Some(v))?;
            Some((Some(k), at))
        })
    }

    fn statement(&self, (block, at): (Option<usize>, usize)) -> &Stmt {
        match block {
            None => &self.f.body[at],
            Some(k) => &self.enclosing[k][at],
        }
    }

    /// `let mut a = [e0, e1, e2];` of floats: an array of as many zeros (of the function's
    /// float type) is created before the enclosing top-level statement and, where the
    /// literal was, `a[0] = e0; a[1] = e1; a[2] = e2;` with the elements computed there (so
    /// they may read what the block computed, and nothing runs earlier than it did: an
    /// element such as `xs[2]` after an early `return` on `xs.len() < 3` does not panic).
    /// `None` when `expr` is not such a literal.
    pub(super) fn hoist_literal(
        &mut self,
        ident: &Ident,
        expr: &Expr,
        ty: Option<&Type>,
    ) -> Option<bool> {
        let Expr::Array(literal) = strip_parens(expr) else {
            return None;
        };
        let scalars = literal.elems.iter().all(|e| {
            !matches!(
                strip_parens(e),
                Expr::Array(_) | Expr::Repeat(_) | Expr::Macro(_)
            )
        });
        if !scalars || literal.elems.is_empty() || ty.is_some_and(|t| shape_of(t).len() > 1) {
            return Some(false);
        }
        let span = expr.span();
        let zero = self.f.new_var("", span, Origin::Temp);
        self.hoisted.push(Stmt::Let {
            dst: Some(zero),
            rhs: Rhs::Zero(Operand::Lit(0.0)),
            span,
        });
        let array = self.f.new_var("", span, Origin::Temp);
        self.f.vars[array].shape = vec![Level::Fixed];
        self.f.body.push(Stmt::Let {
            dst: Some(array),
            rhs: Rhs::ArrayLit(vec![Operand::Var(zero); literal.elems.len()]),
            span,
        });
        let v = self.hoist_creation(ident, Operand::Var(array), ty)?;
        for (k, element) in literal.elems.iter().enumerate() {
            let value = self.expr(element);
            if value.var().is_some_and(|e| self.f.vars[e].is_array()) {
                self.cx.error_spanned_by(element, expr::NESTED_LITERAL);
                return Some(true);
            }
            self.f.body.push(Stmt::Store {
                array: v,
                index: vec![int_const(k)],
                value,
                accumulate: false,
                span: element.span(),
            });
        }
        Some(true)
    }

    /// Binds `ident` to the array just created (`array`, the last statement lowered) and moves
    /// that creation to the hoisted statements; the array's variable.
    pub(super) fn hoist_creation(
        &mut self,
        ident: &Ident,
        array: Operand,
        ty: Option<&Type>,
    ) -> Option<VarId> {
        let v = array.var()?;
        self.hoisted_arrays.insert(v);
        self.define(ident, array, ty.cloned(), true, true);
        if let Some(at) = self.f.body.iter().rposition(|s| s.dst() == Some(v)) {
            let creation = self.f.body.remove(at);
            self.hoisted.push(creation);
        }
        Some(v)
    }
}
