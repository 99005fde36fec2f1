use autodiff::prelude::*;

#[differentiate(wrt = x)]
fn f(x: &[f64]) -> f64 {
    x.iter().fold(0.0, |acc, v| acc + v * v)
}

fn main() {}
