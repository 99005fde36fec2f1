use autodiff::prelude::*;

// A closure bound in the body is inlined where it is called; passed by name it is an error.
#[differentiate(wrt = x)]
fn f(x: &[f64], w: f64) -> f64 {
    let act = |z: &f64| z.tanh() * w;
    x.iter().map(act).sum()
}

fn main() {}
