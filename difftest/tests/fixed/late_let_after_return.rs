// Did not compile: "cannot find value `a96` in this scope" in the generated code (difftest
// --seed 31337, program 2346, shrunk): a `let mut` declared after an early `return`,
// assigned in a loop whose body holds an inner reduction, so the loop is replayed in the
// adjoint sweep; the replay ran after the scope of the block that declared the location had
// ended. Fixed: the reversed block declares it again (`Rev::redeclared`). Regression test
// against dual numbers: tests/regressions_fuzz.rs, `replay_in_a_branch`.
use autodiff::prelude::*;

#[differentiate]
pub fn f2(x0: f64, xs: &[f64]) -> f64 {
    let z89 = [0.5, 0.5, 0.5];
    if xs.iter().copied().fold(((z89[2] * z89[2]) + 0.5).powf((2.0 * x0.tanh())), |acc94, c93| acc94.powi(2).tanh()) < x0 {
        return 0.5;
    }
    let mut a96 = 0.5;
    for (ru98, rv99) in xs.iter().zip(z89.iter()) {
        a96 = 0.5;
        a96 = (if x0 < ((a96 * z89[2]) + z89[1]) { xs.iter().copied().map(|c100| z89[2]).sum::<f64>().max((*ru98)) } else { ((a96 / ((xs[2] * xs[2]) + 0.5)) - ((*ru98) + z89[0])) });
    }
    a96
}
