use autodiff::prelude::*;

#[differentiate(wrt = x)]
fn f(x: f64) {
    let _ = x * x;
}

fn main() {}
