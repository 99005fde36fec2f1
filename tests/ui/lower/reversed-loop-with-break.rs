use autodiff::prelude::*;

#[differentiate(wrt = x)]
fn f(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in (0..x.len()).rev() {
        if s > 3.0 {
            break;
        }
        s += x[i] * x[i];
    }
    s
}

fn main() {}
