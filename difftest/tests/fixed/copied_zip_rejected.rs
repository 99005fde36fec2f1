// Was rejected ("loop over a range .. or over an array .."; for a sum "the iterator method
// `sum` .. has no derivative rule"), although the README says `.copied()` / `.cloned()` go
// anywhere in these iterations: `.copied()` on the iterators inside `zip`. Fixed: `zip`'s
// argument is taken through `.copied()` / `.cloned()`. Switch: `copied_in_zip`, on in
// `Config::ci`. Regression test: tests/regressions_fuzz.rs, `copied_in_zip`.
use autodiff::prelude::*;

#[differentiate]
pub fn f<T: Float>(x: T, xs: &[T]) -> T {
    let mut s = x;
    for (u, v) in xs.iter().copied().zip(xs.iter().copied()) {
        s = s + v * u;
    }
    s
}

#[differentiate]
pub fn g<T: Float + std::iter::Sum>(x: T, xs: &[T]) -> T {
    xs.iter().copied().zip(xs.iter().copied()).map(|(a, b)| a * b * x).sum::<T>()
}
