use autodiff::prelude::*;

trait Softplus {
    fn softplus(self) -> Self;
}

impl Softplus for f64 {
    fn softplus(self) -> f64 {
        self.exp().ln_1p()
    }
}

#[differentiate(wrt = x)]
fn f(x: f64) -> f64 {
    (x * 2.0).softplus()
}

fn main() {}
