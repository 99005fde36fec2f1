use autodiff::prelude::*;

#[differentiate(wrt = x, stop = [z])]
fn f(x: f64) -> f64 {
    x * x
}

fn main() {}
