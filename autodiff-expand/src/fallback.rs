//! What the user gets when the function cannot be differentiated (thiserror's fallback):
//! the function unchanged, the errors at their spans, and stubs of `f_grad`, `f_vjp` and
//! `f_jvp` so that callers do not add a cascade of "cannot find function" errors.
use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::ItemFn;

pub fn expand(item: &ItemFn, err: syn::Error) -> TokenStream {
    let errors = err.to_compile_error();
    let vis = &item.vis;
    let name = &item.sig.ident;
    let params = &item.sig.generics.params;
    let where_clause = &item.sig.generics.where_clause;
    let inputs = item.sig.inputs.iter().filter_map(|arg| match arg {
        syn::FnArg::Typed(pt) => {
            let ty = &pt.ty;
            Some(quote!(_: #ty))
        }
        syn::FnArg::Receiver(_) => None,
    });
    let inputs: Vec<TokenStream> = inputs.collect();
    let comma = (!params.empty_or_trailing()).then(|| quote!(,));
    let stub = |suffix: &str, extra: TokenStream| {
        let stub_name = format_ident!("{}_{}", name, suffix, span = name.span());
        let generics = match extra.is_empty() {
            true => quote!(<#params>),
            false => quote!(<#params #comma __AutodiffExtra>),
        };
        quote! {
            #[allow(dead_code, unused_variables, clippy::all)]
            #[doc(hidden)]
            #vis fn #stub_name #generics (#(#inputs,)* #extra) -> ! #where_clause {
                ::core::unreachable!("#[differentiate] reported an error for this function")
            }
        }
    };
    let grad = stub("grad", quote!());
    let vjp = stub("vjp", quote!(_: __AutodiffExtra));
    let jvp = stub("jvp", quote!(_: __AutodiffExtra));
    quote! {
        #errors
        #item
        #grad
        #vjp
        #jvp
    }
}
