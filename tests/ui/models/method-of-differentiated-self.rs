use autodiff::prelude::*;

#[derive(Params, Clone)]
struct Model {
    w: Vec<f64>,
    b: f64,
}

impl Model {
    fn bias(&self) -> f64 {
        self.b
    }

    #[differentiate(wrt = self)]
    fn loss(&self, x: f64) -> f64 {
        self.w[0] * x + self.bias()
    }
}

fn main() {}
