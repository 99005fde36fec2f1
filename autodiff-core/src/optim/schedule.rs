//! Learning-rate schedules of TensorFlow 1.x (`tf.compat.v1.train.*`), as plain functions of
//! the step; pass the result to
//! [`Optimizer::set_learning_rate`](super::Optimizer::set_learning_rate).
//!
//! | TensorFlow | here |
//! |------------|------|
//! | `exponential_decay(lr, step, decay_steps, decay_rate, staircase)` | [`exponential_decay`] |
//! | `natural_exp_decay(lr, step, decay_steps, decay_rate, staircase)` | [`natural_exp_decay`] |
//! | `inverse_time_decay(lr, step, decay_steps, decay_rate, staircase)` | [`inverse_time_decay`] |
//! | `polynomial_decay(lr, step, decay_steps, end_learning_rate, power, cycle)` | [`polynomial_decay`] |
//! | `cosine_decay(lr, step, decay_steps, alpha)` | [`cosine_decay`] |
//! | `piecewise_constant(step, boundaries, values)` | [`piecewise_constant`], [`try_piecewise_constant`] |
//!
//! Rust has no default arguments: TensorFlow's defaults are in each function's documentation.
//! Each computes TensorFlow's expression in its order of operations, in the float type of the
//! rate; like TensorFlow, a `decay_steps` of 0 is not an error but divides by zero (giving
//! `inf` or NaN).
//!
//! ```
//! use autodiff_core::optim::{schedule, GradientDescent, Optimizer};
//!
//! let mut opt = GradientDescent::new(0.1_f64);
//! let mut w = 1.0_f64;
//! for step in 0..3 {
//!     opt.set_learning_rate(schedule::exponential_decay(0.1, step, 1, 0.5, true));
//!     opt.apply_gradients(&mut w, &1.0);
//! }
//! assert!((w - (1.0 - 0.1 - 0.05 - 0.025)).abs() < 1e-12);
//! ```
use num_traits::Float;

/// `step` as the float type of the rate.
fn to_float<T: Float>(n: u64) -> T {
    T::from(n).unwrap_or_else(T::infinity)
}

/// `step / decay_steps`, rounded down with `staircase`: the exponent of the exponential
/// schedules and the `p` of `inverse_time_decay`.
fn progress<T: Float>(step: u64, decay_steps: u64, staircase: bool) -> T {
    let p = to_float::<T>(step) / to_float(decay_steps);
    if staircase {
        p.floor()
    } else {
        p
    }
}

/// `learning_rate · decay_rate^(step / decay_steps)`; with `staircase` the exponent is
/// rounded down to an integer, so the rate drops every `decay_steps` steps (TensorFlow's
/// `tf.compat.v1.train.exponential_decay`; `staircase=False` by default).
///
/// # Panics
/// Never; `decay_steps = 0` divides by zero as in TensorFlow.
///
/// ```
/// use autodiff_core::optim::schedule::exponential_decay;
///
/// assert_eq!(exponential_decay(1.0_f64, 15, 10, 0.5, true), 0.5);
/// assert!((exponential_decay(1.0_f64, 15, 10, 0.5, false) - 0.5_f64.powf(1.5)).abs() < 1e-15);
/// ```
pub fn exponential_decay<T: Float>(
    learning_rate: T,
    step: u64,
    decay_steps: u64,
    decay_rate: T,
    staircase: bool,
) -> T {
    learning_rate * decay_rate.powf(progress(step, decay_steps, staircase))
}

/// `learning_rate · e^(-decay_rate · step / decay_steps)`, the exponent rounded down with
/// `staircase` (TensorFlow's `tf.compat.v1.train.natural_exp_decay`; `staircase=False` by
/// default). Computed as TensorFlow does, as [`exponential_decay`] with the rate
/// `e^(-decay_rate)`.
///
/// # Panics
/// Never.
///
/// ```
/// use autodiff_core::optim::schedule::natural_exp_decay;
///
/// let rate = natural_exp_decay(0.1_f64, 20, 10, 0.5, false);
/// assert!((rate - 0.1 * (-1.0_f64).exp()).abs() < 1e-15);
/// assert_eq!(natural_exp_decay(0.1_f64, 19, 10, 0.5, true), 0.1 * (-0.5_f64).exp());
/// ```
pub fn natural_exp_decay<T: Float>(
    learning_rate: T,
    step: u64,
    decay_steps: u64,
    decay_rate: T,
    staircase: bool,
) -> T {
    exponential_decay(
        learning_rate,
        step,
        decay_steps,
        (-decay_rate).exp(),
        staircase,
    )
}

