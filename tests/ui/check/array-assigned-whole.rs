use autodiff::prelude::*;

// A whole array written over: assign its elements, or bind a new array with `let`.
#[differentiate(wrt = x)]
fn f(x: &[f64]) -> f64 {
    let n = x.len();
    let mut c = vec![0.0; n];
    let mut total = 0.0;
    for i in 0..n {
        c[i] = x[i] * x[i];
        total += c[0];
        c = vec![0.0; n];
    }
    total
}

fn main() {}
