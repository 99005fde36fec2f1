//! Items used by code that `#[differentiate]` generates. Not a public API: names and
//! signatures may change in any release.
#![doc(hidden)]

pub use num_traits::Float;

/// A value of the same type (and shape) as another, filled with zeros: the gradient of an
/// unconnected `wrt` entry.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be differentiated: it has no zero gradient",
    label = "this value's type is not a float, a float collection or a tensor",
    note = "#[differentiate] differentiates f32, f64, generic `T: Float`, arrays, slices and `Vec`s of them, and `Tensor`"
)]
pub trait ZeroLike {
    /// A zero of the same type and shape as `self`.
    fn zero_like(&self) -> Self;
}

/// A value of the same type (and shape) as another, filled with ones: the seed of `f_grad`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the output of a differentiated function",
    label = "outputs must be floats (f32, f64, `T: Float`) or tuples of them",
    note = "`f_grad` seeds every output with one; use `f_vjp` to pass a seed of your own"
)]
pub trait OneLike {
    /// A one of the same type and shape as `self`.
    fn one_like(&self) -> Self;
}

impl<T: Float> ZeroLike for T {
    #[inline(always)]
    fn zero_like(&self) -> Self {
        T::zero()
    }
}

impl<T: Float> OneLike for T {
    #[inline(always)]
    fn one_like(&self) -> Self {
        T::one()
    }
}

/// The float type of a value: itself for a scalar, the element type for a tensor.
pub trait ScalarOf {
    /// The scalar type.
    type Scalar: Float;
}

impl<T: Float> ScalarOf for T {
    type Scalar = T;
}

impl<T: Float> ScalarOf for crate::Tensor<T> {
    type Scalar = T;
}

/// The constant `value` converted to the float type of `_witness` (a scalar, or a tensor's
/// elements). Derivative rules of generic functions need constants such as `0.5` or `ln 2`
/// in a type only known to rustc.
#[inline(always)]
pub fn lit_like<W: ScalarOf>(_witness: &W, value: f64) -> W::Scalar {
    // f32 and f64 always convert from f64; a user's own Float type is trusted to.
    <W::Scalar as num_traits::NumCast>::from(value).unwrap_or_else(W::Scalar::nan)
}

/// A passive number (for example the integer exponent of `powi`) converted to the float type
/// of `_witness`.
#[inline(always)]
pub fn cast_like<W: ScalarOf, N: num_traits::ToPrimitive>(_witness: &W, value: N) -> W::Scalar {
    <W::Scalar as num_traits::NumCast>::from(value).unwrap_or_else(W::Scalar::nan)
}

/// Element-wise helpers of derivative rules, for scalars and tensors alike.
pub trait Elementwise {
    /// `ln x` where `x > 0`, else zero.
    fn ln_or_zero(&self) -> Self;
    /// The sign, with `sign(0) = 0`.
    fn sign(&self) -> Self;
}

fn scalar_ln_or_zero<T: Float>(x: T) -> T {
    if x > T::zero() {
        x.ln()
    } else {
        T::zero()
    }
}

fn scalar_sign<T: Float>(x: T) -> T {
    if x > T::zero() {
        T::one()
    } else if x < T::zero() {
        -T::one()
    } else {
        T::zero()
    }
}

impl<T: Float> Elementwise for T {
    #[inline(always)]
    fn ln_or_zero(&self) -> Self {
        scalar_ln_or_zero(*self)
    }
    #[inline(always)]
    fn sign(&self) -> Self {
        scalar_sign(*self)
    }
}

impl<T: Float> Elementwise for crate::Tensor<T> {
    fn ln_or_zero(&self) -> Self {
        self.map(scalar_ln_or_zero)
    }
    fn sign(&self) -> Self {
        self.map(scalar_sign)
    }
}

/// `ln x` for `x > 0`, else zero: the exponent's partial of `powf` (TensorFlow's `pow`
/// gradient masks `ln x` the same way, so `0.0.powf(y)` has a zero gradient in `y`).
#[inline(always)]
pub fn ln_or_zero<V: Elementwise>(x: &V) -> V {
    x.ln_or_zero()
}

/// The sign of `x` with `sign(0) = 0`: the derivative of `abs`, as TensorFlow's (Rust's
/// `signum` gives 1 at +0).
#[inline(always)]
pub fn sign<V: Elementwise>(x: &V) -> V {
    x.sign()
}

