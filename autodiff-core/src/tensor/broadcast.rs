//! NumPy broadcasting: the result shape of two operands, the loop that walks both, and the
//! gradient helpers [`Tensor::broadcast_to`] and [`unbroadcast`].
//!
//! Broadcasting aligns shapes at their last axis; two lengths are compatible if they are
//! equal or one of them is 1 (a missing leading axis counts as 1). A length-1 axis is read
//! with stride 0, so no operand is ever copied to the result shape.

use num_traits::Float;

use super::{row_major_strides, size_of_shape, ShapeError, Tensor};

/// The shape that `a` and `b` broadcast to, or `None` if they are incompatible.
pub(crate) fn broadcast_shape(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let rank = a.len().max(b.len());
    let mut out = vec![0; rank];
    for (i, o) in out.iter_mut().enumerate() {
        // Axis `i` of the result is axis `i - (rank - len)` of an operand, or absent (1).
        let da = (i + a.len()).checked_sub(rank).map_or(1, |j| a[j]);
        let db = (i + b.len()).checked_sub(rank).map_or(1, |j| b[j]);
        *o = match (da, db) {
            _ if da == db => da,
            (1, _) => db,
            (_, 1) => da,
            _ => return None,
        };
    }
    Some(out)
}

/// Strides (in elements) with which a contiguous tensor of `shape` is read when broadcast to
/// `out_shape`: one per axis of `out_shape`, 0 on the axes it is broadcast along. The caller
/// has checked that `shape` broadcasts to `out_shape`.
pub(crate) fn broadcast_strides(shape: &[usize], out_shape: &[usize]) -> Vec<usize> {
    let own = row_major_strides(shape);
    let lead = out_shape.len() - shape.len();
    (0..out_shape.len())
        .map(|i| {
            if i < lead || shape[i - lead] == 1 {
                0
            } else {
                own[i - lead]
            }
        })
        .collect()
}

/// Calls `f(offset_a, offset_b)` for every index of `out_shape` in row-major order, where
/// each offset is the dot product of the index with that operand's `strides`.
///
/// The innermost axis runs in a tight loop; the outer axes advance like an odometer.
pub(crate) fn for_each_offset_pair(
    out_shape: &[usize],
    strides_a: &[usize],
    strides_b: &[usize],
    mut f: impl FnMut(usize, usize),
) {
    if size_of_shape(out_shape) == 0 {
        return;
    }
    let Some((&inner_len, outer_shape)) = out_shape.split_last() else {
        f(0, 0);
        return;
    };
    let rank = out_shape.len();
    let (inner_a, inner_b) = (strides_a[rank - 1], strides_b[rank - 1]);
    let mut index = vec![0usize; rank - 1];
    let (mut base_a, mut base_b) = (0usize, 0usize);
    loop {
        for j in 0..inner_len {
            f(base_a + j * inner_a, base_b + j * inner_b);
        }
        // Advance the odometer over the outer axes, last one fastest.
        let mut axis = outer_shape.len();
        loop {
            if axis == 0 {
                return;
            }
            axis -= 1;
            index[axis] += 1;
            base_a += strides_a[axis];
            base_b += strides_b[axis];
            if index[axis] < outer_shape[axis] {
                break;
            }
            base_a -= strides_a[axis] * index[axis];
            base_b -= strides_b[axis] * index[axis];
            index[axis] = 0;
        }
    }
}

