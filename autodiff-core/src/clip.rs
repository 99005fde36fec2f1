//! Gradient clipping with TensorFlow's semantics (`tf.clip_by_value`, `tf.clip_by_norm`,
//! `tf.global_norm`, `tf.clip_by_global_norm`, all as in TensorFlow 2.21's `tf.compat.v1`),
//! on any [`Params`] collection.
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
//! | TensorFlow | here |
//! |------------|------|
//! | `clip_by_value(t, lo, hi)` | [`clip_by_value`], [`try_clip_by_value`] |
//! | `clip_by_norm(t, c)` | [`clip_by_norm`] (any collection), [`clip_slice_by_norm`] (one leaf, in place) |
//! | `clip_by_norm(t, c, axes)` | [`clip_by_norm_axes`], [`try_clip_by_norm_axes`] (a [`Tensor`]) |
//! | `global_norm(ts)` | [`global_norm`] |
//! | `clip_by_global_norm(ts, c)` | [`clip_by_global_norm`] |
//! | `clip_by_global_norm(ts, c, use_norm)` | [`clip_by_global_norm_with_norm`] |
//! | a list with `None`s | a collection with `Option` entries: `None` has no leaves and passes through |
//!
//! NaN, infinity and clip norms of zero behave as in TensorFlow: a NaN entry makes every norm
//! NaN, and with it every entry that is scaled by it; a clip norm of 0 gives zeros (and
//! `0 / 0 = NaN` for an all-zero input, as TensorFlow's formula does). Only a bad argument
//! that Rust's own `clamp` or an out-of-range axis would reject panics, and each such function
//! has a `try_` variant returning a [`ClipError`].
use crate::params::Params;
use crate::Tensor;
use num_traits::Float;
use std::fmt;

/// A clipping argument that the function cannot work with.
///
/// ```
/// use autodiff_core::clip::{try_clip_by_value, ClipError};
///
/// let err = try_clip_by_value([1.0_f64], 2.0, 1.0).unwrap_err();
/// assert_eq!(err, ClipError::InvalidBounds { lo: 2.0, hi: 1.0 });
/// assert!(err.to_string().contains("2 exceeds the upper bound 1"));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ClipError {
    /// `clip_by_value`'s lower bound exceeds its upper bound, or one of them is NaN (the
    /// bounds, converted to `f64`).
    InvalidBounds {
        /// The lower bound.
        lo: f64,
        /// The upper bound.
        hi: f64,
    },
    /// An axis of `clip_by_norm_axes` is not below the tensor's rank.
    AxisOutOfRange {
        /// The axis given.
        axis: usize,
        /// The tensor's shape.
        shape: Vec<usize>,
    },
    /// An axis of `clip_by_norm_axes` is given twice.
    RepeatedAxis {
        /// The axis given twice.
        axis: usize,
        /// The tensor's shape.
        shape: Vec<usize>,
    },
}

impl fmt::Display for ClipError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClipError::InvalidBounds { lo, hi } => write!(
                f,
                "clip_by_value: the lower bound {lo} exceeds the upper bound {hi}, or one is \
                 NaN; give lo <= hi"
            ),
            ClipError::AxisOutOfRange { axis, shape } => write!(
                f,
                "clip_by_norm_axes: axis {axis} is out of range for a tensor of shape {shape:?} \
                 (rank {})",
                shape.len()
            ),
            ClipError::RepeatedAxis { axis, shape } => write!(
                f,
                "clip_by_norm_axes: axis {axis} is given twice (tensor of shape {shape:?}); \
                 give each axis once"
            ),
        }
    }
}

impl std::error::Error for ClipError {}

/// `max` as C++'s `std::max` (and so TensorFlow's `maximum` on CPU) computes it: NaN in
/// `a` propagates, where Rust's `Float::max` would drop it.
fn max_like_tf<T: Float>(a: T, b: T) -> T {
    if a < b {
        b
    } else {
        a
    }
}

/// `min` as TensorFlow's `minimum` on CPU computes it: NaN in `a` propagates.
fn min_like_tf<T: Float>(a: T, b: T) -> T {
    if b < a {
        b
    } else {
        a
    }
}

/// `T` as `f64`, for error messages (NaN if it has no `f64` value).
fn to_f64<T: Float>(x: T) -> f64 {
    x.to_f64().unwrap_or(f64::NAN)
}

