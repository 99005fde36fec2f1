use autodiff::prelude::*;

fn double_all(z: &mut [f64]) {
    for v in z.iter_mut() {
        *v *= 2.0;
    }
}

// (A call given `&mut` of a differentiated value is the call of the callee's pure form, see
// `tests/ui/lower/mut-ref-argument.rs` for a callee without `#[differentiate]`.)
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
