// Was rejected: "an array written inside a loop or branch must be created outside it" for a
// copy `z.to_vec()` made after an early `return` of an array `z` created after the return
// and never written (difftest --seed 4242, program 3873, shrunk). Fixed: such a source, an
// array constant reading only what exists before the `if` or a copy of such an array, is
// created before the `if` too (`Lower::hoist_constant_source`). Regression test against dual
// numbers: tests/regressions_fuzz.rs, `copy_of_constant_after_return`. A source computed
// after the return stays open: difftest/findings/copy_of_computed_after_return.rs.
use autodiff::prelude::*;

#[differentiate]
pub fn f0<T: Float>(x0: T, xs: &[T]) -> T {
    if xs[1] < xs[2] {
        return x0;
    }
    let z3 = xs.to_vec();
    let mut z10 = z3.to_vec();
    z10[2] = z10[2] - x0;
    z10[2] * x0
}