impl<T: Float> ZeroLike for crate::Tensor<T> {
    /// A tensor of zeros with the same shape.
    #[inline]
    fn zero_like(&self) -> Self {
        crate::Tensor::zeros(self.shape())
    }
}

impl<T: Float> OneLike for crate::Tensor<T> {
    /// A tensor of ones with the same shape: the seed of `f_grad` for a tensor output
    /// (the gradient of the sum of its elements).
    #[inline]
    fn one_like(&self) -> Self {
        crate::Tensor::ones(self.shape())
    }
}

/// A zero of a slice's element type.
#[inline(always)]
pub fn zero_element<T: Float>(_slice: &[T]) -> T {
    T::zero()
}

/// A one of a slice's element type (where an iterator product starts).
#[inline(always)]
pub fn one_element<T: Float>(_slice: &[T]) -> T {
    T::one()
}

/// Saves an array's contents on a value stack (the end state of a loop iteration the reverse
/// sweep restores instead of running again). A few elements are copied one by one: a call of
/// `memcpy` costs more than the copy (GMM at d = 2, two-element arrays: 241 -> 233 us).
#[inline]
pub fn push_slice<T: Copy>(stack: &mut Vec<T>, values: &[T]) {
    if values.len() <= 4 {
        stack.reserve(values.len());
        for &v in values {
            stack.push(v);
        }
    } else {
        stack.extend_from_slice(values);
    }
}

/// Restores an array's contents from the top of a value stack (see [`push_slice`]).
#[inline]
pub fn pop_into<T: Copy>(stack: &mut Vec<T>, values: &mut [T]) {
    let start = stack
        .len()
        .checked_sub(values.len())
        .expect("autodiff: every value the adjoint sweep pops was pushed by the primal sweep");
    let saved = &stack[start..];
    if values.len() <= 4 {
        for (v, &s) in values.iter_mut().zip(saved) {
            *v = s;
        }
    } else {
        values.copy_from_slice(saved);
    }
    stack.truncate(start);
}

/// Zero in a float type rustc infers from the use.
#[inline(always)]
pub fn zero<T: Float>() -> T {
    T::zero()
}

/// The constant `value` in a float type rustc infers from the use (an entry of the seed of a
/// tuple-valued call in a generic function).
#[inline(always)]
pub fn lit<T: Float>(value: f64) -> T {
    <T as num_traits::NumCast>::from(value).unwrap_or_else(T::nan)
}

// ---------------------------------------------------------------------------------------
// The calling convention between differentiated functions (see autodiff-macros' docs).
//
// For every `#[differentiate]` function `f(p_0, .., p_n) -> R` the macro writes two hidden
// functions next to it:
//
//   f__forward_derivative(p_0, .., p_n, d_0, .., d_n) -> (R, R)
//   f__reverse_derivative(p_0, .., p_n, seed: R) -> (R, (g_0, .., g_n))
//
// `d_i` is the tangent of argument `i`, or `NoTangent` where the caller has none; `g_i` is the
// gradient of argument `i` (`()` for an integer or `bool` parameter). The traits below let one
// forward function take either, so the caller does not need to know the callee's types.
// ---------------------------------------------------------------------------------------

/// Passed for an argument that carries no tangent.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoTangent;

/// The tangent of a scalar parameter: a value of its type, or [`NoTangent`] (zero).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a tangent of a `{T}` parameter",
    label = "pass a value of the parameter's float type, or `NoTangent`"
)]
pub trait ScalarTangent<T> {
    /// The tangent as a value of the parameter's type.
    fn into_tangent(self) -> T;
}

impl<T: Float> ScalarTangent<T> for T {
    #[inline(always)]
    fn into_tangent(self) -> T {
        self
    }
}

impl<T: Float> ScalarTangent<T> for NoTangent {
    #[inline(always)]
    fn into_tangent(self) -> T {
        T::zero()
    }
}

/// The tangent of a slice or `&Vec` parameter: a slice of the same length, or [`NoTangent`].
pub trait SliceTangent<'a, T: Clone> {
    /// The tangent as a slice of `len` elements, borrowed where possible.
    fn into_tangent(self, len: usize) -> std::borrow::Cow<'a, [T]>;
}