/// `learning_rate / (1 + decay_rate · step / decay_steps)`, with `step / decay_steps`
/// rounded down with `staircase` (TensorFlow's `tf.compat.v1.train.inverse_time_decay`;
/// `staircase=False` by default).
///
/// # Panics
/// Never.
///
/// ```
/// use autodiff_core::optim::schedule::inverse_time_decay;
///
/// assert_eq!(inverse_time_decay(0.1_f64, 5, 10, 0.5, false), 0.1 / 1.25);
/// assert_eq!(inverse_time_decay(0.1_f64, 15, 10, 0.5, true), 0.1 / 1.5);
/// ```
pub fn inverse_time_decay<T: Float>(
    learning_rate: T,
    step: u64,
    decay_steps: u64,
    decay_rate: T,
    staircase: bool,
) -> T {
    let p: T = progress(step, decay_steps, staircase);
    learning_rate / (T::one() + decay_rate * p)
}

/// Polynomial decay from `learning_rate` to `end_learning_rate` over `decay_steps` steps:
/// `(learning_rate - end_learning_rate) · (1 - step / decay_steps)^power + end_learning_rate`
/// (TensorFlow's `tf.compat.v1.train.polynomial_decay`; its defaults are
/// `end_learning_rate = 0.0001`, `power = 1.0`, `cycle = False`).
///
/// Without `cycle` the step stops at `decay_steps`, so the rate stays at
/// `end_learning_rate` afterwards. With `cycle` the decay restarts: `decay_steps` is
/// multiplied by `ceil(step / decay_steps)` (1 at step 0), the first multiple of it not below
/// the step.
///
/// # Panics
/// Never.
///
/// ```
/// use autodiff_core::optim::schedule::polynomial_decay;
///
/// // Linear decay (power 1) from 1 to 0.5 over 10 steps.
/// assert_eq!(polynomial_decay(1.0_f64, 5, 10, 0.5, 1.0, false), 0.75);
/// assert_eq!(polynomial_decay(1.0_f64, 50, 10, 0.5, 1.0, false), 0.5);
/// // Cycling: step 15 falls in the period of 2 · 10 steps, so p = 15/20.
/// assert_eq!(polynomial_decay(1.0_f64, 15, 10, 0.5, 1.0, true), 0.5 * 0.25 + 0.5);
/// ```
pub fn polynomial_decay<T: Float>(
    learning_rate: T,
    step: u64,
    decay_steps: u64,
    end_learning_rate: T,
    power: T,
    cycle: bool,
) -> T {
    let mut step_f: T = to_float(step);
    let mut decay_steps_f: T = to_float(decay_steps);
    if cycle {
        // The first multiple of decay_steps that is not below the step (1 at step 0).
        let multiplier = if step == 0 {
            T::one()
        } else {
            (step_f / decay_steps_f).ceil()
        };
        decay_steps_f = decay_steps_f * multiplier;
    } else {
        step_f = step_f.min(decay_steps_f);
    }
    let p = step_f / decay_steps_f;
    (learning_rate - end_learning_rate) * (T::one() - p).powf(power) + end_learning_rate
}

