//! RMSProp (`tf.compat.v1.train.RMSPropOptimizer`, plain or centered).
use super::{lit, slots_filled, Optimizer, SlotStructure};
use crate::params::ParamsError;
use num_traits::Float;

/// RMSProp (TensorFlow 1.x's `tf.compat.v1.train.RMSPropOptimizer`; decay ρ = 0.9,
/// momentum 0, ε = 1e-10, not centered by default).
///
/// The mean-square slot `ms` starts at **ones** (as in TensorFlow 1.x), `mom` at zero:
/// `ms = ρ ms + (1-ρ) g²`, `mom = momentum · mom + lr · g / √(ms + ε)`, `var -= mom`.
/// With [`centered`](RmsProp::centered) (`centered=True`) a mean-gradient slot `mg` (from
/// zero) is kept too, `mg = ρ mg + (1-ρ) g`, and the denominator is `√(ms - mg² + ε)`: the
/// gradient is normalised by an estimate of its variance (TensorFlow's
/// `ApplyCenteredRMSProp`).
///
/// ```
/// use autodiff_core::optim::{Optimizer, RmsProp};
///
/// let mut w = 0.0_f64;
/// RmsProp::new(0.1).apply_gradients(&mut w, &1.0);
/// // ms = 0.9 + 0.1 = 1, so the first step is lr · g.
/// assert!((w + 0.1).abs() < 1e-9);
/// ```
#[derive(Debug, Clone)]
pub struct RmsProp<T> {
    learning_rate: T,
    decay: T,
    momentum: T,
    epsilon: T,
    centered: bool,
    structure: SlotStructure,
    ms: Vec<Vec<T>>,
    mom: Vec<Vec<T>>,
    mg: Vec<Vec<T>>,
}

impl<T: Float> RmsProp<T> {
    /// An RMSProp optimizer with learning rate `learning_rate` and TensorFlow's defaults
    /// decay = 0.9, momentum = 0, ε = 1e-10.
    ///
    /// ```
    /// use autodiff_core::optim::{Optimizer, RmsProp};
    ///
    /// assert_eq!(RmsProp::new(0.01_f64).learning_rate(), 0.01);
    /// ```
    pub fn new(learning_rate: T) -> Self {
        RmsProp {
            learning_rate,
            decay: lit(0.9),
            momentum: T::zero(),
            epsilon: lit(1e-10),
            centered: false,
            structure: SlotStructure::default(),
            ms: Vec::new(),
            mom: Vec::new(),
            mg: Vec::new(),
        }
    }

    /// Sets the decay ρ of the mean square.
    ///
    /// ```
    /// use autodiff_core::optim::{Optimizer, RmsProp};
    ///
    /// let mut w = 0.0_f64;
    /// // ms = 0.5 · 1 + 0.5 · 4 = 2.5
    /// RmsProp::new(1.0).decay(0.5).apply_gradients(&mut w, &2.0);
    /// assert!((w + 2.0 / 2.5_f64.sqrt()).abs() < 1e-9);
    /// ```
    pub fn decay(mut self, decay: T) -> Self {
        self.decay = decay;
        self
    }

    /// Sets the momentum.
    ///
    /// ```
    /// use autodiff_core::optim::{Optimizer, RmsProp};
    ///
    /// let mut opt = RmsProp::new(1.0_f64).decay(1.0).momentum(0.5);
    /// let mut w = 0.0_f64;
    /// opt.apply_gradients(&mut w, &1.0); // ms stays 1: mom = 1
    /// opt.apply_gradients(&mut w, &1.0); // mom = 1.5
    /// assert!((w + 2.5).abs() < 1e-9);
    /// ```
    pub fn momentum(mut self, momentum: T) -> Self {
        self.momentum = momentum;
        self
    }

    /// Sets ε, added to the mean square under the square root.
    ///
    /// ```
    /// use autodiff_core::optim::{Optimizer, RmsProp};
    ///
    /// let mut w = 0.0_f64;
    /// RmsProp::new(1.0).epsilon(3.0).apply_gradients(&mut w, &1.0);
    /// assert!((w + 0.5).abs() < 1e-9); // 1 / √(1 + 3)
    /// ```
    pub fn epsilon(mut self, epsilon: T) -> Self {
        self.epsilon = epsilon;
        self
    }

