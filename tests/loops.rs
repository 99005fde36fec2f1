//! Loops, branches, mutation, arrays and slices: each construct's gradient against central
//! finite differences, against a hand-written gradient where one is short, and forward mode
//! against reverse mode (the dot-product test `<J u, w> = <u, Jᵀ w>`), over slices of
//! several lengths.
// These functions are written as users write numerical code (index loops, `&Vec` parameters),
// which is what the macro must handle; clippy would tidy some of it.
#![allow(clippy::needless_range_loop, clippy::ptr_arg)]
use autodiff::prelude::*;

/// Central finite differences of `f` at `x`.
fn numeric_gradient(f: impl Fn(&[f64]) -> f64, x: &[f64]) -> Vec<f64> {
    let h = 1e-6;
    (0..x.len())
        .map(|k| {
            let mut plus = x.to_vec();
            let mut minus = x.to_vec();
            plus[k] += h;
            minus[k] -= h;
            (f(&plus) - f(&minus)) / (2.0 * h)
        })
        .collect()
}

fn assert_close(a: &[f64], b: &[f64], tol: f64, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    for (k, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= tol * (1.0 + x.abs().max(y.abs())),
            "{what}[{k}]: {x} vs {y}"
        );
    }
}

/// A deterministic test input of length `n`.
fn input(n: usize) -> Vec<f64> {
    (0..n)
        .map(|k| ((k as f64) * 0.7 + 0.3).sin() * 1.2)
        .collect()
}

/// The checks every slice function gets: FD, and forward against reverse.
fn check_slice_fn(
    name: &str,
    f: impl Fn(&[f64]) -> f64,
    grad: impl Fn(&[f64]) -> (f64, Vec<f64>),
    jvp: impl Fn(&[f64], &[f64]) -> (f64, f64),
    lengths: &[usize],
) {
    for &n in lengths {
        let x = input(n);
        let (value, g) = grad(&x);
        assert_eq!(value, f(&x), "{name}: value");
        assert_close(
            &g,
            &numeric_gradient(&f, &x),
            1e-5,
            &format!("{name} n={n} vs finite differences"),
        );
        let u: Vec<f64> = (0..n).map(|k| ((k * 3 + 1) as f64).cos()).collect();
        let (v2, ju) = jvp(&x, &u);
        assert_eq!(v2, value, "{name}: jvp value");
        let utg: f64 = u.iter().zip(&g).map(|(a, b)| a * b).sum();
        assert!(
            (ju - utg).abs() <= 1e-10 * (1.0 + ju.abs()),
            "{name} n={n}: <Ju, 1> = {ju} but <u, J^T 1> = {utg}"
        );
    }
}

const LENGTHS: &[usize] = &[2, 3, 10, 257];

#[differentiate(wrt = x)]
fn rosenbrock(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() - 1 {
        let a = x[i + 1] - x[i] * x[i];
        let b = 1.0 - x[i];
        s += 100.0 * a * a + b * b;
    }
    s
}

fn rosenbrock_by_hand(x: &[f64]) -> Vec<f64> {
    let mut g = vec![0.0; x.len()];
    for i in 0..x.len() - 1 {
        let a = x[i + 1] - x[i] * x[i];
        g[i + 1] += 200.0 * a;
        g[i] += -400.0 * a * x[i] - 2.0 * (1.0 - x[i]);
    }
    g
}

#[test]
fn rosenbrock_over_a_slice() {
    check_slice_fn(
        "rosenbrock",
        rosenbrock,
        rosenbrock_grad,
        rosenbrock_jvp,
        LENGTHS,
    );
    let x = input(100);
    assert_close(
        &rosenbrock_grad(&x).1,
        &rosenbrock_by_hand(&x),
        1e-14,
        "rosenbrock vs by hand",
    );
}

#[differentiate(wrt = logits)]
fn softmax_cross_entropy(logits: &[f64], label: usize) -> f64 {
    let mut max = logits[0];
    for &z in logits.iter() {
        if z > max {
            max = z;
        }
    }
    let mut total = 0.0;
    for z in logits {
        total += (z - max).exp();
    }
    total.ln() + max - logits[label]
}

