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
