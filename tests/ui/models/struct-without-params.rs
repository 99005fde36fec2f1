use autodiff::prelude::*;

struct Model {
    w: Vec<f64>,
    b: f64,
}

impl Model {
    #[differentiate(wrt = self)]
    fn loss(&self, x: f64) -> f64 {
        self.w[0] * x + self.b
    }
}

fn main() {}
