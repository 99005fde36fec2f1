//! Element-wise arithmetic: `+ - * /` with NumPy broadcasting between tensors (all four
//! owned/borrowed combinations), with scalars on either side, unary `-`, the assignment
//! operators, and the fallible `try_add`, `try_sub`, `try_mul`, `try_div`.
//!
//! An owned operand's buffer is reused for the result when the result has its shape, so
//! `a + &b` in a loop does not allocate.
//!
//! The operators panic on incompatible shapes with a message naming the operation and both
//! shapes: "Tensor add: shapes [2, 3] and [4] cannot be broadcast together".

use std::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Sub, SubAssign};

use num_traits::Float;

use super::broadcast::{broadcast_strides, broadcasts_to, for_each_offset_pair, try_zip_with};
use super::{row_major_strides, ShapeError, Tensor};

/// Replaces each element `x` of `target` by `f(x, y)`, where `y` is the element of `other`
/// broadcast to `target`'s shape. The caller has checked that `other` broadcasts to it.
fn apply_in_place<T: Float>(target: &mut Tensor<T>, other: &Tensor<T>, f: impl Fn(T, T) -> T) {
    if target.shape == other.shape {
        for (x, &y) in target.data.iter_mut().zip(&other.data) {
            *x = f(*x, y);
        }
        return;
    }
    let own = row_major_strides(&target.shape);
    let other_strides = broadcast_strides(&other.shape, &target.shape);
    let (data, src) = (&mut target.data, &other.data);
    for_each_offset_pair(&target.shape, &own, &other_strides, |i, j| {
        data[i] = f(data[i], src[j])
    });
}

/// `f(a, b)` with `a` owned: computed in `a`'s buffer when the result has `a`'s shape.
#[track_caller]
fn binary_owned_lhs<T: Float>(
    operation: &'static str,
    mut a: Tensor<T>,
    b: &Tensor<T>,
    f: impl Fn(T, T) -> T,
) -> Tensor<T> {
    if broadcasts_to(&b.shape, &a.shape) {
        apply_in_place(&mut a, b, f);
        a
    } else {
        try_zip_with(operation, &a, b, f).unwrap_or_else(|err| panic!("{err}"))
    }
}

/// `f(a, b)` with `b` owned: computed in `b`'s buffer when the result has `b`'s shape.
#[track_caller]
fn binary_owned_rhs<T: Float>(
    operation: &'static str,
    a: &Tensor<T>,
    mut b: Tensor<T>,
    f: impl Fn(T, T) -> T,
) -> Tensor<T> {
    if broadcasts_to(&a.shape, &b.shape) {
        apply_in_place(&mut b, a, |y, x| f(x, y));
        b
    } else {
        try_zip_with(operation, a, &b, f).unwrap_or_else(|err| panic!("{err}"))
    }
}

/// `f(a, b)` on borrowed operands.
#[track_caller]
fn binary_borrowed<T: Float>(
    operation: &'static str,
    a: &Tensor<T>,
    b: &Tensor<T>,
    f: impl Fn(T, T) -> T,
) -> Tensor<T> {
    try_zip_with(operation, a, b, f).unwrap_or_else(|err| panic!("{err}"))
}

/// `target[i] = f(target[i], other[i])`, broadcasting `other` to `target`'s shape.
#[track_caller]
fn assign_op<T: Float>(
    operation: &'static str,
    target: &mut Tensor<T>,
    other: &Tensor<T>,
    f: impl Fn(T, T) -> T,
) {
    if !broadcasts_to(&other.shape, &target.shape) {
        panic!(
            "{}",
            ShapeError::broadcast_to(operation, &other.shape, &target.shape)
        );
    }
    apply_in_place(target, other, f);
}

