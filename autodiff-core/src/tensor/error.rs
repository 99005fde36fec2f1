//! [`ShapeError`]: the error of every fallible tensor operation (`try_*`).

use std::error::Error;
use std::fmt;

/// What went wrong in a [`ShapeError`]; more kinds may be added in later releases.
///
/// ```
/// use autodiff_core::tensor::{ErrorKind, Tensor};
///
/// let a = Tensor::<f64>::zeros(&[2, 3]);
/// let b = Tensor::<f64>::zeros(&[4]);
/// assert_eq!(a.try_add(&b).unwrap_err().kind(), ErrorKind::IncompatibleShapes);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The shapes cannot be broadcast together (NumPy's rules), or one cannot be broadcast
    /// to the other.
    IncompatibleShapes,
    /// The inner dimensions of a matrix product differ.
    InnerDimensionMismatch,
    /// An operand has a rank the operation does not support (e.g. a 3-d operand of
    /// `matmul`).
    UnsupportedRank,
    /// A data length (or a reshaped tensor's size) does not match a shape's number of
    /// elements.
    LengthMismatch,
}

/// The error of a tensor operation whose operands have incompatible shapes.
///
/// Unlike ndarray's, it keeps the operation's name and both shapes, and its `Display` names
/// them: `Tensor add: shapes [2, 3] and [4] cannot be broadcast together`. Its representation
/// is private; inspect it with [`ShapeError::kind`], [`ShapeError::operation`] and
/// [`ShapeError::shapes`].
///
/// ```
/// use autodiff_core::Tensor;
///
/// let a = Tensor::<f64>::zeros(&[2, 3]);
/// let err = a.try_mul(&Tensor::zeros(&[4])).unwrap_err();
/// assert_eq!(err.to_string(), "Tensor mul: shapes [2, 3] and [4] cannot be broadcast together");
/// assert_eq!(err.shapes(), (&[2, 3][..], &[4][..]));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShapeError {
    kind: ErrorKind,
    operation: &'static str,
    first: Vec<usize>,
    second: Vec<usize>,
    /// For [`ErrorKind::IncompatibleShapes`]: `first` must broadcast *to* `second` (not
    /// merely together with it), as in `broadcast_to` and `+=`.
    one_way: bool,
}

impl ShapeError {
    fn new(kind: ErrorKind, operation: &'static str, first: &[usize], second: &[usize]) -> Self {
        ShapeError {
            kind,
            operation,
            first: first.to_vec(),
            second: second.to_vec(),
            one_way: false,
        }
    }

    /// `first` and `second` cannot be broadcast together in `operation`.
    pub(crate) fn broadcast(operation: &'static str, first: &[usize], second: &[usize]) -> Self {
        Self::new(ErrorKind::IncompatibleShapes, operation, first, second)
    }

    /// `from` cannot be broadcast to the shape `to`.
    pub(crate) fn broadcast_to(operation: &'static str, from: &[usize], to: &[usize]) -> Self {
        ShapeError {
            one_way: true,
            ..Self::new(ErrorKind::IncompatibleShapes, operation, from, to)
        }
    }

    /// A matrix product of `first` and `second` whose inner dimensions differ.
    pub(crate) fn inner_dimension(
        operation: &'static str,
        first: &[usize],
        second: &[usize],
    ) -> Self {
        Self::new(ErrorKind::InnerDimensionMismatch, operation, first, second)
    }

    /// `operation` does not support the rank of `first` or `second`.
    pub(crate) fn rank(operation: &'static str, first: &[usize], second: &[usize]) -> Self {
        Self::new(ErrorKind::UnsupportedRank, operation, first, second)
    }

    /// `len` elements given for `shape`.
    pub(crate) fn length_mismatch(operation: &'static str, len: usize, shape: &[usize]) -> Self {
        Self::new(ErrorKind::LengthMismatch, operation, &[len], shape)
    }

    /// A tensor of shape `from` reshaped into `to`, of another size.
    pub(crate) fn reshape(from: &[usize], to: &[usize]) -> Self {
        Self::new(ErrorKind::LengthMismatch, "reshape", from, to)
    }

