// Was rejected: "an array written inside a loop or branch must be created outside it" for a
// mutable array literal created at the top level after an early `return` (difftest --seed
// 2026, program 342, shrunk): the rest of the body is lowered inside the block that runs when
// nothing returned. Fixed: a mutable array literal of floats in a block is an array of zeros
// created before the enclosing top-level statement and filled where the literal was
// (`Lower::hoist_literal`). Regression test against dual numbers: tests/regressions_fuzz.rs,
// `literal_after_return`.
use autodiff::prelude::*;

#[differentiate]
pub fn f2(x2: f64, x1: f64, x0: f64, xs: &[f64]) -> f64 {
    if x2 < xs[1] {
        return x1;
    }
    let mut z56 = [0.5, x2, x0];
    for v57 in xs.iter().copied().rev() {
        z56[1] = z56[1] * v57;
    }
    x1 * z56[1]
}
