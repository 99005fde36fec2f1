//! The generated functions' signatures and bodies around the emitted statements: the user's
//! function as written, then `f_grad`, `f_vjp` and `f_jvp` with the same visibility,
//! generics and where clause, and the calling convention (`convention.rs`). Where two of
//! them compute the same thing, one holds the body and the other calls it (`share.rs`);
//! `stand_ins.rs` writes the fallback's signatures-only versions.
use crate::args::{Config, Unconnected};
use crate::derive::Derived;
use crate::emit::{private, tuple_or_single, Emitter};
use crate::ir::Operand;
use crate::lower::Lowered;
use crate::spec::Spec;
use crate::types::{is_scalar_path, tangent_kind, TangentKind};
use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::{FnArg, ItemFn, Pat, ReturnType, Type};

mod convention;
mod share;
mod stand_ins;

pub use convention::{tangent_where_clause, Convention};
pub use share::{plan, Plan};
pub use stand_ins::stand_ins;

/// What every generated function shares.
#[derive(Clone)]
struct Shared<'a> {
    item: &'a ItemFn,
    config: &'a Config,
    lowered: &'a Lowered,
    spec: &'a Spec,
    /// `#[allow]`, `#[cfg]`, ... copied from the user's function.
    attrs: Vec<&'a syn::Attribute>,
    /// `x: f64, y: f64` with `mut` removed: the generated code never mutates.
    inputs: Vec<TokenStream>,
    ret: TokenStream,
    /// Each output is a scalar float (`f64`, `T`): zeros can be literals.
    scalar_outputs: Vec<bool>,
    /// The derivatives are siblings in an `impl` block (see [`siblings`]).
    siblings: bool,
    /// Which functions hold a body and which call another (see [`share`]).
    plan: Plan,
    /// Per `wrt` entry: some path connects it to an output (its gradient is not always zero).
    connected: Vec<bool>,
}

/// The derived functions that have a body of their own; `None` where [`Plan`] has the
/// function call another instead (so its derivative is never computed).
pub struct Bodies<'a> {
    pub grad: Option<&'a Derived>,
    pub vjp: Option<&'a Derived>,
    pub jvp: Option<&'a Derived>,
}

/// How a generated function's header is written.
#[derive(Clone, Copy, PartialEq)]
enum Role {
    /// A body of its own, called by no other generated function.
    Own,
    /// A hidden body the generated functions call: `#[inline(always)]` (instead of the user's
    /// inline attribute), so each caller compiles to the code it had with a body of its own,
    /// and a constant it passes (`f_grad`'s seed of ones) folds. Plain `#[inline]` is not
    /// enough: LLVM keeps a body with a loop out of line (BENCHMARKS.md §5).
    Shared,
    /// A call of the shared body: only the lints a call can trip are allowed.
    Caller,
}

pub fn functions(
    item: &ItemFn,
    config: &Config,
    lowered: &Lowered,
    spec: &Spec,
    bodies: Bodies,
    convention: Convention,
    plan: Plan,
) -> TokenStream {
    let scalar_outputs = match &item.sig.output {
        ReturnType::Type(_, ty) => match &**ty {
            Type::Tuple(t) => t.elems.iter().map(is_scalar_path).collect(),
            ty => vec![is_scalar_path(ty)],
        },
        ReturnType::Default => Vec::new(),
    };
    let connected = share::connected(spec, &bodies, &convention);
    let shared = Shared {
        scalar_outputs,
        plan,
        connected,
        ..Shared::new(item, config, lowered, spec)
    };
    let grad = match bodies.grad {
        Some(d) => shared.grad_fn(d),
        None => shared.grad_caller(),
    };
    let vjp = match bodies.vjp {
        Some(d) => shared.vjp_fn(d),
        None => shared.vjp_caller(),
    };
    let jvp = match bodies.jvp {
        Some(d) => shared.jvp_fn(d),
        None => shared.jvp_caller(),
    };
    let convention = if config.no_convention {
        TokenStream::new()
    } else {
        convention.functions(&shared)
    };
    // A function used only through its derivatives is not dead code.
    quote! {
        #[allow(dead_code)]
        #item
        #grad
        #vjp
        #jvp
        #convention
    }
}

