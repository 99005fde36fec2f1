use autodiff::prelude::*;

#[derive(Params, Clone)]
struct Dense {
    w: Vec<f64>,
}

#[derive(Params, Clone)]
struct Mlp {
    layers: Vec<Dense>,
}

fn first(d: &Dense) -> f64 {
    d.w[0]
}

#[differentiate(wrt = m)]
fn loss(m: &Mlp, x: f64) -> f64 {
    m.layers[0].w[1] * x + first(&m.layers[0])
}

fn main() {}