impl<T: Float> Tensor<T> {
    /// Element-wise sum with NumPy broadcasting, or a [`ShapeError`].
    ///
    /// # Errors
    /// [`ErrorKind::IncompatibleShapes`](super::ErrorKind::IncompatibleShapes) if the shapes
    /// cannot be broadcast together.
    ///
    /// ```
    /// use autodiff_core::Tensor;
    ///
    /// let a = Tensor::from([[1.0], [2.0]]);
    /// let b = Tensor::from([10.0, 20.0]);
    /// assert_eq!(a.try_add(&b).unwrap(), Tensor::from([[11.0, 21.0], [12.0, 22.0]]));
    /// assert!(a.try_add(&Tensor::zeros(&[3, 1])).is_err());
    /// ```
    pub fn try_add(&self, rhs: &Tensor<T>) -> Result<Tensor<T>, ShapeError> {
        try_zip_with("add", self, rhs, |x, y| x + y)
    }

    /// Element-wise difference with NumPy broadcasting, or a [`ShapeError`].
    ///
    /// # Errors
    /// [`ErrorKind::IncompatibleShapes`](super::ErrorKind::IncompatibleShapes) if the shapes
    /// cannot be broadcast together.
    ///
    /// ```
    /// use autodiff_core::Tensor;
    ///
    /// let a = Tensor::from([[5.0, 6.0], [7.0, 8.0]]);
    /// assert_eq!(a.try_sub(&Tensor::scalar(1.0)).unwrap(), Tensor::from([[4.0, 5.0], [6.0, 7.0]]));
    /// assert!(a.try_sub(&Tensor::zeros(&[3])).is_err());
    /// ```
    pub fn try_sub(&self, rhs: &Tensor<T>) -> Result<Tensor<T>, ShapeError> {
        try_zip_with("sub", self, rhs, |x, y| x - y)
    }

    /// Element-wise product with NumPy broadcasting, or a [`ShapeError`].
    ///
    /// # Errors
    /// [`ErrorKind::IncompatibleShapes`](super::ErrorKind::IncompatibleShapes) if the shapes
    /// cannot be broadcast together.
    ///
    /// ```
    /// use autodiff_core::Tensor;
    ///
    /// let a = Tensor::from([[1.0, 2.0], [3.0, 4.0]]);
    /// let scale = Tensor::from([10.0, 100.0]);
    /// assert_eq!(a.try_mul(&scale).unwrap(), Tensor::from([[10.0, 200.0], [30.0, 400.0]]));
    /// assert!(a.try_mul(&Tensor::zeros(&[4])).is_err());
    /// ```
    pub fn try_mul(&self, rhs: &Tensor<T>) -> Result<Tensor<T>, ShapeError> {
        try_zip_with("mul", self, rhs, |x, y| x * y)
    }

    /// Element-wise quotient with NumPy broadcasting, or a [`ShapeError`].
    ///
    /// # Errors
    /// [`ErrorKind::IncompatibleShapes`](super::ErrorKind::IncompatibleShapes) if the shapes
    /// cannot be broadcast together.
    ///
    /// ```
    /// use autodiff_core::Tensor;
    ///
    /// let a = Tensor::from([2.0, 4.0, 6.0]);
    /// assert_eq!(a.try_div(&Tensor::from([2.0])).unwrap(), Tensor::from([1.0, 2.0, 3.0]));
    /// assert!(a.try_div(&Tensor::zeros(&[2])).is_err());
    /// ```
    pub fn try_div(&self, rhs: &Tensor<T>) -> Result<Tensor<T>, ShapeError> {
        try_zip_with("div", self, rhs, |x, y| x / y)
    }
}

