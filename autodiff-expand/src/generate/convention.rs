//! The calling convention: the hidden `reverse_derivative` and `forward_derivative` through
//! which other differentiated functions call this one, their parameter and gradient types
//! (shared with the fallback's stand-ins), and their headers.
use super::*;

/// The hidden calling-convention functions: derivatives with respect to every float
/// parameter, through which other differentiated functions call this one.
pub struct Convention<'a> {
    pub spec: &'a Spec,
    /// `None` when they are not emitted (`Config::no_convention`).
    pub reverse: Option<&'a Derived>,
    pub forward: Option<&'a Derived>,
}

impl Convention<'_> {
    pub(super) fn functions(&self, shared: &Shared) -> TokenStream {
        let shared = Shared {
            spec: self.spec,
            ..shared.clone()
        };
        let (Some(reverse), Some(forward)) = (self.reverse, self.forward) else {
            return TokenStream::new();
        };
        let reverse = shared.reverse_convention(reverse);
        let forward = shared.forward_convention(forward);
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

impl Shared<'_> {
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
        let ret_ty = quote!((#ret, (#(#tys,)*)));
        let seed = [quote!(#seed_name: #ret)];
        let (items, body, values) = (self.items(), e.body(), self.values(&e, d));
        let body = quote! {{
            #destructure
            #items
            #body
            (#values, (#(#grads,)*))
        }};
        if !self.plan.through_convention {
            let header = self.hidden_header(&name, &seed, ret_ty, false, Role::Own);
            return quote!(#header #body);
        }
        // The body is shared with `f_grad` and `f_vjp`; callers of the convention call it
        // through `reverse_derivative`, which is not inlined, as before.
        let shared = self.convention_name("reverse_body");
        let header = self.hidden_header(&shared, &seed, ret_ty.clone(), false, Role::Shared);
        let seed = Ident::new("seed", Span::mixed_site());
        let caller = self.hidden_header(&name, &[quote!(#seed: #ret)], ret_ty, false, Role::Caller);
        let call = self.call(
            self.convention_path("reverse_body"),
            [seed.to_token_stream()],
        );
        quote! {
            #header #body
            #caller { #call }
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
        let tangents = self.output_tangents(&e, d);
        let (items, body, values) = (self.items(), e.body(), self.values(&e, d));
        let body = quote! {{
            #(#bind)*
            #items
            #body
            (#values, #tangents)
        }};
        if !self.plan.through_convention {
            let header = self.hidden_header(&name, &extra, quote!((#ret, #ret)), true, Role::Own);
            return quote!(#header #body);
        }
        // Shared with `f_jvp`; `forward_derivative` passes its tangents on.
        let shared = self.convention_name("forward_body");
        let header = self.hidden_header(&shared, &extra, quote!((#ret, #ret)), true, Role::Shared);
        let caller = self.hidden_header(&name, &extra, quote!((#ret, #ret)), true, Role::Caller);
        let tangents = (0..self.lowered.params.len())
            .map(|i| format_ident!("tangent_argument_{}", i, span = Span::mixed_site()));
        let call = self.call(
            self.convention_path("forward_body"),
            tangents.map(|t| t.to_token_stream()),
        );
        quote! {
            #header #body
            #caller { #call }
        }
    }

    /// The types of `f_jvp`'s tangent parameters: one per `wrt` entry that is a parameter,
    /// of that parameter's type. Shared with the fallback's stand-ins.
    pub(super) fn jvp_tangent_types(&self) -> Vec<&Type> {
        self.spec
            .wrt
            .iter()
            .filter_map(|w| w.param)
            .map(|i| &self.lowered.params[i].ty)
            .collect()
    }

    /// The gradient types of `reverse_derivative`: one per parameter, `()` for those without
    /// a derivative. Shared with the fallback's stand-ins.
    pub(super) fn reverse_convention_types(&self) -> Vec<TokenStream> {
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
    pub(super) fn forward_convention_types(&self) -> Vec<(TokenStream, Option<TangentKind>)> {
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
    pub(super) fn convention_name(&self, suffix: &str) -> Ident {
        let f = &self.item.sig.ident;
        match self.siblings {
            true => format_ident!("{}__{}", f, suffix, span = f.span()),
            false => format_ident!("{}", suffix, span = f.span()),
        }
    }

    pub(super) fn hidden_header(
        &self,
        name: &Ident,
        extra: &[TokenStream],
        ret: TokenStream,
        tangent_lifetime: bool,
        role: Role,
    ) -> TokenStream {
        let vis = match (role, self.siblings) {
            // A shared body is called only by its siblings.
            (Role::Shared, _) => TokenStream::new(),
            (_, true) => self.item.vis.to_token_stream(),
            (_, false) => quote!(pub),
        };
        let attrs = self.attributes(role);
        let generics = &self.item.sig.generics;
        let own = &generics.params;
        // The lifetime of borrowed slice tangents.
        let params = match tangent_lifetime {
            true => quote!('autodiff_tangent, #own),
            false => quote!(#own),
        };
        let where_clause = tangent_where_clause(generics, tangent_lifetime);
        let inputs = self.inputs.iter().chain(extra);
        quote! {
            #[doc(hidden)]
            #attrs
            #vis fn #name<#params>(#(#inputs),*) -> #ret #where_clause
        }
    }
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
