//! Differentiating tensor code: every tensor operation's gradient against finite differences
//! element by element, for several shapes including broadcasting; forward against reverse
//! (the dot-product test) on a two-layer perceptron loss and a softmax cross-entropy.
use autodiff::prelude::*;

/// Shorthand for the tests; differentiated functions spell `Tensor<..>` out, which is how
/// the macro recognises tensor parameters.
type T = Tensor<f64>;

fn tensor(shape: &[usize], seed: f64) -> T {
    let n: usize = shape.iter().product();
    Tensor::from_vec(
        (0..n)
            .map(|i| ((i as f64 + seed) * 0.77).sin() * 1.3)
            .collect(),
        shape,
    )
}

/// Gradient of `f` at `x` by central differences, element by element.
fn numeric(f: impl Fn(&T) -> f64, x: &T) -> T {
    let h = 1e-6;
    let mut g = x.clone();
    for k in 0..x.len() {
        let (mut p, mut m) = (x.clone(), x.clone());
        p.as_mut_slice()[k] += h;
        m.as_mut_slice()[k] -= h;
        g.as_mut_slice()[k] = (f(&p) - f(&m)) / (2.0 * h);
    }
    g
}

fn assert_close(a: &T, b: &T, what: &str) {
    assert_eq!(a.shape(), b.shape(), "{what}: shapes");
    for (k, (x, y)) in a.as_slice().iter().zip(b.as_slice()).enumerate() {
        assert!(
            (x - y).abs() <= 1e-5 * (1.0 + x.abs().max(y.abs())),
            "{what}[{k}]: {x} vs {y}"
        );
    }
}

#[differentiate(wrt = [a, b])]
fn broadcast_ops(a: &Tensor<f64>, b: &Tensor<f64>, s: f64) -> f64 {
    let sum = a + b;
    let prod = a * b;
    let quotient = &prod / &(b * b + 1.0);
    let scaled = &sum * s - 2.0;
    (&scaled + &quotient).sum() + (-&prod).mean()
}

#[test]
fn broadcasting_arithmetic() {
    for (sa, sb) in [
        (vec![3, 1], vec![4]),
        (vec![2, 3], vec![3]),
        (vec![2, 3], vec![2, 3]),
        (vec![4], vec![1]),
    ] {
        let (a, b) = (tensor(&sa, 0.0), tensor(&sb, 5.0));
        let (value, (ga, gb)) = broadcast_ops_grad(&a, &b, 1.7);
        assert_eq!(value, broadcast_ops(&a, &b, 1.7));
        assert_close(
            &ga,
            &numeric(|a| broadcast_ops(a, &b, 1.7), &a),
            &format!("{sa:?}+{sb:?} a"),
        );
        assert_close(
            &gb,
            &numeric(|b| broadcast_ops(&a, b, 1.7), &b),
            &format!("{sa:?}+{sb:?} b"),
        );
    }
}

#[differentiate(wrt = [x, s])]
fn scalar_and_tensor(x: &Tensor<f64>, s: f64) -> f64 {
    let y = x * s + s;
    (&y * &y).sum() * s
}

#[test]
fn an_active_scalar_mixed_with_a_tensor_gets_the_summed_gradient() {
    let x = tensor(&[2, 3], 1.0);
    let (_, (gx, gs)) = scalar_and_tensor_grad(&x, 0.6);
    assert_close(&gx, &numeric(|x| scalar_and_tensor(x, 0.6), &x), "x");
    let h = 1e-6;
    let fd = (scalar_and_tensor(&x, 0.6 + h) - scalar_and_tensor(&x, 0.6 - h)) / (2.0 * h);
    assert!((gs - fd).abs() < 1e-5 * (1.0 + fd.abs()), "{gs} vs {fd}");
}

#[differentiate(wrt = x)]
fn maps(x: &Tensor<f64>) -> f64 {
    let a = x.tanh() * x.exp() + x.sin() * x.cos();
    let b =
        x.relu() + x.sigmoid() + x.square() + x.abs() + (x * x + 1.0).sqrt() + (x * x + 2.0).ln();
    let c = (x * x + 1.0).recip() + x.powi(3);
    (&a + &b + &c).sum()
}

#[test]
fn element_wise_maps() {
    let x = tensor(&[3, 4], 0.3);
    let (_, g) = maps_grad(&x);
    assert_close(&g, &numeric(maps, &x), "maps");
}

