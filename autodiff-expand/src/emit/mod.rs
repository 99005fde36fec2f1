//! The last pass: IR -> Rust tokens. Variables get readable, unique names; every name the
//! macro invents is hygienic (`Span::mixed_site()`), so it can never collide with a user's
//! `grad`, `seed` or `v3`. Parameters keep the user's own identifiers.
//!
//! This file emits statements and right-hand sides (a scalar temporary read once goes into
//! its reader's expression instead of a `let`: fewer tokens for rustc); `names` chooses
//! identifiers, `operations` writes each operation and operand, `views` picks the derivative
//! arrays reached through slices of their witness's length.
use crate::ir::placeholder_var;
use crate::ir::{Cmp, Function, Level, Op, Operand, Origin, Rhs, Stmt, VarId};
use proc_macro2::{Group, Ident, Literal, Span, TokenStream, TokenTree};
use quote::{format_ident, quote, ToTokens};
use std::collections::{HashMap, HashSet};
use views::viewed;

mod names;
mod operations;
mod views;

/// Turns one derived function into statements.
pub struct Emitter<'a> {
    f: &'a Function,
    names: Vec<Ident>,
    /// The name was invented by the macro (`Span::mixed_site()`).
    hygienic: Vec<bool>,
    /// How many times each variable is read: a tensor temporary read once can be consumed,
    /// so arithmetic on it reuses its buffer (adjoints accumulate in place).
    uses: Vec<usize>,
    /// Float types are concrete (`f32`/`f64`, no type parameters): rule constants can be
    /// plain literals, which rustc types from the other operand.
    concrete: bool,
    /// The function's one type parameter bounded by `Float`, if it has exactly one: a zero
    /// with nothing to take its type from is written `zero::<T>()` (`zero() + g` leaves
    /// rustc nothing to infer `zero`'s type from).
    float_type: Option<proc_macro2::Ident>,
    /// Derivative arrays reached through a view (see [`viewed`]): the name of the `Vec` that
    /// owns the elements, which the function returns; `names` holds the view.
    owners: HashMap<VarId, Ident>,
}

/// How deeply [`Emitter::block`] nests temporaries into one expression.
const MAX_NESTING: usize = 4;

/// The temporaries [`Emitter::block`] holds back for their one reader: each one's
/// expression (`None` once used) and nesting depth, found by name.
#[derive(Default)]
struct Waiting {
    exprs: Vec<Option<(VarId, TokenStream, usize)>>,
    by_name: HashMap<String, usize>,
    /// Every variable the waiting expressions read.
    reads: HashSet<VarId>,
}