#[test]
fn softmax_cross_entropy_over_a_slice() {
    for n in [2, 5, 40] {
        let x = input(n);
        let label = n / 2;
        let (value, g) = softmax_cross_entropy_grad(&x, label);
        let total: f64 = x.iter().map(|z| z.exp()).sum();
        assert!((value - (total.ln() - x[label])).abs() < 1e-12);
        let by_hand: Vec<f64> = x
            .iter()
            .enumerate()
            .map(|(k, z)| z.exp() / total - if k == label { 1.0 } else { 0.0 })
            .collect();
        assert_close(&g, &by_hand, 1e-12, "softmax cross-entropy vs by hand");
        assert_close(
            &g,
            &numeric_gradient(|x| softmax_cross_entropy(x, label), &x),
            1e-5,
            "softmax cross-entropy vs FD",
        );
    }
}

#[differentiate(wrt = [x0, r])]
fn logistic(x0: f64, r: f64) -> f64 {
    let mut x = x0;
    for _ in 0..40 {
        x = r * x * (1.0 - x);
    }
    x
}

#[test]
fn a_loop_that_overwrites_its_state() {
    let (x0, r) = (0.3, 2.9);
    let (value, (gx, gr)) = logistic_grad(x0, r);
    assert_eq!(value, logistic(x0, r));
    // By hand: the chain rule through 40 iterations.
    let (mut x, mut dx0, mut dr) = (x0, 1.0, 0.0);
    for _ in 0..40 {
        let (dx_next_dx, dx_next_dr) = (r * (1.0 - 2.0 * x), x * (1.0 - x));
        dr = dx_next_dx * dr + dx_next_dr;
        dx0 *= dx_next_dx;
        x = r * x * (1.0 - x);
    }
    assert!(
        (gx - dx0).abs() < 1e-12 * (1.0 + dx0.abs()),
        "{gx} vs {dx0}"
    );
    assert!((gr - dr).abs() < 1e-12 * (1.0 + dr.abs()), "{gr} vs {dr}");
    let (_, t) = logistic_jvp(x0, r, 0.5, -2.0);
    assert!((t - (0.5 * gx - 2.0 * gr)).abs() < 1e-10);
}

/// Newton's iteration for sqrt(a): the derivative flows through every iteration.
#[differentiate(wrt = a)]
fn newton_sqrt(a: f64) -> f64 {
    let mut x = a;
    for _ in 0..30 {
        x = 0.5 * (x + a / x);
    }
    x
}

#[test]
fn newton_iteration() {
    let (value, g) = newton_sqrt_grad(2.0);
    assert!((value - 2f64.sqrt()).abs() < 1e-14);
    assert!((g - 0.5 / 2f64.sqrt()).abs() < 1e-12, "{g}");
}

/// A quadratic form over a nested array: xᵀ A x.
#[differentiate(wrt = [a, x])]
fn quadratic_form(a: &[[f64; 3]; 3], x: &[f64; 3]) -> f64 {
    let mut s = 0.0;
    for i in 0..3 {
        for j in 0..3 {
            s += x[i] * a[i][j] * x[j];
        }
    }
    s
}

#[test]
fn quadratic_form_over_a_nested_array() {
    let a = [[2.0, 1.0, 0.5], [0.0, 3.0, -1.0], [1.5, 0.25, 1.0]];
    let x = [0.3, -1.2, 2.0];
    let (_, (ga, gx)): (f64, ([[f64; 3]; 3], [f64; 3])) = quadratic_form_grad(&a, &x);
    for i in 0..3 {
        let by_hand: f64 = (0..3).map(|j| (a[i][j] + a[j][i]) * x[j]).sum();
        assert!((gx[i] - by_hand).abs() < 1e-12);
        for j in 0..3 {
            assert!((ga[i][j] - x[i] * x[j]).abs() < 1e-12);
        }
    }
    // Forward mode along x only.
    let zero = [[0.0; 3]; 3];
    let (_, t) = quadratic_form_jvp(&a, &x, &zero, &[1.0, 0.0, 0.0]);
    assert!((t - gx[0]).abs() < 1e-12);
}

