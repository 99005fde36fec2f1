use autodiff::prelude::*;

// `return` leaves the closure; the loop the macro would write for the sum would leave the
// function instead, so this chain is not lowered.
#[differentiate(wrt = x)]
fn f(x: &[f64]) -> f64 {
    x.iter()
        .map(|v| {
            if *v > 1.0 {
                return 1.0;
            }
            v * v
        })
        .sum()
}

fn main() {}
