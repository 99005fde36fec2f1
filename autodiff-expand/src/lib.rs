//! The compiler behind `#[differentiate]`, as a plain library: the proc-macro crate
//! (`autodiff-macros`) is a one-line wrapper, and tests, the `generated` example and the
//! compile-time benchmarks call [`differentiate`] on `proc_macro2` tokens directly.
//!
//! The pipeline, one module per pass, in the order data flows (a pass never imports a later
//! one):
//!
//! ```text
//! args      attribute tokens -> Config (wrt, stop, unconnected)
//! lower     syn::ItemFn -> IR (three-address statements); iterator sums and folds become
//!           loops, arrays created in loops are created once before them; unsupported
//!           syntax -> errors
//! spec      wrt/stop resolved against the parameters and top-level lets (Spec, WrtEntry);
//!           the calling convention's Spec
//! check     code without a derivative on a differentiated path
//! activity  varied / useful / active variables; connectivity of each wrt entry
//! rules     how forward and reverse apply an op's partials (the rules are rows of `ir::op`,
//!           the op registry: name, partials, evaluation, cost, flow, emission per op)
//! forward   IR -> primal + tangent IR (f_jvp)
//! reverse   IR -> primal sweep + adjoint sweep (f_grad, f_vjp): mod.rs the driver,
//!           adjoints (per statement), strategy (how a loop or branch is reversed),
//!           saving (recompute, push/pop, step back), carries (register carries), replay
//!           (a loop iteration run again instead of saving its values)
//! simplify  common subexpressions, dead code, loop-invariant reads
//! emit      IR -> tokens: mod.rs statements (a scalar temporary read once written into
//!           its reader), names (hygienic), operations, views (derivative arrays through
//!           views of their primal's length)
//! generate  the functions around the bodies: f_grad, f_vjp, f_jvp and the calling
//!           convention; share.rs decides which call one hidden body (generate::plan runs
//!           before anything is derived, so only bodies are)
//! ```
//! Below every pass: `ir` (with `ir::analysis`, the block analyses reverse and replay
//! share, and the `__autodiff_var_N` placeholders), `types` (type classifiers), `ctxt`.
//! `derive` runs forward/reverse/simplify for each generated body, `interp` (feature
//! `interp`, on for this crate's tests only) evaluates IR (the oracle of the property tests),
//! and `fallback` is what the user gets on error: their function unchanged, the errors, and
//! stand-ins with the generated functions' signatures that keep callers from a cascade of
//! follow-on errors.
//!
//! # Changing the structure without changing the output
//!
//! `examples/snapshot.rs` expands every annotated function of the workspace's `tests/`,
//! `examples/` and `benches/src/` and writes the pretty-printed code, one file per source
//! file. Take a snapshot before a refactor and diff it after; an empty diff means the
//! generated code is unchanged (functions written inside `macro_rules!` are not seen):
//!
//! ```text
//! cargo run -p autodiff-expand --example snapshot -- /tmp/before
//! cargo run -p autodiff-expand --example snapshot -- /tmp/after
//! diff -r /tmp/before /tmp/after
//! ```
#![forbid(unsafe_code)]

pub mod activity;
pub mod args;
pub mod check;
pub mod ctxt;
pub mod custom;
pub mod derive;
pub mod derive_params;
pub mod emit;
pub mod fallback;
pub mod forward;
pub mod generate;

pub use custom::custom_derivative;
#[cfg(feature = "interp")]
pub mod interp;
pub mod ir;
pub mod lower;
pub mod models;
pub mod reverse;
pub mod rules;
pub mod simplify;
pub mod spec;
pub mod types;

use proc_macro2::TokenStream;

/// Expands `#[differentiate(attr)] item`. Never panics: bad input becomes `compile_error!`s
/// at the offending spans, next to the user's function.
pub fn differentiate(attr: TokenStream, item: TokenStream) -> TokenStream {
    let function: syn::ItemFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        Err(_) => {
            let err = syn::Error::new_spanned(
                first_token(&item),
                "#[differentiate] goes on a function (`fn f(x: f64) -> f64 { .. }`)",
            );
            let err = err.to_compile_error();
            return quote::quote!(#err #item);
        }
    };
    // The passes return errors rather than panic; should one panic all the same (a bug of
    // ours), the user gets an error at the function instead of a crashed compiler plugin.
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        expand(attr.clone(), &function)
    }));
    match result {
        Ok(Ok(tokens)) => tokens,
        // The stand-ins of a function with a `&mut` output have its pure form's signatures.
        Ok(Err(err)) => match lower::pure_form(&function) {
            Some(pure) => lower::restore(fallback::expand(&pure, attr, err), &function),
            None => fallback::expand(&function, attr, err),
        },
        Err(_) => fallback::expand(
            &function,
            attr,
            syn::Error::new_spanned(
                &function.sig.ident,
                "internal error in #[differentiate]; please report it with this function",
            ),
        ),
    }
}