/// Local arrays, element writes, compound writes, `len`, `to_vec`, `vec!`, iteration forms.
#[differentiate(wrt = x)]
fn arrays_and_iteration(x: &[f64], w: &Vec<f64>) -> f64 {
    let mut c = vec![0.0; x.len()];
    for (i, v) in x.iter().enumerate() {
        c[i] = v * 2.0;
        c[i] += *v * *v;
    }
    let mut d = x.to_vec();
    for i in 0..d.len() {
        d[i] *= c[i];
        d[i] -= 0.5 * x[i];
        d[i] /= 2.0;
    }
    let mut fixed = [0.0; 3];
    fixed[0] = d[0];
    fixed[1] = x[x.len() - 1];
    let small = [fixed[0], fixed[1], 1.5];
    let mut s = 0.0;
    for (a, b) in d.iter().zip(w.iter()) {
        s += a * b;
    }
    for k in 0..=2 {
        s += small[k] * fixed[k];
    }
    s
}

#[test]
fn local_arrays_writes_and_iteration_forms() {
    let w: Vec<f64> = input(300).iter().map(|v| v + 0.5).collect();
    check_slice_fn(
        "arrays_and_iteration",
        |x| arrays_and_iteration(x, &w),
        |x| arrays_and_iteration_grad(x, &w),
        |x, u| arrays_and_iteration_jvp(x, &w, u),
        &[2, 3, 17],
    );
}

/// Branches as statements and as expressions, `else if`, integer counters and flags.
#[differentiate(wrt = x)]
fn branches(x: &[f64], threshold: f64) -> f64 {
    let mut s = 0.0;
    let mut count = 0;
    let mut seen_negative = false;
    for i in 0..x.len() {
        let v = x[i];
        let scaled = if v > threshold {
            v * v
        } else if v < -threshold {
            -v * 3.0
        } else {
            v.sin()
        };
        if scaled > 0.5 {
            count += 1;
            s += scaled * count as f64;
        } else {
            s -= scaled;
        }
        if v < 0.0 {
            seen_negative = true;
        }
    }
    if seen_negative {
        s * 2.0
    } else {
        s
    }
}

#[test]
fn branches_follow_the_path_taken() {
    check_slice_fn(
        "branches",
        |x| branches(x, 0.6),
        |x| branches_grad(x, 0.6),
        |x, u| branches_jvp(x, 0.6, u),
        &[2, 7, 64],
    );
}

/// Nested loops with a running maximum (a location inside an inner loop).
#[differentiate(wrt = x)]
fn nested_loops(x: &[f64]) -> f64 {
    let n = x.len();
    let mut s = 0.0;
    for i in 0..n {
        let mut inner = 0.0;
        for j in 0..i {
            inner += (x[i] - x[j]).tanh();
        }
        s += inner * x[i];
    }
    s
}

#[test]
fn nested_loops_with_an_inner_accumulator() {
    check_slice_fn(
        "nested_loops",
        nested_loops,
        nested_loops_grad,
        nested_loops_jvp,
        &[2, 5, 30],
    );
}

/// A scalar parameter used inside a loop gets contributions from every iteration.
#[differentiate(wrt = [x, k])]
fn scalar_in_loop(x: &[f64], k: f64) -> f64 {
    let mut s = 0.0;
    for v in x.iter() {
        s += (k * v).sin();
    }
    s * k
}

#[test]
fn scalar_parameters_used_in_loops() {
    let x = input(12);
    let (value, (gx, gk)) = scalar_in_loop_grad(&x, 0.7);
    let h = 1e-6;
    let fd = (scalar_in_loop(&x, 0.7 + h) - scalar_in_loop(&x, 0.7 - h)) / (2.0 * h);
    assert!((gk - fd).abs() < 1e-6, "{gk} vs {fd}");
    assert_close(
        &gx,
        &numeric_gradient(|x| scalar_in_loop(x, 0.7), &x),
        1e-5,
        "x",
    );
    assert_eq!(value, scalar_in_loop(&x, 0.7));
}

/// Array outputs: `f_vjp` takes a seed of the output type.
#[differentiate(wrt = x)]
fn cumulative(x: &[f64; 4]) -> [f64; 4] {
    let mut out = [0.0; 4];
    let mut running = 0.0;
    for i in 0..4 {
        running += x[i] * x[i];
        out[i] = running;
    }
    out
}

#[test]
fn array_outputs() {
    let x = [1.0, 2.0, 3.0, 4.0];
    let (value, g) = cumulative_grad(&x);
    assert_eq!(value, [1.0, 5.0, 14.0, 30.0]);
    // d/dx_k of the sum of all outputs: 2 x_k (number of outputs that include x_k).
    assert_eq!(g, [8.0, 12.0, 12.0, 8.0]);
    let (_, g) = cumulative_vjp(&x, [0.0, 0.0, 0.0, 1.0]);
    assert_eq!(g, [2.0, 4.0, 6.0, 8.0]);
    let (_, t) = cumulative_jvp(&x, &[1.0, 0.0, 0.0, 0.0]);
    assert_eq!(t, [2.0, 2.0, 2.0, 2.0]);
}

