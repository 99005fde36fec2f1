//! Cross-cutting checks (serde's `check.rs`) once activity is known: code without a
//! derivative applied to values that carry one. Each rule is one small function that says
//! why it exists. (What `wrt` and `stop` may name is checked where they are resolved, in
//! `spec`.)
use crate::activity::Activity;
use crate::ctxt::Ctxt;
use crate::ir::{walk, Function, Rhs, Stmt};
use proc_macro2::Span;

/// Code without a derivative rule must not sit on a path from a `wrt` entry to an output:
/// silently treating it as a constant would return a wrong gradient. Only the first such
/// place on a path is reported; what it feeds is not a new mistake.
pub fn active_opaque(cx: &Ctxt, f: &Function, act: &Activity) {
    opaque_on_active_paths(f, act, &mut |span, msg| cx.error_at(span, msg));
}

/// Whether `active_opaque` would report anything: the calling convention asks it once per
/// parameter, without collecting errors the user never sees.
pub fn reaches_opaque(f: &Function, act: &Activity) -> bool {
    let mut found = false;
    opaque_on_active_paths(f, act, &mut |_, _| found = true);
    found
}

/// The walk behind [`active_opaque`] and [`reaches_opaque`]: `report` gets each mistake's
/// span and message.
fn opaque_on_active_paths(f: &Function, act: &Activity, report: &mut dyn FnMut(Span, String)) {
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
                report(
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
        if o.what.ends_with(crate::ir::CHANGES_IN_PLACE) {
            if let Some(&a) = reads.iter().find(|&&r| act.is_active(r) && !tainted[r]) {
                let name = &f.vars[a].name;
                let instead = match f.vars[a].is_array() {
                    true => format!("element assignments (`{name}[i] = ..;`) in a loop"),
                    false => format!("assignments (`{name} = ..;`)"),
                };
                report(
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
        if fresh && o.what == crate::ir::CALL_RESULT_INDEXED {
            report(
                *span,
                "this indexes what a call returned, which the macro takes for one float; write the \
                 array's type where it is bound, `let y: Vec<f64> = f(..);` (or `[f64; N]`), so its \
                 elements are differentiated"
                    .to_string(),
            );
            // One binding is one mistake: its other indexings are not reported again.
            for r in reads {
                tainted[r] = true;
            }
        } else if fresh {
            report(
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
