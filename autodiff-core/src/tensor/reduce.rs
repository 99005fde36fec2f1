//! Reductions (`sum`, `mean`, `max`, `min`, `sum_axis`, `mean_axis`, `max_axis`, `min_axis`,
//! `logsumexp_axis`), the normalisations `softmax` and `log_softmax`, and their VJPs.
//!
//! An axis reduction removes the axis (NumPy's default `keepdims=False`); `softmax` and
//! `log_softmax` keep the shape. A tensor is seen as `outer x len x inner` around the
//! reduced axis: the lane `(o, k)` holds the elements `o * len * inner + i * inner + k`.

use num_traits::Float;

use super::{check_axis, size_of_shape, Tensor};

/// `outer`, `len` and `inner` of `shape` around `axis` (checked by the caller).
fn lanes(shape: &[usize], axis: usize) -> (usize, usize, usize) {
    (
        size_of_shape(&shape[..axis]),
        shape[axis],
        size_of_shape(&shape[axis + 1..]),
    )
}

/// `shape` without `axis`.
fn removed(shape: &[usize], axis: usize) -> Vec<usize> {
    let mut out = shape.to_vec();
    out.remove(axis);
    out
}

/// `shape` with `axis` set to length 1 (NumPy's `keepdims=True`).
fn kept(shape: &[usize], axis: usize) -> Vec<usize> {
    let mut out = shape.to_vec();
    out[axis] = 1;
    out
}

/// `n` as a float (exact for any length a tensor can have in f64; rounded in f32).
fn count<T: Float>(n: usize) -> T {
    T::from(n).unwrap_or_else(T::nan)
}

/// Pairwise sum: the rounding error grows with `log n` rather than `n`.
fn pairwise_sum<T: Float>(xs: &[T]) -> T {
    const BLOCK: usize = 128;
    if xs.len() <= BLOCK {
        xs.iter().fold(T::zero(), |acc, &x| acc + x)
    } else {
        let (lo, hi) = xs.split_at(xs.len() / 2);
        pairwise_sum(lo) + pairwise_sum(hi)
    }
}

/// Folds every lane along `axis` with `f`, starting from `init`; removes the axis.
fn fold_axis<T: Float>(
    x: &Tensor<T>,
    op: &str,
    axis: usize,
    init: T,
    f: impl Fn(T, T) -> T,
) -> Tensor<T> {
    check_axis(op, x.shape(), axis);
    let (outer, len, inner) = lanes(x.shape(), axis);
    let src = x.as_slice();
    let mut data = vec![init; outer * inner];
    for o in 0..outer {
        let acc = &mut data[o * inner..(o + 1) * inner];
        for i in 0..len {
            let row = &src[(o * len + i) * inner..][..inner];
            for (a, &v) in acc.iter_mut().zip(row) {
                *a = f(*a, v);
            }
        }
    }
    Tensor {
        data,
        shape: removed(x.shape(), axis),
    }
}

/// `max` as the reductions compute it: NaN propagates (TensorFlow's `reduce_max` on CPU).
fn max_nan<T: Float>(a: T, x: T) -> T {
    if !a.is_nan() && (x > a || x.is_nan()) {
        x
    } else {
        a
    }
}

/// `min` as the reductions compute it: NaN propagates (TensorFlow's `reduce_min` on CPU).
fn min_nan<T: Float>(a: T, x: T) -> T {
    if !a.is_nan() && (x < a || x.is_nan()) {
        x
    } else {
        a
    }
}

/// The VJP of a max or min reduction along `axis` whose output is `y`, as TensorFlow's
/// `_MaxOrMinGrad` computes it: `indicators = (x == y)`, `dx = indicators / count(indicators)
/// * g`. Each lane's cotangent is split evenly among the elements equal to the lane's
/// extremum; in a lane whose extremum is NaN no element equals it, so every element gets
/// `0 / 0 = NaN`, as in TensorFlow.
fn extremum_axis_vjp<T: Float>(x: &Tensor<T>, y: &[T], axis: usize, g: &[T]) -> Tensor<T> {
    let (outer, len, inner) = lanes(x.shape(), axis);
    let src = x.as_slice();
    let mut data = vec![T::zero(); x.len()];
    for o in 0..outer {
        for k in 0..inner {
            let lane = o * inner + k;
            let at = |i: usize| (o * len + i) * inner + k;
            let selected = (0..len).filter(|&i| src[at(i)] == y[lane]).count();
            let share = T::one() / count::<T>(selected);
            for i in 0..len {
                let indicator = if src[at(i)] == y[lane] {
                    T::one()
                } else {
                    T::zero()
                };
                data[at(i)] = indicator * share * g[lane];
            }
        }
    }
    Tensor {
        data,
        shape: x.shape().to_vec(),
    }
}

