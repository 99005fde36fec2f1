use autodiff::prelude::*;

fn split(x: &[f64]) -> (Vec<f64>, f64) {
    (x[1..].to_vec(), x[0])
}

#[differentiate(wrt = x)]
fn f(x: &[f64]) -> f64 {
    let (a, b): (Vec<f64>, f64) = split(x);
    a[0] * b
}

fn main() {}
