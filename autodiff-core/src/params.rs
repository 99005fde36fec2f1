//! Collections of parameters seen as a sequence of flat float slices ("leaves").
//!
//! Optimizers and clipping never look at the type of a collection: they ask it for its
//! leaves, in a fixed order, through [`Params::visit`] and [`Params::visit_mut`]. A
//! collection's gradient has the same type as the collection, so parameters and gradients
//! have the same leaves.
//!
//! | type | leaves |
//! |------|--------|
//! | `f32`, `f64` | one leaf of length 1 |
//! | `[f64; N]`, `Vec<f64>` (floats directly inside) | one leaf of length `N` (or `len()`) |
//! | `[P; N]`, `Vec<P>`, `Box<P>` (any other `P: Params`) | the leaves of each element, in order |
//! | tuples `(A, B, ..)` of up to 8 elements | the leaves of each element, in order |
//! | [`Tensor<T>`](Tensor) | one leaf: its elements in row-major order (any shape) |
//! | `Option<P>` | `None`: no leaves; `Some(p)`: the leaves of `p` (TensorFlow's `None` gradients) |
//! | `#[derive(Params)]` structs (facade) | the leaves of each field, in declaration order |
//!
//! Each leaf also has a *path*, the names leading to it joined by dots, like a TensorFlow
//! variable name: `"layers.0.w"` for the field `w` of the first element of the field `layers`
//! (fields by name, elements of arrays, `Vec`s and tuples by index, `Box` and `Some`
//! transparently). [`Params::visit_named`] walks the leaves with their paths, and
//! [`zip_leaves_mut`] walks a gradient and its parameters together, TensorFlow's
//! `compute_gradients` list of `(gradient, variable)` pairs:
//!
//! ```
//! use autodiff_core::clip::clip_slice_by_norm;
//! use autodiff_core::params::{zip_leaves_mut, Params};
//!
//! let params = (vec![[1.0_f64, 2.0], [3.0, 4.0]], 5.0_f64);
//! assert_eq!(params.leaf_paths(), ["0.0", "0.1", "1"]);
//! let mut grads = (vec![[30.0, 40.0], [0.3, 0.4]], 7.0);
//! for (path, g, _v) in zip_leaves_mut(&mut grads, &params) {
//!     if path == "1" {
//!         g.fill(0.0); // skip this variable
//!     } else {
//!         clip_slice_by_norm(g, 5.0); // clip each variable by its own norm
//!     }
//! }
//! assert_eq!(grads, (vec![[3.0, 4.0], [0.3, 0.4]], 0.0));
//! ```
//!
//! There is no impl for `&mut P`: [`Params::zeros_like`] must return a value of the same
//! type, and a gradient collection must be owned; pass `&mut params` to the optimizer instead.
//!
//! So `[[f64; 3]; 2]` has two leaves of length 3, and `Vec<[f64; 2]>` one leaf of length 2
//! per element. A float array is one leaf rather than `N` leaves of length 1 because
//! optimizers then run one tight loop per array; the trick is [`Params::visit_slice`], which
//! `f32` and `f64` override to hand out the whole slice at once.
//!
//! To make a new type a collection, implement the three required methods. A tensor type with
//! `as_slice`, `as_mut_slice`, `shape` and `zeros(&shape)` needs three lines (the impl for
//! [`Tensor`] below is exactly this):
//!
//! ```
//! use autodiff_core::params::Params;
//!
//! /// A stand-in for a tensor: a flat buffer and a shape.
//! struct Grid { data: Vec<f64>, shape: Vec<usize> }
//!
//! impl Params<f64> for Grid {
//!     fn visit<'a>(&'a self, f: &mut dyn FnMut(&'a [f64])) { f(&self.data) }
//!     fn visit_mut<'a>(&'a mut self, f: &mut dyn FnMut(&'a mut [f64])) { f(&mut self.data) }
//!     fn zeros_like(&self) -> Self {
//!         Grid { data: vec![0.0; self.data.len()], shape: self.shape.clone() }
//!     }
//! }
//!
//! let g = Grid { data: vec![1.0, 2.0, 3.0, 4.0], shape: vec![2, 2] };
//! assert_eq!(g.leaf_lengths(), vec![4]);
//! assert_eq!(g.zeros_like().data, vec![0.0; 4]);
//! ```
use crate::Tensor;
use num_traits::Float;
use std::fmt;

