//! Silent wrong gradients around arrays (issue 13), each checked at the source level against
//! central finite differences of the original function (an oracle that shares no code with
//! the macro) and, where it is short to write, the derivative worked out by hand. `_grad`,
//! `_vjp` (with a seed that is not 1) and `_jvp` (with a tangent that is not a unit vector)
//! are each compared with the oracle, not with one another.
// Written as users write numerical code: index loops, `y[i] = y[i] * c`, and `vec!` where
// an array would do (the macro lowers `Vec`s and arrays differently, and both are tested).
#![allow(
    clippy::needless_range_loop,
    clippy::assign_op_pattern,
    clippy::useless_vec
)]
use autodiff::prelude::*;

/// Central finite differences of `f` at `x`, one entry per coordinate.
fn fd(f: &dyn Fn(&[f64]) -> f64, x: &[f64]) -> Vec<f64> {
    let h = 1e-6;
    (0..x.len())
        .map(|k| {
            let (mut p, mut m) = (x.to_vec(), x.to_vec());
            p[k] += h;
            m[k] -= h;
            (f(&p) - f(&m)) / (2.0 * h)
        })
        .collect()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-5 * (1.0 + b.abs())
}

type Grad<'a> = &'a dyn Fn(&[f64]) -> (f64, Vec<f64>);
type Vjp<'a> = &'a dyn Fn(&[f64], f64) -> (f64, Vec<f64>);
type Jvp<'a> = &'a dyn Fn(&[f64], &[f64]) -> (f64, f64);

/// `grad` and `vjp` (seed 0.7) against finite differences, `jvp` against the finite
/// differences' directional derivative, values against `f`.
fn check(name: &str, f: &dyn Fn(&[f64]) -> f64, grad: Grad, vjp: Vjp, jvp: Jvp, x: &[f64]) {
    let oracle = fd(f, x);
    let (value, g) = grad(x);
    assert_eq!(value, f(x), "{name}: value");
    assert_eq!(g.len(), x.len(), "{name}: gradient length");
    for k in 0..x.len() {
        assert!(
            close(g[k], oracle[k]),
            "{name}: grad[{k}] {} vs finite differences {}",
            g[k],
            oracle[k]
        );
    }
    let (v, g) = vjp(x, 0.7);
    assert_eq!(v, value, "{name}: vjp value");
    for k in 0..x.len() {
        assert!(
            close(g[k], 0.7 * oracle[k]),
            "{name}: vjp[{k}] {} vs 0.7 * {}",
            g[k],
            oracle[k]
        );
    }
    let u: Vec<f64> = (0..x.len()).map(|k| 0.5 + (k as f64 * 1.3).cos()).collect();
    let (v, t) = jvp(x, &u);
    assert_eq!(v, value, "{name}: jvp value");
    let dot: f64 = u.iter().zip(&oracle).map(|(a, b)| a * b).sum();
    assert!(close(t, dot), "{name}: jvp {t} vs finite differences {dot}");
}

/// The same for a function of one float.
fn check1(
    name: &str,
    f: fn(f64) -> f64,
    grad: fn(f64) -> (f64, f64),
    vjp: fn(f64, f64) -> (f64, f64),
    jvp: fn(f64, f64) -> (f64, f64),
    x: f64,
) {
    check(
        name,
        &|x| f(x[0]),
        &|x| {
            let (v, g) = grad(x[0]);
            (v, vec![g])
        },
        &|x, s| {
            let (v, g) = vjp(x[0], s);
            (v, vec![g])
        },
        &|x, u| jvp(x[0], u[0]),
        &[x],
    );
}

// ---- 1. An array literal created inside a branch or a loop ----

#[differentiate(wrt = x)]
fn literal_in_branch(x: f64) -> f64 {
    let mut y = 0.0;
    if x > 0.0 {
        let c = [x * x, 3.0 * x];
        y = c[0] + c[1];
    }
    y
}

#[test]
fn an_array_literal_inside_a_branch() {
    // d/dx (x^2 + 3x) at 1 is 5 (worked by hand).
    assert_eq!(literal_in_branch_grad(1.0).1, 5.0);
    check1(
        "literal_in_branch",
        literal_in_branch,
        literal_in_branch_grad,
        literal_in_branch_vjp,
        literal_in_branch_jvp,
        1.3,
    );
    check1(
        "literal_in_branch",
        literal_in_branch,
        literal_in_branch_grad,
        literal_in_branch_vjp,
        literal_in_branch_jvp,
        -0.4,
    );
}

#[differentiate(wrt = x)]
fn literal_in_else(x: f64) -> f64 {
    let mut y = x;
    if x > 0.0 {
        y = x.sin();
    } else {
        let c = [x * x, x.exp(), 2.0];
        y = c[0] * c[1] + c[2] * y;
    }
    y
}