/// Sum of squares of one leaf.
fn sum_of_squares<T: Float>(leaf: &[T]) -> T {
    leaf.iter().fold(T::zero(), |acc, &x| acc + x * x)
}

/// Every entry of `p` clamped to `[lo, hi]` (TensorFlow's `tf.clip_by_value`); NaN
/// entries stay NaN.
///
/// # Panics
/// If `lo > hi` or either bound is NaN, as Rust's `f64::clamp` does (TensorFlow would return
/// `lo` everywhere); [`try_clip_by_value`] returns an error instead.
///
/// ```
/// use autodiff_core::clip::clip_by_value;
///
/// assert_eq!(clip_by_value([-3.0_f64, 0.5, 7.0], -1.0, 1.0), [-1.0, 0.5, 1.0]);
/// assert_eq!(clip_by_value(9.0_f32, 0.0, 5.0), 5.0);
/// ```
#[track_caller]
pub fn clip_by_value<T: Float, P: Params<T>>(p: P, lo: T, hi: T) -> P {
    match try_clip_by_value(p, lo, hi) {
        Ok(p) => p,
        Err(err) => panic!("{err}"),
    }
}

/// [`clip_by_value`] (TensorFlow's `tf.clip_by_value`), with an error instead of a panic for
/// bounds it cannot use.
///
/// # Errors
/// [`ClipError::InvalidBounds`] if `lo > hi` or either bound is NaN.
///
/// ```
/// use autodiff_core::clip::try_clip_by_value;
///
/// assert_eq!(try_clip_by_value((4.0_f64, [-4.0]), -2.0, 2.0), Ok((2.0, [-2.0])));
/// assert!(try_clip_by_value(1.0_f64, f64::NAN, 2.0).is_err());
/// ```
pub fn try_clip_by_value<T: Float, P: Params<T>>(mut p: P, lo: T, hi: T) -> Result<P, ClipError> {
    if lo.partial_cmp(&hi).is_none_or(|order| order.is_gt()) {
        return Err(ClipError::InvalidBounds {
            lo: to_f64(lo),
            hi: to_f64(hi),
        });
    }
    p.visit_mut(&mut |leaf| {
        for x in leaf.iter_mut() {
            if *x < lo {
                *x = lo;
            } else if *x > hi {
                *x = hi;
            }
        }
    });
    Ok(p)
}

/// The global L2 norm of a collection: √(Σ over all leaves of Σ x²) (TensorFlow's
/// `tf.global_norm`). Zero for an empty collection; `None` entries count for nothing, as
/// TensorFlow ignores `None`s in the list.
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
/// `tf.clip_by_norm` without `axes`): every entry becomes `x · clip / max(‖p‖₂, clip)`.
///
/// An all-zero `p` stays zero for a positive `clip`. A `clip` of 0 gives zeros (an all-zero
/// `p` then gives `0 / 0 = NaN`, as in TensorFlow); a negative `clip` is used as TensorFlow
/// uses it, by the same formula. An infinite entry makes the norm infinite: finite entries
/// become zero and infinite ones NaN, as in TensorFlow. To clip each leaf (each TensorFlow
/// variable) by its own norm, see [`clip_slice_by_norm`]; along axes of a tensor,
/// [`clip_by_norm_axes`].
///
/// # Panics
/// Never.
///
/// ```
/// use autodiff_core::clip::clip_by_norm;
///
/// assert_eq!(clip_by_norm(9.0_f64, 5.0), 5.0);
/// assert_eq!(clip_by_norm([3.0_f64, 4.0], 2.5), [1.5, 2.0]);
/// assert_eq!(clip_by_norm([3.0_f64, 4.0], 10.0), [3.0, 4.0]);
/// assert_eq!(clip_by_norm([3.0_f64, 4.0], 0.0), [0.0, 0.0]);
/// ```
pub fn clip_by_norm<T: Float, P: Params<T>>(mut p: P, clip: T) -> P {
    let denominator = max_like_tf(global_norm(&p), clip);
    p.visit_mut(&mut |leaf| scale_by_norm(leaf, clip, denominator));
    p
}

/// TensorFlow's order: `(t * clip_norm) / maximum(l2norm, clip_norm)`.
fn scale_by_norm<T: Float>(leaf: &mut [T], clip: T, denominator: T) {
    for x in leaf.iter_mut() {
        *x = *x * clip / denominator;
    }
}

