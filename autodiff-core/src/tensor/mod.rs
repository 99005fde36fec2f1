//! [`Tensor<T>`]: an owned, contiguous, row-major n-d array of floats with NumPy broadcasting,
//! and the derivative helpers that `#[differentiate]` uses for tensor code.
//!
//! # Layout
//!
//! A tensor is a `Vec<T>` plus a shape. Elements are stored in row-major (C) order: the last
//! axis varies fastest, so the element at index `[i, j]` of a `[m, n]` tensor is
//! `as_slice()[i * n + j]`. There are no views and no strides; every operation returns a new,
//! contiguous tensor, and nothing is shared, so a `Tensor` is `Send + Sync` and unwind-safe.
//! A 0-d tensor (shape `[]`) holds one element.
//!
//! # Operations
//!
//! - Construction and access: [`Tensor::from_vec`], [`Tensor::zeros`], [`Tensor::get`], ...
//! - Element-wise `+ - * /` with NumPy broadcasting, between tensors and with scalars
//!   (module `ops`), and maps such as [`Tensor::exp`] and [`Tensor::tanh`].
//! - Reductions: [`Tensor::sum`], [`Tensor::sum_axis`], [`Tensor::softmax`], ...
//! - Linear algebra: [`Tensor::matmul`] (through `matrixmultiply`'s GEMM),
//!   [`Tensor::transpose`], [`Tensor::dot`].
//!
//! # Derivative helpers
//!
//! Each operation whose derivative is not element-wise has a vector-Jacobian product (VJP)
//! next to it: [`unbroadcast`], [`matmul_vjp`], [`sum_axis_vjp`], [`mean_axis_vjp`],
//! [`max_axis_vjp`], [`logsumexp_axis_vjp`], [`softmax_vjp`], [`log_softmax_vjp`]. They are
//! pure functions: given the primal values and the cotangent `g` of the output, they return
//! the cotangents of the inputs.
//!
//! ```
//! use autodiff_core::Tensor;
//!
//! let x = Tensor::from([[1.0, 2.0], [3.0, 4.0]]);
//! let w = Tensor::from([[1.0], [-1.0]]);
//! let y = x.matmul(&w).tanh() + 1.0;
//! assert_eq!(y.shape(), &[2, 1]);
//! ```

mod broadcast;
mod error;
mod linalg;
mod map;
#[cfg(feature = "ndarray")]
mod ndarray_interop;
mod ops;
#[cfg(feature = "rayon")]
mod parallel;
mod reduce;
pub mod rules;
mod vmath;

use std::fmt;

use num_traits::Float;

pub use broadcast::unbroadcast;
pub use error::{ErrorKind, ShapeError};
pub use linalg::matmul_vjp;
pub use reduce::{
    log_softmax_vjp, logsumexp_axis_vjp, max_axis_vjp, mean_axis_vjp, softmax_vjp, sum_axis_vjp,
};
pub use reduce::{max_vjp, min_axis_vjp, min_vjp};

/// An owned, contiguous, row-major n-dimensional array of floats (`f32` or `f64`).
///
/// See the [module documentation](self) for the layout and the list of operations.
///
/// ```
/// use autodiff_core::Tensor;
///
/// let t = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
/// assert_eq!(t.shape(), &[2, 3]);
/// assert_eq!(t.get(&[1, 0]), Some(4.0));
/// assert_eq!((&t * 2.0).sum(), 42.0);
/// ```
#[derive(Clone, PartialEq)]
pub struct Tensor<T> {
    /// Elements in row-major order; `data.len() == shape.iter().product()`.
    data: Vec<T>,
    shape: Vec<usize>,
}

/// Number of elements of a tensor of this shape (1 for the 0-d shape `[]`).
pub(crate) fn size_of_shape(shape: &[usize]) -> usize {
    shape.iter().product()
}

