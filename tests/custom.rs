//! Hand-written derivatives with `#[custom_derivative]`: a numerically better rule and a
//! function whose body the macro cannot differentiate, both called from `#[differentiate]`
//! functions (in expressions and in loops).
use autodiff::prelude::*;

/// softplus(x) = ln(1 + eˣ), written so it does not overflow for large x.
#[custom_derivative(forward = softplus_forward, reverse = softplus_reverse)]
fn softplus(x: f64) -> f64 {
    if x > 30.0 {
        x
    } else {
        x.exp().ln_1p()
    }
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

fn softplus_forward(x: f64, dx: f64) -> (f64, f64) {
    (softplus(x), sigmoid(x) * dx)
}

fn softplus_reverse(x: f64, seed: f64) -> (f64, (f64,)) {
    (softplus(x), (sigmoid(x) * seed,))
}

#[differentiate(wrt = [w, b])]
fn logistic_loss(w: f64, b: f64, x: f64, label: f64) -> f64 {
    let z = w * x + b;
    softplus(z) - label * z
}

#[test]
fn a_numerically_stable_rule_is_used_by_callers() {
    let (w, b, x, label) = (0.5, -0.2, 3.0, 1.0);
    let z: f64 = w * x + b;
    let (value, (dw, db)) = logistic_loss_grad(w, b, x, label);
    assert!((value - (z.exp().ln_1p() - label * z)).abs() < 1e-14);
    assert!((db - (sigmoid(z) - label)).abs() < 1e-14);
    assert!((dw - (sigmoid(z) - label) * x).abs() < 1e-14);
    // Far out, where exp overflows, the gradient is still exact.
    let (value, (_, db)) = logistic_loss_grad(1.0, 800.0, 1.0, 0.0);
    assert_eq!(value, 801.0);
    assert_eq!(db, 1.0);
    let (_, t) = logistic_loss_jvp(w, b, x, label, 1.0, 0.0);
    assert!((t - dw).abs() < 1e-14);
}

/// The Euclidean norm through an iterator chain, which the macro does not differentiate.
#[custom_derivative(forward = norm_forward, reverse = norm_reverse)]
fn norm(x: &[f64]) -> f64 {
    x.iter().map(|v| v * v).sum::<f64>().sqrt()
}

fn norm_forward(x: &[f64], dx: &[f64]) -> (f64, f64) {
    let n = norm(x);
    let dot: f64 = x.iter().zip(dx).map(|(a, b)| a * b).sum();
    (n, dot / n)
}

fn norm_reverse(x: &[f64], seed: f64) -> (f64, (Vec<f64>,)) {
    let n = norm(x);
    (n, (x.iter().map(|v| seed * v / n).collect(),))
}

#[differentiate(wrt = x)]
fn normalized_energy(x: &[f64], steps: usize) -> f64 {
    let mut total = 0.0;
    for k in 0..steps {
        total += norm(x) * (k as f64 + 1.0) + x[k % x.len()];
    }
    total
}

#[test]
fn a_function_the_macro_cannot_see_into() {
    let x = [3.0, 4.0, 12.0];
    let (value, g) = normalized_energy_grad(&x, 3);
    assert_eq!(value, 13.0 * 6.0 + 3.0 + 4.0 + 12.0);
    for k in 0..3 {
        let expected = 6.0 * x[k] / 13.0 + 1.0;
        assert!(
            (g[k] - expected).abs() < 1e-12,
            "[{k}] {} vs {expected}",
            g[k]
        );
    }
    let (_, t) = normalized_energy_jvp(&x, 3, &[1.0, 0.0, 0.0]);
    assert!((t - g[0]).abs() < 1e-12);
}
