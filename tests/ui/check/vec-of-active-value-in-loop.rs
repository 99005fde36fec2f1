use autodiff::prelude::*;

// `vec![v; n]` with a value computed in the loop: its elements would carry no derivative
// (`[v; 3]`, with a literal length, is differentiated).
#[differentiate(wrt = x)]
fn f(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        let y = vec![x[i] * 2.0; x.len()];
        s += y[0] * y[1];
    }
    s
}

fn main() {}
