use autodiff::prelude::*;

fn double_all(z: &mut [f64]) {
    for v in z.iter_mut() {
        *v *= 2.0;
    }
}

// A call given `&mut` of a differentiated value changes it with no derivative: an error at
// the call, not a gradient that ignores the change.
#[differentiate(wrt = x)]
fn f(x: &[f64]) -> f64 {
    let mut z = x.to_vec();
    double_all(&mut z);
    z[0] * z[1]
}

#[differentiate(wrt = x)]
fn g(x: f64) -> f64 {
    let mut a = x;
    let mut b = 2.0 * x;
    std::mem::swap(&mut a, &mut b);
    a * 3.0 + b
}

// A `&mut` borrow bound to a name: writes through it would change `z` unseen.
#[differentiate(wrt = x)]
fn h(x: &[f64]) -> f64 {
    let mut z = x.to_vec();
    let r = &mut z;
    r[0] = x[1] * 5.0;
    z[0]
}

// On values without a derivative, a call through `&mut` is fine.
#[differentiate(wrt = x)]
fn k(x: &[f64], w: &[f64]) -> f64 {
    let mut scaled = w.to_vec();
    double_all(&mut scaled);
    x[0] * scaled[0]
}

fn main() {}