    /// What went wrong.
    ///
    /// # Panics
    /// Never.
    ///
    /// ```
    /// use autodiff_core::tensor::{ErrorKind, Tensor};
    ///
    /// let err = Tensor::try_from_vec(vec![1.0; 3], &[2]).unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::LengthMismatch);
    /// ```
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The name of the failed operation, as in the message: `"add"`, `"matmul"`,
    /// `"from_vec"`, ...
    ///
    /// # Panics
    /// Never.
    ///
    /// ```
    /// use autodiff_core::Tensor;
    ///
    /// let a = Tensor::<f32>::zeros(&[2, 3]);
    /// assert_eq!(a.try_matmul(&a).unwrap_err().operation(), "matmul");
    /// ```
    pub fn operation(&self) -> &str {
        self.operation
    }

    /// The two shapes involved: the operands' shapes; for [`ErrorKind::LengthMismatch`]
    /// from a constructor, the data's length as a 1-d shape and the requested shape; for
    /// `broadcast_to` and `unbroadcast`, the source shape and the target shape.
    ///
    /// # Panics
    /// Never.
    ///
    /// ```
    /// use autodiff_core::Tensor;
    ///
    /// let err = Tensor::try_from_vec(vec![1.0; 5], &[2, 3]).unwrap_err();
    /// assert_eq!(err.shapes(), (&[5][..], &[2, 3][..]));
    /// ```
    pub fn shapes(&self) -> (&[usize], &[usize]) {
        (&self.first, &self.second)
    }
}

impl fmt::Display for ShapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (op, a, b) = (self.operation, &self.first, &self.second);
        match self.kind {
            ErrorKind::IncompatibleShapes if self.one_way => {
                write!(f, "Tensor {op}: shape {a:?} cannot be broadcast to shape {b:?}")
            }
            ErrorKind::IncompatibleShapes => {
                write!(f, "Tensor {op}: shapes {a:?} and {b:?} cannot be broadcast together")
            }
            ErrorKind::InnerDimensionMismatch => {
                let inner_a = a.last().copied().unwrap_or(0);
                let inner_b = b.first().copied().unwrap_or(0);
                write!(
                    f,
                    "Tensor {op}: shapes {a:?} and {b:?} are not aligned: {inner_a} (last axis of the first) != {inner_b} (first axis of the second)"
                )
            }
            ErrorKind::UnsupportedRank => {
                let ranks = if op == "dot" { "1-d" } else { "1-d or 2-d" };
                write!(
                    f,
                    "Tensor {op}: shapes {a:?} and {b:?} are not supported: both operands must be {ranks}"
                )
            }
            ErrorKind::LengthMismatch if op == "reshape" => write!(
                f,
                "Tensor reshape: cannot reshape shape {a:?} ({} elements) into shape {b:?} ({} elements)",
                super::size_of_shape(a),
                super::size_of_shape(b)
            ),
            ErrorKind::LengthMismatch => write!(
                f,
                "Tensor {op}: data of length {} does not match shape {b:?} ({} elements)",
                a[0],
                super::size_of_shape(b)
            ),
        }
    }
}

impl Error for ShapeError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_operation_and_both_shapes() {
        let e = ShapeError::broadcast("sub", &[2, 3], &[4]);
        assert_eq!(
            e.to_string(),
            "Tensor sub: shapes [2, 3] and [4] cannot be broadcast together"
        );
        let e = ShapeError::inner_dimension("matmul", &[2, 3], &[4, 5]);
        assert_eq!(
            e.to_string(),
            "Tensor matmul: shapes [2, 3] and [4, 5] are not aligned: 3 (last axis of the first) != 4 (first axis of the second)"
        );
        let e = ShapeError::broadcast_to("broadcast_to", &[2], &[3]);
        assert_eq!(
            e.to_string(),
            "Tensor broadcast_to: shape [2] cannot be broadcast to shape [3]"
        );
        let e = ShapeError::length_mismatch("from_vec", 5, &[2, 3]);
        assert_eq!(
            e.to_string(),
            "Tensor from_vec: data of length 5 does not match shape [2, 3] (6 elements)"
        );
        let e = ShapeError::rank("matmul", &[2, 2, 2], &[2]);
        assert!(e
            .to_string()
            .contains("[2, 2, 2] and [2] are not supported"));
    }

    #[test]
    fn is_a_std_error() {
        let e: Box<dyn Error + Send + Sync> = Box::new(ShapeError::broadcast("add", &[1], &[2]));
        assert!(e.source().is_none());
        assert!(e.to_string().starts_with("Tensor add"));
    }
}
