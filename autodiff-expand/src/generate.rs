//! The generated functions' signatures and bodies around the emitted statements: the user's
//! function as written, then `f_grad`, `f_vjp` and `f_jvp` with the same visibility,
//! generics and where clause.
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
}

#[allow(clippy::too_many_arguments)]
pub fn functions(
    item: &ItemFn,
    config: &Config,
    lowered: &Lowered,
    spec: &Spec,
    grad: &Derived,
    vjp: &Derived,
    jvp: &Derived,
    convention: Convention,
) -> TokenStream {
    let ret = match &item.sig.output {
        ReturnType::Type(_, ty) => ty.to_token_stream(),
        ReturnType::Default => quote!(()),
    };
    let scalar_outputs = match &item.sig.output {
        ReturnType::Type(_, ty) => match &**ty {
            Type::Tuple(t) => t.elems.iter().map(is_scalar_path).collect(),
            ty => vec![is_scalar_path(ty)],
        },
        ReturnType::Default => Vec::new(),
    };
    let shared = Shared {
        item,
        config,
        lowered,
        spec,
        attrs: item.attrs.iter().filter(|a| is_copied_attr(a)).collect(),
        inputs: inputs(item),
        ret,
        scalar_outputs,
        siblings: siblings(item, config),
    };
    let grad = shared.grad_fn(grad);
    let vjp = shared.vjp_fn(vjp);
    let jvp = shared.jvp_fn(jvp);
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

/// The hidden calling-convention functions: derivatives with respect to every float
/// parameter, through which other differentiated functions call this one.
pub struct Convention<'a> {
    pub spec: &'a Spec,
    pub reverse: &'a Derived,
    pub forward: &'a Derived,
}

