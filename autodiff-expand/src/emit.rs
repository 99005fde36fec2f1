//! The last pass: IR -> Rust tokens. Variables get readable, unique names; every name the
//! macro invents is hygienic (`Span::mixed_site()`), so it can never collide with a user's
//! `grad`, `seed` or `v3`. Parameters keep the user's own identifiers.
use crate::ir::placeholder_var;
use crate::ir::{Cmp, Function, Level, Op, Operand, Origin, Rhs, Stmt, VarId};
use proc_macro2::{Group, Ident, Literal, Span, TokenStream, TokenTree};
use quote::{format_ident, quote, ToTokens};
use std::collections::{HashMap, HashSet};

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
    /// Derivative arrays reached through a view (see [`viewed`]): the name of the `Vec` that
    /// owns the elements, which the function returns; `names` holds the view.
    owners: HashMap<VarId, Ident>,
}

/// The path through which generated code reaches the runtime.
pub fn private() -> TokenStream {
    quote!(::autodiff::__private)
}

impl<'a> Emitter<'a> {
    /// `param_idents[i]` is the user's identifier of parameter `i`.
    pub fn new(f: &'a Function, param_idents: &[Ident], concrete: bool) -> Self {
        let mut used: HashSet<String> = param_idents.iter().map(Ident::to_string).collect();
        let mut names: Vec<Option<Ident>> = vec![None; f.vars.len()];
        let mut hygienic = vec![true; f.vars.len()];
        // A user binding whose name is bound once keeps the user's own identifier, so code
        // that names it inside a string (`println!("{c}")`) still finds it. Rebound names
        // get hygienic, numbered names instead.
        let mut bound: HashMap<&str, usize> = HashMap::new();
        for var in f
            .vars
            .iter()
            .filter(|v| matches!(v.origin, Origin::Local | Origin::Param(_)))
        {
            *bound.entry(var.name.as_str()).or_default() += 1;
        }
        for (v, var) in f.vars.iter().enumerate() {
            if var.origin == Origin::Local && bound[var.name.as_str()] == 1 {
                used.insert(var.name.clone());
                names[v] = Some(Ident::new(&var.name, var.span));
                hygienic[v] = false;
            }
        }
        let fresh = |base: &str, used: &mut HashSet<String>| {
            let mut name = base.to_string();
            let mut n = 0;
            while !used.insert(name.clone()) {
                n += 1;
                name = format!("{base}_{n}");
            }
            Ident::new(&name, Span::mixed_site())
        };
        for (v, var) in f.vars.iter().enumerate() {
            match var.origin {
                Origin::Param(i) => {
                    names[v] = Some(param_idents[i].clone());
                    hygienic[v] = false;
                }
                Origin::Extra => names[v] = Some(fresh(&var.name, &mut used)),
                _ => {}
            }
        }
        // Name the rest in order of definition, so temporaries read v0, v1, ...
        let mut defined = Vec::new();
        crate::ir::walk(&f.body, &mut |s| {
            defined.extend(s.dst());
            if let Stmt::For { index, .. } = s {
                defined.push(*index);
            }
        });
        let mut temps = 0;
        for dst in defined {
            if names[dst].is_some() {
                continue;
            }
            let var = &f.vars[dst];
            let base = match var.origin {
                Origin::Local | Origin::Derivative => var.name.clone(),
                _ => {
                    temps += 1;
                    format!("v{}", temps - 1)
                }
            };
            names[dst] = Some(fresh(&base, &mut used));
        }
        let owners = viewed(f)
            .into_iter()
            .map(|v| (v, fresh(&format!("{}_owner", f.vars[v].name), &mut used)))
            .collect();
        let names = names
            .into_iter()
            .enumerate()
            .map(|(v, n)| {
                n.unwrap_or_else(|| {
                    format_ident!("__autodiff_unbound_{}", v, span = Span::mixed_site())
                })
            })
            .collect();
        let mut uses = vec![0; f.vars.len()];
        let mut blocks = Blocks {
            defined_in: vec![usize::MAX; f.vars.len()],
            used_in: vec![usize::MAX; f.vars.len()],
            next: 0,
        };
        blocks.visit(&f.body, &mut uses);
        for o in &f.outputs {
            if let Some(v) = o.var() {
                uses[v] += 1;
                blocks.used_in[v] = 0;
            }
        }
        // A read in another block than the definition (a loop body) may run many times.
        for (v, count) in uses.iter_mut().enumerate() {
            if blocks.used_in[v] != blocks.defined_in[v] {
                *count = usize::MAX;
            }
        }
        Emitter {
            f,
            names,
            hygienic,
            uses,
            concrete,
            owners,
        }
    }