/// Row-major strides (in elements) of a contiguous tensor of this shape.
pub(crate) fn row_major_strides(shape: &[usize]) -> Vec<usize> {
    let mut strides = vec![0; shape.len()];
    let mut stride = 1;
    for (s, &d) in strides.iter_mut().zip(shape).rev() {
        *s = stride;
        stride *= d;
    }
    strides
}

/// Panics if `axis` is not an axis of `shape`; `op` names the operation in the message.
pub(crate) fn check_axis(op: &str, shape: &[usize], axis: usize) {
    assert!(
        axis < shape.len(),
        "Tensor {op}: axis {axis} is out of range for a tensor of shape {shape:?} (rank {})",
        shape.len()
    );
}

impl<T> Tensor<T> {
    /// Builds a tensor from row-major `data` and a `shape`, or a [`ShapeError`] if
    /// `data.len()` is not the product of the shape.
    ///
    /// # Errors
    /// [`ErrorKind::LengthMismatch`] if `data.len() != shape.iter().product()`.
    ///
    /// ```
    /// use autodiff_core::tensor::{ErrorKind, Tensor};
    ///
    /// let t = Tensor::try_from_vec(vec![1.0, 2.0, 3.0], &[3]).unwrap();
    /// assert_eq!(t.shape(), &[3]);
    /// let err = Tensor::try_from_vec(vec![1.0, 2.0, 3.0], &[2, 2]).unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::LengthMismatch);
    /// ```
    pub fn try_from_vec(data: Vec<T>, shape: &[usize]) -> Result<Self, ShapeError> {
        if data.len() == size_of_shape(shape) {
            Ok(Tensor {
                data,
                shape: shape.to_vec(),
            })
        } else {
            Err(ShapeError::length_mismatch("from_vec", data.len(), shape))
        }
    }

    /// Builds a tensor from row-major `data` and a `shape`.
    ///
    /// # Panics
    /// If `data.len()` is not the product of the shape, with a message naming the length and
    /// the shape; [`Tensor::try_from_vec`] returns a [`ShapeError`] instead.
    ///
    /// ```
    /// use autodiff_core::Tensor;
    ///
    /// let t = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    /// assert_eq!(t.get(&[1, 2]), Some(6.0));
    /// ```
    #[track_caller]
    pub fn from_vec(data: Vec<T>, shape: &[usize]) -> Self {
        Self::try_from_vec(data, shape).unwrap_or_else(|err| panic!("{err}"))
    }

    /// Builds a tensor of the given shape with every element equal to `value`.
    ///
    /// # Panics
    /// Never (a shape whose product overflows `usize` aborts on allocation).
    ///
    /// ```
    /// use autodiff_core::Tensor;
    ///
    /// let t = Tensor::full(&[2, 2], 0.5);
    /// assert_eq!(t.as_slice(), &[0.5; 4]);
    /// ```
    pub fn full(shape: &[usize], value: T) -> Self
    where
        T: Clone,
    {
        Tensor {
            data: vec![value; size_of_shape(shape)],
            shape: shape.to_vec(),
        }
    }

    /// Builds a 0-d tensor (shape `[]`) holding one element.
    ///
    /// # Panics
    /// Never.
    ///
    /// ```
    /// use autodiff_core::Tensor;
    ///
    /// let t = Tensor::scalar(3.0);
    /// assert_eq!(t.shape(), &[] as &[usize]);
    /// assert_eq!(t.as_slice(), &[3.0]);
    /// ```
    pub fn scalar(value: T) -> Self {
        Tensor {
            data: vec![value],
            shape: Vec::new(),
        }
    }

    /// The shape: the length of each axis.
    ///
    /// # Panics
    /// Never.
    ///
    /// ```
    /// use autodiff_core::Tensor;
    ///
    /// assert_eq!(Tensor::<f64>::zeros(&[2, 3, 4]).shape(), &[2, 3, 4]);
    /// ```
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The elements in row-major order.
    ///
    /// # Panics
    /// Never.
    ///
    /// ```
    /// use autodiff_core::Tensor;
    ///
    /// let t = Tensor::from([[1.0, 2.0], [3.0, 4.0]]);
    /// assert_eq!(t.as_slice(), &[1.0, 2.0, 3.0, 4.0]);
    /// ```
    pub fn as_slice(&self) -> &[T] {
        &self.data
    }

