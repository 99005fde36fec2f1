//! Cross-cutting checks (serde's `check.rs`): what `wrt` and `stop` name, and code without a
//! derivative applied to values that carry one. Each rule is one small function that says
//! why it exists.
use crate::activity::Activity;
use crate::args::Config;
use crate::ctxt::Ctxt;
use crate::ir::{walk, Function, Rhs, Stmt, VarId};
use crate::lower::Lowered;
use crate::types::Kind;
use crate::types::{gradient_type, is_scalar_path, is_tensor_type, shape_of, tangent_kind};
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

pub fn resolve(cx: &Ctxt, config: &Config, lowered: &Lowered, ret: &ReturnType) -> Spec {
    let (names, bare) = match &config.wrt {
        Some(list) => (list.names.clone(), list.bare),
        None => (default_wrt(cx, lowered, ret), false),
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
fn default_wrt(cx: &Ctxt, lowered: &Lowered, ret: &ReturnType) -> Vec<Ident> {
    let names: Vec<Ident> = lowered
        .params
        .iter()
        .filter(|p| p.kind == Kind::Float)
        .map(|p| p.ident.clone())
        .collect();
    if names.is_empty() && !lowered.params.is_empty() {
        cx.error_spanned_by(
            ret,
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

/// Code without a derivative rule must not sit on a path from a `wrt` entry to an output:
/// silently treating it as a constant would return a wrong gradient. Only the first such
/// place on a path is reported; what it feeds is not a new mistake.
pub fn active_opaque(cx: &Ctxt, f: &Function, act: &Activity) {
    // Values computed from an already reported place.
    let mut tainted = vec![false; f.vars.len()];
    walk(&f.body, &mut |stmt| {
        let Stmt::Let {
            dst: Some(dst),
            rhs,
            span,
        } = stmt
        else {
            return;
        };
        let reads = stmt.reads();
        if reads.iter().any(|&r| tainted[r]) {
            tainted[*dst] = true;
        }
        if let Rhs::Call(call) = rhs {
            // The calling convention has no tangent type for nested arrays yet.
            let nested = call
                .args
                .iter()
                .filter_map(|a| a.value.var())
                .find(|&a| f.vars[a].shape.len() > 1 && act.varied[a] && act.is_active(*dst));
            if let Some(a) = nested {
                cx.error_at(
                    *span,
                    format!(
                        "`{}` is a nested array, and a differentiated call takes arrays of floats \
                         only; pass its elements flattened into one slice (row-major), or compute \
                         this part in the calling function",
                        f.vars[a].name
                    ),
                );
            }
        }
        let Rhs::Opaque(o) = rhs else { return };
        // A method that changes a differentiated array in place, kept as written: its result
        // is unused, but the array's later reads see the change, which has no derivative.
        if o.what.ends_with(crate::lower::CHANGES_IN_PLACE) {
            if let Some(&a) = reads.iter().find(|&&r| act.is_active(r) && !tainted[r]) {
                let name = &f.vars[a].name;
                let instead = match f.vars[a].is_array() {
                    true => format!("element assignments (`{name}[i] = ..;`) in a loop"),
                    false => format!("assignments (`{name} = ..;`)"),
                };
                cx.error_at(
                    *span,
                    format!(
                        "{} has no derivative, and `{name}` is being differentiated; write the \
                         change as {instead}, or move it into a function with its own derivative",
                        o.what
                    ),
                );
            }
            return;
        }
        if o.passive_result || !act.is_active(*dst) {
            return;
        }
        let fresh = reads.iter().any(|&r| act.varied[r] && !tainted[r]);
        tainted[*dst] = true;
        if fresh && o.what == crate::lower::CALL_RESULT_INDEXED {
            cx.error_at(
                *span,
                "this indexes what a call returned, which the macro takes for one float; write the \
                 array's type where it is bound, `let y: Vec<f64> = f(..);` (or `[f64; N]`), so its \
                 elements are differentiated",
            );
            // One binding is one mistake: its other indexings are not reported again.
            for r in reads {
                tainted[r] = true;
            }
        } else if fresh {
            cx.error_at(
                *span,
                format!(
                    "{} has no derivative rule, and it is applied to a value that is being differentiated; \
                     write it with supported float operations, wrap the value in `stop_gradient(..)` if no \
                     gradient should flow through it, or move it into a function with its own derivative",
                    o.what
                ),
            );
        }
    });
}

/// The `wrt` list of the calling convention: every parameter of a float type (scalar or
/// array) whose derivative the function can compute (none of its paths goes through code
/// without a derivative rule).
pub fn convention(lowered: &Lowered, spec: &Spec) -> Spec {
    let wrt = lowered
        .params
        .iter()
        .enumerate()
        // Nested arrays have no tangent type in the convention yet.
        .filter(|(_, p)| p.kind == Kind::Float && tangent_kind(&p.ty).is_some())
        .filter(|(_, p)| {
            let act = crate::activity::analyze(&lowered.f, &[p.var], &spec.stop);
            let cx = Ctxt::new();
            active_opaque(&cx, &lowered.f, &act);
            cx.check().is_ok()
        })
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
