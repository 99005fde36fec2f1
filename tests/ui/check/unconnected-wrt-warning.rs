// The compile-time warning for a `wrt` entry nothing connects to the output, made an error.
#![deny(deprecated)]
use autodiff::prelude::*;

#[differentiate(wrt = [x, unused])]
fn f(x: f64, unused: f64) -> f64 {
    let _ignored = unused * 2.0;
    x * x
}

fn main() {
    let _ = f_grad(1.0, 2.0);
}
