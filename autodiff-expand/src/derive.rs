//! Runs the differentiation passes for the three generated functions: reverse mode seeded
//! with ones (`f_grad`) or with a seed parameter (`f_vjp`), and forward mode (`f_jvp`); each
//! result is simplified before it is emitted.
use crate::activity::Activity;
use crate::ir::{Function, Operand, Origin, VarId};
use crate::spec::Spec;
use crate::{forward, reverse, simplify};
use proc_macro2::Span;

/// A derived function: its IR, the primal outputs, and one derivative per `wrt` entry
/// (reverse) or per output (forward); `None` where it is structurally zero.
pub struct Derived {
    pub f: Function,
    pub values: Vec<Operand>,
    pub derivatives: Vec<Option<Operand>>,
    /// The parameters the generated function adds (seeds or tangents).
    pub extras: Vec<VarId>,
}

/// How the reverse sweep is seeded.
pub enum Seed {
    /// `f_grad`: the gradient of the sum of all outputs.
    Ones,
    /// `f_vjp`: one seed per output, given by the caller.
    Given,
}

pub fn reverse(primal: &Function, act: &Activity, spec: &Spec, seed: Seed) -> Derived {
    let mut f = primal.clone();
    let outputs = primal.outputs.len();
    let extras: Vec<VarId> = match seed {
        Seed::Ones => Vec::new(),
        Seed::Given => (0..outputs)
            .map(|k| {
                let name = if outputs == 1 {
                    "seed".to_string()
                } else {
                    format!("seed_{k}")
                };
                let seed = f.new_var(name, Span::call_site(), Origin::Extra);
                if let Some(out) = primal.outputs[k].var() {
                    f.vars[seed].shape = primal.vars[out].shape.clone();
                    f.vars[seed].tensor = primal.vars[out].tensor;
                }
                seed
            })
            .collect(),
    };
    let seeds: Vec<Operand> = match extras.is_empty() {
        true => vec![Operand::Lit(1.0); outputs],
        false => extras.iter().map(|&v| Operand::Var(v)).collect(),
    };
    let wrt: Vec<VarId> = spec.wrt.iter().map(|w| w.var).collect();
    let result = reverse::reverse(&f, act, &wrt, &seeds);
    finish(result.f, result.grads, extras)
}

pub fn forward(primal: &Function, act: &Activity, spec: &Spec) -> Derived {
    let mut f = primal.clone();
    let mut seeds = Vec::new();
    for w in spec.wrt.iter().filter(|w| w.param.is_some()) {
        let t = f.new_var(
            format!("tangent_{}", w.ident),
            w.ident.span(),
            Origin::Extra,
        );
        f.vars[t].shape = f.vars[w.var].shape.clone();
        f.vars[t].tensor = f.vars[w.var].tensor;
        f.vars[t].reference = f.vars[w.var].reference;
        seeds.push((w.var, Operand::Var(t)));
    }
    let extras = seeds.iter().filter_map(|(_, t)| t.var()).collect();
    let result = forward::forward(&f, act, &seeds);
    finish(result.f, result.tangents, extras)
}

/// Simplifies with the derivatives as extra roots, then splits them off again.
fn finish(mut f: Function, derivatives: Vec<Option<Operand>>, extras: Vec<VarId>) -> Derived {
    let outputs = f.outputs.len();
    f.outputs.extend(derivatives.iter().flatten().cloned());
    simplify::simplify(&mut f);
    let mut simplified = f.outputs.split_off(outputs).into_iter();
    let derivatives = derivatives
        .iter()
        .map(|d| d.as_ref().and_then(|_| simplified.next()))
        .collect();
    Derived {
        values: f.outputs.clone(),
        f,
        derivatives,
        extras,
    }
}
