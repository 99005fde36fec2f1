//! `Tensor<T>` as a parameter collection: optimizer steps and global-norm clipping on a tuple
//! holding a tensor, and on a `#[derive(Params)]` struct holding a tensor, an array and a
//! scalar.
use autodiff::prelude::*;

#[test]
fn a_tensor_is_one_leaf_in_row_major_order() {
    let t = Tensor::from([[1.0_f64, 2.0], [3.0, 4.0]]);
    let mut seen = Vec::new();
    t.visit(&mut |leaf| seen.push(leaf.to_vec()));
    assert_eq!(seen, vec![vec![1.0, 2.0, 3.0, 4.0]]);
    assert_eq!(t.zeros_like().shape(), &[2, 2]);
}

#[test]
fn optimizer_step_on_a_tuple_of_tensor_and_scalar() {
    let mut params = (Tensor::from([1.0_f64, 2.0, 3.0]), 4.0_f64);
    assert_eq!(params.leaf_lengths(), vec![3, 1]);
    let grads = (Tensor::from([2.0, -2.0, 0.0]), 8.0);
    GradientDescent::new(0.5).apply_gradients(&mut params, &grads);
    assert_eq!(params, (Tensor::from([0.0, 3.0, 3.0]), 0.0));
}

#[test]
fn minimize_a_tuple_with_adam_keeps_the_tensor_shape() {
    // Loss ½‖w - 1‖² + ½(b + 2)²: its gradient is (w - 1, b + 2).
    let target = Tensor::<f64>::ones(&[2, 2]);
    let mut params = (Tensor::<f64>::zeros(&[2, 2]), 0.0_f64);
    let mut opt = Adam::new(0.1);
    for _ in 0..500 {
        opt.minimize(&mut params, |(w, b)| {
            let residual = w - &target;
            let loss = 0.5 * (&residual * &residual).sum() + 0.5 * (b + 2.0).powi(2);
            (loss, (residual, b + 2.0))
        });
    }
    let (w, b) = &params;
    assert_eq!(w.shape(), &[2, 2]);
    assert!(w.as_slice().iter().all(|x| (x - 1.0).abs() < 1e-3), "{w:?}");
    assert!((b + 2.0).abs() < 1e-3, "{b}");
}

#[test]
fn clip_by_global_norm_on_a_tuple_of_tensor_and_scalar() {
    // Global norm of ([3, 0, 0], 4) is 5; clipping to 2.5 halves every entry.
    let grads = (Tensor::from([3.0_f64, 0.0, 0.0]), 4.0_f64);
    assert_eq!(global_norm(&grads), 5.0);
    let (clipped, norm) = clip_by_global_norm(grads, 2.5);
    assert_eq!(norm, 5.0);
    assert_eq!(clipped, (Tensor::from([1.5, 0.0, 0.0]), 2.0));
}

/// A model with a tensor, an array and a scalar.
#[derive(Params, Debug, Clone, PartialEq)]
struct Layer {
    weights: Tensor<f64>,
    bias: [f64; 2],
    scale: f64,
}

fn layer() -> Layer {
    Layer {
        weights: Tensor::from([[1.0, 2.0], [3.0, 4.0]]),
        bias: [5.0, 6.0],
        scale: 7.0,
    }
}

#[test]
fn derived_struct_with_a_tensor_has_the_fields_as_leaves() {
    let l = layer();
    assert_eq!(l.leaf_lengths(), vec![4, 2, 1]);
    let z = l.zeros_like();
    assert_eq!(z.weights, Tensor::zeros(&[2, 2]));
    assert_eq!((z.bias, z.scale), ([0.0, 0.0], 0.0));
}

#[test]
fn optimizer_step_on_a_derived_struct_with_a_tensor() {
    let mut l = layer();
    let grads = Layer {
        weights: Tensor::from([[2.0, 2.0], [-2.0, 0.0]]),
        bias: [1.0, -1.0],
        scale: 4.0,
    };
    GradientDescent::new(0.5).apply_gradients(&mut l, &grads);
    assert_eq!(
        l,
        Layer {
            weights: Tensor::from([[0.0, 1.0], [4.0, 4.0]]),
            bias: [4.5, 6.5],
            scale: 5.0,
        }
    );

    // Momentum keeps one slot per leaf, the tensor's included.
    let mut opt = Momentum::new(0.5, 0.5);
    opt.apply_gradients(&mut l, &grads);
    opt.apply_gradients(&mut l, &grads);
    // Two momentum steps move each entry by 0.5 g (1 + 1.5).
    assert_eq!(l.weights.get(&[1, 0]), Some(4.0 + 0.5 * 2.0 * 2.5));
    assert_eq!(l.scale, 5.0 - 0.5 * 4.0 * 2.5);
}

#[test]
fn clip_by_global_norm_on_a_derived_struct_with_a_tensor() {
    // Entries 6, 8 (tensor), 0, 0 (array), 0 (scalar): global norm 10.
    let grads = Layer {
        weights: Tensor::from([[6.0, 0.0], [0.0, 8.0]]),
        bias: [0.0, 0.0],
        scale: 0.0,
    };
    let (clipped, norm) = clip_by_global_norm(grads, 5.0);
    assert_eq!(norm, 10.0);
    assert_eq!(clipped.weights, Tensor::from([[3.0, 0.0], [0.0, 4.0]]));
    assert_eq!(clipped.weights.shape(), &[2, 2]);
}

#[test]
#[should_panic(
    expected = "the parameters have 3 leaves of lengths [4, 2, 1], the gradients have 3 leaves of lengths [3, 2, 1]"
)]
fn a_gradient_tensor_of_another_size_is_rejected() {
    let mut l = layer();
    let grads = Layer {
        weights: Tensor::zeros(&[3]),
        bias: [0.0; 2],
        scale: 0.0,
    };
    GradientDescent::new(0.1).apply_gradients(&mut l, &grads);
}