/// `while` with a data-dependent trip count.
#[differentiate(wrt = x)]
fn halve_until_small(x: f64) -> f64 {
    let mut y = x;
    let mut steps = 0;
    while y.abs() > 1.0 {
        y = y * 0.5 + y.sin() * 0.01;
        steps += 1;
    }
    y * (steps as f64 + 1.0)
}

#[test]
fn while_loops_run_their_adjoint_as_often_as_the_body_ran() {
    for x in [0.5, 3.0, -37.0, 1000.0] {
        let (value, g) = halve_until_small_grad(x);
        assert_eq!(value, halve_until_small(x));
        let h = 1e-7;
        let fd = (halve_until_small(x + h) - halve_until_small(x - h)) / (2.0 * h);
        assert!(
            (g - fd).abs() < 1e-5 * (1.0 + fd.abs()),
            "x = {x}: {g} vs {fd}"
        );
        assert!((halve_until_small_jvp(x, 1.0).1 - g).abs() < 1e-12);
    }
}

/// `loop` with `break`, `continue`, and a `for` loop that breaks early.
#[differentiate(wrt = x)]
fn breaks_and_continues(x: &[f64]) -> f64 {
    let mut s = 0.0;
    let mut k = 0;
    loop {
        if k >= x.len() {
            break;
        }
        let v = x[k];
        k += 1;
        if v < 0.0 {
            continue;
        }
        s += v * v;
    }
    for (i, v) in x.iter().enumerate() {
        if i > 2 {
            break;
        }
        s += v.sin() * s;
    }
    s
}

#[test]
fn break_and_continue() {
    check_slice_fn(
        "breaks_and_continues",
        breaks_and_continues,
        breaks_and_continues_grad,
        breaks_and_continues_jvp,
        &[2, 5, 40],
    );
}

/// Early `return` from a branch and from inside loops.
#[differentiate(wrt = x)]
fn early_returns(x: &[f64], limit: f64) -> f64 {
    if x[0] > 100.0 {
        return x[0] * 2.0;
    }
    let mut s = 0.0;
    for i in 0..x.len() {
        for j in 0..i {
            s += x[i] * x[j];
            if s > limit {
                return s.sqrt();
            }
        }
    }
    if s < 0.0 {
        -s
    } else {
        s * 3.0
    }
}

#[test]
fn early_return_from_branches_and_loops() {
    for limit in [0.5, 3.0, 1e9] {
        check_slice_fn(
            "early_returns",
            |x| early_returns(x, limit),
            |x| early_returns_grad(x, limit),
            |x, u| early_returns_jvp(x, limit, u),
            &[2, 6, 20],
        );
    }
    let (v, g) = early_returns_grad(&[200.0, 1.0], 1.0);
    assert_eq!((v, g), (400.0, vec![2.0, 0.0]));
}

/// The same loop, generic over the float type (the reverse loop carries one element's
/// adjoint to the next iteration; its zero must take `T`).
#[differentiate(wrt = x)]
fn rosenbrock_generic<T: Float>(x: &[T]) -> T {
    let hundred = T::from(100.0).unwrap();
    let mut s = T::zero();
    for i in 0..x.len() - 1 {
        let a = x[i + 1] - x[i] * x[i];
        let b = T::one() - x[i];
        s = s + hundred * a * a + b * b;
    }
    s
}

#[test]
fn generic_loops() {
    let x = input(9);
    let (_, g64) = rosenbrock_generic_grad(&x);
    assert_close(&g64, &rosenbrock_by_hand(&x), 1e-14, "f64");
    let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
    let (_, g32) = rosenbrock_generic_grad(&x32);
    for (a, b) in g32.iter().zip(&g64) {
        assert!((*a as f64 - b).abs() < 1e-3 * (1.0 + b.abs()), "{a} vs {b}");
    }
}