#[differentiate(wrt = x)]
fn reductions(x: &Tensor<f64>) -> f64 {
    let a = x.sum_axis(0).mean_axis(0).sum();
    let b = x.max_axis(1).sum();
    let c = x.logsumexp_axis(1).sum();
    let d = (x.softmax(1) * x).sum();
    let e = x.log_softmax(0).mean() + x.transpose().mean_axis(1).sum();
    a + b + c + d + e
}

#[test]
fn reductions_and_softmax() {
    let x = tensor(&[3, 4], 2.0);
    let (_, g) = reductions_grad(&x);
    assert_close(&g, &numeric(reductions, &x), "reductions");
}

#[differentiate(wrt = x)]
fn row_maxima(x: &Tensor<f64>) -> f64 {
    x.max_axis(1).sum()
}

#[test]
fn max_axis_with_ties_splits_the_gradient_as_tensorflow() {
    // TF 2.21, float64: x = [[2, 7, 7], [7, 7, 1]];
    // tf.gradients(tf.reduce_sum(tf.reduce_max(x, axis=1)), x) -> [[0, .5, .5], [.5, .5, 0]].
    let x = Tensor::from([[2.0, 7.0, 7.0], [7.0, 7.0, 1.0]]);
    let (y, g) = row_maxima_grad(&x);
    assert_eq!(y, 14.0);
    assert_eq!(g, Tensor::from([[0.0, 0.5, 0.5], [0.5, 0.5, 0.0]]));
    // Forward mode agrees with the split: the tangent is the mean of the tied tangents.
    let dx = Tensor::from([[1.0, 2.0, 4.0], [8.0, 16.0, 32.0]]);
    let (_, dy) = row_maxima_jvp(&x, &dx);
    assert_eq!(dy, 3.0 + 12.0);
}

// The perceptron of `examples/mlp.rs` itself (tanh hidden layer, mean squared error), so the
// test checks exactly what the example shows.
#[allow(dead_code)]
#[path = "../examples/mlp.rs"]
mod mlp_example;
use mlp_example::{mlp_loss, mlp_loss_grad, mlp_loss_jvp};

/// A softmax classifier's cross-entropy with one-hot labels.
#[differentiate(wrt = [w, b])]
fn softmax_cross_entropy(
    x: &Tensor<f64>,
    labels: &Tensor<f64>,
    w: &Tensor<f64>,
    b: &Tensor<f64>,
) -> f64 {
    let logits = x.matmul(w) + b;
    -(labels * logits.log_softmax(1)).sum() / 4.0
}

fn dot(a: &T, b: &T) -> f64 {
    (a * b).sum()
}

#[test]
fn two_layer_perceptron_forward_against_reverse_and_fd() {
    let (x, y) = (tensor(&[4, 3], 0.0), tensor(&[4, 2], 9.0));
    let (w1, b1, w2, b2) = (
        tensor(&[3, 5], 1.0),
        tensor(&[5], 2.0),
        tensor(&[5, 2], 3.0),
        tensor(&[2], 4.0),
    );
    let (value, (g1, gb1, g2, gb2)) = mlp_loss_grad(&x, &y, &w1, &b1, &w2, &b2);
    assert_eq!(value, mlp_loss(&x, &y, &w1, &b1, &w2, &b2));
    assert_close(
        &g1,
        &numeric(|w| mlp_loss(&x, &y, w, &b1, &w2, &b2), &w1),
        "w1",
    );
    assert_close(
        &gb2,
        &numeric(|b| mlp_loss(&x, &y, &w1, &b1, &w2, b), &b2),
        "b2",
    );
    let (u1, ub1, u2, ub2) = (
        tensor(&[3, 5], 7.0),
        tensor(&[5], 8.0),
        tensor(&[5, 2], 9.0),
        tensor(&[2], 10.0),
    );
    let (_, ju) = mlp_loss_jvp(&x, &y, &w1, &b1, &w2, &b2, &u1, &ub1, &u2, &ub2);
    let utg = dot(&u1, &g1) + dot(&ub1, &gb1) + dot(&u2, &g2) + dot(&ub2, &gb2);
    assert!((ju - utg).abs() < 1e-10 * (1.0 + ju.abs()), "{ju} vs {utg}");
}

