// Does not compile: "cannot find value `__autodiff_unbound_4` in this scope": a branch
// (empty here, shrunk) whose condition reads an array created with `vec![c; n]` that the
// function never writes, then the array is read again. (difftest --seed 1, program 39; the
// same error came from five of the first hundred programs of seed 1)
use autodiff::prelude::*;

#[differentiate]
pub fn f1(x0: f64) -> f64 {
    let mut z13 = vec![(-0.52); 3];
    let a19 = z13[1];
    if (-a19) < f64::atanh((0.9 * z13[0].tanh())).asinh() {}
    let a24 = z13[1].tan();
    z13[1]
}
