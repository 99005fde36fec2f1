//! Small programs that combine the features a user reaches for together: arrays created
//! inside loops, calls that return tuples and arrays, generic callees, `while` with `break`,
//! `max`. Each gradient is checked against central finite differences and forward mode.
// Written as users write numerical code: index loops.
#![allow(clippy::needless_range_loop)]
use autodiff::prelude::*;

/// RK4 steps of a damped oscillator, its stage arrays created inside the loop.
#[differentiate(wrt = p)]
fn rk4(p: &[f64]) -> f64 {
    let (k, c) = (p[0], p[1]);
    let mut s = [1.0, 0.0];
    let dt = 0.1;
    for _ in 0..20 {
        let mut k1 = [0.0; 2];
        k1[0] = s[1];
        k1[1] = -k * s[0] - c * s[1];
        let mut mid = [0.0; 2];
        mid[0] = s[0] + 0.5 * dt * k1[0];
        mid[1] = s[1] + 0.5 * dt * k1[1];
        let mut k2 = [0.0; 2];
        k2[0] = mid[1];
        k2[1] = -k * mid[0] - c * mid[1];
        s[0] += dt * k2[0];
        s[1] += dt * k2[1];
    }
    s[0] * s[0] + s[1]
}

/// Softmax cross-entropy per row, the logits in a vector created per row.
#[differentiate(wrt = w)]
fn rows_loss(w: &[f64], x: &[f64], n: usize, d: usize) -> f64 {
    let mut loss = 0.0;
    for r in 0..n {
        let mut z = vec![0.0; d];
        for j in 0..d {
            z[j] = w[j] * x[r * d + j];
        }
        let mut m = z[0];
        for j in 1..d {
            m = m.max(z[j]);
        }
        let mut se = 0.0;
        for j in 0..d {
            se += (z[j] - m).exp();
        }
        loss += m + se.ln() - z[r % d];
    }
    loss / n as f64
}

/// Newton iterations for cube roots, stopped by `break`, the iterates updated in place.
#[differentiate(wrt = a)]
fn cube_roots(a: &[f64]) -> f64 {
    let n = a.len();
    let mut x = vec![1.0; n];
    let mut total = 0.0;
    for i in 0..n {
        let mut it = 0;
        while it < 30 {
            let fx = x[i] * x[i] * x[i] - a[i];
            if fx.abs() < 1e-12 {
                break;
            }
            x[i] -= fx / (3.0 * x[i] * x[i]);
            it += 1;
        }
        total += x[i];
    }
    total
}

/// A generic callee with two outputs.
#[differentiate]
fn smooth_max<T: Float>(a: T, b: T) -> (T, T) {
    let m = a.max(b);
    let s = ((a - m).exp() + (b - m).exp()).ln() + m;
    (s, m)
}

/// Generic: a window created per position from a generic zero, folded by a tuple-valued call.
#[differentiate(wrt = x)]
fn windows<T: Float>(x: &[T], w: usize) -> T {
    let n = x.len();
    let mut total = T::zero();
    for i in 0..n - w + 1 {
        let mut win = vec![T::zero(); w];
        for j in 0..w {
            win[j] = x[i + j] * x[i + j];
        }
        let mut acc = win[0];
        for j in 1..w {
            let (s, _largest) = smooth_max(acc, win[j]);
            acc = s;
        }
        total = total + acc;
    }
    total
}

/// A callee that returns a `Vec`.
#[differentiate(wrt = x)]
fn cumsum(x: &[f64]) -> Vec<f64> {
    let mut c = vec![0.0; x.len()];
    let mut s = 0.0;
    for i in 0..x.len() {
        s += x[i];
        c[i] = s;
    }
    c
}

/// One call's array result fed to another call.
#[differentiate(wrt = x)]
fn cumsum_twice(x: &[f64]) -> f64 {
    let c: Vec<f64> = cumsum(x);
    let d: Vec<f64> = cumsum(&c);
    let mut t = 0.0;
    for i in 0..d.len() {
        t += d[i].sin() * c[i];
    }
    t
}

/// Scratch writes that depend on a branch, and a recurrence run from the last index down
/// (the order matters: `s = s / 2 + e^y`).
#[differentiate(wrt = x)]
fn conditional_writes(x: &[f64]) -> f64 {
    let n = x.len();
    let mut y = vec![0.0; n];
    let mut total = 0.0;
    for p in 0..3 {
        for i in 0..n {
            if (i + p) % 2 == 0 {
                y[i] = x[i].sin() * (p as f64 + 1.0);
            } else {
                y[i] = x[i] * x[(i + 1) % n];
            }
        }
        let mut s = 0.0;
        for i in (0..n).rev() {
            s = s * 0.5 + y[i].exp();
        }
        total += s.ln();
    }
    total
}

