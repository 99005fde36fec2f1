// `f` cannot be differentiated (one error, at `rem_euclid`); its callers, plain and
// differentiated, compile against stand-ins with the working expansion's signatures: no
// "takes 3 arguments but 4 were supplied", no "type annotations needed".
use autodiff::prelude::*;

#[differentiate(wrt = [x, y])]
fn f(x: &[f64], y: f64, n: usize) -> f64 {
    x[0].rem_euclid(2.0) + y * n as f64
}

#[differentiate(wrt = [x, y])]
fn g(x: &[f64], y: f64) -> f64 {
    f(x, y, 3) * y
}

fn caller() -> f64 {
    let x = [1.0, 2.0];
    let (v, (gx, gy)) = f_grad(&x, 2.0, 3);
    let (w, (sx, sy)) = f_vjp(&x, 2.0, 3, 1.0);
    let (u, t) = f_jvp(&x, 2.0, 3, &[1.0, 0.0], 0.0);
    let (z, (hx, hy)) = g_grad(&x, 2.0);
    v + gx[0] + gy + w + sx[1] + sy + u + t + z + hx[0] + hy
}

fn main() {
    let _ = caller();
}
