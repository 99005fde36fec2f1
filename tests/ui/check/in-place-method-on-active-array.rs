use autodiff::prelude::*;

// `reverse` and `sort_by` change the array in place, and have no derivative: an error at
// each, not a gradient that ignores them. (`swap`, `fill` and `copy_from_slice` are
// differentiated.)
#[differentiate(wrt = x)]
fn f(x: &[f64]) -> f64 {
    let mut z = x.to_vec();
    z[0] = z[0] * 2.0;
    z.reverse();
    z[0] + z[1]
}

#[differentiate(wrt = x)]
fn g(x: &[f64]) -> f64 {
    let mut z = x.to_vec();
    z.sort_by(|a, b| a.total_cmp(b));
    z[0] * z[1]
}

// On an array that carries no derivative, the same methods are fine.
#[differentiate(wrt = x)]
fn h(x: &[f64], w: &[f64]) -> f64 {
    let mut order = w.to_vec();
    order.sort_by(|a, b| a.total_cmp(b));
    x[0] * order[0]
}

fn main() {}
