use autodiff::prelude::*;

#[differentiate(wrt = [x, h])]
fn f(x: f64) -> (f64, f64) {
    let h = x * 2.0;
    (h, h * x)
}

fn main() {}