/// Cosine decay from `learning_rate` over `decay_steps` steps, to `alpha · learning_rate`:
/// `learning_rate · ((1 - alpha) · ½ (1 + cos(π · min(step, decay_steps) / decay_steps)) +
/// alpha)` (TensorFlow's `tf.compat.v1.train.cosine_decay`; `alpha = 0.0` by default).
///
/// # Panics
/// Never.
///
/// ```
/// use autodiff_core::optim::schedule::cosine_decay;
///
/// assert_eq!(cosine_decay(0.1_f64, 0, 100, 0.0), 0.1);
/// assert!((cosine_decay(0.1_f64, 50, 100, 0.0) - 0.05).abs() < 1e-15);
/// // After decay_steps the rate stays at alpha · learning_rate.
/// assert!((cosine_decay(0.1_f64, 500, 100, 0.2) - 0.02).abs() < 1e-15);
/// ```
pub fn cosine_decay<T: Float>(learning_rate: T, step: u64, decay_steps: u64, alpha: T) -> T {
    let decay_steps_f: T = to_float(decay_steps);
    let step_f = to_float::<T>(step).min(decay_steps_f);
    let completed_fraction = step_f / decay_steps_f;
    let half = T::one() / (T::one() + T::one());
    let pi = T::from(std::f64::consts::PI).unwrap_or_else(T::nan);
    let cosine_decayed = half * (T::one() + (pi * completed_fraction).cos());
    let decayed = (T::one() - alpha) * cosine_decayed + alpha;
    learning_rate * decayed
}

/// A piecewise-constant value of the step: `values[0]` while `step <= boundaries[0]`,
/// `values[i]` while `boundaries[i-1] < step <= boundaries[i]`, and the last value after the
/// last boundary (TensorFlow's `tf.compat.v1.train.piecewise_constant`).
///
/// # Panics
/// If `values.len() != boundaries.len() + 1` (TensorFlow raises a `ValueError`), or the
/// boundaries are not strictly increasing, with a message naming the lengths or the
/// boundaries; [`try_piecewise_constant`] returns an error instead.
///
/// ```
/// use autodiff_core::optim::schedule::piecewise_constant;
///
/// let (boundaries, values) = ([100, 200], [1.0_f64, 0.5, 0.1]);
/// assert_eq!(piecewise_constant(100, &boundaries, &values), 1.0);
/// assert_eq!(piecewise_constant(101, &boundaries, &values), 0.5);
/// assert_eq!(piecewise_constant(1000, &boundaries, &values), 0.1);
/// ```
#[track_caller]
pub fn piecewise_constant<S: PartialOrd, T: Copy>(step: S, boundaries: &[S], values: &[T]) -> T {
    match try_piecewise_constant(step, boundaries, values) {
        Ok(value) => value,
        Err(err) => panic!("{err}"),
    }
}

/// [`piecewise_constant`] (TensorFlow's `tf.compat.v1.train.piecewise_constant`), with an
/// error instead of a panic for boundaries and values it cannot use.
///
/// # Errors
/// [`ScheduleError::LengthMismatch`] if `values.len() != boundaries.len() + 1`,
/// [`ScheduleError::UnsortedBoundaries`] if the boundaries are not strictly increasing.
///
/// ```
/// use autodiff_core::optim::schedule::{try_piecewise_constant, ScheduleError};
///
/// assert_eq!(try_piecewise_constant(5, &[10], &[1.0_f64, 0.1]), Ok(1.0));
/// assert_eq!(
///     try_piecewise_constant(5, &[10], &[1.0_f64]),
///     Err(ScheduleError::LengthMismatch { boundaries: 1, values: 1 })
/// );
/// ```
pub fn try_piecewise_constant<S: PartialOrd, T: Copy>(
    step: S,
    boundaries: &[S],
    values: &[T],
) -> Result<T, ScheduleError> {
    if values.len() != boundaries.len() + 1 {
        return Err(ScheduleError::LengthMismatch {
            boundaries: boundaries.len(),
            values: values.len(),
        });
    }
    if let Some(index) = boundaries
        .windows(2)
        .position(|w| w[0].partial_cmp(&w[1]) != Some(std::cmp::Ordering::Less))
    {
        return Err(ScheduleError::UnsortedBoundaries { index });
    }
    let index = boundaries.iter().take_while(|b| step > **b).count();
    Ok(values[index])
}

