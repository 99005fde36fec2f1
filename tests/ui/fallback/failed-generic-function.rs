// A generic function over a tensor with `unconnected = none` that cannot be differentiated
// (one error, at `to_degrees`): `h_grad::<f64>` still returns `(T, (Option<Tensor<T>>,
// Option<T>))`, so the caller needs no type annotations.
use autodiff::prelude::*;

#[differentiate(wrt = [x, b], unconnected = none)]
fn h<T: Float>(x: &Tensor<T>, b: T) -> T {
    x.sum() + b.to_degrees()
}

fn caller() -> f64 {
    let x = Tensor::from_vec(vec![1.0, 2.0], &[2]);
    let (v, (gx, gb)) = h_grad::<f64>(&x, 1.0);
    let (_, t) = h_jvp(&x, 1.0, &x, 1.0);
    v + gx.unwrap().sum() + gb.unwrap() + t
}

fn main() {
    let _ = caller();
}