impl<T: Float> Tensor<T> {
    /// The sum of all elements (0 for an empty tensor), summed pairwise for accuracy.
    ///
    /// # Panics
    /// Never.
    ///
    /// ```
    /// use autodiff_core::Tensor;
    ///
    /// assert_eq!(Tensor::from([[1.0, 2.0], [3.0, 4.0]]).sum(), 10.0);
    /// ```
    pub fn sum(&self) -> T {
        pairwise_sum(self.as_slice())
    }

    /// The mean of all elements (NaN for an empty tensor).
    ///
    /// # Panics
    /// Never.
    ///
    /// ```
    /// use autodiff_core::Tensor;
    ///
    /// assert_eq!(Tensor::from([[1.0, 2.0], [3.0, 4.0]]).mean(), 2.5);
    /// ```
    pub fn mean(&self) -> T {
        self.sum() / count(self.len())
    }

    /// The sums along `axis`, which is removed from the shape.
    ///
    /// # Panics
    /// If `axis >= self.ndim()`, with a message naming the axis and the shape.
    ///
    /// ```
    /// use autodiff_core::Tensor;
    ///
    /// let t = Tensor::from([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]);
    /// assert_eq!(t.sum_axis(0), Tensor::from([5.0, 7.0, 9.0]));
    /// assert_eq!(t.sum_axis(1), Tensor::from([6.0, 15.0]));
    /// ```
    #[track_caller]
    pub fn sum_axis(&self, axis: usize) -> Tensor<T> {
        fold_axis(self, "sum_axis", axis, T::zero(), |a, x| a + x)
    }

    /// The means along `axis`, which is removed from the shape (NaN for an axis of length 0).
    ///
    /// # Panics
    /// If `axis >= self.ndim()`, with a message naming the axis and the shape.
    ///
    /// ```
    /// use autodiff_core::Tensor;
    ///
    /// let t = Tensor::from([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]);
    /// assert_eq!(t.mean_axis(1), Tensor::from([2.0, 5.0]));
    /// ```
    #[track_caller]
    pub fn mean_axis(&self, axis: usize) -> Tensor<T> {
        check_axis("mean_axis", self.shape(), axis);
        fold_axis(self, "mean_axis", axis, T::zero(), |a, x| a + x) / count::<T>(self.shape()[axis])
    }

    /// The maxima along `axis`, which is removed from the shape. A lane containing NaN gives
    /// NaN; an axis of length 0 gives `-inf` (the identity of `max`).
    ///
    /// # Panics
    /// If `axis >= self.ndim()`, with a message naming the axis and the shape.
    ///
    /// ```
    /// use autodiff_core::Tensor;
    ///
    /// let t = Tensor::from([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]]);
    /// assert_eq!(t.max_axis(0), Tensor::from([4.0, 5.0, 6.0]));
    /// assert_eq!(t.max_axis(1), Tensor::from([5.0, 6.0]));
    /// ```
    #[track_caller]
    pub fn max_axis(&self, axis: usize) -> Tensor<T> {
        fold_axis(self, "max_axis", axis, T::neg_infinity(), max_nan)
    }

    /// The minima along `axis`, which is removed from the shape. A lane containing NaN gives
    /// NaN; an axis of length 0 gives `+inf` (the identity of `min`).
    ///
    /// # Panics
    /// If `axis >= self.ndim()`, with a message naming the axis and the shape.
    ///
    /// ```
    /// use autodiff_core::Tensor;
    ///
    /// let t = Tensor::from([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]]);
    /// assert_eq!(t.min_axis(0), Tensor::from([1.0, 2.0, 3.0]));
    /// assert_eq!(t.min_axis(1), Tensor::from([1.0, 2.0]));
    /// ```
    #[track_caller]
    pub fn min_axis(&self, axis: usize) -> Tensor<T> {
        fold_axis(self, "min_axis", axis, T::infinity(), min_nan)
    }