    /// The elements in row-major order, mutably (the shape cannot change).
    ///
    /// # Panics
    /// Never.
    ///
    /// ```
    /// use autodiff_core::Tensor;
    ///
    /// let mut t = Tensor::<f64>::zeros(&[2, 2]);
    /// t.as_mut_slice()[3] = 1.0;
    /// assert_eq!(t.get(&[1, 1]), Some(1.0));
    /// ```
    pub fn as_mut_slice(&mut self) -> &mut [T] {
        &mut self.data
    }

    /// The elements in row-major order, consuming the tensor without copying.
    ///
    /// # Panics
    /// Never.
    ///
    /// ```
    /// use autodiff_core::Tensor;
    ///
    /// let t = Tensor::from([[1.0, 2.0], [3.0, 4.0]]);
    /// assert_eq!(t.into_vec(), vec![1.0, 2.0, 3.0, 4.0]);
    /// ```
    pub fn into_vec(self) -> Vec<T> {
        self.data
    }

    /// The number of elements (the product of the shape; 1 for a 0-d tensor).
    ///
    /// # Panics
    /// Never.
    ///
    /// ```
    /// use autodiff_core::Tensor;
    ///
    /// assert_eq!(Tensor::<f32>::zeros(&[2, 3]).len(), 6);
    /// assert_eq!(Tensor::scalar(1.0).len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether the tensor has no elements (some axis has length 0).
    ///
    /// # Panics
    /// Never.
    ///
    /// ```
    /// use autodiff_core::Tensor;
    ///
    /// assert!(Tensor::<f64>::zeros(&[2, 0]).is_empty());
    /// assert!(!Tensor::scalar(1.0).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The number of axes (0 for a scalar tensor).
    ///
    /// # Panics
    /// Never.
    ///
    /// ```
    /// use autodiff_core::Tensor;
    ///
    /// assert_eq!(Tensor::<f64>::zeros(&[2, 3, 4]).ndim(), 3);
    /// assert_eq!(Tensor::scalar(1.0).ndim(), 0);
    /// ```
    pub fn ndim(&self) -> usize {
        self.shape.len()
    }

    /// The row-major offset of `index` in [`Tensor::as_slice`], or `None` if the index has
    /// the wrong number of axes or is out of bounds.
    fn offset_of(&self, index: &[usize]) -> Option<usize> {
        if index.len() != self.shape.len() {
            return None;
        }
        let mut offset = 0;
        for (&i, &d) in index.iter().zip(&self.shape) {
            if i >= d {
                return None;
            }
            offset = offset * d + i;
        }
        Some(offset)
    }

    /// The same elements with another shape of the same size, or a [`ShapeError`].
    ///
    /// # Errors
    /// [`ErrorKind::LengthMismatch`] if the new shape has a different number of elements.
    ///
    /// ```
    /// use autodiff_core::Tensor;
    ///
    /// let t = Tensor::from(vec![1.0, 2.0, 3.0, 4.0]);
    /// assert_eq!(t.try_reshape(&[2, 2]).unwrap().get(&[1, 0]), Some(3.0));
    /// assert!(t.try_reshape(&[3]).is_err());
    /// ```
    pub fn try_reshape(&self, shape: &[usize]) -> Result<Self, ShapeError>
    where
        T: Clone,
    {
        if size_of_shape(shape) == self.len() {
            Ok(Tensor {
                data: self.data.clone(),
                shape: shape.to_vec(),
            })
        } else {
            Err(ShapeError::reshape(&self.shape, shape))
        }
    }