/// Whether the derivatives are siblings in an `impl` block (`f__reverse_derivative`) rather
/// than associated functions of a hidden type named like `f`: for a method, for a function
/// marked `associated`, and for one that names `Self` (only an `impl` block has it).
fn siblings(item: &ItemFn, config: &Config) -> bool {
    fn names_self(tokens: TokenStream) -> bool {
        tokens.into_iter().any(|t| match t {
            proc_macro2::TokenTree::Ident(i) => i == "Self",
            proc_macro2::TokenTree::Group(g) => names_self(g.stream()),
            _ => false,
        })
    }
    // Items declared inside the body (a local `impl`) have their own `Self`.
    let mut body = item
        .block
        .stmts
        .iter()
        .filter(|s| !matches!(s, syn::Stmt::Item(_)));
    matches!(item.sig.inputs.first(), Some(FnArg::Receiver(_)))
        || config.associated
        || names_self(item.sig.to_token_stream())
        || body.any(|s| names_self(s.to_token_stream()))
}

/// Attributes that mean the same on a generated sibling.
fn is_copied_attr(attr: &syn::Attribute) -> bool {
    [
        "allow", "warn", "deny", "expect", "cfg", "cfg_attr", "inline",
    ]
    .iter()
    .any(|name| attr.path().is_ident(name))
}

