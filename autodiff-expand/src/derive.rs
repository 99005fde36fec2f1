//! Runs the differentiation passes for the three generated functions: reverse mode seeded
//! with ones (`f_grad`) or with a seed parameter (`f_vjp`), and forward mode (`f_jvp`); each
//! result is simplified before it is emitted.
use crate::activity::Activity;
use crate::ir::{Function, Opaque, Operand, Origin, Rhs, Stmt, VarId};
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
    let mut act = act.clone();
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
    let seeds: Vec<Operand> = match seed {
        // A float output is seeded with 1; a tensor output with a tensor of ones of its
        // shape (TensorFlow's default `grad_ys`, `ones_like(ys)`), so `f_grad` is the
        // gradient of the sum of its elements; an array output gets 1 in every element
        // (the reverse sweep adds the constant element by element).
        Seed::Ones => primal
            .outputs
            .iter()
            .map(|o| match o.var() {
                Some(v) if !f.vars[v].is_array() && (f.vars[v].tensor || from_call(&f, v)) => {
                    Operand::Var(ones_like(&mut f, &mut act, v))
                }
                _ => Operand::Lit(1.0),
            })
            .collect(),
        Seed::Given => extras.iter().map(|&v| Operand::Var(v)).collect(),
    };
    let wrt: Vec<VarId> = spec.wrt.iter().map(|w| w.var).collect();
    let result = reverse::reverse(&f, &act, &wrt, &seeds);
    finish(result.f, result.grads, extras)
}

/// Whether `v` is the result of a call, whose type (a float or a tensor) the IR does not
/// know unless the `let` is annotated: `one_like` gives the seed of either.
pub fn from_call(f: &Function, v: VarId) -> bool {
    let mut found = false;
    crate::ir::walk(&f.body, &mut |s| {
        if let Stmt::Let {
            dst: Some(d),
            rhs: Rhs::Call(_),
            ..
        } = s
        {
            found |= *d == v;
        }
    });
    found
}

/// `let ones = OneLike::one_like(&out);` at the end of the primal body: a passive tensor of
/// ones shaped like the tensor output `out`, the seed of `f_grad`.
fn ones_like(f: &mut Function, act: &mut Activity, out: VarId) -> VarId {
    let span = Span::call_site();
    let ones = f.new_var("ones", span, Origin::Temp);
    f.vars[ones].tensor = true;
    let p = crate::emit::private();
    let placeholder = crate::ir::placeholder(out, span);
    let tokens = match f.vars[out].reference {
        true => quote::quote!(#p::OneLike::one_like(#placeholder)),
        false => quote::quote!(#p::OneLike::one_like(&#placeholder)),
    };
    f.body.push(Stmt::Let {
        dst: Some(ones),
        rhs: Rhs::Opaque(Opaque {
            tokens,
            reads: vec![out],
            passive_result: true,
            pure: true,
            what: "the seed of a tensor output".into(),
        }),
        span,
    });
    act.varied.push(false);
    act.useful.push(false);
    act.stopped.push(false);
    ones
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