impl<'a, T: Clone> SliceTangent<'a, T> for &'a [T] {
    #[inline(always)]
    fn into_tangent(self, _len: usize) -> std::borrow::Cow<'a, [T]> {
        std::borrow::Cow::Borrowed(self)
    }
}

impl<'a, T: Clone> SliceTangent<'a, T> for &'a Vec<T> {
    #[inline(always)]
    fn into_tangent(self, _len: usize) -> std::borrow::Cow<'a, [T]> {
        std::borrow::Cow::Borrowed(self.as_slice())
    }
}

/// A local `[T; N]` passed as `&rot` to a `&[T]` parameter: its tangent is an array too.
impl<'a, T: Clone, const N: usize> SliceTangent<'a, T> for &'a [T; N] {
    #[inline(always)]
    fn into_tangent(self, _len: usize) -> std::borrow::Cow<'a, [T]> {
        std::borrow::Cow::Borrowed(self.as_slice())
    }
}

impl<'a, 'b, T: Clone> SliceTangent<'a, T> for &'a std::borrow::Cow<'b, [T]> {
    #[inline(always)]
    fn into_tangent(self, _len: usize) -> std::borrow::Cow<'a, [T]> {
        std::borrow::Cow::Borrowed(self)
    }
}

impl<'a, T: Float> SliceTangent<'a, T> for NoTangent {
    fn into_tangent(self, len: usize) -> std::borrow::Cow<'a, [T]> {
        std::borrow::Cow::Owned(vec![T::zero(); len])
    }
}

impl<'a, T: Clone> SliceTangent<'a, T> for std::borrow::Cow<'a, [T]> {
    #[inline(always)]
    fn into_tangent(self, _len: usize) -> std::borrow::Cow<'a, [T]> {
        self
    }
}

/// The tangent of an array parameter `[T; N]` or `&[T; N]`.
pub trait ArrayTangent<T, const N: usize> {
    /// The tangent as an array.
    fn into_tangent(self) -> [T; N];
}

impl<T: Copy, const N: usize> ArrayTangent<T, N> for [T; N] {
    #[inline(always)]
    fn into_tangent(self) -> [T; N] {
        self
    }
}

impl<T: Copy, const N: usize> ArrayTangent<T, N> for &[T; N] {
    #[inline(always)]
    fn into_tangent(self) -> [T; N] {
        *self
    }
}

impl<T: Float, const N: usize> ArrayTangent<T, N> for NoTangent {
    #[inline(always)]
    fn into_tangent(self) -> [T; N] {
        [T::zero(); N]
    }
}

/// The tangent of a tensor parameter: a tensor of the same shape (borrowed or owned), or
/// [`NoTangent`] (zeros).
pub trait TensorTangent<'a, T: Float> {
    /// The tangent, borrowed where possible.
    fn into_tangent(self, primal: &Tensor<T>) -> std::borrow::Cow<'a, Tensor<T>>;
}

impl<'a, T: Float> TensorTangent<'a, T> for &'a Tensor<T> {
    fn into_tangent(self, _primal: &Tensor<T>) -> std::borrow::Cow<'a, Tensor<T>> {
        std::borrow::Cow::Borrowed(self)
    }
}

impl<'a, T: Float> TensorTangent<'a, T> for Tensor<T> {
    fn into_tangent(self, _primal: &Tensor<T>) -> std::borrow::Cow<'a, Tensor<T>> {
        std::borrow::Cow::Owned(self)
    }
}

impl<'a, T: Float> TensorTangent<'a, T> for NoTangent {
    fn into_tangent(self, primal: &Tensor<T>) -> std::borrow::Cow<'a, Tensor<T>> {
        std::borrow::Cow::Owned(Tensor::zeros(primal.shape()))
    }
}

/// `acc[k] += g[k]`: a callee's gradient of an array argument, added to the caller's.
#[inline]
pub fn add_into<T: Float>(acc: &mut [T], g: &[T]) {
    for (a, b) in acc.iter_mut().zip(g) {
        *a = *a + *b;
    }
}

// ---------------------------------------------------------------------------------------
// Arithmetic that works on scalars and tensors alike, with borrowed operands (tensors are
// not `Copy`), and the reduction of a broadcast cotangent back to an operand's shape.
// ---------------------------------------------------------------------------------------

