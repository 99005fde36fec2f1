//! Parts of arrays bound to a name or passed on: sub-slices (`let t = &x[a..b];`,
//! `x.split_at(k)`), rows of nested arrays (`let row = &a[k];`, `for p in pos.iter()`), and
//! the windows and chunks of `x.windows(k)` / `x.chunks(k)`. A part is not a value of its
//! own: each read `t[i]` is the element `x[a + i]` of the array it is part of, so adjoints
//! and tangents land in the right range of the array's own, and a part passed to a
//! differentiated call is passed as `&x[a..b]` with its gradient added into that range.
use super::*;

/// Part of the array `base`: the row at `prefix` (empty for `base` itself), then the
/// elements `start..start + len` of it (all of it when `start` and `len` are `None`).
#[derive(Clone, Debug)]
pub(super) struct View {
    pub(super) base: VarId,
    pub(super) prefix: Vec<Operand>,
    pub(super) start: Option<Operand>,
    pub(super) len: Option<Operand>,
}

impl View {
    pub(super) fn whole(base: VarId) -> View {
        View {
            base,
            prefix: Vec::new(),
            start: None,
            len: None,
        }
    }

    /// The part is all of `base` (nothing narrowed, no row selected).
    pub(super) fn is_whole(&self) -> bool {
        self.prefix.is_empty() && self.start.is_none() && self.len.is_none()
    }

