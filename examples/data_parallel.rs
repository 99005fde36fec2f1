//! Data-parallel training on one machine: the batch is split into shards, each shard's
//! gradient is computed by the generated `_grad` on its own rayon task, and the gradients are
//! summed leaf by leaf over the model's `Params` leaves in shard order
//! (`autodiff::allreduce::sum_in_order`), so the result does not depend on the number of
//! threads. Checks that it equals the one-thread gradient of the whole batch within 1e-12,
//! then trains a 784-256-10 perceptron for a few steps both ways and prints the speed-up:
//! `cargo run --release --example data_parallel` (`RAYON_NUM_THREADS` sets the threads).
use std::time::{Duration, Instant};

use autodiff::allreduce::sum_in_order;
use autodiff::prelude::*;
use rayon::prelude::*;

/// Softmax cross-entropy of a tanh hidden layer, summed over the rows of `x` and divided by
/// `batch`, the size of the whole batch: a shard's value and gradient are its share of the
/// batch mean, so the shards' gradients add up to the batch's.
#[differentiate(wrt = [w1, b1, w2, b2])]
fn cross_entropy_share(
    x: &Tensor<f64>,
    labels: &Tensor<f64>,
    w1: &Tensor<f64>,
    b1: &Tensor<f64>,
    w2: &Tensor<f64>,
    b2: &Tensor<f64>,
    batch: f64,
) -> f64 {
    let hidden = (x.matmul(w1) + b1).tanh();
    let logits = hidden.matmul(w2) + b2;
    -(labels * logits.log_softmax(1)).sum() / batch
}

type Model = (Tensor<f64>, Tensor<f64>, Tensor<f64>, Tensor<f64>);

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

/// Inputs `[n, d]` and one-hot labels `[n, classes]` of a synthetic problem: the class is the
/// largest of `classes` fixed random projections of the input.
fn data(n: usize, d: usize, classes: usize, rng: &mut Lcg) -> (Tensor<f64>, Tensor<f64>) {
    let x: Vec<f64> = (0..n * d).map(|_| rng.uniform()).collect();
    let proj: Vec<f64> = (0..d * classes).map(|_| rng.uniform()).collect();
    let mut onehot = vec![0.0; n * classes];
    for i in 0..n {
        let score = |c: usize| {
            (0..d)
                .map(|j| x[i * d + j] * proj[j * classes + c])
                .sum::<f64>()
        };
        let best = (0..classes)
            .max_by(|&a, &b| score(a).total_cmp(&score(b)))
            .unwrap();
        onehot[i * classes + best] = 1.0;
    }
    (
        Tensor::from_vec(x, &[n, d]),
        Tensor::from_vec(onehot, &[n, classes]),
    )
}

fn init(sizes: [usize; 3], rng: &mut Lcg) -> Model {
    let mut weights = |rows: usize, cols: usize| {
        let scale = 1.0 / (rows as f64).sqrt();
        let data = (0..rows * cols).map(|_| scale * rng.uniform()).collect();
        Tensor::from_vec(data, &[rows, cols])
    };
    let (w1, w2) = (weights(sizes[0], sizes[1]), weights(sizes[1], sizes[2]));
    (
        w1,
        Tensor::zeros(&[sizes[1]]),
        w2,
        Tensor::zeros(&[sizes[2]]),
    )
}

/// Rows `[start, end)` of a 2-d tensor, copied.
fn rows(t: &Tensor<f64>, start: usize, end: usize) -> Tensor<f64> {
    let cols = t.shape()[1];
    Tensor::from_vec(
        t.as_slice()[start * cols..end * cols].to_vec(),
        &[end - start, cols],
    )
}

/// The batch split into `shards` contiguous blocks of rows (the last ones one row shorter
/// when the batch does not divide evenly).
fn split(x: &Tensor<f64>, labels: &Tensor<f64>, shards: usize) -> Vec<(Tensor<f64>, Tensor<f64>)> {
    let n = x.shape()[0];
    (0..shards)
        .map(|s| {
            let (start, end) = (s * n / shards, (s + 1) * n / shards);
            (rows(x, start, end), rows(labels, start, end))
        })
        .collect()
}