/// The derivative rules of tensor operations (`autodiff::tensor::rules`), as generated code
/// calls them, with the helpers only generated code needs.
pub mod tensor_rules {
    pub use crate::tensor::rules::*;
    use crate::Tensor;
    use num_traits::Float;

    /// The tangent `t` of one operand of a broadcasting `a ± b` (the other operand has none),
    /// broadcast to the shape of the result `y`: a tangent `[3]` of `a` in `a + b` with
    /// `b: [2, 3]` is the same in each row of the result. A scalar's tangent fills the
    /// result's shape.
    pub fn broadcast_tangent<T: Float, G: super::BroadcastTangent<T>>(
        y: &Tensor<T>,
        t: &G,
    ) -> Tensor<T> {
        t.broadcast_tangent(y.shape())
    }
}

/// A tangent (a scalar or a tensor) broadcast to a result's shape; see
/// [`tensor_rules::broadcast_tangent`].
#[diagnostic::on_unimplemented(
    message = "a tangent of type `{Self}` cannot be broadcast to a tensor of `{T}`",
    label = "expected a float of the tensor's element type, or a tensor of it"
)]
pub trait BroadcastTangent<T> {
    /// `self` broadcast to `shape`.
    fn broadcast_tangent(&self, shape: &[usize]) -> Tensor<T>;
}

impl<T: Float> BroadcastTangent<T> for T {
    fn broadcast_tangent(&self, shape: &[usize]) -> Tensor<T> {
        Tensor::full(shape, *self)
    }
}

impl<T: Float> BroadcastTangent<T> for Tensor<T> {
    fn broadcast_tangent(&self, shape: &[usize]) -> Tensor<T> {
        if self.shape() == shape {
            self.clone()
        } else {
            self.broadcast_to(shape)
        }
    }
}
pub use crate::Tensor;

/// `+ - * /` between scalars and tensors, by reference, with NumPy broadcasting.
#[diagnostic::on_unimplemented(
    message = "`{Self}` and `{Rhs}` cannot be combined in differentiated arithmetic",
    label = "expected floats of one type, or tensors of that type"
)]
pub trait Arith<Rhs> {
    /// The result's type: a tensor if either side is one.
    type Output;
    /// `self + rhs`
    fn add(&self, rhs: &Rhs) -> Self::Output;
    /// `self - rhs`
    fn sub(&self, rhs: &Rhs) -> Self::Output;
    /// `self * rhs`
    fn mul(&self, rhs: &Rhs) -> Self::Output;
    /// `self / rhs`
    fn div(&self, rhs: &Rhs) -> Self::Output;
}

impl<T: Float> Arith<T> for T {
    type Output = T;
    fn add(&self, rhs: &T) -> T {
        *self + *rhs
    }
    fn sub(&self, rhs: &T) -> T {
        *self - *rhs
    }
    fn mul(&self, rhs: &T) -> T {
        *self * *rhs
    }
    fn div(&self, rhs: &T) -> T {
        *self / *rhs
    }
}

impl<T: Float> Arith<Tensor<T>> for Tensor<T> {
    type Output = Tensor<T>;
    fn add(&self, rhs: &Tensor<T>) -> Tensor<T> {
        self + rhs
    }
    fn sub(&self, rhs: &Tensor<T>) -> Tensor<T> {
        self - rhs
    }
    fn mul(&self, rhs: &Tensor<T>) -> Tensor<T> {
        self * rhs
    }
    fn div(&self, rhs: &Tensor<T>) -> Tensor<T> {
        self / rhs
    }
}

impl<T: Float> Arith<T> for Tensor<T> {
    type Output = Tensor<T>;
    fn add(&self, rhs: &T) -> Tensor<T> {
        self.map(|v| v + *rhs)
    }
    fn sub(&self, rhs: &T) -> Tensor<T> {
        self.map(|v| v - *rhs)
    }
    fn mul(&self, rhs: &T) -> Tensor<T> {
        self.map(|v| v * *rhs)
    }
    fn div(&self, rhs: &T) -> Tensor<T> {
        self.map(|v| v / *rhs)
    }
}

