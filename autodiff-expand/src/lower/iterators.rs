//! Iterator chains that end in a reduction, lowered to the loops they run: `.sum()`,
//! `.product()`, `.fold(..)`, `max_by`/`min_by` extremes and `.collect()` of a `map`, over
//! any iteration a `for` loop takes.
use super::*;
use expr::float_op;

impl Lower<'_> {
    /// `x.iter().map(|v| body).sum()` (any iteration a `for` loop takes, with or without the
    /// `map`): the loop `let mut s = 0; for v in x.iter() { s = s + body; }`, and its value
    /// `s`; with `product`, `s` starts at one and multiplies. `None` (nothing lowered) for
    /// other receivers.
    pub(super) fn iterator_sum(
        &mut self,
        m: &syn::ExprMethodCall,
        product: bool,
    ) -> Option<Operand> {
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
    pub(super) fn iterator_collect(
        &mut self,
        e: &Expr,
        m: &syn::ExprMethodCall,
    ) -> Option<Operand> {
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
    pub(super) fn iterator_extreme(&mut self, e: &Expr) -> Option<Operand> {
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
    pub(super) fn iterator_fold(&mut self, m: &syn::ExprMethodCall) -> Option<Operand> {
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
    pub(super) fn accumulate_over(
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
}

const RETURN_IN_CLOSURE: &str = "`return` inside this closure would leave the closure, but the macro differentiates the chain as a loop in the function; write the loop out with `for` and `continue`";

/// Whether a closure body holds a `return` (it would leave the closure, where the loop the
/// macro writes in its place would leave the function): such chains are not lowered. Any
/// `return`, even inside a `let` (`syntax::returns_anywhere`).
fn returns_early(body: &Expr) -> bool {
    super::syntax::returns_anywhere(body)
}
