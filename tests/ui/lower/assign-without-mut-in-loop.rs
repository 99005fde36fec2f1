use autodiff::prelude::*;

#[differentiate(wrt = x)]
fn f(x: &[f64]) -> f64 {
    let s = 0.0;
    for v in x.iter() {
        s = s + v;
    }
    s
}

fn main() {}