    /// The maximum of all elements (TensorFlow's `reduce_max` without axes): NaN if any
    /// element is NaN, `-inf` for an empty tensor.
    ///
    /// # Panics
    /// Never.
    ///
    /// ```
    /// use autodiff_core::Tensor;
    ///
    /// assert_eq!(Tensor::from([[1.0, 5.0], [-3.0, 2.0]]).max(), 5.0);
    /// assert_eq!(Tensor::<f64>::zeros(&[0]).max(), f64::NEG_INFINITY);
    /// ```
    pub fn max(&self) -> T {
        self.as_slice()
            .iter()
            .fold(T::neg_infinity(), |a, &x| max_nan(a, x))
    }

    /// The minimum of all elements (TensorFlow's `reduce_min` without axes): NaN if any
    /// element is NaN, `+inf` for an empty tensor.
    ///
    /// # Panics
    /// Never.
    ///
    /// ```
    /// use autodiff_core::Tensor;
    ///
    /// assert_eq!(Tensor::from([[1.0, 5.0], [-3.0, 2.0]]).min(), -3.0);
    /// ```
    pub fn min(&self) -> T {
        self.as_slice()
            .iter()
            .fold(T::infinity(), |a, &x| min_nan(a, x))
    }

    /// `log(sum(exp(x)))` along `axis`, which is removed from the shape; computed as
    /// `m + log(sum(exp(x - m)))` with `m` the lane's maximum, so large inputs do not
    /// overflow. An axis of length 0 gives `-inf`.
    ///
    /// # Panics
    /// If `axis >= self.ndim()`, with a message naming the axis and the shape.
    ///
    /// ```
    /// use autodiff_core::Tensor;
    ///
    /// let t = Tensor::from([[1000.0, 1000.0], [0.0, 0.0]]);
    /// let lse = t.logsumexp_axis(1);
    /// assert!((lse.as_slice()[0] - (1000.0 + 2.0_f64.ln())).abs() < 1e-12);
    /// assert!((lse.as_slice()[1] - 2.0_f64.ln()).abs() < 1e-12);
    /// ```
    #[track_caller]
    pub fn logsumexp_axis(&self, axis: usize) -> Tensor<T> {
        check_axis("logsumexp_axis", self.shape(), axis);
        // Shift by the maximum where it is finite; an all -inf lane (or +inf) needs no shift
        // and would give inf - inf = NaN with one.
        let shift = self
            .max_axis(axis)
            .map(|m| if m.is_finite() { m } else { T::zero() });
        let keep_shape = kept(self.shape(), axis);
        let shifted = self - &shift.reshape(&keep_shape);
        shifted.exp().sum_axis(axis).ln() + &shift
    }

    /// `exp(x) / sum(exp(x))` along `axis`; the shape is kept. Computed as
    /// `exp(x - m) / sum(exp(x - m))` with `m` the lane's maximum, so large inputs do not
    /// overflow.
    ///
    /// # Panics
    /// If `axis >= self.ndim()`, with a message naming the axis and the shape.
    ///
    /// ```
    /// use autodiff_core::Tensor;
    ///
    /// let t = Tensor::from([[1000.0, 1000.0], [0.0, 2.0_f64.ln()]]);
    /// let s = t.softmax(1);
    /// assert_eq!(s.as_slice()[..2], [0.5, 0.5]);
    /// assert!((s.as_slice()[3] - 2.0 / 3.0).abs() < 1e-15);
    /// ```
    #[track_caller]
    pub fn softmax(&self, axis: usize) -> Tensor<T> {
        check_axis("softmax", self.shape(), axis);
        let keep_shape = kept(self.shape(), axis);
        let shift = self
            .max_axis(axis)
            .map(|m| if m.is_finite() { m } else { T::zero() })
            .into_reshaped(&keep_shape);
        let e = (self - &shift).exp();
        let total = e.sum_axis(axis).into_reshaped(&keep_shape);
        e / &total
    }

