// Rejected: "an array written inside a loop or branch must be created outside it" for a
// mutable array literal created at the top level after an early `return` (difftest --seed
// 2026, program 342, shrunk). The rest of the body is lowered inside the block that runs
// when nothing returned, and the adjoint of an array created and written in a block needs an
// accumulator there, which today starts from a scalar zero (`[T; 3]` cannot be inferred):
// the creation would have to move before the block, as `vec![v; n]` in a loop does. Not yet
// a generator switch of its own (the corpus excludes the programs that hit it).
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
