//! Optimizers with TensorFlow 1.x's update rules and defaults (`tf.compat.v1.train.*Optimizer`,
//! as in TensorFlow 2.21), so results can be compared with TensorFlow number for number.
//!
//! | TensorFlow | here |
//! |------------|------|
//! | `GradientDescentOptimizer(lr)` | [`GradientDescent::new`] |
//! | `MomentumOptimizer(lr, momentum, use_nesterov)` | [`Momentum::new`], [`Momentum::nesterov`] |
//! | `AdamOptimizer(lr, beta1, beta2, epsilon)` | [`Adam::new`], [`Adam::beta1`], .. |
//! | `RMSPropOptimizer(lr, decay, momentum, epsilon, centered)` | [`RmsProp::new`], [`RmsProp::centered`], .. |
//! | `AdagradOptimizer(lr, initial_accumulator_value)` | [`Adagrad::new`], [`Adagrad::initial_accumulator_value`] |
//! | `opt.apply_gradients(grads_and_vars)` | [`Optimizer::apply_gradients`] |
//! | `opt.compute_gradients(loss)` | a `_grad` function; [`zip_leaves_mut`](crate::params::zip_leaves_mut) for the `(gradient, variable)` pairs |
//! | `opt.minimize(loss)` | [`Optimizer::minimize`] |
//! | the schedules of `tf.compat.v1.train` | [`schedule`] |
//!
//! Every optimizer works on any [`Params`] collection: it asks the collection for its leaves
//! (flat float slices) and keeps its slots (momentum, Adam's `m` and `v`, ...) per leaf. The
//! slots are made on the first step, for the structure (leaf count and lengths) of that
//! step's parameters; one optimizer serves one collection.
//!
//! ```
//! use autodiff_core::optim::{Adam, Optimizer};
//!
//! // Minimise (w - 3)² with its gradient written by hand (or by `#[differentiate]`'s `_grad`).
//! let mut w = 0.0_f64;
//! let mut opt = Adam::new(0.1);
//! for _ in 0..500 {
//!     opt.minimize(&mut w, |w| ((w - 3.0).powi(2), 2.0 * (w - 3.0)));
//! }
//! assert!((w - 3.0).abs() < 1e-3);
//! ```
//!
//! Design: the generic methods ([`Optimizer::apply_gradients`] and friends) only collect the
//! leaves of the collection and call the one required, non-generic-in-the-collection method
//! [`Optimizer::try_apply_leaves`] (ndarray's "generic front, concrete back"), so each update
//! rule is compiled once per float type, not once per collection type.
use crate::params::{self, Params, ParamsError, ParamsErrorKind};
use num_traits::Float;

/// `learning_rate` and `set_learning_rate` of an optimizer with a `learning_rate: T` field.
macro_rules! learning_rate_accessors {
    () => {
        fn learning_rate(&self) -> T {
            self.learning_rate
        }

        fn set_learning_rate(&mut self, learning_rate: T) {
            self.learning_rate = learning_rate;
        }
    };
}

mod adagrad;
mod adam;
mod gradient_descent;
mod momentum;
mod rmsprop;
pub mod schedule;

pub use adagrad::Adagrad;
pub use adam::Adam;
pub use gradient_descent::GradientDescent;
pub use momentum::Momentum;
pub use rmsprop::RmsProp;

/// An optimizer: updates parameters from their gradients (TensorFlow 1.x's
/// `tf.compat.v1.train.Optimizer`).
///
/// Implementors write [`try_apply_leaves`](Optimizer::try_apply_leaves) and the learning-rate
/// accessors; the other methods work on any [`Params`] collection. The trait is dyn
/// compatible: the generic methods need `Self: Sized`, which `Box<dyn Optimizer<T>>` is.
///
/// ```
/// use autodiff_core::optim::{GradientDescent, Optimizer};
///
/// let mut params = ([1.0_f64, 2.0], 3.0_f64);
/// GradientDescent::new(0.5).apply_gradients(&mut params, &([2.0, 2.0], 4.0));
/// assert_eq!(params, ([0.0, 1.0], 1.0));
/// ```
pub trait Optimizer<T: Float> {
    /// The learning rate the next step will use.
    ///
    /// ```
    /// use autodiff_core::optim::{Momentum, Optimizer};
    ///
    /// assert_eq!(Momentum::new(0.1_f64, 0.9).learning_rate(), 0.1);
    /// ```
    fn learning_rate(&self) -> T;

