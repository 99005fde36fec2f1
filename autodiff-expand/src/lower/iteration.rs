//! `for` loops: what a loop runs over (`Iteration`: an index range, and the arrays or parts
//! of arrays whose elements the pattern binds, through `iter`, `copied`, `enumerate`, `zip`,
//! `rev`, `skip`, `take`, `step_by`, `windows`, `chunks` and a last `filter`), and the loop
//! over an index range it becomes.
use super::*;

impl Lower<'_> {
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
pub(super) fn sub_slice(e: &Expr) -> Option<(&Expr, &syn::ExprRange)> {
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
pub(super) fn zip_pattern(p: &Pat, n: usize) -> bool {
    match (strip_pat(p), n) {
        (_, 1) => true,
        (Pat::Tuple(t), n) if t.elems.len() == 2 => zip_pattern(&t.elems[0], n - 1),
        _ => false,
    }
}