/// Value and gradient of the whole batch on the calling thread.
fn serial_grad(model: &Model, x: &Tensor<f64>, labels: &Tensor<f64>) -> (f64, Model) {
    let (w1, b1, w2, b2) = model;
    cross_entropy_share_grad(x, labels, w1, b1, w2, b2, x.shape()[0] as f64)
}

/// Value and gradient of the whole batch: one rayon task per shard, then the all-reduce.
fn parallel_grad(
    model: &Model,
    shards: &[(Tensor<f64>, Tensor<f64>)],
    batch: usize,
) -> (f64, Model) {
    let (w1, b1, w2, b2) = model;
    // `collect` keeps the shards' order whichever task finishes first.
    let parts: Vec<(f64, Model)> = shards
        .par_iter()
        .map(|(x, labels)| cross_entropy_share_grad(x, labels, w1, b1, w2, b2, batch as f64))
        .collect();
    let value = parts.iter().map(|(v, _)| v).sum();
    let grads: Vec<Model> = parts.into_iter().map(|(_, g)| g).collect();
    let total = sum_in_order(&grads)
        .expect("every shard's gradient has the model's leaves")
        .expect("at least one shard");
    (value, total)
}

/// The largest difference between two gradients, leaf by leaf.
fn max_difference(a: &Model, b: &Model) -> f64 {
    let (mut la, mut lb) = (Vec::new(), Vec::new());
    a.visit(&mut |leaf| la.extend_from_slice(leaf));
    b.visit(&mut |leaf| lb.extend_from_slice(leaf));
    assert_eq!(la.len(), lb.len());
    la.iter()
        .zip(&lb)
        .map(|(p, q)| (p - q).abs())
        .fold(0.0, f64::max)
}

/// Trains for `steps` steps from `model` with `grad`, and returns the time and final loss.
fn train(
    mut model: Model,
    steps: usize,
    grad: impl Fn(&Model) -> (f64, Model),
) -> (Duration, f64, Model) {
    let mut opt = GradientDescent::new(0.5);
    let start = Instant::now();
    let mut loss = f64::NAN;
    for _ in 0..steps {
        let (value, grads) = grad(&model);
        opt.apply_gradients(&mut model, &grads);
        loss = value;
    }
    (start.elapsed(), loss, model)
}

fn main() {
    let (batch, sizes, shard_count, steps) = (512, [784, 256, 10], 4, 10);
    let mut rng = Lcg(17);
    let (x, labels) = data(batch, sizes[0], sizes[2], &mut rng);
    let model = init(sizes, &mut rng);
    let shards = split(&x, &labels, shard_count);
    let threads = rayon::current_num_threads();
    println!(
        "{}-{}-{} perceptron, batch {batch} in {shard_count} shards, {threads} rayon threads",
        sizes[0], sizes[1], sizes[2]
    );

    let (v1, g1) = serial_grad(&model, &x, &labels);
    let (vp, gp) = parallel_grad(&model, &shards, batch);
    let diff = max_difference(&g1, &gp);
    println!(
        "loss {v1:.12} (one thread) vs {vp:.12} (shards); largest gradient difference {diff:.2e}"
    );
    assert!((v1 - vp).abs() < 1e-12, "losses differ: {v1} vs {vp}");
    assert!(diff < 1e-12, "gradients differ by {diff}");
    // Reproducible: the same shards give the same bits on every run and thread count.
    let (_, again) = parallel_grad(&model, &shards, batch);
    assert_eq!(gp, again, "the all-reduce is not reproducible");

    let (t1, loss1, m1) = train(model.clone(), steps, |m| serial_grad(m, &x, &labels));
    let (tp, lossp, mp) = train(model, steps, |m| parallel_grad(m, &shards, batch));
    println!(
        "{steps} steps of gradient descent: one thread {t1:.2?} (loss {loss1:.6}), \
         {threads} threads {tp:.2?} (loss {lossp:.6}): speed-up {:.2}x",
        t1.as_secs_f64() / tp.as_secs_f64()
    );
    let drift = max_difference(&m1, &mp);
    println!("largest difference between the two trained models: {drift:.2e}");
    assert!(drift < 1e-10, "the trainings diverged by {drift}");
}
