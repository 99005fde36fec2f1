//! Compile-time automatic differentiation for Rust.
//!
//! See the README for a tour. Everything a user needs comes from the prelude:
//!
//! ```
//! use autodiff::prelude::*;
//!
//! #[differentiate]
//! fn f(x: f64, y: f64) -> f64 {
//!     x * y + x.sin()
//! }
//!
//! let (value, (dx, dy)) = f_grad(1.0, 2.0);
//! assert_eq!(value, 2.0 + 1.0_f64.sin());
//! assert_eq!((dx, dy), (2.0 + 1.0_f64.cos(), 1.0));
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "argmin")]
pub mod argmin_interop;

pub use autodiff_core::stop_gradient;
pub use autodiff_core::tensor;
pub use autodiff_core::{allreduce, clip, optim, params};
pub use autodiff_core::{
    clip_by_global_norm, clip_by_global_norm_with_norm, clip_by_norm, clip_by_norm_axes,
    clip_by_value, clip_slice_by_norm, global_norm, zip_leaves_mut, Adagrad, Adam, GradientDescent,
    Momentum, Optimizer, Params, ParamsError, ParamsErrorKind, RmsProp,
};
pub use autodiff_core::{ShapeError, Tensor};
pub use autodiff_macros::custom_derivative;
#[doc = include_str!("differentiate.md")]
pub use autodiff_macros::differentiate;
/// `#[derive(Params)]`: see the [`Params`](trait@Params) trait; the trait and the derive share
/// the name, as serde's `Serialize` does.
pub use autodiff_macros::Params;

/// Everything a user of `#[differentiate]` needs: `use autodiff::prelude::*;`.
///
/// It exports no trait with float-method names besides `Float` (num-traits), so
/// `x.sin()` on an `f64` stays unambiguous.
pub mod prelude {
    pub use crate::{
        clip_by_global_norm, clip_by_global_norm_with_norm, clip_by_norm, clip_by_norm_axes,
        clip_by_value, clip_slice_by_norm, global_norm, zip_leaves_mut, Adagrad, Adam,
        GradientDescent, Momentum, Optimizer, Params, RmsProp,
    };
    pub use crate::{custom_derivative, differentiate, stop_gradient};
    pub use autodiff_core::__private::Float;
    pub use autodiff_core::{ShapeError, Tensor};
}

/// Items the generated code refers to. Not a public API.
#[doc(hidden)]
pub mod __private {
    pub use autodiff_core::__private::*;
}

/// The README's code blocks, compiled and run as doctests so they cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
