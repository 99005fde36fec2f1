use autodiff::prelude::*;

#[differentiate(wrt = x)]
fn f(x: &[f64]) -> f64 {
    x[1..].iter().sum()
}

fn main() {}
