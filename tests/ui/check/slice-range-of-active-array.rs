use autodiff::prelude::*;

#[differentiate(wrt = v)]
fn sumsq(v: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..v.len() {
        s += v[i] * v[i];
    }
    s
}

// `x[1..]` is a slice, not an element: an error where it is differentiated, not a read of
// one element.
#[differentiate(wrt = x)]
fn f(x: &[f64]) -> f64 {
    sumsq(&x[1..]) + x[0]
}

fn main() {}