/// The four tensor-tensor impls, tensor-scalar impls, and scalar-tensor impls for f32 and
/// f64 (a generic `impl<T> Add<Tensor<T>> for T` is not allowed by the orphan rules).
macro_rules! binary_operator {
    ($Trait:ident, $method:ident, $name:literal, $op:tt) => {
        impl<T: Float> $Trait<&Tensor<T>> for &Tensor<T> {
            type Output = Tensor<T>;
            #[track_caller]
            fn $method(self, rhs: &Tensor<T>) -> Tensor<T> {
                binary_borrowed($name, self, rhs, |x, y| x $op y)
            }
        }

        impl<T: Float> $Trait<Tensor<T>> for &Tensor<T> {
            type Output = Tensor<T>;
            #[track_caller]
            fn $method(self, rhs: Tensor<T>) -> Tensor<T> {
                binary_owned_rhs($name, self, rhs, |x, y| x $op y)
            }
        }

        impl<T: Float> $Trait<&Tensor<T>> for Tensor<T> {
            type Output = Tensor<T>;
            #[track_caller]
            fn $method(self, rhs: &Tensor<T>) -> Tensor<T> {
                binary_owned_lhs($name, self, rhs, |x, y| x $op y)
            }
        }

        impl<T: Float> $Trait<Tensor<T>> for Tensor<T> {
            type Output = Tensor<T>;
            #[track_caller]
            fn $method(self, rhs: Tensor<T>) -> Tensor<T> {
                binary_owned_lhs($name, self, &rhs, |x, y| x $op y)
            }
        }

        impl<T: Float> $Trait<T> for Tensor<T> {
            type Output = Tensor<T>;
            fn $method(mut self, rhs: T) -> Tensor<T> {
                for x in &mut self.data {
                    *x = *x $op rhs;
                }
                self
            }
        }

        impl<T: Float> $Trait<T> for &Tensor<T> {
            type Output = Tensor<T>;
            fn $method(self, rhs: T) -> Tensor<T> {
                self.map_elements(|&x| x $op rhs)
            }
        }

        binary_operator!(@scalar_left $Trait, $method, $op, f32);
        binary_operator!(@scalar_left $Trait, $method, $op, f64);
    };
    (@scalar_left $Trait:ident, $method:ident, $op:tt, $scalar:ty) => {
        impl $Trait<Tensor<$scalar>> for $scalar {
            type Output = Tensor<$scalar>;
            // `*x = self - *x` has the scalar on the left; clippy's `*x += self` is only
            // right for the commutative operators this macro also expands to.
            #[allow(clippy::assign_op_pattern)]
            fn $method(self, mut rhs: Tensor<$scalar>) -> Tensor<$scalar> {
                for x in &mut rhs.data {
                    *x = self $op *x;
                }
                rhs
            }
        }

        impl $Trait<&Tensor<$scalar>> for $scalar {
            type Output = Tensor<$scalar>;
            fn $method(self, rhs: &Tensor<$scalar>) -> Tensor<$scalar> {
                rhs.map_elements(|&x| self $op x)
            }
        }
    };
}

binary_operator!(Add, add, "add", +);
binary_operator!(Sub, sub, "sub", -);
binary_operator!(Mul, mul, "mul", *);
binary_operator!(Div, div, "div", /);

/// `tensor op= &tensor`, `tensor op= tensor` and `tensor op= scalar`; the right-hand side
/// must broadcast to the left-hand side's shape, which never changes.
macro_rules! assign_operator {
    ($Trait:ident, $method:ident, $name:literal, $op:tt) => {
        impl<T: Float> $Trait<&Tensor<T>> for Tensor<T> {
            #[track_caller]
            fn $method(&mut self, rhs: &Tensor<T>) {
                assign_op($name, self, rhs, |x, y| x $op y);
            }
        }

        impl<T: Float> $Trait<Tensor<T>> for Tensor<T> {
            #[track_caller]
            fn $method(&mut self, rhs: Tensor<T>) {
                assign_op($name, self, &rhs, |x, y| x $op y);
            }
        }

        impl<T: Float> $Trait<T> for Tensor<T> {
            fn $method(&mut self, rhs: T) {
                for x in &mut self.data {
                    *x = *x $op rhs;
                }
            }
        }
    };
}

assign_operator!(AddAssign, add_assign, "add_assign", +);
assign_operator!(SubAssign, sub_assign, "sub_assign", -);
assign_operator!(MulAssign, mul_assign, "mul_assign", *);
assign_operator!(DivAssign, div_assign, "div_assign", /);

impl<T: Float> Neg for Tensor<T> {
    type Output = Tensor<T>;
    fn neg(mut self) -> Tensor<T> {
        for x in &mut self.data {
            *x = -*x;
        }
        self
    }
}

