use autodiff::prelude::*;

#[differentiate(wrt = x)]
fn f(x: f64, flip: bool) -> f64 {
    let (a, b) = if flip { (x, 2.0) } else { (2.0, x) };
    a * b
}

fn main() {}
