use autodiff::prelude::*;

fn helper(t: f64) -> f64 {
    t * 3.0
}

#[differentiate(wrt = x)]
fn f(x: f64) -> f64 {
    helper(x) + 1.0
}

fn main() {}