    /// `x - logsumexp(x)` along `axis`; the shape is kept. Stable for large inputs, and
    /// more accurate than `softmax(axis).ln()` for very negative ones.
    ///
    /// # Panics
    /// If `axis >= self.ndim()`, with a message naming the axis and the shape.
    ///
    /// ```
    /// use autodiff_core::Tensor;
    ///
    /// let t = Tensor::from([1000.0, 1000.0]);
    /// let l = t.log_softmax(0);
    /// assert!((l.as_slice()[0] + 2.0_f64.ln()).abs() < 1e-12);
    /// ```
    #[track_caller]
    pub fn log_softmax(&self, axis: usize) -> Tensor<T> {
        check_axis("log_softmax", self.shape(), axis);
        let keep_shape = kept(self.shape(), axis);
        self - &self.logsumexp_axis(axis).into_reshaped(&keep_shape)
    }
}

/// Panics unless `g` has the shape of `shape` without `axis` (the shape of an axis
/// reduction's output).
#[track_caller]
fn check_reduced_cotangent(op: &str, shape: &[usize], axis: usize, g: &[usize]) {
    check_axis(op, shape, axis);
    let expected = removed(shape, axis);
    assert!(
        g == expected.as_slice(),
        "Tensor {op}: the cotangent has shape {g:?}, but reducing shape {shape:?} along axis {axis} gives {expected:?}"
    );
}

/// Panics unless `g` has the same shape as the output `y`.
#[track_caller]
fn check_same_shape(op: &str, y: &[usize], g: &[usize]) {
    assert!(
        y == g,
        "Tensor {op}: the cotangent has shape {g:?}, but the output has shape {y:?}"
    );
}

/// The VJP of [`Tensor::sum_axis`]: `g` (shaped like the sum) repeated along `axis` to the
/// input's `shape`.
///
/// # Panics
/// If `axis` is out of range for `shape`, or `g` does not have the shape of `shape` without
/// `axis`.
///
/// ```
/// use autodiff_core::Tensor;
/// use autodiff_core::tensor::sum_axis_vjp;
///
/// let g = Tensor::from([1.0, 2.0]);
/// assert_eq!(sum_axis_vjp(&[2, 3], 1, &g), Tensor::from([[1.0, 1.0, 1.0], [2.0, 2.0, 2.0]]));
/// ```
#[track_caller]
pub fn sum_axis_vjp<T: Float>(shape: &[usize], axis: usize, g: &Tensor<T>) -> Tensor<T> {
    check_reduced_cotangent("sum_axis_vjp", shape, axis, g.shape());
    g.reshape(&kept(shape, axis)).broadcast_to(shape)
}

/// The VJP of [`Tensor::mean_axis`]: `g / len` repeated along `axis` to the input's `shape`.
///
/// # Panics
/// If `axis` is out of range for `shape`, or `g` does not have the shape of `shape` without
/// `axis`.
///
/// ```
/// use autodiff_core::Tensor;
/// use autodiff_core::tensor::mean_axis_vjp;
///
/// let g = Tensor::from([4.0, 8.0]);
/// assert_eq!(mean_axis_vjp(&[4, 2], 0, &g).as_slice(), &[1.0, 2.0, 1.0, 2.0, 1.0, 2.0, 1.0, 2.0]);
/// ```
#[track_caller]
pub fn mean_axis_vjp<T: Float>(shape: &[usize], axis: usize, g: &Tensor<T>) -> Tensor<T> {
    check_reduced_cotangent("mean_axis_vjp", shape, axis, g.shape());
    sum_axis_vjp(shape, axis, g) / count::<T>(shape[axis])
}

