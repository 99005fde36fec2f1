//! A differentiated function calling annotated `pub` functions of another crate, by path
//! and through a `use`d name.
use autodiff::prelude::*;
use autodiff_example_physics::gravity::potential;

#[differentiate(wrt = [x, k, m])]
fn total_energy(x: &[f64], k: f64, m: f64) -> f64 {
    let mut e = autodiff_example_physics::chain_energy(x, k);
    for h in x.iter() {
        e += potential(m, *h);
    }
    e
}

#[test]
fn calls_across_crates() {
    let x = [0.0, 1.5, 2.0];
    let (k, m) = (4.0, 2.0);
    let (value, (gx, gk, gm)) = total_energy_grad(&x, k, m);
    // Springs: d = (0.5, -0.5); e = 0.5 k (0.25 + 0.25) = 1.0. Gravity: 9.81 m Σx = 68.67.
    assert!((value - (1.0 + 9.81 * 2.0 * 3.5)).abs() < 1e-12);
    assert!((gk - 0.25).abs() < 1e-12);
    assert!((gm - 9.81 * 3.5).abs() < 1e-12);
    let expected = [
        -k * 0.5 + 9.81 * m,
        k * 0.5 + k * 0.5 + 9.81 * m,
        -k * 0.5 + 9.81 * m,
    ];
    for i in 0..3 {
        assert!(
            (gx[i] - expected[i]).abs() < 1e-12,
            "[{i}] {} vs {}",
            gx[i],
            expected[i]
        );
    }
    let (_, t) = total_energy_jvp(&x, k, m, &[0.0; 3], 1.0, 0.0);
    assert!((t - gk).abs() < 1e-12);
}