/// A local 3x3 grid, a reversed inner loop, and `.iter().enumerate().rev()`.
#[differentiate(wrt = x)]
fn grid(x: &[f64]) -> f64 {
    let mut g = [[0.0; 3]; 3];
    for i in 0..3 {
        for j in 0..3 {
            g[i][j] = x[i] * x[j] + (i as f64 - j as f64);
        }
    }
    let mut prod = 1.0;
    for i in 0..3 {
        let mut r = 0.0;
        for j in (0..3).rev() {
            r = r * 0.9 + g[i][j].tanh();
        }
        prod *= 1.0 + r * x[i];
    }
    for (i, v) in x.iter().enumerate().rev() {
        prod = prod * 0.5 + v * (i as f64);
    }
    prod
}

/// A callee with two outputs, for the loops below.
#[differentiate]
fn pair_stats(a: f64, b: f64) -> (f64, f64) {
    ((a * b).tanh(), a.hypot(b))
}

/// A callee that returns a `Vec`, for the loops below.
#[differentiate(wrt = x)]
fn scaled(x: &[f64], k: f64) -> Vec<f64> {
    let mut y = vec![0.0; x.len()];
    for i in 0..x.len() {
        y[i] = x[i] * k + (x[i] * x[i]).sin();
    }
    y
}

/// State carried across iterations (not a running sum, so not fused), with an array created
/// in the body and a tuple-valued call in an inner loop.
#[differentiate(wrt = x)]
fn carried_state(x: &[f64]) -> f64 {
    let n = x.len();
    let mut state = 1.0;
    for p in 0..4 {
        let mut z = vec![0.0; n];
        for i in 0..n {
            z[i] = (x[i] * state + p as f64).sin();
        }
        let mut acc = 0.0;
        for i in 0..n {
            let (t, h) = pair_stats(z[i], state);
            acc += t * h;
        }
        state = state * 0.5 + acc.tanh();
    }
    state
}

/// A running sum (fused) over an array-returning call.
#[differentiate(wrt = x)]
fn running_sum_over_a_call(x: &[f64]) -> f64 {
    let mut total = 0.0;
    for p in 0..3 {
        let y: Vec<f64> = scaled(x, p as f64 + 0.5);
        let mut s = 0.0;
        for i in 0..y.len() {
            s += y[i] * y[i];
        }
        total += s.ln_1p();
    }
    total
}

/// A scratch array created in a `while` body and in a `loop` with `break`.
#[differentiate(wrt = x)]
fn while_and_loop_locals(x: &[f64]) -> f64 {
    let mut i = 0;
    let mut s = 0.0;
    while i < x.len() {
        let mut t = vec![0.0; x.len()];
        t[0] = x[i];
        t[1] = t[0].exp();
        t[2] = t[1] * t[0];
        s += t[2] - t[1];
        i += 1;
    }
    let mut k = 0;
    let mut p = 1.0;
    loop {
        let mut w = [0.5; 2];
        w[1] = x[k] * w[0];
        p *= 1.0 + w[1];
        k += 1;
        if k >= x.len() || p > 10.0 {
            break;
        }
    }
    s + p
}

/// Sums over ranges, one nested in another's closure.
#[differentiate(wrt = [x, w])]
fn range_sums(x: &[f64], w: &[f64]) -> f64 {
    let n = x.len();
    let s: f64 = (0..n).map(|i| x[i] * w[i]).sum();
    let t: f64 = (0..n)
        .map(|i| (0..n).map(|j| x[i] * x[j] * w[(i + j) % n]).sum::<f64>())
        .sum();
    s.sin() + t
}

/// A fold that reads a local array, in a loop that `continue`s past some iterations.
#[differentiate(wrt = x)]
fn fold_after_continue(x: &[f64]) -> f64 {
    let mut total = 0.0;
    for i in 0..x.len() {
        let mut z = [0.0; 2];
        z[0] = x[i];
        if z[0] < 0.0 {
            continue;
        }
        z[1] = x.iter().fold(0.0, |a, v| a + v * z[0]);
        total += z[1].tanh();
    }
    total
}

/// An early return from a running-sum loop whose body creates an array.
#[differentiate(wrt = x)]
fn early_return_from_a_sum(x: &[f64], cap: f64) -> f64 {
    let mut total = 0.0;
    for p in 0..x.len() {
        let mut z = vec![0.0; x.len()];
        z[0] = x[p].exp();
        z[1] = z[0] * x[p];
        total += z[1];
        if total > cap {
            return total * 0.5;
        }
    }
    total
}

