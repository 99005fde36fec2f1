//! Everyday Rust in differentiated functions (issue 15), parts of arrays: sub-slices passed
//! to differentiated calls and bound to names (`&x[a..b]`, `split_at`), `windows`,
//! `chunks`, `chunks_exact`, `rev` before `step_by`, and rows of nested arrays. Each
//! program is generic, so the same function runs at dual numbers (`dual::D`): `_grad`,
//! `_vjp` and `_jvp` are checked against them and against central finite differences of
//! the original function, at operands that are not constants.
#![allow(clippy::needless_range_loop)]
use autodiff::prelude::*;

#[macro_use]
mod dual;
use dual::{assert_close, finite_difference, gradient, D};

fn c<T: Float>(v: f64) -> T {
    T::from(v).unwrap()
}

/// A position-dependent function of a slice: a gradient landing one place off is caught.
#[differentiate]
fn weighted<T: Float>(v: &[T]) -> T {
    let mut s = v[0];
    for i in 0..v.len() {
        s = s + T::from(i + 1).unwrap() * v[i] * v[i].sin();
    }
    s
}

/// Checks `_grad`, `_vjp` and `_jvp` of a function of one slice against dual numbers and
/// finite differences.
fn check_slice(
    name: &str,
    x: &[f64],
    primal: impl Fn(&[f64]) -> f64,
    oracle: impl Fn(&[D]) -> D,
    grad: impl Fn(&[f64]) -> (f64, Vec<f64>),
    vjp: impl Fn(&[f64], f64) -> (f64, Vec<f64>),
    jvp: impl Fn(&[f64], &[f64]) -> (f64, f64),
) {
    let (value, exact) = gradient(&oracle, x);
    assert_close(&format!("{name}: oracle value"), value, primal(x), 1e-12);
    let (v, g) = grad(x);
    assert_close(&format!("{name}: _grad value"), v, value, 1e-12);
    assert_eq!(g.len(), x.len());
    let (_, s) = vjp(x, -0.6);
    for k in 0..x.len() {
        let fd = finite_difference(
            |a| {
                let mut y = x.to_vec();
                y[k] = a;
                primal(&y)
            },
            x[k],
        );
        assert_close(&format!("{name}: dual vs fd [{k}]"), exact[k], fd, 1e-6);
        assert_close(&format!("{name}: _grad[{k}]"), g[k], exact[k], 1e-10);
        assert_close(&format!("{name}: _vjp[{k}]"), s[k], -0.6 * exact[k], 1e-10);
    }
    let t: Vec<f64> = (0..x.len()).map(|k| 0.3 - 0.17 * k as f64).collect();
    let (v, d) = jvp(x, &t);
    assert_close(&format!("{name}: _jvp value"), v, value, 1e-12);
    let want: f64 = exact.iter().zip(&t).map(|(a, b)| a * b).sum();
    assert_close(&format!("{name}: _jvp"), d, want, 1e-10);
}

fn duals(x: &[f64]) -> Vec<D> {
    x.iter().map(|&v| D::cst(v)).collect()
}

// ---------------------------------------------------------------------------------------
// 1. Sub-slices passed to differentiated calls, bound to names, and `split_at`.

#[differentiate(wrt = x)]
fn sliced_calls<T: Float>(x: &[T], a: usize, b: usize) -> T {
    let mut s = weighted(&x[1..]);
    s = s + weighted(&x[a..b]) * x[0];
    s = s + weighted(&x[..b]).cos();
    s = s + weighted(&x[a..=b]);
    s
}

#[differentiate(wrt = x)]
fn named_parts<T: Float>(x: &[T], a: usize, b: usize) -> T {
    let t = &x[a..b];
    let mut s = t[0] * t[t.len() - 1];
    for i in 0..t.len() {
        s = s + t[i] * x[i];
    }
    for v in t.iter() {
        s = s * c(0.9) + v.sin();
    }
    // A part of a part, passed on.
    let u = &t[1..];
    s = s + weighted(u) + u[0].exp();
    let head = t.iter().fold(T::zero(), |h, v| h + *v * *v);
    // Copies of parts, read and written after.
    let mut copy = t.to_vec();
    let tail = x[1..].to_vec();
    copy[0] = copy[0] * tail[tail.len() - 1];
    s + head + weighted(&copy) * tail[0]
}