#[test]
fn an_array_literal_inside_an_else_branch() {
    for x in [-0.8, 0.6] {
        check1(
            "literal_in_else",
            literal_in_else,
            literal_in_else_grad,
            literal_in_else_vjp,
            literal_in_else_jvp,
            x,
        );
    }
}

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

#[differentiate(wrt = x)]
fn call_result_in_branch(x: &[f64]) -> f64 {
    let mut s = x[0];
    if x[0] < x[1] {
        let y: Vec<f64> = cumsum(x);
        s = y[1] * y[0];
    }
    s
}

#[test]
fn an_array_a_call_returns_inside_a_branch() {
    check(
        "call_result_in_branch",
        &call_result_in_branch,
        &call_result_in_branch_grad,
        &call_result_in_branch_vjp,
        &call_result_in_branch_jvp,
        &[0.3, 1.2],
    );
    check(
        "call_result_in_branch",
        &call_result_in_branch,
        &call_result_in_branch_grad,
        &call_result_in_branch_vjp,
        &call_result_in_branch_jvp,
        &[0.3, -1.2],
    );
}

#[differentiate(wrt = x)]
fn copy_read_at_the_loop_index(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        let y = x.to_vec();
        s += y[i] * y[i] * (i as f64 + 1.0);
    }
    s
}

#[test]
fn an_immutable_copy_inside_a_loop_read_at_its_index() {
    // The sum of (i + 1) x_i^2: its gradient is 2 (i + 1) x_i (by hand).
    let (_, g) = copy_read_at_the_loop_index_grad(&[0.5, 2.0]);
    assert_eq!(g, vec![1.0, 8.0]);
    check(
        "copy_read_at_the_loop_index",
        &copy_read_at_the_loop_index,
        &copy_read_at_the_loop_index_grad,
        &copy_read_at_the_loop_index_vjp,
        &copy_read_at_the_loop_index_jvp,
        &[0.3, -1.2, 0.7],
    );
}

#[differentiate(wrt = x)]
fn literal_in_loop(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        let c = [x[i] * x[i], (i as f64 + 1.0) * x[i], s];
        s = c[0] * c[1] + 0.5 * c[2];
    }
    s
}

#[test]
fn an_array_literal_inside_a_loop() {
    check(
        "literal_in_loop",
        &literal_in_loop,
        &literal_in_loop_grad,
        &literal_in_loop_vjp,
        &literal_in_loop_jvp,
        &[0.3, -1.2, 0.8],
    );
}

// ---- 4. An immutable array created in a loop and read in the same block ----

#[differentiate(wrt = x)]
fn copy_in_loop(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for t in 0..3 {
        let y = x.to_vec();
        s += y[0] * y[1] * (t as f64 + 1.0);
    }
    s
}

#[test]
fn an_immutable_copy_inside_a_loop() {
    // d/dx0 of 6 x0 x1 is 6 x1 (by hand).
    let (_, g) = copy_in_loop_grad(&[0.5, 2.0]);
    assert_eq!(g, vec![12.0, 3.0]);
    check(
        "copy_in_loop",
        &copy_in_loop,
        &copy_in_loop_grad,
        &copy_in_loop_vjp,
        &copy_in_loop_jvp,
        &[0.3, -1.2],
    );
}

#[differentiate(wrt = x)]
fn copy_of_a_running_array(x: &[f64]) -> f64 {
    let mut z = x.to_vec();
    let mut s = 0.0;
    for _ in 0..3 {
        let y = z.clone();
        for i in 0..z.len() {
            z[i] = y[i] * y[i] * 0.5 + y[(i + 1) % 2];
        }
        s += y[0] * z[1];
    }
    s
}

#[test]
fn a_copy_of_an_array_the_loop_overwrites() {
    check(
        "copy_of_a_running_array",
        &copy_of_a_running_array,
        &copy_of_a_running_array_grad,
        &copy_of_a_running_array_vjp,
        &copy_of_a_running_array_jvp,
        &[0.3, -0.7],
    );
}

#[differentiate(wrt = x)]
fn call_result_in_loop(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for t in 0..3 {
        let y: Vec<f64> = cumsum(x);
        s += y[1] * y[1] * (t as f64 + 1.0) + y[0];
    }
    s
}

#[test]
fn an_array_a_call_returns_inside_a_loop() {
    check(
        "call_result_in_loop",
        &call_result_in_loop,
        &call_result_in_loop_grad,
        &call_result_in_loop_vjp,
        &call_result_in_loop_jvp,
        &[0.3, -1.2],
    );
}
// ---- 2. An array a loop overwrites, passed to a differentiated call ----

