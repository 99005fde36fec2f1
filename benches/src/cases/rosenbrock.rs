//! Case 1: the chained Rosenbrock function over a slice,
//! `f(x) = Σ_{i<n-1} 100 (x[i+1] - x[i]²)² + (1 - x[i])²`.

use ad_trait::differentiable_function::{
    DerivativeMethodTrait, DifferentiableFunctionTrait, ReverseAD,
};
use ad_trait::reverse_ad::adr::adr;
use ad_trait::AD;
use autodiff::prelude::*;
use autodiff_peer::{F1, FT};
use nalgebra::DVector;
use num_dual::DualDVec64;

use super::Ours;

/// Our row: pending until `#[differentiate]` handles loops over slices. Only n = 2 is
/// measured, through the straight-line [`rosen2`].
pub const OURS: Ours = Ours::Pending("loops pending");

/// The primal.
pub fn rosen(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() - 1 {
        let a = x[i + 1] - x[i] * x[i];
        let b = 1.0 - x[i];
        s += 100.0 * a * a + b * b;
    }
    s
}

/// The hand-written gradient of `/work/shared/design/GENERATED.md` §2: the primal loop, then
/// one reverse loop that recomputes `a` and `b` from the read-only `x` (nothing saved).
pub fn rosen_grad_hand(x: &[f64]) -> (f64, Vec<f64>) {
    let n = x.len();
    let s = rosen(x);
    let mut a_x = vec![0.0; n];
    for i in (0..n - 1).rev() {
        let xi = x[i];
        let a = x[i + 1] - xi * xi;
        let b = 1.0 - xi;
        let a_a = 200.0 * a;
        let a_b = 2.0 * b;
        a_x[i + 1] += a_a;
        a_x[i] += -a_a * 2.0 * xi - a_b;
    }
    (s, a_x)
}

/// n = 2 as straight-line scalar code: the one Rosenbrock size the macro handles today.
#[differentiate(wrt = [x0, x1])]
pub fn rosen2(x0: f64, x1: f64) -> f64 {
    let a = x1 - x0 * x0;
    let b = 1.0 - x0;
    100.0 * a * a + b * b
}

/// THE SLOT FOR OUR GRADIENT OVER A SLICE.
///
/// Today this falls back to [`rosen_grad_hand`], because `#[differentiate]` does not yet
/// support loops over slices; [`OURS`] is `Pending`, so the benches do not time it as ours
/// and the report prints "n/a (loops pending)" for our rows.
///
/// When loops land: put `#[differentiate(wrt = [x])]` on [`rosen`], make this function call
/// the generated `rosen_grad`, and set [`OURS`] to `Ours::Generated`.
pub fn ours_rosen_grad(x: &[f64]) -> (f64, Vec<f64>) {
    rosen_grad_hand(x)
}

/// Peer num-dual: one forward pass with an n-dimensional (heap-allocated) dual vector.
pub fn num_dual_grad(x: &[f64]) -> (f64, Vec<f64>) {
    let v = DVector::from_column_slice(x);
    let (f, g) = num_dual::gradient(
        |v: DVector<DualDVec64>| {
            let mut s = DualDVec64::from(0.0);
            for i in 0..v.len() - 1 {
                let a = &v[i + 1] - &v[i] * &v[i];
                let b = -&v[i] + 1.0;
                s += &a * &a * 100.0 + &b * &b;
            }
            s
        },
        &v,
    );
    (f, g.as_slice().to_vec())
}

/// Peer `autodiff` 0.7: forward mode, one pass per input (its `grad`), value computed apart.
pub fn autodiff_peer_grad(x: &[f64]) -> (f64, Vec<f64>) {
    let g = autodiff_peer::grad(
        |v: &[FT<f64>]| {
            let mut s = F1::cst(0.0);
            for i in 0..v.len() - 1 {
                let a = v[i + 1] - v[i] * v[i];
                let b = F1::cst(1.0) - v[i];
                s += F1::cst(100.0) * a * a + b * b;
            }
            s
        },
        x,
    );
    (rosen(x), g)
}

/// Rosenbrock as an ad_trait differentiable function, generic over its AD scalar.
pub struct AdTraitRosen {
    /// Number of inputs.
    pub n: usize,
}

impl<T: AD> DifferentiableFunctionTrait<T> for AdTraitRosen {
    const NAME: &'static str = "rosenbrock";

    fn call(&self, x: &[T], _freeze: bool) -> Vec<T> {
        let mut s = T::constant(0.0);
        for i in 0..x.len() - 1 {
            let a = x[i + 1] - x[i] * x[i];
            let b = T::constant(1.0) - x[i];
            s += T::constant(100.0) * a * a + b * b;
        }
        vec![s]
    }

    fn num_inputs(&self) -> usize {
        self.n
    }

    fn num_outputs(&self) -> usize {
        1
    }
}

/// Peer ad_trait: reverse mode on its global tape (`adr`), through its `ReverseAD` method.
pub fn ad_trait_grad(x: &[f64]) -> (f64, Vec<f64>) {
    let f = AdTraitRosen { n: x.len() };
    let (value, jacobian) = ReverseAD::new().derivative::<AdTraitRosen>(x, &f);
    (value[0], jacobian.iter().copied().collect())
}

/// Keeps `adr` named: the tape type the peer records on.
pub type AdTraitScalar = adr;

/// Peer symdiff, n = 2: closed form generated at compile time (gradient only, no value).
#[symdiff::gradient(var = x, dim = 2)]
pub fn rosen2_sym(x: &[f64]) -> f64 {
    100.0 * (x[1] - x[0] * x[0]).powi(2) + (1.0 - x[0]).powi(2)
}

/// Peer symdiff, n = 10, written out term by term (symdiff takes no loops).
#[symdiff::gradient(var = x, dim = 10)]
pub fn rosen10_sym(x: &[f64]) -> f64 {
    100.0 * (x[1] - x[0] * x[0]).powi(2)
        + (1.0 - x[0]).powi(2)
        + 100.0 * (x[2] - x[1] * x[1]).powi(2)
        + (1.0 - x[1]).powi(2)
        + 100.0 * (x[3] - x[2] * x[2]).powi(2)
        + (1.0 - x[2]).powi(2)
        + 100.0 * (x[4] - x[3] * x[3]).powi(2)
        + (1.0 - x[3]).powi(2)
        + 100.0 * (x[5] - x[4] * x[4]).powi(2)
        + (1.0 - x[4]).powi(2)
        + 100.0 * (x[6] - x[5] * x[5]).powi(2)
        + (1.0 - x[5]).powi(2)
        + 100.0 * (x[7] - x[6] * x[6]).powi(2)
        + (1.0 - x[6]).powi(2)
        + 100.0 * (x[8] - x[7] * x[7]).powi(2)
        + (1.0 - x[7]).powi(2)
        + 100.0 * (x[9] - x[8] * x[8]).powi(2)
        + (1.0 - x[8]).powi(2)
}

/// The benchmark point of size `n` (deterministic, in [-1.5, 1.5)).
pub fn point(n: usize) -> Vec<f64> {
    crate::pseudo_random(n, 1 + n as u64, -1.5, 1.5)
}
