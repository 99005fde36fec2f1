//! Momentum, optionally Nesterov's (`tf.compat.v1.train.MomentumOptimizer`).
use super::{slots_filled, Optimizer, SlotStructure};
use crate::params::ParamsError;
use num_traits::Float;

/// Momentum (TensorFlow 1.x's `tf.compat.v1.train.MomentumOptimizer`, `use_nesterov=False` by
/// default): `accum = momentum * accum + g`, then `var -= lr * accum`; with
/// [`nesterov`](Momentum::nesterov), `var -= lr * g + lr * momentum * accum`. The accumulator starts at zero.
///
/// ```
/// use autodiff_core::optim::{Momentum, Optimizer};
///
/// let mut opt = Momentum::new(0.5_f64, 0.5);
/// let mut w = 0.0_f64;
/// opt.apply_gradients(&mut w, &1.0); // accum = 1, w = -0.5
/// opt.apply_gradients(&mut w, &1.0); // accum = 1.5, w = -1.25
/// assert_eq!(w, -1.25);
/// ```
#[derive(Debug, Clone)]
pub struct Momentum<T> {
    learning_rate: T,
    momentum: T,
    nesterov: bool,
    structure: SlotStructure,
    accum: Vec<Vec<T>>,
}

impl<T: Float> Momentum<T> {
    /// A momentum optimizer with learning rate `learning_rate` and momentum `momentum`.
    ///
    /// ```
    /// use autodiff_core::optim::{Momentum, Optimizer};
    ///
    /// assert_eq!(Momentum::new(0.1_f64, 0.9).learning_rate(), 0.1);
    /// ```
    pub fn new(learning_rate: T, momentum: T) -> Self {
        Momentum {
            learning_rate,
            momentum,
            nesterov: false,
            structure: SlotStructure::default(),
            accum: Vec::new(),
        }
    }

    /// Uses Nesterov momentum (`use_nesterov=True`) if `nesterov` is true.
    ///
    /// ```
    /// use autodiff_core::optim::{Momentum, Optimizer};
    ///
    /// let mut w = 0.0_f64;
    /// // accum = 1; w -= 0.5 * 1 + 0.5 * 0.5 * 1
    /// Momentum::new(0.5, 0.5).nesterov(true).apply_gradients(&mut w, &1.0);
    /// assert_eq!(w, -0.75);
    /// ```
    pub fn nesterov(mut self, nesterov: bool) -> Self {
        self.nesterov = nesterov;
        self
    }
}

impl<T: Float> Optimizer<T> for Momentum<T> {
    learning_rate_accessors!();

    fn try_apply_leaves(
        &mut self,
        params: &mut [&mut [T]],
        grads: &[&[T]],
    ) -> Result<(), ParamsError> {
        if let Some(lengths) = self.structure.check(params, grads)? {
            self.accum = slots_filled(&lengths, T::zero());
        }
        let (lr, momentum) = (self.learning_rate, self.momentum);
        for ((var, grad), accum) in params.iter_mut().zip(grads).zip(&mut self.accum) {
            for ((v, &g), a) in var.iter_mut().zip(grad.iter()).zip(accum.iter_mut()) {
                // TensorFlow's ApplyMomentum kernel, in its order of operations.
                *a = *a * momentum + g;
                if self.nesterov {
                    *v = *v - (g * lr + *a * momentum * lr);
                } else {
                    *v = *v - *a * lr;
                }
            }
        }
        Ok(())
    }
}
