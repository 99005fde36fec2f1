use autodiff::prelude::*;

#[derive(Params, Clone)]
struct Dense {
    w: Vec<f64>,
}

#[derive(Params, Clone)]
struct Mlp {
    layers: Vec<Dense>,
}

#[differentiate(wrt = m)]
fn loss(m: &Mlp, x: f64) -> f64 {
    m.layers[0].w[0] * x
}

fn main() {}
