use autodiff::prelude::*;

// A tuple-valued `if` is destructured when each branch ends in a tuple written in place.
#[differentiate(wrt = x)]
fn f(x: f64, flip: bool, pair: (f64, f64)) -> f64 {
    let (a, b) = if flip { (x, 2.0) } else { pair };
    a * b
}

fn main() {}
