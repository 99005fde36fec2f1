//! A 2-16-2 perceptron classifying the two-moons data set: softmax cross-entropy, Adam, and
//! gradients clipped by their global norm; draws the loss curve as an SVG:
//! `cargo run --example train_mlp`.
use std::path::{Path, PathBuf};
use std::time::Instant;

use autodiff::prelude::*;
use plotters::prelude::*;

/// Mean softmax cross-entropy of a tanh hidden layer and a linear output layer; `labels` is
/// one-hot.
#[differentiate(wrt = [w1, b1, w2, b2])]
pub(crate) fn cross_entropy(
    x: &Tensor<f64>,
    labels: &Tensor<f64>,
    w1: &Tensor<f64>,
    b1: &Tensor<f64>,
    w2: &Tensor<f64>,
    b2: &Tensor<f64>,
) -> f64 {
    let hidden = (x.matmul(w1) + b1).tanh();
    let logits = hidden.matmul(w2) + b2;
    -(labels * logits.log_softmax(1)).sum_axis(1).mean()
}

pub(crate) type Model = (Tensor<f64>, Tensor<f64>, Tensor<f64>, Tensor<f64>);

/// A linear congruential generator (Knuth's MMIX constants): uniform numbers in [-1, 1).
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

/// `n` points of two interleaved half circles with uniform noise of ±`noise`, centred; returns
/// the inputs `[n, 2]`, the one-hot labels `[n, 2]` and the classes.
fn two_moons(n: usize, noise: f64, rng: &mut Lcg) -> (Tensor<f64>, Tensor<f64>, Vec<usize>) {
    let (mut x, mut onehot, mut classes) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..n {
        let class = i % 2;
        let t = std::f64::consts::PI * (i / 2) as f64 / (n / 2 - 1) as f64;
        let (px, py) = if class == 0 {
            (t.cos(), t.sin())
        } else {
            (1.0 - t.cos(), 0.5 - t.sin())
        };
        x.push(px - 0.5 + noise * rng.uniform());
        x.push(py - 0.25 + noise * rng.uniform());
        onehot.extend(if class == 0 { [1.0, 0.0] } else { [0.0, 1.0] });
        classes.push(class);
    }
    (
        Tensor::from_vec(x, &[n, 2]),
        Tensor::from_vec(onehot, &[n, 2]),
        classes,
    )
}

/// Weights uniform in ±1/√fan_in, biases zero.
fn init(hidden: usize, rng: &mut Lcg) -> Model {
    let mut weights = |rows: usize, cols: usize| {
        let scale = 1.0 / (rows as f64).sqrt();
        let data = (0..rows * cols).map(|_| scale * rng.uniform()).collect();
        Tensor::from_vec(data, &[rows, cols])
    };
    let (w1, w2) = (weights(2, hidden), weights(hidden, 2));
    (w1, Tensor::zeros(&[hidden]), w2, Tensor::zeros(&[2]))
}

/// Fraction of points whose larger logit is their class.
pub(crate) fn accuracy(x: &Tensor<f64>, classes: &[usize], (w1, b1, w2, b2): &Model) -> f64 {
    let logits = (x.matmul(w1) + b1).tanh().matmul(w2) + b2;
    let correct = logits
        .as_slice()
        .chunks(2)
        .zip(classes)
        .filter(|(row, &class)| usize::from(row[1] > row[0]) == class)
        .count();
    correct as f64 / classes.len() as f64
}

fn plot(losses: &[f64], path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::new(path, (640, 400)).into_drawing_area();
    root.fill(&WHITE)?;
    let top = losses.iter().cloned().fold(f64::MIN, f64::max);
    let bottom = losses.iter().cloned().fold(f64::MAX, f64::min);
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "two moons, 2-16-2 MLP, Adam: training loss",
            ("sans-serif", 18),
        )
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(50)
        .build_cartesian_2d(0..losses.len(), (bottom * 0.8..top * 1.25).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("step")
        .y_desc("cross-entropy (log scale)")
        .draw()?;
    chart.draw_series(LineSeries::new(losses.iter().cloned().enumerate(), &BLUE))?;
    root.present()?;
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let start = Instant::now();
    let mut rng = Lcg(7);
    let (x, labels, classes) = two_moons(200, 0.3, &mut rng);
    let mut model = init(16, &mut rng);
    let mut opt = Adam::new(0.05);
    let (steps, clip) = (400, 0.25);
    let mut losses = Vec::with_capacity(steps);
    let mut clipped = 0;
    for step in 0..steps {
        let (w1, b1, w2, b2) = &model;
        let (loss, grads) = cross_entropy_grad(&x, &labels, w1, b1, w2, b2);
        let (grads, norm) = clip_by_global_norm(grads, clip);
        clipped += usize::from(norm > clip);
        opt.apply_gradients(&mut model, &grads);
        losses.push(loss);
        if step % 50 == 0 {
            println!(
                "step {step:4}  loss {loss:.4}  gradient norm {norm:.4}  accuracy {:.3}",
                accuracy(&x, &classes, &model)
            );
        }
    }
    let (w1, b1, w2, b2) = &model;
    let final_loss = cross_entropy(&x, &labels, w1, b1, w2, b2);
    let final_accuracy = accuracy(&x, &classes, &model);
    println!(
        "after {steps} steps: loss {final_loss:.4}, accuracy {final_accuracy:.3}, \
         {clipped} steps clipped to global norm {clip} ({:.2?})",
        start.elapsed()
    );

    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("train_mlp_loss.svg");
    plot(&losses, &path)?;
    println!("loss curve: {}", path.display());

    assert!(final_accuracy >= 0.9, "accuracy {final_accuracy}");
    Ok(())
}