/// The shape of ADBench's GMM: scratch arrays overwritten in every iteration of an outer loop,
/// then read by inner loops, and a running index `li` into packed lower-triangular storage.
/// The reverse sweep replays each outer iteration instead of saving the inner loops' values
/// and steps `li` back instead of saving it (README, "How loops are differentiated").
#[differentiate(wrt = [x, l])]
fn packed_quadratic_forms(x: &[f64], l: &[f64], d: usize) -> f64 {
    let n = x.len() / d;
    let mut z = vec![0.0; d];
    let mut y = vec![0.0; d];
    let mut total = 0.0;
    for p in 0..n {
        for j in 0..d {
            z[j] = x[p * d + j].sin();
            y[j] = z[j] * l[j];
        }
        let mut li = d;
        for a in 0..d {
            for j in a + 1..d {
                y[j] += l[li] * z[a];
                li += 1;
            }
        }
        let mut sq = 0.0;
        for j in 0..d {
            sq += y[j] * y[j];
        }
        total += (1.0 + sq).ln();
    }
    total
}

#[test]
fn scratch_arrays_and_a_packed_index_in_nested_loops() {
    for (d, n) in [(1, 3), (3, 4), (5, 7)] {
        let x = input(n * d);
        let l: Vec<f64> = input(d * (d + 1) / 2 + 1)[1..].to_vec();
        check_two_slice_fn(
            &format!("packed d={d}"),
            |x, l| packed_quadratic_forms(x, l, d),
            |x, l| packed_quadratic_forms_grad(x, l, d),
            |x, l, ux, ul| packed_quadratic_forms_jvp(x, l, d, ux, ul),
            (&x, &l),
        );
    }
}

/// The checks a function of two slices gets: its value, its gradient against finite
/// differences in each slice, and forward against reverse (`<J u, 1> = <u, J^T 1>`).
fn check_two_slice_fn(
    name: &str,
    f: impl Fn(&[f64], &[f64]) -> f64,
    grad: impl Fn(&[f64], &[f64]) -> (f64, (Vec<f64>, Vec<f64>)),
    jvp: impl Fn(&[f64], &[f64], &[f64], &[f64]) -> (f64, f64),
    (x, l): (&[f64], &[f64]),
) {
    let (value, (gx, gl)) = grad(x, l);
    assert_eq!(value, f(x, l), "{name}: value");
    let fx = numeric_gradient(|x| f(x, l), x);
    let fl = numeric_gradient(|l| f(x, l), l);
    assert_close(&gx, &fx, 1e-5, &format!("{name}: x vs finite differences"));
    assert_close(&gl, &fl, 1e-5, &format!("{name}: l vs finite differences"));
    let ux: Vec<f64> = (0..x.len()).map(|k| (k as f64 * 0.9).cos()).collect();
    let ul: Vec<f64> = (0..l.len()).map(|k| (k as f64 * 1.3).sin()).collect();
    let (v2, ju) = jvp(x, l, &ux, &ul);
    assert_eq!(v2, value, "{name}: jvp value");
    let dot: f64 = ux
        .iter()
        .zip(&gx)
        .chain(ul.iter().zip(&gl))
        .map(|(a, b)| a * b)
        .sum();
    assert!(
        (ju - dot).abs() <= 1e-10 * (1.0 + ju.abs()),
        "{name}: {ju} vs {dot}"
    );
}

/// ADBench's GMM shape, whole: a running sum over points (the reverse pass fuses it), a loop
/// over components inside it that overwrites scratch arrays and steps a packed index (its
/// reversed iterations restore the scratch arrays from snapshots), and a log-sum-exp over
/// the components with a branch.
#[differentiate(wrt = [x, l])]
fn mixture_like(x: &[f64], l: &[f64], d: usize, k: usize) -> f64 {
    let n = x.len() / d;
    let tri = d * (d - 1) / 2;
    let mut z = vec![0.0; d];
    let mut y = vec![0.0; d];
    let mut m = vec![0.0; k];
    let mut total = 0.0;
    for p in 0..n {
        for c in 0..k {
            for j in 0..d {
                z[j] = x[p * d + j].sin() - l[c];
                y[j] = z[j] * l[c].exp();
            }
            let mut li = k + c * tri;
            for a in 0..d {
                for j in a + 1..d {
                    y[j] += l[li] * z[a];
                    li += 1;
                }
            }
            let mut sq = 0.0;
            for j in 0..d {
                sq += y[j] * y[j];
            }
            m[c] = l[c] - 0.5 * sq;
        }
        let mut mx = m[0];
        for c in 1..k {
            if m[c] > mx {
                mx = m[c];
            }
        }
        let mut se = 0.0;
        for c in 0..k {
            se += (m[c] - mx).exp();
        }
        total += mx + se.ln();
    }
    total
}

