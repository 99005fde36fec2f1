use autodiff::prelude::*;

#[differentiate(with_respect_to = x)]
fn f(x: f64) -> f64 {
    x * x
}

fn main() {}
