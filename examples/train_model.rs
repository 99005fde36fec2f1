//! A model kept in a struct, its loss a method with `wrt = self`, trained with `Adam` and
//! `clip_by_global_norm`: `cargo run --example train_model`.
//!
//! A 2-16-16-2 perceptron (`Mlp { layers: Vec<Dense> }`, each `Dense` a weight and a bias
//! tensor) classifies the two-moons data set by softmax cross-entropy. `loss_grad` returns
//! the loss and a gradient that is an `Mlp` itself, each tensor holding its derivative, so
//! clipping and the optimizer take it as it is: no packing by hand. Prints the loss and the
//! held-out accuracy and draws the loss curve as an SVG (as `train_mlp` does).
use std::path::{Path, PathBuf};

use autodiff::prelude::*;
use plotters::prelude::*;

#[derive(Params, Debug, Clone, PartialEq)]
struct Dense {
    w: Tensor<f64>,
    b: Tensor<f64>,
}

#[derive(Params, Debug, Clone, PartialEq)]
struct Mlp {
    layers: Vec<Dense>,
}

/// Inputs `[n, 2]`, one-hot labels `[n, 2]` and the classes.
struct Batch {
    x: Tensor<f64>,
    labels: Tensor<f64>,
    classes: Vec<usize>,
}

impl Mlp {
    /// Mean softmax cross-entropy: tanh hidden layers, a linear output layer.
    #[differentiate(wrt = self)]
    fn loss(&self, batch: &Batch) -> f64 {
        let last = self.layers.len() - 1;
        // A tensor read from a struct that is not differentiated is given its type: the
        // macro reads types off the syntax.
        let mut h: Tensor<f64> = batch.x.clone();
        for l in 0..last {
            h = (h.matmul(&self.layers[l].w) + &self.layers[l].b).tanh();
        }
        let logits = h.matmul(&self.layers[last].w) + &self.layers[last].b;
        -(&batch.labels * logits.log_softmax(1)).sum_axis(1).mean()
    }

    /// Fraction of points whose larger logit is their class.
    fn accuracy(&self, batch: &Batch) -> f64 {
        let mut h = batch.x.clone();
        for (l, layer) in self.layers.iter().enumerate() {
            h = h.matmul(&layer.w) + &layer.b;
            if l + 1 < self.layers.len() {
                h = h.tanh();
            }
        }
        let correct = h
            .as_slice()
            .chunks(2)
            .zip(&batch.classes)
            .filter(|(row, &class)| usize::from(row[1] > row[0]) == class)
            .count();
        correct as f64 / batch.classes.len() as f64
    }
}

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

/// `n` points of two interleaved half circles with uniform noise of ±`noise`, centred.
fn two_moons(n: usize, noise: f64, rng: &mut Lcg) -> Batch {
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
    Batch {
        x: Tensor::from_vec(x, &[n, 2]),
        labels: Tensor::from_vec(onehot, &[n, 2]),
        classes,
    }
}

/// Layers of the given widths: weights uniform in ±1/√fan_in, biases zero.
fn init(widths: &[usize], rng: &mut Lcg) -> Mlp {
    let layers = widths
        .windows(2)
        .map(|io| {
            let (rows, cols) = (io[0], io[1]);
            let scale = 1.0 / (rows as f64).sqrt();
            let data = (0..rows * cols).map(|_| scale * rng.uniform()).collect();
            Dense {
                w: Tensor::from_vec(data, &[rows, cols]),
                b: Tensor::zeros(&[cols]),
            }
        })
        .collect();
    Mlp { layers }
}

fn plot(losses: &[f64], path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::new(path, (640, 400)).into_drawing_area();
    root.fill(&WHITE)?;
    let top = losses.iter().cloned().fold(f64::MIN, f64::max);
    let bottom = losses.iter().cloned().fold(f64::MAX, f64::min);
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "two moons, Mlp { layers: Vec<Dense> } 2-16-16-2, Adam: training loss",
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
    let mut rng = Lcg(7);
    let train = two_moons(200, 0.3, &mut rng);
    let held_out = two_moons(100, 0.3, &mut rng);
    let mut model = init(&[2, 16, 16, 2], &mut rng);
    let mut opt = Adam::new(0.02);
    let (steps, clip) = (400, 0.25);
    let mut losses = Vec::with_capacity(steps);
    let mut clipped = 0;
    for step in 0..steps {
        // The three lines of a training step: gradient, clipping, update.
        let (loss, grad) = model.loss_grad(&train);
        let (grad, norm) = clip_by_global_norm(grad, clip);
        opt.apply_gradients(&mut model, &grad);
        clipped += usize::from(norm > clip);
        losses.push(loss);
        if step % 50 == 0 {
            println!(
                "step {step:4}  loss {loss:.4}  gradient norm {norm:.4}  held-out accuracy {:.3}",
                model.accuracy(&held_out)
            );
        }
    }
    let (final_loss, accuracy) = (model.loss(&train), model.accuracy(&held_out));
    println!(
        "after {steps} steps: loss {final_loss:.4}, held-out accuracy {accuracy:.3}, \
         {clipped} steps clipped to global norm {clip}"
    );

    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("train_model_loss.svg");
    plot(&losses, &path)?;
    println!("loss curve: {}", path.display());

    assert!(accuracy >= 0.9, "held-out accuracy {accuracy}");
    Ok(())
}
