use autodiff::prelude::*;

fn forces(q: &[f64], k: f64, f: &mut [f64]) {
    for i in 0..q.len() {
        f[i] = -k * q[i];
    }
}

#[differentiate(wrt = [q, k])]
fn energy(q: &[f64], k: f64) -> f64 {
    let mut f = vec![0.0; q.len()];
    forces(q, k, &mut f);
    f[0] * q[0]
}

fn main() {}
