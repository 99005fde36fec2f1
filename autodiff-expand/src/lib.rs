//! The compiler behind `#[differentiate]`.
use proc_macro2::TokenStream;

/// Expands `#[differentiate(attr)] item`.
pub fn differentiate(_attr: TokenStream, item: TokenStream) -> TokenStream {
    item
}