    /// The same elements with another shape of the same size (a copy; row-major order is
    /// kept).
    ///
    /// # Panics
    /// If the new shape has a different number of elements, with a message naming both
    /// shapes; [`Tensor::try_reshape`] returns a [`ShapeError`] instead.
    ///
    /// ```
    /// use autodiff_core::Tensor;
    ///
    /// let t = Tensor::from([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]);
    /// assert_eq!(t.reshape(&[3, 2]), Tensor::from([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]));
    /// ```
    #[track_caller]
    pub fn reshape(&self, shape: &[usize]) -> Self
    where
        T: Clone,
    {
        self.try_reshape(shape)
            .unwrap_or_else(|err| panic!("{err}"))
    }

    /// The same tensor with another shape of the same size, without copying.
    pub(crate) fn into_reshaped(self, shape: &[usize]) -> Self {
        debug_assert_eq!(size_of_shape(shape), self.data.len());
        Tensor {
            data: self.data,
            shape: shape.to_vec(),
        }
    }

    /// A tensor of the same shape whose elements are `f` of this one's.
    fn map_elements<U>(&self, f: impl FnMut(&T) -> U) -> Tensor<U> {
        Tensor {
            data: self.data.iter().map(f).collect(),
            shape: self.shape.clone(),
        }
    }
}

impl<T: Float> Tensor<T> {
    /// A tensor of the given shape filled with zeros.
    ///
    /// # Panics
    /// Never.
    ///
    /// ```
    /// use autodiff_core::Tensor;
    ///
    /// let t = Tensor::<f64>::zeros(&[2, 3]);
    /// assert_eq!(t.as_slice(), &[0.0; 6]);
    /// ```
    pub fn zeros(shape: &[usize]) -> Self {
        Self::full(shape, T::zero())
    }

    /// A tensor of the given shape filled with ones.
    ///
    /// # Panics
    /// Never.
    ///
    /// ```
    /// use autodiff_core::Tensor;
    ///
    /// let t = Tensor::<f32>::ones(&[3]);
    /// assert_eq!(t.as_slice(), &[1.0; 3]);
    /// ```
    pub fn ones(shape: &[usize]) -> Self {
        Self::full(shape, T::one())
    }

    /// The element at `index` (one entry per axis), or `None` if the index has the wrong
    /// number of axes or is out of bounds.
    ///
    /// # Panics
    /// Never.
    ///
    /// ```
    /// use autodiff_core::Tensor;
    ///
    /// let t = Tensor::from([[1.0, 2.0], [3.0, 4.0]]);
    /// assert_eq!(t.get(&[1, 0]), Some(3.0));
    /// assert_eq!(t.get(&[2, 0]), None);
    /// assert_eq!(t.get(&[1]), None);
    /// assert_eq!(Tensor::scalar(7.0).get(&[]), Some(7.0));
    /// ```
    pub fn get(&self, index: &[usize]) -> Option<T> {
        self.offset_of(index).map(|offset| self.data[offset])
    }
}

impl<T: Float> From<Vec<T>> for Tensor<T> {
    /// A 1-d tensor owning the vector's elements.
    ///
    /// ```
    /// use autodiff_core::Tensor;
    ///
    /// assert_eq!(Tensor::from(vec![1.0, 2.0]).shape(), &[2]);
    /// ```
    fn from(data: Vec<T>) -> Self {
        let shape = vec![data.len()];
        Tensor { data, shape }
    }
}

impl<T: Float, const N: usize> From<[T; N]> for Tensor<T> {
    /// A 1-d tensor of length `N`.
    ///
    /// ```
    /// use autodiff_core::Tensor;
    ///
    /// assert_eq!(Tensor::from([1.0, 2.0, 3.0]).shape(), &[3]);
    /// ```
    fn from(array: [T; N]) -> Self {
        Tensor {
            data: Vec::from(array),
            shape: vec![N],
        }
    }
}

