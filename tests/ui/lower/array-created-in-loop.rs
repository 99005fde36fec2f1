use autodiff::prelude::*;

// An array created in a loop is moved before it when its length and value are known there;
// this one's length changes from one iteration to the next.
#[differentiate(wrt = x)]
fn f(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        let mut tmp = vec![0.0; i + 1];
        tmp[i] = x[i];
        s += tmp[i];
    }
    s
}

fn main() {}