#[test]
fn softmax_cross_entropy_forward_against_reverse_and_fd() {
    let x = tensor(&[4, 3], 0.5);
    let labels = Tensor::from_vec(
        vec![1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0],
        &[4, 3],
    );
    let (w, b) = (tensor(&[3, 3], 1.5), tensor(&[3], 2.5));
    let (_, (gw, gb)) = softmax_cross_entropy_grad(&x, &labels, &w, &b);
    assert_close(
        &gw,
        &numeric(|w| softmax_cross_entropy(&x, &labels, w, &b), &w),
        "w",
    );
    assert_close(
        &gb,
        &numeric(|b| softmax_cross_entropy(&x, &labels, &w, b), &b),
        "b",
    );
    let (uw, ub) = (tensor(&[3, 3], 3.0), tensor(&[3], 4.0));
    let (_, ju) = softmax_cross_entropy_jvp(&x, &labels, &w, &b, &uw, &ub);
    let utg = dot(&uw, &gw) + dot(&ub, &gb);
    assert!((ju - utg).abs() < 1e-10 * (1.0 + ju.abs()), "{ju} vs {utg}");
}

/// A tensor carried through a loop: each iteration's value is saved for the adjoint sweep.
#[differentiate(wrt = w)]
fn recurrent(x: &Tensor<f64>, w: &Tensor<f64>) -> f64 {
    let mut h = x.matmul(w);
    for _ in 0..3 {
        h = h.matmul(w).tanh() + x;
    }
    h.sum()
}

#[test]
fn tensors_carried_through_loops() {
    let (x, w) = (tensor(&[2, 3], 1.0), tensor(&[3, 3], 2.0) * 0.5);
    let (value, g) = recurrent_grad(&x, &w);
    assert_eq!(value, recurrent(&x, &w));
    assert_close(&g, &numeric(|w| recurrent(&x, w), &w), "w");
    let u = tensor(&[3, 3], 3.0);
    let (_, ju) = recurrent_jvp(&x, &w, &u);
    assert!((ju - dot(&u, &g)).abs() < 1e-10 * (1.0 + ju.abs()));
}

/// Issue 16: an L2 penalty scaled by a literal. In `_grad` the sum's cotangent is the
/// constant 0.1 (the seed 1 folded into it), which was passed by value to `sum_vjp`, which
/// takes `&T`: the expansion did not compile.
#[differentiate(wrt = w)]
fn l2_penalty(w: &Tensor<f64>) -> f64 {
    0.1 * w.square().sum()
}

/// The same penalty beside a data term, and a mean scaled by a literal on the other side.
#[differentiate(wrt = [w, b])]
fn penalised_loss(x: &Tensor<f64>, w: &Tensor<f64>, b: &Tensor<f64>) -> f64 {
    let z = (x.matmul(w) + b).tanh();
    z.mean() * 2.5 + 0.1 * w.square().sum() + b.sum() * 0.01
}

#[test]
fn a_penalty_scaled_by_a_literal_against_finite_differences() {
    for shape in [vec![2, 3], vec![5]] {
        let w = tensor(&shape, 2.0);
        let (value, g) = l2_penalty_grad(&w);
        assert_eq!(value, l2_penalty(&w));
        assert_close(&g, &numeric(l2_penalty, &w), "l2_penalty w");
        let (_, gv) = l2_penalty_vjp(&w, 2.0);
        assert_close(&gv, &(&g * 2.0), "l2_penalty vjp");
        let u = tensor(&shape, 4.0);
        let (_, ju) = l2_penalty_jvp(&w, &u);
        assert!((ju - dot(&u, &g)).abs() < 1e-10 * (1.0 + ju.abs()));
    }
    let (x, w, b) = (
        tensor(&[4, 3], 1.0),
        tensor(&[3, 2], 3.0),
        tensor(&[2], 5.0),
    );
    let (value, (gw, gb)) = penalised_loss_grad(&x, &w, &b);
    assert_eq!(value, penalised_loss(&x, &w, &b));
    assert_close(&gw, &numeric(|w| penalised_loss(&x, w, &b), &w), "w");
    assert_close(&gb, &numeric(|b| penalised_loss(&x, &w, b), &b), "b");
    let (uw, ub) = (tensor(&[3, 2], 6.0), tensor(&[2], 7.0));
    let (_, ju) = penalised_loss_jvp(&x, &w, &b, &uw, &ub);
    let utg = dot(&uw, &gw) + dot(&ub, &gb);
    assert!((ju - utg).abs() < 1e-10 * (1.0 + ju.abs()), "{ju} vs {utg}");
}