#[differentiate(wrt = v)]
fn sumsq(v: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..v.len() {
        s += v[i] * v[i];
    }
    s
}

#[differentiate(wrt = x)]
fn scaled_sums(x: &[f64]) -> f64 {
    let mut y = vec![0.0; x.len()];
    let mut total = 0.0;
    for t in 0..3 {
        for i in 0..x.len() {
            y[i] = x[i] * (t as f64 + 1.0);
        }
        total += sumsq(&y);
    }
    total
}

#[test]
fn an_array_overwritten_in_each_iteration_passed_to_a_call() {
    // total = (1 + 4 + 9) |x|^2, whose gradient is 28 x (by hand).
    let x = [0.3, -1.2, 0.8];
    let (_, g) = scaled_sums_grad(&x);
    for k in 0..3 {
        assert!((g[k] - 28.0 * x[k]).abs() < 1e-12, "{g:?}");
    }
    check(
        "scaled_sums",
        &scaled_sums,
        &scaled_sums_grad,
        &scaled_sums_vjp,
        &scaled_sums_jvp,
        &x,
    );
}

#[differentiate(wrt = x)]
fn rewritten_after_a_call(x: &[f64]) -> f64 {
    let mut y = x.to_vec();
    let a = sumsq(&y);
    y[0] = x[1] * 3.0;
    let b = sumsq(&y);
    y[1] = a * x[0];
    a * b + y[1] * y[0]
}

#[test]
fn an_array_written_between_two_calls_without_a_loop() {
    check(
        "rewritten_after_a_call",
        &rewritten_after_a_call,
        &rewritten_after_a_call_grad,
        &rewritten_after_a_call_vjp,
        &rewritten_after_a_call_jvp,
        &[0.3, -1.2, 0.8],
    );
}

#[differentiate(wrt = x)]
fn updated_after_each_call(x: &[f64]) -> f64 {
    let mut y = x.to_vec();
    let mut total = 0.0;
    for _ in 0..3 {
        let e = sumsq(&y);
        total += e;
        for i in 0..y.len() {
            y[i] = y[i] * 0.5 + x[i] * e;
        }
    }
    total
}

#[test]
fn an_array_updated_after_each_call_in_a_loop() {
    check(
        "updated_after_each_call",
        &updated_after_each_call,
        &updated_after_each_call_grad,
        &updated_after_each_call_vjp,
        &updated_after_each_call_jvp,
        &[0.3, -0.4, 0.2],
    );
}

// ---- 3. An element written again after a call that read the array ----

#[differentiate(wrt = x)]
fn store_call_store(x: &[f64]) -> f64 {
    let mut y = vec![0.0; 2];
    y[0] = x[0] * x[1];
    y[1] = x[0];
    let a = sumsq(&y);
    y[0] = x[1];
    a + y[0] * 3.0
}

#[test]
fn an_element_written_again_after_a_call() {
    check(
        "store_call_store",
        &store_call_store,
        &store_call_store_grad,
        &store_call_store_vjp,
        &store_call_store_jvp,
        &[0.3, -1.2],
    );
}

#[differentiate(wrt = x)]
fn stored_in_loop_then_call(x: &[f64]) -> f64 {
    let n = x.len();
    let mut y = vec![0.0; n];
    let mut total = 0.0;
    for i in 0..n {
        y[i] = x[i].sin() * x[i];
        total += y[i];
    }
    let a = sumsq(&y);
    for i in 0..n {
        y[i] = x[i] * 2.0;
    }
    total * a + y[0]
}

#[test]
fn elements_stored_by_a_loop_read_by_a_call_then_overwritten() {
    check(
        "stored_in_loop_then_call",
        &stored_in_loop_then_call,
        &stored_in_loop_then_call_grad,
        &stored_in_loop_then_call_vjp,
        &stored_in_loop_then_call_jvp,
        &[0.3, -1.2, 0.5],
    );
}

#[differentiate(wrt = x)]
fn call_in_storing_loop(x: &[f64]) -> f64 {
    let n = x.len();
    let mut y = vec![0.0; n];
    let mut total = 0.0;
    for i in 0..n {
        y[i] = x[i].exp() * x[i];
        total += sumsq(&y) * y[i];
    }
    total
}

#[test]
fn a_call_inside_the_loop_that_stores_the_array() {
    check(
        "call_in_storing_loop",
        &call_in_storing_loop,
        &call_in_storing_loop_grad,
        &call_in_storing_loop_vjp,
        &call_in_storing_loop_jvp,
        &[0.3, -1.2, 0.5],
    );
}

#[differentiate(wrt = x)]
fn same_element_around_a_call(x: &[f64]) -> f64 {
    let mut y = x.to_vec();
    y[0] = x[0] * x[1];
    let a = sumsq(&y);
    y[0] = x[1];
    a + y[0] * 3.0
}

