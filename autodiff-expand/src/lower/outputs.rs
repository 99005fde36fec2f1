//! `&mut` output parameters. A function `fn forces(q: &[f64], k: f64, f: &mut [f64])` (no
//! return value, one `&mut` parameter) is differentiated as the function it is equivalent
//! to, which takes the parameter's contents on entry and returns them on exit:
//! `fn forces(q: &[f64], k: f64, f: &[f64]) -> Vec<f64> { let mut f = f.to_vec(); ..; f }`.
//! Its generated functions and calling convention are those of that form (the function
//! itself is emitted as written). A differentiated caller's `forces(&q, k, &mut f);` is the
//! call of that form, `f` then taking the elements it returns.
use super::*;

/// The form a function with one `&mut` output parameter and no return value is
/// differentiated as; `None` for other functions (their `&mut` parameters are reported by
/// the lowering).
pub fn pure_form(item: &syn::ItemFn) -> Option<syn::ItemFn> {
    if !matches!(item.sig.output, ReturnType::Default) {
        return None;
    }
    let mut outs = item
        .sig
        .inputs
        .iter()
        .enumerate()
        .filter_map(|(k, i)| match i {
            FnArg::Typed(pt) => match &*pt.ty {
                Type::Reference(r) if r.mutability.is_some() => Some((k, pt, r)),
                _ => None,
            },
            FnArg::Receiver(_) => None,
        });
    let (k, pt, r) = outs.next()?;
    if outs.next().is_some() || item.sig.receiver().is_some() {
        return None;
    }
    let Pat::Ident(pi) = &*pt.pat else {
        return None;
    };
    let name = pi.ident.clone();
    let elem = &*r.elem;
    // The parameter's type in the pure form, its return type, and the copy that starts it.
    let (param, ret, start): (Type, Type, TokenStream) = match elem {
        Type::Slice(s) if shape_of(&s.elem).is_empty() => {
            let e = &s.elem;
            (
                syn::parse_quote!(&[#e]),
                syn::parse_quote!(::std::vec::Vec<#e>),
                quote!(let mut #name = #name.to_vec();),
            )
        }
        Type::Array(a) if shape_of(&a.elem).is_empty() => (
            syn::parse_quote!(&#a),
            a.clone().into(),
            quote!(let mut #name = #name.to_owned();),
        ),
        Type::Path(p) if vec_element(p).is_some() && shape_of(elem).len() == 1 => (
            syn::parse_quote!(&#p),
            p.clone().into(),
            quote!(let mut #name = #name.to_vec();),
        ),
        Type::Path(p) if shape_of(elem).is_empty() && !is_tensor_type(elem) => (
            p.clone().into(),
            p.clone().into(),
            quote!(let mut #name = #name;),
        ),
        _ => return None,
    };
    let scalar = shape_of(elem).is_empty();
    let mut pure = item.clone();
    if let Some(FnArg::Typed(p)) = pure.sig.inputs.iter_mut().nth(k) {
        *p.ty = param;
        if let Pat::Ident(pi) = &mut *p.pat {
            pi.mutability = None;
        }
    }
    pure.sig.output = syn::parse_quote!(-> #ret);
    let body = rewrite(item.block.to_token_stream(), &name, scalar);
    let Ok(block) = syn::parse2::<syn::Block>(body) else {
        return None;
    };
    let mut stmts: Vec<syn::Stmt> = vec![syn::parse2(start).ok()?];
    stmts.extend(block.stmts);
    // The last statement (`for ..`, a call) becomes a statement, and the value is returned.
    if let Some(syn::Stmt::Expr(_, semi @ None)) = stmts.last_mut() {
        *semi = Some(Default::default());
    }
    stmts.push(syn::Stmt::Expr(syn::parse_quote!(#name), None));
    pure.block.stmts = stmts;
    Some(pure)
}

/// The expansion of the pure form with the function itself put back as written.
pub fn restore(expansion: TokenStream, original: &syn::ItemFn) -> TokenStream {
    let Ok(mut file) = syn::parse2::<syn::File>(expansion.clone()) else {
        return expansion;
    };
    let ident = &original.sig.ident;
    if let Some(slot) = file
        .items
        .iter_mut()
        .find(|i| matches!(i, syn::Item::Fn(f) if f.sig.ident == *ident))
    {
        *slot = syn::Item::Fn(syn::parse_quote! {
            #[allow(dead_code)]
            #original
        });
    }
    file.into_token_stream()
}

/// The body with `*name` read as `name` (a scalar output is a local of the pure form) and
/// `return;` as `return name;`.
fn rewrite(tokens: TokenStream, name: &Ident, scalar: bool) -> TokenStream {
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    let mut out: Vec<TokenTree> = Vec::with_capacity(trees.len());
    for (i, tree) in trees.iter().enumerate() {
        match tree {
            TokenTree::Group(g) => {
                let mut group = Group::new(g.delimiter(), rewrite(g.stream(), name, scalar));
                group.set_span(g.span());
                out.push(TokenTree::Group(group));
            }
            TokenTree::Punct(p)
                if scalar
                    && p.as_char() == '*'
                    && matches!(trees.get(i + 1), Some(TokenTree::Ident(n)) if n == name)
                    && match i.checked_sub(1).map(|j| &trees[j]) {
                        None => true,
                        Some(TokenTree::Punct(q)) => q.as_char() != '\'',
                        // After a block: a new statement.
                        Some(TokenTree::Group(g)) => g.delimiter() == Delimiter::Brace,
                        Some(_) => false,
                    } => {}
            TokenTree::Ident(r)
                if r == "return"
                    && matches!(trees.get(i + 1), Some(TokenTree::Punct(p)) if p.as_char() == ';') =>
            {
                out.push(tree.clone());
                out.push(TokenTree::Ident(name.clone()));
            }
            other => out.push(other.clone()),
        }
    }
    out.into_iter().collect()
}

impl Lower<'_> {
    /// `f(&q, k, &mut out)` of a function path, with one `&mut name` of a local array or
    /// float: the call of `f`'s pure form (see the module), `out` then taking the value it
    /// returns (element by element for an array). `None` (nothing lowered) for other calls.
    pub(super) fn call_with_output(&mut self, c: &syn::ExprCall) -> Option<Operand> {
        let Expr::Path(p) = &*c.func else {
            return None;
        };
        let segments: Vec<String> = p
            .path
            .segments
            .iter()
            .map(|s| s.ident.to_string())
            .collect();
        let library = ["std", "core", "alloc"].contains(&segments.first()?.as_str());
        let type_path = segments
            .iter()
            .any(|s| s != "Self" && s.starts_with(|c: char| c.is_uppercase()));
        if library || type_path || p.qself.is_some() {
            return None;
        }
        let outs: Vec<usize> = c
            .args
            .iter()
            .enumerate()
            .filter(
                |(_, a)| matches!(strip_parens(a), Expr::Reference(r) if r.mutability.is_some()),
            )
            .map(|(k, _)| k)
            .collect();
        let &[k] = outs.as_slice() else {
            return None;
        };
        let Expr::Reference(r) = strip_parens(&c.args[k]) else {
            return None;
        };
        let ident = match strip_parens(&r.expr) {
            Expr::Path(np) => np.path.get_ident()?.clone(),
            _ => return None,
        };
        let var = self.lookup(&ident.to_string())?;
        let info = &self.f.vars[var];
        if self.views.contains_key(&var)
            || info.tensor
            || info.shape.len() > 1
            || matches!(info.origin, Origin::Param(_))
        {
            return None;
        }
        let array = info.is_array();
        let span = c.span();
        let mut args = Vec::new();
        for (i, a) in c.args.iter().enumerate() {
            args.push(match i == k {
                true => CallArg {
                    value: self.read(var, r.span()),
                    by_ref: array,
                    view: None,
                    out: true,
                },
                false => self.call_arg(a),
            });
        }
        let result = self
            .push_call(p.path.to_token_stream(), None, args, span)
            .var()
            .expect("a call is a variable");
        if array {
            self.f.vars[result].shape = self.f.vars[var].shape.clone();
            let len = self.passive_code(
                &[&Operand::Var(result)],
                |t| {
                    let r = &t[0];
                    quote!(#r.len())
                },
                span,
            );
            self.push_fill(var, len, span, |l, j| {
                let element = l.f.new_var("", span, Origin::Temp);
                let read = Stmt::Let {
                    dst: Some(element),
                    rhs: Rhs::Index(result, vec![Operand::Var(j)]),
                    span,
                };
                (vec![read], Operand::Var(element))
            });
        } else if self.f.vars[var].mutable {
            self.f.body.push(Stmt::Assign {
                dst: var,
                value: Operand::Var(result),
                span,
            });
        } else {
            let ty = self.f.vars[var].ty.clone();
            self.define(&ident, Operand::Var(result), None, true, false);
            let new = self.lookup(&ident.to_string()).expect("just bound");
            self.f.vars[new].ty = ty;
        }
        Some(Operand::Const {
            tokens: quote!(()),
            value: None,
        })
    }
}

/// A call through `&mut` whose value carries no derivative (`bump(&mut weights)` on an array
/// without one) is kept as written, as code that changes what it borrows: no copy of the
/// array, no derivative call, and a callee without a derivative is fine. `active` tells
/// which values carry one; whether anything changed.
pub fn keep_passive_output_calls(
    f: &mut crate::ir::Function,
    active: &dyn Fn(VarId) -> bool,
) -> bool {
    fn block(body: &mut Vec<Stmt>, active: &dyn Fn(VarId) -> bool) -> bool {
        let mut changed = false;
        let mut k = 0;
        while k < body.len() {
            for inner in body[k].blocks_mut() {
                changed |= block(inner, active);
            }
            let passive_call = match &body[k] {
                Stmt::Let {
                    dst: Some(d),
                    rhs: Rhs::Call(c),
                    ..
                } if c.args.iter().any(|a| a.out) && !active(*d) => Some((*d, c.clone())),
                _ => None,
            };
            let Some((d, call)) = passive_call else {
                k += 1;
                continue;
            };
            let span = body[k].span();
            // What the lowering put after the call: `out` taking its value.
            let mut end = k + 1;
            // A float's location (the call was given a snapshot of it).
            let mut location = None;
            match body.get(end) {
                Some(Stmt::Assign {
                    dst,
                    value: Operand::Var(v),
                    ..
                }) if *v == d => {
                    location = Some(*dst);
                    end += 1;
                }
                Some(Stmt::Let {
                    dst: Some(len),
                    rhs: Rhs::Opaque(o),
                    ..
                }) if o.reads == [d] => {
                    let len = *len;
                    end += 1;
                    if matches!(body.get(end), Some(Stmt::For { end: Operand::Var(e), .. }) if *e == len)
                    {
                        end += 1;
                    }
                }
                _ => {}
            }
            let mut reads = Vec::new();
            let args: Vec<TokenStream> = call
                .args
                .iter()
                .map(|a| {
                    reads.extend(a.reads());
                    let v = match (a.out, location) {
                        (true, Some(l)) => {
                            reads.push(l);
                            Operand::Var(l).tokens(span)
                        }
                        _ => a.value.tokens(span),
                    };
                    match (a.out, a.by_ref) {
                        (true, _) => quote!(&mut #v),
                        (false, true) => quote!(&#v),
                        (false, false) => v,
                    }
                })
                .collect();
            reads.sort_unstable();
            reads.dedup();
            let path = &call.path;
            let what = format!(
                "the call of `{}`, which changes what it borrows with `&mut`{}",
                path.to_string().replace(' ', ""),
                crate::ir::CHANGES_IN_PLACE
            );
            body.splice(
                k..end,
                [Stmt::Let {
                    dst: None,
                    rhs: Rhs::Opaque(Opaque {
                        tokens: quote!(#path(#(#args),*)),
                        reads,
                        passive_result: true,
                        pure: false,
                        what,
                    }),
                    span,
                }],
            );
            changed = true;
            k += 1;
        }
        changed
    }
    block(&mut f.body, active)
}
