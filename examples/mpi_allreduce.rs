//! The data-parallel gradient across MPI ranks: each rank takes its shard of the batch,
//! computes the shard's gradient with the generated `_grad`, and
//! `autodiff::allreduce::mpi::allreduce_sum` sums the gradients leaf by leaf in rank order,
//! so every rank holds the same bits. Rank 0 checks the result against the one-process
//! gradient of the whole batch (within 1e-12), then all ranks train a few steps in lockstep.
//!
//! ```text
//! scripts/mpi.sh                      # installs OpenMPI, builds, runs with mpirun -n 2
//! cargo build --release --features mpi --example mpi_allreduce
//! mpirun -n 2 target/release/examples/mpi_allreduce   # as root: mpirun --allow-run-as-root
//! ```
use autodiff::allreduce::mpi::allreduce_sum;
use autodiff::prelude::*;
use mpi::traits::{Communicator, CommunicatorCollectives};

/// Softmax cross-entropy summed over the rows of `x` and divided by the whole batch's size,
/// so the ranks' gradients add up to the batch's.
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

/// Deterministic values in [-1, 1): every rank generates the same data and model.
fn uniform(n: usize, seed: u64) -> Vec<f64> {
    let mut state = seed;
    (0..n)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
        })
        .collect()
}

fn rows(t: &Tensor<f64>, start: usize, end: usize) -> Tensor<f64> {
    let cols = t.shape()[1];
    Tensor::from_vec(
        t.as_slice()[start * cols..end * cols].to_vec(),
        &[end - start, cols],
    )
}

fn flat(m: &Model) -> Vec<f64> {
    let mut out = Vec::new();
    m.visit(&mut |leaf| out.extend_from_slice(leaf));
    out
}

fn main() {
    let universe = mpi::initialize().expect("MPI is initialised once");
    let world = universe.world();
    let (rank, size) = (world.rank() as usize, world.size() as usize);

    let (batch, d, hidden, classes) = (256, 64, 128, 10);
    let x = Tensor::from_vec(uniform(batch * d, 1), &[batch, d]);
    let mut onehot = vec![0.0; batch * classes];
    for (i, u) in uniform(batch, 2).iter().enumerate() {
        onehot[i * classes + ((u + 1.0) / 2.0 * classes as f64) as usize % classes] = 1.0;
    }
    let labels = Tensor::from_vec(onehot, &[batch, classes]);
    let scaled =
        |v: Vec<f64>, fan_in: usize| v.into_iter().map(|w| w / (fan_in as f64).sqrt()).collect();
    let mut model: Model = (
        Tensor::from_vec(scaled(uniform(d * hidden, 3), d), &[d, hidden]),
        Tensor::zeros(&[hidden]),
        Tensor::from_vec(
            scaled(uniform(hidden * classes, 4), hidden),
            &[hidden, classes],
        ),
        Tensor::zeros(&[classes]),
    );

    // This rank's shard: a contiguous block of rows.
    let (start, end) = (rank * batch / size, (rank + 1) * batch / size);
    let (xs, ls) = (rows(&x, start, end), rows(&labels, start, end));
    let shard_grad = |m: &Model| {
        let (w1, b1, w2, b2) = m;
        cross_entropy_share_grad(&xs, &ls, w1, b1, w2, b2, batch as f64)
    };

    let (_, mut grads) = shard_grad(&model);
    allreduce_sum(&world, &mut grads);
    // Every rank got the same bits: gather rank 0's checksum bits and compare.
    let bits: u64 = flat(&grads)
        .iter()
        .fold(0, |acc, v| acc.rotate_left(5) ^ v.to_bits());
    let mut all_bits = vec![0u64; size];
    world.all_gather_into(&bits, &mut all_bits[..]);
    assert!(
        all_bits.iter().all(|&b| b == bits),
        "ranks disagree: {all_bits:x?}"
    );
    if rank == 0 {
        let (w1, b1, w2, b2) = &model;
        let (_, whole) = cross_entropy_share_grad(&x, &labels, w1, b1, w2, b2, batch as f64);
        let diff = flat(&whole)
            .iter()
            .zip(flat(&grads))
            .map(|(p, q)| (p - q).abs())
            .fold(0.0, f64::max);
        println!(
            "{size} ranks, batch {batch} ({d}-{hidden}-{classes}): all-reduced gradient vs \
             one process: largest difference {diff:.2e}; every rank holds the same bits"
        );
        assert!(diff < 1e-12, "gradients differ by {diff}");
    }

    // A few steps in lockstep: the same summed gradient on every rank keeps the models equal.
    let mut opt = GradientDescent::new(0.5);
    for step in 0..5 {
        let (value, mut grads) = shard_grad(&model);
        allreduce_sum(&world, &mut grads);
        opt.apply_gradients(&mut model, &grads);
        let mut loss = 0.0;
        world.all_reduce_into(&value, &mut loss, mpi::collective::SystemOperation::sum());
        if rank == 0 {
            println!("step {step}: loss {loss:.6}");
        }
    }
}