#[test]
fn the_same_element_written_before_and_after_a_call() {
    // a = (x0 x1)^2 + x1^2, plus 3 x1: d/dx0 = 2 x0 x1^2 (by hand).
    let (_, g) = same_element_around_a_call_grad(&[0.5, 2.0]);
    assert_eq!(g[0], 4.0);
    check(
        "same_element_around_a_call",
        &same_element_around_a_call,
        &same_element_around_a_call_grad,
        &same_element_around_a_call_vjp,
        &same_element_around_a_call_jvp,
        &[0.3, -1.2],
    );
}

#[differentiate(wrt = x)]
fn same_element_around_a_call_in_a_loop(x: &[f64]) -> f64 {
    let n = x.len();
    let mut y = vec![0.0; n];
    let mut total = 0.0;
    for i in 0..n {
        y[i] = x[i] * x[(i + 1) % n];
        total += sumsq(&y);
        y[i] = x[i].sin();
    }
    total + y[0] * y[1]
}

#[test]
fn the_same_element_written_before_and_after_a_call_in_a_loop() {
    check(
        "same_element_around_a_call_in_a_loop",
        &same_element_around_a_call_in_a_loop,
        &same_element_around_a_call_in_a_loop_grad,
        &same_element_around_a_call_in_a_loop_vjp,
        &same_element_around_a_call_in_a_loop_jvp,
        &[0.3, -1.2, 0.5],
    );
}

// ---- 5. Methods that change a differentiated array in place ----

#[differentiate(wrt = x)]
fn swapped(x: &[f64]) -> f64 {
    let mut z = x.to_vec();
    z[0] = z[0] * z[2];
    z.swap(0, 1);
    z[0] * 2.0 + z[1] * z[1] + z[2].sin()
}

#[test]
fn a_swap_swaps_the_derivatives() {
    // 2 x1 + (x0 x2)^2 + sin x2: d/dx1 = 2 (by hand).
    let (_, g) = swapped_grad(&[0.5, 3.0, 2.0]);
    assert_eq!(g[1], 2.0);
    check(
        "swapped",
        &swapped,
        &swapped_grad,
        &swapped_vjp,
        &swapped_jvp,
        &[0.3, -1.2, 0.8],
    );
}

#[differentiate(wrt = x)]
fn swapped_in_a_loop(x: &[f64]) -> f64 {
    let n = x.len();
    let mut z = x.to_vec();
    let mut s = 0.0;
    for i in 0..n - 1 {
        if z[i] > z[i + 1] {
            z.swap(i, i + 1);
        }
        s += z[i] * (i as f64 + 1.0);
        z[i + 1] = z[i + 1] * 1.5 + z[i];
    }
    s + z[n - 1]
}

#[test]
fn swaps_in_a_loop_and_a_branch() {
    check(
        "swapped_in_a_loop",
        &swapped_in_a_loop,
        &swapped_in_a_loop_grad,
        &swapped_in_a_loop_vjp,
        &swapped_in_a_loop_jvp,
        &[0.3, -1.2, 0.8, 0.1],
    );
}

#[differentiate(wrt = x)]
fn filled(x: &[f64]) -> f64 {
    let mut z = x.to_vec();
    let a = z[0] * z[1];
    z.fill(x[2] * x[2]);
    a + z[0] + z[1] * x[0]
}

#[test]
fn a_fill_overwrites_the_derivatives() {
    // x0 x1 + x2^2 + x2^2 x0: d/dx1 = x0 (by hand).
    let (_, g) = filled_grad(&[0.5, 3.0, 2.0]);
    assert_eq!(g, vec![3.0 + 4.0, 0.5, 4.0 + 2.0]);
    check(
        "filled",
        &filled,
        &filled_grad,
        &filled_vjp,
        &filled_jvp,
        &[0.3, -1.2, 0.8],
    );
}

#[differentiate(wrt = x)]
fn copied_from(x: &[f64]) -> f64 {
    let mut z = vec![0.0; x.len()];
    let mut s = 0.0;
    for t in 0..3 {
        let y: Vec<f64> = cumsum(x);
        z.copy_from_slice(&y);
        z[0] = z[0] * (t as f64);
        s += sumsq(&z);
    }
    s
}

#[test]
fn a_copy_from_slice_copies_the_derivatives() {
    check(
        "copied_from",
        &copied_from,
        &copied_from_grad,
        &copied_from_vjp,
        &copied_from_jvp,
        &[0.3, -1.2, 0.8],
    );
}

#[differentiate(wrt = x)]
fn copied_into_two(x: &[f64]) -> f64 {
    let mut z = vec![0.0; 2];
    z.copy_from_slice(x);
    z[0] * z[1]
}

