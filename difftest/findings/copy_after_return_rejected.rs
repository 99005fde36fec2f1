// Rejected: "an array written inside a loop or branch must be created outside it" for a copy
// `z.to_vec()` made after an early `return` of an array `z` that is itself created after the
// return and not written (difftest --seed 4242, programs 1030, 2757, 3062 and 3873 of 3,900,
// shrunk; 3873 here). The rest of the body after an early return is lowered as a block, and
// a written array created in a block is hoisted before the enclosing top-level statement; the
// copy can be hoisted only when its source exists there (a parameter, an array made before
// the `if`, or a creation that is hoisted itself, fixed in 372859b), and this source is not:
// it is made in the block and, not being written, stays there (a call's array result is the
// same case). Rejected, never wrong. The fix that covers the class is to lower the rest of a
// body after an early return at the level of the statements before it (an array created
// there then needs no hoisting), or to give arrays created in a branch a saved end state
// for their reversal. Not a generator switch of its own (about 0.1 % of programs).
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
