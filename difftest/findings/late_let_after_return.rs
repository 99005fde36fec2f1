// Does not compile: "cannot find value `a96` in this scope" in the generated code (difftest
// --seed 31337, program 2346, shrunk): a `let mut` declared after an early `return`,
// assigned a constant and then an `if` expression in a `zip` loop. A simpler shape (assigned
// in an `iter` loop after an early return) works. Not yet isolated into a generator switch.
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