#[test]
fn a_mixture_shaped_gradient() {
    for (d, k, n) in [(1, 1, 2), (2, 3, 4), (4, 3, 5)] {
        let x = input(n * d);
        let l: Vec<f64> = input(k + k * d * (d - 1) / 2 + 3)[3..]
            .iter()
            .map(|v| 0.5 * v)
            .collect();
        check_two_slice_fn(
            &format!("mixture d={d} k={k}"),
            |x, l| mixture_like(x, l, d, k),
            |x, l| mixture_like_grad(x, l, d, k),
            |x, l, ux, ul| mixture_like_jvp(x, l, d, k, ux, ul),
            (&x, &l),
        );
    }
}

/// A running sum whose increment reads the sum itself (`total += (total * s).sin()`), around
/// an inner loop that replays: the sum's adjoint changes from one iteration to the next, so
/// the loop must not be fused.
#[differentiate(wrt = x)]
fn self_feeding_sum(x: &[f64]) -> f64 {
    let n = x.len();
    let mut z = vec![0.0; n];
    let mut m = [0.0; 2];
    let mut total = 0.5;
    for p in 0..3 {
        for c in 0..2 {
            for j in 0..n {
                z[j] = x[j] * x[(j + p + c) % n];
            }
            let mut s = 0.0;
            for j in 0..n {
                s = (s + z[j]).sin();
            }
            m[c] = s;
        }
        total += (total * (m[0] + m[1])).sin();
    }
    total
}

#[test]
fn a_sum_that_feeds_itself_is_not_fused() {
    check_slice_fn(
        "self_feeding_sum",
        self_feeding_sum,
        self_feeding_sum_grad,
        self_feeding_sum_jvp,
        &[2, 5],
    );
}

/// `t[i] = x[i].exp()` in a top-level loop, and `t` written again by a later loop: the
/// reversed first loop must not read `exp` back from `t` (it holds `3 x` by then).
#[differentiate(wrt = x)]
fn stored_then_rewritten(x: &[f64]) -> f64 {
    let n = x.len();
    let mut t = vec![0.0; n];
    for i in 0..n {
        t[i] = x[i].exp();
    }
    let mut s = 0.0;
    for i in 0..n {
        s += t[i] * x[i];
    }
    for i in 0..n {
        t[i] = x[i] * 3.0;
    }
    s + t[0] * t[n - 1]
}

/// The same store, and nothing writes `t` again: its reversed loop reads `exp` back.
#[differentiate(wrt = x)]
fn stored_once(x: &[f64]) -> f64 {
    let n = x.len();
    let mut t = vec![0.0; n];
    for i in 0..n {
        t[i] = x[i].exp();
    }
    let mut s = 0.0;
    for i in 0..n {
        s += t[i] * x[i];
    }
    s
}

#[test]
fn values_read_back_from_the_array_they_were_stored_in() {
    for (name, f, grad, jvp) in [
        (
            "stored_then_rewritten",
            stored_then_rewritten as fn(&[f64]) -> f64,
            stored_then_rewritten_grad as fn(&[f64]) -> (f64, Vec<f64>),
            stored_then_rewritten_jvp as fn(&[f64], &[f64]) -> (f64, f64),
        ),
        (
            "stored_once",
            stored_once,
            stored_once_grad,
            stored_once_jvp,
        ),
    ] {
        check_slice_fn(name, f, grad, jvp, &[2, 5]);
    }
}

