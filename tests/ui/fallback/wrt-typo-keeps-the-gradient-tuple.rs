// The mistake is in `wrt` (`yy` for `y`), so the gradient's type cannot be computed; the
// stand-in keeps the slot, with the return type, so the caller destructuring two gradients
// adds no error of its own.
use autodiff::prelude::*;

#[differentiate(wrt = [x, yy])]
fn f(x: f64, y: f64) -> f64 {
    x * y
}

fn caller() -> f64 {
    let (v, (gx, gy)) = f_grad(1.0, 2.0);
    v + gx + gy
}

fn main() {
    let _ = caller();
}
