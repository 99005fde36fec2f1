//! Size and expansion time of BENCHMARKS.md §5's straight-line functions: for `fn chain(x:
//! f64, y: f64) -> f64` of n statements `let v_i = (v_{i-1} * x + y).sin();` (wrt = [x, y]),
//! the input and generated token counts and the median wall time of `differentiate` over a
//! few runs. A measurement, not a test: run it in the build whose speed matters (a debug
//! build is what a user's `cargo build` runs the macro in).
//!
//! ```text
//! cargo run -p autodiff-expand --example expand_size            # 10, 100, 1000 statements
//! cargo run -p autodiff-expand --example expand_size -- 1000 2000
//! ```
use proc_macro2::{TokenStream, TokenTree};
use std::time::Instant;

/// The source of BENCHMARKS.md §5 (`benches/src/expand_gen.rs` writes the same).
fn chain_source(n: usize) -> String {
    let mut s =
        String::from("fn chain(x: f64, y: f64) -> f64 {\n    let v0 = (x * x + y).sin();\n");
    for i in 1..n {
        s.push_str(&format!("    let v{i} = (v{} * x + y).sin();\n", i - 1));
    }
    s.push_str(&format!("    v{}\n}}\n", n - 1));
    s
}

/// Each delimited group counts as one token plus its contents (as in BENCHMARKS.md §5).
fn count(tokens: &TokenStream) -> usize {
    tokens
        .clone()
        .into_iter()
        .map(|t| match t {
            TokenTree::Group(g) => 1 + count(&g.stream()),
            _ => 1,
        })
        .sum()
}

fn main() {
    let sizes: Vec<usize> = match std::env::args().skip(1).map(|a| a.parse()).collect() {
        Ok(v) if !Vec::<usize>::is_empty(&v) => v,
        Ok(_) => vec![10, 100, 1000],
        Err(e) => panic!("sizes are numbers of statements: {e}"),
    };
    println!(
        "| statements | input tokens | generated tokens | generated / input | expansion (median) |"
    );
    println!("|---|---|---|---|---|");
    for n in sizes {
        let attr: TokenStream = "wrt = [x, y]".parse().expect("attribute tokens");
        let item: TokenStream = chain_source(n).parse().expect("function tokens");
        let runs = if n >= 1000 { 3 } else { 9 };
        let mut times = Vec::new();
        let mut generated = 0;
        for _ in 0..runs {
            let (a, i) = (attr.clone(), item.clone());
            let start = Instant::now();
            let out = autodiff_expand::differentiate(a, i);
            times.push(start.elapsed());
            generated = count(&out);
        }
        times.sort();
        let input = count(&item);
        println!(
            "| {n} | {input} | {generated} | {:.2} | {:.2?} |",
            generated as f64 / input as f64,
            times[runs / 2]
        );
    }
}