impl<T: Float> Arith<Tensor<T>> for T {
    type Output = Tensor<T>;
    fn add(&self, rhs: &Tensor<T>) -> Tensor<T> {
        rhs.map(|v| *self + v)
    }
    fn sub(&self, rhs: &Tensor<T>) -> Tensor<T> {
        rhs.map(|v| *self - v)
    }
    fn mul(&self, rhs: &Tensor<T>) -> Tensor<T> {
        rhs.map(|v| *self * v)
    }
    fn div(&self, rhs: &Tensor<T>) -> Tensor<T> {
        rhs.map(|v| *self / v)
    }
}

/// `a + b` on scalars or tensors.
#[inline(always)]
pub fn add<A: Arith<B>, B>(a: &A, b: &B) -> A::Output {
    a.add(b)
}

/// `a - b` on scalars or tensors.
#[inline(always)]
pub fn sub<A: Arith<B>, B>(a: &A, b: &B) -> A::Output {
    a.sub(b)
}

/// `a * b` on scalars or tensors.
#[inline(always)]
pub fn mul<A: Arith<B>, B>(a: &A, b: &B) -> A::Output {
    a.mul(b)
}

/// `a / b` on scalars or tensors.
#[inline(always)]
pub fn div<A: Arith<B>, B>(a: &A, b: &B) -> A::Output {
    a.div(b)
}

/// `+ - * /` with the left operand moved in: generated code hands over a value read only
/// there (an adjoint taken out of its accumulator to be added to), so a tensor's buffer
/// holds the result where the result has its shape. The same values as [`Arith`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` and `{Rhs}` cannot be combined in differentiated arithmetic",
    label = "expected floats of one type, or tensors of that type"
)]
pub trait ArithOwned<Rhs>: Sized {
    /// The result's type: a tensor if either side is one.
    type Output;
    /// `self + rhs`
    fn add_owned(self, rhs: &Rhs) -> Self::Output;
    /// `self - rhs`
    fn sub_owned(self, rhs: &Rhs) -> Self::Output;
    /// `self * rhs`
    fn mul_owned(self, rhs: &Rhs) -> Self::Output;
    /// `self / rhs`
    fn div_owned(self, rhs: &Rhs) -> Self::Output;
}

/// `+ - * /` with the right operand moved in (`self` is the right operand), as
/// [`ArithOwned`].
#[diagnostic::on_unimplemented(
    message = "`{Lhs}` and `{Self}` cannot be combined in differentiated arithmetic",
    label = "expected floats of one type, or tensors of that type"
)]
pub trait ArithOwnedRhs<Lhs>: Sized {
    /// The result's type: a tensor if either side is one.
    type Output;
    /// `lhs + self`
    fn add_to(self, lhs: &Lhs) -> Self::Output;
    /// `lhs - self`
    fn sub_from(self, lhs: &Lhs) -> Self::Output;
    /// `lhs * self`
    fn mul_into(self, lhs: &Lhs) -> Self::Output;
    /// `lhs / self`
    fn div_into(self, lhs: &Lhs) -> Self::Output;
}