/// The VJP of [`Tensor::max_axis`], as TensorFlow's `reduce_max` gradient: each lane's
/// cotangent is split evenly among the lane's maxima (all of it to the maximum when it is
/// unique); every other element gets 0. A lane containing NaN gets NaN everywhere (no
/// element equals the NaN maximum, and TensorFlow divides by that count of 0).
///
/// JAX's `max` and PyTorch's `amax` split alike; PyTorch's `max(dim)` instead routes the
/// whole cotangent to the first maximum.
///
/// # Panics
/// If `axis` is out of range for `x`, or `g` does not have the shape of `x` without `axis`.
///
/// ```
/// use autodiff_core::Tensor;
/// use autodiff_core::tensor::max_axis_vjp;
///
/// // TensorFlow: tf.gradients(tf.reduce_sum(tf.reduce_max(x, 1) * [10, 20]), x)
/// let x = Tensor::from([[1.0, 3.0, 3.0], [5.0, 0.0, 2.0]]);
/// let g = Tensor::from([10.0, 20.0]);
/// assert_eq!(max_axis_vjp(&x, 1, &g), Tensor::from([[0.0, 5.0, 5.0], [20.0, 0.0, 0.0]]));
/// ```
#[track_caller]
pub fn max_axis_vjp<T: Float>(x: &Tensor<T>, axis: usize, g: &Tensor<T>) -> Tensor<T> {
    check_reduced_cotangent("max_axis_vjp", x.shape(), axis, g.shape());
    let y = x.max_axis(axis);
    extremum_axis_vjp(x, y.as_slice(), axis, g.as_slice())
}

/// The VJP of [`Tensor::min_axis`], as TensorFlow's `reduce_min` gradient: each lane's
/// cotangent is split evenly among the lane's minima; every other element gets 0 (NaN in
/// a lane containing NaN).
///
/// # Panics
/// If `axis` is out of range for `x`, or `g` does not have the shape of `x` without `axis`.
///
/// ```
/// use autodiff_core::Tensor;
/// use autodiff_core::tensor::min_axis_vjp;
///
/// let x = Tensor::from([[1.0, 1.0, 3.0], [5.0, 0.0, 2.0]]);
/// let g = Tensor::from([10.0, 20.0]);
/// assert_eq!(min_axis_vjp(&x, 1, &g), Tensor::from([[5.0, 5.0, 0.0], [0.0, 20.0, 0.0]]));
/// ```
#[track_caller]
pub fn min_axis_vjp<T: Float>(x: &Tensor<T>, axis: usize, g: &Tensor<T>) -> Tensor<T> {
    check_reduced_cotangent("min_axis_vjp", x.shape(), axis, g.shape());
    let y = x.min_axis(axis);
    extremum_axis_vjp(x, y.as_slice(), axis, g.as_slice())
}

/// The VJP of [`Tensor::max`] (the maximum of all elements) for the cotangent `g`, as
/// TensorFlow's `reduce_max` gradient: `g` split evenly among all maxima.
///
/// # Panics
/// Never.
///
/// ```
/// use autodiff_core::Tensor;
/// use autodiff_core::tensor::max_vjp;
///
/// let x = Tensor::from([[0.0, 2.0], [2.0, 2.0]]);
/// let third = 1.0 / 3.0;
/// assert_eq!(max_vjp(&x, 1.0), Tensor::from([[0.0, third], [third, third]]));
/// ```
pub fn max_vjp<T: Float>(x: &Tensor<T>, g: T) -> Tensor<T> {
    let flat = x.reshape(&[x.len()]);
    extremum_axis_vjp(&flat, &[x.max()], 0, &[g]).into_reshaped(x.shape())
}

/// The VJP of [`Tensor::min`] for the cotangent `g`, as TensorFlow's `reduce_min`
/// gradient: `g` split evenly among all minima.
///
/// # Panics
/// Never.
///
/// ```
/// use autodiff_core::Tensor;
/// use autodiff_core::tensor::min_vjp;
///
/// let x = Tensor::from([-1.0, 2.0, -1.0]);
/// assert_eq!(min_vjp(&x, 4.0), Tensor::from([2.0, 0.0, 2.0]));
/// ```
pub fn min_vjp<T: Float>(x: &Tensor<T>, g: T) -> Tensor<T> {
    let flat = x.reshape(&[x.len()]);
    extremum_axis_vjp(&flat, &[x.min()], 0, &[g]).into_reshaped(x.shape())
}