/// A two-layer perceptron over flat slices, written as Rust users write it: a hidden vector
/// and logits created per sample, products summed by iterator chains, the maximum by a fold.
#[differentiate(wrt = [w1, w2])]
fn slice_mlp_loss(
    w1: &[f64],
    w2: &[f64],
    xs: &[f64],
    labels: &[usize],
    dims: (usize, usize, usize),
) -> f64 {
    let (d, h, k) = dims;
    let n = labels.len();
    let mut loss = 0.0;
    for s in 0..n {
        let mut hidden = vec![0.0; h];
        for j in 0..h {
            let pre: f64 = (0..d).map(|i| w1[j * d + i] * xs[s * d + i]).sum();
            hidden[j] = pre.tanh();
        }
        let mut logits = vec![0.0; k];
        for c in 0..k {
            logits[c] = hidden
                .iter()
                .enumerate()
                .map(|(j, hj)| w2[c * h + j] * hj)
                .sum();
        }
        let m = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let lse = m + logits.iter().map(|z| (z - m).exp()).sum::<f64>().ln();
        loss += lse - logits[labels[s]];
    }
    loss / n as f64
}

/// A generic callee with two outputs.
#[differentiate]
fn to_polar<T: Float>(x: T, y: T) -> (T, T) {
    (x.hypot(y), y.atan2(x))
}

/// Two outputs built from tuple-valued calls in a `while` loop.
#[differentiate(wrt = p)]
fn orbit(p: &[f64]) -> (f64, f64) {
    let mut i = 0;
    let mut r_sum = 0.0;
    let mut t_sum = 0.0;
    while i + 1 < p.len() {
        let (r, t) = to_polar(p[i], p[i + 1]);
        r_sum += r;
        t_sum += t * r;
        i += 1;
    }
    (r_sum, t_sum)
}

/// The value, the gradient against central finite differences, and forward mode against the
/// gradient (`<J u, 1> = <u, J^T 1>`).
fn check(
    name: &str,
    f: impl Fn(&[f64]) -> f64,
    grad: impl Fn(&[f64]) -> (f64, Vec<f64>),
    jvp: impl Fn(&[f64], &[f64]) -> (f64, f64),
    x: &[f64],
) {
    let (value, g) = grad(x);
    assert_eq!(value, f(x), "{name}: value");
    let h = 1e-6;
    for k in 0..x.len() {
        let (mut p, mut m) = (x.to_vec(), x.to_vec());
        p[k] += h;
        m[k] -= h;
        let fd = (f(&p) - f(&m)) / (2.0 * h);
        assert!(
            (g[k] - fd).abs() <= 1e-5 * (1.0 + fd.abs()),
            "{name}[{k}]: {} vs finite differences {fd}",
            g[k]
        );
    }
    let u: Vec<f64> = (0..x.len()).map(|k| (k as f64 * 1.3).cos()).collect();
    let (v, t) = jvp(x, &u);
    assert_eq!(v, value, "{name}: jvp value");
    let dot: f64 = u.iter().zip(&g).map(|(a, b)| a * b).sum();
    assert!(
        (t - dot).abs() <= 1e-10 * (1.0 + dot.abs()),
        "{name}: {t} vs {dot}"
    );
}

#[test]
fn an_integrator_with_stage_arrays() {
    check("rk4", rk4, rk4_grad, rk4_jvp, &[2.0, 0.3]);
}

#[test]
fn a_loss_with_a_vector_per_row() {
    let x: Vec<f64> = (0..12).map(|i| (i as f64 * 0.7).sin()).collect();
    check(
        "rows_loss",
        |w| rows_loss(w, &x, 4, 3),
        |w| rows_loss_grad(w, &x, 4, 3),
        |w, u| rows_loss_jvp(w, &x, 4, 3, u),
        &[0.5, -0.3, 0.8],
    );
}

#[test]
fn newton_iterations_stopped_by_break() {
    check(
        "cube_roots",
        cube_roots,
        cube_roots_grad,
        cube_roots_jvp,
        &[2.0, 5.0, 0.5],
    );
}

#[test]
fn a_generic_fold_through_a_tuple_valued_call() {
    let x = [0.3, -0.8, 1.1, 0.4, 0.9];
    check(
        "windows",
        |x| windows(x, 3),
        |x| windows_grad(x, 3),
        |x, u| windows_jvp(x, 3, u),
        &x,
    );
    let x32 = [0.3_f32, -0.8, 1.1, 0.4];
    let (v32, g32) = windows_grad(&x32, 2);
    let (v64, g64) = windows_grad(&[0.3, -0.8, 1.1, 0.4], 2);
    assert!((f64::from(v32) - v64).abs() < 1e-5);
    for (a, b) in g32.iter().zip(&g64) {
        assert!((f64::from(*a) - b).abs() < 1e-4, "{a} vs {b}");
    }
}

#[test]
fn array_results_fed_to_calls() {
    check(
        "cumsum_twice",
        cumsum_twice,
        cumsum_twice_grad,
        cumsum_twice_jvp,
        &[0.3, -0.8, 1.1, 0.4, 0.9],
    );
}

