//! Methods that change an array in place (`z.swap(i, j)`, `z.fill(v)`,
//! `z.copy_from_slice(x)`): lowered to the element reads and stores they perform, so both
//! derivatives follow them (a swap swaps the tangents and the adjoints too). Any other method
//! that changes an array in place (`reverse`, `sort_by`, `rotate_left`, `push`, ..) is kept as
//! written and marked, and `check` reports it where the array is being differentiated: kept
//! as passive code, it changed the values with no derivative and no error.
use super::*;

/// Methods of slices and `Vec`s that change their receiver (a `&mut self` method).
const CHANGING: &[&str] = &[
    "swap",
    "fill",
    "copy_from_slice",
    "clone_from_slice",
    "fill_with",
    "copy_within",
    "swap_with_slice",
    "clone_from",
    "reverse",
    "sort",
    "sort_by",
    "sort_by_key",
    "sort_by_cached_key",
    "sort_unstable",
    "sort_unstable_by",
    "sort_unstable_by_key",
    "select_nth_unstable",
    "select_nth_unstable_by",
    "select_nth_unstable_by_key",
    "rotate_left",
    "rotate_right",
    "push",
    "pop",
    "clear",
    "truncate",
    "resize",
    "resize_with",
    "extend",
    "extend_from_slice",
    "extend_from_within",
    "insert",
    "remove",
    "swap_remove",
    "retain",
    "retain_mut",
    "dedup",
    "dedup_by",
    "dedup_by_key",
    "drain",
    "append",
    "split_off",
    "iter_mut",
    "as_mut_slice",
    "as_mut",
    "first_mut",
    "last_mut",
    "get_mut",
    "split_at_mut",
    "split_first_mut",
    "split_last_mut",
    "chunks_mut",
    "chunks_exact_mut",
    "windows_mut",
    "get_unchecked_mut",
    "as_mut_ptr",
    "borrow_mut",
];

// The marker itself is IR vocabulary (`ir::CHANGES_IN_PLACE`): check and ir::analysis read it.
pub(crate) use crate::ir::CHANGES_IN_PLACE;

/// The receiver's name, where `e` (an expression statement) is a method call that changes
/// it in place: the name is then a location (declared `let mut`, written element by element
/// or by the kept method), as for `z[i] = ..`.
pub(super) fn changed_receiver(e: &Expr) -> Option<&Ident> {
    match strip_parens(e) {
        Expr::MethodCall(m) if CHANGING.contains(&m.method.to_string().as_str()) => {
            index_base(&m.receiver).0
        }
        _ => None,
    }
}

/// The name under a place borrowed `&mut`: `z`, `z[i]`, `z.field`, `(z)`.
pub(super) fn borrowed_base(e: &Expr) -> Option<&Ident> {
    match strip_parens(e) {
        Expr::Path(p) => p.path.get_ident(),
        Expr::Index(i) => borrowed_base(&i.expr),
        Expr::Field(f) => borrowed_base(&f.base),
        _ => None,
    }
}

/// The names that tokens (a macro's, which syn does not parse) borrow with `&mut name`:
/// they are locations too, so their bindings keep their `mut`.
pub(super) fn borrowed_mut_tokens(tokens: TokenStream, names: &mut HashSet<String>) {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    for (k, t) in tokens.iter().enumerate() {
        match (t, tokens.get(k + 1), tokens.get(k + 2)) {
            (TokenTree::Punct(p), Some(TokenTree::Ident(m)), Some(TokenTree::Ident(name)))
                if p.as_char() == '&' && m == "mut" =>
            {
                names.insert(name.to_string());
            }
            (TokenTree::Group(g), _, _) => borrowed_mut_tokens(g.stream(), names),
            _ => {}
        }
    }
}