/// The VJP of [`Tensor::logsumexp_axis`]: `g * exp(x - y)` with `g` and the output `y`
/// repeated along `axis` (that is, `g` times the softmax of `x`).
///
/// # Panics
/// If `axis` is out of range for `x`, or `y` or `g` do not have the shape of `x` without
/// `axis`.
///
/// ```
/// use autodiff_core::Tensor;
/// use autodiff_core::tensor::logsumexp_axis_vjp;
///
/// let x = Tensor::from([0.0_f64, 0.0, 0.0, 0.0]);
/// let y = x.logsumexp_axis(0);
/// let dx = logsumexp_axis_vjp(&x, &y, 0, &Tensor::scalar(2.0));
/// assert!(dx.as_slice().iter().all(|&d| (d - 0.5).abs() < 1e-15));
/// ```
#[track_caller]
pub fn logsumexp_axis_vjp<T: Float>(
    x: &Tensor<T>,
    y: &Tensor<T>,
    axis: usize,
    g: &Tensor<T>,
) -> Tensor<T> {
    check_reduced_cotangent("logsumexp_axis_vjp", x.shape(), axis, y.shape());
    check_reduced_cotangent("logsumexp_axis_vjp", x.shape(), axis, g.shape());
    let keep_shape = kept(x.shape(), axis);
    (x - &y.reshape(&keep_shape)).exp() * &g.reshape(&keep_shape)
}

/// The VJP of [`Tensor::softmax`], from its output `y`: `y * (g - sum(g * y, axis))`.
///
/// # Panics
/// If `axis` is out of range for `y`, or `g` does not have the shape of `y`.
///
/// ```
/// use autodiff_core::Tensor;
/// use autodiff_core::tensor::softmax_vjp;
///
/// let y = Tensor::from([0.5, 0.5]).softmax(0);
/// // A constant cotangent has no effect: softmax is invariant to adding a constant.
/// let dx = softmax_vjp(&y, 0, &Tensor::from([3.0, 3.0]));
/// assert_eq!(dx.as_slice(), &[0.0, 0.0]);
/// ```
#[track_caller]
pub fn softmax_vjp<T: Float>(y: &Tensor<T>, axis: usize, g: &Tensor<T>) -> Tensor<T> {
    check_axis("softmax_vjp", y.shape(), axis);
    check_same_shape("softmax_vjp", y.shape(), g.shape());
    let keep_shape = kept(y.shape(), axis);
    let gy = g * y;
    let weighted = gy.sum_axis(axis).into_reshaped(&keep_shape);
    gy - &(y * &weighted)
}