/// A collection of float parameters, seen as a sequence of flat slices ("leaves").
///
/// See the [module documentation](self) for the leaves of each implementing type.
///
/// ```
/// use autodiff_core::params::Params;
///
/// let p = (1.0_f64, [2.0, 3.0], vec![[4.0, 5.0], [6.0, 7.0]]);
/// assert_eq!(p.leaf_lengths(), vec![1, 2, 2, 2]);
/// let mut sum = 0.0;
/// p.visit(&mut |leaf| sum += leaf.iter().sum::<f64>());
/// assert_eq!(sum, 28.0);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a collection of `{T}` parameters",
    label = "optimizers and clipping need a `Params<{T}>` collection here",
    note = "Params is implemented for f32, f64, Tensor, arrays, Vec, Box, Option, tuples of up to 8 elements, and structs with #[derive(Params)]; gradients must have the same type as the parameters"
)]
pub trait Params<T: Float> {
    /// Calls `f` on each leaf, in order.
    ///
    /// ```
    /// use autodiff_core::params::Params;
    ///
    /// let mut leaves = Vec::new();
    /// ([1.0_f32, 2.0], 3.0_f32).visit(&mut |leaf| leaves.push(leaf.to_vec()));
    /// assert_eq!(leaves, vec![vec![1.0, 2.0], vec![3.0]]);
    /// ```
    fn visit<'a>(&'a self, f: &mut dyn FnMut(&'a [T]));

    /// Calls `f` on each leaf, mutably, in the same order as [`visit`](Params::visit).
    ///
    /// ```
    /// use autodiff_core::params::Params;
    ///
    /// let mut p = (vec![1.0_f64, 2.0], 3.0_f64);
    /// p.visit_mut(&mut |leaf| leaf.iter_mut().for_each(|x| *x *= 10.0));
    /// assert_eq!(p, (vec![10.0, 20.0], 30.0));
    /// ```
    fn visit_mut<'a>(&'a mut self, f: &mut dyn FnMut(&'a mut [T]));

    /// A collection of the same type and structure, every entry zero.
    ///
    /// ```
    /// use autodiff_core::params::Params;
    ///
    /// assert_eq!((vec![1.0_f64, 2.0], [3.0_f64]).zeros_like(), (vec![0.0, 0.0], [0.0]));
    /// ```
    fn zeros_like(&self) -> Self
    where
        Self: Sized;

    /// The length of each leaf, in order: the structure that optimizers check.
    ///
    /// ```
    /// use autodiff_core::params::Params;
    ///
    /// assert_eq!((2.0_f64, [[1.0_f64; 3]; 2]).leaf_lengths(), vec![1, 3, 3]);
    /// ```
    fn leaf_lengths(&self) -> Vec<usize> {
        let mut lengths = Vec::new();
        self.visit(&mut |leaf| lengths.push(leaf.len()));
        lengths
    }

    /// The number of scalar parameters: the sum of all leaf lengths.
    ///
    /// ```
    /// use autodiff_core::params::Params;
    ///
    /// assert_eq!((2.0_f64, vec![[1.0_f64; 3]; 4]).num_scalars(), 13);
    /// ```
    fn num_scalars(&self) -> usize {
        let mut n = 0;
        self.visit(&mut |leaf| n += leaf.len());
        n
    }

    /// Calls `f` on each leaf with its path, in the order of [`visit`](Params::visit).
    /// `path` is the path of `self` (empty at the root); each leaf's path extends it by
    /// [`push_segment`], and `path` is as it was when this returns.
    ///
    /// The default names the leaves of a type without names by their position: a type with
    /// one leaf gives it `path` itself, one with several gives them `path.0`, `path.1`, ...
    /// The impls for structs (`#[derive(Params)]`), tuples, arrays, `Vec`s, `Box`es, options,
    /// tensors and floats override it.
    ///
    /// ```
    /// use autodiff_core::params::Params;
    ///
    /// let p = (1.0_f64, Some(vec![Box::new([2.0_f64, 3.0])]));
    /// let mut named = Vec::new();
    /// p.visit_named(&mut String::new(), &mut |path, leaf| named.push((path.to_string(), leaf.len())));
    /// assert_eq!(named, [("0".to_string(), 1), ("1.0".to_string(), 2)]);
    /// ```
    fn visit_named<'a>(&'a self, path: &mut String, f: &mut dyn FnMut(&str, &'a [T])) {
        let mut leaves = Vec::new();
        self.visit(&mut |leaf| leaves.push(leaf));
        if leaves.len() == 1 {
            f(path, leaves[0]);
        } else {
            for (i, leaf) in leaves.into_iter().enumerate() {
                let len = push_segment(path, i);
                f(path, leaf);
                path.truncate(len);
            }
        }
    }

    /// The path of each leaf, in order (see [`visit_named`](Params::visit_named)).
    ///
    /// ```
    /// use autodiff_core::params::Params;
    ///
    /// assert_eq!((2.0_f64, [[1.0_f64; 3]; 2]).leaf_paths(), ["0", "1.0", "1.1"]);
    /// ```
    fn leaf_paths(&self) -> Vec<String> {
        let mut paths = Vec::new();
        self.visit_named(&mut String::new(), &mut |path, _| {
            paths.push(path.to_string())
        });
        paths
    }

    /// Each leaf with its path, in order: TensorFlow's list of variables with their names.
    ///
    /// ```
    /// use autodiff_core::params::Params;
    ///
    /// let p = ([1.0_f64, 2.0], 3.0_f64);
    /// assert_eq!(p.named_leaves(), [("0".to_string(), &[1.0, 2.0][..]), ("1".to_string(), &[3.0][..])]);
    /// ```
    fn named_leaves(&self) -> Vec<(String, &[T])> {
        let mut out = Vec::new();
        self.visit_named(&mut String::new(), &mut |path, leaf| {
            out.push((path.to_string(), leaf))
        });
        out
    }

    /// Visits a slice of values of this type. Containers (`[P; N]`, `Vec<P>`) call this
    /// rather than visiting element by element, so that `f32` and `f64` can override it to
    /// make a whole float array a single leaf. The default visits each element.
    ///
    /// ```
    /// use autodiff_core::params::Params;
    ///
    /// let mut lengths = Vec::new();
    /// f64::visit_slice(&[1.0, 2.0, 3.0], &mut |leaf| lengths.push(leaf.len()));
    /// assert_eq!(lengths, vec![3]);
    /// ```
    fn visit_slice<'a>(items: &'a [Self], f: &mut dyn FnMut(&'a [T]))
    where
        Self: Sized,
    {
        for item in items {
            item.visit(f);
        }
    }

    /// [`visit_slice`](Params::visit_slice) with paths: the default names each element by
    /// its index under `path`; `f32` and `f64` override it to name the single leaf `path`.
    ///
    /// ```
    /// use autodiff_core::params::Params;
    ///
    /// let mut paths = Vec::new();
    /// <[f64; 2]>::visit_slice_named(&[[1.0, 2.0], [3.0, 4.0]], &mut "w".to_string(), &mut |p, _| {
    ///     paths.push(p.to_string())
    /// });
    /// assert_eq!(paths, ["w.0", "w.1"]);
    /// ```
    fn visit_slice_named<'a>(items: &'a [Self], path: &mut String, f: &mut dyn FnMut(&str, &'a [T]))
    where
        Self: Sized,
    {
        for (i, item) in items.iter().enumerate() {
            let len = push_segment(path, i);
            item.visit_named(path, f);
            path.truncate(len);
        }
    }

    /// Mutable counterpart of [`visit_slice`](Params::visit_slice).
    ///
    /// ```
    /// use autodiff_core::params::Params;
    ///
    /// let mut xs = [1.0_f64, 2.0];
    /// f64::visit_slice_mut(&mut xs, &mut |leaf| leaf[1] = 5.0);
    /// assert_eq!(xs, [1.0, 5.0]);
    /// ```
    fn visit_slice_mut<'a>(items: &'a mut [Self], f: &mut dyn FnMut(&'a mut [T]))
    where
        Self: Sized,
    {
        for item in items {
            item.visit_mut(f);
        }
    }
}

/// Appends `segment` to a leaf path, after a dot unless the path is empty, and returns the
/// length the path had before, for `path.truncate(len)` once the leaves below are visited.
/// Implementations of [`Params::visit_named`] (and `#[derive(Params)]`) build paths with it.
///
/// ```
/// use autodiff_core::params::push_segment;
///
/// let mut path = String::new();
/// assert_eq!(push_segment(&mut path, "layers"), 0);
/// assert_eq!(push_segment(&mut path, 0), 6);
/// assert_eq!(path, "layers.0");
/// path.truncate(6);
/// assert_eq!(path, "layers");
/// ```
pub fn push_segment(path: &mut String, segment: impl fmt::Display) -> usize {
    use std::fmt::Write;
    let len = path.len();
    if len > 0 {
        path.push('.');
    }
    // Writing to a String cannot fail.
    let _ = write!(path, "{segment}");
    len
}

/// What [`zip_leaves_mut`] returns: one `(path, gradient, variable)` per leaf, TensorFlow's
/// `grads_and_vars` with the variables' names.
pub type GradsAndVars<'g, 'p, T> = Vec<(String, &'g mut [T], &'p [T])>;

/// The gradient and the parameters walked together, leaf by leaf: one `(path, gradient,
/// variable)` per leaf, in order, the gradient mutable (TensorFlow's `compute_gradients`,
/// which returns `[(gradient, variable)]`, with the variable's name). Use it to clip, scale
/// or zero the gradient of some variables before
/// [`apply_gradients`](crate::optim::Optimizer::apply_gradients).
///
/// # Panics
/// If `grads` and `params` differ in structure; the message names both structures.
/// [`try_zip_leaves_mut`] returns the error instead.
///
/// ```
/// use autodiff_core::params::zip_leaves_mut;
///
/// let params = ([1.0_f64, -1.0], 2.0_f64);
/// let mut grads = ([0.5, 0.5], 3.0);
/// for (path, g, v) in zip_leaves_mut(&mut grads, &params) {
///     // Weight decay on the first variable only: g += 0.1 · v.
///     if path == "0" {
///         g.iter_mut().zip(v).for_each(|(g, v)| *g += 0.1 * v);
///     }
/// }
/// assert_eq!(grads, ([0.6, 0.4], 3.0));
/// ```
#[track_caller]
pub fn zip_leaves_mut<'g, 'p, T: Float, P: Params<T>>(
    grads: &'g mut P,
    params: &'p P,
) -> GradsAndVars<'g, 'p, T> {
    match try_zip_leaves_mut(grads, params) {
        Ok(zipped) => zipped,
        Err(err) => panic!("zip_leaves_mut: {err}"),
    }
}

/// [`zip_leaves_mut`] (TensorFlow's `compute_gradients` pairs), with an error instead of a
/// panic when `grads` and `params` differ in structure.
///
/// # Errors
/// A [`ParamsError`] of kind [`GradientsMismatch`](ParamsErrorKind::GradientsMismatch),
/// with the parameters' structure as expected and the gradients' as found.
///
/// ```
/// use autodiff_core::params::{try_zip_leaves_mut, ParamsErrorKind};
///
/// let err = try_zip_leaves_mut(&mut vec![1.0_f64], &vec![1.0, 2.0]).unwrap_err();
/// assert_eq!(err.kind(), ParamsErrorKind::GradientsMismatch);
/// assert_eq!((err.expected(), err.found()), (&[2][..], &[1][..]));
/// ```
pub fn try_zip_leaves_mut<'g, 'p, T: Float, P: Params<T>>(
    grads: &'g mut P,
    params: &'p P,
) -> Result<GradsAndVars<'g, 'p, T>, ParamsError> {
    let named = params.named_leaves();
    let grads = leaves_mut(grads);
    let same = named.len() == grads.len()
        && named
            .iter()
            .zip(&grads)
            .all(|((_, v), g)| v.len() == g.len());
    if !same {
        return Err(ParamsError::new(
            ParamsErrorKind::GradientsMismatch,
            named.iter().map(|(_, v)| v.len()).collect(),
            grads.iter().map(|g| g.len()).collect(),
        ));
    }
    Ok(named
        .into_iter()
        .zip(grads)
        .map(|((path, v), g)| (path, g, v))
        .collect())
}

/// The leaves of `p`, collected (a helper for code that walks two collections side by side).
pub(crate) fn leaves<T: Float, P: Params<T> + ?Sized>(p: &P) -> Vec<&[T]> {
    let mut out = Vec::new();
    p.visit(&mut |leaf| out.push(leaf));
    out
}

/// The mutable leaves of `p`, collected.
pub(crate) fn leaves_mut<T: Float, P: Params<T> + ?Sized>(p: &mut P) -> Vec<&mut [T]> {
    let mut out = Vec::new();
    p.visit_mut(&mut |leaf| out.push(leaf));
    out
}

macro_rules! impl_scalar {
    ($($t:ty),*) => {$(
        impl Params<$t> for $t {
            #[inline]
            fn visit<'a>(&'a self, f: &mut dyn FnMut(&'a [$t])) {
                f(std::slice::from_ref(self))
            }
            #[inline]
            fn visit_mut<'a>(&'a mut self, f: &mut dyn FnMut(&'a mut [$t])) {
                f(std::slice::from_mut(self))
            }
            #[inline]
            fn zeros_like(&self) -> Self {
                0.0
            }
            #[inline]
            fn visit_named<'a>(&'a self, path: &mut String, f: &mut dyn FnMut(&str, &'a [$t])) {
                f(path, std::slice::from_ref(self))
            }
            /// A slice of floats is one leaf, named by the slice's path.
            #[inline]
            fn visit_slice_named<'a>(
                items: &'a [Self],
                path: &mut String,
                f: &mut dyn FnMut(&str, &'a [$t]),
            ) {
                f(path, items)
            }
            /// A slice of floats is one leaf.
            #[inline]
            fn visit_slice<'a>(items: &'a [Self], f: &mut dyn FnMut(&'a [$t])) {
                f(items)
            }
            #[inline]
            fn visit_slice_mut<'a>(items: &'a mut [Self], f: &mut dyn FnMut(&'a mut [$t])) {
                f(items)
            }
        }
    )*};
}
impl_scalar!(f32, f64);

impl<T: Float, P: Params<T>, const N: usize> Params<T> for [P; N] {
    fn visit<'a>(&'a self, f: &mut dyn FnMut(&'a [T])) {
        P::visit_slice(self, f)
    }
    fn visit_mut<'a>(&'a mut self, f: &mut dyn FnMut(&'a mut [T])) {
        P::visit_slice_mut(self, f)
    }
    fn zeros_like(&self) -> Self {
        std::array::from_fn(|i| self[i].zeros_like())
    }
    fn visit_named<'a>(&'a self, path: &mut String, f: &mut dyn FnMut(&str, &'a [T])) {
        P::visit_slice_named(self, path, f)
    }
}

impl<T: Float, P: Params<T>> Params<T> for Vec<P> {
    fn visit<'a>(&'a self, f: &mut dyn FnMut(&'a [T])) {
        P::visit_slice(self, f)
    }
    fn visit_mut<'a>(&'a mut self, f: &mut dyn FnMut(&'a mut [T])) {
        P::visit_slice_mut(self, f)
    }
    fn zeros_like(&self) -> Self {
        self.iter().map(P::zeros_like).collect()
    }
    fn visit_named<'a>(&'a self, path: &mut String, f: &mut dyn FnMut(&str, &'a [T])) {
        P::visit_slice_named(self, path, f)
    }
}

impl<T: Float, P: Params<T>> Params<T> for Box<P> {
    fn visit<'a>(&'a self, f: &mut dyn FnMut(&'a [T])) {
        (**self).visit(f)
    }
    fn visit_mut<'a>(&'a mut self, f: &mut dyn FnMut(&'a mut [T])) {
        (**self).visit_mut(f)
    }
    fn zeros_like(&self) -> Self {
        Box::new((**self).zeros_like())
    }
    fn visit_named<'a>(&'a self, path: &mut String, f: &mut dyn FnMut(&str, &'a [T])) {
        (**self).visit_named(path, f)
    }
}

/// `None` has no leaves and `Some(p)` the leaves of `p` (with `p`'s paths): TensorFlow's list
/// of gradients with `None` for a variable the loss does not depend on. Clipping passes a
/// `None` through; optimizers see only the leaves, so parameters and gradients must agree on
/// which entries are `None`.
///
/// ```
/// use autodiff_core::clip::{clip_by_global_norm, global_norm};
/// use autodiff_core::params::Params;
///
/// let grads = vec![Some([3.0_f64]), None, Some([4.0])];
/// assert_eq!(grads.leaf_lengths(), vec![1, 1]);
/// assert_eq!(grads.leaf_paths(), ["0", "2"]);
/// assert_eq!(global_norm(&grads), 5.0);
/// assert_eq!(clip_by_global_norm(grads, 2.5).0, vec![Some([1.5]), None, Some([2.0])]);
/// ```
impl<T: Float, P: Params<T>> Params<T> for Option<P> {
    fn visit<'a>(&'a self, f: &mut dyn FnMut(&'a [T])) {
        if let Some(p) = self {
            p.visit(f)
        }
    }
    fn visit_mut<'a>(&'a mut self, f: &mut dyn FnMut(&'a mut [T])) {
        if let Some(p) = self {
            p.visit_mut(f)
        }
    }
    fn zeros_like(&self) -> Self {
        self.as_ref().map(P::zeros_like)
    }
    fn visit_named<'a>(&'a self, path: &mut String, f: &mut dyn FnMut(&str, &'a [T])) {
        if let Some(p) = self {
            p.visit_named(path, f)
        }
    }
}

macro_rules! impl_tuple {
    ($($name:ident $idx:tt),+) => {
        impl<T: Float, $($name: Params<T>),+> Params<T> for ($($name,)+) {
            fn visit<'a>(&'a self, f: &mut dyn FnMut(&'a [T])) {
                $(self.$idx.visit(f);)+
            }
            fn visit_mut<'a>(&'a mut self, f: &mut dyn FnMut(&'a mut [T])) {
                $(self.$idx.visit_mut(f);)+
            }
            fn zeros_like(&self) -> Self {
                ($(self.$idx.zeros_like(),)+)
            }
            fn visit_named<'a>(&'a self, path: &mut String, f: &mut dyn FnMut(&str, &'a [T])) {
                $(
                    let len = push_segment(path, $idx);
                    self.$idx.visit_named(path, f);
                    path.truncate(len);
                )+
            }
        }
    };
}
impl_tuple!(A 0);
impl_tuple!(A 0, B 1);
impl_tuple!(A 0, B 1, C 2);
impl_tuple!(A 0, B 1, C 2, D 3);
impl_tuple!(A 0, B 1, C 2, D 3, E 4);
impl_tuple!(A 0, B 1, C 2, D 3, E 4, F 5);
impl_tuple!(A 0, B 1, C 2, D 3, E 4, F 5, G 6);
impl_tuple!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);

/// A tensor is one leaf: its elements in row-major order, whatever its shape. Its gradient
/// is a tensor of the same shape, and [`zeros_like`](Params::zeros_like) keeps the shape, so
/// optimizers and clipping work on tensors, and on tuples, arrays, `Vec`s and
/// `#[derive(Params)]` structs holding them, without copying.
///
/// The shape is not part of the structure that optimizers check: only the leaf length is.
/// A `[2, 3]` tensor and a `[3, 2]` tensor have the same structure (one leaf of length 6).
///
/// ```
/// use autodiff_core::clip::clip_by_global_norm;
/// use autodiff_core::optim::{GradientDescent, Optimizer};
/// use autodiff_core::params::Params;
/// use autodiff_core::Tensor;
///
/// let mut w = Tensor::from([[1.0_f64, 2.0], [3.0, 4.0]]);
/// assert_eq!(w.leaf_lengths(), vec![4]);
/// assert_eq!(w.zeros_like(), Tensor::zeros(&[2, 2]));
///
/// // The gradient of ½‖w‖² is w itself: a step of 0.5 halves every weight.
/// let grads = w.clone();
/// GradientDescent::new(0.5).apply_gradients(&mut w, &grads);
/// assert_eq!(w, Tensor::from([[0.5, 1.0], [1.5, 2.0]]));
///
/// let (clipped, norm) = clip_by_global_norm(Tensor::from([3.0_f64, 4.0]), 2.5);
/// assert_eq!((clipped.as_slice(), norm), (&[1.5, 2.0][..], 5.0));
/// ```
impl<T: Float> Params<T> for Tensor<T> {
    fn visit<'a>(&'a self, f: &mut dyn FnMut(&'a [T])) {
        f(self.as_slice())
    }
    fn visit_mut<'a>(&'a mut self, f: &mut dyn FnMut(&'a mut [T])) {
        f(self.as_mut_slice())
    }
    fn zeros_like(&self) -> Self {
        Tensor::zeros(self.shape())
    }
    fn visit_named<'a>(&'a self, path: &mut String, f: &mut dyn FnMut(&str, &'a [T])) {
        f(path, self.as_slice())
    }
}

/// Two parameter collections that should have had the same structure did not.
///
/// Carries both structures (the length of each leaf); [`kind`](ParamsError::kind) tells
/// which two collections were compared.
///
/// ```
/// use autodiff_core::optim::{GradientDescent, Optimizer};
/// use autodiff_core::params::ParamsErrorKind;
///
/// let mut opt = GradientDescent::new(0.1);
/// let mut params = vec![1.0_f64, 2.0];
/// let err = opt.try_apply_gradients(&mut params, &vec![1.0]).unwrap_err();
/// assert_eq!(err.kind(), ParamsErrorKind::GradientsMismatch);
/// assert_eq!((err.expected(), err.found()), (&[2][..], &[1][..]));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamsError {
    kind: ParamsErrorKind,
    expected: Vec<usize>,
    found: Vec<usize>,
}

/// Which structures a [`ParamsError`] compared.
///
/// ```
/// use autodiff_core::optim::{Adam, Optimizer};
/// use autodiff_core::params::ParamsErrorKind;
///
/// let mut opt = Adam::new(0.1);
/// opt.apply_gradients(&mut [1.0_f64, 2.0], &[0.1, 0.1]);
/// let err = opt.try_apply_gradients(&mut 1.0_f64, &0.1).unwrap_err();
/// assert_eq!(err.kind(), ParamsErrorKind::SlotsMismatch);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParamsErrorKind {
    /// The gradients' leaves differ from the parameters' leaves.
    GradientsMismatch,
    /// An optimizer's slots were made for parameters of another structure than those it
    /// was now given.
    SlotsMismatch,
}

impl ParamsError {
    /// An error of `kind`: `expected` and `found` are the leaf lengths of the two structures.
    ///
    /// ```
    /// use autodiff_core::params::{ParamsError, ParamsErrorKind};
    ///
    /// let e = ParamsError::new(ParamsErrorKind::SlotsMismatch, vec![3], vec![2, 1]);
    /// assert!(e.to_string().contains("[3]"));
    /// ```
    pub fn new(kind: ParamsErrorKind, expected: Vec<usize>, found: Vec<usize>) -> Self {
        ParamsError {
            kind,
            expected,
            found,
        }
    }

    /// Which structures were compared.
    ///
    /// ```
    /// use autodiff_core::params::{ParamsError, ParamsErrorKind};
    ///
    /// let e = ParamsError::new(ParamsErrorKind::SlotsMismatch, vec![3], vec![2]);
    /// assert_eq!(e.kind(), ParamsErrorKind::SlotsMismatch);
    /// ```
    pub fn kind(&self) -> ParamsErrorKind {
        self.kind
    }

    /// Leaf lengths of the reference structure: the parameters (for
    /// [`GradientsMismatch`](ParamsErrorKind::GradientsMismatch)) or the parameters the
    /// optimizer first saw (for [`SlotsMismatch`](ParamsErrorKind::SlotsMismatch)).
    ///
    /// ```
    /// use autodiff_core::params::{ParamsError, ParamsErrorKind};
    ///
    /// let e = ParamsError::new(ParamsErrorKind::SlotsMismatch, vec![3], vec![2]);
    /// assert_eq!(e.expected(), &[3]);
    /// ```
    pub fn expected(&self) -> &[usize] {
        &self.expected
    }

    /// Leaf lengths of the structure that did not match: the gradients, or the parameters
    /// of this call.
    ///
    /// ```
    /// use autodiff_core::params::{ParamsError, ParamsErrorKind};
    ///
    /// let e = ParamsError::new(ParamsErrorKind::SlotsMismatch, vec![3], vec![2]);
    /// assert_eq!(e.found(), &[2]);
    /// ```
    pub fn found(&self) -> &[usize] {
        &self.found
    }
}

/// Writes a structure as `2 leaves of lengths [3, 1]`, eliding the middle of long lists.
struct Structure<'a>(&'a [usize]);

impl fmt::Display for Structure<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 8;
        let lengths = self.0;
        let noun = if lengths.len() == 1 { "leaf" } else { "leaves" };
        write!(f, "{} {noun} of lengths [", lengths.len())?;
        for (i, n) in lengths.iter().enumerate() {
            if lengths.len() > 2 * SHOWN && i == SHOWN {
                write!(f, ", ..")?;
            }
            if lengths.len() > 2 * SHOWN && (SHOWN..lengths.len() - SHOWN).contains(&i) {
                continue;
            }
            if i > 0 {
                write!(f, ", ")?;
            }
            write!(f, "{n}")?;
        }
        write!(f, "]")
    }
}

