use autodiff::prelude::*;

#[differentiate(wrt = x, unconnected = nan)]
fn f(x: f64) -> f64 {
    x * x
}

fn main() {}
