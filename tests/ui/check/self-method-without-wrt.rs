use autodiff::prelude::*;

#[derive(Params, Clone)]
pub struct Lin {
    w: Vec<f64>,
}

impl Lin {
    // The struct's fields are differentiated only when `wrt = self` says so.
    #[differentiate]
    pub fn loss(&self, n: usize) -> f64 {
        let mut s = 0.0;
        for i in 0..n {
            s += self.w[i] * self.w[i];
        }
        s
    }
}

fn main() {}
