use autodiff::prelude::*;

fn split_into(x: &[f64], a: &mut [f64], b: &mut [f64]) {
    for i in 0..x.len() {
        a[i] = x[i];
        b[i] = -x[i];
    }
}

// Two `&mut` outputs in one call: not differentiated (one per call is).
#[differentiate(wrt = x)]
fn f(x: &[f64]) -> f64 {
    let mut a = x.to_vec();
    let mut b = x.to_vec();
    split_into(x, &mut a, &mut b);
    a[0] * b[1]
}

fn main() {}
