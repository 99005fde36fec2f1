//! Case 2: LogSumExp, `f(x) = m + ln Σ exp(x[i] - m)` with `m = max(x)`; its gradient is
//! softmax(x).
//!
//! The shift `m` is treated as a constant by every version: f is exactly invariant to it, so
//! the gradient is the same, and no version has to differentiate `max`.

use ad_trait::differentiable_function::{
    DerivativeMethodTrait, DifferentiableFunctionTrait, ReverseAD,
};
use ad_trait::AD;
use autodiff_peer::{F1, FT};
use nalgebra::DVector;
use num_dual::{DualDVec64, DualNum};
use num_traits::Float;

use super::Ours;

/// Our row: pending until `#[differentiate]` handles loops over slices.
pub const OURS: Ours = Ours::Pending("loops pending");

fn max(x: &[f64]) -> f64 {
    x.iter().copied().fold(f64::NEG_INFINITY, f64::max)
}

/// The primal.
pub fn logsumexp(x: &[f64]) -> f64 {
    let m = max(x);
    let mut s = 0.0;
    for &xi in x {
        s += (xi - m).exp();
    }
    m + s.ln()
}

/// Hand-written gradient: the softmax, with the exponentials of the primal sweep kept in the
/// output buffer and scaled in place (one allocation, the gradient itself).
pub fn logsumexp_grad_hand(x: &[f64]) -> (f64, Vec<f64>) {
    let m = max(x);
    let mut g: Vec<f64> = x.iter().map(|&xi| (xi - m).exp()).collect();
    let s: f64 = g.iter().sum();
    let inv = 1.0 / s;
    for gi in &mut g {
        *gi *= inv;
    }
    (m + s.ln(), g)
}

/// THE SLOT FOR OUR GRADIENT. Falls back to [`logsumexp_grad_hand`] until `#[differentiate]`
/// supports loops over slices; [`OURS`] is `Pending`, so it is never timed or reported as ours.
///
/// When loops land: put `#[differentiate(wrt = [x])]` on [`logsumexp`] (with `m` under
/// `stop_gradient`), call the generated `logsumexp_grad` here, and set [`OURS`] to
/// `Ours::Generated`.
pub fn ours_logsumexp_grad(x: &[f64]) -> (f64, Vec<f64>) {
    logsumexp_grad_hand(x)
}

/// Peer num-dual: one forward pass with an n-dimensional dual vector.
pub fn num_dual_grad(x: &[f64]) -> (f64, Vec<f64>) {
    let m = max(x);
    let v = DVector::from_column_slice(x);
    let (f, g) = num_dual::gradient(
        |v: DVector<DualDVec64>| {
            let mut s = DualDVec64::from(0.0);
            for xi in v.iter() {
                s += (xi.clone() - m).exp();
            }
            s.ln() + m
        },
        &v,
    );
    (f, g.as_slice().to_vec())
}

/// Peer `autodiff` 0.7: forward mode, one pass per input, value computed apart.
pub fn autodiff_peer_grad(x: &[f64]) -> (f64, Vec<f64>) {
    let m = max(x);
    let g = autodiff_peer::grad(
        |v: &[FT<f64>]| {
            let mut s = F1::cst(0.0);
            for &xi in v {
                s += (xi - F1::cst(m)).exp();
            }
            s.ln() + F1::cst(m)
        },
        x,
    );
    (logsumexp(x), g)
}

/// LogSumExp as an ad_trait differentiable function (the shift is a constant, as above).
pub struct AdTraitLse {
    /// Number of inputs.
    pub n: usize,
}

impl<T: AD> DifferentiableFunctionTrait<T> for AdTraitLse {
    const NAME: &'static str = "logsumexp";

    fn call(&self, x: &[T], _freeze: bool) -> Vec<T> {
        let m = x
            .iter()
            .map(|xi| xi.to_constant())
            .fold(f64::NEG_INFINITY, f64::max);
        let m = T::constant(m);
        let mut s = T::constant(0.0);
        for &xi in x {
            s += (xi - m).exp();
        }
        vec![s.ln() + m]
    }

    fn num_inputs(&self) -> usize {
        self.n
    }

    fn num_outputs(&self) -> usize {
        1
    }
}

/// Peer ad_trait: reverse mode on its global tape.
pub fn ad_trait_grad(x: &[f64]) -> (f64, Vec<f64>) {
    let f = AdTraitLse { n: x.len() };
    let (value, jacobian) = ReverseAD::new().derivative::<AdTraitLse>(x, &f);
    (value[0], jacobian.iter().copied().collect())
}

/// The benchmark point of size `n` (deterministic, in [-5, 5)).
pub fn point(n: usize) -> Vec<f64> {
    crate::pseudo_random(n, 7 + n as u64, -5.0, 5.0)
}
