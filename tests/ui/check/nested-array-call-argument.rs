use autodiff::prelude::*;

#[differentiate(wrt = [a, x])]
fn quad(a: &[[f64; 2]; 2], x: &[f64; 2]) -> f64 {
    let mut s = 0.0;
    for i in 0..2 {
        for j in 0..2 {
            s += x[i] * a[i][j] * x[j];
        }
    }
    s
}

#[differentiate(wrt = [a, x])]
fn outer(a: &[[f64; 2]; 2], x: &[f64; 2]) -> f64 {
    quad(a, x).sin()
}

fn main() {}
