//! Gradient clipping with TensorFlow's semantics (`tf.clip_by_value`, `tf.clip_by_norm`,
//! `tf.global_norm`, `tf.clip_by_global_norm`), on any [`Params`] collection.
//!
//! TensorFlow's classic example: for loss = w·x² at w = 2, x = 3 the gradients are
//! (x², 2wx) = (9, 12), whose global norm is 15.
//!
//! ```
//! use autodiff_core::clip::{clip_by_global_norm, clip_by_norm};
//!
//! let grads = (9.0_f64, 12.0_f64);
//! assert_eq!((clip_by_norm(grads.0, 5.0), clip_by_norm(grads.1, 5.0)), (5.0, 5.0));
//! assert_eq!(clip_by_global_norm(grads, 5.0), ((3.0, 4.0), 15.0));
//! ```
//!
//! NaN and infinity behave as in TensorFlow: a NaN entry makes every norm NaN, and with it
//! every entry that is scaled by it.
use crate::params::Params;
use num_traits::Float;

/// `max` as C++'s `std::max` (and so TensorFlow's `maximum` on CPU) computes it: NaN in
/// `a` propagates, where Rust's `Float::max` would drop it.
fn max_like_tf<T: Float>(a: T, b: T) -> T {
    if a < b {
        b
    } else {
        a
    }
}

/// Sum of squares of one leaf.
fn sum_of_squares<T: Float>(leaf: &[T]) -> T {
    leaf.iter().fold(T::zero(), |acc, &x| acc + x * x)
}

fn assert_positive_clip<T: Float>(function: &str, clip: T) {
    assert!(
        clip > T::zero(),
        "{function}: the clip norm must be positive (and not NaN); to zero the values, \
         multiply them by zero instead"
    );
}

/// Every entry of `p` clamped to `[lo, hi]` (TensorFlow's `clip_by_value`); NaN entries
/// stay NaN.
///
/// # Panics
/// If `lo > hi` or either bound is NaN.
///
/// ```
/// use autodiff_core::clip::clip_by_value;
///
/// assert_eq!(clip_by_value([-3.0_f64, 0.5, 7.0], -1.0, 1.0), [-1.0, 0.5, 1.0]);
/// assert_eq!(clip_by_value(9.0_f32, 0.0, 5.0), 5.0);
/// ```
pub fn clip_by_value<T: Float, P: Params<T>>(mut p: P, lo: T, hi: T) -> P {
    assert!(
        lo <= hi,
        "clip_by_value: the lower bound must not exceed the upper bound, and neither may be NaN"
    );
    p.visit_mut(&mut |leaf| {
        for x in leaf.iter_mut() {
            if *x < lo {
                *x = lo;
            } else if *x > hi {
                *x = hi;
            }
        }
    });
    p
}

/// The global L2 norm of a collection: √(Σ over all leaves of Σ x²) (TensorFlow's
/// `global_norm`). Zero for an empty collection.
///
/// ```
/// use autodiff_core::clip::global_norm;
///
/// assert_eq!(global_norm(&(3.0_f64, vec![4.0, 12.0])), 13.0);
/// assert_eq!(global_norm(&Vec::<f64>::new()), 0.0);
/// ```
pub fn global_norm<T: Float, P: Params<T> + ?Sized>(p: &P) -> T {
    let mut total = T::zero();
    // Per-leaf sums first, then their sum, as TensorFlow sums one l2_loss per tensor.
    p.visit(&mut |leaf| total = total + sum_of_squares(leaf));
    total.sqrt()
}

/// `p` scaled so that its L2 norm (over all of `p`) is at most `clip` (TensorFlow's
/// `clip_by_norm`): every entry becomes `x · clip / max(‖p‖₂, clip)`.
///
/// An all-zero `p` stays zero. An infinite entry makes the norm infinite: finite entries
/// become zero and infinite ones NaN, as in TensorFlow.
///
/// # Panics
/// If `clip` is not positive.
///
/// ```
/// use autodiff_core::clip::clip_by_norm;
///
/// assert_eq!(clip_by_norm(9.0_f64, 5.0), 5.0);
/// assert_eq!(clip_by_norm([3.0_f64, 4.0], 2.5), [1.5, 2.0]);
/// assert_eq!(clip_by_norm([3.0_f64, 4.0], 10.0), [3.0, 4.0]);
/// ```
pub fn clip_by_norm<T: Float, P: Params<T>>(mut p: P, clip: T) -> P {
    assert_positive_clip("clip_by_norm", clip);
    let denominator = max_like_tf(global_norm(&p), clip);
    p.visit_mut(&mut |leaf| {
        for x in leaf.iter_mut() {
            // TensorFlow's order: (t * clip_norm) / maximum(l2norm, clip_norm).
            *x = *x * clip / denominator;
        }
    });
    p
}

/// `p` scaled so that its global norm is at most `clip`, and that global norm (TensorFlow's
/// `clip_by_global_norm`): every entry is multiplied by `clip / max(global_norm, clip)`.
///
/// An all-zero collection stays zero. An infinite (or NaN) global norm turns every entry into
/// NaN, as TensorFlow does.
///
/// TensorFlow writes the scale as `clip · min(1/norm, 1/clip)`; this computes
/// `clip / max(norm, clip)` instead, which is the same number up to one rounding and leaves
/// collections within the norm bit for bit unchanged (scale exactly 1).
///
/// # Panics
/// If `clip` is not positive.
///
/// ```
/// use autodiff_core::clip::clip_by_global_norm;
///
/// let (clipped, norm) = clip_by_global_norm(([6.0_f64, 0.0], 8.0_f64), 5.0);
/// assert_eq!((clipped, norm), (([3.0, 0.0], 4.0), 10.0));
/// ```
pub fn clip_by_global_norm<T: Float, P: Params<T>>(mut p: P, clip: T) -> (P, T) {
    assert_positive_clip("clip_by_global_norm", clip);
    let norm = global_norm(&p);
    let scale = if norm.is_infinite() {
        T::nan()
    } else {
        clip / max_like_tf(norm, clip)
    };
    p.visit_mut(&mut |leaf| {
        for x in leaf.iter_mut() {
            *x = *x * scale;
        }
    });
    (p, norm)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_like_tf_propagates_nan_in_first_argument() {
        assert!(max_like_tf(f64::NAN, 1.0).is_nan());
        assert_eq!(max_like_tf(2.0, 1.0), 2.0);
        assert_eq!(max_like_tf(1.0, 2.0), 2.0);
    }
}
