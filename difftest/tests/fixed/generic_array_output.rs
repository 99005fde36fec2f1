// Does not compile: a generic function returning `[T; N]` ("expected type parameter `T`,
// found floating-point number" at the attribute). At `f64` array outputs work. Switch:
// `array_outputs`.
use autodiff::prelude::*;

#[differentiate]
pub fn f<T: Float>(x: T, y: T) -> [T; 3] {
    [x * y, x, y]
}