impl<T: Float, const M: usize, const N: usize> From<[[T; M]; N]> for Tensor<T> {
    /// A 2-d tensor of shape `[N, M]`: one row per inner array.
    ///
    /// ```
    /// use autodiff_core::Tensor;
    ///
    /// let t = Tensor::from([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]);
    /// assert_eq!(t.shape(), &[2, 3]);
    /// assert_eq!(t.get(&[1, 2]), Some(6.0));
    /// ```
    fn from(array: [[T; M]; N]) -> Self {
        Tensor {
            data: array.into_iter().flatten().collect(),
            shape: vec![N, M],
        }
    }
}

impl<T: Float, const L: usize, const M: usize, const N: usize> From<[[[T; L]; M]; N]>
    for Tensor<T>
{
    /// A 3-d tensor of shape `[N, M, L]`.
    ///
    /// ```
    /// use autodiff_core::Tensor;
    ///
    /// let t = Tensor::from([[[1.0, 2.0]], [[3.0, 4.0]]]);
    /// assert_eq!(t.shape(), &[2, 1, 2]);
    /// ```
    fn from(array: [[[T; L]; M]; N]) -> Self {
        Tensor {
            data: array.into_iter().flatten().flatten().collect(),
            shape: vec![N, M, L],
        }
    }
}

/// Writes `elements` (already formatted, all padded to the same width) nested as NumPy does:
/// rows on their own lines, aligned under the opening bracket, blocks of rank 3 and more
/// separated by blank lines. `indent` is the column of the outermost `[`.
fn write_nested(
    f: &mut fmt::Formatter<'_>,
    shape: &[usize],
    elements: &[String],
    indent: usize,
    depth: usize,
) -> fmt::Result {
    let Some((&len, inner_shape)) = shape.split_first() else {
        return f.write_str(&elements[0]);
    };
    f.write_str("[")?;
    let inner_size = size_of_shape(inner_shape);
    for i in 0..len {
        if i > 0 {
            if inner_shape.is_empty() {
                f.write_str(", ")?;
            } else {
                // One newline between rows, one more per extra level of nesting.
                f.write_str(",")?;
                for _ in 0..inner_shape.len() {
                    f.write_str("\n")?;
                }
                // The trailing newline's line gets the indentation only.
                write!(f, "{:width$}", "", width = indent + depth + 1)?;
            }
        }
        let chunk = &elements[i * inner_size..(i + 1) * inner_size];
        write_nested(f, inner_shape, chunk, indent, depth + 1)?;
    }
    f.write_str("]")
}

/// Formats every element with `format_one`, pads them to a common width (right-aligned, as
/// NumPy does) and writes them nested.
fn write_tensor<T>(
    f: &mut fmt::Formatter<'_>,
    tensor: &Tensor<T>,
    indent: usize,
    format_one: impl Fn(&T) -> String,
) -> fmt::Result {
    let mut elements: Vec<String> = tensor.data.iter().map(format_one).collect();
    let width = elements
        .iter()
        .map(|e| e.chars().count())
        .max()
        .unwrap_or(0);
    for e in &mut elements {
        let pad = width - e.chars().count();
        if pad > 0 {
            e.insert_str(0, &" ".repeat(pad));
        }
    }
    write_nested(f, &tensor.shape, &elements, indent, 0)
}

impl<T: fmt::Display> fmt::Display for Tensor<T> {
    /// Prints like NumPy's `print(array)`: nested brackets, one row per line, elements
    /// right-aligned to a common width. A precision (`{:.2}`) applies to every element.
    ///
    /// ```
    /// use autodiff_core::Tensor;
    ///
    /// let t = Tensor::from([[1.0, 2.5], [10.0, 4.0]]);
    /// assert_eq!(t.to_string(), "[[  1, 2.5],\n [ 10,   4]]");
    /// assert_eq!(format!("{:.1}", Tensor::from([1.0, 2.0])), "[1.0, 2.0]");
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let precision = f.precision();
        write_tensor(f, self, 0, |x| match precision {
            Some(p) => format!("{x:.p$}"),
            None => format!("{x}"),
        })
    }
}