/// The owned forms of one operator: `$owned(a, &b)` and `$owned_rhs(&a, b)`.
macro_rules! owned_arith {
    ($($op:tt $method:ident $rmethod:ident $owned:ident $owned_rhs:ident;)*) => {
        impl<T: Float> ArithOwned<T> for T {
            type Output = T;
            $(fn $method(self, rhs: &T) -> T { self $op *rhs })*
        }
        impl<T: Float> ArithOwned<Tensor<T>> for T {
            type Output = Tensor<T>;
            $(fn $method(self, rhs: &Tensor<T>) -> Tensor<T> { rhs.map(|v| self $op v) })*
        }
        impl<T: Float> ArithOwned<Tensor<T>> for Tensor<T> {
            type Output = Tensor<T>;
            $(#[track_caller] fn $method(self, rhs: &Tensor<T>) -> Tensor<T> { self $op rhs })*
        }
        impl<T: Float> ArithOwned<T> for Tensor<T> {
            type Output = Tensor<T>;
            $(fn $method(self, rhs: &T) -> Tensor<T> { self $op *rhs })*
        }
        impl<T: Float> ArithOwnedRhs<T> for T {
            type Output = T;
            $(fn $rmethod(self, lhs: &T) -> T { *lhs $op self })*
        }
        impl<T: Float> ArithOwnedRhs<Tensor<T>> for T {
            type Output = Tensor<T>;
            $(fn $rmethod(self, lhs: &Tensor<T>) -> Tensor<T> { lhs.map(|v| v $op self) })*
        }
        impl<T: Float> ArithOwnedRhs<Tensor<T>> for Tensor<T> {
            type Output = Tensor<T>;
            $(#[track_caller] fn $rmethod(self, lhs: &Tensor<T>) -> Tensor<T> { lhs $op self })*
        }
        impl<T: Float> ArithOwnedRhs<T> for Tensor<T> {
            type Output = Tensor<T>;
            $(
                #[allow(clippy::assign_op_pattern)]
                fn $rmethod(mut self, lhs: &T) -> Tensor<T> {
                    for x in self.as_mut_slice() {
                        *x = *lhs $op *x;
                    }
                    self
                }
            )*
        }
        $(
            #[doc = concat!("`a ", stringify!($op), " b` on scalars or tensors, `a` moved in.")]
            #[inline(always)]
            #[track_caller]
            pub fn $owned<A: ArithOwned<B>, B>(a: A, b: &B) -> A::Output {
                a.$method(b)
            }
            #[doc = concat!("`a ", stringify!($op), " b` on scalars or tensors, `b` moved in.")]
            #[inline(always)]
            #[track_caller]
            pub fn $owned_rhs<A, B: ArithOwnedRhs<A>>(a: &A, b: B) -> B::Output {
                b.$rmethod(a)
            }
        )*
    };
}

owned_arith! {
    + add_owned add_to add_owned add_owned_rhs;
    - sub_owned sub_from sub_owned sub_owned_rhs;
    * mul_owned mul_into mul_owned mul_owned_rhs;
    / div_owned div_into div_owned div_owned_rhs;
}

/// `-x` on a scalar or a tensor.
pub trait Negate {
    /// `-self`
    fn negate(&self) -> Self;
}

impl<T: Float> Negate for T {
    fn negate(&self) -> T {
        -*self
    }
}

impl<T: Float> Negate for Tensor<T> {
    fn negate(&self) -> Tensor<T> {
        -self
    }
}

/// `-x` on a scalar or a tensor.
#[inline(always)]
pub fn neg<V: Negate>(x: &V) -> V {
    x.negate()
}

/// A cotangent brought back to an operand's shape: broadcasting in the forward direction is
/// a sum in the reverse one (TensorFlow's "unbroadcast"); a scalar operand of a tensor
/// operation gets the sum of the cotangent.
#[diagnostic::on_unimplemented(
    message = "a cotangent of type `{G}` cannot be brought back to an operand of type `{Self}`",
    label = "expected floats of one type, or tensors of that type"
)]
pub trait ReduceTo<G>: Sized {
    /// The cotangent `g` summed to `self`'s shape.
    fn reduce(&self, g: &G) -> Self;

    /// The same, consuming `g`: no copy where the shapes already match.
    fn reduce_owned(&self, g: G) -> Self {
        self.reduce(&g)
    }
}

impl<T: Float> ReduceTo<T> for T {
    #[inline(always)]
    fn reduce(&self, g: &T) -> T {
        *g
    }
}

impl<T: Float> ReduceTo<Tensor<T>> for T {
    fn reduce(&self, g: &Tensor<T>) -> T {
        g.sum()
    }
}

impl<T: Float> ReduceTo<Tensor<T>> for Tensor<T> {
    fn reduce(&self, g: &Tensor<T>) -> Tensor<T> {
        if g.shape() == self.shape() {
            g.clone()
        } else {
            crate::tensor::unbroadcast(g, self.shape())
        }
    }

    fn reduce_owned(&self, g: Tensor<T>) -> Tensor<T> {
        if g.shape() == self.shape() {
            g
        } else {
            crate::tensor::unbroadcast(&g, self.shape())
        }
    }
}

impl<T: Float> ReduceTo<T> for Tensor<T> {
    fn reduce(&self, g: &T) -> Tensor<T> {
        Tensor::full(self.shape(), *g)
    }
}

/// `g` brought back to the shape of `operand`.
#[inline(always)]
pub fn reduce_to<V: ReduceTo<G>, G>(operand: &V, g: &G) -> V {
    operand.reduce(g)
}