impl Waiting {
    /// `tokens` with each waiting temporary it names replaced by its expression in
    /// parentheses, and the nesting depth of the result. Only `tokens` themselves are walked,
    /// not the expressions put in.
    ///
    /// A temporary named more than once in `tokens` (a rule that writes its operand twice) is
    /// written out instead, into `out` before them.
    fn substitute(
        &mut self,
        e: &Emitter,
        tokens: TokenStream,
        out: &mut TokenStream,
    ) -> (TokenStream, usize) {
        if self.by_name.is_empty() {
            return (tokens, 0);
        }
        let mut counts = HashMap::new();
        self.count(&tokens, &mut counts);
        let mut twice: Vec<usize> = (counts.into_iter())
            .filter(|&(_, n)| n > 1)
            .map(|(k, _)| k)
            .collect();
        twice.sort_unstable();
        for k in twice {
            if let Some((dst, expr, _)) = self.exprs[k].take() {
                let name = &e.names[dst];
                self.by_name.remove(&name.to_string());
                out.extend(quote!(let #name = #expr;));
            }
        }
        let mut depth = 0;
        let tokens = self.walk(tokens, &mut depth);
        (tokens, depth)
    }

    fn count(&self, tokens: &TokenStream, counts: &mut HashMap<usize, usize>) {
        for tree in tokens.clone() {
            match tree {
                TokenTree::Ident(ident) => {
                    if let Some(&k) = self.by_name.get(&ident.to_string()) {
                        *counts.entry(k).or_default() += 1;
                    }
                }
                TokenTree::Group(g) => self.count(&g.stream(), counts),
                _ => {}
            }
        }
    }

    fn walk(&mut self, tokens: TokenStream, depth: &mut usize) -> TokenStream {
        tokens
            .into_iter()
            .map(|tree| match tree {
                TokenTree::Ident(ident) => {
                    let found = self.by_name.remove(&ident.to_string());
                    match found.and_then(|k| self.exprs[k].take()) {
                        Some((_, expr, d)) => {
                            *depth = (*depth).max(d + 1);
                            let mut group = Group::new(proc_macro2::Delimiter::Parenthesis, expr);
                            group.set_span(ident.span());
                            TokenTree::Group(group)
                        }
                        None => TokenTree::Ident(ident),
                    }
                }
                TokenTree::Group(g) => {
                    let mut group = Group::new(g.delimiter(), self.walk(g.stream(), depth));
                    group.set_span(g.span());
                    TokenTree::Group(group)
                }
                other => other,
            })
            .collect()
    }

    /// Writes out the temporaries still waiting, in order of definition.
    fn flush(&mut self, e: &Emitter, out: &mut TokenStream) {
        for (dst, expr, _) in self.exprs.drain(..).flatten() {
            let name = &e.names[dst];
            out.extend(quote!(let #name = #expr;));
        }
        self.by_name.clear();
        self.reads.clear();
    }
}

/// The path through which generated code reaches the runtime.
pub fn private() -> TokenStream {
    quote!(::autodiff::__private)
}

impl<'a> Emitter<'a> {
    /// An output of the generated function: like [`Emitter::operand`], but an array reached
    /// through a view is returned as the `Vec` that owns it.
    pub fn output(&self, o: &Operand, witness: Option<&Operand>) -> TokenStream {
        match o.var().and_then(|v| self.owners.get(&v)) {
            Some(owner) => owner.to_token_stream(),
            None => self.operand(o, witness),
        }
    }

    /// Counts the reads of `outputs`, the derivatives the generated function returns after
    /// the body (the values are counted by [`Emitter::new`]): a returned variable is never
    /// written into another expression or consumed.
    /// See [`Emitter::float_type`](Self).
    pub fn float_type(mut self, ty: Option<proc_macro2::Ident>) -> Self {
        self.float_type = ty;
        self
    }

    pub fn returning<'o>(mut self, outputs: impl IntoIterator<Item = &'o Operand>) -> Self {
        for v in outputs.into_iter().filter_map(Operand::var) {
            self.uses[v] = self.uses[v].saturating_add(1);
        }
        self
    }

    /// A zero shaped like variable `v` (an array of zeros for an array).
    pub fn zero_of(&self, v: VarId) -> TokenStream {
        self.rhs(&Rhs::Zero(Operand::Var(v)))
    }

    pub fn name(&self, v: VarId) -> &Ident {
        &self.names[v]
    }

    pub fn body(&self) -> TokenStream {
        self.block(&self.f.body)
    }

    /// A block's statements. A scalar temporary read once, by a later scalar operation of the
    /// same block, is written into that operation in parentheses instead of bound by a `let`
    /// (`let v3 = (v1 * x) + y;`): the same operations on the same values (each evaluated
    /// where it is read), with fewer tokens for rustc to compile. Only arithmetic on scalars
    /// is moved, and only past other arithmetic on scalars (which has no effect and writes
    /// nothing it reads); any other statement first writes the waiting temporaries out. Each statement's tokens are walked once, when it
    /// is emitted, so this is linear in the size of the body; nesting is capped at
    /// [`MAX_NESTING`] levels.
    fn block(&self, block: &[Stmt]) -> TokenStream {
        let mut out = TokenStream::new();
        let mut waiting = Waiting::default();
        for stmt in block {
            let Some((dst, rhs_ir)) = self.scalar_arithmetic(stmt) else {
                waiting.flush(self, &mut out);
                out.extend(self.stmt(stmt));
                continue;
            };
            if waiting.reads.contains(&dst) {
                waiting.flush(self, &mut out);
            }
            let (rhs, depth) = waiting.substitute(self, self.rhs(rhs_ir), &mut out);
            if self.foldable(dst) && depth < MAX_NESTING {
                waiting.reads.extend(stmt.reads());
                waiting
                    .by_name
                    .insert(self.names[dst].to_string(), waiting.exprs.len());
                waiting.exprs.push(Some((dst, rhs, depth)));
            } else {
                out.extend(self.let_stmt(Some(dst), rhs_ir, rhs));
            }
        }
        waiting.flush(self, &mut out);
        out
    }

    /// `let v = a * b;` of a scalar from scalars: its destination and right-hand side.
    fn scalar_arithmetic<'s>(&self, stmt: &'s Stmt) -> Option<(VarId, &'s Rhs)> {
        let Stmt::Let {
            dst: Some(dst),
            rhs: rhs @ Rhs::Op(_, args),
            ..
        } = stmt
        else {
            return None;
        };
        let scalar = |v: VarId| {
            let var = &self.f.vars[v];
            var.shape.is_empty() && !var.tensor && !var.reference && !self.owners.contains_key(&v)
        };
        let operands = args.iter().all(|a| a.var().is_none_or(scalar));
        (scalar(*dst) && operands && !self.f.vars[*dst].mutable).then_some((*dst, rhs))
    }

    /// A macro temporary (`v12`) read exactly once, in the block that defines it.
    fn foldable(&self, v: VarId) -> bool {
        let var = &self.f.vars[v];
        let name = self.names[v].to_string();
        var.origin == Origin::Temp
            && self.hygienic[v]
            && self.uses[v] == 1
            && var.ty.is_none()
            && name.starts_with('v')
            && name[1..].starts_with(|c: char| c.is_ascii_digit())
    }

    fn stmt(&self, stmt: &Stmt) -> TokenStream {
        match stmt {
            Stmt::Let { dst, rhs, .. } => self.let_stmt(*dst, rhs, self.rhs(rhs)),
            other => self.other_stmt(other),
        }
    }

    /// `let dst = rhs;` with the right-hand side `rhs_ir` written as `rhs`.
    fn let_stmt(&self, dst: Option<VarId>, rhs_ir: &Rhs, rhs: TokenStream) -> TokenStream {
        let Some(dst) = dst else {
            return quote!(#rhs;);
        };
        let name = &self.names[dst];
        let var = &self.f.vars[dst];
        let mutability = var.mutable.then(|| quote!(mut));
        let ty = match &var.ty {
            Some(ty) if var.origin == Origin::Local => quote!(: #ty),
            _ => TokenStream::new(),
        };
        if let (Some(owner), Rhs::Zero(witness)) = (self.owners.get(&dst), rhs_ir) {
            let witness = self.operand(witness, None);
            return quote! {
                let mut #owner = #rhs;
                let #name = &mut #owner[..#witness.len()];
            };
        }
        // `let w: &Tensor<f64> = x;` of a tensor, as the type says: a borrow of `x`, not the
        // copy a tensor kept by value is.
        let by_ref = |t: &TokenStream| matches!(t.clone().into_iter().next(), Some(proc_macro2::TokenTree::Punct(p)) if p.as_char() == '&');
        let borrowed = match rhs_ir {
            Rhs::Op(Op::Id, args)
                if var.tensor && !ty.is_empty() && var.ty.as_ref().is_some_and(by_ref) =>
            {
                Some(self.borrowed(&args[0], None))
            }
            _ => None,
        };
        if rhs.is_empty() {
            quote!(let #mutability #name #ty;)
        } else if let Some(x) = borrowed {
            quote!(let #mutability #name #ty = #x;)
        } else {
            quote!(let #mutability #name #ty = #rhs;)
        }
    }

    fn other_stmt(&self, stmt: &Stmt) -> TokenStream {
        match stmt {
            Stmt::Let { .. } => unreachable!("lets go through let_stmt"),
            // A rule constant written into a location or an element (`f_grad`'s seed 1 into
            // an array's adjoint) takes the type of what it is written into.
            Stmt::Assign { dst, value, .. } => {
                let name = &self.names[*dst];
                let value = self.operand(value, Some(&Operand::Var(*dst)));
                quote!(#name = #value;)
            }
            Stmt::Store {
                array,
                index,
                value,
                accumulate,
                ..
            } => {
                let place = self.place(*array, index);
                let operand = value;
                let value = match value {
                    Operand::Lit(c) if !self.concrete => {
                        let (lit, p) = (self.constant(*c, None), private());
                        quote!(#p::lit_like(&#place, #lit))
                    }
                    other => self.operand(other, None),
                };
                if *accumulate && crate::ir::tensor_element(&self.f.vars, *array, index.len()) {
                    let (value, p) = (self.borrowed(operand, None), private());
                    quote!(#place = #p::add(&#place, #value);)
                } else if *accumulate {
                    quote!(#place = #place + #value;)
                } else {
                    quote!(#place = #value;)
                }
            }
            Stmt::If {
                cond,
                then,
                otherwise,
                ..
            } => {
                let (cond, then) = (self.operand(cond, None), self.block(then));
                if otherwise.is_empty() {
                    quote!(if #cond { #then })
                } else {
                    let otherwise = self.block(otherwise);
                    quote!(if #cond { #then } else { #otherwise })
                }
            }
            Stmt::For {
                index,
                start,
                end,
                inclusive,
                reversed,
                body,
                ..
            } => {
                let (i, start, end) = (
                    &self.names[*index],
                    self.operand(start, None),
                    self.operand(end, None),
                );
                let range = if *inclusive {
                    quote!(#start..=#end)
                } else {
                    quote!(#start..#end)
                };
                let range = if *reversed {
                    quote!((#range).rev())
                } else {
                    range
                };
                let body = self.block(body);
                quote!(for #i in #range { #body })
            }
            Stmt::While {
                header, cond, body, ..
            } => {
                let (header, cond, body) = (
                    self.block(header),
                    self.operand(cond, None),
                    self.block(body),
                );
                quote!(while { #header #cond } { #body })
            }
            Stmt::Push { stack, value, .. } => {
                let stack = &self.names[*stack];
                let value = match value
                    .var()
                    .filter(|&v| self.f.vars[v].tensor || self.f.vars[v].is_array())
                {
                    // A tensor or an array is used after it is saved: save a copy.
                    Some(v) => {
                        let name = &self.names[v];
                        quote!(::core::clone::Clone::clone(&#name))
                    }
                    None => self.operand(value, None),
                };
                quote!(#stack.push(#value);)
            }
        }
    }

    /// `array[i][j]`
    fn place(&self, array: VarId, index: &[Operand]) -> TokenStream {
        let name = &self.names[array];
        let index = index.iter().map(|i| self.operand(i, None));
        quote!(#name #([#index])*)
    }

    fn rhs(&self, rhs: &Rhs) -> TokenStream {
        let p = private();
        match rhs {
            Rhs::Op(op, args) => self.op(*op, args),
            Rhs::Index(array, index) => {
                let place = self.place(*array, index);
                if crate::ir::tensor_element(&self.f.vars, *array, index.len()) {
                    quote!(&#place)
                } else {
                    place
                }
            }
            Rhs::ArrayLit(elements) => {
                let witness = elements.iter().find(|e| matches!(e, Operand::Var(_)));
                let elements = elements.iter().map(|e| self.operand(e, witness));
                quote!([#(#elements),*])
            }
            Rhs::Uninit => TokenStream::new(),
            Rhs::Zero(Operand::Var(v)) if self.f.vars[*v].is_array() => {
                let name = &self.names[*v];
                zero_array(quote!(#name), &self.f.vars[*v].shape)
            }
            Rhs::Zero(Operand::Lit(_)) if !self.concrete => match &self.float_type {
                Some(t) => quote!(#p::zero::<#t>()),
                None => quote!(#p::zero()),
            },
            Rhs::Zero(Operand::Lit(_)) => self.constant(0.0, None),
            Rhs::Zero(w) => {
                let w = self.borrowed(w, None);
                quote!(#p::ZeroLike::zero_like(#w))
            }
            // A slice (or a borrowed tangent) becomes a `Vec`; a fixed array stays one.
            Rhs::CopyArray(v) => {
                let name = &self.names[*v];
                match self.f.vars[*v].shape.first() {
                    Some(Level::Fixed) => quote!(#name.to_owned()),
                    _ => quote!(#name.to_vec()),
                }
            }
            Rhs::NewStack => quote!(::std::vec::Vec::new()),
            Rhs::Pop(stack) => {
                let stack = &self.names[*stack];
                quote!(#stack.pop().expect("autodiff: every value the adjoint sweep pops was pushed by the primal sweep"))
            }
            Rhs::Opaque(o) => self.resolve_placeholders(o.tokens.clone()),
            Rhs::Call(call) if call.args.iter().any(|a| a.out) => {
                // `f(.., &mut out)`: its value is `out` as the call leaves it, on a copy.
                let out = Ident::new("__autodiff_out", Span::mixed_site());
                let mut copy = TokenStream::new();
                let args = call.args.iter().zip(self.call_args(call)).map(|(a, t)| {
                    if a.out {
                        let v = self.operand(&a.value, None);
                        copy = quote!(let mut #out = ::core::clone::Clone::clone(&#v););
                        quote!(&mut #out)
                    } else {
                        t
                    }
                });
                let args: Vec<TokenStream> = args.collect();
                let path = &call.path;
                quote!({ #copy #path(#(#args),*); #out })
            }
            Rhs::Call(call) => {
                let args = self.call_args(call);
                match &call.method {
                    Some((receiver, name)) => {
                        let receiver = self.resolve_placeholders(receiver.clone());
                        quote!(#receiver.#name(#(#args),*))
                    }
                    None => {
                        let path = &call.path;
                        quote!(#path(#(#args),*))
                    }
                }
            }
            Rhs::CallForward(call, tangents) => {
                let f = names::convention(&self.resolved_receiver(call), "forward_derivative");
                let args = self.call_args(call);
                let tangents = call.args.iter().zip(tangents).map(|(arg, t)| match t {
                    Some(t) => {
                        // Slices and owned tensors are lent, not moved (the call may be in a loop).
                        let dynamic = t.var().is_some_and(|v| {
                            let var = &self.f.vars[v];
                            var.shape.first() == Some(&Level::Dynamic)
                                || (var.tensor && !var.reference)
                        });
                        let t = self.operand(t, None);
                        if let Some(view) = &arg.view {
                            view.borrow(t, |o| self.operand(o, None))
                        } else if arg.by_ref {
                            quote!(&#t)
                        } else if dynamic {
                            // A slice tangent is lent, not moved (the call may be in a loop).
                            quote!(&*#t)
                        } else {
                            t
                        }
                    }
                    None => quote!(#p::NoTangent),
                });
                quote!(#f(#(#args,)* #(#tangents),*))
            }
            Rhs::CallReverse(call, seed, result) => {
                let f = names::convention(&self.resolved_receiver(call), "reverse_derivative");
                let args = self.call_args(call);
                let seed = self.operand(seed, Some(&Operand::Var(*result)));
                quote!(#f(#(#args,)* #seed))
            }
            Rhs::Tuple(entries) => {
                let entries = entries.iter().map(|e| match e {
                    // Its float type comes from the callee's signature.
                    Operand::Lit(c) if !self.concrete => {
                        let lit = self.constant(*c, None);
                        quote!(#p::lit(#lit))
                    }
                    e => self.operand(e, None),
                });
                quote!((#(#entries,)*))
            }
            Rhs::Output(v, k) => {
                let (name, k) = (&self.names[*v], syn::Index::from(*k));
                quote!((#name).#k)
            }
            Rhs::Field(v, path) => {
                let mut tokens = self.names[*v].to_token_stream();
                for &i in path {
                    let i = syn::Index::from(i);
                    tokens = quote!((#tokens).#i);
                }
                tokens
            }
            Rhs::AddInto(acc, g) => {
                let (acc, g) = (&self.names[*acc], self.operand(g, None));
                quote!(#p::add_into(&mut #acc[..], &#g[..]))
            }
        }
    }

    fn call_args(&self, call: &crate::ir::Call) -> Vec<TokenStream> {
        call.args
            .iter()
            .map(|a| {
                let v = self.operand(&a.value, None);
                if let Some(view) = &a.view {
                    view.borrow(v, |o| self.operand(o, None))
                } else if a.by_ref {
                    quote!(&#v)
                } else {
                    v
                }
            })
            .collect()
    }
}

/// An array of zeros shaped like the array `e` (a place or a reference to one): nested maps
/// down to `ZeroLike` on each element, so any float type works, generic ones included.
pub fn zero_array(e: TokenStream, shape: &[Level]) -> TokenStream {
    let p = private();
    let element = Ident::new("element", Span::mixed_site());
    match shape.split_first() {
        None => quote!(#p::ZeroLike::zero_like(#e)),
        Some((Level::Fixed, rest)) => {
            let inner = zero_array(quote!(&#element), rest);
            quote!((#e).map(|#element| #inner))
        }
        Some((Level::Dynamic, rest)) => {
            let inner = zero_array(quote!(#element), rest);
            quote!((#e).iter().map(|#element| #inner).collect::<::std::vec::Vec<_>>())
        }
    }
}

/// `(a, b)` for several values, `a` for one.
pub fn tuple_or_single(items: Vec<TokenStream>, force_tuple: bool) -> TokenStream {
    if items.len() == 1 && !force_tuple {
        return items.into_iter().next().expect("one item");
    }
    quote!((#(#items,)*))
}