/// One leaf (a flat slice, such as the gradient of one variable that
/// [`zip_leaves_mut`](crate::params::zip_leaves_mut) hands out) scaled in place so that its
/// L2 norm is at most `clip`: TensorFlow's `tf.clip_by_norm(g, clip)` on one variable's
/// gradient, with the same formula and edge cases as [`clip_by_norm`].
///
/// # Panics
/// Never.
///
/// ```
/// use autodiff_core::clip::clip_slice_by_norm;
///
/// let mut g = [6.0_f64, 8.0];
/// clip_slice_by_norm(&mut g, 5.0);
/// assert_eq!(g, [3.0, 4.0]);
/// ```
pub fn clip_slice_by_norm<T: Float>(values: &mut [T], clip: T) {
    let denominator = max_like_tf(sum_of_squares(values).sqrt(), clip);
    scale_by_norm(values, clip, denominator);
}

/// `t` clipped by norm along `axes` (TensorFlow's `tf.clip_by_norm(t, clip, axes)`): every
/// slice of `t` that the other axes fix (a row for `axes = [1]` of a matrix) is scaled so that
/// its L2 norm over `axes` is at most `clip`, by `x · clip / max(‖slice‖₂, clip)`. `axes =
/// [0, 1, ..]` (all of them) is [`clip_by_norm`]; no axes clips every element on its own, as
/// TensorFlow's `reduce_sum` over no axes reduces nothing.
///
/// # Panics
/// If an axis is not below `t`'s rank or is given twice, with a message naming the axis and
/// the shape; [`try_clip_by_norm_axes`] returns an error instead.
///
/// ```
/// use autodiff_core::clip::clip_by_norm_axes;
/// use autodiff_core::Tensor;
///
/// // Rows of norm 5 and 0.5, clipped to norm 1: the first is scaled, the second kept.
/// let t = Tensor::from([[3.0_f64, 4.0], [0.0, 0.5]]);
/// assert_eq!(clip_by_norm_axes(t, 1.0, &[1]), Tensor::from([[0.6, 0.8], [0.0, 0.5]]));
/// ```
#[track_caller]
pub fn clip_by_norm_axes<T: Float>(t: Tensor<T>, clip: T, axes: &[usize]) -> Tensor<T> {
    match try_clip_by_norm_axes(t, clip, axes) {
        Ok(t) => t,
        Err(err) => panic!("{err}"),
    }
}

/// [`clip_by_norm_axes`] (TensorFlow's `tf.clip_by_norm(t, clip_norm, axes)`), with an error
/// instead of a panic for axes it cannot use.
///
/// # Errors
/// [`ClipError::AxisOutOfRange`] if an axis is not below `t`'s rank,
/// [`ClipError::RepeatedAxis`] if one is given twice.
///
/// ```
/// use autodiff_core::clip::{try_clip_by_norm_axes, ClipError};
/// use autodiff_core::Tensor;
///
/// let t = Tensor::from([[3.0_f64, 4.0]]);
/// let err = try_clip_by_norm_axes(t, 1.0, &[2]).unwrap_err();
/// assert_eq!(err, ClipError::AxisOutOfRange { axis: 2, shape: vec![1, 2] });
/// ```
pub fn try_clip_by_norm_axes<T: Float>(
    mut t: Tensor<T>,
    clip: T,
    axes: &[usize],
) -> Result<Tensor<T>, ClipError> {
    let shape = t.shape().to_vec();
    let mut reduced = vec![false; shape.len()];
    for &axis in axes {
        if axis >= shape.len() {
            return Err(ClipError::AxisOutOfRange { axis, shape });
        }
        if reduced[axis] {
            return Err(ClipError::RepeatedAxis { axis, shape });
        }
        reduced[axis] = true;
    }
    // The index of each element's slice: its multi-index with the reduced axes dropped,
    // flattened row-major over the kept axes.
    let kept_size: usize = shape
        .iter()
        .zip(&reduced)
        .filter(|(_, r)| !**r)
        .map(|(n, _)| *n)
        .product();
    let slice_of = |flat: usize| {
        let (mut rest, mut index, mut stride) = (flat, 0, 1);
        for (d, &n) in shape.iter().enumerate().rev() {
            let coordinate = rest % n;
            rest /= n;
            if !reduced[d] {
                index += coordinate * stride;
                stride *= n;
            }
        }
        index
    };
    let mut l2sum = vec![T::zero(); kept_size];
    for (i, &x) in t.as_slice().iter().enumerate() {
        let s = slice_of(i);
        l2sum[s] = l2sum[s] + x * x;
    }
    // TensorFlow's l2norm: sqrt where the sum is positive, the sum itself (0 or NaN) elsewhere.
    let denominators: Vec<T> = l2sum
        .iter()
        .map(|&sum| {
            let norm = if sum > T::zero() { sum.sqrt() } else { sum };
            max_like_tf(norm, clip)
        })
        .collect();
    for (i, x) in t.as_mut_slice().iter_mut().enumerate() {
        *x = *x * clip / denominators[slice_of(i)];
    }
    Ok(t)
}

