// Does not compile: "cannot find value `z3` in this scope" in the generated code: a
// `vec![c; n]` created in a loop, read into a `let`, and a branch (empty here, shrunk)
// whose condition compares a `stop_gradient` with that value. (difftest --seed 1, program 63)
use autodiff::prelude::*;

#[differentiate]
pub fn f0(x0: f64) -> f64 {
    let a1 = 0.5;
    for i2 in 0..3 {
        let mut z3 = vec![0.18; 3];
        let a4 = z3[0];
        if stop_gradient(((x0 * x0) + 0.5).powf((2.0 * a1.tanh()))) < a4 {}
    }
    0.5
}
