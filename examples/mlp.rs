//! A two-layer perceptron's loss and its gradient, checked against a central finite
//! difference: `cargo run --example mlp`.
use autodiff::prelude::*;

/// Mean squared error of a perceptron with one tanh hidden layer.
#[differentiate(wrt = [w1, b1, w2, b2])]
pub(crate) fn mlp_loss(
    x: &Tensor<f64>,
    y: &Tensor<f64>,
    w1: &Tensor<f64>,
    b1: &Tensor<f64>,
    w2: &Tensor<f64>,
    b2: &Tensor<f64>,
) -> f64 {
    let hidden = (x.matmul(w1) + b1).tanh();
    let out = hidden.matmul(w2) + b2;
    let err = &out - y;
    (&err * &err).mean()
}

/// A deterministic tensor with entries in [-1, 1].
fn tensor(shape: &[usize], seed: f64) -> Tensor<f64> {
    let n: usize = shape.iter().product();
    let data = (0..n).map(|i| ((i as f64 + seed) * 0.77).sin()).collect();
    Tensor::from_vec(data, shape)
}

fn norm(t: &Tensor<f64>) -> f64 {
    t.as_slice().iter().map(|v| v * v).sum::<f64>().sqrt()
}

fn main() {
    // 8 samples, 3 inputs, 5 hidden units, 2 outputs.
    let (x, y) = (tensor(&[8, 3], 0.0), tensor(&[8, 2], 11.0));
    let (w1, b1) = (tensor(&[3, 5], 1.0), tensor(&[5], 2.0));
    let (w2, b2) = (tensor(&[5, 2], 3.0), tensor(&[2], 4.0));

    let (loss, (g_w1, g_b1, g_w2, g_b2)) = mlp_loss_grad(&x, &y, &w1, &b1, &w2, &b2);
    println!("loss = {loss:.9}");
    println!("gradient norms:");
    for (name, g) in [("w1", &g_w1), ("b1", &g_b1), ("w2", &g_w2), ("b2", &g_b2)] {
        println!(
            "  |d loss / d {name}| = {:.9}   (shape {:?})",
            norm(g),
            g.shape()
        );
    }

    // Gradient check: entry w1[1, 2] against a central finite difference.
    let (row, col) = (1, 2);
    let k = row * w1.shape()[1] + col;
    let h = 1e-5;
    let (mut plus, mut minus) = (w1.clone(), w1.clone());
    plus.as_mut_slice()[k] += h;
    minus.as_mut_slice()[k] -= h;
    let fd = (mlp_loss(&x, &y, &plus, &b1, &w2, &b2) - mlp_loss(&x, &y, &minus, &b1, &w2, &b2))
        / (2.0 * h);
    let analytic = g_w1.as_slice()[k];
    let rel = (analytic - fd).abs() / analytic.abs().max(fd.abs()).max(1e-12);
    println!(
        "gradient check w1[{row}, {col}]: reverse mode {analytic:.12}, finite difference {fd:.12}, relative error {rel:.2e}"
    );
    assert!(rel < 1e-6, "relative error {rel:e} is not below 1e-6");
}
