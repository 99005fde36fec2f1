//! Inputs for the compile-time bench: straight-line functions of n statements, and token
//! counts of what `#[differentiate]` makes of them.

use proc_macro2::{TokenStream, TokenTree};

/// The attribute the compile-time bench expands with.
pub const ATTR: &str = "wrt = [x, y]";

/// `fn chain(x: f64, y: f64) -> f64` with `n` statements `let v_i = (v_{i-1} * x + y).sin();`.
pub fn chain_source(n: usize) -> String {
    let mut s =
        String::from("fn chain(x: f64, y: f64) -> f64 {\n    let v0 = (x * x + y).sin();\n");
    for i in 1..n {
        s.push_str(&format!("    let v{i} = (v{} * x + y).sin();\n", i - 1));
    }
    s.push_str(&format!("    v{}\n}}\n", n - 1));
    s
}

/// The attribute and item token streams of [`chain_source`].
pub fn chain_tokens(n: usize) -> (TokenStream, TokenStream) {
    let attr = ATTR.parse().expect("attribute tokens");
    let item = chain_source(n).parse().expect("function tokens");
    (attr, item)
}

/// Number of tokens, counting each delimited group as one token plus its contents.
pub fn count_tokens(tokens: &TokenStream) -> usize {
    tokens
        .clone()
        .into_iter()
        .map(|t| match t {
            TokenTree::Group(g) => 1 + count_tokens(&g.stream()),
            _ => 1,
        })
        .sum()
}

/// `(input tokens, generated tokens)` for a chain of `n` statements.
pub fn token_counts(n: usize) -> (usize, usize) {
    let (attr, item) = chain_tokens(n);
    let input = count_tokens(&item);
    let output = autodiff_expand::differentiate(attr, item);
    (input, count_tokens(&output))
}

/// The statement counts the bench and the report use.
pub const SIZES: [usize; 3] = [10, 100, 1000];
