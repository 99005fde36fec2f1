//! The generated functions' signatures and bodies around the emitted statements: the user's
//! function as written, then `f_grad`, `f_vjp` and `f_jvp` with the same visibility,
//! generics and where clause.
use crate::args::{Config, Unconnected};
use crate::check::{is_scalar_path, Spec};
use crate::derive::Derived;
use crate::emit::{private, tuple_or_single, Emitter};
use crate::ir::Operand;
use crate::lower::Lowered;
use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::{FnArg, ItemFn, Pat, ReturnType, Type};

/// What every generated function shares.
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
}

pub fn functions(
    item: &ItemFn,
    config: &Config,
    lowered: &Lowered,
    spec: &Spec,
    grad: &Derived,
    vjp: &Derived,
    jvp: &Derived,
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
    };
    let grad = shared.grad_fn(grad);
    let vjp = shared.vjp_fn(vjp);
    let jvp = shared.jvp_fn(jvp);
    quote! {
        #item
        #grad
        #vjp
        #jvp
    }
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
    quote!(#[allow(dead_code, unused_variables, unused_mut, unused_assignments, unused_parens, unused_braces, clippy::all)])
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
        let generics = &self.item.sig.generics;
        let primal = if generics.lifetimes().next().is_none() {
            let name = &self.item.sig.ident;
            let (_, ty_generics, _) = generics.split_for_impl();
            let turbofish = ty_generics.as_turbofish();
            quote!(let _ = #name #turbofish;)
        } else {
            TokenStream::new()
        };
        quote!(#primal #(#items)*)
    }

    fn values(&self, e: &Emitter, d: &Derived) -> TokenStream {
        let values = d.values.iter().map(|v| e.operand(v, None)).collect();
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
                    Some(g) => e.operand(g, Some(&witness)),
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
        let seed = Ident::new("seed", Span::mixed_site());
        let ret = &self.ret;
        let (destructure, seed_name) = if d.extras.len() == 1 {
            (TokenStream::new(), e.name(d.extras[0]).clone())
        } else {
            let names = d.extras.iter().map(|&v| e.name(v));
            (quote!(let (#(#names,)*) = #seed;), seed)
        };
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
        let params = self.spec.wrt.iter().filter_map(|w| w.param);
        let extra: Vec<TokenStream> = params
            .zip(&d.extras)
            .map(|(i, &t)| {
                let name = e.name(t);
                let ty = &self.lowered.params[i].ty;
                quote!(#name: #ty)
            })
            .collect();
        let ret = &self.ret;
        let header = self.header(&self.name("jvp"), doc, &extra, quote!((#ret, #ret)));
        let p = private();
        let tangents = d
            .values
            .iter()
            .zip(&d.derivatives)
            .zip(&self.scalar_outputs)
            .map(|((value, t), &scalar)| match t {
                Some(t) => e.operand(t, Some(value)),
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
        let tangents = tuple_or_single(tangents, self.lowered.tuple_outputs.is_some());
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
