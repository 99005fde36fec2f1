// Rejected: "a reversed loop with `break` is not supported; loop forward over the reversed
// index", a limitation the README does not list (it lists `break` and `.rev()` loops), also
// when the `break` belongs to a `while`/`loop` nested in the reversed loop. Switch:
// `break_in_reversed_loop`.
use autodiff::prelude::*;

#[differentiate]
pub fn f(x: f64, xs: &[f64]) -> f64 {
    let mut s = x;
    for i in (0..3).rev() {
        if xs[i] < 0.0 {
            break;
        }
        s = s * xs[i];
    }
    s
}