#[test]
fn copy_from_slice_of_the_same_length() {
    check(
        "copied_into_two",
        &copied_into_two,
        &copied_into_two_grad,
        &copied_into_two_vjp,
        &copied_into_two_jvp,
        &[0.3, -1.2],
    );
}

#[test]
#[should_panic(expected = "source slice length does not match destination slice length")]
fn copy_from_slice_of_another_length_panics_as_in_rust() {
    copied_into_two_grad(&[1.0, 2.0, 3.0]);
}

/// An array without a derivative changed in place inside the loop: the reversed iteration
/// must not read it again as if unchanged.
#[differentiate(wrt = x)]
fn reversed_weights(x: &[f64], w: &[f64]) -> f64 {
    let mut order = w.to_vec();
    let mut s = 0.0;
    for i in 0..x.len() {
        s += x[i] * x[i] * order[i];
        order.rotate_left(1);
    }
    s + x[0] * order[0]
}

#[test]
fn an_array_without_a_derivative_changed_in_place_in_a_loop() {
    let w = [1.0, -2.0, 3.5, 0.25];
    check(
        "reversed_weights",
        &|x| reversed_weights(x, &w),
        &|x| reversed_weights_grad(x, &w),
        &|x, s| reversed_weights_vjp(x, &w, s),
        &|x, u| reversed_weights_jvp(x, &w, u),
        &[0.3, -1.2, 0.8],
    );
}

fn bump(w: &mut [f64]) {
    for v in w.iter_mut() {
        *v = *v * 1.5 + 1.0;
    }
}

/// An array without a derivative changed through `&mut` by a plain function inside the
/// loop: counted as a write, so the reversed iteration does not read the final values.
#[differentiate(wrt = x)]
fn bumped_weights(x: &[f64], w: &[f64]) -> f64 {
    let mut weights = w.to_vec();
    let mut s = 0.0;
    for i in 0..x.len() {
        s += x[i] * x[i] * weights[i];
        bump(&mut weights);
    }
    s
}

#[test]
fn an_array_without_a_derivative_changed_through_mut_in_a_loop() {
    let w = [1.0, -2.0, 3.5];
    check(
        "bumped_weights",
        &|x| bumped_weights(x, &w),
        &|x| bumped_weights_grad(x, &w),
        &|x, s| bumped_weights_vjp(x, &w, s),
        &|x, u| bumped_weights_jvp(x, &w, u),
        &[0.3, -1.2, 0.8],
    );
}

// ---- Class members: arrays the lowering hoists, and arrays calls read ----

#[differentiate(wrt = x)]
fn scratch_in_branch(x: &[f64]) -> f64 {
    let mut y = x[0];
    if x[0] > 0.0 {
        let mut z = [0.0; 2];
        z[0] = x[0] * x[1];
        z[1] = z[0] * x[0] + y;
        y = z[1] * z[0];
    }
    y
}

#[test]
fn a_scratch_array_created_in_a_branch() {
    for x in [[0.3, -1.2], [-0.3, 0.7]] {
        check(
            "scratch_in_branch",
            &scratch_in_branch,
            &scratch_in_branch_grad,
            &scratch_in_branch_vjp,
            &scratch_in_branch_jvp,
            &x,
        );
    }
}

#[differentiate(wrt = x)]
fn copy_in_branch_in_loop(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for t in 0..4 {
        if t % 2 == 0 {
            let mut y = x.to_vec();
            y[0] = y[0] * (t as f64 + 2.0);
            s += y[0] * y[1];
        } else {
            let c = [x[1], s];
            s = c[0] * c[1] + s;
        }
    }
    s
}

#[test]
fn a_copy_and_a_literal_in_the_branches_of_a_loop() {
    check(
        "copy_in_branch_in_loop",
        &copy_in_branch_in_loop,
        &copy_in_branch_in_loop_grad,
        &copy_in_branch_in_loop_vjp,
        &copy_in_branch_in_loop_jvp,
        &[0.3, -1.2],
    );
}

/// GMM's shape: a scratch array refilled per component, read by a call and by an inner loop
/// whose values are kept (a replay or a fused loop reverses it).
#[differentiate(wrt = [x, mu])]
fn components(x: &[f64], mu: &[f64]) -> f64 {
    let d = x.len();
    let k = mu.len() / d;
    let mut xc = vec![0.0; d];
    let mut total = 0.0;
    for c in 0..k {
        for j in 0..d {
            xc[j] = x[j] - mu[c * d + j];
        }
        let e = sumsq(&xc);
        let mut acc = 0.0;
        for j in 0..d {
            acc += (xc[j] * 0.5).exp();
        }
        total += e * acc;
    }
    total
}

