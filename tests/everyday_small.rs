//! Everyday Rust in differentiated functions (issue 15), the smaller forms: constants
//! (`f64::EPSILON`, `std::f64::consts::*`, `T::epsilon()`), `const` arrays of
//! coefficients, a scalar on the left of a tensor, and the generic functions that once got
//! a bare `1.0` where a `T` was expected (returning `Vec<T>`, a loop reading a value whose
//! adjoint is the seed). Checked against dual numbers and finite differences.
#![allow(clippy::needless_range_loop)]
use autodiff::prelude::*;

#[macro_use]
mod dual;
use dual::{assert_close, finite_difference, D};

const COEF: [f64; 4] = [0.5, -1.25, 2.0, 0.75];

#[differentiate(wrt = x)]
fn constants(x: f64) -> f64 {
    let mut s = (x + f64::EPSILON).ln() * std::f64::consts::PI;
    s += (x * std::f64::consts::E).sin() + std::f64::consts::FRAC_1_SQRT_2 * x;
    for k in 0..COEF.len() {
        s += COEF[k] * x.powi(k as i32);
    }
    s
}

#[differentiate(wrt = x)]
fn generic_constants<T: Float>(x: T) -> T {
    let eps = T::epsilon();
    let pi = T::from(std::f64::consts::PI).unwrap();
    let mut s = (x + eps).sqrt() * pi;
    for k in 0..COEF.len() {
        s = s + T::from(COEF[k]).unwrap() * x.powi(k as i32 + 1);
    }
    s
}

#[test]
fn constants_and_coefficient_arrays() {
    for x in [0.4, 1.7] {
        let (v, g) = constants_grad(x);
        assert_close("constants value", v, constants(x), 1e-12);
        assert_close("constants grad", g, finite_difference(constants, x), 1e-6);
        assert_close("constants vjp", constants_vjp(x, 0.3).1, 0.3 * g, 1e-12);
        assert_close("constants jvp", constants_jvp(x, -2.0).1, -2.0 * g, 1e-12);
        check!(
            generic_constants,
            generic_constants_grad,
            generic_constants_vjp,
            generic_constants_jvp,
            |x| (x),
            at[x]
        );
    }
}

/// A generic function returning `Vec<T>`.
#[differentiate(wrt = x)]
fn scaled<T: Float>(x: &[T], w: T) -> Vec<T> {
    let mut y = vec![T::zero(); x.len()];
    for i in 0..x.len() {
        y[i] = x[i] * w + x[i].sin();
    }
    y
}

/// A generic function whose loop reads a value whose adjoint is the seed.
#[differentiate(wrt = x)]
fn seeded_loop<T: Float>(x: T, n: usize) -> T {
    let y = x * x;
    let mut s = T::zero();
    for _ in 0..n {
        s = s + y;
    }
    y + s
}

#[test]
fn generic_seeds() {
    let x = [0.3, -0.8, 1.1];
    let w = 0.6;
    let seed = [0.5, -1.0, 2.0];
    let (v, g) = scaled_vjp(&x, w, seed.to_vec());
    assert_eq!(v, scaled(&x, w));
    for k in 0..3 {
        let fd = finite_difference(
            |a| {
                let mut p = x;
                p[k] = a;
                scaled(&p, w).iter().zip(&seed).map(|(y, s)| y * s).sum()
            },
            x[k],
        );
        assert_close(&format!("scaled vjp[{k}]"), g[k], fd, 1e-6);
    }
    let (_, g) = scaled_grad(&x, w);
    for k in 0..3 {
        assert_close(&format!("scaled grad[{k}]"), g[k], w + x[k].cos(), 1e-12);
    }
    for n in [0, 3] {
        check!(seeded_loop, seeded_loop_grad, seeded_loop_vjp, seeded_loop_jvp, |x| (x, n), at [0.7, -1.1]);
    }
}

#[differentiate(wrt = [x, s])]
fn scalar_left(x: &Tensor<f64>, s: f64) -> f64 {
    let a = s * x;
    let b = s - x;
    let c = 2.0 * &a - &b;
    (&c * &c).sum()
}

#[test]
fn scalars_on_the_left_of_tensors() {
    let x = Tensor::from_vec(vec![0.3, -0.8, 1.1, 0.5], &[2, 2]);
    let s = 0.7;
    let (v, (gx, gs)) = scalar_left_grad(&x, s);
    assert_close("scalar_left value", v, scalar_left(&x, s), 1e-12);
    let fd = finite_difference(|a| scalar_left(&x, a), s);
    assert_close("scalar_left d/ds", gs, fd, 1e-6);
    for k in 0..4 {
        let fd = finite_difference(
            |a| {
                let mut d = x.as_slice().to_vec();
                d[k] = a;
                scalar_left(&Tensor::from_vec(d, &[2, 2]), s)
            },
            x.as_slice()[k],
        );
        assert_close(
            &format!("scalar_left d/dx[{k}]"),
            gx.as_slice()[k],
            fd,
            1e-6,
        );
    }
    let _ = D::cst(0.0);
}

/// A `let mut` assigned after an early `return` (once "declare `s` with `let mut`").
#[differentiate(wrt = x)]
fn assigned_after_return<T: Float>(x: T, limit: f64) -> T {
    let mut s = x * x;
    if x > T::from(limit).unwrap() {
        return s;
    }
    s = s + x.sin();
    s = s * x;
    s
}

#[test]
fn an_assignment_after_an_early_return() {
    for limit in [-5.0, 5.0] {
        check!(assigned_after_return, assigned_after_return_grad, assigned_after_return_vjp, assigned_after_return_jvp, |x| (x, limit), at [0.4, -1.1]);
    }
}
