//! The compiler behind `#[differentiate]`.
pub mod derive_params;
use proc_macro2::TokenStream;

/// Expands `#[differentiate(attr)] item`.
pub fn differentiate(_attr: TokenStream, item: TokenStream) -> TokenStream {
    item
}