impl<T: Float> Neg for &Tensor<T> {
    type Output = Tensor<T>;
    fn neg(self) -> Tensor<T> {
        self.map_elements(|&x| -x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t2x3() -> Tensor<f64> {
        Tensor::from([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    }

    #[test]
    fn all_four_ownership_combinations_agree() {
        let (a, b) = (t2x3(), Tensor::from([10.0, 20.0, 30.0]));
        let expected = Tensor::from([[11.0, 22.0, 33.0], [14.0, 25.0, 36.0]]);
        assert_eq!(&a + &b, expected);
        assert_eq!(a.clone() + &b, expected);
        assert_eq!(&a + b.clone(), expected);
        assert_eq!(a.clone() + b.clone(), expected);
        // The owned operand that is broadcast (b) cannot hold the result; the other can.
        assert_eq!(b.clone() + a.clone(), expected);
        assert_eq!(
            &b - &a,
            Tensor::from([[9.0, 18.0, 27.0], [6.0, 15.0, 24.0]])
        );
        assert_eq!(
            b.clone() - a.clone(),
            Tensor::from([[9.0, 18.0, 27.0], [6.0, 15.0, 24.0]])
        );
        assert_eq!(
            &a - b.clone(),
            Tensor::from([[-9.0, -18.0, -27.0], [-6.0, -15.0, -24.0]])
        );
    }

    #[test]
    fn scalars_on_either_side() {
        let a = t2x3();
        assert_eq!((&a * 2.0).as_slice(), &[2.0, 4.0, 6.0, 8.0, 10.0, 12.0]);
        assert_eq!((2.0 - &a).as_slice(), &[1.0, 0.0, -1.0, -2.0, -3.0, -4.0]);
        assert_eq!(
            (12.0 / a.clone()).as_slice(),
            &[12.0, 6.0, 4.0, 3.0, 2.4, 2.0]
        );
        assert_eq!(
            (a.clone() / 2.0).as_slice(),
            &[0.5, 1.0, 1.5, 2.0, 2.5, 3.0]
        );
        let f = Tensor::from([1.0_f32, 2.0]);
        assert_eq!((1.0_f32 + &f).as_slice(), &[2.0, 3.0]);
        assert_eq!((3.0_f32 * f).as_slice(), &[3.0, 6.0]);
    }

    #[test]
    fn negation_owned_and_borrowed() {
        let a = Tensor::from([1.0, -2.0]);
        assert_eq!((-&a).as_slice(), &[-1.0, 2.0]);
        assert_eq!((-a).as_slice(), &[-1.0, 2.0]);
    }

    #[test]
    fn assignment_operators_broadcast_into_the_left_shape() {
        let mut acc = Tensor::<f64>::zeros(&[2, 3]);
        acc += &t2x3();
        acc += &Tensor::from([1.0, 1.0, 1.0]);
        assert_eq!(acc.as_slice(), &[2.0, 3.0, 4.0, 5.0, 6.0, 7.0]);
        acc -= &Tensor::scalar(2.0);
        acc *= &Tensor::from([[1.0], [10.0]]);
        assert_eq!(acc.as_slice(), &[0.0, 1.0, 2.0, 30.0, 40.0, 50.0]);
        acc /= 10.0;
        acc *= 2.0;
        assert_eq!(acc.as_slice(), &[0.0, 0.2, 0.4, 6.0, 8.0, 10.0]);
    }

    #[test]
    #[should_panic(expected = "Tensor add_assign: shape [2, 3] cannot be broadcast to shape [3]")]
    fn add_assign_cannot_grow_the_left_operand() {
        let mut acc = Tensor::<f64>::zeros(&[3]);
        acc += &t2x3();
    }

    #[test]
    #[should_panic(expected = "Tensor div: shapes [2, 3] and [2] cannot be broadcast together")]
    fn div_panics_naming_both_shapes() {
        let _ = t2x3() / Tensor::from([1.0, 2.0]);
    }

    #[test]
    fn try_variants_report_the_operation() {
        let (a, b) = (t2x3(), Tensor::<f64>::zeros(&[4]));
        for (err, op) in [
            (a.try_add(&b), "add"),
            (a.try_sub(&b), "sub"),
            (a.try_mul(&b), "mul"),
            (a.try_div(&b), "div"),
        ] {
            let err = err.unwrap_err();
            assert_eq!(err.operation(), op);
            assert_eq!(err.shapes(), (&[2, 3][..], &[4][..]));
        }
    }
}