/// `g` brought back to the shape of `operand`, consumed (no copy where the shapes match).
#[inline(always)]
pub fn reduce_owned<V: ReduceTo<G>, G>(operand: &V, g: G) -> V {
    operand.reduce_owned(g)
}

/// The parameters of a struct in `wrt` (`wrt = self`, `wrt = m`): what `#[derive(Params)]`
/// gives. Its own trait so that the error says what is missing.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is in `wrt` but is not a collection of `{T}` parameters",
    label = "`wrt` names a value of this type",
    note = "add `#[derive(Params)]` to the struct (`use autodiff::prelude::*;`): its gradient is a value of the same type, with every float leaf holding its derivative"
)]
pub trait StructParams<T: Float>: Sized {
    /// A value of the same type and shape, every float leaf zero.
    fn struct_zeros(&self) -> Self;
    /// Adds `g` (of the same structure) into `self`, leaf by leaf.
    fn struct_add(&mut self, g: &Self);
    /// Each float leaf, in `Params::visit` order.
    fn struct_visit<'a>(&'a self, f: &mut dyn FnMut(&'a [T]));
    /// Each float leaf, mutably, in the same order.
    fn struct_visit_mut<'a>(&'a mut self, f: &mut dyn FnMut(&'a mut [T]));
}

impl<T: Float, P: crate::params::Params<T>> StructParams<T> for P {
    #[inline]
    fn struct_zeros(&self) -> Self {
        self.zeros_like()
    }

    fn struct_visit<'a>(&'a self, f: &mut dyn FnMut(&'a [T])) {
        self.visit(f);
    }

    fn struct_visit_mut<'a>(&'a mut self, f: &mut dyn FnMut(&'a mut [T])) {
        self.visit_mut(f);
    }

    fn struct_add(&mut self, g: &Self) {
        let mut leaves: Vec<&[T]> = Vec::new();
        g.visit(&mut |leaf| leaves.push(leaf));
        let mut k = 0;
        self.visit_mut(&mut |leaf| {
            for (a, b) in leaf.iter_mut().zip(leaves[k]) {
                *a = *a + *b;
            }
            k += 1;
        });
    }
}

/// The zero gradient of a struct in `wrt`, into which the fields' gradients are written.
#[inline]
pub fn struct_zeros<T: Float, P: StructParams<T>>(p: &P) -> P {
    p.struct_zeros()
}

/// Adds the gradient `g` of a struct into `acc`, leaf by leaf: what a differentiated method
/// called from another (`self.forward(x)`) contributes to its caller's gradient of `self`.
#[inline]
pub fn add_struct<T: Float, P: StructParams<T>>(acc: &mut P, g: &P) {
    acc.struct_add(g);
}

/// Where a differentiated method called from another (`self.forward(x)`, `layer.forward(h)`)
/// adds its gradient of `self`: the caller's gradient of its own struct (a `RefCell` of it),
/// or the part of it an element of that struct is ([`ElementSink`]). Leaves are counted in
/// `Params::visit` order, so an element's leaves are a run of its container's.
pub trait Sink<T: Float> {
    /// Adds the leaves `g` visits (in order) into this gradient's leaves from `offset` on.
    fn add_leaves(&self, offset: usize, g: &Leaves<'_, T>);
}

/// A gradient's leaves, visited in order: `|f| g.struct_visit(f)`.
pub type Leaves<'a, T> = dyn Fn(&mut dyn FnMut(&[T])) + 'a;

impl<T: Float, P: StructParams<T>> Sink<T> for core::cell::RefCell<P> {
    fn add_leaves(&self, offset: usize, g: &Leaves<'_, T>) {
        let mut acc = self.borrow_mut();
        let mut leaves: Vec<&mut [T]> = Vec::new();
        acc.struct_visit_mut(&mut |leaf| leaves.push(leaf));
        let mut k = offset;
        g(&mut |leaf| {
            for (a, b) in leaves[k].iter_mut().zip(leaf) {
                *a = *a + *b;
            }
            k += 1;
        });
    }
}

impl<T: Float, S: Sink<T> + ?Sized> Sink<T> for &S {
    fn add_leaves(&self, offset: usize, g: &Leaves<'_, T>) {
        (**self).add_leaves(offset, g);
    }
}

/// The sink of an element of a struct (`self.layers[l]` for `layer.forward(h)`): its
/// container's sink, from the element's first leaf on.
#[derive(Clone, Copy)]
pub struct ElementSink<'a, T: Float> {
    outer: &'a dyn Sink<T>,
    offset: usize,
}

impl<T: Float> Sink<T> for ElementSink<'_, T> {
    fn add_leaves(&self, offset: usize, g: &Leaves<'_, T>) {
        self.outer.add_leaves(self.offset + offset, g);
    }
}

/// The sink of `element`, a part of `whole` (whose gradient `outer` holds): found by where
/// the element's leaves are among the whole's (the same memory, so the same slices).
pub fn element_sink<'a, T: Float, W: StructParams<T>, E: StructParams<T>>(
    outer: &'a dyn Sink<T>,
    whole: &W,
    element: &E,
) -> ElementSink<'a, T> {
    let mut all: Vec<(*const T, usize)> = Vec::new();
    whole.struct_visit(&mut |leaf| all.push((leaf.as_ptr(), leaf.len())));
    let mut part: Vec<(*const T, usize)> = Vec::new();
    element.struct_visit(&mut |leaf| part.push((leaf.as_ptr(), leaf.len())));
    let offset = (0..=all.len().saturating_sub(part.len()))
        .find(|&k| all[k..].starts_with(&part))
        .expect("autodiff: an element's leaves are among its container's");
    ElementSink { outer, offset }
}

