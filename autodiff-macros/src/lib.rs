//! Procedural macros of autodiff-rs. Use them through the `autodiff-rs` facade
//! (`use autodiff::prelude::*;`); the compiler itself lives in `autodiff-expand`.
#![forbid(unsafe_code)]

use proc_macro::TokenStream;

/// Writes forward (JVP) and reverse (VJP, gradient) derivative functions next to a function.
///
/// See the `autodiff-rs` crate documentation and README for the attribute's options
/// (`wrt`, `stop`, `unconnected`) and the generated `f_grad`, `f_vjp` and `f_jvp`.
#[proc_macro_attribute]
pub fn differentiate(attr: TokenStream, item: TokenStream) -> TokenStream {
    autodiff_expand::differentiate(attr.into(), item.into()).into()
}

/// Makes a struct whose fields are parameter collections a collection itself
/// (`impl Params<T>`): its leaves are its fields' leaves, in declaration order, so optimizers
/// and clipping accept it and its gradient has the struct's type.
///
/// Works on structs with named fields, tuple structs and unit structs, generic or not; an enum
/// or union is an error. See `autodiff::Params` for the trait.
#[proc_macro_derive(Params)]
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
