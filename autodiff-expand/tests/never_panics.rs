//! The macro's entry point returns errors, never panics, whatever tokens it is given: random
//! token soup, and every truncation of valid functions (what a user has mid-typing).
use proc_macro2::TokenStream;
use proptest::prelude::*;

const VOCABULARY: &[&str] = &[
    "fn",
    "f",
    "x",
    "y",
    "(",
    ")",
    "{",
    "}",
    "[",
    "]",
    "->",
    "f64",
    "T",
    "<",
    ">",
    ":",
    ";",
    ",",
    "let",
    "mut",
    "=",
    "+",
    "-",
    "*",
    "/",
    "+=",
    ".",
    "sin",
    "powi",
    "2",
    "2.0",
    "return",
    "wrt",
    "stop",
    "unconnected",
    "none",
    "zero",
    "if",
    "else",
    "for",
    "in",
    "..",
    "&",
    "'a",
    "async",
    "unsafe",
    "self",
    "stop_gradient",
    "!",
    "println",
    "\"s\"",
    "as",
    "::",
    "#",
    "impl",
    "where",
    "Float",
    "?",
    "vec",
    "0.0",
    "g",
    "Vec",
];

/// Tokenizes what can be tokenized; unbalanced delimiters are dropped by the lexer's error.
fn tokens(words: &[usize]) -> Option<TokenStream> {
    let text: Vec<&str> = words
        .iter()
        .map(|&i| VOCABULARY[i % VOCABULARY.len()])
        .collect();
    text.join(" ").parse().ok()
}

const VALID: &[(&str, &str)] = &[
    ("wrt = [x, y], stop = [b]", "fn f(x: f64, y: f64) -> f64 { let b = 2.0 * x; let c = (x * y).sin(); b + c.powi(2) }"),
    ("", "pub fn g<T: Float>(x: T, y: T) -> (T, T) where T: Copy { let mut s = x; s += y; (s.exp(), x.max(y)) }"),
    ("wrt = a, unconnected = none", "fn h(a: f64, n: usize) -> f64 { println!(\"{}\", n); { let t = a * a; t } }"),
    ("wrt = [x, y]", "fn s(x: &[f64], y: &[f64]) -> f64 { let d: f64 = x.iter().zip(y.iter()).map(|(a, b): (&f64, &f64)| a * b).sum(); let mut t = 0.0; for (i, v) in x.iter().enumerate().rev() { t += v * i as f64; } d + x.iter().map(|&v| v.exp()).sum::<f64>() + t + x.iter().cloned().fold(f64::INFINITY, f64::min) * y.iter().product::<f64>() }"),
    ("wrt = x", "fn k(x: &[f64], d: usize) -> f64 { let mut s = 0.0; for p in 0..d { let mut z = vec![0.0; d]; z[p] = x[p].exp(); let (a, b) = g(z[p], s); let w: Vec<f64> = q(&z); s += a * b + w[0]; } if s > 0.0 { let mut t = [1.0; 2]; t[0] *= s; t[0] } else { s } }"),
    // Issue 15's forms: match and if let, closures, tuple-valued branches, deferred
    // initialisation, array patterns, iterator chains.
    ("wrt = x", "fn m(x: &[f64], w: f64, k: Option<usize>, n: u8) -> f64 { let act = |z: f64| z.tanh() * w; let act = |z: f64| act(z) + z; let y = match n { 0 => act(w), 1 | 2 if w > 0.0 => w * 2.0, _ => { let q = w.sin(); q * q } }; let x0: f64; if let Some(j) = k { x0 = y * j as f64; } else { x0 = y; } let (a, b) = if n == 0 { (x0, w) } else { (w, x0) }; let s = [a, b]; let [c, d] = s; let mut t = 0.0; for v in x.iter().filter(|v| **v > 0.0) { t += v * c; } for i in (0..x.len()).step_by(2).skip(1) { t += x[i] * d; } let hi = x.iter().cloned().max_by(|p, q| p.partial_cmp(q).unwrap()).unwrap(); let z: Vec<f64> = x.iter().map(|v| v * hi).collect(); let u: f64 = x.iter().zip(z.iter()).zip(x.iter()).map(|((p, q), r)| p * q * r).sum(); t + u + z[0] + w.clamp(0.0, 1.0) }"),
];

fn expand(attr: TokenStream, item: TokenStream) {
    // Panics would abort the test with the offending input in proptest's report.
    let _ = autodiff_expand::differentiate(attr, item);
}

#[test]
fn every_truncation_of_valid_functions_is_handled() {
    for (attr, item) in VALID {
        let attr: TokenStream = attr.parse().unwrap();
        let full: Vec<proc_macro2::TokenTree> =
            item.parse::<TokenStream>().unwrap().into_iter().collect();
        for cut in 0..=full.len() {
            expand(attr.clone(), full[..cut].iter().cloned().collect());
        }
        let out = autodiff_expand::differentiate(attr.clone(), item.parse().unwrap()).to_string();
        assert!(
            !out.contains("compile_error"),
            "valid input must expand cleanly: {out}"
        );
    }
}

#[test]
fn truncated_attributes_are_errors() {
    let item: TokenStream = VALID[0].1.parse().unwrap();
    let attr: Vec<proc_macro2::TokenTree> = "wrt = [x, y], stop = [b], unconnected = none"
        .parse::<TokenStream>()
        .unwrap()
        .into_iter()
        .collect();
    for cut in 0..attr.len() {
        // A cut right after a complete option (or a trailing comma) is valid; any other is
        // an error. Either way the user's function is still there.
        let out =
            autodiff_expand::differentiate(attr[..cut].iter().cloned().collect(), item.clone())
                .to_string();
        let complete = matches!(cut, 0 | 3 | 4 | 7 | 8);
        assert_eq!(!out.contains("compile_error"), complete, "cut {cut}: {out}");
        assert!(
            out.contains("fn f"),
            "cut {cut}: the user's function must survive"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn random_tokens_never_panic(attr in prop::collection::vec(any::<usize>(), 0..8), item in prop::collection::vec(any::<usize>(), 0..40)) {
        if let (Some(attr), Some(item)) = (tokens(&attr), tokens(&item)) {
            expand(attr, item);
        }
    }

    #[test]
    fn random_function_bodies_never_panic(body in prop::collection::vec(any::<usize>(), 0..30)) {
        let words: Vec<&str> = body.iter().map(|&i| VOCABULARY[i % VOCABULARY.len()]).collect();
        let item = format!("fn f(x: f64, y: f64) -> f64 {{ {} }}", words.join(" "));
        if let Ok(item) = item.parse::<TokenStream>() {
            expand("wrt = [x, y]".parse().unwrap(), item);
        }
    }
}
