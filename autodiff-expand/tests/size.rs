//! The generated code's size: tokens of `differentiate`'s expansion per token of the input,
//! on BENCHMARKS.md §5's straight-line functions. rustc compiles every generated token in
//! each user's crate, so this fails when the ratio goes above 12 (it was 26 while `f_grad`,
//! `f_vjp` and the calling convention each had a copy of the same body). Counts only: no
//! timing, deterministic.
use proc_macro2::{TokenStream, TokenTree};

/// `fn chain(x: f64, y: f64) -> f64` of `n` statements `let v_i = (v_{i-1} * x + y).sin();`
/// (`benches/src/expand_gen.rs` writes the same).
fn chain(n: usize) -> String {
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

fn ratio(attr: &str, source: &str) -> (usize, usize) {
    let item: TokenStream = source.parse().expect("function tokens");
    let input = count(&item);
    let out = autodiff_expand::differentiate(attr.parse().expect("attribute tokens"), item);
    let text = out.to_string();
    assert!(
        !text.contains("compile_error"),
        "the case expands without errors: {text}"
    );
    (input, count(&out))
}

#[test]
fn at_most_12_generated_tokens_per_input_token() {
    for n in [10, 100, 1000] {
        let (input, generated) = ratio("wrt = [x, y]", &chain(n));
        let per_token = generated as f64 / input as f64;
        assert!(
            per_token <= 12.0,
            "{n} statements: {generated} generated tokens for {input} ({per_token:.2} per token)"
        );
    }
}

/// The calls that replace the repeated bodies: `f_grad`, `f_vjp` and the convention's
/// `reverse_derivative` call one hidden `reverse_body`, `f_jvp` and `forward_derivative` one
/// `forward_body`, and each body is emitted once.
#[test]
fn one_reverse_body_and_one_forward_body() {
    let out =
        autodiff_expand::differentiate("wrt = [x, y]".parse().unwrap(), chain(3).parse().unwrap());
    let file: syn::File = syn::parse2(out).expect("the expansion parses");
    let mut bodies = Vec::new();
    let mut collect = |f: &syn::Signature, block: &syn::Block| {
        bodies.push((
            f.ident.to_string(),
            quote::ToTokens::to_token_stream(block).to_string(),
        ));
    };
    for item in &file.items {
        match item {
            syn::Item::Fn(f) => collect(&f.sig, &f.block),
            syn::Item::Impl(i) => {
                for item in &i.items {
                    if let syn::ImplItem::Fn(f) = item {
                        collect(&f.sig, &f.block);
                    }
                }
            }
            _ => {}
        }
    }
    let body = |name: &str| {
        let found = bodies.iter().find(|(n, _)| n == name);
        found
            .unwrap_or_else(|| panic!("`{name}` is generated"))
            .1
            .clone()
    };
    assert_eq!(
        body("chain_grad"),
        "{ chain :: reverse_body (x , y , 1.0) }"
    );
    assert_eq!(
        body("chain_vjp"),
        "{ chain :: reverse_body (x , y , seed) }"
    );
    assert_eq!(
        body("chain_jvp"),
        "{ chain :: forward_body (x , y , tangent_x , tangent_y) }"
    );
    assert_eq!(
        body("reverse_derivative"),
        "{ chain :: reverse_body (x , y , seed) }"
    );
    assert_eq!(
        body("forward_derivative"),
        "{ chain :: forward_body (x , y , tangent_argument_0 , tangent_argument_1) }"
    );
    // Only the two bodies compute `sin`'s derivative.
    let with_cos = bodies.iter().filter(|(_, b)| b.contains("cos")).count();
    assert_eq!(with_cos, 2, "{bodies:#?}");
}
