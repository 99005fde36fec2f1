use autodiff::prelude::*;

#[derive(Params, Clone)]
struct Dense {
    w: Vec<f64>,
}

impl Dense {
    #[differentiate(wrt = self)]
    fn apply(&self, x: f64) -> f64 {
        self.w[0] * x
    }
}

#[derive(Params, Clone)]
struct Mlp {
    layers: Vec<Dense>,
}

impl Mlp {
    #[differentiate(wrt = self)]
    fn loss(&self, x: f64) -> f64 {
        let mut h = x;
        for layer in self.layers.iter() {
            h = layer.apply(h) + layer.w[1];
        }
        h
    }
}

fn main() {}
