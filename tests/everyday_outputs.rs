//! Everyday Rust in differentiated functions (issue 15): `&mut` output parameters. A
//! differentiated `fn forces(q: &[T], k: T, f: &mut [T])` is differentiated as the function
//! that takes `f`'s contents on entry and returns them on exit, and a differentiated caller's
//! `forces(&q, k, &mut f)` sends the adjoint of what it writes back to `q`, `k` and the old
//! `f`. Checked against dual numbers (the same generic functions at `dual::D`) and finite
//! differences.
#![allow(clippy::needless_range_loop)]
use autodiff::prelude::*;

#[macro_use]
mod dual;
use dual::{assert_close, finite_difference, gradient, D};

/// Spring forces `f[i] += -k q[i] + coupling to the neighbours`: reads `f` too.
#[differentiate]
fn forces<T: Float>(q: &[T], k: T, f: &mut [T]) {
    for i in 0..q.len() {
        f[i] = f[i] * T::from(0.5).unwrap() - k * q[i];
        if i > 0 {
            f[i] = f[i] + (q[i - 1] - q[i]).sin();
        }
    }
}

/// A `&mut` scalar, written through `*out`, with an early `return`.
#[differentiate]
fn accumulate<T: Float>(x: T, out: &mut T) {
    *out = *out * x + x.sin();
    if x > T::from(10.0).unwrap() {
        return;
    }
    *out = *out + x * x;
}

/// A fixed-size array output.
#[differentiate]
fn rotate<T: Float>(a: T, v: &mut [T; 2]) {
    let (s, c) = (a.sin(), a.cos());
    let x = v[0] * c - v[1] * s;
    v[1] = v[0] * s + v[1] * c;
    v[0] = x;
}

#[differentiate(wrt = [q, k])]
fn energy<T: Float>(q: &[T], k: T) -> T {
    let mut f = vec![T::zero(); q.len()];
    for i in 0..q.len() {
        f[i] = q[i] * q[i];
    }
    forces(q, k, &mut f);
    let mut e = f[0] * q[0];
    for i in 0..q.len() {
        e = e + f[i] * q[i].cos();
    }
    // Called again: the adjoint flows through both calls.
    forces(q, k * k, &mut f);
    e + f[q.len() - 1]
}

#[differentiate(wrt = x)]
fn accumulated<T: Float>(x: T, n: usize) -> T {
    let mut s = x;
    for _ in 0..n {
        accumulate(x, &mut s);
    }
    let mut v = [x, T::one()];
    rotate(x * s, &mut v);
    s + v[0] * v[1]
}

#[test]
fn a_mut_slice_output_called_from_a_differentiated_function() {
    let q = [0.3, -0.8, 1.1, 0.5];
    let k = 0.7;
    let mut x = q.to_vec();
    x.push(k);
    let (value, exact) = gradient(
        |x| {
            let (q, k) = x.split_at(4);
            energy(q, k[0])
        },
        &x,
    );
    let (v, (gq, gk)) = energy_grad(&q, k);
    assert_close("energy value", v, energy(&q, k), 1e-12);
    assert_close("energy oracle value", value, v, 1e-12);
    for i in 0..4 {
        let fd = finite_difference(
            |a| {
                let mut p = q;
                p[i] = a;
                energy(&p, k)
            },
            q[i],
        );
        assert_close(&format!("energy d/dq[{i}] dual vs fd"), exact[i], fd, 1e-6);
        assert_close(&format!("energy d/dq[{i}]"), gq[i], exact[i], 1e-10);
    }
    assert_close("energy d/dk", gk, exact[4], 1e-10);
    let (_, (vq, vk)) = energy_vjp(&q, k, -0.4);
    assert_close("energy vjp q", vq[2], -0.4 * exact[2], 1e-10);
    assert_close("energy vjp k", vk, -0.4 * exact[4], 1e-10);
    let t = [0.1, -0.2, 0.3, 0.4];
    let (_, d) = energy_jvp(&q, k, &t, 0.5);
    let want: f64 = (0..4).map(|i| exact[i] * t[i]).sum::<f64>() + 0.5 * exact[4];
    assert_close("energy jvp", d, want, 1e-10);
}

#[test]
fn the_generated_functions_of_a_mut_output() {
    // `forces_grad(q, k, f)` is the gradient of the sum of `f`'s elements on exit, with
    // respect to `q`, `k` and `f`'s elements on entry; the value is `f` on exit.
    let q = [0.3, -0.8, 1.1];
    let (k, f0) = (0.7, [0.2, 0.4, -0.1]);
    let mut f = f0;
    forces(&q, k, &mut f);
    let (value, (gq, gk, gf)) = forces_grad(&q, k, &f0);
    assert_eq!(value, f.to_vec());
    let total = |q: &[f64], k: f64, f0: &[f64]| {
        let mut f = f0.to_vec();
        forces(q, k, &mut f);
        f.iter().sum::<f64>()
    };
    for i in 0..3 {
        let fd = finite_difference(
            |a| {
                let mut p = q;
                p[i] = a;
                total(&p, k, &f0)
            },
            q[i],
        );
        assert_close(&format!("forces d/dq[{i}]"), gq[i], fd, 1e-6);
        let fd = finite_difference(
            |a| {
                let mut p = f0;
                p[i] = a;
                total(&q, k, &p)
            },
            f0[i],
        );
        assert_close(&format!("forces d/df[{i}]"), gf[i], fd, 1e-6);
    }
    assert_close(
        "forces d/dk",
        gk,
        finite_difference(|a| total(&q, a, &f0), k),
        1e-6,
    );
    // `_vjp` takes a seed per element of `f`; `_jvp` tangents of q, k and f give f's tangent.
    let seed = vec![1.0, -2.0, 0.5];
    let (_, (sq, _, _)) = forces_vjp(&q, k, &f0, seed.clone());
    let (_, df) = forces_jvp(&q, k, &f0, &[0.0, 1.0, 0.0], 0.0, &[0.0; 3]);
    let from_jvp: f64 = df.iter().zip(&seed).map(|(a, b)| a * b).sum();
    assert_close("forces vjp vs jvp", sq[1], from_jvp, 1e-12);
    // The scalar form: `accumulate_grad(x, out)` returns `out` on exit.
    let mut out = 0.4;
    accumulate(1.3, &mut out);
    let (v, (gx, gout)) = accumulate_grad(1.3, 0.4);
    assert_eq!(v, out);
    assert_close(
        "accumulate d/dx",
        gx,
        0.4 + 1.3_f64.cos() + 2.0 * 1.3,
        1e-12,
    );
    assert_close("accumulate d/dout", gout, 1.3, 1e-12);
}

#[test]
fn mut_scalars_and_arrays_in_a_loop() {
    for n in [0, 1, 4] {
        check!(accumulated, accumulated_grad, accumulated_vjp, accumulated_jvp, |x| (x, n), at [0.4, -0.9]);
    }
    let _ = D::cst(0.0);
}
