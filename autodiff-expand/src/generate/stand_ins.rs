//! The fallback's stand-ins: the generated functions' signatures with bodies that never
//! return.
use super::*;

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
    let shared = Shared::new(item, config, lowered, spec);
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
        Role::Own,
    );
    let vjp = shared.header(
        &shared.name("vjp"),
        doc.clone(),
        &[quote!(_: #ret)],
        quote!((#ret, #grad_ty)),
        Role::Own,
    );
    let tangents: Vec<TokenStream> = shared
        .jvp_tangent_types()
        .into_iter()
        .map(|ty| quote!(_: #ty))
        .collect();
    let jvp = shared.header(
        &shared.name("jvp"),
        doc,
        &tangents,
        quote!((#ret, #ret)),
        Role::Own,
    );
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
        Role::Own,
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
        Role::Own,
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
