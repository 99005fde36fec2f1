//! Adam (`tf.compat.v1.train.AdamOptimizer`).
use super::{lit, slots_filled, Optimizer, SlotStructure};
use crate::params::ParamsError;
use num_traits::Float;

/// Adam (TensorFlow 1.x's `tf.compat.v1.train.AdamOptimizer`; β1 = 0.9, β2 = 0.999,
/// ε = 1e-8 by default).
///
/// At step t (from 1), with `m` and `v` starting at zero:
/// `m = β1 m + (1-β1) g`, `v = β2 v + (1-β2) g²`, `lr_t = lr · √(1-β2^t) / (1-β1^t)`,
/// `var -= lr_t · m / (√v + ε)`.
///
/// To match TensorFlow bit for bit it computes as TensorFlow's kernel does: `m += (g - m)(1-β1)`,
/// and `β^t` as a running product (TensorFlow's `beta1_power` variable) rather than a power.
///
/// ```
/// use autodiff_core::optim::{Adam, Optimizer};
///
/// let mut w = 1.0_f64;
/// Adam::new(0.1).apply_gradients(&mut w, &2.0);
/// // The first step of Adam moves each entry by about lr, whatever the gradient's size.
/// assert!((w - 0.9).abs() < 1e-7);
/// ```
#[derive(Debug, Clone)]
pub struct Adam<T> {
    learning_rate: T,
    beta1: T,
    beta2: T,
    epsilon: T,
    beta1_power: T,
    beta2_power: T,
    structure: SlotStructure,
    m: Vec<Vec<T>>,
    v: Vec<Vec<T>>,
}

impl<T: Float> Adam<T> {
    /// An Adam optimizer with learning rate `learning_rate` and TensorFlow's defaults
    /// β1 = 0.9, β2 = 0.999, ε = 1e-8.
    ///
    /// ```
    /// use autodiff_core::optim::{Adam, Optimizer};
    ///
    /// assert_eq!(Adam::new(0.001_f64).learning_rate(), 0.001);
    /// ```
    pub fn new(learning_rate: T) -> Self {
        Adam {
            learning_rate,
            beta1: lit(0.9),
            beta2: lit(0.999),
            epsilon: lit(1e-8),
            beta1_power: T::one(),
            beta2_power: T::one(),
            structure: SlotStructure::default(),
            m: Vec::new(),
            v: Vec::new(),
        }
    }

    /// Sets β1, the decay rate of the first-moment estimate `m`.
    ///
    /// ```
    /// use autodiff_core::optim::{Adam, Optimizer};
    ///
    /// // With β1 = 0 the step is lr · √(1-β2) g / (√((1-β2) g²) + ε) ≈ lr.
    /// let mut w = 0.0_f64;
    /// Adam::new(0.5).beta1(0.0).apply_gradients(&mut w, &3.0);
    /// assert!((w + 0.5).abs() < 1e-6);
    /// ```
    pub fn beta1(mut self, beta1: T) -> Self {
        self.beta1 = beta1;
        self
    }

    /// Sets β2, the decay rate of the second-moment estimate `v`.
    ///
    /// ```
    /// use autodiff_core::optim::{Adam, Optimizer};
    ///
    /// let mut w = 0.0_f64;
    /// Adam::new(0.5).beta2(0.5).apply_gradients(&mut w, &3.0);
    /// assert!((w + 0.5).abs() < 1e-6);
    /// ```
    pub fn beta2(mut self, beta2: T) -> Self {
        self.beta2 = beta2;
        self
    }

    /// Sets ε, added to `√v` in the denominator.
    ///
    /// ```
    /// use autodiff_core::optim::{Adam, Optimizer};
    ///
    /// // A huge ε turns Adam into (bias-corrected) momentum-like small steps.
    /// let mut w = 0.0_f64;
    /// Adam::new(1.0).epsilon(1e6).apply_gradients(&mut w, &1.0);
    /// assert!(w.abs() < 1e-5 && w < 0.0);
    /// ```
    pub fn epsilon(mut self, epsilon: T) -> Self {
        self.epsilon = epsilon;
        self
    }
}

impl<T: Float> Optimizer<T> for Adam<T> {
    learning_rate_accessors!();

    fn try_apply_leaves(
        &mut self,
        params: &mut [&mut [T]],
        grads: &[&[T]],
    ) -> Result<(), ParamsError> {
        if let Some(lengths) = self.structure.check(params, grads)? {
            self.m = slots_filled(&lengths, T::zero());
            self.v = slots_filled(&lengths, T::zero());
        }
        self.beta1_power = self.beta1_power * self.beta1;
        self.beta2_power = self.beta2_power * self.beta2;
        let one = T::one();
        let lr_t = self.learning_rate * (one - self.beta2_power).sqrt() / (one - self.beta1_power);
        let (beta1, beta2, epsilon) = (self.beta1, self.beta2, self.epsilon);
        let slots = self.m.iter_mut().zip(self.v.iter_mut());
        for ((var, grad), (m, v)) in params.iter_mut().zip(grads).zip(slots) {
            for (((x, &g), m), v) in var
                .iter_mut()
                .zip(grad.iter())
                .zip(m.iter_mut())
                .zip(v.iter_mut())
            {
                // TensorFlow's ApplyAdam kernel, in its order of operations.
                *m = *m + (g - *m) * (one - beta1);
                *v = *v + (g * g - *v) * (one - beta2);
                *x = *x - (*m * lr_t) / (v.sqrt() + epsilon);
            }
        }
        Ok(())
    }
}
