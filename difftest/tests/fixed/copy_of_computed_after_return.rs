// Was rejected: "an array written inside a loop or branch must be created outside it" for a
// copy `z.to_vec()` made after an early `return` of an array `z` computed after the return: a
// call's array result, or a literal whose elements are computed there (difftest --seed 5151,
// programs 2278 and 3874, shrunk by hand; 5 of 13,800 programs of seeds 4242, 5151, 6161).
// Fixed: a copy whose source is computed in the block, with a length known from its creation
// (a literal, a `[T; N]` annotation), is created as N zeros before the top-level statement and
// filled from the source where it was (`Lower::hoist_copy`, `static_len`). Regression test
// against dual numbers: tests/regressions_fuzz.rs, `a_copy_of_an_array_computed_after_an_early_return`.
use autodiff::prelude::*;

#[differentiate]
pub fn three<T: Float>(x: T) -> [T; 3] {
    [x, x * x, x]
}

#[differentiate]
pub fn f0<T: Float>(x0: T, xa: [T; 3]) -> T {
    if xa[0] < x0 {
        return x0;
    }
    let z9 = [x0, x0, xa[0] * x0];
    let z78: [T; 3] = three(x0);
    let mut c = z9.to_vec();
    let mut d = z78.to_vec();
    c[1] = c[1] + d[0];
    d[1] = d[1] * c[2];
    c[1] * d[1]
}