#[differentiate(wrt = x)]
fn split<T: Float>(x: &[T], k: usize) -> T {
    let (l, r) = x.split_at(k);
    let mut s = weighted(l) * weighted(r) + r[0];
    for (p, q) in l.iter().zip(r.iter()) {
        s = s + *p * q.cos();
    }
    let (_, tail) = x.split_at(1);
    s + l[l.len() - 1] * tail[0]
}

/// A sub-slice passed in a loop, its bounds from the loop index.
#[differentiate(wrt = x)]
fn sliding_calls<T: Float>(x: &[T]) -> T {
    let mut e = T::zero();
    for k in 0..x.len() - 2 {
        e = e + weighted(&x[k..k + 3]) * x[k];
    }
    e
}

#[test]
fn sub_slices_passed_to_calls() {
    let x = [0.3, -0.8, 1.1, 0.5, -0.2, 0.9, 0.4];
    for (a, b) in [(2, 5), (1, 3), (0, 6)] {
        check_slice(
            &format!("sliced_calls({a}, {b})"),
            &x,
            |x| sliced_calls(x, a, b),
            |x| sliced_calls(x, a, b),
            |x| sliced_calls_grad(x, a, b),
            |x, s| sliced_calls_vjp(x, a, b, s),
            |x, t| sliced_calls_jvp(x, a, b, t),
        );
        check_slice(
            &format!("named_parts({a}, {b})"),
            &x,
            |x| named_parts(x, a, b),
            |x| named_parts(x, a, b),
            |x| named_parts_grad(x, a, b),
            |x, s| named_parts_vjp(x, a, b, s),
            |x, t| named_parts_jvp(x, a, b, t),
        );
    }
    for k in [1, 3, 5] {
        check_slice(
            &format!("split({k})"),
            &x,
            |x| split(x, k),
            |x| split(x, k),
            |x| split_grad(x, k),
            |x, s| split_vjp(x, k, s),
            |x, t| split_jvp(x, k, t),
        );
    }
    check_slice(
        "sliding_calls",
        &x,
        sliding_calls,
        sliding_calls,
        sliding_calls_grad,
        sliding_calls_vjp,
        sliding_calls_jvp,
    );
}

// ---------------------------------------------------------------------------------------
// 3. `windows`, `chunks`, `chunks_exact`; `rev` before `step_by`, after `enumerate` and
//    `zip`, before `skip` / `take`.

#[differentiate(wrt = x)]
fn windowed<T: Float>(x: &[T], k: usize) -> T {
    let mut s = T::zero();
    for w in x.windows(2) {
        s = s + (w[1] - w[0]).powi(2);
    }
    for (i, ch) in x.chunks(k).enumerate() {
        for v in ch.iter() {
            s = s + *v * T::from(i + 1).unwrap();
        }
        s = s + ch[0] * ch[ch.len() - 1];
    }
    for ch in x.chunks_exact(2).rev() {
        s = s * c(0.7) + ch[0] * ch[1].sin();
    }
    let t = x.windows(3).fold(T::zero(), |t, w| t + w[0] * w[1] * w[2]);
    for w in x.windows(k).rev().skip(1) {
        s = s + weighted(w);
    }
    for ch in x[1..].chunks(2).take(2) {
        s = s + weighted(ch) * ch[0];
    }
    s + t
}

#[differentiate(wrt = x)]
fn reversed<T: Float>(x: &[T], y: &[T], k: usize) -> T {
    let mut s = T::zero();
    for v in x.iter().rev().step_by(k) {
        s = s * c(0.8) + v.sin();
    }
    for i in (0..x.len()).rev().step_by(2) {
        s = s + x[i] * T::from(i + 1).unwrap();
    }
    for (i, v) in x.iter().enumerate().rev() {
        s = s * c(0.9) + *v * T::from(i).unwrap();
    }
    for (a, b) in x.iter().zip(y.iter()).rev() {
        s = s * c(0.95) + *a * *b;
    }
    for v in x.iter().rev().take(3) {
        s = s + v.exp();
    }
    let tail = x
        .iter()
        .rev()
        .step_by(3)
        .fold(T::zero(), |t, v| t + *v * *v);
    s + tail
}

