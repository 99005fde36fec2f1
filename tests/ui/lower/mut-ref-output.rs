use autodiff::prelude::*;

#[differentiate(wrt = x)]
fn f(x: f64, out: &mut f64) -> f64 {
    x * x
}

fn main() {}
