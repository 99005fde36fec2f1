use autodiff::prelude::*;

#[differentiate(wrt = [x, nope])]
fn f(x: f64) -> f64 {
    x * x
}

fn caller() -> f64 {
    let (v, g) = f_grad(1.0);
    v + g.0
}

fn main() {}
