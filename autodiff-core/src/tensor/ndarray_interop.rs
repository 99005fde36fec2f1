//! Conversions between [`Tensor`] and ndarray's arrays (cargo feature `ndarray`).
//!
//! A `Tensor` is an ndarray `ArrayD` in standard (row-major) layout, so conversions move the
//! buffer when they can and copy in logical order otherwise.

use ndarray::{Array, ArrayBase, ArrayD, ArrayViewD, Data, Dimension, IxDyn};
use num_traits::Float;

use super::Tensor;

impl<T: Float> Tensor<T> {
    /// A read-only ndarray view of this tensor, without copying.
    ///
    /// # Panics
    /// Never.
    ///
    /// ```
    /// use autodiff_core::Tensor;
    ///
    /// let t = Tensor::from([[1.0, 2.0], [3.0, 4.0]]);
    /// let v = t.as_ndarray();
    /// assert_eq!(v[[1, 0]], 3.0);
    /// assert_eq!(v.sum_axis(ndarray::Axis(0)).iter().copied().collect::<Vec<_>>(), vec![4.0, 6.0]);
    /// ```
    pub fn as_ndarray(&self) -> ArrayViewD<'_, T> {
        ArrayViewD::from_shape(IxDyn(self.shape()), self.as_slice())
            .expect("a Tensor's data always matches its shape")
    }
}

impl<T: Float, D: Dimension> From<Array<T, D>> for Tensor<T> {
    /// A tensor with the array's shape and elements; the buffer is moved when the array is in
    /// standard layout, copied in logical order otherwise (e.g. a transposed array).
    ///
    /// ```
    /// use autodiff_core::Tensor;
    ///
    /// let a = ndarray::array![[1.0, 2.0], [3.0, 4.0]];
    /// assert_eq!(Tensor::from(a.clone()), Tensor::from([[1.0, 2.0], [3.0, 4.0]]));
    /// assert_eq!(Tensor::from(a.reversed_axes()), Tensor::from([[1.0, 3.0], [2.0, 4.0]]));
    /// ```
    fn from(array: Array<T, D>) -> Self {
        let shape = array.shape().to_vec();
        if !array.is_standard_layout() {
            return Tensor::from_vec(array.iter().copied().collect(), &shape);
        }
        // In standard layout the elements are `buffer[offset..offset + len]`; the buffer can
        // be longer if the array was sliced in place (`slice_collapse`).
        let len = array.len();
        let (mut data, offset) = array.into_raw_vec_and_offset();
        let start = if len == 0 { 0 } else { offset.unwrap_or(0) };
        data.truncate(start + len);
        data.drain(..start);
        Tensor::from_vec(data, &shape)
    }
}

impl<T: Float, S: Data<Elem = T>, D: Dimension> From<&ArrayBase<S, D>> for Tensor<T> {
    /// A tensor with a copy of the array's (or view's) elements in logical row-major order,
    /// whatever its memory layout.
    ///
    /// ```
    /// use autodiff_core::Tensor;
    ///
    /// let a = ndarray::array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]];
    /// let column = a.column(1);
    /// assert_eq!(Tensor::from(&column), Tensor::from([2.0, 5.0]));
    /// ```
    fn from(array: &ArrayBase<S, D>) -> Self {
        Tensor::from_vec(array.iter().copied().collect(), array.shape())
    }
}

impl<T: Float> From<Tensor<T>> for ArrayD<T> {
    /// The tensor as a dynamic-dimensional ndarray array, without copying.
    ///
    /// ```
    /// use autodiff_core::Tensor;
    ///
    /// let a = ndarray::ArrayD::from(Tensor::from([[1.0, 2.0], [3.0, 4.0]]));
    /// assert_eq!(a.shape(), &[2, 2]);
    /// assert_eq!(a[[0, 1]], 2.0);
    /// ```
    fn from(tensor: Tensor<T>) -> Self {
        let shape = tensor.shape().to_vec();
        ArrayD::from_shape_vec(IxDyn(&shape), tensor.into_vec())
            .expect("a Tensor's data always matches its shape")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{array, s, Axis};

    #[test]
    fn round_trip_keeps_shape_and_order() {
        let t = Tensor::from_vec((0..24).map(f64::from).collect(), &[2, 3, 4]);
        let a = ArrayD::from(t.clone());
        assert_eq!(a[[1, 2, 3]], 23.0);
        assert_eq!(Tensor::from(a), t);
    }

    #[test]
    fn non_standard_layouts_are_copied_in_logical_order() {
        let a = array![[1.0_f32, 2.0, 3.0], [4.0, 5.0, 6.0]];
        assert_eq!(
            Tensor::from(a.t().to_owned()),
            Tensor::from(a.t().to_owned()).transpose().transpose()
        );
        assert_eq!(
            Tensor::from(&a.t()),
            Tensor::from([[1.0, 4.0], [2.0, 5.0], [3.0, 6.0]])
        );
        let mut sliced = a.clone();
        sliced.slice_collapse(s![.., 1..]);
        assert_eq!(Tensor::from(sliced), Tensor::from([[2.0, 3.0], [5.0, 6.0]]));
    }

    #[test]
    fn view_agrees_with_tensor_reductions() {
        let t = Tensor::from([[1.0, 2.0], [3.0, 4.0]]);
        assert_eq!(
            t.as_ndarray()
                .sum_axis(Axis(1))
                .iter()
                .copied()
                .collect::<Vec<_>>(),
            t.sum_axis(1).into_vec()
        );
    }
}
