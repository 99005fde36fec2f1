//! The last pass: IR -> Rust tokens. Variables get readable, unique names; every name the
//! macro invents is hygienic (`Span::mixed_site()`), so it can never collide with a user's
//! `grad`, `seed` or `v3`. Parameters keep the user's own identifiers.
use crate::ir::{Cmp, Function, Op, Operand, Origin, Rhs, Stmt, VarId};
use crate::lower::placeholder_var;
use proc_macro2::{Group, Ident, Literal, Span, TokenStream, TokenTree};
use quote::{format_ident, quote, ToTokens};
use std::collections::{HashMap, HashSet};

/// Turns one derived function into statements.
pub struct Emitter<'a> {
    f: &'a Function,
    names: Vec<Ident>,
    /// The name was invented by the macro (`Span::mixed_site()`).
    hygienic: Vec<bool>,
    /// Float types are concrete (`f32`/`f64`, no type parameters): rule constants can be
    /// plain literals, which rustc types from the other operand.
    concrete: bool,
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
        let mut temps = 0;
        for dst in f.body.iter().filter_map(|s| s.dst) {
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
        let names = names
            .into_iter()
            .enumerate()
            .map(|(v, n)| {
                n.unwrap_or_else(|| {
                    format_ident!("__autodiff_unbound_{}", v, span = Span::mixed_site())
                })
            })
            .collect();
        Emitter {
            f,
            names,
            hygienic,
            concrete,
        }
    }

    pub fn name(&self, v: VarId) -> &Ident {
        &self.names[v]
    }

    pub fn body(&self) -> TokenStream {
        self.f.body.iter().map(|s| self.stmt(s)).collect()
    }

    fn stmt(&self, stmt: &Stmt) -> TokenStream {
        let rhs = match &stmt.rhs {
            Rhs::Op(op, args) => self.op(*op, args),
            Rhs::Opaque(o) => self.resolve_placeholders(o.tokens.clone()),
        };
        match stmt.dst {
            Some(dst) => {
                let name = &self.names[dst];
                match &self.f.vars[dst].ty {
                    Some(ty) if self.f.vars[dst].origin == Origin::Local => {
                        quote!(let #name: #ty = #rhs;)
                    }
                    _ => quote!(let #name = #rhs;),
                }
            }
            None => quote!(#rhs;),
        }
    }

    /// The operation's tokens. A rule constant is typed by the first variable operand.
    fn op(&self, op: Op, args: &[Operand]) -> TokenStream {
        let witness = args.iter().find(|a| matches!(a, Operand::Var(_)));
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
                let x = &a[0];
                quote!(#p::ln_or_zero(#x))
            }
            Op::Sign => {
                let x = &a[0];
                quote!(#p::sign(#x))
            }
            Op::CastLike => {
                let (x, n) = (&a[0], &a[1]);
                quote!(#p::cast_like(&#x, #n))
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

/// `(a, b)` for several values, `a` for one.
pub fn tuple_or_single(items: Vec<TokenStream>, force_tuple: bool) -> TokenStream {
    if items.len() == 1 && !force_tuple {
        return items.into_iter().next().expect("one item");
    }
    quote!((#(#items,)*))
}
