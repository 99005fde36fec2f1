use autodiff::prelude::*;

#[differentiate(wrt = x)]
struct S {
    x: f64,
}

fn main() {}