/// Boundaries and values that [`piecewise_constant`] cannot use.
///
/// ```
/// use autodiff_core::optim::schedule::{try_piecewise_constant, ScheduleError};
///
/// let err = try_piecewise_constant(0, &[2, 1], &[1.0_f64, 2.0, 3.0]).unwrap_err();
/// assert_eq!(err, ScheduleError::UnsortedBoundaries { index: 0 });
/// assert!(err.to_string().contains("boundary 0 is not below boundary 1"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ScheduleError {
    /// There must be one value more than boundaries.
    LengthMismatch {
        /// The number of boundaries.
        boundaries: usize,
        /// The number of values.
        values: usize,
    },
    /// Boundary `index` is not below boundary `index + 1` (or is NaN).
    UnsortedBoundaries {
        /// The first boundary out of order.
        index: usize,
    },
}

impl std::fmt::Display for ScheduleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScheduleError::LengthMismatch { boundaries, values } => write!(
                f,
                "piecewise_constant: give one value more than boundaries ({boundaries} \
                 boundaries, {values} values)"
            ),
            ScheduleError::UnsortedBoundaries { index } => write!(
                f,
                "piecewise_constant: boundaries must be strictly increasing, but boundary \
                 {index} is not below boundary {}",
                index + 1
            ),
        }
    }
}

