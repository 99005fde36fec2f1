// Does not compile: passing `&z` with `z: [f64; 3]` to a `&[f64]` parameter of a
// differentiated call (Rust coerces it in the function; the generated `_jvp` needs
// `SliceTangent` for `&[f64; 3]`, which is not implemented). Switch: `array_to_slice_param`.
use autodiff::prelude::*;

#[differentiate]
pub fn g(v: &[f64]) -> f64 {
    v[0] * v[1]
}

#[differentiate]
pub fn f(x: f64) -> f64 {
    let z = [x, x * x, 1.0];
    g(&z)
}