#[test]
fn windows_chunks_and_rev() {
    let x = [0.3, -0.8, 1.1, 0.5, -0.2, 0.9, 0.4];
    let y = [0.6, 0.1, -0.7, 1.2, 0.8, -0.3, 0.2];
    for k in [1, 2, 3] {
        check_slice(
            &format!("windowed({k})"),
            &x,
            |x| windowed(x, k),
            |x| windowed(x, k),
            |x| windowed_grad(x, k),
            |x, s| windowed_vjp(x, k, s),
            |x, t| windowed_jvp(x, k, t),
        );
        let yd = duals(&y);
        check_slice(
            &format!("reversed({k})"),
            &x,
            |x| reversed(x, &y, k),
            |x| reversed(x, &yd, k),
            |x| reversed_grad(x, &y, k),
            |x, s| reversed_vjp(x, &y, k, s),
            |x, t| reversed_jvp(x, &y, k, t),
        );
    }
    // An odd length: `chunks` ends in a shorter chunk, `chunks_exact` leaves it out.
    let x5 = [0.3, -0.8, 1.1, 0.5, -0.2];
    check_slice(
        "windowed(2) of 5",
        &x5,
        |x| windowed(x, 2),
        |x| windowed(x, 2),
        |x| windowed_grad(x, 2),
        |x, s| windowed_vjp(x, 2, s),
        |x, t| windowed_jvp(x, 2, t),
    );
}

// ---------------------------------------------------------------------------------------
// 4. Rows of nested slices: iterated, bound to a name, passed to a differentiated call.

#[differentiate(wrt = pos)]
fn rows<T: Float>(pos: &[[T; 3]], k: T) -> T {
    let mut e = T::zero();
    for p in pos.iter() {
        e = e + p[0] * p[1] - p[2].sin();
    }
    for i in 0..pos.len() {
        let row = &pos[i];
        e = e + weighted(row) * k + weighted(&pos[i][1..]);
        e = e + row[2] * row[0];
    }
    for (i, p) in pos.iter().enumerate() {
        for q in pos[i + 1..].iter() {
            let d = (p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2) + (p[2] - q[2]).powi(2);
            e = e + (d + T::one()).ln();
        }
    }
    let p0 = pos[0];
    // A fold over the rows, each folded over its elements.
    let total = pos.iter().fold(T::zero(), |a, p| {
        a + p.iter().fold(T::zero(), |b, v| b + *v * *v).sin()
    });
    e + p0[1] * k + total
}

#[test]
fn rows_of_nested_slices() {
    let pos = [[0.3, -0.8, 1.1], [0.5, -0.2, 0.9], [0.4, 0.7, -0.6]];
    let k = 0.7;
    let flat: Vec<f64> = pos.iter().flatten().copied().collect();
    let unflat = |x: &[f64]| -> Vec<[f64; 3]> { x.chunks(3).map(|r| [r[0], r[1], r[2]]).collect() };
    let unflat_d = |x: &[D]| -> Vec<[D; 3]> { x.chunks(3).map(|r| [r[0], r[1], r[2]]).collect() };
    let flatten = |g: Vec<[f64; 3]>| -> Vec<f64> { g.into_iter().flatten().collect() };
    check_slice(
        "rows",
        &flat,
        |x| rows(&unflat(x), k),
        |x| rows(&unflat_d(x), D::cst(k)),
        |x| {
            let (v, g) = rows_grad(&unflat(x), k);
            (v, flatten(g))
        },
        |x, s| {
            let (v, g) = rows_vjp(&unflat(x), k, s);
            (v, flatten(g))
        },
        |x, t| rows_jvp(&unflat(x), k, &unflat(t)),
    );
}