/// `f` applied element by element to `a` and `b` broadcast together; `operation` names the
/// operation in the error.
pub(crate) fn try_zip_with<T: Copy, U>(
    operation: &'static str,
    a: &Tensor<T>,
    b: &Tensor<T>,
    mut f: impl FnMut(T, T) -> U,
) -> Result<Tensor<U>, ShapeError> {
    let (sa, sb) = (a.shape(), b.shape());
    if sa == sb {
        let data = a
            .as_slice()
            .iter()
            .zip(b.as_slice())
            .map(|(&x, &y)| f(x, y))
            .collect();
        return Ok(Tensor {
            data,
            shape: sa.to_vec(),
        });
    }
    let out_shape =
        broadcast_shape(sa, sb).ok_or_else(|| ShapeError::broadcast(operation, sa, sb))?;
    let (da, db) = (a.as_slice(), b.as_slice());
    let mut data = Vec::with_capacity(size_of_shape(&out_shape));
    // A scalar or a trailing block (a bias row) repeated over the other operand: whole
    // chunks, no index arithmetic.
    if size_of_shape(&out_shape) > 0 {
        if out_shape == sa && repeats_as_suffix(sb, sa) {
            for chunk in da.chunks_exact(db.len()) {
                data.extend(chunk.iter().zip(db).map(|(&x, &y)| f(x, y)));
            }
            return Ok(Tensor {
                data,
                shape: out_shape,
            });
        }
        if out_shape == sb && repeats_as_suffix(sa, sb) {
            for chunk in db.chunks_exact(da.len()) {
                data.extend(da.iter().zip(chunk).map(|(&x, &y)| f(x, y)));
            }
            return Ok(Tensor {
                data,
                shape: out_shape,
            });
        }
    }
    let strides_a = broadcast_strides(sa, &out_shape);
    let strides_b = broadcast_strides(sb, &out_shape);
    for_each_offset_pair(&out_shape, &strides_a, &strides_b, |i, j| {
        data.push(f(da[i], db[j]))
    });
    Ok(Tensor {
        data,
        shape: out_shape,
    })
}

/// Whether `small`, without its leading 1s, is the trailing part of `big` (`[16]` or
/// `[1, 16]` in `[32, 16]`; a scalar in anything): broadcasting it repeats its data whole.
fn repeats_as_suffix(small: &[usize], big: &[usize]) -> bool {
    let first = small.iter().position(|&d| d != 1).unwrap_or(small.len());
    let core = &small[first..];
    core.len() <= big.len() && big.ends_with(core)
}

/// Whether a tensor of shape `from` can be broadcast to exactly `to` (`to` is the result of
/// broadcasting both and `from` has no more axes than `to`).
pub(crate) fn broadcasts_to(from: &[usize], to: &[usize]) -> bool {
    from.len() <= to.len() && broadcast_shape(from, to).is_some_and(|s| s == to)
}

impl<T: Float> Tensor<T> {
    /// This tensor repeated along broadcast axes to `shape`, or a [`ShapeError`].
    ///
    /// # Errors
    /// [`ErrorKind::IncompatibleShapes`](super::ErrorKind::IncompatibleShapes) if this
    /// tensor's shape does not broadcast to `shape`.
    ///
    /// ```
    /// use autodiff_core::Tensor;
    ///
    /// let t = Tensor::from([1.0, 2.0]);
    /// assert_eq!(t.try_broadcast_to(&[2, 2]).unwrap().as_slice(), &[1.0, 2.0, 1.0, 2.0]);
    /// assert!(t.try_broadcast_to(&[3]).is_err());
    /// ```
    pub fn try_broadcast_to(&self, shape: &[usize]) -> Result<Tensor<T>, ShapeError> {
        if !broadcasts_to(self.shape(), shape) {
            return Err(ShapeError::broadcast_to(
                "broadcast_to",
                self.shape(),
                shape,
            ));
        }
        let strides = broadcast_strides(self.shape(), shape);
        let src = self.as_slice();
        let mut data = Vec::with_capacity(size_of_shape(shape));
        for_each_offset_pair(shape, &strides, &strides, |i, _| data.push(src[i]));
        Ok(Tensor {
            data,
            shape: shape.to_vec(),
        })
    }

    /// This tensor repeated along broadcast axes to `shape` (NumPy's `broadcast_to`, as a
    /// copy). It is the VJP of [`unbroadcast`], and of sums over axes.
    ///
    /// # Panics
    /// If this tensor's shape does not broadcast to `shape`, with a message naming both;
    /// [`Tensor::try_broadcast_to`] returns a [`ShapeError`] instead.
    ///
    /// ```
    /// use autodiff_core::Tensor;
    ///
    /// let column = Tensor::from([[1.0], [2.0]]);
    /// assert_eq!(column.broadcast_to(&[2, 3]), Tensor::from([[1.0, 1.0, 1.0], [2.0, 2.0, 2.0]]));
    /// ```
    #[track_caller]
    pub fn broadcast_to(&self, shape: &[usize]) -> Tensor<T> {
        self.try_broadcast_to(shape)
            .unwrap_or_else(|err| panic!("{err}"))
    }
}

