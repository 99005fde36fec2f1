// Rejected: "an array written inside a loop or branch must be created outside it" for a copy
// `z.to_vec()` made after an early `return` of an array `z` computed after the return: a
// call's array result, or a literal whose elements are computed there (difftest --seed 5151,
// programs 2278 and 3874, shrunk by hand). The rest of the body after an early return is
// lowered as a block, and a written array created in a block is hoisted before the enclosing
// top-level statement, which this copy's source does not exist before. Rejected, never
// wrong. The fix that covers the class is to lower the rest of a body after an early return
// at the level of the statements before it (an array created there then needs no hoisting).
// About 1 in 1,500 generated programs.
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
