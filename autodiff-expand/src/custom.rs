//! `#[custom_derivative(forward = f_fwd, reverse = f_rev)]`: derivatives written by hand for
//! a function the macro cannot (or should not) differentiate line by line: a function of
//! another crate wrapped in one of yours, an FFI call, a numerically better rule, an implicit
//! function. It writes the hidden calling-convention items from the two functions, so every
//! `#[differentiate]` caller differentiates through it.
//!
//! With `F` the function's float parameters (scalars, slices, arrays), in order:
//! - `f_fwd(params.., tangents of F..) -> (R, R)`: the value and the directional derivative,
//!   as `f_jvp` would be with `wrt = F`;
//! - `f_rev(params.., seed: R) -> (R, (gradients of F,))`: the value and the gradients, as
//!   `f_vjp` would be with `wrt = [F]` (a tuple, a 1-tuple for one parameter).
use crate::emit::private;
use crate::types::{gradient_type, kind_of, tangent_kind, Kind, TangentKind};
use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use syn::parse::Parser;
use syn::{FnArg, Pat, ReturnType};

/// Expands `#[custom_derivative(attr)] item`; errors become `compile_error!`s next to the
/// unchanged function.
pub fn custom_derivative(attr: TokenStream, item: TokenStream) -> TokenStream {
    let function: syn::ItemFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        Err(_) => {
            let err = syn::Error::new(Span::call_site(), "#[custom_derivative] goes on a function")
                .to_compile_error();
            return quote!(#err #item);
        }
    };
    match expand(attr, &function) {
        Ok(tokens) => tokens,
        Err(err) => {
            let err = err.to_compile_error();
            quote!(#err #function)
        }
    }
}

fn expand(attr: TokenStream, f: &syn::ItemFn) -> syn::Result<TokenStream> {
    let mut forward: Option<syn::Path> = None;
    let mut reverse: Option<syn::Path> = None;
    syn::meta::parser(|meta| {
        if meta.path.is_ident("forward") {
            forward = Some(meta.value()?.parse()?);
        } else if meta.path.is_ident("reverse") {
            reverse = Some(meta.value()?.parse()?);
        } else {
            return Err(meta.error(
                "unknown option; #[custom_derivative] takes `forward = path` and `reverse = path`",
            ));
        }
        Ok(())
    })
    .parse2(attr)?;
    let missing = |what: &str| {
        syn::Error::new_spanned(
            &f.sig.ident,
            format!("#[custom_derivative] needs `{what} = ..`: name the function that computes the {what} derivative"),
        )
    };
    let forward = forward.ok_or_else(|| missing("forward"))?;
    let reverse = reverse.ok_or_else(|| missing("reverse"))?;
    let ReturnType::Type(_, ret) = &f.sig.output else {
        return Err(syn::Error::new_spanned(
            &f.sig,
            "a function with a derivative returns a value",
        ));
    };
    let type_params: Vec<String> = f
        .sig
        .generics
        .type_params()
        .map(|t| t.ident.to_string())
        .collect();
    let p = private();
    let mut inputs = Vec::new();
    let mut args = Vec::new();
    let mut tangent_inputs = Vec::new();
    let mut tangent_binds = Vec::new();
    let mut tangent_args = Vec::new();
    let mut grad_tys = Vec::new();
    let mut grad_names = Vec::new();
    let mut grads = Vec::new();
    for (i, input) in f.sig.inputs.iter().enumerate() {
        let FnArg::Typed(pt) = input else {
            return Err(syn::Error::new_spanned(input, "#[custom_derivative] goes on free functions; for methods write the convention items by hand"));
        };
        let Pat::Ident(pi) = &*pt.pat else {
            return Err(syn::Error::new_spanned(
                &pt.pat,
                "give the parameter a plain name",
            ));
        };
        let (x, ty) = (&pi.ident, &pt.ty);
        inputs.push(quote!(#x: #ty));
        args.push(quote!(#x));
        let d = format_ident!("tangent_argument_{}", i, span = Span::mixed_site());
        let t = format_ident!("tangent_{}", i, span = Span::mixed_site());
        let g = format_ident!("gradient_{}", i, span = Span::mixed_site());
        match (kind_of(ty, &type_params), tangent_kind(ty)) {
            (Kind::Float, Some(kind)) => {
                match kind {
                    TangentKind::Scalar(s) => {
                        tangent_inputs.push(quote!(#d: impl #p::ScalarTangent<#s>));
                        tangent_binds.push(quote!(let #t = #p::ScalarTangent::into_tangent(#d);));
                        tangent_args.push(quote!(#t));
                    }
                    TangentKind::Slice(e) => {
                        tangent_inputs
                            .push(quote!(#d: impl #p::SliceTangent<'autodiff_tangent, #e>));
                        tangent_binds
                            .push(quote!(let #t = #p::SliceTangent::into_tangent(#d, #x.len());));
                        tangent_args.push(quote!(&*#t));
                    }
                    TangentKind::Tensor(e) => {
                        tangent_inputs
                            .push(quote!(#d: impl #p::TensorTangent<'autodiff_tangent, #e>));
                        tangent_binds
                            .push(quote!(let #t = #p::TensorTangent::into_tangent(#d, &#x);));
                        tangent_args.push(quote!(&*#t));
                    }
                    TangentKind::Array(e, n) => {
                        tangent_inputs.push(quote!(#d: impl #p::ArrayTangent<#e, { #n }>));
                        tangent_binds.push(quote!(let #t = #p::ArrayTangent::into_tangent(#d);));
                        let by_ref = matches!(&**ty, syn::Type::Reference(_));
                        tangent_args.push(if by_ref { quote!(&#t) } else { quote!(#t) });
                    }
                }
                grad_tys.push(gradient_type(ty));
                grad_names.push(quote!(#g));
                grads.push(quote!(#g));
            }
            _ => {
                tangent_inputs.push(quote!(#d: impl ::core::marker::Sized));
                grad_tys.push(quote!(()));
                grads.push(quote!(()));
            }
        }
    }
    let vis = &f.vis;
    let params = &f.sig.generics.params;
    let where_clause = &f.sig.generics.where_clause;
    let forward_where = crate::generate::tangent_where_clause(&f.sig.generics, true);
    let name = &f.sig.ident;
    let reverse_name = format_ident!("reverse_derivative", span = name.span());
    let forward_name = format_ident!("forward_derivative", span = name.span());
    let seed = format_ident!("seed", span = Span::mixed_site());
    let value = format_ident!("value", span = Span::mixed_site());
    let allows = quote!(#[allow(dead_code, non_snake_case, unused_variables, clippy::all)]);
    Ok(quote! {
        #f

                #[doc(hidden)]
        #[allow(non_camel_case_types, dead_code)]
        #vis struct #name {}

        #allows
        impl #name {
            #[doc(hidden)]
            pub fn #reverse_name<#params>(#(#inputs,)* #seed: #ret) -> (#ret, (#(#grad_tys,)*)) #where_clause {
                let (#value, (#(#grad_names,)*)) = #reverse(#(#args,)* #seed);
                (#value, (#(#grads,)*))
            }

            #[doc(hidden)]
            pub fn #forward_name<'autodiff_tangent, #params>(#(#inputs,)* #(#tangent_inputs),*) -> (#ret, #ret) #forward_where {
                #(#tangent_binds)*
                #forward(#(#args,)* #(#tangent_args),*)
            }
        }
    })
}