#[test]
fn a_scratch_array_read_by_a_call_in_a_replayed_or_fused_loop() {
    let x = [0.3, -0.4];
    let mu = [0.1, 0.2, -0.3, 0.5, 0.7, -0.2];
    let f = |p: &[f64]| components(&p[..2], &p[2..]);
    check(
        "components",
        &f,
        &|p| {
            let (v, (gx, gm)) = components_grad(&p[..2], &p[2..]);
            (v, gx.into_iter().chain(gm).collect())
        },
        &|p, s| {
            let (v, (gx, gm)) = components_vjp(&p[..2], &p[2..], s);
            (v, gx.into_iter().chain(gm).collect())
        },
        &|p, u| components_jvp(&p[..2], &p[2..], &u[..2], &u[2..]),
        &[x.as_slice(), mu.as_slice()].concat(),
    );
}

/// The scratch array written after the call in the same iteration, in a top-level loop that
/// only adds into a sum (a fused loop).
#[differentiate(wrt = x)]
fn written_after_the_call_in_a_sum(x: &[f64]) -> f64 {
    let d = x.len();
    let mut y = vec![0.0; d];
    let mut total = 0.0;
    for t in 0..3 {
        for j in 0..d {
            y[j] = x[j] * (t as f64 + 1.0);
        }
        let e = sumsq(&y);
        for j in 0..d {
            y[j] = y[j] * e;
        }
        total += y[0] + e;
    }
    total
}

#[test]
fn an_array_written_after_the_call_in_a_sum_loop() {
    check(
        "written_after_the_call_in_a_sum",
        &written_after_the_call_in_a_sum,
        &written_after_the_call_in_a_sum_grad,
        &written_after_the_call_in_a_sum_vjp,
        &written_after_the_call_in_a_sum_jvp,
        &[0.3, -0.4, 0.2],
    );
}

#[differentiate(wrt = x)]
fn call_in_while(x: &[f64]) -> f64 {
    let mut y = x.to_vec();
    let mut total = 0.0;
    let mut it = 0;
    while it < 3 {
        total += sumsq(&y) * 0.1;
        y.swap(0, 1);
        y[0] = y[0] * 0.5 + y[1];
        it += 1;
    }
    total
}

#[test]
fn an_array_swapped_and_written_between_calls_in_a_while_loop() {
    check(
        "call_in_while",
        &call_in_while,
        &call_in_while_grad,
        &call_in_while_vjp,
        &call_in_while_jvp,
        &[0.3, -0.4, 0.2],
    );
}

#[differentiate(wrt = x)]
fn call_results_chained_in_loop(x: &[f64]) -> f64 {
    let mut s = 0.0;
    let mut z = x.to_vec();
    for _ in 0..2 {
        let c: Vec<f64> = cumsum(&z);
        s += sumsq(&c);
        z[1] = c[0] * z[1];
    }
    s
}

#[test]
fn a_call_result_passed_to_another_call_in_a_loop() {
    check(
        "call_results_chained_in_loop",
        &call_results_chained_in_loop,
        &call_results_chained_in_loop_grad,
        &call_results_chained_in_loop_vjp,
        &call_results_chained_in_loop_jvp,
        &[0.3, -0.4, 0.2],
    );
}

/// The same with a product over components (a replayed loop, not a fused one).
#[differentiate(wrt = x)]
fn components_product(x: &[f64], mu: &[f64]) -> f64 {
    let d = x.len();
    let k = mu.len() / d;
    let mut xc = vec![0.0; d];
    let mut prod = 1.0;
    for c in 0..k {
        for j in 0..d {
            xc[j] = x[j] - mu[c * d + j];
        }
        let e = sumsq(&xc);
        let mut acc = 0.0;
        for j in 0..d {
            acc += (xc[j] * 0.5).exp();
        }
        prod = prod * (e * acc * 0.1 + 1.0);
    }
    prod
}

#[test]
fn a_scratch_array_read_by_a_call_in_a_replayed_loop() {
    let mu = [0.1, 0.2, -0.3, 0.5, 0.7, -0.2];
    check(
        "components_product",
        &|x| components_product(x, &mu),
        &|x| components_product_grad(x, &mu),
        &|x, s| components_product_vjp(x, &mu, s),
        &|x, u| components_product_jvp(x, &mu, u),
        &[0.3, -0.4],
    );
}

// ---- Class members: `[v; n]` and `vec![v; n]` with a value that carries a derivative ----

#[differentiate(wrt = x)]
fn repeat_of_active(x: &[f64]) -> f64 {
    let y = [x[0] * 2.0; 3];
    let z = vec![x[1]; 2];
    y[1] * y[2] + z[0] * x[0]
}

