use autodiff::prelude::*;

#[differentiate(wrt = x)]
fn f(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for v in x.iter().step_by(2) {
        s += v;
    }
    s
}

fn main() {}