    /// Centers the second moment (`centered=True`): divides by `√(ms - mg² + ε)`, with `mg`
    /// the moving mean of the gradient (starting at zero), instead of `√(ms + ε)`. Costs one
    /// more slot per parameter. Set it before the first step: the slots are made then.
    ///
    /// ```
    /// use autodiff_core::optim::{Optimizer, RmsProp};
    ///
    /// // ρ = 0.5: ms = 0.5 · 1 + 0.5 · 4 = 2.5, mg = 0.5 · 2 = 1, step 2 / √(2.5 - 1) = 2 / √1.5.
    /// let mut w = 0.0_f64;
    /// RmsProp::new(1.0).decay(0.5).epsilon(0.0).centered(true).apply_gradients(&mut w, &2.0);
    /// assert!((w + 2.0 / 1.5_f64.sqrt()).abs() < 1e-12);
    /// ```
    pub fn centered(mut self, centered: bool) -> Self {
        self.centered = centered;
        self
    }
}

impl<T: Float> Optimizer<T> for RmsProp<T> {
    learning_rate_accessors!();

    fn try_apply_leaves(
        &mut self,
        params: &mut [&mut [T]],
        grads: &[&[T]],
    ) -> Result<(), ParamsError> {
        if let Some(lengths) = self.structure.check(params, grads)? {
            self.ms = slots_filled(&lengths, T::one());
            self.mom = slots_filled(&lengths, T::zero());
            self.mg = if self.centered {
                slots_filled(&lengths, T::zero())
            } else {
                Vec::new()
            };
        }
        if self.centered {
            self.apply_centered(params, grads);
            return Ok(());
        }
        let one = T::one();
        let (lr, rho, momentum, epsilon) =
            (self.learning_rate, self.decay, self.momentum, self.epsilon);
        let slots = self.ms.iter_mut().zip(self.mom.iter_mut());
        for ((var, grad), (ms, mom)) in params.iter_mut().zip(grads).zip(slots) {
            let entries = var
                .iter_mut()
                .zip(grad.iter())
                .zip(ms.iter_mut())
                .zip(mom.iter_mut());
            for (((x, &g), ms), mom) in entries {
                // TensorFlow's ApplyRMSProp kernel, in its order of operations.
                *ms = *ms + (g * g - *ms) * (one - rho);
                *mom = *mom * momentum + (g * lr) / (*ms + epsilon).sqrt();
                *x = *x - *mom;
            }
        }
        Ok(())
    }
}

impl<T: Float> RmsProp<T> {
    /// One centered step on leaves already checked (TensorFlow's `ApplyCenteredRMSProp`).
    fn apply_centered(&mut self, params: &mut [&mut [T]], grads: &[&[T]]) {
        if self.mg.len() != self.ms.len() {
            // `centered(true)` after the first step: the mean gradient starts now, at zero.
            self.mg = self.ms.iter().map(|ms| vec![T::zero(); ms.len()]).collect();
        }
        let one = T::one();
        let (lr, rho, momentum, epsilon) =
            (self.learning_rate, self.decay, self.momentum, self.epsilon);
        let slots = self
            .ms
            .iter_mut()
            .zip(self.mom.iter_mut())
            .zip(self.mg.iter_mut());
        for ((var, grad), ((ms, mom), mg)) in params.iter_mut().zip(grads).zip(slots) {
            let entries = var
                .iter_mut()
                .zip(grad.iter())
                .zip(ms.iter_mut())
                .zip(mom.iter_mut())
                .zip(mg.iter_mut());
            for ((((x, &g), ms), mom), mg) in entries {
                // TensorFlow's ApplyCenteredRMSProp kernel, in its order of operations.
                *ms = *ms + (g * g - *ms) * (one - rho);
                *mg = *mg + (g - *mg) * (one - rho);
                let denominator = (*ms - *mg * *mg) + epsilon;
                *mom = *mom * momentum + (g * lr) / denominator.sqrt();
                *x = *x - *mom;
            }
        }
    }
}