/// Sums a gradient of a broadcast result back to the shape of one operand: the VJP of
/// broadcasting `shape` to `grad.shape()`.
///
/// Leading axes that the operand lacks are summed away, and axes where the operand has
/// length 1 are summed and kept with length 1. For `c = a + b`, the gradient of `a` is
/// `unbroadcast(&g, a.shape())`.
///
/// # Panics
/// If `shape` does not broadcast to `grad.shape()`, with a message naming both shapes.
///
/// ```
/// use autodiff_core::Tensor;
/// use autodiff_core::tensor::unbroadcast;
///
/// let g = Tensor::from([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]);
/// assert_eq!(unbroadcast(&g, &[3]), Tensor::from([5.0, 7.0, 9.0]));
/// assert_eq!(unbroadcast(&g, &[2, 1]), Tensor::from([[6.0], [15.0]]));
/// assert_eq!(unbroadcast(&g, &[]), Tensor::scalar(21.0));
/// ```
#[track_caller]
pub fn unbroadcast<T: Float>(grad: &Tensor<T>, shape: &[usize]) -> Tensor<T> {
    let grad_shape = grad.shape();
    if grad_shape == shape {
        return grad.clone();
    }
    if !broadcasts_to(shape, grad_shape) {
        panic!(
            "{}",
            ShapeError::broadcast_to("unbroadcast", shape, grad_shape)
        );
    }
    let src = grad.as_slice();
    let mut data = vec![T::zero(); size_of_shape(shape)];
    // A scalar or a trailing block (a bias row): sum whole chunks, in the same order as the
    // general path below.
    if !data.is_empty() && repeats_as_suffix(shape, grad_shape) {
        for chunk in src.chunks_exact(data.len()) {
            for (d, &g) in data.iter_mut().zip(chunk) {
                *d = *d + g;
            }
        }
        return Tensor {
            data,
            shape: shape.to_vec(),
        };
    }
    let grad_strides = row_major_strides(grad_shape);
    let target_strides = broadcast_strides(shape, grad_shape);
    for_each_offset_pair(grad_shape, &grad_strides, &target_strides, |g, t| {
        data[t] = data[t] + src[g];
    });
    Tensor {
        data,
        shape: shape.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_shape_follows_numpy() {
        assert_eq!(broadcast_shape(&[3, 1], &[4]), Some(vec![3, 4]));
        assert_eq!(broadcast_shape(&[2, 3], &[3]), Some(vec![2, 3]));
        assert_eq!(broadcast_shape(&[], &[2, 2]), Some(vec![2, 2]));
        assert_eq!(broadcast_shape(&[5, 1, 4], &[3, 1]), Some(vec![5, 3, 4]));
        assert_eq!(broadcast_shape(&[0], &[1]), Some(vec![0]));
        assert_eq!(broadcast_shape(&[2, 3], &[4]), None);
        assert_eq!(broadcast_shape(&[2], &[3, 3]), None);
    }

    #[test]
    fn broadcast_strides_are_zero_on_broadcast_axes() {
        assert_eq!(broadcast_strides(&[3, 1], &[2, 3, 4]), vec![0, 1, 0]);
        assert_eq!(broadcast_strides(&[2, 3], &[2, 3]), vec![3, 1]);
    }

    #[test]
    fn zip_with_broadcasts_a_column_against_a_row() {
        let col = Tensor::from([[10.0], [20.0]]);
        let row = Tensor::from([1.0, 2.0, 3.0]);
        let sum = try_zip_with("add", &col, &row, |x, y| x + y).unwrap();
        assert_eq!(sum, Tensor::from([[11.0, 12.0, 13.0], [21.0, 22.0, 23.0]]));
    }

    /// The element of `t` at the broadcast index `index` of `out` (numpy's rule, by hand).
    fn at(t: &Tensor<f64>, out: &[usize], index: &[usize]) -> f64 {
        let lead = out.len() - t.shape().len();
        let mut offset = 0;
        for (axis, &d) in t.shape().iter().enumerate() {
            let i = if d == 1 { 0 } else { index[lead + axis] };
            offset = offset * d + i;
        }
        t.as_slice()[offset]
    }

    fn indices(shape: &[usize]) -> Vec<Vec<usize>> {
        let mut all = vec![Vec::new()];
        for &d in shape {
            all = all
                .into_iter()
                .flat_map(|prefix| {
                    (0..d).map(move |i| {
                        let mut next = prefix.clone();
                        next.push(i);
                        next
                    })
                })
                .collect();
        }
        all
    }

    fn counting(shape: &[usize], scale: f64) -> Tensor<f64> {
        let n = size_of_shape(shape);
        Tensor::from_vec((0..n).map(|k| (k as f64 + 1.0) * scale).collect(), shape)
    }

    /// The fast paths (a scalar or a trailing block, either side) and the general one agree
    /// with broadcasting done by hand, and `unbroadcast` with summing by hand.
    #[test]
    fn every_broadcast_path_matches_the_rule_by_hand() {
        let pairs: [(&[usize], &[usize]); 9] = [
            (&[2, 3], &[3]),
            (&[2, 3], &[1, 3]),
            (&[2, 3], &[]),
            (&[3], &[2, 3]),
            (&[1], &[4, 2]),
            (&[2, 1], &[3]),
            (&[2, 3, 4], &[3, 4]),
            (&[2, 3, 4], &[3, 1]),
            (&[1, 1], &[2, 2]),
        ];
        for (sa, sb) in pairs {
            let (a, b) = (counting(sa, 1.0), counting(sb, 0.01));
            let out = try_zip_with("sub", &a, &b, |x, y| x - y).unwrap();
            for index in indices(out.shape()) {
                let expected = at(&a, out.shape(), &index) - at(&b, out.shape(), &index);
                assert_eq!(at(&out, out.shape(), &index), expected, "{sa:?} - {sb:?}");
            }
            for (small, t) in [(sa, &a), (sb, &b)] {
                let summed = unbroadcast(&out, small);
                let mut expected = vec![0.0; t.len()];
                for index in indices(out.shape()) {
                    let lead = out.shape().len() - small.len();
                    let mut offset = 0;
                    for (axis, &d) in small.iter().enumerate() {
                        offset = offset * d + if d == 1 { 0 } else { index[lead + axis] };
                    }
                    expected[offset] += at(&out, out.shape(), &index);
                }
                assert_eq!(
                    summed.as_slice(),
                    expected.as_slice(),
                    "unbroadcast to {small:?}"
                );
            }
        }
    }

    #[test]
    fn broadcast_to_rejects_shrinking() {
        let t = Tensor::<f64>::zeros(&[1, 3]);
        assert!(t.try_broadcast_to(&[3]).is_err());
        assert!(Tensor::<f64>::zeros(&[2])
            .try_broadcast_to(&[2, 3])
            .is_err());
        assert_eq!(t.broadcast_to(&[2, 2, 3]).shape(), &[2, 2, 3]);
    }

    #[test]
    #[should_panic(expected = "Tensor unbroadcast: shape [4] cannot be broadcast to shape [2, 3]")]
    fn unbroadcast_panics_on_incompatible_shapes() {
        let _ = unbroadcast(&Tensor::<f64>::zeros(&[2, 3]), &[4]);
    }

    /// unbroadcast is the transpose of broadcast_to: <broadcast_to(x), g> == <x, unbroadcast(g)>.
    #[test]
    fn unbroadcast_is_the_adjoint_of_broadcast_to() {
        let cases: [(&[usize], &[usize]); 4] = [
            (&[3], &[2, 3]),
            (&[2, 1], &[2, 3]),
            (&[], &[2, 2]),
            (&[1, 3, 1], &[2, 1, 3, 4]),
        ];
        for (small, big) in cases {
            let x = Tensor::from_vec(
                (0..size_of_shape(small)).map(|i| i as f64 + 0.5).collect(),
                small,
            );
            let g = Tensor::from_vec(
                (0..size_of_shape(big)).map(|i| (i as f64).sin()).collect(),
                big,
            );
            let lhs: f64 = (x.broadcast_to(big) * &g).sum();
            let rhs: f64 = (&x * &unbroadcast(&g, small)).sum();
            assert!(
                (lhs - rhs).abs() < 1e-12,
                "{small:?} -> {big:?}: {lhs} != {rhs}"
            );
        }
    }
}
