use autodiff::prelude::*;

#[differentiate(wrt = pos)]
fn energy(pos: &[[f64; 3]]) -> f64 {
    let mut e = 0.0;
    for p in pos.iter() {
        e += p[0] * p[1] + p[2];
    }
    e
}

#[differentiate(wrt = pos)]
fn tail_energy(pos: &[[f64; 3]]) -> f64 {
    energy(&pos[1..])
}

fn main() {}