/// The pipeline; every pass reports into one `Ctxt`, checked before code is generated.
pub fn expand(attr: TokenStream, function: &syn::ItemFn) -> syn::Result<TokenStream> {
    expand_inner(attr, function, false)
}

/// [`expand`], optionally without the calling-convention functions (`models`' hidden
/// function, which only its wrappers call).
pub fn expand_inner(
    attr: TokenStream,
    function: &syn::ItemFn,
    no_convention: bool,
) -> syn::Result<TokenStream> {
    let cx = ctxt::Ctxt::new();
    let mut config = args::parse(&cx, attr);
    if no_convention {
        config.no_convention = true;
    }
    if models::applies(&config, function) {
        cx.check()?;
        return models::expand(function, &config);
    }
    for path in config.stop_fields.iter() {
        cx.error_spanned_by(
            &path[1],
            "`stop` names a field of a struct that is not in `wrt`",
        );
    }
    // One `&mut` output parameter: differentiated as the function returning its contents.
    let pure = lower::pure_form(function);
    let original = function;
    let function = pure.as_ref().unwrap_or(original);
    let mut lowered = lower::function(&cx, function);
    let spec = spec::resolve(&cx, &config, &lowered, &function.sig);
    check::non_float_elements(&cx, function);
    check::sub_slice_arguments(&cx, &lowered.f);
    if cx.has_errors() {
        return cx.check().map(|()| TokenStream::new());
    }
    let wrt = spec.wrt_vars();
    // Common subexpressions of the primal, once `wrt` and `stop` are known: the values they
    // name are not merged with equal ones (`simplify::share_keeping`).
    let named: Vec<ir::VarId> = wrt.iter().chain(&spec.stop).copied().collect();
    simplify::share_keeping(&mut lowered.f, &named);
    let mut act = activity::analyze(&lowered.f, &wrt, &spec.stop);
    if lower::keep_passive_output_calls(&mut lowered.f, &|v| act.is_active(v)) {
        act = activity::analyze(&lowered.f, &wrt, &spec.stop);
    }
    check::active_opaque(&cx, &lowered.f, &act);
    cx.check()?;
    // The calling convention: derivatives with respect to every float parameter this
    // function can differentiate, whatever its own `wrt` says.
    let convention_spec = spec::convention(&lowered, &spec, |var| {
        let alone = activity::analyze(&lowered.f, &[var], &spec.stop);
        !check::reaches_opaque(&lowered.f, &alone)
    });
    // Which functions hold a body and which call another: only bodies are derived.
    let plan = generate::plan(function, &config, &lowered, &spec, &convention_spec);
    let (reverse, forward) = match config.no_convention {
        true => (None, None),
        false => {
            let all = convention_spec.wrt_vars();
            let act = activity::analyze(&lowered.f, &all, &convention_spec.stop);
            let reverse = derive::reverse(&lowered.f, &act, &convention_spec, derive::Seed::Given);
            let forward = derive::forward(&lowered.f, &act, &convention_spec);
            (Some(reverse), Some(forward))
        }
    };
    let grad =
        (!plan.grad_calls).then(|| derive::reverse(&lowered.f, &act, &spec, derive::Seed::Ones));
    let vjp = (!plan.through_convention)
        .then(|| derive::reverse(&lowered.f, &act, &spec, derive::Seed::Given));
    let jvp = (!plan.through_convention).then(|| derive::forward(&lowered.f, &act, &spec));
    let bodies = generate::Bodies {
        grad: grad.as_ref(),
        vjp: vjp.as_ref(),
        jvp: jvp.as_ref(),
    };
    let convention = generate::Convention {
        spec: &convention_spec,
        reverse: reverse.as_ref(),
        forward: forward.as_ref(),
    };
    let expansion =
        generate::functions(function, &config, &lowered, &spec, bodies, convention, plan);
    Ok(match pure {
        Some(_) => lower::restore(expansion, original),
        None => expansion,
    })
}

fn first_token(tokens: &TokenStream) -> TokenStream {
    tokens.clone().into_iter().take(1).collect()
}
