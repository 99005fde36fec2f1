//! Prints the code `#[differentiate]` writes for a few functions, pretty-printed.
//!
//! ```text
//! cargo run --example generated
//! ```
//! To see the expansion of your own function, call `autodiff_expand::differentiate` the same
//! way (see `print` below), or run `cargo expand` (the cargo-expand tool) on your crate.

fn print(title: &str, attr: &str, function: &str) {
    let attr: proc_macro2::TokenStream = attr.parse().expect("attribute tokens");
    let item: proc_macro2::TokenStream = function.parse().expect("function tokens");
    let tokens = autodiff_expand::differentiate(attr, item);
    let file: syn::File = syn::parse2(tokens).expect("the macro emits valid items");
    println!("// ===== {title} =====");
    println!("{}", prettyplease::unparse(&file));
}

fn main() {
    print(
        "straight-line code: SSA adjoints, no allocation, primal values reused",
        "wrt = [x, y]",
        "fn polar(x: f64, y: f64) -> f64 {
            let r = (x * x + y * y).sqrt();
            let t = y.atan2(x);
            r.ln() * t.cos() + x.tanh() * y.sinh()
        }",
    );
    print(
        "a loop over a read-only slice: nothing saved, values recomputed in the reverse loop",
        "wrt = x",
        "fn rosen(x: &[f64]) -> f64 {
            let mut s = 0.0;
            for i in 0..x.len() - 1 {
                let a = x[i + 1] - x[i] * x[i];
                let b = 1.0 - x[i];
                s += 100.0 * a * a + b * b;
            }
            s
        }",
    );
    print(
        "a loop that overwrites what the adjoint needs: one saved float per iteration",
        "wrt = [x0, r]",
        "fn logistic(x0: f64, r: f64) -> f64 {
            let mut x = x0;
            for _ in 0..40 {
                x = r * x * (1.0 - x);
            }
            x
        }",
    );
    print(
        "TensorFlow's stop_gradients example: b = 2a, y = a + b",
        "wrt = [a, b], stop = [b]",
        "fn tf_example(a: f64) -> f64 {
            let b = 2.0 * a;
            a + b
        }",
    );
    print(
        "a generic function with two outputs",
        "",
        "fn outputs<T: Float>(x: T, y: T) -> (T, T) {
            let s = x.exp() * y;
            (s.sqrt(), x.max(y))
        }",
    );
}