fn inputs(item: &ItemFn) -> Vec<TokenStream> {
    item.sig
        .inputs
        .iter()
        .map(|arg| match arg {
            FnArg::Typed(pt) => match &*pt.pat {
                Pat::Ident(pi) => {
                    let (ident, ty) = (&pi.ident, &pt.ty);
                    quote!(#ident: #ty)
                }
                other => {
                    let ty = &pt.ty;
                    quote!(#other: #ty)
                }
            },
            FnArg::Receiver(r) => r.to_token_stream(),
        })
        .collect()
}

/// Lints that generated code may trip without it being the user's concern.
fn allows() -> TokenStream {
    quote!(#[allow(dead_code, non_snake_case, unused_variables, unused_mut, unused_assignments, unused_parens, unused_braces, clippy::all)])
}

impl<'a> Shared<'a> {
    /// What the expansion and the fallback's stand-ins both know of the function (no
    /// outputs' kinds, plan or connections yet).
    fn new(item: &'a ItemFn, config: &'a Config, lowered: &'a Lowered, spec: &'a Spec) -> Self {
        let ret = match &item.sig.output {
            ReturnType::Type(_, ty) => ty.to_token_stream(),
            ReturnType::Default => quote!(()),
        };
        Shared {
            item,
            config,
            lowered,
            spec,
            attrs: item.attrs.iter().filter(|a| is_copied_attr(a)).collect(),
            inputs: inputs(item),
            ret,
            scalar_outputs: Vec::new(),
            siblings: siblings(item, config),
            plan: Plan::default(),
            connected: Vec::new(),
        }
    }
}

impl Shared<'_> {
    fn name(&self, suffix: &str) -> Ident {
        format_ident!(
            "{}_{}",
            self.item.sig.ident,
            suffix,
            span = self.item.sig.ident.span()
        )
    }

    fn header(
        &self,
        name: &Ident,
        doc: String,
        extra: &[TokenStream],
        ret: TokenStream,
        role: Role,
    ) -> TokenStream {
        let vis = &self.item.vis;
        let where_clause = &self.item.sig.generics.where_clause;
        let params = &self.item.sig.generics.params;
        let inputs = self.inputs.iter().chain(extra);
        let attrs = self.attributes(role);
        quote! {
            #[doc = #doc]
            #attrs
            #vis fn #name<#params>(#(#inputs),*) -> #ret #where_clause
        }
    }

    /// The user's copied attributes and the allowed lints, for a function of `role`.
    fn attributes(&self, role: Role) -> TokenStream {
        let attrs = &self.attrs;
        match role {
            Role::Own => {
                let allows = allows();
                quote!(#(#attrs)* #allows)
            }
            Role::Shared => {
                let attrs = attrs.iter().filter(|a| !a.path().is_ident("inline"));
                let allows = allows();
                quote!(#(#attrs)* #allows #[inline(always)])
            }
            Role::Caller => quote! {
                #(#attrs)*
                #[allow(dead_code, non_snake_case, clippy::all)]
            },
        }
    }

    fn emitter<'a>(&self, d: &'a Derived) -> Emitter<'a> {
        let idents: Vec<Ident> = self
            .lowered
            .params
            .iter()
            .map(|p| p.ident.clone())
            .collect();
        Emitter::new(&d.f, &idents, !self.lowered.generic)
            .float_type(
                float_type(&self.item.sig.generics)
                    .or_else(|| impl_float_type(&self.item.sig, self.lowered.generic)),
            )
            .returning(d.derivatives.iter().flatten())
    }

    /// Items declared in the body, and a use of the user's function: its derivatives count
    /// as a use, so a function called only through `f_grad` raises no dead-code warning.
    fn items(&self) -> TokenStream {
        let items = &self.lowered.items;
        quote!(#(#items)*)
    }

    fn values(&self, e: &Emitter, d: &Derived) -> TokenStream {
        let values = d.values.iter().map(|v| e.output(v, None)).collect();
        tuple_or_single(values, self.lowered.tuple_outputs.is_some())
    }

    /// The gradient types: one per `wrt` entry, a tuple unless `wrt = x`.
    fn grad_ty(&self) -> TokenStream {
        let tys = self
            .spec
            .wrt
            .iter()
            .map(|w| {
                let ty = &w.grad_ty;
                match self.config.unconnected {
                    Unconnected::Zero => quote!(#ty),
                    Unconnected::None => quote!(::core::option::Option<#ty>),
                }
            })
            .collect();
        tuple_or_single(tys, !self.spec.bare)
    }

    /// The gradients; an unconnected entry is a zero of its type, or `None`.
    fn grads(&self, e: &Emitter, d: &Derived) -> TokenStream {
        let concrete = !self.lowered.generic;
        let grads = self
            .spec
            .wrt
            .iter()
            .zip(&d.derivatives)
            .map(|(w, g)| {
                let witness = Operand::Var(w.var);
                let value = match g {
                    Some(g) => e.output(g, Some(&witness)),
                    None if self.config.unconnected == Unconnected::None => {
                        return quote!(::core::option::Option::None)
                    }
                    None if w.scalar && concrete => e.constant(0.0, None),
                    None => e.zero_of(w.var),
                };
                match self.config.unconnected {
                    Unconnected::Zero => value,
                    Unconnected::None => quote!(::core::option::Option::Some(#value)),
                }
            })
            .collect();
        tuple_or_single(grads, !self.spec.bare)
    }

    /// Under `unconnected = zero` (not written out), a `wrt` entry that no path connects to
    /// an output is a deprecation-style warning at its name: its gradient is always zero,
    /// which is rarely what the user meant. Writing `unconnected = zero` silences it.
    fn unconnected_warnings(&self) -> TokenStream {
        if self.config.unconnected_explicit {
            return TokenStream::new();
        }
        self.spec
            .wrt
            .iter()
            .zip(&self.connected)
            .filter(|(_, connected)| !**connected)
            .map(|(w, _)| {
                let note = format!(
                    "`{}` is not connected to the output of `{}`: its gradient is always zero. Write `unconnected = zero` to accept that, or `unconnected = none` for `Option` gradients",
                    w.ident, self.item.sig.ident
                );
                let marker = format_ident!("unconnected_{}", w.ident, span = Span::mixed_site());
                let use_site = format_ident!("unconnected_{}", w.ident, span = w.ident.span());
                quote_spanned! {w.ident.span()=>
                    {
                        #[deprecated(note = #note)]
                        #[allow(non_camel_case_types)]
                        struct #marker;
                        let _ = #use_site;
                    }
                }
            })
            .collect()
    }

    /// The tangent of each output; zero where none reaches it.
    fn output_tangents(&self, e: &Emitter, d: &Derived) -> TokenStream {
        let p = private();
        let tangents = d
            .values
            .iter()
            .zip(&d.derivatives)
            .zip(&self.scalar_outputs)
            .map(|((value, t), &scalar)| match t {
                Some(t) => e.output(t, Some(value)),
                None if scalar && !self.lowered.generic => e.constant(0.0, None),
                None => match value.var() {
                    Some(v) => e.zero_of(v),
                    None => {
                        let value = e.operand(value, None);
                        quote!(#p::ZeroLike::zero_like(&#value))
                    }
                },
            })
            .collect();
        tuple_or_single(tangents, self.lowered.tuple_outputs.is_some())
    }

    fn names_list(&self) -> String {
        self.spec
            .wrt
            .iter()
            .map(|w| format!("`{}`", w.ident))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn grad_doc(&self) -> String {
        format!(
            " Value and gradient of [`{}`] with respect to {}: the gradient of the sum of its outputs (TensorFlow's `tf.gradients` with `grad_ys` = ones). Generated by `#[differentiate]`.",
            self.item.sig.ident,
            self.names_list()
        )
    }

    fn vjp_doc(&self) -> String {
        format!(
            " Value of [`{}`] and its vector-Jacobian product with `seed` (one cotangent per output, TensorFlow's `grad_ys`), with respect to {}. Generated by `#[differentiate]`.",
            self.item.sig.ident,
            self.names_list()
        )
    }

    fn jvp_doc(&self) -> String {
        format!(
            " Value of [`{}`] and its directional derivative (Jacobian-vector product) along one tangent per differentiated parameter. Generated by `#[differentiate]`.",
            self.item.sig.ident,
        )
    }

    fn grad_fn(&self, d: &Derived) -> TokenStream {
        let (ret, grad_ty) = (&self.ret, self.grad_ty());
        let header = self.header(
            &self.name("grad"),
            self.grad_doc(),
            &[],
            quote!((#ret, #grad_ty)),
            Role::Own,
        );
        let e = self.emitter(d);
        let (items, body, values, grads) = (
            self.items(),
            e.body(),
            self.values(&e, d),
            self.grads(&e, d),
        );
        let warnings = self.unconnected_warnings();
        quote! {
            #header {
                #warnings
                #items
                #body
                (#values, #grads)
            }
        }
    }

    /// `f_vjp` with a body of its own. When `f_grad` calls it ([`Plan::grad_calls`]), the
    /// body is a hidden sibling `f__vjp_body` that both call.
    fn vjp_fn(&self, d: &Derived) -> TokenStream {
        let e = self.emitter(d);
        let ret = &self.ret;
        let (destructure, seed_name) = seed_parameter(&e, d);
        let grad_ty = self.grad_ty();
        let (items, body, values, grads) = (
            self.items(),
            e.body(),
            self.values(&e, d),
            self.grads(&e, d),
        );
        let body = quote! {{
            #destructure
            #items
            #body
            (#values, #grads)
        }};
        let seed = [quote!(#seed_name: #ret)];
        let ret_ty = quote!((#ret, #grad_ty));
        if !self.plan.grad_calls {
            let header = self.header(&self.name("vjp"), self.vjp_doc(), &seed, ret_ty, Role::Own);
            return quote!(#header #body);
        }
        let shared = self.vjp_body_name();
        let header = self.hidden_header(&shared, &seed, ret_ty.clone(), false, Role::Shared);
        let seed = self.fresh("seed", &mut Vec::new());
        let caller = self.header(
            &self.name("vjp"),
            self.vjp_doc(),
            &[quote!(#seed: #ret)],
            ret_ty,
            Role::Caller,
        );
        let call = self.call(self.sibling_path(&shared), [seed.to_token_stream()]);
        quote! {
            #header #body
            #caller { #call }
        }
    }

    fn jvp_fn(&self, d: &Derived) -> TokenStream {
        let e = self.emitter(d);
        let extra: Vec<TokenStream> = self
            .jvp_tangent_types()
            .into_iter()
            .zip(&d.extras)
            .map(|(ty, &t)| {
                let name = e.name(t);
                quote!(#name: #ty)
            })
            .collect();
        let ret = &self.ret;
        let header = self.header(
            &self.name("jvp"),
            self.jvp_doc(),
            &extra,
            quote!((#ret, #ret)),
            Role::Own,
        );
        let tangents = self.output_tangents(&e, d);
        let (items, body, values) = (self.items(), e.body(), self.values(&e, d));
        quote! {
            #header {
                #items
                #body
                (#values, #tangents)
            }
        }
    }
}

/// The seed parameter of a VJP: `seed: R`, destructured into one seed per output when `R` is
/// a tuple.
fn seed_parameter(e: &Emitter, d: &Derived) -> (TokenStream, Ident) {
    if d.extras.len() == 1 {
        return (TokenStream::new(), e.name(d.extras[0]).clone());
    }
    let seed = Ident::new("seed", Span::mixed_site());
    let names = d.extras.iter().map(|&v| e.name(v));
    (quote!(let (#(#names,)*) = #seed;), seed)
}

/// In a method of a generic `impl<T: Float> Model<T>` (the parameter is the impl's, not the
/// function's), the float type its signature names: a bare type name that is not `f32` or
/// `f64` as the output (`-> T`) or, failing that, as a parameter (`x: T`).
fn impl_float_type(sig: &syn::Signature, generic: bool) -> Option<Ident> {
    let bare = |ty: &syn::Type| match ty {
        syn::Type::Path(p) if p.qself.is_none() => p
            .path
            .get_ident()
            .filter(|i| *i != "f32" && *i != "f64" && *i != "Self")
            .cloned(),
        _ => None,
    };
    if !generic {
        return None;
    }
    let output = match &sig.output {
        syn::ReturnType::Type(_, ty) => bare(ty),
        syn::ReturnType::Default => None,
    };
    output.or_else(|| {
        sig.inputs.iter().find_map(|a| match a {
            syn::FnArg::Typed(pt) => bare(&pt.ty),
            syn::FnArg::Receiver(_) => None,
        })
    })
}

/// The one type parameter bounded by `Float` (`<T: Float>`, or in a `where` clause), if
/// there is exactly one.
fn float_type(generics: &syn::Generics) -> Option<Ident> {
    let is_float = |b: &syn::TypeParamBound| {
        matches!(b, syn::TypeParamBound::Trait(t)
            if t.path.segments.last().is_some_and(|s| s.ident == "Float"))
    };
    let mut found: Vec<Ident> = generics
        .type_params()
        .filter(|t| t.bounds.iter().any(is_float))
        .map(|t| t.ident.clone())
        .collect();
    if let Some(w) = &generics.where_clause {
        for p in &w.predicates {
            if let syn::WherePredicate::Type(t) = p {
                if let syn::Type::Path(path) = &t.bounded_ty {
                    if let Some(id) = path.path.get_ident() {
                        if t.bounds.iter().any(is_float) && !found.contains(id) {
                            found.push(id.clone());
                        }
                    }
                }
            }
        }
    }
    match found.len() {
        1 => found.pop(),
        _ => None,
    }
}
