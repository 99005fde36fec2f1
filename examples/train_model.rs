//! A model kept in a struct, its loss a method with `wrt = self`, trained with `Adam` and
//! `clip_by_global_norm`: `cargo run --example train_model`.
//!
//! The classifier separates points inside a circle from those outside it, by logistic
//! regression on quadratic features. The gradient `loss_grad` returns is a `Classifier`
//! itself (each field holding its derivative), so clipping and the optimizer take it as is.
use autodiff::prelude::*;

#[derive(Params, Debug, Clone, PartialEq)]
struct Classifier {
    /// Weights of the features x, y, x², y², xy.
    w: [f64; 5],
    b: f64,
}

impl Classifier {
    /// The logit of one point.
    fn logit(&self, p: [f64; 2]) -> f64 {
        let f = [p[0], p[1], p[0] * p[0], p[1] * p[1], p[0] * p[1]];
        self.b + (0..5).map(|k| self.w[k] * f[k]).sum::<f64>()
    }

    /// Mean logistic loss over points `xs` (x, y pairs, flattened) with labels 0 or 1.
    #[differentiate(wrt = self)]
    fn loss(&self, xs: &[f64], labels: &[f64]) -> f64 {
        let mut total = 0.0;
        for i in 0..labels.len() {
            let (x, y) = (xs[2 * i], xs[2 * i + 1]);
            let z = self.b
                + self.w[0] * x
                + self.w[1] * y
                + self.w[2] * x * x
                + self.w[3] * y * y
                + self.w[4] * x * y;
            // log(1 + e^z) - label z, the cross-entropy of sigmoid(z).
            total += (1.0 + z.exp()).ln() - labels[i] * z;
        }
        total / labels.len() as f64
    }

    fn accuracy(&self, xs: &[f64], labels: &[f64]) -> f64 {
        let right = (0..labels.len())
            .filter(|&i| (self.logit([xs[2 * i], xs[2 * i + 1]]) > 0.0) == (labels[i] > 0.5))
            .count();
        right as f64 / labels.len() as f64
    }
}

/// A linear congruential generator: uniform numbers in [-1, 1).
struct Lcg(u64);

impl Lcg {
    fn uniform(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    }
}

/// `n` points in [-1.5, 1.5)², labelled 1 inside the circle of radius 1.
fn dataset(rng: &mut Lcg, n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut xs = Vec::with_capacity(2 * n);
    let mut labels = Vec::with_capacity(n);
    for _ in 0..n {
        let (x, y) = (1.5 * rng.uniform(), 1.5 * rng.uniform());
        xs.extend([x, y]);
        labels.push(if x * x + y * y < 1.0 { 1.0 } else { 0.0 });
    }
    (xs, labels)
}

fn main() {
    let mut rng = Lcg(7);
    let (train_x, train_y) = dataset(&mut rng, 200);
    let (test_x, test_y) = dataset(&mut rng, 100);
    let mut model = Classifier {
        w: [0.0; 5],
        b: 0.0,
    };
    let mut opt = Adam::new(0.05);
    for step in 0..=600 {
        let (loss, grad) = model.loss_grad(&train_x, &train_y);
        let (grad, _norm) = clip_by_global_norm(grad, 1.0);
        opt.apply_gradients(&mut model, &grad);
        if step % 100 == 0 {
            println!(
                "step {step:4}  loss {loss:.4}  held-out accuracy {:.2}",
                model.accuracy(&test_x, &test_y)
            );
        }
    }
    println!("learned {model:?}");
    let accuracy = model.accuracy(&test_x, &test_y);
    assert!(accuracy > 0.9, "held-out accuracy {accuracy}");
}