/// `p` scaled so that its global norm is at most `clip`, and that global norm (TensorFlow's
/// `tf.clip_by_global_norm(t_list, clip_norm)`): every entry is multiplied by
/// `clip / max(global_norm, clip)`. `None` entries of the collection pass through, as in
/// TensorFlow's list with `None`s.
///
/// An all-zero collection stays zero for a positive `clip`. A `clip` of 0 gives zeros (NaN
/// for an all-zero collection, `0 · 1/0` in TensorFlow's formula), a negative `clip` leaves
/// the collection as TensorFlow's formula does (scale `clip · 1/clip`). An infinite (or NaN)
/// global norm turns every entry into NaN, as TensorFlow does.
///
/// TensorFlow writes the scale as `clip · min(1/norm, 1/clip)`; for a positive `clip` this
/// computes `clip / max(norm, clip)` instead, which is the same number up to one rounding and
/// leaves collections within the norm bit for bit unchanged (scale exactly 1). For other
/// clips it computes TensorFlow's expression.
///
/// # Panics
/// Never.
///
/// ```
/// use autodiff_core::clip::clip_by_global_norm;
///
/// let (clipped, norm) = clip_by_global_norm(([6.0_f64, 0.0], 8.0_f64), 5.0);
/// assert_eq!((clipped, norm), (([3.0, 0.0], 4.0), 10.0));
///
/// // TensorFlow's list with a `None`: [g1, None, g2].
/// let grads = (Some([6.0_f64, 0.0]), None::<f64>, Some(8.0_f64));
/// assert_eq!(clip_by_global_norm(grads, 5.0), ((Some([3.0, 0.0]), None, Some(4.0)), 10.0));
/// ```
pub fn clip_by_global_norm<T: Float, P: Params<T>>(p: P, clip: T) -> (P, T) {
    let norm = global_norm(&p);
    clip_by_global_norm_with_norm(p, clip, norm)
}

/// [`clip_by_global_norm`] with a global norm computed earlier (TensorFlow's
/// `tf.clip_by_global_norm(t_list, clip_norm, use_norm)`): `p` is scaled by
/// `clip / max(use_norm, clip)`, and `use_norm` is returned as the norm. Its use: clip several
/// collections by their joint norm, or reuse the norm already logged.
///
/// # Panics
/// Never.
///
/// ```
/// use autodiff_core::clip::{clip_by_global_norm_with_norm, global_norm};
///
/// // Two collections clipped by their joint norm √(5² + 12²) = 13.
/// let (a, b) = ([3.0_f64, 4.0], 12.0_f64);
/// let joint = (global_norm(&a).powi(2) + global_norm(&b).powi(2)).sqrt();
/// assert_eq!(joint, 13.0);
/// let (a, norm) = clip_by_global_norm_with_norm(a, 6.5, joint);
/// let (b, _) = clip_by_global_norm_with_norm(b, 6.5, joint);
/// assert_eq!((a, b, norm), ([1.5, 2.0], 6.0, 13.0));
/// ```
pub fn clip_by_global_norm_with_norm<T: Float, P: Params<T>>(
    mut p: P,
    clip: T,
    use_norm: T,
) -> (P, T) {
    let scale = if use_norm.is_infinite() || use_norm.is_nan() {
        T::nan()
    } else if clip > T::zero() {
        clip / max_like_tf(use_norm, clip)
    } else {
        clip * min_like_tf(use_norm.recip(), clip.recip())
    };
    p.visit_mut(&mut |leaf| {
        for x in leaf.iter_mut() {
            *x = *x * scale;
        }
    });
    (p, use_norm)
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
