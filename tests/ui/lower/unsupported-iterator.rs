use autodiff::prelude::*;

#[differentiate(wrt = x)]
fn f(x: &[f64], y: &[f64]) -> f64 {
    let mut s = 0.0;
    for v in x.iter().chain(y.iter()) {
        s += v * v;
    }
    s
}

fn main() {}
