use autodiff::prelude::*;

#[derive(Params, Clone)]
struct Layer {
    w: Vec<f64>,
}

// `layers` is private and its type names a private struct: `#[derive(Params)]` cannot name
// it for `wrt = [self.layers]`.
#[derive(Params, Clone)]
pub struct Net {
    layers: Vec<Layer>,
}

impl Net {
    #[differentiate(wrt = [self.layers])]
    pub fn eval(&self, x: f64) -> f64 {
        let mut s = x;
        for layer in self.layers.iter() {
            s = s * layer.w[0];
        }
        s
    }
}

fn main() {}
