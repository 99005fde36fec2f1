//! Learning-rate schedules (TensorFlow 1.x's `tf.train.exponential_decay` and
//! `tf.train.piecewise_constant`), as plain functions of the step; pass the result to
//! [`Optimizer::set_learning_rate`](super::Optimizer::set_learning_rate).
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

/// `learning_rate · decay_rate^(step / decay_steps)`; with `staircase` the exponent is
/// rounded down to an integer, so the rate drops every `decay_steps` steps.
///
/// # Panics
/// If `decay_steps` is zero.
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
    assert!(
        decay_steps > 0,
        "exponential_decay: decay_steps must be positive, got 0"
    );
    let to_float = |n: u64| T::from(n).unwrap_or_else(T::infinity);
    let mut exponent = to_float(step) / to_float(decay_steps);
    if staircase {
        exponent = exponent.floor();
    }
    learning_rate * decay_rate.powf(exponent)
}

/// A piecewise-constant value of the step: `values[0]` while `step <= boundaries[0]`,
/// `values[i]` while `boundaries[i-1] < step <= boundaries[i]`, and the last value after the
/// last boundary.
///
/// # Panics
/// If `values.len() != boundaries.len() + 1`, or the boundaries are not strictly increasing.
///
/// ```
/// use autodiff_core::optim::schedule::piecewise_constant;
///
/// let (boundaries, values) = ([100, 200], [1.0_f64, 0.5, 0.1]);
/// assert_eq!(piecewise_constant(100, &boundaries, &values), 1.0);
/// assert_eq!(piecewise_constant(101, &boundaries, &values), 0.5);
/// assert_eq!(piecewise_constant(1000, &boundaries, &values), 0.1);
/// ```
pub fn piecewise_constant<S: PartialOrd, T: Copy>(step: S, boundaries: &[S], values: &[T]) -> T {
    assert_eq!(
        values.len(),
        boundaries.len() + 1,
        "piecewise_constant: give one value more than boundaries ({} boundaries, {} values)",
        boundaries.len(),
        values.len()
    );
    if let Some(i) = boundaries.windows(2).position(|w| w[0] >= w[1]) {
        panic!(
            "piecewise_constant: boundaries must be strictly increasing, but boundary {} is not \
             below boundary {}",
            i,
            i + 1
        );
    }
    let index = boundaries.iter().take_while(|b| step > **b).count();
    values[index]
}

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
    #[should_panic(expected = "decay_steps must be positive")]
    fn exponential_decay_rejects_zero_decay_steps() {
        exponential_decay(0.1_f64, 1, 0, 0.5, false);
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
