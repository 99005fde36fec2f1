//! The resolved model of what is differentiated: `Spec` (the `wrt` entries with their
//! gradient types, the `stop` values) from the attribute's names and the lowered function,
//! and the calling convention's `Spec` (every float parameter). Below the passes that read
//! it (check, activity's callers, derive, generate); errors in the names go to the `Ctxt`.
use crate::args::Config;
use crate::ctxt::Ctxt;
use crate::ir::VarId;
use crate::lower::Lowered;
use crate::types::{gradient_type, is_scalar_path, is_tensor_type, shape_of, tangent_kind, Kind};
use proc_macro2::{Ident, TokenStream};
use quote::ToTokens;
use syn::ReturnType;

/// One entry of `wrt`, resolved.
pub struct WrtEntry {
    pub ident: Ident,
    pub var: VarId,
    /// The parameter's index, or `None` for a `let` binding.
    pub param: Option<usize>,
    /// The gradient's type.
    pub grad_ty: TokenStream,
    /// A scalar float (`f32`, `f64`, `T`): zeros and ones can be literals.
    pub scalar: bool,
}

pub struct Spec {
    pub wrt: Vec<WrtEntry>,
    pub stop: Vec<VarId>,
    /// `wrt = x`: the gradient is not a tuple.
    pub bare: bool,
}

pub fn resolve(cx: &Ctxt, config: &Config, lowered: &Lowered, sig: &syn::Signature) -> Spec {
    let ret = &sig.output;
    let (names, bare) = match &config.wrt {
        Some(list) => (list.names.clone(), list.bare),
        None => (default_wrt(cx, lowered, sig), false),
    };
    let wrt = names
        .iter()
        .filter_map(|name| resolve_wrt(cx, lowered, name, ret))
        .collect();
    let stop = config
        .stop
        .iter()
        .filter_map(|name| resolve_name(cx, lowered, name, "stop"))
        .collect();
    Spec { wrt, stop, bare }
}

/// Without `wrt`, every parameter of a float type, as TensorFlow's `xs` would list them.
fn default_wrt(cx: &Ctxt, lowered: &Lowered, sig: &syn::Signature) -> Vec<Ident> {
    let names: Vec<Ident> = lowered
        .params
        .iter()
        .filter(|p| p.kind == Kind::Float)
        .map(|p| p.ident.clone())
        .collect();
    if names.is_empty() && sig.receiver().is_some() {
        cx.error_spanned_by(
            &sig.output,
            "no parameter has a float type (f32, f64 or a generic `T`); for the gradient with respect to the struct's fields, write `#[differentiate(wrt = self)]` (its type needs `#[derive(Params)]`)",
        );
    } else if names.is_empty() && !lowered.params.is_empty() {
        cx.error_spanned_by(
            &sig.output,
            "no parameter has a float type (f32, f64 or a generic `T`); name the parameters to differentiate with `wrt = [..]`",
        );
    }
    names
}

/// `wrt` may name a parameter of a differentiable type, or an immutable top-level `let`
/// (TensorFlow's `xs` may be any tensor of the graph).
fn resolve_wrt(cx: &Ctxt, lowered: &Lowered, name: &Ident, ret: &ReturnType) -> Option<WrtEntry> {
    if let Some((index, p)) = lowered
        .params
        .iter()
        .enumerate()
        .find(|(_, p)| p.ident == *name)
    {
        if p.kind == Kind::Passive {
            cx.error_spanned_by(
                name,
                format!(
                    "`{name}` has type `{}`, which has no gradient; remove it from `wrt`",
                    p.ty.to_token_stream()
                ),
            );
            return None;
        }
        return Some(WrtEntry {
            ident: name.clone(),
            var: p.var,
            param: Some(index),
            grad_ty: gradient_type(&p.ty),
            scalar: p.kind == Kind::Float && shape_of(&p.ty).is_empty() && !is_tensor_type(&p.ty),
        });
    }
    let var = resolve_name(cx, lowered, name, "wrt")?;
    let top = lowered.top_lets.iter().rev().find(|t| t.ident == *name)?;
    let grad_ty = match (&top.ty, ret) {
        (Some(ty), _) => ty.to_token_stream(),
        (None, ReturnType::Type(_, ty)) if is_scalar_path(ty) => ty.to_token_stream(),
        _ => {
            cx.error_spanned_by(
                &top.ident,
                format!("annotate the type of `{name}` (`let {name}: f64 = ..;`) so its gradient's type can be written"),
            );
            return None;
        }
    };
    Some(WrtEntry {
        ident: name.clone(),
        var,
        param: None,
        scalar: top.ty.as_ref().is_none_or(is_scalar_path),
        grad_ty,
    })
}

/// A parameter, or a `let` at the top level of the body bound exactly once.
fn resolve_name(cx: &Ctxt, lowered: &Lowered, name: &Ident, key: &str) -> Option<VarId> {
    if let Some(p) = lowered.params.iter().find(|p| p.ident == *name) {
        return Some(p.var);
    }
    match lowered.top_lets.iter().rev().find(|t| t.ident == *name) {
        Some(t) if t.rebound => {
            cx.error_spanned_by(
                name,
                format!("`{name}` is declared `mut`, reassigned or shadowed, so it names no single value; `{key}` can name a parameter or an immutable `let` at the top of the body"),
            );
            None
        }
        Some(t) => Some(t.var),
        None => {
            cx.error_spanned_by(
                name,
                format!("`{name}` is not a parameter or a `let` at the top level of the body; `{key}` names parameters and immutable top-level bindings"),
            );
            None
        }
    }
}

impl Spec {
    /// The variables of the `wrt` entries, in order.
    pub fn wrt_vars(&self) -> Vec<VarId> {
        self.wrt.iter().map(|w| w.var).collect()
    }
}

/// The `wrt` list of the calling convention: every parameter of a float type (scalar or
/// array) whose derivative the function can compute: `differentiable(var)` says none of its
/// paths goes through code without a derivative rule (the caller runs activity and
/// `check::reaches_opaque`; the model does not import the passes).
pub fn convention(lowered: &Lowered, spec: &Spec, differentiable: impl Fn(VarId) -> bool) -> Spec {
    let wrt = lowered
        .params
        .iter()
        .enumerate()
        // Nested arrays have no tangent type in the convention yet.
        .filter(|(_, p)| p.kind == Kind::Float && tangent_kind(&p.ty).is_some())
        .filter(|(_, p)| differentiable(p.var))
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
        stop: spec.stop.clone(),
        bare: false,
    }
}
