use autodiff::prelude::*;

// The arm's `v` is `x` itself, but a pattern's bindings are passive: one error at `v`.
#[differentiate(wrt = x)]
fn f(x: f64, y: f64) -> f64 {
    match x {
        v if v > 0.0 => v * y,
        _ => y,
    }
}

fn main() {}
