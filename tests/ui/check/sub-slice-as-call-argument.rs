use autodiff::prelude::*;

#[differentiate(wrt = x)]
fn head(x: &[f64]) -> f64 {
    x[0] * x[0]
}

#[differentiate(wrt = x)]
fn f(x: &[f64]) -> f64 {
    head(&x[1..])
}

fn main() {}
