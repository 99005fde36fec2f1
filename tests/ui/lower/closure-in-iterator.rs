use autodiff::prelude::*;

#[differentiate(wrt = x)]
fn f(x: &[f64]) -> f64 {
    x.iter().map(|v| v * v).product()
}

fn main() {}
