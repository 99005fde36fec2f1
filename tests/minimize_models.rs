//! `opt.minimize(&mut model, |m| m.loss_grad(&batch))` for every optimizer, on a
//! `#[derive(Params)]` model whose loss method returns the gradient as a model.
use autodiff::optim::schedule;
use autodiff::prelude::*;

#[differentiate(wrt = [w, b])]
fn mse(x: &Tensor<f64>, y: &Tensor<f64>, w: &Tensor<f64>, b: f64) -> f64 {
    let err = x.matmul(w) + b - y;
    (&err * &err).mean()
}

#[derive(Params, Debug, Clone, PartialEq)]
struct Affine {
    w: Tensor<f64>,
    b: f64,
}

struct Batch {
    x: Tensor<f64>,
    y: Tensor<f64>,
}

impl Affine {
    /// The loss and its gradient, shaped like the model (what `wrt = self` gives).
    fn loss_grad(&self, batch: &Batch) -> (f64, Affine) {
        let (loss, (w, b)) = mse_grad(&batch.x, &batch.y, &self.w, self.b);
        (loss, Affine { w, b })
    }
}

/// Points of y = 2 x0 - x1 + 0.5.
fn batch() -> Batch {
    let xs: Vec<f64> = (0..16).map(|i| ((i * 7 % 11) as f64) / 5.0 - 1.0).collect();
    let x = Tensor::from_vec(xs, &[8, 2]);
    let y = x.matmul(&Tensor::from([[2.0], [-1.0]])) + 0.5;
    Batch { x, y }
}

/// Trains from zero for `steps` steps, setting the learning rate of each step with `rate`;
/// returns the model, the first loss and the last.
fn train(
    opt: &mut impl Optimizer<f64>,
    steps: u64,
    rate: impl Fn(u64) -> Option<f64>,
) -> (Affine, f64, f64) {
    let batch = batch();
    let mut model = Affine {
        w: Tensor::zeros(&[2, 1]),
        b: 0.0,
    };
    let first = model.loss_grad(&batch).0;
    for step in 0..steps {
        if let Some(lr) = rate(step) {
            opt.set_learning_rate(lr);
        }
        let loss = opt.minimize(&mut model, |m| m.loss_grad(&batch));
        if step == 0 {
            assert_eq!(loss, first, "minimize returns the loss before the step");
        }
    }
    let last = model.loss_grad(&batch).0;
    (model, first, last)
}

#[test]
fn minimize_trains_a_struct_model_with_every_optimizer() {
    let constant = |_| None;
    let runs: Vec<(&str, (Affine, f64, f64))> = vec![
        (
            "GradientDescent",
            train(&mut GradientDescent::new(0.2), 800, constant),
        ),
        (
            "Momentum",
            train(&mut Momentum::new(0.05, 0.9), 500, constant),
        ),
        (
            "Nesterov",
            train(&mut Momentum::new(0.05, 0.9).nesterov(true), 500, constant),
        ),
        ("Adam", train(&mut Adam::new(0.05), 1500, constant)),
        (
            "RmsProp",
            train(&mut RmsProp::new(0.05), 1500, |s| {
                Some(schedule::cosine_decay(0.05, s, 1500, 0.0))
            }),
        ),
        (
            "RmsProp (centered)",
            train(&mut RmsProp::new(0.05).centered(true), 1500, |s| {
                Some(schedule::polynomial_decay(0.05, s, 1500, 1e-6, 2.0, false))
            }),
        ),
        ("Adagrad", train(&mut Adagrad::new(0.5), 1500, constant)),
        (
            "Box<dyn Optimizer>",
            train(
                &mut (Box::new(Adam::new(0.05)) as Box<dyn Optimizer<f64>>),
                1500,
                constant,
            ),
        ),
    ];
    for (name, (model, first, last)) in runs {
        assert!(first > 1.0, "{name}: first loss {first}");
        assert!(last < 1e-5, "{name}: last loss {last}, {model:?}");
        let w = model.w.as_slice();
        assert!(
            (w[0] - 2.0).abs() < 1e-2 && (w[1] + 1.0).abs() < 1e-2 && (model.b - 0.5).abs() < 1e-2,
            "{name}: {model:?}"
        );
    }
}

#[test]
fn minimize_with_per_variable_clipping_in_between() {
    // compute_gradients, clip each variable's gradient by norm 0.1, apply_gradients.
    let batch = batch();
    let mut model = Affine {
        w: Tensor::zeros(&[2, 1]),
        b: 0.0,
    };
    let mut opt = GradientDescent::new(1.0);
    let (_, mut grads) = model.loss_grad(&batch);
    let before = model.clone();
    for (_path, g, _v) in zip_leaves_mut(&mut grads, &model) {
        clip_slice_by_norm(g, 0.1);
    }
    assert!((global_norm(&grads.w) - 0.1).abs() < 1e-15);
    assert!((grads.b.abs() - 0.1).abs() < 1e-15);
    opt.apply_gradients(&mut model, &grads);
    assert!((global_norm(&(model.w.clone() - &before.w)) - 0.1).abs() < 1e-15);
    assert!(((model.b - before.b).abs() - 0.1).abs() < 1e-15);
}
