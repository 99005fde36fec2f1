use autodiff::prelude::*;

// The length is a variable the loop changes: the array cannot be created once before it.
#[differentiate(wrt = x)]
fn f(x: &[f64]) -> f64 {
    let mut s = 0.0;
    let mut m = 1;
    for i in 0..x.len() {
        m += 1;
        let mut tmp = vec![0.0; m];
        tmp[0] = x[i];
        s += tmp[0];
    }
    s
}

fn main() {}