impl<T: fmt::Debug> fmt::Debug for Tensor<T> {
    /// Prints like NumPy's `repr`: `Tensor([[1.0, 2.0],\n        [3.0, 4.0]], shape=[2, 2])`.
    ///
    /// ```
    /// use autodiff_core::Tensor;
    ///
    /// let t = Tensor::from([[1.0, 2.0], [3.0, 4.0]]);
    /// assert_eq!(format!("{t:?}"), "Tensor([[1.0, 2.0],\n        [3.0, 4.0]], shape=[2, 2])");
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const PREFIX: &str = "Tensor(";
        f.write_str(PREFIX)?;
        write_tensor(f, self, PREFIX.len(), |x| format!("{x:?}"))?;
        write!(f, ", shape={:?})", self.shape)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_vec_checks_length_and_keeps_row_major_order() {
        let t = Tensor::from_vec((0..6).map(f64::from).collect(), &[2, 3]);
        assert_eq!(t.get(&[0, 2]), Some(2.0));
        assert_eq!(t.get(&[1, 0]), Some(3.0));
        assert_eq!(t.get(&[1, 3]), None);
        let err = Tensor::try_from_vec(vec![1.0_f32; 5], &[2, 3]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::LengthMismatch);
        assert_eq!(err.shapes(), (&[5][..], &[2, 3][..]));
    }

    #[test]
    #[should_panic(expected = "data of length 5 does not match shape [2, 3]")]
    fn from_vec_panics_naming_length_and_shape() {
        let _ = Tensor::from_vec(vec![1.0_f64; 5], &[2, 3]);
    }

    #[test]
    fn strides_are_row_major() {
        assert_eq!(row_major_strides(&[2, 3, 4]), vec![12, 4, 1]);
        assert_eq!(row_major_strides(&[]), Vec::<usize>::new());
    }

    #[test]
    fn constructors_fill_the_shape() {
        assert_eq!(Tensor::<f64>::ones(&[2, 2]).as_slice(), &[1.0; 4]);
        assert_eq!(Tensor::<f64>::zeros(&[]).as_slice(), &[0.0]);
        assert_eq!(Tensor::full(&[3], 2.0_f32).into_vec(), vec![2.0; 3]);
        assert_eq!(Tensor::<f64>::zeros(&[0, 3]).len(), 0);
    }

    #[test]
    fn reshape_keeps_order_and_rejects_other_sizes() {
        let t = Tensor::from([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]);
        assert_eq!(t.reshape(&[6]).as_slice(), t.as_slice());
        let err = t.try_reshape(&[4]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Tensor reshape: cannot reshape shape [2, 3] (6 elements) into shape [4] (4 elements)"
        );
    }

    #[test]
    fn display_matches_numpy_layout() {
        let t = Tensor::from([[[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0], [7.0, 8.0]]]);
        assert_eq!(
            t.to_string(),
            "[[[1, 2],\n  [3, 4]],\n\n [[5, 6],\n  [7, 8]]]"
        );
        assert_eq!(Tensor::scalar(2.5).to_string(), "2.5");
        assert_eq!(Tensor::<f64>::zeros(&[0]).to_string(), "[]");
        assert_eq!(Tensor::from([-1.0, 10.0]).to_string(), "[-1, 10]");
    }

    #[test]
    fn debug_indents_under_the_bracket() {
        let t = Tensor::from([[[1.0_f32], [2.0]], [[3.0], [4.0]]]);
        assert_eq!(
            format!("{t:?}"),
            "Tensor([[[1.0],\n         [2.0]],\n\n        [[3.0],\n         [4.0]]], shape=[2, 2, 1])"
        );
    }

    #[test]
    fn tensor_is_send_sync_and_unwind_safe() {
        fn assert_traits<X: Send + Sync + std::panic::UnwindSafe + std::panic::RefUnwindSafe>() {}
        assert_traits::<Tensor<f32>>();
        assert_traits::<Tensor<f64>>();
    }
}