#[test]
fn branches_and_reversed_recurrences() {
    check(
        "conditional_writes",
        conditional_writes,
        conditional_writes_grad,
        conditional_writes_jvp,
        &[0.3, -0.8, 1.1, 0.4, 0.9],
    );
    check("grid", grid, grid_grad, grid_jvp, &[0.3, -0.8, 1.1]);
}

#[test]
fn calls_inside_carried_and_fused_loops() {
    let x = [0.3, -0.8, 1.1, 0.4, 0.9];
    check(
        "carried_state",
        carried_state,
        carried_state_grad,
        carried_state_jvp,
        &x,
    );
    check(
        "running_sum_over_a_call",
        running_sum_over_a_call,
        running_sum_over_a_call_grad,
        running_sum_over_a_call_jvp,
        &x,
    );
}

#[test]
fn arrays_created_in_while_and_loop_bodies() {
    let x = [0.3, -0.8, 1.1, 0.4, 0.9];
    check(
        "while_and_loop_locals",
        while_and_loop_locals,
        while_and_loop_locals_grad,
        while_and_loop_locals_jvp,
        &x,
    );
    // `p` passes 10 and the loop breaks early.
    check(
        "while_and_loop_locals (break)",
        while_and_loop_locals,
        while_and_loop_locals_grad,
        while_and_loop_locals_jvp,
        &[2.0, 3.0, 1.0, 4.0],
    );
}

#[test]
fn nested_sums_folds_and_early_exits() {
    let x = [0.3, -0.8, 1.1, 0.4, 0.9];
    let w = [0.5, 0.25, -1.0, 2.0, 0.1];
    check(
        "range_sums (x)",
        |x| range_sums(x, &w),
        |x| {
            let (v, (gx, _)) = range_sums_grad(x, &w);
            (v, gx)
        },
        |x, u| range_sums_jvp(x, &w, u, &[0.0; 5]),
        &x,
    );
    check(
        "fold_after_continue",
        fold_after_continue,
        fold_after_continue_grad,
        fold_after_continue_jvp,
        &x,
    );
    for cap in [2.0, 100.0] {
        check(
            "early_return_from_a_sum",
            |x| early_return_from_a_sum(x, cap),
            |x| early_return_from_a_sum_grad(x, cap),
            |x, u| early_return_from_a_sum_jvp(x, cap, u),
            &x,
        );
    }
}

#[test]
fn a_perceptron_over_slices_written_with_iterators() {
    let dims = (3, 4, 2);
    let w1: Vec<f64> = (0..12).map(|i| (i as f64 * 0.37).sin() * 0.5).collect();
    let w2: Vec<f64> = (0..8).map(|i| (i as f64 * 0.71).cos() * 0.5).collect();
    let xs: Vec<f64> = (0..15).map(|i| (i as f64 * 0.13).sin()).collect();
    let labels = [0, 1, 1, 0, 1];
    let loss = |w1: &[f64], w2: &[f64]| slice_mlp_loss(w1, w2, &xs, &labels, dims);
    let (value, (g1, g2)) = slice_mlp_loss_grad(&w1, &w2, &xs, &labels, dims);
    assert_eq!(value, loss(&w1, &w2));
    check(
        "w1",
        |w| loss(w, &w2),
        |w| {
            (
                loss(w, &w2),
                slice_mlp_loss_grad(w, &w2, &xs, &labels, dims).1 .0,
            )
        },
        |w, u| slice_mlp_loss_jvp(w, &w2, &xs, &labels, dims, u, &[0.0; 8]),
        &w1,
    );
    check(
        "w2",
        |w| loss(&w1, w),
        |w| {
            (
                loss(&w1, w),
                slice_mlp_loss_grad(&w1, w, &xs, &labels, dims).1 .1,
            )
        },
        |w, u| slice_mlp_loss_jvp(&w1, w, &xs, &labels, dims, &[0.0; 12], u),
        &w2,
    );
    assert_eq!(g1.len(), 12);
    assert_eq!(g2.len(), 8);
}

#[test]
fn a_vjp_through_tuple_valued_calls_in_a_while_loop() {
    let p = [0.3, -0.8, 1.1, 0.4];
    let seed = (0.7, -1.3);
    let (value, g) = orbit_vjp(&p, seed);
    assert_eq!(value, orbit(&p));
    let h = 1e-6;
    for k in 0..p.len() {
        let (mut a, mut b) = (p, p);
        a[k] += h;
        b[k] -= h;
        let (fa, fb) = (orbit(&a), orbit(&b));
        let fd = (seed.0 * (fa.0 - fb.0) + seed.1 * (fa.1 - fb.1)) / (2.0 * h);
        assert!(
            (g[k] - fd).abs() <= 1e-5 * (1.0 + fd.abs()),
            "p[{k}]: {} vs {fd}",
            g[k]
        );
    }
}