    /// Changes the learning rate for the following steps (for a schedule such as
    /// [`schedule::exponential_decay`]); slots are kept.
    ///
    /// ```
    /// use autodiff_core::optim::{GradientDescent, Optimizer};
    ///
    /// let mut opt = GradientDescent::new(0.1_f64);
    /// opt.set_learning_rate(0.5);
    /// let mut w = 1.0_f64;
    /// opt.apply_gradients(&mut w, &1.0);
    /// assert_eq!(w, 0.5);
    /// ```
    fn set_learning_rate(&mut self, learning_rate: T);

    /// Applies one step to parameter leaves given gradient leaves of the same lengths.
    ///
    /// # Errors
    /// A [`ParamsError`] of kind [`GradientsMismatch`](ParamsErrorKind::GradientsMismatch) if
    /// `grads` has other leaf lengths than `params`, or
    /// [`SlotsMismatch`](ParamsErrorKind::SlotsMismatch) if the optimizer's slots were made for
    /// leaves of other lengths. On error nothing is changed.
    ///
    /// ```
    /// use autodiff_core::optim::{GradientDescent, Optimizer};
    ///
    /// let mut a = [1.0_f64, 2.0];
    /// GradientDescent::new(1.0).try_apply_leaves(&mut [&mut a[..]], &[&[0.5, 0.5]])?;
    /// assert_eq!(a, [0.5, 1.5]);
    /// # Ok::<(), autodiff_core::params::ParamsError>(())
    /// ```
    fn try_apply_leaves(
        &mut self,
        params: &mut [&mut [T]],
        grads: &[&[T]],
    ) -> Result<(), ParamsError>;

    /// Applies one step to `params` given their gradients `grads` (TensorFlow's
    /// `apply_gradients`).
    ///
    /// # Errors
    /// As [`try_apply_leaves`](Optimizer::try_apply_leaves): if `grads` and `params` differ in
    /// structure, or `params` differs from the structure of the first step. On error nothing
    /// is changed.
    ///
    /// ```
    /// use autodiff_core::optim::{Momentum, Optimizer};
    /// use autodiff_core::params::ParamsErrorKind;
    ///
    /// let mut opt = Momentum::new(0.1_f64, 0.9);
    /// opt.try_apply_gradients(&mut vec![1.0, 2.0], &vec![1.0, 1.0])?;
    /// let err = opt.try_apply_gradients(&mut vec![1.0], &vec![1.0]).unwrap_err();
    /// assert_eq!(err.kind(), ParamsErrorKind::SlotsMismatch);
    /// # Ok::<(), autodiff_core::params::ParamsError>(())
    /// ```
    fn try_apply_gradients<P: Params<T>>(
        &mut self,
        params: &mut P,
        grads: &P,
    ) -> Result<(), ParamsError>
    where
        Self: Sized,
    {
        let grads = params::leaves(grads);
        let mut params = params::leaves_mut(params);
        self.try_apply_leaves(&mut params, &grads)
    }

    /// Applies one step to `params` given their gradients `grads` (TensorFlow's
    /// `apply_gradients`).
    ///
    /// # Panics
    /// If `grads` and `params` differ in structure, or `params` differs from the structure of
    /// the optimizer's first step; the message names both structures.
    /// [`try_apply_gradients`](Optimizer::try_apply_gradients) returns an error instead.
    ///
    /// ```
    /// use autodiff_core::optim::{GradientDescent, Optimizer};
    ///
    /// let mut w = [1.0_f64, 1.0];
    /// GradientDescent::new(0.1).apply_gradients(&mut w, &[10.0, -10.0]);
    /// assert_eq!(w, [0.0, 2.0]);
    /// ```
    fn apply_gradients<P: Params<T>>(&mut self, params: &mut P, grads: &P)
    where
        Self: Sized,
    {
        if let Err(err) = self.try_apply_gradients(params, grads) {
            panic!("apply_gradients: {err}");
        }
    }

    /// Computes the loss and gradients with `f` (a `_grad` function: TensorFlow's
    /// `compute_gradients`), applies one step, and returns the loss (before the step):
    /// TensorFlow's `Optimizer.minimize`. Works for every optimizer, and for a
    /// `#[derive(Params)]` model with a loss method returning `(loss, gradient)`:
    /// `opt.minimize(&mut model, |m| m.loss_grad(&batch))`.
    ///
    /// # Panics
    /// As [`apply_gradients`](Optimizer::apply_gradients), if the gradients `f` returns differ
    /// in structure from `params`, or `params` from the first step's.
    ///
    /// ```
    /// use autodiff_core::optim::{GradientDescent, Optimizer};
    ///
    /// let mut w = 1.0_f64;
    /// let loss = GradientDescent::new(0.25).minimize(&mut w, |w| (w * w, 2.0 * w));
    /// assert_eq!((loss, w), (1.0, 0.5));
    /// ```
    fn minimize<P: Params<T>>(&mut self, params: &mut P, mut f: impl FnMut(&P) -> (T, P)) -> T
    where
        Self: Sized,
    {
        let (loss, grads) = f(params);
        self.apply_gradients(params, &grads);
        loss
    }
}

