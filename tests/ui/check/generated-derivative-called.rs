use autodiff::prelude::*;

#[differentiate(wrt = x)]
fn f(x: f64) -> f64 {
    x * x * x
}

#[differentiate(wrt = x)]
fn df(x: f64) -> f64 {
    let (_, g) = f_grad(x);
    g
}

fn main() {}