impl Lower<'_> {
    /// `z.swap(i, j)`, `z.fill(v)`, `z.copy_from_slice(x)` lowered; another method that
    /// changes an array in place kept as written and marked for `check`; `None` for any
    /// other method call.
    pub(super) fn in_place_method(&mut self, e: &Expr, m: &syn::ExprMethodCall) -> Option<Operand> {
        let name = m.method.to_string();
        if !CHANGING.contains(&name.as_str()) {
            return None;
        }
        let base = index_base(&m.receiver).0?;
        let array = self
            .lookup(&base.to_string())
            .filter(|&v| self.f.vars[v].is_array())?;
        let plain = self.array_var(&m.receiver) == Some(array)
            && self.f.vars[array].shape.len() == 1
            && self.f.vars[array].mutable;
        let span = m.method.span();
        let unit = Operand::Const {
            tokens: quote!(()),
            value: None,
        };
        match (name.as_str(), m.args.len(), plain) {
            ("swap", 2, true) => {
                let (i, j) = (self.expr(&m.args[0]), self.expr(&m.args[1]));
                let (a, b) = (self.element(array, &i, span), self.element(array, &j, span));
                self.store_element(array, i, b, span);
                self.store_element(array, j, a, span);
                return Some(unit);
            }
            ("fill", 1, true) => {
                // Rust evaluates the value once and clones it into every element.
                let value = self.expr(&m.args[0]);
                let len = self.length(array, span);
                self.push_fill(array, len, span, |_, _| (Vec::new(), value));
                return Some(unit);
            }
            ("copy_from_slice" | "clone_from_slice", 1, true) => {
                let source = match strip_parens(&m.args[0]) {
                    Expr::Reference(r) if r.mutability.is_none() => self.array_var(&r.expr),
                    other => self.array_var(other),
                };
                if let Some(source) = source.filter(|&s| self.f.vars[s].shape.len() == 1) {
                    // The panic Rust gives for different lengths, then the copy.
                    let (n, k) = (self.length(array, span), self.length(source, span));
                    let (nt, kt) = (n.tokens(span), k.tokens(span));
                    self.f.body.push(Stmt::Let {
                        dst: None,
                        rhs: Rhs::Opaque(Opaque {
                            tokens: quote!(::core::assert_eq!(#nt, #kt, "source slice length does not match destination slice length")),
                            reads: [&n, &k].iter().filter_map(|o| o.var()).collect(),
                            passive_result: true,
                            pure: false,
                            what: format!("the length check of `{name}`"),
                        }),
                        span,
                    });
                    self.push_copy(array, source, n, span);
                    return Some(unit);
                }
            }
            _ => {}
        }
        let what = format!("the method `{name}`, which changes the array{CHANGES_IN_PLACE}");
        Some(self.opaque(e, &what, false))
    }

    /// A call given `&mut x` (`helper(&mut z)`, `std::mem::swap(&mut a, &mut b)`): kept as
    /// written, marked as changing what it reads; `None` when no argument is `&mut`.
    pub(super) fn call_through_mut(
        &mut self,
        e: &Expr,
        args: &[&Expr],
        what: &str,
    ) -> Option<Operand> {
        let borrows_mut = args
            .iter()
            .any(|a| matches!(strip_parens(a), Expr::Reference(r) if r.mutability.is_some()));
        if !borrows_mut {
            return None;
        }
        let what = format!("{what}, which changes what it borrows with `&mut`{CHANGES_IN_PLACE}");
        Some(self.opaque(e, &what, false))
    }

    /// `let v = array[i];`
    fn element(&mut self, array: VarId, i: &Operand, span: Span) -> Operand {
        let v = self.f.new_var("", span, Origin::Temp);
        self.f.body.push(Stmt::Let {
            dst: Some(v),
            rhs: Rhs::Index(array, vec![i.clone()]),
            span,
        });
        Operand::Var(v)
    }

    fn store_element(&mut self, array: VarId, i: Operand, value: Operand, span: Span) {
        self.f.body.push(Stmt::Store {
            array,
            index: vec![i],
            value,
            accumulate: false,
            span,
        });
    }

    /// `array.len()`, as passive code.
    fn length(&mut self, array: VarId, span: Span) -> Operand {
        self.passive_code(
            &[&Operand::Var(array)],
            |t| {
                let a = &t[0];
                quote!(#a.len())
            },
            span,
        )
    }
}