impl fmt::Display for ParamsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (expected, found) = (Structure(&self.expected), Structure(&self.found));
        match self.kind {
            ParamsErrorKind::GradientsMismatch => write!(
                f,
                "gradients do not match the parameters: the parameters have {expected}, \
                 the gradients have {found}; pass gradients of the same collection"
            ),
            ParamsErrorKind::SlotsMismatch => write!(
                f,
                "parameters changed structure since this optimizer's first step: its slots \
                 were made for {expected}, now it was given {found}; use one optimizer per \
                 collection of parameters"
            ),
        }
    }
}

impl std::error::Error for ParamsError {}

/// Checks that `grads` has the leaves of `params`; returns the leaf lengths.
pub(crate) fn check_same_structure<T>(
    params: &[&mut [T]],
    grads: &[&[T]],
) -> Result<Vec<usize>, ParamsError> {
    let lengths: Vec<usize> = params.iter().map(|p| p.len()).collect();
    let same =
        lengths.len() == grads.len() && lengths.iter().zip(grads).all(|(n, g)| *n == g.len());
    if same {
        Ok(lengths)
    } else {
        Err(ParamsError::new(
            ParamsErrorKind::GradientsMismatch,
            lengths,
            grads.iter().map(|g| g.len()).collect(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn structure_display_elides_long_lists() {
        let long: Vec<usize> = (0..20).collect();
        let s = Structure(&long).to_string();
        assert_eq!(
            s,
            "20 leaves of lengths [0, 1, 2, 3, 4, 5, 6, 7, .., 12, 13, 14, 15, 16, 17, 18, 19]"
        );
        assert_eq!(Structure(&[3]).to_string(), "1 leaf of lengths [3]");
    }

    #[test]
    fn nested_arrays_are_one_leaf_per_inner_float_array() {
        let p = [[1.0_f64, 2.0, 3.0], [4.0, 5.0, 6.0]];
        assert_eq!(p.leaf_lengths(), vec![3, 3]);
        let q: Vec<Vec<f32>> = vec![vec![1.0], vec![], vec![2.0, 3.0]];
        assert_eq!(q.leaf_lengths(), vec![1, 0, 2]);
    }

    #[test]
    fn leaves_mut_write_through() {
        let mut p = (1.0_f64, Box::new([2.0_f64, 3.0]));
        for leaf in leaves_mut(&mut p) {
            leaf.iter_mut().for_each(|x| *x += 1.0);
        }
        assert_eq!(p, (2.0, Box::new([3.0, 4.0])));
        assert_eq!(leaves(&p), vec![&[2.0][..], &[3.0, 4.0][..]]);
    }

    #[test]
    fn a_tensor_is_one_leaf_and_zeros_like_keeps_its_shape() {
        let mut t = Tensor::from_vec(vec![1.0_f32, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
        assert_eq!(t.leaf_lengths(), vec![6]);
        assert_eq!(t.num_scalars(), 6);
        let z = t.zeros_like();
        assert_eq!((z.shape(), z.as_slice()), (&[2, 3][..], &[0.0; 6][..]));
        t.visit_mut(&mut |leaf| leaf[5] = -1.0);
        assert_eq!(t.get(&[1, 2]), Some(-1.0));

        // A 0-d tensor is one leaf of length 1; an empty tensor one leaf of length 0.
        assert_eq!(Tensor::scalar(2.0_f64).leaf_lengths(), vec![1]);
        assert_eq!(Tensor::<f64>::zeros(&[0, 3]).leaf_lengths(), vec![0]);
        // In containers, each tensor is its own leaf.
        let v = vec![Tensor::<f64>::zeros(&[2]), Tensor::zeros(&[3, 1])];
        assert_eq!(v.leaf_lengths(), vec![2, 3]);
        assert_eq!(v.zeros_like()[1].shape(), &[3, 1]);
    }

    #[test]
    fn paths_follow_the_nesting_and_visit_order() {
        let p = (
            1.0_f64,
            vec![[1.0_f64, 2.0], [3.0, 4.0]],
            [Tensor::<f64>::zeros(&[2, 2]), Tensor::zeros(&[3])],
            Box::new(Some((2.0_f64, vec![Some(3.0_f64), None, Some(4.0)]))),
            None::<f64>,
        );
        let named = p.named_leaves();
        let paths: Vec<&str> = named.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            ["0", "1.0", "1.1", "2.0", "2.1", "3.0", "3.1.0", "3.1.2"]
        );
        let lengths: Vec<usize> = named.iter().map(|(_, l)| l.len()).collect();
        assert_eq!(lengths, p.leaf_lengths());
        // The root of a single float (or tensor, or float array) is the empty path.
        assert_eq!(2.0_f64.leaf_paths(), [""]);
        assert_eq!(vec![1.0_f32, 2.0].leaf_paths(), [""]);
        // visit_named leaves the prefix as it found it.
        let mut prefix = "model".to_string();
        let mut seen = Vec::new();
        (1.0_f64, 2.0_f64).visit_named(&mut prefix, &mut |p, _| seen.push(p.to_string()));
        assert_eq!(
            (prefix.as_str(), seen),
            ("model", vec!["model.0".to_string(), "model.1".to_string()])
        );
    }

    /// A user type that implements only the three required methods gets positional paths.
    struct TwoLeaves([f64; 2], f64);
    impl Params<f64> for TwoLeaves {
        fn visit<'a>(&'a self, f: &mut dyn FnMut(&'a [f64])) {
            f(&self.0);
            f(std::slice::from_ref(&self.1));
        }
        fn visit_mut<'a>(&'a mut self, f: &mut dyn FnMut(&'a mut [f64])) {
            f(&mut self.0);
            f(std::slice::from_mut(&mut self.1));
        }
        fn zeros_like(&self) -> Self {
            TwoLeaves([0.0; 2], 0.0)
        }
    }

    #[test]
    fn default_paths_are_positions() {
        assert_eq!(TwoLeaves([1.0, 2.0], 3.0).leaf_paths(), ["0", "1"]);
        assert_eq!(
            vec![TwoLeaves([1.0, 2.0], 3.0)].leaf_paths(),
            ["0.0", "0.1"]
        );
    }

    #[test]
    fn zip_leaves_mut_pairs_gradients_with_variables() {
        let params = (vec![1.0_f64, 2.0], 3.0_f64);
        let mut grads = (vec![10.0, 20.0], 30.0);
        let zipped = zip_leaves_mut(&mut grads, &params);
        assert_eq!(zipped.len(), 2);
        for (path, g, v) in zipped {
            assert_eq!(g.len(), v.len(), "{path}");
            g[0] = v[0] + if path == "1" { 100.0 } else { 0.0 };
        }
        assert_eq!(grads, (vec![1.0, 20.0], 103.0));
        let err = try_zip_leaves_mut(&mut (vec![1.0], 1.0), &params).unwrap_err();
        assert_eq!((err.expected(), err.found()), (&[2, 1][..], &[1, 1][..]));
    }

    #[test]
    #[should_panic(expected = "zip_leaves_mut: gradients do not match the parameters")]
    fn zip_leaves_mut_panics_on_another_structure() {
        zip_leaves_mut(&mut vec![1.0_f64], &vec![1.0, 2.0]);
    }

    #[test]
    fn check_same_structure_reports_both() {
        let mut a = [1.0_f64, 2.0];
        let b = [1.0_f64];
        let err = check_same_structure(&[&mut a[..]], &[&b[..]]).unwrap_err();
        assert_eq!((err.expected(), err.found()), (&[2][..], &[1][..]));
        assert!(err.to_string().contains("1 leaf of lengths [2]"), "{err}");
    }
}