#[test]
fn a_repeat_array_of_a_differentiated_value() {
    // 4 x0^2 + x1 x0: d/dx0 = 8 x0 + x1 (by hand).
    let (_, g) = repeat_of_active_grad(&[0.5, 3.0]);
    assert_eq!(g, vec![7.0, 0.5]);
    check(
        "repeat_of_active",
        &repeat_of_active,
        &repeat_of_active_grad,
        &repeat_of_active_vjp,
        &repeat_of_active_jvp,
        &[0.3, -1.2],
    );
}

#[differentiate(wrt = x)]
fn written_repeat_of_active(x: &[f64]) -> f64 {
    let mut y = [x[0]; 3];
    y[0] = 1.0;
    let mut s = 0.0;
    for t in 0..2 {
        let mut z = [x[1] * 2.0; 2];
        z[1] = z[1] * x[0] * (t as f64 + 1.0);
        s += z[0] * z[1];
    }
    y[0] * y[1] * y[2] + s
}

#[test]
fn a_written_repeat_array_of_a_differentiated_value() {
    check(
        "written_repeat_of_active",
        &written_repeat_of_active,
        &written_repeat_of_active_grad,
        &written_repeat_of_active_vjp,
        &written_repeat_of_active_jvp,
        &[0.3, -1.2],
    );
}

#[differentiate(wrt = x)]
fn copy_of_a_location_in_a_loop(x: &[f64]) -> f64 {
    let mut x2 = x.to_vec();
    let mut s = 0.0;
    for _ in 0..3 {
        let mut y = x2.to_vec();
        y[0] = y[0] * y[1];
        x2[1] = y[0] + x2[1] * 0.5;
        s += y[0];
    }
    s
}

#[test]
fn a_copy_of_an_array_the_loop_writes() {
    check(
        "copy_of_a_location_in_a_loop",
        &copy_of_a_location_in_a_loop,
        &copy_of_a_location_in_a_loop_grad,
        &copy_of_a_location_in_a_loop_vjp,
        &copy_of_a_location_in_a_loop_jvp,
        &[0.3, -1.2],
    );
}

#[differentiate(wrt = x)]
fn repeat_in_loop(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        let y = [x[i] * s + x[i]; 2];
        s += y[0] * y[1];
    }
    s
}

#[test]
fn a_repeat_array_of_a_differentiated_value_in_a_loop() {
    check(
        "repeat_in_loop",
        &repeat_in_loop,
        &repeat_in_loop_grad,
        &repeat_in_loop_vjp,
        &repeat_in_loop_jvp,
        &[0.3, -1.2, 0.5],
    );
}

/// A call reading a scratch array inside an inner loop of a fused sum loop, the array
/// refilled by a loop nested in the inner one (the snapshot strategy).
#[differentiate(wrt = x)]
fn call_in_nested_scratch_loops(x: &[f64]) -> f64 {
    let d = x.len();
    let mut xc = vec![0.0; d];
    let mut total = 0.0;
    for c in 0..2 {
        let mut acc = 0.0;
        for j in 0..d {
            for m in 0..d {
                xc[m] = x[m] * ((j + c) as f64 + 1.0) - x[j];
            }
            let mut inner = 0.0;
            for m in 0..d {
                inner += (xc[m] * 0.3).exp();
            }
            acc += sumsq(&xc) * x[j] + inner;
        }
        total += acc;
    }
    total
}

#[test]
fn a_call_reading_a_scratch_array_in_nested_loops() {
    check(
        "call_in_nested_scratch_loops",
        &call_in_nested_scratch_loops,
        &call_in_nested_scratch_loops_grad,
        &call_in_nested_scratch_loops_vjp,
        &call_in_nested_scratch_loops_jvp,
        &[0.3, -0.4, 0.2],
    );
}

// ---- Class members: a whole array assigned again ----

#[differentiate(wrt = x)]
fn reassigned_in_loop(x: &[f64]) -> f64 {
    let mut y = x.to_vec();
    let mut s = 0.0;
    for _ in 0..3 {
        s += y[0] * y[1];
        y = x.to_vec();
        y[1] = y[1] * s;
    }
    s + y[1]
}

#[test]
fn a_whole_array_assigned_a_copy_in_a_loop() {
    check(
        "reassigned_in_loop",
        &reassigned_in_loop,
        &reassigned_in_loop_grad,
        &reassigned_in_loop_vjp,
        &reassigned_in_loop_jvp,
        &[0.3, -1.2],
    );
}

#[differentiate(wrt = x)]
fn reassigned_a_constant(x: &[f64]) -> f64 {
    let mut y = x.to_vec();
    let a = y[0] * y[1];
    y = vec![0.0; 2];
    y[1] = a;
    y[0] + y[1] * x[0]
}

