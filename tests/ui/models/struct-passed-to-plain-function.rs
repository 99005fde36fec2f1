use autodiff::prelude::*;

#[derive(Params, Clone)]
struct Lin {
    w: Vec<f64>,
    b: f64,
}

// No `#[differentiate(wrt = m)]`: a caller that passes its struct whole cannot call it.
fn predict(m: &Lin, x: f64) -> f64 {
    m.w[0] * x + m.b
}

#[differentiate(wrt = m)]
fn loss(m: &Lin, x: f64) -> f64 {
    let p = predict(m, x);
    p * p
}

fn main() {}
