//! Procedural macros of `differentiate`. Use them through the `differentiate` facade
//! (`use autodiff::prelude::*;`); the compiler itself lives in `autodiff-expand`.
//!
//! # The calling convention
//!
//! A differentiated function may call any other function that has a derivative, with
//! differentiated values in any of its float arguments. Each `#[differentiate]` function `f`
//! (and each `#[custom_derivative]` one) therefore also gets two hidden functions, for every
//! parameter whatever its `wrt` says:
//!
//! ```text
//! f::forward_derivative(p_0, .., p_n, d_0, .., d_n) -> (R, R)
//! f::reverse_derivative(p_0, .., p_n, seed: R)     -> (R, (g_0, .., g_n))
//! ```
//!
//! - For a free function they are associated functions of a hidden type named `f` (types
//!   and functions live in different namespaces), so `use m::f;` and `m::f(..)` bring them
//!   along, across crates too. For a method they are sibling methods
//!   `self.f__forward_derivative(..)` and `self.f__reverse_derivative(..)`.
//! - `d_i` is the tangent of argument `i`: a value of a scalar parameter's type, a slice for
//!   a slice or `&Vec` parameter, an array for an array parameter, a tensor for a tensor
//!   parameter, or
//!   `autodiff::__private::NoTangent` where the caller has none (integer parameters take
//!   anything and ignore it). The traits `ScalarTangent`, `SliceTangent`, `ArrayTangent`
//!   and `TensorTangent` accept each form.
//! - `g_i` is the gradient of argument `i` with `seed` as the output's cotangent: the
//!   parameter's gradient type (`Vec<T>` for a slice), or `()` for an integer or `bool`
//!   parameter.
//!
//! A caller's forward mode calls `forward_derivative` where an argument carries a tangent;
//! its reverse mode calls `reverse_derivative` at the call's place in the adjoint sweep and
//! adds each `g_i` to its argument's adjoint. A call whose arguments carry no derivative is
//! emitted as written, so helpers on integers need nothing. Where `R` is a tuple of floats,
//! the caller destructures it (`let (a, b) = f(x);`); its forward mode reads each output's
//! tangent from the tangent tuple, and its reverse mode passes the tuple of the outputs'
//! adjoints as `seed` (zero for an output nothing used).
//!
//! The caller reaches them through `{ use f as ALIAS; ALIAS::reverse_derivative }`, where
//! `ALIAS` is `f__has_no_derivative__annotate_it_with_differentiate_or_custom_derivative`:
//! `use` brings the hidden type along with the function, and where there is none, rustc's
//! error at the call names the fix ("function `f__has_no_derivative__annotate_it_with_
//! differentiate_or_custom_derivative` is not a crate or module"): give `f`
//! `#[differentiate]`, or `#[custom_derivative]` with derivatives written by hand. (A proc
//! macro cannot name a plain function's item type, so a trait bound with
//! `#[diagnostic::on_unimplemented]` cannot carry the sentence instead.)
#![forbid(unsafe_code)]

use proc_macro::TokenStream;

/// Writes forward (JVP) and reverse (VJP, gradient) derivative functions next to a function.
///
/// The complete reference (options, generated signatures, supported language, limitations)
/// is on its re-export, `autodiff::differentiate`, where its examples run as doctests.
#[proc_macro_attribute]
pub fn differentiate(attr: TokenStream, item: TokenStream) -> TokenStream {
    autodiff_expand::differentiate(attr.into(), item.into()).into()
}

/// Makes a struct whose fields are parameter collections a collection itself
/// (`impl Params<T>`): its leaves are its fields' leaves, in declaration order, so optimizers
/// and clipping accept it and its gradient has the struct's type.
///
/// Works on structs with named fields, tuple structs and unit structs, generic or not; an enum
/// or union is an error. Fields that hold no parameters are skipped (and cloned by
/// `zeros_like`): integers, `bool`, `char`, `String`, `PhantomData` and collections of them by
/// type, any other field marked `#[params(skip)]`. See `autodiff::Params` for the trait.
#[proc_macro_derive(Params, attributes(params))]
pub fn derive_params(item: TokenStream) -> TokenStream {
    autodiff_expand::derive_params::derive_params(item.into()).into()
}

/// Gives a function hand-written derivatives, so `#[differentiate]` functions can call it:
/// `#[custom_derivative(forward = f_fwd, reverse = f_rev)]`.
///
/// With `F` the function's float parameters (scalars, slices, arrays) in order,
/// `f_fwd(params.., tangents of F..) -> (R, R)` returns the value and the directional
/// derivative (as `f_jvp` would), and `f_rev(params.., seed: R) -> (R, (gradients of F,))`
/// the value and the gradients (as `f_vjp` with a `wrt` list would). See the README.
#[proc_macro_attribute]
pub fn custom_derivative(attr: TokenStream, item: TokenStream) -> TokenStream {
    autodiff_expand::custom_derivative(attr.into(), item.into()).into()
}
