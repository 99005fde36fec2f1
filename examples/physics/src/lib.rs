//! Differentiated functions another crate calls: `pub` annotated functions export their
//! calling convention with them.
use autodiff::prelude::*;

/// Potential energy of springs between consecutive points.
#[differentiate(wrt = [x, k])]
pub fn chain_energy(x: &[f64], k: f64) -> f64 {
    let mut e = 0.0;
    for i in 0..x.len() - 1 {
        let d = x[i + 1] - x[i] - 1.0;
        e += 0.5 * k * d * d;
    }
    e
}

pub mod gravity {
    use autodiff::prelude::*;

    /// Gravitational potential of a mass at height `h`.
    #[differentiate]
    pub fn potential(m: f64, h: f64) -> f64 {
        9.81 * m * h
    }
}
