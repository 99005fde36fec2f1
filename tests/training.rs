//! Training end to end on generated gradients, with the models of `examples/train_linear.rs`
//! and `examples/train_mlp.rs` (shortened training loops): linear regression to zero loss,
//! and a 2-16-2 perceptron on two moons to at least 90% accuracy.
use autodiff::prelude::*;

/// Deterministic pseudo-random numbers in [-1, 1) (the shader hash: a plain `sin(a i)` would
/// make every three consecutive values linearly dependent).
fn noise(i: usize, seed: f64) -> f64 {
    (((i as f64 + seed) * 12.9898).sin() * 43758.5453)
        .fract()
        .abs()
        * 2.0
        - 1.0
}

// The examples' own models, so the tests train exactly what the examples show.
#[allow(dead_code)]
#[path = "../examples/train_linear.rs"]
mod train_linear;
#[allow(dead_code)]
#[path = "../examples/train_mlp.rs"]
mod train_mlp;
use train_linear::{loss as linear_loss, loss_grad as linear_loss_grad};
use train_mlp::{accuracy, cross_entropy_grad, Model};

#[test]
fn linear_regression_recovers_the_true_weights() {
    let (n, true_w, true_b) = (64, [1.5, -2.0, 0.25], -0.75);
    let x: Vec<f64> = (0..n * 3).map(|i| noise(i, 0.5)).collect();
    let y = x
        .chunks(3)
        .map(|r| r.iter().zip(true_w).map(|(a, w)| a * w).sum::<f64>() + true_b)
        .collect();
    let (x, y) = (Tensor::from_vec(x, &[n, 3]), Tensor::from_vec(y, &[n, 1]));
    let mut params = (Tensor::<f64>::zeros(&[3, 1]), Tensor::<f64>::zeros(&[1]));
    let mut opt = Momentum::new(0.1, 0.9);
    let first = opt.minimize(&mut params, |(w, b)| linear_loss_grad(&x, &y, w, b));
    for _ in 0..300 {
        opt.minimize(&mut params, |(w, b)| linear_loss_grad(&x, &y, w, b));
    }
    let (w, b) = &params;
    let last = linear_loss(&x, &y, w, b);
    assert!(first > 0.5, "initial loss {first}");
    assert!(last < 1e-10, "final loss {last:e}");
    for (learned, truth) in w.as_slice().iter().zip(true_w) {
        assert!((learned - truth).abs() < 1e-5, "w: {learned} vs {truth}");
    }
    assert!((b.as_slice()[0] - true_b).abs() < 1e-5, "b: {b:?}");
}

#[test]
fn mlp_classifies_two_moons() {
    // 200 points on two interleaved half circles, noise ±0.3; even points are class 0.
    let n = 200;
    let (mut x, mut onehot, mut classes) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..n {
        let t = std::f64::consts::PI * (i / 2) as f64 / (n / 2 - 1) as f64;
        let (px, py) = match i % 2 {
            0 => (t.cos(), t.sin()),
            _ => (1.0 - t.cos(), 0.5 - t.sin()),
        };
        x.extend([
            px - 0.5 + 0.3 * noise(i, 1.0),
            py - 0.25 + 0.3 * noise(i, 2.0),
        ]);
        onehot.extend(if i % 2 == 0 { [1.0, 0.0] } else { [0.0, 1.0] });
        classes.push(i % 2);
    }
    let (x, labels) = (
        Tensor::from_vec(x, &[n, 2]),
        Tensor::from_vec(onehot, &[n, 2]),
    );
    let w = |r: usize, c: usize, s: f64| {
        let data = (0..r * c)
            .map(|i| noise(i, s) / (r as f64).sqrt())
            .collect();
        Tensor::from_vec(data, &[r, c])
    };
    let mut model: Model = (
        w(2, 16, 3.0),
        Tensor::zeros(&[16]),
        w(16, 2, 4.0),
        Tensor::zeros(&[2]),
    );
    let before = accuracy(&x, &classes, &model);
    let mut opt = Adam::new(0.05);
    let mut losses = Vec::new();
    for _ in 0..300 {
        let (w1, b1, w2, b2) = &model;
        let (loss, grads) = cross_entropy_grad(&x, &labels, w1, b1, w2, b2);
        let (grads, norm) = clip_by_global_norm(grads, 0.25);
        assert!(
            global_norm(&grads) <= 0.25 * (1.0 + 1e-12),
            "clipped norm, from {norm}"
        );
        opt.apply_gradients(&mut model, &grads);
        losses.push(loss);
    }
    let after = accuracy(&x, &classes, &model);
    let (first, last) = (losses[0], *losses.last().unwrap());
    assert!(last < 0.2 * first, "loss {first} -> {last}");
    assert!(after >= 0.9, "accuracy {before} -> {after}");
}
