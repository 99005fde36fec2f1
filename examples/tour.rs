//! A short tour of `differentiate`: `cargo run --example tour`.
use autodiff::prelude::*;

/// A function of two variables, written as plain Rust.
#[differentiate(wrt = [x, y])]
fn polar(x: f64, y: f64) -> f64 {
    let r = (x * x + y * y).sqrt();
    let t = y.atan2(x);
    r.ln() * t.cos() + x.tanh() * y.sinh()
}

/// TensorFlow's stop_gradients example: b = 2a, y = a + b, with b held constant.
#[differentiate(wrt = [a, b], stop = [b])]
fn stopped(a: f64) -> f64 {
    let b = 2.0 * a;
    a + b
}

/// Generic over the float type; two outputs.
#[differentiate]
fn two_outputs<T: Float>(x: T, y: T) -> (T, T) {
    let s = x.exp() * y;
    (s.sqrt(), x.max(y))
}

/// A loop over a slice: the gradient is a `Vec` of the slice's length.
#[differentiate(wrt = x)]
fn rosenbrock(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() - 1 {
        let a = x[i + 1] - x[i] * x[i];
        let b = 1.0 - x[i];
        s += 100.0 * a * a + b * b;
    }
    s
}

/// Calls: `rosenbrock` is differentiated through, and `scale` passes a gradient back to `k`
/// although its own `wrt` is only `x`.
#[differentiate(wrt = x)]
fn scale(x: f64, k: f64) -> f64 {
    x * k
}

#[differentiate(wrt = [x, k])]
fn composed(x: &[f64], k: f64) -> f64 {
    scale(rosenbrock(x), k).ln()
}

/// A scratch array created in the loop body and a call that returns a tuple: the array is
/// created once before the loop and refilled each iteration; each output of the call gets
/// its own tangent and adjoint.
#[differentiate(wrt = x)]
fn pairs(x: &[f64]) -> f64 {
    let mut total = 0.0;
    for i in 0..x.len() - 1 {
        let mut pair = [0.0; 2];
        pair[0] = x[i];
        pair[1] = x[i + 1];
        let (root, larger) = two_outputs(pair[0], pair[1]);
        total += root * larger;
    }
    total
}

/// Iterator sums and folds are differentiated as the loops they stand for.
#[differentiate(wrt = [x, y])]
fn cosine(x: &[f64], y: &[f64]) -> f64 {
    let dot: f64 = x.iter().zip(y.iter()).map(|(a, b)| a * b).sum();
    let nx = x.iter().map(|v| v * v).sum::<f64>().sqrt();
    let ny = y.iter().fold(0.0, |s, v| s + v * v).sqrt();
    dot / (nx * ny)
}

/// Tensors: a linear layer with a softmax cross-entropy.
#[differentiate(wrt = [w, b])]
fn classifier_loss(x: &Tensor<f64>, labels: &Tensor<f64>, w: &Tensor<f64>, b: &Tensor<f64>) -> f64 {
    let logits = x.matmul(w) + b;
    -(labels * logits.log_softmax(1)).sum() / 2.0
}

/// `unconnected = none`: `None` exactly where no path reaches the output.
#[differentiate(wrt = [x, unused], unconnected = none)]
fn partly_connected(x: f64, unused: f64) -> f64 {
    let _ignored = unused * 2.0;
    x * x
}

fn main() {
    let (value, (dx, dy)) = polar_grad(1.0, 2.0);
    assert_eq!(
        value,
        polar(1.0, 2.0),
        "f_grad returns the function's value too"
    );
    println!("polar(1, 2) = {value:.6}");
    println!("  gradient (reverse mode, f_grad):  ({dx:.6}, {dy:.6})");
    let (_, along_x) = polar_jvp(1.0, 2.0, 1.0, 0.0);
    println!("  d/dx by forward mode (f_jvp):      {along_x:.6}");
    let h = 1e-6;
    let fd = (polar(1.0 + h, 2.0) - polar(1.0 - h, 2.0)) / (2.0 * h);
    println!("  d/dx by finite differences:        {fd:.6}");

    let (_, (da, db)) = stopped_grad(0.0);
    println!(
        "stop_gradients example, b = 2a stopped: (da, db) = ({da}, {db})   (TensorFlow: 1, 1)"
    );

    let ((root, max), (gx, gy)) = two_outputs_grad::<f32>(0.5, 2.0);
    println!("two_outputs::<f32>(0.5, 2) = ({root:.4}, {max}); gradient of their sum = ({gx:.4}, {gy:.4})");
    let (_, seeded) = two_outputs_vjp(0.5_f64, 2.0, (1.0, 0.0));
    println!(
        "  vjp with seed (1, 0), the first output only: ({:.4}, {:.4})",
        seeded.0, seeded.1
    );

    let (_, (gx, gunused)) = partly_connected_grad(3.0, 1.0);
    println!("unconnected = none: ({gx:?}, {gunused:?})");

    let x = [-1.2, 1.0, 0.5];
    let (value, g) = rosenbrock_grad(&x);
    println!("rosenbrock({x:?}) = {value:.3}, gradient {g:.3?}");
    let (value, (gx, gk)) = composed_grad(&x, 2.0);
    println!("ln(scale(rosenbrock(x), k)) = {value:.4}; d/dk = {gk:.4} (= 1/k), d/dx = {gx:.3?}");
    let (value, (gx, _)) = cosine_grad(&x, &[1.0, 0.5, -0.5]);
    println!("cosine(x, y) = {value:.4} (iterator sums and a fold); d/dx = {gx:.4?}");
    let (value, g) = pairs_grad(&x);
    println!("pairs(x) = {value:.4} (a local array per iteration, a tuple-valued call); gradient {g:.4?}");

    let inputs = Tensor::from_vec(vec![0.5, -1.0, 1.5, 2.0], &[2, 2]);
    let labels = Tensor::from_vec(vec![1.0, 0.0, 0.0, 1.0], &[2, 2]);
    let (w, b) = (
        Tensor::from_vec(vec![0.1, -0.2, 0.3, 0.4], &[2, 2]),
        Tensor::zeros(&[2]),
    );
    let (loss, (gw, gb)) = classifier_loss_grad(&inputs, &labels, &w, &b);
    println!(
        "softmax classifier loss = {loss:.4}; dL/dw = {:.4?}, dL/db = {:.4?}",
        gw.as_slice(),
        gb.as_slice()
    );
}
