//! Plain gradient descent (`tf.compat.v1.train.GradientDescentOptimizer`).
use super::Optimizer;
use crate::params::{self, ParamsError};
use num_traits::Float;

/// Gradient descent: `var -= lr * g` (TensorFlow 1.x's
/// `tf.compat.v1.train.GradientDescentOptimizer`).
///
/// It keeps no slots, so unlike the other optimizers it accepts collections of any structure
/// from one step to the next.
///
/// ```
/// use autodiff_core::optim::{GradientDescent, Optimizer};
///
/// let mut w = vec![1.0_f64, -1.0];
/// GradientDescent::new(0.1).apply_gradients(&mut w, &vec![5.0, -5.0]);
/// assert_eq!(w, vec![0.5, -0.5]);
/// ```
#[derive(Debug, Clone)]
pub struct GradientDescent<T> {
    learning_rate: T,
}

impl<T: Float> GradientDescent<T> {
    /// A gradient-descent optimizer with learning rate `learning_rate`.
    ///
    /// ```
    /// use autodiff_core::optim::{GradientDescent, Optimizer};
    ///
    /// assert_eq!(GradientDescent::new(0.01_f32).learning_rate(), 0.01);
    /// ```
    pub fn new(learning_rate: T) -> Self {
        GradientDescent { learning_rate }
    }
}

impl<T: Float> Optimizer<T> for GradientDescent<T> {
    learning_rate_accessors!();

    fn try_apply_leaves(
        &mut self,
        params: &mut [&mut [T]],
        grads: &[&[T]],
    ) -> Result<(), ParamsError> {
        params::check_same_structure(params, grads)?;
        let lr = self.learning_rate;
        for (var, grad) in params.iter_mut().zip(grads) {
            for (v, &g) in var.iter_mut().zip(grad.iter()) {
                // TensorFlow's ApplyGradientDescent: var -= grad * lr.
                *v = *v - g * lr;
            }
        }
        Ok(())
    }
}
