//! Prints what `#[differentiate]` generates for a function given on stdin, with the attribute
//! arguments as the first argument (a profiling aid: pipe the output through rustfmt).
//!
//! ```text
//! echo 'fn f(x: &[f64]) -> f64 { .. }' |
//!     cargo run --manifest-path benches/Cargo.toml --bin show_generated -- 'wrt = x'
//! ```

use std::io::Read as _;

fn main() {
    let attr = std::env::args().nth(1).unwrap_or_default();
    let mut item = String::new();
    std::io::stdin()
        .read_to_string(&mut item)
        .expect("the function on stdin");
    let attr: proc_macro2::TokenStream = attr.parse().expect("attribute tokens");
    let item: proc_macro2::TokenStream = item.parse().expect("function tokens");
    println!("{}", autodiff_expand::differentiate(attr, item));
}
