use autodiff::prelude::*;

#[differentiate(wrt = x)]
fn f(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        let mut tmp = [0.0; 2];
        tmp[0] = x[i];
        s += tmp[0];
    }
    s
}

fn main() {}