/// Adds the gradient `g` of a struct to `sink`.
#[inline]
pub fn add_to_sink<T: Float, P: StructParams<T>>(sink: &dyn Sink<T>, g: &P) {
    sink.add_leaves(0, &|f| g.struct_visit(&mut |leaf| f(leaf)));
}

/// The type of a struct's field, keyed by a hash of its name: `#[derive(Params)]` writes one
/// impl per field, and `#[differentiate(wrt = [self.w])]` names the gradient's type through
/// it (`<Model as FieldType<ID>>::Type`), since an attribute cannot see the declaration.
#[diagnostic::on_unimplemented(
    message = "`wrt` or `stop` names a field of `{Self}` whose type the macro cannot name",
    label = "the gradient of a field named in `wrt` has the field's type",
    note = "`#[derive(Params)]` names the type of every field of `{Self}` but a private field of a `pub` struct whose type is not a float, `Vec`, array or `Tensor` of them (it may be private): make the field `pub(crate)`, or name the whole struct in `wrt`"
)]
pub trait FieldType<const ID: u64> {
    /// The field's type.
    type Type;
}

/// Writes a float array field's gradient (`Vec`, array) from the hidden function's `Vec`.
#[inline]
pub fn set_leaf<T: Copy, D: AsMut<[T]> + ?Sized>(dst: &mut D, src: &[T]) {
    dst.as_mut().copy_from_slice(src);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Tensor;

    #[test]
    fn tensor_zero_and_one_like_keep_the_shape() {
        let t = Tensor::from([[1.5_f32, 2.0, 3.0], [4.0, 5.0, 6.0]]);
        assert_eq!(t.zero_like(), Tensor::zeros(&[2, 3]));
        assert_eq!(t.one_like(), Tensor::ones(&[2, 3]));
        assert_eq!(2.5_f64.zero_like(), 0.0);
    }

    /// Snapshots of short and long arrays (copied element by element and by `memcpy`)
    /// come back last in, first out, each whole.
    #[test]
    fn snapshots_come_back_in_reverse_order() {
        let mut stack = vec![9.0];
        let short = [1.0, 2.0, 3.0];
        let long: Vec<f64> = (0..9).map(f64::from).collect();
        push_slice(&mut stack, &short);
        push_slice(&mut stack, &long);
        push_slice(&mut stack, &short[..1]);
        let (mut a, mut b, mut c) = ([0.0; 1], vec![0.0; 9], [0.0; 3]);
        pop_into(&mut stack, &mut a);
        pop_into(&mut stack, &mut b);
        pop_into(&mut stack, &mut c);
        assert_eq!((a, b, c), ([1.0], long, short));
        assert_eq!(stack, [9.0]);
    }
}