#[test]
fn a_whole_array_assigned_zeros() {
    check(
        "reassigned_a_constant",
        &reassigned_a_constant,
        &reassigned_a_constant_grad,
        &reassigned_a_constant_vjp,
        &reassigned_a_constant_jvp,
        &[0.3, -1.2],
    );
}

/// Zeros assigned over a scratch array in every iteration, after a read (was a compile error
/// on one branch and made to work on another; merged, it works).
#[differentiate(wrt = x)]
fn zeroed_each_iteration(x: &[f64]) -> f64 {
    let n = x.len();
    let mut c = vec![0.0; n];
    let mut total = 0.0;
    for i in 0..n {
        c[i] = x[i] * x[i];
        total += c[0] * x[i];
        c = vec![0.0; n];
    }
    total
}

#[test]
fn a_whole_array_zeroed_in_every_iteration() {
    check(
        "zeroed_each_iteration",
        &zeroed_each_iteration,
        &zeroed_each_iteration_grad,
        &zeroed_each_iteration_vjp,
        &zeroed_each_iteration_jvp,
        &[0.3, -1.2, 0.7],
    );
}

// ---- Class members: writes by code kept as written, seen by loop-invariant motion ----

/// Values without a derivative swapped through `&mut` in a loop: the snapshot of `a` is not
/// the same in every iteration.
#[differentiate(wrt = x)]
fn swapped_weights(x: &[f64]) -> f64 {
    let mut a = 1.0;
    let mut b = 2.5;
    let mut s = 0.0;
    for i in 0..x.len() {
        s += x[i] * x[i] * a;
        std::mem::swap(&mut a, &mut b);
    }
    s
}

#[test]
fn scalars_without_a_derivative_swapped_in_a_loop() {
    // x0^2 + 2.5 x1^2 + x2^2: the gradient is [2 x0, 5 x1, 2 x2] (by hand).
    let (v, g) = swapped_weights_grad(&[1.0, 2.0, 3.0]);
    assert_eq!(v, 1.0 + 10.0 + 9.0);
    assert_eq!(g, vec![2.0, 10.0, 6.0]);
    check(
        "swapped_weights",
        &swapped_weights,
        &swapped_weights_grad,
        &swapped_weights_vjp,
        &swapped_weights_jvp,
        &[0.3, -1.2, 0.8],
    );
}

// ---- Class members: more places an array is created or passed ----

#[differentiate(wrt = x)]
fn literal_in_while(x: &[f64]) -> f64 {
    let mut s = 0.0;
    let mut i = 0;
    while i < x.len() {
        let c = [x[i] * s, x[i].sin()];
        s += c[0] + c[1] * c[1];
        i += 1;
    }
    s
}

#[test]
fn an_array_literal_inside_a_while_loop() {
    check(
        "literal_in_while",
        &literal_in_while,
        &literal_in_while_grad,
        &literal_in_while_vjp,
        &literal_in_while_jvp,
        &[0.3, -1.2, 0.8],
    );
}

#[differentiate(wrt = v)]
fn weighted3(v: [f64; 3]) -> f64 {
    v[0] * v[1] + v[2] * v[2]
}

#[differentiate(wrt = x)]
fn call_in_branch_then_written(x: &[f64]) -> f64 {
    let mut y = [x[0], x[1], x[2]];
    let mut z = x.to_vec();
    let mut s = 0.0;
    for t in 0..3 {
        if t != 1 {
            s += weighted3(y) + sumsq(&z);
        }
        y[t] = y[t] * s + x[t];
        z[t] = z[t] * y[t];
    }
    s + y[0] + z[1]
}

#[test]
fn arrays_passed_in_a_branch_by_value_and_by_reference_then_written() {
    check(
        "call_in_branch_then_written",
        &call_in_branch_then_written,
        &call_in_branch_then_written_grad,
        &call_in_branch_then_written_vjp,
        &call_in_branch_then_written_jvp,
        &[0.3, -1.2, 0.8],
    );
}

#[differentiate(wrt = x)]
fn literal_before_an_early_return(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        let c = [x[i] * x[i], s];
        if c[0] > 1.0 {
            return s + c[0] * c[1];
        }
        s += c[0] + c[1] * 0.5;
    }
    s
}

#[test]
fn an_array_literal_in_a_loop_with_an_early_return() {
    check(
        "literal_before_an_early_return",
        &literal_before_an_early_return,
        &literal_before_an_early_return_grad,
        &literal_before_an_early_return_vjp,
        &literal_before_an_early_return_jvp,
        &[0.3, -0.7, 1.5, 0.2],
    );
    check(
        "literal_before_an_early_return",
        &literal_before_an_early_return,
        &literal_before_an_early_return_grad,
        &literal_before_an_early_return_vjp,
        &literal_before_an_early_return_jvp,
        &[0.3, -0.7, 0.5],
    );
}