    /// An output of the generated function: like [`Emitter::operand`], but an array reached
    /// through a view is returned as the `Vec` that owns it.
    pub fn output(&self, o: &Operand, witness: Option<&Operand>) -> TokenStream {
        match o.var().and_then(|v| self.owners.get(&v)) {
            Some(owner) => owner.to_token_stream(),
            None => self.operand(o, witness),
        }
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

    fn block(&self, block: &[Stmt]) -> TokenStream {
        block.iter().map(|s| self.stmt(s)).collect()
    }

    fn stmt(&self, stmt: &Stmt) -> TokenStream {
        match stmt {
            Stmt::Let { dst, rhs, .. } => {
                let rhs_ir = rhs;
                let rhs = self.rhs(rhs);
                let Some(dst) = *dst else {
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
                if rhs.is_empty() {
                    quote!(let #mutability #name #ty;)
                } else {
                    quote!(let #mutability #name #ty = #rhs;)
                }
            }
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
                let value = match value {
                    Operand::Lit(c) if !self.concrete => {
                        let (lit, p) = (self.constant(*c, None), private());
                        quote!(#p::lit_like(&#place, #lit))
                    }
                    other => self.operand(other, None),
                };
                if *accumulate {
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
            Rhs::Index(array, index) => self.place(*array, index),
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
            Rhs::Zero(Operand::Lit(_)) if !self.concrete => quote!(#p::zero()),
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
            Rhs::Call(call) => {
                let args = self.call_args(call);
                match &call.method {
                    Some((receiver, name)) => quote!(#receiver.#name(#(#args),*)),
                    None => {
                        let path = &call.path;
                        quote!(#path(#(#args),*))
                    }
                }
            }
            Rhs::CallForward(call, tangents) => {
                let f = call.convention("forward_derivative");
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
                        if arg.by_ref {
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
                let f = call.convention("reverse_derivative");
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
                if a.by_ref {
                    quote!(&#v)
                } else {
                    v
                }
            })
            .collect()
    }

    /// The operation's tokens. A rule constant is typed by the first variable operand.
    fn op(&self, op: Op, args: &[Operand]) -> TokenStream {
        let witness = args.iter().find(|a| matches!(a, Operand::Var(_)));
        let tensor = args
            .iter()
            .any(|a| a.var().is_some_and(|v| self.f.vars[v].tensor));
        if tensor {
            if let Some(tokens) = self.tensor_op(op, args, witness) {
                return tokens;
            }
        }
        let a: Vec<TokenStream> = args.iter().map(|x| self.operand(x, witness)).collect();
        let p = private();
        match op {
            Op::Id | Op::Stop => a[0].clone(),
            Op::Neg => {
                let x = &a[0];
                quote!(-#x)
            }
            Op::Add | Op::Sub | Op::Mul | Op::Div => {
                let (l, r) = (&a[0], &a[1]);
                match op {
                    Op::Add => quote!(#l + #r),
                    Op::Sub => quote!(#l - #r),
                    Op::Mul => quote!(#l * #r),
                    _ => quote!(#l / #r),
                }
            }
            Op::Unary(u) => {
                let (x, m) = (&a[0], Ident::new(u.method(), Span::call_site()));
                quote!(#x.#m())
            }
            Op::Binary(b) => {
                let (x, y, m) = (&a[0], &a[1], Ident::new(b.method(), Span::call_site()));
                quote!(#x.#m(#y))
            }
            Op::Powi => {
                let (x, n) = (&a[0], &a[1]);
                quote!(#x.powi(#n))
            }
            Op::MulAdd => {
                let (x, m, c) = (&a[0], &a[1], &a[2]);
                quote!(#x.mul_add(#m, #c))
            }
            Op::Select(cmp) => {
                let (l, r, t, f) = (&a[0], &a[1], &a[2], &a[3]);
                let cmp = match cmp {
                    Cmp::Ge => quote!(>=),
                    Cmp::Le => quote!(<=),
                    Cmp::Gt => quote!(>),
                };
                quote!(if #l #cmp #r { #t } else { #f })
            }
            Op::LnOrZero => {
                let x = self.borrowed(&args[0], witness);
                quote!(#p::ln_or_zero(#x))
            }
            Op::Sign => {
                let x = self.borrowed(&args[0], witness);
                quote!(#p::sign(#x))
            }
            Op::CastLike => {
                let (x, n) = (self.borrowed(&args[0], witness), &a[1]);
                quote!(#p::cast_like(#x, #n))
            }
            Op::ReduceTo | Op::Tensor(_) | Op::Rule(_) => self.runtime_op(op, args, witness),
        }
    }

    /// Tensor methods, tensor derivative rules and unbroadcasts: calls of the runtime with
    /// borrowed operands, whatever the operands' types.
    fn runtime_op(&self, op: Op, args: &[Operand], witness: Option<&Operand>) -> TokenStream {
        let p = private();
        let b: Vec<TokenStream> = args.iter().map(|x| self.borrowed(x, witness)).collect();
        let a0 = self.operand(&args[0], witness);
        match op {
            Op::ReduceTo => {
                let (x, g) = (&b[0], &b[1]);
                match args[1].var().filter(|&v| self.consumable(v)) {
                    // A cotangent read only here is moved: no copy when shapes match.
                    Some(v) => {
                        let g = &self.names[v];
                        quote!(#p::reduce_owned(#x, #g))
                    }
                    None => quote!(#p::reduce_to(#x, #g)),
                }
            }
            // A tensor operand is borrowed; a passive one (an axis, `usize`) is passed by value,
            // a variable (`x.sum_axis(axis)`) as well as a literal.
            Op::Tensor(t) => {
                let m = Ident::new(t.method(), Span::call_site());
                let rest = args[1..].iter().map(|x| match x {
                    Operand::Var(v) if self.f.vars[*v].tensor => self.borrowed(x, witness),
                    other => self.operand(other, witness),
                });
                quote!(#a0.#m(#(#rest),*))
            }
            // The helpers take tensors and the cotangent (last, a tensor or a scalar) by
            // reference, and an axis by value.
            Op::Rule(r) => {
                let f = Ident::new(r.name, Span::call_site());
                let last = args.len().saturating_sub(1);
                let all = args.iter().enumerate().map(|(i, x)| match x {
                    Operand::Const { .. } => self.operand(x, witness),
                    Operand::Var(v) if i < last && !self.f.vars[*v].tensor => {
                        self.operand(x, witness)
                    }
                    _ => self.borrowed(x, witness),
                });
                quote!(#p::tensor_rules::#f(#(#all),*))
            }
            // `op` and `tensor_op` send only the three operations above here.
            other => {
                let message = format!("autodiff internal error: {other:?} is not a runtime call");
                quote!(::core::compile_error!(#message))
            }
        }
    }

    /// An operation with a tensor operand: operands are borrowed (tensors are not `Copy`),
    /// arithmetic goes through the runtime's broadcasting helpers, and constants take the
    /// tensor's element type.
    fn tensor_op(
        &self,
        op: Op,
        args: &[Operand],
        witness: Option<&Operand>,
    ) -> Option<TokenStream> {
        let p = private();
        let b: Vec<TokenStream> = args.iter().map(|x| self.borrowed(x, witness)).collect();
        Some(match op {
            Op::Id | Op::Stop => {
                let x = &b[0];
                quote!(::core::clone::Clone::clone(#x))
            }
            Op::Neg => {
                let x = &b[0];
                quote!(#p::neg(#x))
            }
            Op::Add | Op::Sub | Op::Mul | Op::Div => {
                let f = Ident::new(
                    match op {
                        Op::Add => "add",
                        Op::Sub => "sub",
                        Op::Mul => "mul",
                        _ => "div",
                    },
                    Span::call_site(),
                );
                let (l, r) = (&b[0], &b[1]);
                // A temporary tensor read only here is consumed: its buffer holds the result.
                let both_tensors = args
                    .iter()
                    .all(|a| a.var().is_some_and(|v| self.f.vars[v].tensor));
                if let Some(v) = args[0]
                    .var()
                    .filter(|&v| both_tensors && self.consumable(v))
                {
                    let name = &self.names[v];
                    let operator = match op {
                        Op::Add => quote!(+),
                        Op::Sub => quote!(-),
                        Op::Mul => quote!(*),
                        _ => quote!(/),
                    };
                    return Some(quote!(#name #operator #r));
                }
                quote!(#p::#f(#l, #r))
            }
            Op::ReduceTo | Op::Tensor(_) | Op::Rule(_) => self.runtime_op(op, args, witness),
            Op::Sign | Op::LnOrZero | Op::CastLike | Op::Unary(_) | Op::Powi => return None,
            Op::Binary(_) | Op::MulAdd | Op::Select(_) => return None,
        })
    }

    /// A tensor the macro made (not a user's binding, not a location) that is read once.
    fn consumable(&self, v: VarId) -> bool {
        let var = &self.f.vars[v];
        self.uses[v] == 1
            && !var.mutable
            && !var.reference
            && matches!(var.origin, Origin::Temp | Origin::Derivative)
    }

    /// `&x`, or `x` where it already is a reference; a constant as a reference to a value of
    /// the witness's element type.
    fn borrowed(&self, o: &Operand, witness: Option<&Operand>) -> TokenStream {
        let p = private();
        match o {
            Operand::Var(v) if self.f.vars[*v].reference => self.names[*v].to_token_stream(),
            Operand::Var(v) => {
                let name = &self.names[*v];
                quote!(&#name)
            }
            Operand::Lit(c) => {
                let lit = Literal::f64_unsuffixed(c.abs());
                let lit = if c.is_sign_negative() {
                    quote!((-#lit))
                } else {
                    quote!(#lit)
                };
                match witness {
                    Some(w) => {
                        let w = self.borrowed(w, None);
                        quote!(&#p::lit_like(#w, #lit))
                    }
                    None => quote!(&#lit),
                }
            }
            Operand::Const { .. } => {
                let c = self.operand(o, witness);
                quote!(&#c)
            }
        }
    }

    /// An operand; a rule constant takes its float type from `witness`.
    pub fn operand(&self, o: &Operand, witness: Option<&Operand>) -> TokenStream {
        match o {
            Operand::Var(v) => self.names[*v].to_token_stream(),
            Operand::Const { tokens, .. } => {
                let tokens = self.resolve_placeholders(tokens.clone());
                if tokens.clone().into_iter().count() > 1 {
                    quote!((#tokens))
                } else {
                    tokens
                }
            }
            Operand::Lit(c) => self.constant(*c, witness),
        }
    }

    /// A rule constant: a literal where rustc can infer its type, else converted to the
    /// witness's type at run time (free after inlining).
    pub fn constant(&self, c: f64, witness: Option<&Operand>) -> TokenStream {
        let lit = Literal::f64_unsuffixed(c.abs());
        let lit = if c.is_sign_negative() {
            quote!((-#lit))
        } else {
            quote!(#lit)
        };
        match witness {
            Some(w) if !self.concrete => {
                let w = self.operand(w, None);
                let p = private();
                quote!(#p::lit_like(&#w, #lit))
            }
            _ => lit,
        }
    }

    fn resolve_placeholders(&self, tokens: TokenStream) -> TokenStream {
        tokens
            .into_iter()
            .map(|tree| match tree {
                TokenTree::Ident(ident) => match placeholder_var(&ident) {
                    Some(v) => {
                        let mut name = self.names[v].clone();
                        if self.hygienic[v] {
                            // Hygienic like its binding, but errors point at the user's token.
                            name.set_span(Span::mixed_site().located_at(ident.span()));
                        }
                        TokenTree::Ident(name)
                    }
                    None => TokenTree::Ident(ident),
                },
                TokenTree::Group(g) => {
                    let mut group =
                        Group::new(g.delimiter(), self.resolve_placeholders(g.stream()));
                    group.set_span(g.span());
                    TokenTree::Group(group)
                }
                other => other,
            })
            .collect()
    }
}

/// Which block (numbered in visiting order, 0 the body) defines and reads each variable.
struct Blocks {
    defined_in: Vec<usize>,
    used_in: Vec<usize>,
    next: usize,
}

impl Blocks {
    fn visit(&mut self, block: &[Stmt], uses: &mut [usize]) {
        let id = self.next;
        self.next += 1;
        for stmt in block {
            for r in stmt.reads() {
                uses[r] += 1;
                self.used_in[r] = id;
            }
            if let Some(d) = stmt.dst() {
                self.defined_in[d] = id;
            }
            for inner in stmt.blocks() {
                self.visit(inner, uses);
            }
        }
    }
}

/// The derivative arrays (adjoint accumulators, tangents) that generated code reaches through
/// a slice of the same length as their witness: `let adj_x = &mut adj_x_owner[..x.len()];`.
/// The view's length is the witness's own length, so the optimizer sees that an index checked
/// against `x` is in bounds of `adj_x` too and drops the second bounds check (GMM's gradient
/// ran 7% faster). Only arrays that are declared as zeros once and then only indexed, added
/// into or read by the macro's own runtime helpers qualify: a whole-array move, assignment or
/// push needs the `Vec`.
fn viewed(f: &Function) -> HashSet<VarId> {
    // Declared at the top level, so the owner is in scope where the function returns it.
    let declared: Vec<VarId> = f
        .body
        .iter()
        .filter_map(|s| match s {
            Stmt::Let {
                dst: Some(d),
                rhs: Rhs::Zero(Operand::Var(w)),
                ..
            } => Some((*d, &f.vars[*d], &f.vars[*w])),
            _ => None,
        })
        .filter(|(_, var, witness)| {
            var.origin == Origin::Derivative
                && var.shape.first() == Some(&Level::Dynamic)
                && witness.shape.first() == Some(&Level::Dynamic)
                && !var.tensor
                && !witness.tensor
        })
        .map(|(d, ..)| d)
        .collect();
    let mut definitions = HashMap::<VarId, usize>::new();
    let mut whole = HashSet::new();
    crate::ir::walk(&f.body, &mut |s| match s {
        Stmt::Let { dst, rhs, .. } => {
            if let Some(d) = dst {
                *definitions.entry(*d).or_default() += 1;
            }
            let by_value: Vec<&Operand> = match rhs {
                Rhs::Op(_, args) | Rhs::ArrayLit(args) => args.iter().collect(),
                Rhs::Call(c) => c.args.iter().map(|a| &a.value).collect(),
                Rhs::CallForward(c, tangents) => c
                    .args
                    .iter()
                    .map(|a| &a.value)
                    .chain(tangents.iter().flatten())
                    .collect(),
                Rhs::CallReverse(c, seed, _) => {
                    c.args.iter().map(|a| &a.value).chain([seed]).collect()
                }
                _ => Vec::new(),
            };
            whole.extend(by_value.into_iter().filter_map(Operand::var));
            if let Rhs::Field(v, _) = rhs {
                whole.insert(*v);
            }
        }
        Stmt::Assign { dst, value, .. } => {
            whole.insert(*dst);
            whole.extend(value.var());
        }
        Stmt::Push { value, .. } => whole.extend(value.var()),
        _ => {}
    });
    declared
        .into_iter()
        .filter(|v| definitions.get(v) == Some(&1) && !whole.contains(v))
        .collect()
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
