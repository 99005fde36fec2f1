use autodiff::prelude::*;

#[differentiate(wrt = [q, k])]
fn forces(q: &[f64], k: f64, f: &mut [f64]) {
    for i in 0..q.len() {
        f[i] = -k * q[i];
    }
}

fn main() {}
