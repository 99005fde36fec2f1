//! Case 4: the loss of a two-layer perceptron over a batch, on `autodiff::Tensor`.
//!
//! `h = tanh(X·W1 + b1)`, `z = h·W2 + b2`; the loss is the mean squared error against
//! targets when there is one output (8-16-1), and the mean cross-entropy of
//! `log_softmax(z, 1)` against one-hot labels otherwise (64-128-10).

use autodiff::tensor::{log_softmax_vjp, matmul_vjp, unbroadcast};
use autodiff::Tensor;

use super::Ours;

/// Our row: pending until `#[differentiate]` handles tensor code.
pub const OURS: Ours = Ours::Pending("tensors pending");

/// The weights.
#[derive(Clone, Debug, PartialEq)]
pub struct Params {
    /// `[inputs, hidden]`.
    pub w1: Tensor<f64>,
    /// `[hidden]`.
    pub b1: Tensor<f64>,
    /// `[hidden, outputs]`.
    pub w2: Tensor<f64>,
    /// `[outputs]`.
    pub b2: Tensor<f64>,
}

/// A batch: inputs `[batch, inputs]` and targets `[batch, outputs]` (regression targets for
/// one output, one-hot labels for several).
#[derive(Clone, Debug)]
pub struct Batch {
    /// Inputs.
    pub x: Tensor<f64>,
    /// Targets.
    pub t: Tensor<f64>,
}

/// A deterministic problem of the given sizes: weights scaled by `1/sqrt(fan_in)`.
pub fn problem(batch: usize, inputs: usize, hidden: usize, outputs: usize) -> (Params, Batch) {
    let seed = (inputs * 1000 + hidden * 10 + outputs) as u64;
    let rand = |n: usize, s: u64, scale: f64| crate::pseudo_random(n, seed + s, -scale, scale);
    let params = Params {
        w1: Tensor::from_vec(
            rand(inputs * hidden, 1, 1.0 / (inputs as f64).sqrt()),
            &[inputs, hidden],
        ),
        b1: Tensor::from_vec(rand(hidden, 2, 0.1), &[hidden]),
        w2: Tensor::from_vec(
            rand(hidden * outputs, 3, 1.0 / (hidden as f64).sqrt()),
            &[hidden, outputs],
        ),
        b2: Tensor::from_vec(rand(outputs, 4, 0.1), &[outputs]),
    };
    let x = Tensor::from_vec(rand(batch * inputs, 5, 1.0), &[batch, inputs]);
    let t = if outputs == 1 {
        Tensor::from_vec(rand(batch, 6, 1.0), &[batch, 1])
    } else {
        let labels = rand(batch, 6, 1.0);
        let mut onehot = vec![0.0; batch * outputs];
        for (i, u) in labels.iter().enumerate() {
            let class = (((u + 1.0) / 2.0) * outputs as f64) as usize;
            onehot[i * outputs + class.min(outputs - 1)] = 1.0;
        }
        Tensor::from_vec(onehot, &[batch, outputs])
    };
    (params, Batch { x, t })
}

/// The primal loss.
pub fn loss(p: &Params, b: &Batch) -> f64 {
    let h = (b.x.matmul(&p.w1) + &p.b1).tanh();
    let z = h.matmul(&p.w2) + &p.b2;
    if z.shape()[1] == 1 {
        let r = z - &b.t;
        (&r * &r).mean()
    } else {
        -(&b.t * &z.log_softmax(1)).sum() / b.x.shape()[0] as f64
    }
}

/// Hand-written gradient with the library's derivative helpers: one forward sweep keeping
/// `h` (and `log_softmax(z)`), then the VJPs in reverse order.
pub fn loss_grad_hand(p: &Params, b: &Batch) -> (f64, Params) {
    let batch = b.x.shape()[0] as f64;
    let h = (b.x.matmul(&p.w1) + &p.b1).tanh();
    let z = h.matmul(&p.w2) + &p.b2;
    let (value, g_z) = if z.shape()[1] == 1 {
        let r = z - &b.t;
        let n = r.len() as f64;
        let value = (&r * &r).mean();
        (value, r * (2.0 / n))
    } else {
        let lsm = z.log_softmax(1);
        let value = -(&b.t * &lsm).sum() / batch;
        let g_lsm = &b.t * (-1.0 / batch);
        (value, log_softmax_vjp(&lsm, 1, &g_lsm))
    };
    let g_b2 = unbroadcast(&g_z, p.b2.shape());
    let (g_h, g_w2) = matmul_vjp(&h, &p.w2, &g_z);
    let g_z1 = g_h * &(1.0 - &h * &h);
    let g_b1 = unbroadcast(&g_z1, p.b1.shape());
    // X is data: only the weight half of matmul's VJP, Xᵀ·g.
    let g_w1 = b.x.transpose().matmul(&g_z1);
    let grad = Params {
        w1: g_w1,
        b1: g_b1,
        w2: g_w2,
        b2: g_b2,
    };
    (value, grad)
}

/// THE SLOT FOR OUR GRADIENT. Falls back to [`loss_grad_hand`] until `#[differentiate]`
/// supports tensor code; [`OURS`] is `Pending`, so it is never timed or reported as ours.
/// When tensors land: put `#[differentiate(wrt = [w1, b1, w2, b2])]` on a free-function
/// version of [`loss`], call its `_grad` here, and set [`OURS`] to `Ours::Generated`.
pub fn ours_loss_grad(p: &Params, b: &Batch) -> (f64, Params) {
    loss_grad_hand(p, b)
}

/// The benchmarked shapes: (name, batch, inputs, hidden, outputs).
pub const SHAPES: [(&str, usize, usize, usize, usize); 2] =
    [("8-16-1", 32, 8, 16, 1), ("64-128-10", 32, 64, 128, 10)];