/// The mixture's shape, with the scratch array `z` written again by a second loop in the
/// component loop's body, and `w` filled by a loop that runs twice per component: in their
/// reversed iterations neither array holds what their first loops stored, so those values
/// are not read back from them.
#[differentiate(wrt = [x, l])]
fn mixture_rewritten(x: &[f64], l: &[f64], d: usize, k: usize) -> f64 {
    let n = x.len() / d;
    let tri = d * (d - 1) / 2;
    let mut z = vec![0.0; d];
    let mut y = vec![0.0; d];
    let mut w = vec![0.0; d];
    let mut m = vec![0.0; k];
    let mut total = 0.0;
    for p in 0..n {
        for c in 0..k {
            for j in 0..d {
                z[j] = (x[p * d + j] - l[c]).exp();
                y[j] = z[j] * l[c];
            }
            let mut li = k + c * tri;
            for a in 0..d {
                for j in a + 1..d {
                    y[j] += l[li] * z[a];
                    li += 1;
                }
            }
            let mut sq = 0.0;
            for r in 0..2 {
                for j in 0..d {
                    w[j] = (y[j] * 0.3 + r as f64).exp();
                }
                for j in 0..d {
                    sq += w[j] * w[j];
                }
            }
            for j in 0..d {
                z[j] = y[j] * 0.25;
            }
            for j in 0..d {
                sq += z[j] * z[j];
            }
            m[c] = l[c] - 0.5 * sq;
        }
        let mut se = 0.0;
        for c in 0..k {
            se += m[c].exp();
        }
        total += se.ln();
    }
    total
}

#[test]
fn arrays_written_twice_in_a_fused_loop_are_not_read_back() {
    for (d, k, n) in [(1, 1, 2), (3, 2, 3)] {
        let x = input(n * d);
        let l: Vec<f64> = input(k + k * d * (d - 1) / 2 + 3)[3..]
            .iter()
            .map(|v| 0.3 * v)
            .collect();
        check_two_slice_fn(
            &format!("mixture_rewritten d={d} k={k}"),
            |x, l| mixture_rewritten(x, l, d, k),
            |x, l| mixture_rewritten_grad(x, l, d, k),
            |x, l, ux, ul| mixture_rewritten_jvp(x, l, d, k, ux, ul),
            (&x, &l),
        );
    }
}

/// Scratch arrays created inside loops and a branch, as numerical Rust code writes them: the
/// macro creates each once before the top-level statement and refills it where it was
/// created, so every iteration still starts from `value`.
#[differentiate(wrt = x)]
fn arrays_created_in_loops(x: &[f64], d: usize) -> f64 {
    let n = x.len() / d;
    let mut total = 0.0;
    for p in 0..n {
        let mut z = vec![0.0; d];
        for j in 0..d {
            z[j] = x[p * d + j].sin();
        }
        let mut s = 0.0;
        for j in 0..d {
            s += z[j] * z[j];
        }
        total += s.ln_1p();
    }
    for p in 0..n {
        for j in 0..d {
            // a fixed-size array, and a `Vec` whose elements start from a parameter's value
            let mut pair = [1.5; 2];
            pair[j % 2] = x[p * d + j] * pair[(j + 1) % 2];
            let mut w = vec![x[0]; d];
            w[j] *= x[p * d + j];
            total += pair[0] * pair[1] + w[j] * w[(j + 1) % d];
        }
    }
    if d > 1 {
        let mut q = vec![2.0; d];
        for j in 0..d {
            q[j] = q[j] * x[j] + total;
        }
        total = q[d - 1] * q[0];
    }
    total
}

#[test]
fn arrays_created_inside_loops_and_branches() {
    for d in [1, 2, 3] {
        check_slice_fn(
            &format!("arrays_created_in_loops d={d}"),
            |x| arrays_created_in_loops(x, d),
            |x| arrays_created_in_loops_grad(x, d),
            |x, u| arrays_created_in_loops_jvp(x, d, u),
            &[2 * d, 4 * d],
        );
    }
}

/// An array created inside the branch that is the function's tail expression: its creation
/// moves before the tail.
#[differentiate(wrt = x)]
fn array_in_the_tail(x: &[f64], wide: bool) -> f64 {
    let n = x.len();
    if wide {
        let mut t = vec![0.5; n];
        for i in 0..n {
            t[i] *= x[i].exp();
        }
        t[0] * t[n - 1]
    } else {
        x[0]
    }
}

#[test]
fn an_array_created_in_the_tail_expression() {
    for wide in [true, false] {
        check_slice_fn(
            "array_in_the_tail",
            |x| array_in_the_tail(x, wide),
            |x| array_in_the_tail_grad(x, wide),
            |x, u| array_in_the_tail_jvp(x, wide, u),
            &[2, 5],
        );
    }
}

