// Did not compile (fixed; the switch `generic` is on in `Config::ci`): in a generic function, `f_grad` starts an adjoint at the literal `1.0`
// (`let mut adj_x = 1.0;`), which is not a `T` ("expected type parameter `T`, found
// floating-point number", "cannot add `T` to `{float}`"). Most generated generic programs hit
// it. Switch: `generic` (the corpus gives the macro the functions at `f64`).
use autodiff::prelude::*;

#[differentiate]
pub fn f<T: Float>(x: T, y: T) -> T {
    let mut a = y;
    if x < y {
        a = a * x;
    }
    a + x
}
