use autodiff::prelude::*;

#[differentiate(wrt = 1.0)]
fn f(x: f64) -> f64 {
    x * x
}

fn main() {}
