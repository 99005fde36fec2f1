use autodiff::prelude::*;

// Stands for the `libm` crate (not a dependency of these tests): the macro sees the path
// `libm::erf` only.
mod libm {
    pub fn erf(x: f64) -> f64 {
        x
    }
}

#[differentiate(wrt = x)]
fn f(x: f64) -> f64 {
    libm::erf(x) * 2.0
}

fn main() {}