    /// `&base[p][s..s + len]` as code kept as written, and the variables it reads.
    pub(super) fn tokens(&self, span: Span) -> (TokenStream, Vec<VarId>) {
        let base = placeholder(self.base, span);
        let prefix = self.prefix.iter().map(|o| o.tokens(span));
        let range = match (&self.start, &self.len) {
            (Some(s), Some(l)) => {
                let (s, l) = (s.tokens(span), l.tokens(span));
                quote!([#s..#s + #l])
            }
            _ => quote!(),
        };
        let reads = std::iter::once(self.base)
            .chain(self.operands().filter_map(Operand::var))
            .collect();
        (quote!((&#base #([#prefix])* #range)), reads)
    }

    fn operands(&self) -> impl Iterator<Item = &Operand> {
        self.prefix
            .iter()
            .chain(self.start.iter())
            .chain(self.len.iter())
    }
}

/// An element of a part: a value, or (for a nested array) a row, itself a part.
pub(super) enum Element {
    Value(VarId),
    Row(View),
}

/// What a chunked iteration yields: `windows(k)` (overlapping, step 1), `chunks(k)` (the
/// last one shorter), `chunks_exact(k)` (the remainder left out).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Chunking {
    Windows,
    Chunks,
    ChunksExact,
}

impl Lower<'_> {
    /// The view a name is bound to.
    pub(super) fn view_named(&self, e: &Expr) -> Option<View> {
        let Expr::Path(p) = strip_parens(e) else {
            return None;
        };
        let v = self.lookup(&p.path.get_ident()?.to_string())?;
        self.views.get(&v).cloned()
    }

    /// The array or part an expression names: a view's name, an array's name, `&e`,
    /// `e[a..b]`, or the row `e[i]` of a nested array (lowering the bounds and indices).
    /// `None` (nothing lowered) for anything else.
    pub(super) fn part(&mut self, e: &Expr) -> Option<View> {
        match strip_parens(e) {
            Expr::Path(_) => self
                .view_named(e)
                .or_else(|| self.array_var(e).map(View::whole)),
            Expr::Reference(r) if r.mutability.is_none() => self.part(&r.expr),
            Expr::Index(ix) => {
                let inner = self.part_prefix(&ix.expr)?;
                match strip_parens(&ix.index) {
                    Expr::Range(r) => Some(self.narrow(inner, r, e.span())),
                    index => {
                        // A row: the base must have a level below the one indexed.
                        let depth = self.f.vars[inner.base].shape.len();
                        if depth <= inner.prefix.len() + 1 {
                            return None;
                        }
                        let i = self.expr(index);
                        let i = self.offset(&inner.start, i, e.span());
                        let mut prefix = inner.prefix;
                        prefix.push(i);
                        Some(View {
                            base: inner.base,
                            prefix,
                            start: None,
                            len: None,
                        })
                    }
                }
            }
            _ => None,
        }
    }

    /// A part that may be indexed further (a name, or a row of one), checked before any
    /// of the indices is lowered.
    fn part_prefix(&mut self, e: &Expr) -> Option<View> {
        match strip_parens(e) {
            Expr::Path(_) => self.part(e),
            Expr::Index(ix) if !matches!(strip_parens(&ix.index), Expr::Range(_)) => self.part(e),
            _ => None,
        }
    }

    /// `start + i` (or `i` for a part that starts at the row's first element).
    pub(super) fn offset(&mut self, start: &Option<Operand>, i: Operand, span: Span) -> Operand {
        match start {
            None => i,
            Some(s) => self.passive_code(
                &[s, &i],
                |t| {
                    let (s, i) = (&t[0], &t[1]);
                    quote!(#s + #i)
                },
                span,
            ),
        }
    }

    /// The length of a part, as passive code where it is not known.
    pub(super) fn part_len(&mut self, v: &View, span: Span) -> Operand {
        if let Some(len) = &v.len {
            return len.clone();
        }
        let mut parts: Vec<&Operand> = v.prefix.iter().collect();
        let base = Operand::Var(v.base);
        parts.push(&base);
        let n = v.prefix.len();
        self.passive_code(
            &parts,
            |t| {
                let (prefix, base) = (&t[..n], &t[n]);
                quote!(#base #([#prefix])*.len())
            },
            span,
        )
    }

    /// `part[range]`: the narrower part.
    fn narrow(&mut self, v: View, r: &syn::ExprRange, span: Span) -> View {
        let len = self.part_len(&v, span);
        let from = r.start.as_ref().map(|s| self.expr(s));
        let to = r.end.as_ref().map(|e| {
            let e = self.expr(e);
            match r.limits {
                syn::RangeLimits::HalfOpen(_) => e,
                syn::RangeLimits::Closed(_) => self.passive_code(
                    &[&e],
                    |t| {
                        let e = &t[0];
                        quote!(#e + 1)
                    },
                    span,
                ),
            }
        });
        let to = to.unwrap_or(len);
        let new_len = match &from {
            None => to,
            Some(f) => self.passive_code(
                &[&to, f],
                |t| {
                    let (to, f) = (&t[0], &t[1]);
                    quote!(#to - #f)
                },
                span,
            ),
        };
        let start = match (&v.start, from) {
            (s, None) => s.clone(),
            (None, Some(f)) => Some(f),
            (Some(s), Some(f)) => Some(self.offset(&Some(s.clone()), f, span)),
        };
        View {
            base: v.base,
            prefix: v.prefix,
            start: Some(start.unwrap_or_else(|| int_const(0))),
            len: Some(new_len),
        }
    }

    /// Binds `ident` to a part: a name that is not a variable of its own.
    pub(super) fn define_view(&mut self, ident: &Ident, view: View) {
        let v = self
            .f
            .new_var(ident.to_string(), ident.span(), Origin::Local);
        let depth = self.f.vars[view.base].shape.len() - view.prefix.len();
        let levels = self.f.vars[view.base].shape[view.prefix.len()..].to_vec();
        debug_assert_eq!(levels.len(), depth);
        self.f.vars[v].shape = levels;
        self.views.insert(v, view);
        self.bind(ident, v);
    }

    /// `let t = &x[a..b];`, `let row = &a[k];` (also `a[k]` of an array nothing writes),
    /// `let u = t;` of a part: the name is bound to the part. `false` (nothing lowered)
    /// for other values.
    pub(super) fn bind_part(&mut self, ident: &Ident, expr: &Expr) -> bool {
        let e = strip_parens(expr);
        let is_part = match e {
            Expr::Reference(r) if r.mutability.is_none() => {
                matches!(strip_parens(&r.expr), Expr::Index(_))
                    || self.view_named(&r.expr).is_some()
            }
            Expr::Path(_) => self.view_named(e).is_some(),
            // A row copied out of an array nothing writes is the row itself.
            Expr::Index(ix) if !matches!(strip_parens(&ix.index), Expr::Range(_)) => {
                let (base, _) = index_base(e);
                base.and_then(|b| self.lookup(&b.to_string()))
                    .is_some_and(|b| {
                        let var = &self.f.vars[b];
                        !var.mutable
                            && !self.locations.contains(&b.to_string())
                            && var.shape.len() >= 2
                            || self.views.contains_key(&b)
                    })
            }
            _ => false,
        };
        if !is_part {
            return false;
        }
        let at = self.f.body.len();
        match self.part(e) {
            Some(view) if !view.is_whole() || self.view_named(e).is_some() => {
                self.define_view(ident, view);
                true
            }
            _ => {
                // Not a part after all (an element of a one-level array): lower it as a value.
                self.f.body.truncate(at);
                false
            }
        }
    }

    /// `let (l, r) = x.split_at(k);`: two parts, `x[..k]` and `x[k..]`. `false` for other
    /// values.
    pub(super) fn bind_split(&mut self, pt: &syn::PatTuple, expr: &Expr) -> bool {
        let Expr::MethodCall(m) = strip_parens(expr) else {
            return false;
        };
        if m.method != "split_at" || m.args.len() != 1 || pt.elems.len() != 2 {
            return false;
        }
        // A name or `_` for each half.
        let names: Option<Vec<Option<&Ident>>> = pt
            .elems
            .iter()
            .map(|p| match strip_pat(p) {
                Pat::Ident(i) if i.subpat.is_none() => Some(Some(&i.ident)),
                Pat::Wild(_) => Some(None),
                _ => None,
            })
            .collect();
        let Some(names) = names else { return false };
        let Some(source) = self.part(&m.receiver) else {
            return false;
        };
        let span = m.method.span();
        let k = self.expr(&m.args[0]);
        let len = self.part_len(&source, span);
        let right_start = self.offset(&source.start, k.clone(), span);
        let right_len = self.passive_code(
            &[&len, &k],
            |t| {
                let (n, k) = (&t[0], &t[1]);
                quote!(#n - #k)
            },
            span,
        );
        let left = View {
            start: Some(source.start.clone().unwrap_or_else(|| int_const(0))),
            len: Some(k),
            ..source.clone()
        };
        let right = View {
            start: Some(right_start),
            len: Some(right_len),
            ..source
        };
        for (name, part) in names.into_iter().zip([left, right]) {
            if let Some(name) = name {
                self.define_view(name, part);
            }
        }
        true
    }

    /// The argument `&x[a..b]`, `&rows[k]` or a part's name, passed to a call: the array and
    /// the part of it. `None` (nothing lowered) for other arguments.
    pub(super) fn part_arg(&mut self, a: &Expr) -> Option<CallArg> {
        let e = strip_parens(a);
        let named = self.view_named(e).is_some();
        let sliced = match e {
            Expr::Reference(r) if r.mutability.is_none() => {
                matches!(strip_parens(&r.expr), Expr::Index(_))
                    || self.view_named(&r.expr).is_some()
            }
            _ => false,
        };
        if !named && !sliced {
            return None;
        }
        let at = self.f.body.len();
        let view = match self.part(e) {
            Some(v) if !v.is_whole() => v,
            _ => {
                self.f.body.truncate(at);
                return None;
            }
        };
        let span = a.span();
        let range = match (&view.start, &view.len) {
            (None, None) => None,
            (start, len) => {
                let s = start.clone().unwrap_or_else(|| int_const(0));
                let len = match len {
                    Some(l) => l.clone(),
                    None => self.part_len(
                        &View {
                            start: None,
                            len: None,
                            ..view.clone()
                        },
                        span,
                    ),
                };
                let end = self.passive_code(
                    &[&s, &len],
                    |t| {
                        let (s, n) = (&t[0], &t[1]);
                        quote!(#s + #n)
                    },
                    span,
                );
                Some((s, end))
            }
        };
        let levels = self.f.vars[view.base].shape.len() - view.prefix.len();
        if levels != 1 {
            self.cx.error_spanned_by(
                a,
                "a part of an array passed to a differentiated call must be a slice of floats (a sub-slice `&x[a..b]` of a one-level array, or one row `&a[k]` of a nested one); pass the rows one by one (`f(&pos[k])`), or flatten the array into one slice of floats",
            );
        }
        Some(CallArg {
            value: Operand::Var(view.base),
            by_ref: true,
            view: Some(ArgView {
                index: view.prefix,
                range,
            }),
            out: false,
        })
    }

    /// Element `index` of a part (the position in the iteration, from 0): the element
    /// itself, or, for a row of a nested array, the row as a part.
    pub(super) fn part_element(&mut self, v: &View, index: VarId, span: Span) -> Element {
        let i = self.offset(&v.start, Operand::Var(index), span);
        let mut at = v.prefix.clone();
        at.push(i);
        if self.f.vars[v.base].shape.len() > at.len() {
            return Element::Row(View {
                base: v.base,
                prefix: at,
                start: None,
                len: None,
            });
        }
        let e = self.f.new_var("", span, Origin::Temp);
        self.f.body.push(Stmt::Let {
            dst: Some(e),
            rhs: Rhs::Index(v.base, at),
            span,
        });
        Element::Value(e)
    }

    /// The part a chunked iteration yields at position `j`: `k` elements from `j` (windows)
    /// or from `j * k` (chunks; the last may be shorter).
    pub(super) fn chunk_at(
        &mut self,
        source: &View,
        chunking: Chunking,
        k: &Operand,
        j: VarId,
        span: Span,
    ) -> View {
        let j = Operand::Var(j);
        let first = match chunking {
            Chunking::Windows => j.clone(),
            _ => self.passive_code(
                &[&j, k],
                |t| {
                    let (j, k) = (&t[0], &t[1]);
                    quote!(#j * #k)
                },
                span,
            ),
        };
        let len = match chunking {
            Chunking::Chunks => {
                let n = self.part_len(source, span);
                self.passive_code(
                    &[k, &n, &first],
                    |t| {
                        let (k, n, f) = (&t[0], &t[1], &t[2]);
                        quote!((#k).min(#n - #f))
                    },
                    span,
                )
            }
            _ => k.clone(),
        };
        let start = self.offset(&source.start, first, span);
        View {
            base: source.base,
            prefix: source.prefix.clone(),
            start: Some(start),
            len: Some(len),
        }
    }

    /// How many parts `chunking` yields from `n` elements.
    pub(super) fn chunk_count(
        &mut self,
        chunking: Chunking,
        n: &Operand,
        k: &Operand,
        span: Span,
    ) -> Operand {
        self.passive_code(
            &[n, k],
            |t| {
                let (n, k) = (&t[0], &t[1]);
                match chunking {
                    Chunking::Windows => quote!((#n + 1).saturating_sub(#k)),
                    Chunking::Chunks => quote!((#n + #k - 1) / #k),
                    Chunking::ChunksExact => quote!(#n / #k),
                }
            },
            span,
        )
    }
}

impl Lower<'_> {
    /// `t.to_vec()` (or `x[a..b].to_vec()`, `.to_owned()`) of a part of a one-level array:
    /// a new `Vec` of the part's length, then a loop copying each element, so its adjoint
    /// lands in the part. Outside branches and loops only (an array written there must be
    /// created before them). `None` (nothing lowered) for other receivers.
    pub(super) fn part_copy(&mut self, e: &Expr, m: &syn::ExprMethodCall) -> Option<Operand> {
        if !["to_vec", "to_owned"].contains(&m.method.to_string().as_str()) || !m.args.is_empty() {
            return None;
        }
        let receiver = strip_parens(&m.receiver);
        let is_part = self.view_named(receiver).is_some()
            || matches!(receiver, Expr::Index(ix) if matches!(strip_parens(&ix.index), Expr::Range(_)));
        if !is_part {
            return None;
        }
        let at = self.f.body.len();
        let view = match self.part(receiver) {
            Some(v) if !v.is_whole() && self.f.vars[v.base].shape.len() == v.prefix.len() + 1 => v,
            _ => {
                self.f.body.truncate(at);
                return None;
            }
        };
        if self.nested > 0 {
            return Some(self.unsupported(e, "a copy of part of an array (`t.to_vec()`) inside a branch or loop is not supported; create the array before it (`let mut y = vec![0.0; n];`) and copy the elements, or read the part itself (`t[i]`)"));
        }
        let span = m.method.span();
        let len = self.part_len(&view, span);
        let (part, mut reads) = view.tokens(span);
        reads.extend(len.var());
        reads.sort_unstable();
        reads.dedup();
        let l = len.tokens(span);
        let y = self.f.new_var("", span, Origin::Temp);
        self.f.vars[y].shape = vec![Level::Dynamic];
        self.f.vars[y].mutable = true;
        self.f.body.push(Stmt::Let {
            dst: Some(y),
            rhs: Rhs::Opaque(Opaque {
                tokens: quote!(::std::vec![::autodiff::__private::zero_element(#part); #l]),
                reads,
                passive_result: true,
                pure: true,
                what: "an array".into(),
            }),
            span,
        });
        self.collected.insert(y);
        self.push_fill(y, len, span, |l, k| {
            let mut element = None;
            let read = l.nested_block(|l| {
                if let Element::Value(v) = l.part_element(&view, k, span) {
                    element = Some(v);
                }
            });
            (read, Operand::Var(element.expect("a part of one level")))
        });
        Some(Operand::Var(y))
    }
}
