//! Methods calling methods: for a method with `wrt = self`, the hidden functions that let
//! other differentiated methods of the type call it (`self.forward(x)` in their bodies), with
//! the calling convention of `autodiff-macros`.
use super::*;

/// The hidden function's parameters for calls of the struct's methods: the unit (a zero
/// in `wrt`), the sink of the callees' gradients, the struct's tangent.
pub(super) fn call_idents() -> (Ident, Ident, Ident) {
    (
        format_ident!("__ad_unit"),
        format_ident!("__ad_sink"),
        format_ident!("__ad_tangent_self"),
    )
}

/// For a method with `wrt = self`, what lets other differentiated methods call it
/// (`self.forward(x)`, or `layer.forward(h)` on an element of theirs):
/// `forward__needs_differentiate_wrt_self`, a method with its calling convention (see
/// `autodiff-macros`), whose parameters are the unit, the sink (`__private::Sink`: the
/// caller's gradient of its struct, or the part of it the element is), the tangent of
/// `self`, then the method's own. Its reverse derivative adds the gradient of `self` to the
/// sink and returns those of the arguments; its forward derivative reads the tangent of
/// `self`. Both run a second hidden function, `__f__all`,
/// differentiated with respect to the fields and every float parameter (the caller's
/// arguments may carry derivatives that the method's own `wrt` leaves out).
pub(super) fn through_functions(
    function: &ItemFn,
    free: Option<&syn::Visibility>,
    config: &Config,
    s: &StructParam,
    (inner, inner_wrt): (&ItemFn, &[Ident]),
    (float, out): (&TokenStream, &TokenStream),
    (generics_decl, turbofish, where_clause): (&TokenStream, &TokenStream, &TokenStream),
) -> syn::Result<TokenStream> {
    use crate::types::{gradient_type, kind_of, tangent_kind, Kind, TangentKind};
    let private = crate::emit::private();
    let name = &function.sig.ident;
    let mut type_params: Vec<String> = function
        .sig
        .generics
        .type_params()
        .map(|t| t.ident.to_string())
        .collect();
    type_params.push(float.to_string());
    // The method's own parameters, and which of them are differentiated.
    let mut plain: Vec<(Ident, Type, Option<TangentKind>)> = Vec::new();
    // Where the struct's four leading arguments go among them (first for a method).
    let at = if free.is_some() { s.index } else { 0 };
    for (i, arg) in function.sig.inputs.iter().enumerate() {
        if i == s.index || (free.is_none() && i == 0) {
            continue;
        }
        if let FnArg::Typed(pt) = arg {
            if let Pat::Ident(pi) = &*pt.pat {
                let ty = (*pt.ty).clone();
                let kind = (kind_of(&ty, &type_params) == Kind::Float)
                    .then(|| tangent_kind(&ty))
                    .flatten();
                plain.push((pi.ident.clone(), ty, kind));
            }
        }
    }
    let (unit, sink, _) = call_idents();
    let mut fields_wrt: Vec<Ident> = differentiated(s).map(|f| f.param.clone()).collect();
    if s.calls {
        fields_wrt.push(unit.clone());
    }
    let mut all = inner.clone();
    all.sig.ident = format_ident!("__{}__all", name);
    let stop = &config.stop;
    let all_wrt = |plain: &[(Ident, Type, Option<TangentKind>)]| {
        let mut all_wrt = fields_wrt.clone();
        all_wrt.extend(plain.iter().filter(|p| p.2.is_some()).map(|p| p.0.clone()));
        all_wrt
    };
    let expand = |plain: &[(Ident, Type, Option<TangentKind>)]| {
        let all_wrt = all_wrt(plain);
        // Differentiated with respect to what the method's own hidden function is (no
        // float arguments besides `self`, or only those of its `wrt`, in their order):
        // that function serves, and nothing is expanded twice.
        if same_names(&all_wrt, inner_wrt) {
            return Ok(None);
        }
        let associated = free.is_none().then(|| quote!(, associated));
        let attr =
            quote!(wrt = [#(#all_wrt),*], stop = [#(#stop),*], unconnected = zero #associated);
        crate::expand_inner(attr, &all, true).map(Some)
    };
    // The method's body may differentiate with respect to its fields but not its arguments
    // (`ys.len() as f64` with `ys` differentiated is an error): then its arguments take no
    // derivative through the call, and a caller that passes one a differentiated value gets
    // a type error at the call (a gradient `()`, a tangent `NoTangent`), never a silent zero.
    let all_tokens = match expand(&plain) {
        Ok(tokens) => tokens,
        Err(_) => {
            for p in plain.iter_mut() {
                p.2 = None;
            }
            expand(&plain)?
        }
    };
    let hidden = match &all_tokens {
        Some(_) => format!("__{}__all", name),
        None => format!("__{}__fields", name),
    };
    let all_tokens = all_tokens.unwrap_or_default();
    let (all_vjp, all_jvp) = (
        format_ident!("{}_vjp", hidden),
        format_ident!("{}_jvp", hidden),
    );
    let (ad_self, ad_tangent) = (format_ident!("__ad_self"), format_ident!("__ad_tangent"));
    let zero = quote!(#private::zero::<#float>());
    // The hidden function's arguments: `self`, its fields, the unit, sink and tangent of
    // `self` if it calls methods in turn, the method's own.
    let names: Vec<&Ident> = plain.iter().map(|p| &p.0).collect();
    let mut struct_args: Vec<TokenStream> = vec![quote!(#ad_self)];
    struct_args.extend(differentiated(s).map(|f| gather(quote!(#ad_self), f)));
    if s.calls {
        struct_args.extend([zero.clone(), quote!(&#sink), quote!(#ad_tangent)]);
    }
    let args = around(at, names.iter().map(|n| quote!(#n)), struct_args);
    let params: Vec<TokenStream> = plain.iter().map(|(n, ty, _)| quote!(#n: #ty)).collect();
    let header = quote! {
        #[doc(hidden)]
        #[allow(dead_code, non_snake_case, unused_variables, clippy::all)]
    };
    let ty = &s.ty;
    let (through, receiver, self_ty) = match free {
        None => (scan::through_name(name), quote!(&self), quote!(Self)),
        Some(_) => (
            scan::free_through_name(name),
            quote!(#ad_self: &#ty),
            ty.clone(),
        ),
    };
    let leading = quote!(#unit: #float, #sink: impl #private::Sink<#float> + ::core::marker::Copy, #ad_tangent: &#self_ty);
    let params = match free {
        None => around(0, params, vec![quote!(#receiver, #leading)]),
        Some(_) => around(at, params, vec![quote!(#receiver, #leading)]),
    };
    // Reverse: the gradients of the fields go to the sink, those of the arguments back.
    let mut gs: Vec<Ident> = Vec::new();
    let mut scatter_fields: Vec<TokenStream> = Vec::new();
    let g = format_ident!("__ad_grad");
    for (k, f) in differentiated(s).enumerate() {
        let gi = format_ident!("__ad_g{}", k);
        scatter_fields.push(scatter(quote!(#g), &f.path, quote!(#gi), f.role));
        gs.push(gi);
    }
    if s.calls {
        gs.push(format_ident!("_"));
    }
    // The struct's own slots: `()` for the struct (a free function's), a zero for the unit,
    // `()` for the sink and the tangent.
    let own = free.map(|_| quote!(())).into_iter();
    let mut plain_returned = Vec::new();
    let mut plain_types = Vec::new();
    for (k, (_, ty, kind)) in plain.iter().enumerate() {
        if kind.is_some() {
            let pi = format_ident!("__ad_p{}", k);
            gs.push(pi.clone());
            plain_returned.push(quote!(#pi));
            plain_types.push(gradient_type(ty));
        } else {
            plain_returned.push(quote!(()));
            plain_types.push(quote!(()));
        }
    }
    let returned = around(
        at,
        plain_returned,
        own.clone()
            .chain([zero.clone(), quote!(()), quote!(())])
            .collect(),
    );
    let returned_types = around(
        at,
        plain_types,
        own.chain([quote!(#float), quote!(()), quote!(())])
            .collect(),
    );
    // Forward: the tangents of the arguments, in the forms the calling convention takes.
    let leading_tangents: Vec<TokenStream> = (0..3 + usize::from(free.is_some()))
        .map(|k| {
            let t = format_ident!("__ad_t{}", k);
            quote!(#t: impl ::core::marker::Sized)
        })
        .collect();
    let mut tangent_params: Vec<TokenStream> = Vec::new();
    let mut bind: Vec<TokenStream> = Vec::new();
    let mut tangents: Vec<TokenStream> = differentiated(s)
        .map(|f| gather(quote!(#ad_tangent), f))
        .collect();
    if s.calls {
        tangents.push(zero.clone());
    }
    for (k, (x, ty, kind)) in plain.iter().enumerate() {
        let arg = format_ident!("__ad_d{}", k);
        let t = format_ident!("__ad_dt{}", k);
        let by_ref = matches!(ty, Type::Reference(_));
        let owned = |t: &Ident| {
            if by_ref {
                quote!(&*#t)
            } else {
                quote!(#t.into_owned())
            }
        };
        match kind {
            None => tangent_params.push(quote!(#arg: #private::NoTangent)),
            Some(TangentKind::Scalar(sty)) => {
                tangent_params.push(quote!(#arg: impl #private::ScalarTangent<#sty>));
                bind.push(quote!(let #t = #private::ScalarTangent::into_tangent(#arg);));
                tangents.push(quote!(#t));
            }
            Some(TangentKind::Slice(elem)) => {
                tangent_params
                    .push(quote!(#arg: impl #private::SliceTangent<'autodiff_tangent, #elem>));
                bind.push(quote!(let #t = #private::SliceTangent::into_tangent(#arg, #x.len());));
                tangents.push(owned(&t));
            }
            Some(TangentKind::Array(elem, len)) => {
                tangent_params.push(quote!(#arg: impl #private::ArrayTangent<#elem, { #len }>));
                bind.push(quote!(let #t = #private::ArrayTangent::into_tangent(#arg);));
                tangents.push(if by_ref { quote!(&#t) } else { quote!(#t) });
            }
            Some(TangentKind::Tensor(elem)) => {
                tangent_params
                    .push(quote!(#arg: impl #private::TensorTangent<'autodiff_tangent, #elem>));
                bind.push(quote!(let #t = #private::TensorTangent::into_tangent(#arg, &#x);));
                tangents.push(owned(&t));
            }
        }
    }
    let tangent_params = around(at, tangent_params, leading_tangents);
    let lifetime_decl = if generics_decl.is_empty() {
        quote!(<'autodiff_tangent>)
    } else {
        let inner: TokenStream = generics_decl
            .clone()
            .into_iter()
            .skip(1)
            .collect::<Vec<_>>()
            .split_last()
            .map(|(_, rest)| rest.iter().cloned().collect())
            .unwrap_or_default();
        quote!(<'autodiff_tangent, #inner>)
    };
    // A float type parameter of the `impl` outlives the tangents' borrows.
    let outlives = if ["f32", "f64"].contains(&float.to_string().as_str()) {
        quote!()
    } else {
        quote!(, #float: 'autodiff_tangent)
    };
    let reverse_body = |all_vjp: TokenStream| {
        quote! {
            let (__ad_value, (#(#gs,)*)) = #all_vjp #turbofish (#(#args,)* seed);
            let mut #g = #private::struct_zeros::<#float, _>(#ad_self);
            #(#scatter_fields)*
            #private::add_to_sink::<#float, _>(&#sink, &#g);
            (__ad_value, (#(#returned,)*))
        }
    };
    let forward_body = |all_jvp: TokenStream| {
        quote! {
            #(#bind)*
            #all_jvp #turbofish (#(#args,)* #(#tangents),*)
        }
    };
    let Some(vis) = free else {
        let (reverse, forward) = (
            format_ident!("{}__reverse_derivative", through),
            format_ident!("{}__forward_derivative", through),
        );
        let (reverse_body, forward_body) = (
            reverse_body(quote!(Self::#all_vjp)),
            forward_body(quote!(Self::#all_jvp)),
        );
        return Ok(quote! {
            #all_tokens
            #header
            fn #through #generics_decl (#(#params),*) -> #out #where_clause {
                self.#name(#(#names),*)
            }
            #header
            fn #reverse #generics_decl (#(#params,)* seed: #out) -> (#out, (#(#returned_types,)*)) #where_clause {
                let #ad_self = self;
                #reverse_body
            }
            #header
            fn #forward #lifetime_decl (#(#params,)* #(#tangent_params),*) -> (#out, #out) #where_clause #outlives {
                let #ad_self = self;
                #forward_body
            }
        });
    };
    // A free function: `f__needs_..(..)` and its calling convention on a hidden type of the
    // same name, as every free function's (`autodiff-macros`).
    let call = around(at, names.iter().map(|n| quote!(#n)), vec![quote!(#ad_self)]);
    let (reverse_body, forward_body) = (
        reverse_body(quote!(#all_vjp)),
        forward_body(quote!(#all_jvp)),
    );
    Ok(quote! {
        #all_tokens
        #header
        #vis fn #through #generics_decl (#(#params),*) -> #out #where_clause {
            #name(#(#call),*)
        }
        #[doc(hidden)]
        #[allow(non_camel_case_types, dead_code)]
        #vis struct #through {}
        #[allow(non_camel_case_types, dead_code)]
        impl #through {
            #header
            #vis fn reverse_derivative #generics_decl (#(#params,)* seed: #out) -> (#out, (#(#returned_types,)*)) #where_clause {
                #reverse_body
            }
            #header
            #vis fn forward_derivative #lifetime_decl (#(#params,)* #(#tangent_params),*) -> (#out, #out) #where_clause #outlives {
                #forward_body
            }
        }
    })
}

/// `items` with `inserted` spliced in before the one at `at`.
fn around(
    at: usize,
    items: impl IntoIterator<Item = TokenStream>,
    inserted: Vec<TokenStream>,
) -> Vec<TokenStream> {
    let mut items: Vec<TokenStream> = items.into_iter().collect();
    let at = at.min(items.len());
    items.splice(at..at, inserted);
    items
}
