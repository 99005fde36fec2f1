//! Adagrad (`tf.compat.v1.train.AdagradOptimizer`).
use super::{lit, slots_filled, Optimizer, SlotStructure};
use crate::params::ParamsError;
use num_traits::Float;

/// Adagrad (TensorFlow 1.x's `tf.compat.v1.train.AdagradOptimizer`; the accumulator starts
/// at 0.1 by default): `acc += g²`, `var -= lr · g / √acc`.
///
/// ```
/// use autodiff_core::optim::{Adagrad, Optimizer};
///
/// let mut w = 0.0_f64;
/// Adagrad::new(1.0).initial_accumulator_value(0.0).apply_gradients(&mut w, &3.0);
/// assert_eq!(w, -1.0); // 3 / √9
/// ```
#[derive(Debug, Clone)]
pub struct Adagrad<T> {
    learning_rate: T,
    initial_accumulator_value: T,
    structure: SlotStructure,
    accum: Vec<Vec<T>>,
}

impl<T: Float> Adagrad<T> {
    /// An Adagrad optimizer with learning rate `learning_rate` and TensorFlow's initial
    /// accumulator value 0.1.
    ///
    /// ```
    /// use autodiff_core::optim::{Adagrad, Optimizer};
    ///
    /// let mut w = 0.0_f64;
    /// Adagrad::new(1.0).apply_gradients(&mut w, &1.0);
    /// assert!((w + 1.0 / 1.1_f64.sqrt()).abs() < 1e-12);
    /// ```
    pub fn new(learning_rate: T) -> Self {
        Adagrad {
            learning_rate,
            initial_accumulator_value: lit(0.1),
            structure: SlotStructure::default(),
            accum: Vec::new(),
        }
    }

    /// Sets the value the accumulator starts at (for slots not yet made).
    ///
    /// ```
    /// use autodiff_core::optim::{Adagrad, Optimizer};
    ///
    /// let mut w = 0.0_f64;
    /// Adagrad::new(1.0).initial_accumulator_value(3.0).apply_gradients(&mut w, &1.0);
    /// assert_eq!(w, -0.5); // 1 / √(3 + 1)
    /// ```
    pub fn initial_accumulator_value(mut self, value: T) -> Self {
        self.initial_accumulator_value = value;
        self
    }
}

impl<T: Float> Optimizer<T> for Adagrad<T> {
    learning_rate_accessors!();

    fn try_apply_leaves(
        &mut self,
        params: &mut [&mut [T]],
        grads: &[&[T]],
    ) -> Result<(), ParamsError> {
        if let Some(lengths) = self.structure.check(params, grads)? {
            self.accum = slots_filled(&lengths, self.initial_accumulator_value);
        }
        let lr = self.learning_rate;
        for ((var, grad), accum) in params.iter_mut().zip(grads).zip(&mut self.accum) {
            for ((x, &g), acc) in var.iter_mut().zip(grad.iter()).zip(accum.iter_mut()) {
                // TensorFlow's ApplyAdagrad kernel: var -= grad * lr * rsqrt(accum).
                *acc = *acc + g * g;
                *x = *x - g * lr * acc.sqrt().recip();
            }
        }
        Ok(())
    }
}
