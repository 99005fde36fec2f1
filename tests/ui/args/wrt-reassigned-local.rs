use autodiff::prelude::*;

#[differentiate(wrt = [x, y])]
fn f(x: f64) -> f64 {
    let mut y = x * 2.0;
    y = y * y;
    y
}

fn main() {}
