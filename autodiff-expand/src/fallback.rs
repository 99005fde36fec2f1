//! What the user gets when the function cannot be differentiated (thiserror's fallback):
//! the function unchanged, the errors at their spans, and stand-ins of `f_grad`, `f_vjp`,
//! `f_jvp` and of the calling convention (`reverse_derivative`, `forward_derivative`) with
//! the signatures the working expansion would have had, so that callers of the function,
//! differentiated or not, add no follow-on errors: one mistake, one error.
use crate::args::{self, Config};
use crate::ctxt::Ctxt;
use crate::lower::{self, Lowered};
use crate::spec::{self, Spec, WrtEntry};
use crate::types::{gradient_type, is_scalar_path, shape_of, tangent_kind, Kind};
use proc_macro2::TokenStream;
use quote::quote;
use syn::{ItemFn, ReturnType};

pub fn expand(item: &ItemFn, attr: TokenStream, err: syn::Error) -> TokenStream {
    let errors = err.to_compile_error();
    // The signatures come from the same front passes as the expansion's. They already ran
    // without panicking when `err` is theirs; should they panic here all the same (the
    // internal-error path), the stand-ins are left out rather than the compiler crashing.
    let stand_ins =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| stand_ins(item, attr)))
            .unwrap_or_default();
    // As in the expansion: a function used only through its derivatives is not dead code.
    quote! {
        #errors
        #[allow(dead_code)]
        #item
        #stand_ins
    }
}

fn stand_ins(item: &ItemFn, attr: TokenStream) -> TokenStream {
    // The errors were reported by the expansion; this run only recovers what parsed.
    let cx = Ctxt::new();
    let config = args::parse(&cx, attr);
    let lowered = lower::function(&cx, item);
    let resolved = spec::resolve(&cx, &config, &lowered, &item.sig);
    let _ = cx.check();
    let spec = keep_unresolved(&config, &lowered, resolved, &item.sig.output);
    let convention = convention(&lowered);
    crate::generate::stand_ins(item, &config, &lowered, &spec, &convention)
}

/// The `wrt` list with its unresolved entries put back, so the gradient tuple keeps the
/// arity the user wrote. Where `wrt` itself is the mistake, the signature cannot be
/// computed; the most useful stand-in is the one the user had in mind: a parameter that
/// has no gradient (`n: usize`) keeps a slot of its own type, and a name that is not a
/// parameter or typed `let` (a typo, a `let` without annotation) gets the return type, as
/// an unannotated `let` would when the return type is a scalar. Without a scalar return
/// type there is no good guess and the entry is left out.
fn keep_unresolved(config: &Config, lowered: &Lowered, resolved: Spec, ret: &ReturnType) -> Spec {
    let Some(list) = &config.wrt else {
        return resolved;
    };
    let scalar_ret = match ret {
        ReturnType::Type(_, ty) if is_scalar_path(ty) => Some(quote!(#ty)),
        _ => None,
    };
    let mut found = resolved.wrt.into_iter();
    let mut wrt = Vec::new();
    for name in &list.names {
        if found.as_slice().first().is_some_and(|w| w.ident == *name) {
            wrt.extend(found.next());
            continue;
        }
        let param = lowered.params.iter().position(|p| p.ident == *name);
        let grad_ty = match param {
            Some(i) => gradient_type(&lowered.params[i].ty),
            None => match &scalar_ret {
                Some(ty) => ty.clone(),
                None => continue,
            },
        };
        wrt.push(WrtEntry {
            ident: name.clone(),
            // Never read: stand-ins have signatures only.
            var: 0,
            // A parameter without a tangent type takes no tangent in `f_jvp`.
            param: param.filter(|&i| lowered.params[i].kind != Kind::Passive),
            grad_ty,
            scalar: true,
        });
    }
    Spec {
        wrt,
        stop: resolved.stop,
        bare: resolved.bare,
    }
}

/// The calling convention of the stand-ins: every float parameter with a tangent type.
/// The working expansion leaves out parameters whose paths go through code without a
/// derivative, but that code is usually the error being reported, and a caller passing a
/// differentiated value there needs the slot to type-check.
fn convention(lowered: &Lowered) -> Spec {
    let wrt = lowered
        .params
        .iter()
        .enumerate()
        .filter(|(_, p)| p.kind == Kind::Float && tangent_kind(&p.ty).is_some())
        .map(|(index, p)| WrtEntry {
            ident: p.ident.clone(),
            var: p.var,
            param: Some(index),
            grad_ty: gradient_type(&p.ty),
            scalar: shape_of(&p.ty).is_empty(),
        })
        .collect();
    Spec {
        wrt,
        stop: Vec::new(),
        bare: false,
    }
}

#[cfg(test)]
mod tests {
    use quote::quote;

    /// The expansion of a function that fails, parsed back; the functions it defines at the
    /// top level (the user's and the stand-ins), by name.
    fn expand(attr: proc_macro2::TokenStream, item: proc_macro2::TokenStream) -> syn::File {
        let tokens = crate::differentiate(attr, item);
        assert!(
            tokens.to_string().contains("compile_error"),
            "the function was expected to fail"
        );
        syn::parse2(tokens).expect("the fallback's tokens parse as items")
    }

    fn function<'a>(file: &'a syn::File, name: &str) -> &'a syn::ItemFn {
        file.items
            .iter()
            .find_map(|i| match i {
                syn::Item::Fn(f) if f.sig.ident == name => Some(f),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no `{name}` in the fallback"))
    }

    #[test]
    fn stand_ins_have_the_signatures_of_the_expansion() {
        let file = expand(
            quote!(wrt = [x, y]),
            quote! {
                fn f(x: &[f64], y: f64, n: usize) -> f64 { x[0].rem_euclid(2.0) + y }
            },
        );
        let ty = |f: &syn::ItemFn| quote::ToTokens::to_token_stream(&f.sig.output).to_string();
        let grad = function(&file, "f_grad");
        assert_eq!(grad.sig.inputs.len(), 3);
        assert_eq!(
            ty(grad),
            quote!(-> (f64, (::std::vec::Vec<f64>, f64,))).to_string()
        );
        assert_eq!(function(&file, "f_vjp").sig.inputs.len(), 4);
        // One tangent per differentiated parameter: x and y, not n.
        let jvp = function(&file, "f_jvp");
        assert_eq!(jvp.sig.inputs.len(), 5);
        assert_eq!(ty(jvp), quote!(-> (f64, f64)).to_string());
        // The convention lives on the hidden type `f`, with one slot per parameter.
        let convention = file.items.iter().any(|i| {
            matches!(i, syn::Item::Impl(imp) if quote::ToTokens::to_token_stream(&imp.self_ty).to_string() == "f"
                && imp.items.len() == 2)
        });
        assert!(convention, "no `impl f` with the two convention functions");
    }

    #[test]
    fn a_wrt_typo_keeps_its_slot_with_the_return_type() {
        let file = expand(
            quote!(wrt = [x, yy]),
            quote! { fn f(x: f32, y: f32) -> f32 { x * y } },
        );
        let grad = function(&file, "f_grad");
        let out = quote::ToTokens::to_token_stream(&grad.sig.output).to_string();
        assert_eq!(out, quote!(-> (f32, (f32, f32,))).to_string());
    }
}
