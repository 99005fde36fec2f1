use autodiff::prelude::*;

#[differentiate(wrt = x)]
fn squares(x: &[f64]) -> Vec<f64> {
    let mut y = vec![0.0; x.len()];
    for i in 0..x.len() {
        y[i] = x[i] * x[i];
    }
    y
}

#[differentiate(wrt = x)]
fn f(x: &[f64]) -> f64 {
    let y = squares(x);
    y[0] + y[1]
}

fn main() {}