impl Convention<'_> {
    fn functions(&self, shared: &Shared) -> TokenStream {
        let shared = Shared {
            spec: self.spec,
            ..shared.clone()
        };
        let reverse = shared.reverse_convention(self.reverse);
        let forward = shared.forward_convention(self.forward);
        if shared.siblings {
            return quote!(#reverse #forward);
        }
        // A free function's convention lives on a hidden type of the same name (types and
        // functions have separate namespaces), so `use m::f;` imports it with `f`.
        let name = &shared.item.sig.ident;
        let vis = &shared.item.vis;
        quote! {
            #[doc(hidden)]
            #[allow(non_camel_case_types, dead_code)]
            #vis struct #name {}

            #[allow(non_camel_case_types, dead_code)]
            impl #name {
                #reverse
                #forward
            }
        }
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
    ) -> TokenStream {
        let vis = &self.item.vis;
        let attrs = &self.attrs;
        let (impl_generics, _, where_clause) = self.item.sig.generics.split_for_impl();
        let _ = impl_generics;
        let generics = &self.item.sig.generics;
        let params = &generics.params;
        let inputs = self.inputs.iter().chain(extra);
        let allows = allows();
        quote! {
            #[doc = #doc]
            #(#attrs)*
            #allows
            #vis fn #name<#params>(#(#inputs),*) -> #ret #where_clause
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
    fn unconnected_warnings(&self, d: &Derived) -> TokenStream {
        if self.config.unconnected_explicit {
            return TokenStream::new();
        }
        self.spec
            .wrt
            .iter()
            .zip(&d.derivatives)
            .filter(|(_, g)| g.is_none())
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

    fn grad_fn(&self, d: &Derived) -> TokenStream {
        let f = &self.item.sig.ident;
        let doc = format!(
            " Value and gradient of [`{f}`] with respect to {}: the gradient of the sum of its outputs (TensorFlow's `tf.gradients` with `grad_ys` = ones). Generated by `#[differentiate]`.",
            self.names_list()
        );
        let (ret, grad_ty) = (&self.ret, self.grad_ty());
        let header = self.header(&self.name("grad"), doc, &[], quote!((#ret, #grad_ty)));
        let e = self.emitter(d);
        let (items, body, values, grads) = (
            self.items(),
            e.body(),
            self.values(&e, d),
            self.grads(&e, d),
        );
        let warnings = self.unconnected_warnings(d);
        quote! {
            #header {
                #warnings
                #items
                #body
                (#values, #grads)
            }
        }
    }

    fn vjp_fn(&self, d: &Derived) -> TokenStream {
        let f = &self.item.sig.ident;
        let doc = format!(
            " Value of [`{f}`] and its vector-Jacobian product with `seed` (one cotangent per output, TensorFlow's `grad_ys`), with respect to {}. Generated by `#[differentiate]`.",
            self.names_list()
        );
        let e = self.emitter(d);
        let ret = &self.ret;
        let (destructure, seed_name) = seed_parameter(&e, d);
        let header = self.header(&self.name("vjp"), doc, &[quote!(#seed_name: #ret)], {
            let grad_ty = self.grad_ty();
            quote!((#ret, #grad_ty))
        });
        let (items, body, values, grads) = (
            self.items(),
            e.body(),
            self.values(&e, d),
            self.grads(&e, d),
        );
        quote! {
            #header {
                #destructure
                #items
                #body
                (#values, #grads)
            }
        }
    }

    fn jvp_fn(&self, d: &Derived) -> TokenStream {
        let f = &self.item.sig.ident;
        let doc = format!(
            " Value of [`{f}`] and its directional derivative (Jacobian-vector product) along one tangent per differentiated parameter. Generated by `#[differentiate]`.",
        );
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
        let header = self.header(&self.name("jvp"), doc, &extra, quote!((#ret, #ret)));
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

    /// `f__reverse_derivative(params.., seed: R) -> (R, (g_0, .., g_n))`: one gradient per
    /// parameter, `()` for those without one.
    fn reverse_convention(&self, d: &Derived) -> TokenStream {
        let e = self.emitter(d);
        let ret = &self.ret;
        let (destructure, seed_name) = seed_parameter(&e, d);
        let tys = self.reverse_convention_types();
        let mut grads = Vec::new();
        for (i, p) in self.lowered.params.iter().enumerate() {
            match self.spec.wrt.iter().position(|w| w.param == Some(i)) {
                Some(k) => {
                    let witness = Operand::Var(p.var);
                    grads.push(match &d.derivatives[k] {
                        Some(g) => e.output(g, Some(&witness)),
                        None => e.zero_of(p.var),
                    });
                }
                None => grads.push(quote!(())),
            }
        }
        let name = self.convention_name("reverse_derivative");
        let header = self.hidden_header(
            &name,
            &[quote!(#seed_name: #ret)],
            quote!((#ret, (#(#tys,)*))),
            false,
        );
        let (items, body, values) = (self.items(), e.body(), self.values(&e, d));
        quote! {
            #header {
                #destructure
                #items
                #body
                (#values, (#(#grads,)*))
            }
        }
    }

    /// `f__forward_derivative(params.., d_0, .., d_n) -> (R, R)`: one tangent per parameter,
    /// each the tangent's value or `NoTangent`.
    fn forward_convention(&self, d: &Derived) -> TokenStream {
        let e = self.emitter(d);
        let p = private();
        let mut extra = Vec::new();
        let mut bind = Vec::new();
        let mut tangents = d.extras.iter();
        let tangent_types = self.forward_convention_types();
        for ((i, param), (ty, kind)) in self.lowered.params.iter().enumerate().zip(tangent_types) {
            let arg = format_ident!("tangent_argument_{}", i, span = Span::mixed_site());
            extra.push(quote!(#arg: #ty));
            let Some(kind) = kind else {
                continue;
            };
            let t = e.name(
                *tangents
                    .next()
                    .expect("one tangent per differentiated parameter"),
            );
            let x = &param.ident;
            match kind {
                TangentKind::Scalar(_) => {
                    bind.push(quote!(let #t = #p::ScalarTangent::into_tangent(#arg);));
                }
                TangentKind::Slice(_) => {
                    bind.push(quote!(let #t = #p::SliceTangent::into_tangent(#arg, #x.len());));
                }
                TangentKind::Array(..) => {
                    bind.push(quote!(let #t = #p::ArrayTangent::into_tangent(#arg);));
                }
                TangentKind::Tensor(elem) => {
                    // The body reads the tangent through a reference, as a `&Tensor` parameter.
                    let holder = format_ident!("{}_holder", t, span = Span::mixed_site());
                    bind.push(quote!(let #holder = #p::TensorTangent::into_tangent(#arg, &#x);));
                    bind.push(quote!(let #t: &#p::Tensor<#elem> = &#holder;));
                }
            }
        }
        let ret = &self.ret;
        let name = self.convention_name("forward_derivative");
        let header = self.hidden_header(&name, &extra, quote!((#ret, #ret)), true);
        let tangents = self.output_tangents(&e, d);
        let (items, body, values) = (self.items(), e.body(), self.values(&e, d));
        quote! {
            #header {
                #(#bind)*
                #items
                #body
                (#values, #tangents)
            }
        }
    }

    /// The types of `f_jvp`'s tangent parameters: one per `wrt` entry that is a parameter,
    /// of that parameter's type. Shared with the fallback's stand-ins.
    fn jvp_tangent_types(&self) -> Vec<&Type> {
        self.spec
            .wrt
            .iter()
            .filter_map(|w| w.param)
            .map(|i| &self.lowered.params[i].ty)
            .collect()
    }

    /// The gradient types of `reverse_derivative`: one per parameter, `()` for those without
    /// a derivative. Shared with the fallback's stand-ins.
    fn reverse_convention_types(&self) -> Vec<TokenStream> {
        (0..self.lowered.params.len())
            .map(
                |i| match self.spec.wrt.iter().find(|w| w.param == Some(i)) {
                    Some(w) => w.grad_ty.clone(),
                    None => quote!(()),
                },
            )
            .collect()
    }

    /// The tangent parameter types of `forward_derivative`, one per parameter, with how the
    /// tangent is passed (`None`: the parameter has no derivative and takes anything,
    /// `NoTangent` in practice). Shared with the fallback's stand-ins.
    fn forward_convention_types(&self) -> Vec<(TokenStream, Option<TangentKind>)> {
        let p = private();
        self.lowered
            .params
            .iter()
            .enumerate()
            .map(|(i, param)| {
                let in_wrt = self.spec.wrt.iter().any(|w| w.param == Some(i));
                let kind = in_wrt.then(|| tangent_kind(&param.ty)).flatten();
                let ty = match &kind {
                    None => quote!(impl ::core::marker::Sized),
                    Some(TangentKind::Scalar(ty)) => quote!(impl #p::ScalarTangent<#ty>),
                    Some(TangentKind::Slice(elem)) => {
                        quote!(impl #p::SliceTangent<'autodiff_tangent, #elem>)
                    }
                    Some(TangentKind::Array(elem, len)) => {
                        quote!(impl #p::ArrayTangent<#elem, { #len }>)
                    }
                    Some(TangentKind::Tensor(elem)) => {
                        quote!(impl #p::TensorTangent<'autodiff_tangent, #elem>)
                    }
                };
                (ty, kind)
            })
            .collect()
    }

    /// `reverse_derivative` on the hidden type, or `f__reverse_derivative` beside a method.
    fn convention_name(&self, suffix: &str) -> Ident {
        let f = &self.item.sig.ident;
        match self.siblings {
            true => format_ident!("{}__{}", f, suffix, span = f.span()),
            false => format_ident!("{}", suffix, span = f.span()),
        }
    }

    fn hidden_header(
        &self,
        name: &Ident,
        extra: &[TokenStream],
        ret: TokenStream,
        tangent_lifetime: bool,
    ) -> TokenStream {
        let vis = match self.siblings {
            true => self.item.vis.to_token_stream(),
            false => quote!(pub),
        };
        let attrs = &self.attrs;
        let generics = &self.item.sig.generics;
        let own = &generics.params;
        // The lifetime of borrowed slice tangents.
        let params = match tangent_lifetime {
            true => quote!('autodiff_tangent, #own),
            false => quote!(#own),
        };
        let where_clause = tangent_where_clause(generics, tangent_lifetime);
        let inputs = self.inputs.iter().chain(extra);
        let allows = allows();
        quote! {
            #[doc(hidden)]
            #(#attrs)*
            #allows
            #vis fn #name<#params>(#(#inputs),*) -> #ret #where_clause
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

/// The function's where clause, plus `T: 'autodiff_tangent` for each type parameter when
/// slice tangents borrow for that lifetime.
pub fn tangent_where_clause(generics: &syn::Generics, tangent_lifetime: bool) -> TokenStream {
    let types: Vec<&Ident> = generics.type_params().map(|t| &t.ident).collect();
    let existing = generics.where_clause.as_ref().map(|w| {
        let predicates = &w.predicates;
        quote!(#predicates)
    });
    if !tangent_lifetime || types.is_empty() {
        return generics.where_clause.to_token_stream();
    }
    let trailing = generics
        .where_clause
        .as_ref()
        .is_some_and(|w| w.predicates.empty_or_trailing());
    let comma = existing.as_ref().filter(|_| !trailing).map(|_| quote!(,));
    quote!(where #(#types: 'autodiff_tangent,)* #existing #comma)
}

/// The stand-ins the fallback emits when the function cannot be differentiated: `f_grad`,
/// `f_vjp`, `f_jvp` and the calling convention with exactly the signatures the working
/// expansion has (the same [`Shared`] headers and type helpers build both), so callers of a
/// failed function type-check and the user sees only the one error. The bodies never
/// return a value: the crate does not compile anyway (the error is emitted beside them),
/// and a stand-in must not be able to compute a silent wrong derivative.
pub fn stand_ins(
    item: &ItemFn,
    config: &Config,
    lowered: &Lowered,
    spec: &Spec,
    convention_spec: &Spec,
) -> TokenStream {
    let ret = match &item.sig.output {
        ReturnType::Type(_, ty) => ty.to_token_stream(),
        ReturnType::Default => quote!(()),
    };
    let shared = Shared {
        item,
        config,
        lowered,
        spec,
        attrs: item.attrs.iter().filter(|a| is_copied_attr(a)).collect(),
        inputs: inputs(item),
        ret,
        scalar_outputs: Vec::new(),
        siblings: siblings(item, config),
    };
    let body =
        quote!({ ::core::unimplemented!("#[differentiate] reported an error for this function") });
    let ret = &shared.ret;
    let grad_ty = shared.grad_ty();
    let doc = String::from(" Not generated: `#[differentiate]` reported an error.");
    let grad = shared.header(
        &shared.name("grad"),
        doc.clone(),
        &[],
        quote!((#ret, #grad_ty)),
    );
    let vjp = shared.header(
        &shared.name("vjp"),
        doc.clone(),
        &[quote!(_: #ret)],
        quote!((#ret, #grad_ty)),
    );
    let tangents: Vec<TokenStream> = shared
        .jvp_tangent_types()
        .into_iter()
        .map(|ty| quote!(_: #ty))
        .collect();
    let jvp = shared.header(&shared.name("jvp"), doc, &tangents, quote!((#ret, #ret)));
    let convention = Shared {
        spec: convention_spec,
        ..shared.clone()
    };
    let tys = convention.reverse_convention_types();
    let reverse = convention.hidden_header(
        &convention.convention_name("reverse_derivative"),
        &[quote!(_: #ret)],
        quote!((#ret, (#(#tys,)*))),
        false,
    );
    let tangents: Vec<TokenStream> = convention
        .forward_convention_types()
        .into_iter()
        .map(|(ty, _)| quote!(_: #ty))
        .collect();
    let forward = convention.hidden_header(
        &convention.convention_name("forward_derivative"),
        &tangents,
        quote!((#ret, #ret)),
        true,
    );
    let functions = quote! {
        #grad #body
        #vjp #body
        #jvp #body
    };
    let conventions = quote! {
        #reverse #body
        #forward #body
    };
    if shared.siblings {
        return quote!(#functions #conventions);
    }
    let name = &item.sig.ident;
    let vis = &item.vis;
    quote! {
        #functions
        #[doc(hidden)]
        #[allow(non_camel_case_types, dead_code)]
        #vis struct #name {}

        #[allow(non_camel_case_types, dead_code)]
        impl #name {
            #conventions
        }
    }
}
