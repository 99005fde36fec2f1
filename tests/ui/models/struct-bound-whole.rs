use autodiff::prelude::*;

#[derive(Params, Clone)]
struct Lin {
    w: Vec<f64>,
    b: f64,
}

#[differentiate(wrt = m)]
fn loss(m: &Lin, x: f64) -> f64 {
    let copy = m;
    copy.b * x + m.w[0]
}

fn main() {}