/// A boxed optimizer is an optimizer, so `Box<dyn Optimizer<f64>>` chosen at run time still
/// has the generic methods.
///
/// ```
/// use autodiff_core::optim::{Adagrad, GradientDescent, Optimizer};
///
/// let mut opt: Box<dyn Optimizer<f64>> = if true {
///     Box::new(GradientDescent::new(0.5))
/// } else {
///     Box::new(Adagrad::new(0.5))
/// };
/// let mut w = (1.0_f64, 1.0_f64);
/// opt.apply_gradients(&mut w, &(1.0, 2.0));
/// assert_eq!(w, (0.5, 0.0));
/// ```
impl<T: Float, O: Optimizer<T> + ?Sized> Optimizer<T> for Box<O> {
    fn learning_rate(&self) -> T {
        (**self).learning_rate()
    }
    fn set_learning_rate(&mut self, learning_rate: T) {
        (**self).set_learning_rate(learning_rate)
    }
    fn try_apply_leaves(
        &mut self,
        params: &mut [&mut [T]],
        grads: &[&[T]],
    ) -> Result<(), ParamsError> {
        (**self).try_apply_leaves(params, grads)
    }
}

/// The structure (leaf lengths) an optimizer's slots were made for; empty until the first
/// step.
#[derive(Debug, Clone, Default)]
pub(crate) struct SlotStructure {
    lengths: Option<Vec<usize>>,
}

impl SlotStructure {
    /// Checks that `grads` matches `params` and that `params` matches the slots' structure.
    /// Returns the leaf lengths if the slots must be made now (the first step), `None` if they
    /// exist already.
    pub(crate) fn check<T>(
        &mut self,
        params: &[&mut [T]],
        grads: &[&[T]],
    ) -> Result<Option<Vec<usize>>, ParamsError> {
        let lengths = params::check_same_structure(params, grads)?;
        match &self.lengths {
            None => {
                self.lengths = Some(lengths.clone());
                Ok(Some(lengths))
            }
            Some(known) if *known == lengths => Ok(None),
            Some(known) => Err(ParamsError::new(
                ParamsErrorKind::SlotsMismatch,
                known.clone(),
                lengths,
            )),
        }
    }
}

/// One slot buffer per leaf, each filled with `value`.
pub(crate) fn slots_filled<T: Float>(lengths: &[usize], value: T) -> Vec<Vec<T>> {
    lengths.iter().map(|&n| vec![value; n]).collect()
}

/// `value` (a hyperparameter default such as 0.9) in the float type `T`.
pub(crate) fn lit<T: Float>(value: f64) -> T {
    // f32 and f64 always convert from f64; a user's own Float type is trusted to.
    T::from(value).unwrap_or_else(T::nan)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_structure_is_set_once_then_checked() {
        let mut structure = SlotStructure::default();
        let (mut a, mut b) = ([1.0_f64, 2.0], [3.0_f64]);
        let grads: [&[f64]; 2] = [&[0.0, 0.0], &[0.0]];
        let lengths = structure.check(&[&mut a[..], &mut b[..]], &grads).unwrap();
        assert_eq!(lengths, Some(vec![2, 1]));
        assert_eq!(
            structure.check(&[&mut a[..], &mut b[..]], &grads).unwrap(),
            None
        );
        let err = structure.check(&[&mut a[..]], &[&[0.0, 0.0]]).unwrap_err();
        assert_eq!(err.kind(), ParamsErrorKind::SlotsMismatch);
        assert_eq!((err.expected(), err.found()), (&[2, 1][..], &[2][..]));
    }

    #[test]
    fn slots_filled_makes_one_buffer_per_leaf() {
        assert_eq!(
            slots_filled(&[2, 0, 1], 0.5_f32),
            vec![vec![0.5, 0.5], vec![], vec![0.5]]
        );
        assert_eq!(lit::<f32>(0.9), 0.9_f32);
    }
}
