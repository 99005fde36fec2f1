//! Linear regression y = X w + b on a synthetic data set, trained by gradient descent on the
//! generated gradient: `cargo run --example train_linear`.
use autodiff::prelude::*;

/// Mean squared error of the linear model `x w + b`.
#[differentiate(wrt = [w, b])]
pub(crate) fn loss(x: &Tensor<f64>, y: &Tensor<f64>, w: &Tensor<f64>, b: &Tensor<f64>) -> f64 {
    let err = x.matmul(w) + b - y;
    (&err * &err).mean()
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

const TRUE_W: [f64; 3] = [2.0, -3.0, 0.5];
const TRUE_B: f64 = 1.5;

/// `n` samples of 3 features, targets from the true weights (no noise, so the loss can reach 0).
fn dataset(n: usize) -> (Tensor<f64>, Tensor<f64>) {
    let mut rng = Lcg(42);
    let x: Vec<f64> = (0..n * 3).map(|_| rng.uniform()).collect();
    let y = x
        .chunks(3)
        .map(|row| row.iter().zip(TRUE_W).map(|(a, w)| a * w).sum::<f64>() + TRUE_B)
        .collect();
    (Tensor::from_vec(x, &[n, 3]), Tensor::from_vec(y, &[n, 1]))
}

fn main() {
    let (x, y) = dataset(100);
    let mut params = (Tensor::<f64>::zeros(&[3, 1]), Tensor::<f64>::zeros(&[1]));
    let mut opt = GradientDescent::new(0.3);
    let steps = 200;
    for step in 0..steps {
        let l = opt.minimize(&mut params, |(w, b)| loss_grad(&x, &y, w, b));
        if step % 20 == 0 || step == steps - 1 {
            println!("step {step:4}  loss {l:.3e}");
        }
    }
    let (w, b) = &params;
    let final_loss = loss(&x, &y, w, b);
    println!("final loss after {steps} steps: {final_loss:.3e}");
    println!("parameter   learned      true");
    for (i, (learned, truth)) in w.as_slice().iter().zip(TRUE_W).enumerate() {
        println!("w[{i}]      {learned:10.6}  {truth:8.4}");
    }
    println!("b         {:10.6}  {TRUE_B:8.4}", b.as_slice()[0]);

    assert!(final_loss < 1e-6, "final loss {final_loss:e}");
    for (learned, truth) in w.as_slice().iter().zip(TRUE_W) {
        assert!((learned - truth).abs() < 1e-3, "w: {learned} vs {truth}");
    }
    assert!((b.as_slice()[0] - TRUE_B).abs() < 1e-3, "b: {b:?}");
}