/// Reversed, the body adds into `adj_x[i + 1]` before the value it adds into `adj_x[i]` is
/// computed (both go through the local array `pair`): the carried neighbour adjoint must
/// take that value where it is known (it was read before its definition: a compile error).
#[differentiate(wrt = x)]
fn neighbours_through_a_local_pair(x: &[f64]) -> f64 {
    let mut total = 0.0;
    for i in 0..x.len() - 1 {
        let mut pair = [0.0; 2];
        pair[0] = x[i];
        pair[1] = x[i + 1];
        total += (pair[0] * pair[1]).sin() * pair[0] + pair[1];
    }
    total
}

#[test]
fn a_neighbour_adjoint_computed_late_is_carried() {
    check_slice_fn(
        "neighbours_through_a_local_pair",
        neighbours_through_a_local_pair,
        neighbours_through_a_local_pair_grad,
        neighbours_through_a_local_pair_jvp,
        LENGTHS,
    );
}

/// A working copy of an array made inside the loop (`let mut y = x.to_vec();`), changed in
/// place and summed, while the array it copies changes between iterations.
#[differentiate(wrt = x)]
fn working_copies(x: &[f64]) -> f64 {
    let n = x.len();
    let mut state = vec![0.5; n];
    let mut total = 0.0;
    for p in 0..3 {
        let mut y = x.to_vec();
        for i in 0..n {
            y[i] = (y[i] * state[i] + p as f64).sin();
        }
        let mut s = 0.0;
        for i in 0..n {
            s += y[i] * y[i];
            state[i] += y[i];
        }
        total += s.sqrt();
    }
    total
}

#[test]
fn working_copies_made_inside_a_loop() {
    check_slice_fn(
        "working_copies",
        working_copies,
        working_copies_grad,
        working_copies_jvp,
        &[2, 5],
    );
}

/// Iterator sums and folds, lowered to loops: a dot product through `zip`, a norm through
/// `map` with a `|&v|` pattern, a plain `sum()`, `enumerate` with a block closure, a product
/// by `fold` and by `product`, and running extrema by `fold` over `enumerate`, `copied` and
/// `cloned` (with a closure, and with `f64::min` itself).
#[differentiate(wrt = [x, y])]
fn iterator_sums(x: &[f64], y: &[f64]) -> f64 {
    let d: f64 = x.iter().zip(y.iter()).map(|(a, b)| a * b).sum();
    let n2 = x.iter().map(|&v| v * v).sum::<f64>();
    let s: f64 = y.iter().sum();
    let w: f64 = x
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let t = v.sin();
            t * (i as f64 + 1.0)
        })
        .sum();
    let p = x.iter().fold(1.0, |acc, v| acc * (1.0 + v * v));
    let best = y
        .iter()
        .enumerate()
        .fold(y[0], |best, (i, &v)| best.max(v * i as f64));
    let q: f64 = y.iter().map(|v| 1.0 + 0.5 * v.sin()).product();
    let top = x.iter().copied().fold(f64::NEG_INFINITY, |m, v| m.max(v));
    let low = y.iter().cloned().fold(f64::INFINITY, f64::min);
    d.tanh() + n2.sqrt() + s * w + p.ln() + best + q + top * low
}

/// A generic log-sum-exp through `map(..).sum()`.
#[differentiate(wrt = x)]
fn generic_log_sum_exp<T: Float + std::iter::Sum>(x: &[T]) -> T {
    x.iter().map(|v| v.exp()).sum::<T>().ln()
}

#[test]
fn iterator_sums_are_differentiated_as_loops() {
    for n in [2, 5] {
        let x = input(n);
        let y: Vec<f64> = (0..n).map(|k| (k as f64 * 0.4).cos()).collect();
        check_two_slice_fn(
            &format!("iterator_sums n={n}"),
            iterator_sums,
            iterator_sums_grad,
            iterator_sums_jvp,
            (&x, &y),
        );
        check_slice_fn(
            "generic_log_sum_exp",
            generic_log_sum_exp,
            generic_log_sum_exp_grad,
            generic_log_sum_exp_jvp,
            &[n],
        );
    }
    let x32: Vec<f32> = input(4).iter().map(|&v| v as f32).collect();
    let (v32, g32) = generic_log_sum_exp_grad(&x32);
    let (v64, g64) = generic_log_sum_exp_grad(&input(4));
    assert!((f64::from(v32) - v64).abs() < 1e-5);
    for (a, b) in g32.iter().zip(&g64) {
        assert!((f64::from(*a) - b).abs() < 1e-5, "{a} vs {b}");
    }
}