/// The VJP of [`Tensor::log_softmax`], from its output `y`: `g - exp(y) * sum(g, axis)`.
///
/// # Panics
/// If `axis` is out of range for `y`, or `g` does not have the shape of `y`.
///
/// ```
/// use autodiff_core::Tensor;
/// use autodiff_core::tensor::log_softmax_vjp;
///
/// let y = Tensor::from([0.0_f64, 0.0]).log_softmax(0);
/// let dx = log_softmax_vjp(&y, 0, &Tensor::from([1.0, 0.0]));
/// assert!((dx.as_slice()[0] - 0.5).abs() < 1e-15 && (dx.as_slice()[1] + 0.5).abs() < 1e-15);
/// ```
#[track_caller]
pub fn log_softmax_vjp<T: Float>(y: &Tensor<T>, axis: usize, g: &Tensor<T>) -> Tensor<T> {
    check_axis("log_softmax_vjp", y.shape(), axis);
    check_same_shape("log_softmax_vjp", y.shape(), g.shape());
    let (outer, len, inner) = lanes(y.shape(), axis);
    let total = g.sum_axis(axis);
    // `g - exp(y) · total` in one pass over `exp(y)`'s buffer (the vectorised `exp`), each
    // element with its lane's total: no broadcast tensor, no third buffer.
    let mut out = y.exp();
    let (g, total) = (g.as_slice(), total.as_slice());
    if inner == 1 {
        // The last axis: each lane is contiguous.
        for ((lane, g), &t) in out
            .data
            .chunks_exact_mut(len.max(1))
            .zip(g.chunks_exact(len.max(1)))
            .zip(total)
        {
            for (e, &g) in lane.iter_mut().zip(g) {
                *e = g - *e * t;
            }
        }
    } else {
        for o in 0..outer {
            let t = &total[o * inner..(o + 1) * inner];
            for k in 0..len {
                let at = (o * len + k) * inner;
                let (e, g) = (&mut out.data[at..at + inner], &g[at..at + inner]);
                for ((e, &g), &t) in e.iter_mut().zip(g).zip(t) {
                    *e = g - *e * t;
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Central finite differences of `f` at `x` in the direction of each element, compared
    /// with `grad`, the claimed gradient of `f`.
    fn check_gradient(x: &Tensor<f64>, grad: &Tensor<f64>, f: impl Fn(&Tensor<f64>) -> f64) {
        assert_eq!(x.shape(), grad.shape());
        let h = 1e-6;
        for i in 0..x.len() {
            let mut plus = x.clone();
            plus.as_mut_slice()[i] += h;
            let mut minus = x.clone();
            minus.as_mut_slice()[i] -= h;
            let numeric = (f(&plus) - f(&minus)) / (2.0 * h);
            let analytic = grad.as_slice()[i];
            assert!(
                (numeric - analytic).abs() < 1e-6 * (1.0 + numeric.abs()),
                "element {i}: finite difference {numeric} != vjp {analytic}"
            );
        }
    }

    fn sample(shape: &[usize]) -> Tensor<f64> {
        let n = size_of_shape(shape);
        Tensor::from_vec(
            (0..n)
                .map(|i| ((i * 7 + 3) % 11) as f64 * 0.37 - 1.5)
                .collect(),
            shape,
        )
    }

    #[test]
    fn axis_reductions_of_a_3d_tensor() {
        let t = Tensor::from_vec((0..24).map(f64::from).collect(), &[2, 3, 4]);
        assert_eq!(t.sum_axis(1).shape(), &[2, 4]);
        assert_eq!(t.sum_axis(1).get(&[1, 2]), Some(14.0 + 18.0 + 22.0));
        assert_eq!(t.max_axis(2).get(&[1, 0]), Some(15.0));
        assert_eq!(t.mean_axis(0).get(&[2, 3]), Some(17.0));
        assert_eq!(t.sum(), 276.0);
    }

    #[test]
    fn empty_lanes_reduce_to_identities() {
        let t = Tensor::<f64>::zeros(&[2, 0]);
        assert_eq!(t.sum_axis(1).as_slice(), &[0.0, 0.0]);
        assert_eq!(t.max_axis(1).as_slice(), &[f64::NEG_INFINITY; 2]);
        assert_eq!(t.min_axis(1).as_slice(), &[f64::INFINITY; 2]);
        assert_eq!(
            max_axis_vjp(&t, 1, &Tensor::from([1.0, 1.0])).shape(),
            &[2, 0]
        );
        assert_eq!((t.max(), t.min()), (f64::NEG_INFINITY, f64::INFINITY));
        assert_eq!(t.logsumexp_axis(1).as_slice(), &[f64::NEG_INFINITY; 2]);
        assert!(t.mean_axis(1).as_slice()[0].is_nan());
        assert!(t.mean().is_nan());
    }

    #[test]
    fn max_axis_propagates_nan() {
        let t = Tensor::from([1.0, f64::NAN, 3.0]);
        assert!(t.max_axis(0).as_slice()[0].is_nan());
        assert!(t.min_axis(0).as_slice()[0].is_nan());
        assert!(t.max().is_nan() && t.min().is_nan());
        // TensorFlow: no element equals the NaN maximum, 0 / 0 everywhere in the lane.
        let g = max_axis_vjp(&t, 0, &Tensor::scalar(1.0));
        assert!(g.as_slice().iter().all(|v| v.is_nan()), "{g:?}");
        let g = min_vjp(&t, 1.0);
        assert!(g.as_slice().iter().all(|v| v.is_nan()), "{g:?}");
        // Another lane is not affected.
        let t = Tensor::from([[1.0, f64::NAN], [3.0, 3.0]]);
        let g = max_axis_vjp(&t, 1, &Tensor::from([1.0, 1.0]));
        assert!(g.as_slice()[0].is_nan() && g.as_slice()[1].is_nan());
        assert_eq!(&g.as_slice()[2..], &[0.5, 0.5]);
    }

    #[test]
    #[should_panic(
        expected = "Tensor sum_axis: axis 2 is out of range for a tensor of shape [2, 3] (rank 2)"
    )]
    fn out_of_range_axis_panics() {
        let _ = Tensor::<f64>::zeros(&[2, 3]).sum_axis(2);
    }

    #[test]
    #[should_panic(
        expected = "Tensor softmax: axis 0 is out of range for a tensor of shape [] (rank 0)"
    )]
    fn softmax_of_a_scalar_panics() {
        let _ = Tensor::scalar(1.0).softmax(0);
    }

    #[test]
    fn softmax_and_logsumexp_are_stable_for_large_inputs() {
        let t = Tensor::from([[1000.0, 1001.0, 1002.0], [-1000.0, -1001.0, -1002.0]]);
        let lse = t.logsumexp_axis(1);
        let small = Tensor::from([0.0, 1.0, 2.0]).logsumexp_axis(0).as_slice()[0];
        assert!((lse.as_slice()[0] - (1000.0 + small)).abs() < 1e-10);
        assert!((lse.as_slice()[1] - (-1000.0 + small - 2.0)).abs() < 1e-10);
        let s = t.softmax(1);
        assert!(s.as_slice().iter().all(|v| v.is_finite()));
        assert!((s.sum_axis(1).as_slice()[0] - 1.0).abs() < 1e-15);
        let ls = t.log_softmax(1);
        assert!((ls.exp() - &s).abs().as_slice().iter().all(|&d| d < 1e-12));
        let all_neg_inf = Tensor::from([f64::NEG_INFINITY; 3]);
        assert_eq!(
            all_neg_inf.logsumexp_axis(0).as_slice(),
            &[f64::NEG_INFINITY]
        );
    }

    #[test]
    fn sum_and_mean_axis_vjps_match_finite_differences() {
        let x = sample(&[2, 3, 2]);
        for axis in [0, 1, 2] {
            let g = sample(&removed(x.shape(), axis));
            check_gradient(&x, &sum_axis_vjp(x.shape(), axis, &g), |x| {
                (x.sum_axis(axis) * &g).sum()
            });
            check_gradient(&x, &mean_axis_vjp(x.shape(), axis, &g), |x| {
                (x.mean_axis(axis) * &g).sum()
            });
        }
    }

    #[test]
    fn max_axis_vjp_matches_finite_differences_without_ties() {
        let x = Tensor::from([[0.3, -1.0, 2.0], [4.0, 1.5, -2.0]]);
        for axis in [0, 1] {
            let g = sample(&removed(x.shape(), axis));
            check_gradient(&x, &max_axis_vjp(&x, axis, &g), |x| {
                (x.max_axis(axis) * &g).sum()
            });
            check_gradient(&x, &min_axis_vjp(&x, axis, &g), |x| {
                (x.min_axis(axis) * &g).sum()
            });
        }
        check_gradient(&x, &max_vjp(&x, 3.0), |x| 3.0 * x.max());
        check_gradient(&x, &min_vjp(&x, 3.0), |x| 3.0 * x.min());
    }

    #[test]
    fn logsumexp_softmax_and_log_softmax_vjps_match_finite_differences() {
        let x = sample(&[3, 4]);
        for axis in [0, 1] {
            let g = sample(&removed(x.shape(), axis));
            let y = x.logsumexp_axis(axis);
            check_gradient(&x, &logsumexp_axis_vjp(&x, &y, axis, &g), |x| {
                (x.logsumexp_axis(axis) * &g).sum()
            });

            let g = sample(x.shape()).map(f64::sin);
            let s = x.softmax(axis);
            check_gradient(&x, &softmax_vjp(&s, axis, &g), |x| {
                (x.softmax(axis) * &g).sum()
            });
            let ls = x.log_softmax(axis);
            check_gradient(&x, &log_softmax_vjp(&ls, axis, &g), |x| {
                (x.log_softmax(axis) * &g).sum()
            });
        }
    }

    #[test]
    #[should_panic(
        expected = "the cotangent has shape [3], but reducing shape [2, 3] along axis 1 gives [2]"
    )]
    fn vjp_rejects_a_cotangent_of_the_wrong_shape() {
        let _ = sum_axis_vjp(&[2, 3], 1, &Tensor::<f64>::zeros(&[3]));
    }
}