impl std::error::Error for ScheduleError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exponential_decay_matches_formula() {
        for step in [0_u64, 1, 7, 10, 25] {
            let smooth = 0.1 * 0.96_f64.powf(step as f64 / 10.0);
            let stairs = 0.1 * 0.96_f64.powf((step / 10) as f64);
            assert_eq!(exponential_decay(0.1, step, 10, 0.96, false), smooth);
            assert_eq!(exponential_decay(0.1, step, 10, 0.96, true), stairs);
        }
    }

    #[test]
    fn zero_decay_steps_divide_by_zero_as_tensorflow() {
        // step / 0 = inf: 0.5^inf = 0; at step 0, 0 / 0 = NaN.
        assert_eq!(exponential_decay(0.1_f64, 1, 0, 0.5, false), 0.0);
        assert!(exponential_decay(0.1_f64, 0, 0, 0.5, false).is_nan());
        assert_eq!(inverse_time_decay(0.1_f64, 1, 0, 0.5, false), 0.0);
        assert!(cosine_decay(0.1_f64, 0, 0, 0.0).is_nan());
    }

    #[test]
    fn polynomial_decay_matches_tensorflow() {
        // TF 2.21 float64: tf.compat.v1.train.polynomial_decay(0.1, step, 10,
        //   end_learning_rate=0.01, power=2.0, cycle=...)
        let tf = |step: f64, decay_steps: f64| {
            let p: f64 = step / decay_steps;
            (0.1_f64 - 0.01) * (1.0 - p).powf(2.0) + 0.01
        };
        assert_eq!(
            polynomial_decay(0.1, 5, 10, 0.01, 2.0, false),
            tf(5.0, 10.0)
        );
        assert!((polynomial_decay(0.1, 5, 10, 0.01, 2.0, false) - 0.0325).abs() < 1e-15);
        // Past decay_steps the step is clamped: the end rate.
        assert_eq!(
            polynomial_decay(0.1, 15, 10, 0.01, 2.0, false),
            tf(10.0, 10.0)
        );
        assert_eq!(polynomial_decay(0.1, 15, 10, 0.01, 2.0, false), 0.01);
        // Cycling: decay_steps * ceil(15 / 10) = 20; p = 0.75.
        assert_eq!(
            polynomial_decay(0.1, 15, 10, 0.01, 2.0, true),
            tf(15.0, 20.0)
        );
        // Step 20 ends the second cycle at the end rate; step 21 starts the third (30).
        assert_eq!(polynomial_decay(0.1, 20, 10, 0.01, 2.0, true), 0.01);
        assert_eq!(
            polynomial_decay(0.1, 21, 10, 0.01, 2.0, true),
            tf(21.0, 30.0)
        );
        // Step 0 with cycle: multiplier 1.
        assert_eq!(polynomial_decay(0.1, 0, 10, 0.01, 2.0, true), tf(0.0, 10.0));
        // TF's defaults (end 0.0001, power 1): linear.
        assert_eq!(
            polynomial_decay(0.1_f64, 3, 10, 0.0001, 1.0, false),
            (0.1 - 0.0001) * 0.7 + 0.0001
        );
    }

    #[test]
    fn inverse_time_decay_matches_tensorflow() {
        // TF: lr / (1 + decay_rate * p), p = step / decay_steps (floored with staircase).
        assert_eq!(
            inverse_time_decay(0.1_f64, 5, 10, 0.5, false),
            0.1 / (1.0 + 0.5 * 0.5)
        );
        assert_eq!(inverse_time_decay(0.1_f64, 5, 10, 0.5, true), 0.1);
        assert_eq!(
            inverse_time_decay(0.1_f64, 25, 10, 0.5, true),
            0.1 / (1.0 + 0.5 * 2.0)
        );
        assert_eq!(
            inverse_time_decay(0.1_f64, 7, 3, 0.5, false),
            0.1 / (1.0 + 0.5 * (7.0 / 3.0))
        );
    }

    #[test]
    fn cosine_decay_matches_tensorflow() {
        // TF: lr * ((1 - alpha) * 0.5 * (1 + cos(pi * min(step, ds) / ds)) + alpha).
        let tf = |step: f64, ds: f64, alpha: f64| {
            let fraction = step.min(ds) / ds;
            let cosine = 0.5 * (1.0 + (std::f64::consts::PI * fraction).cos());
            0.1 * ((1.0 - alpha) * cosine + alpha)
        };
        for (step, alpha) in [(0, 0.0), (3, 0.0), (5, 0.1), (10, 0.1), (25, 0.3)] {
            assert_eq!(
                cosine_decay(0.1_f64, step, 10, alpha),
                tf(step as f64, 10.0, alpha)
            );
        }
        assert!((cosine_decay(0.1_f64, 5, 10, 0.0) - 0.05).abs() < 1e-15);
        assert!((cosine_decay(0.1_f64, 99, 10, 0.1) - 0.01).abs() < 1e-15);
    }

    #[test]
    fn natural_exp_decay_matches_tensorflow() {
        // TF: exponential_decay(lr, step, ds, exp(-decay_rate), staircase).
        let rate = (-0.5_f64).exp();
        assert_eq!(
            natural_exp_decay(0.1_f64, 5, 10, 0.5, false),
            0.1 * rate.powf(0.5)
        );
        assert_eq!(
            natural_exp_decay(0.1_f64, 15, 10, 0.5, true),
            0.1 * rate.powf(1.0)
        );
        assert!(
            (natural_exp_decay(0.1_f64, 30, 10, 0.5, false) - 0.1 * (-1.5_f64).exp()).abs() < 1e-16
        );
        assert_eq!(natural_exp_decay(0.1_f64, 0, 10, 0.5, true), 0.1);
    }

    #[test]
    fn schedules_in_f32() {
        assert_eq!(cosine_decay(1.0_f32, 0, 10, 0.0), 1.0);
        assert!((polynomial_decay(1.0_f32, 5, 10, 0.0, 1.0, false) - 0.5).abs() < 1e-7);
        assert!((inverse_time_decay(1.0_f32, 10, 10, 1.0, false) - 0.5).abs() < 1e-7);
    }

    #[test]
    fn piecewise_constant_edges() {
        assert_eq!(piecewise_constant(0, &[], &[3.0_f32]), 3.0);
        let b = [1.5_f64, 2.5];
        assert_eq!(piecewise_constant(1.5, &b, &[1, 2, 3]), 1);
        assert_eq!(piecewise_constant(2.0, &b, &[1, 2, 3]), 2);
        assert_eq!(piecewise_constant(2.5, &b, &[1, 2, 3]), 2);
        assert_eq!(piecewise_constant(2.6, &b, &[1, 2, 3]), 3);
    }

    #[test]
    #[should_panic(expected = "one value more than boundaries")]
    fn piecewise_constant_rejects_wrong_lengths() {
        piecewise_constant(0, &[1, 2], &[1.0_f64, 2.0]);
    }

    #[test]
    #[should_panic(expected = "strictly increasing")]
    fn piecewise_constant_rejects_unsorted_boundaries() {
        piecewise_constant(0, &[2, 1], &[1.0_f64, 2.0, 3.0]);
    }
}
