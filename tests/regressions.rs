//! Silent wrong gradients found by differential testing (issue 13), each at the source level
//! against oracles that share no code with the macro: the same generic function run at dual
//! numbers (`dual::D`, num-dual's `Dual64` as a `Float`) and central finite differences.
//! Every case checks `_grad`, `_vjp` and `_jvp`, at operands that are not constants.
// The functions are written as the programs that went wrong were: `s = s * x` is a different
// statement to the macro than `s *= x`, and index loops are what it differentiates.
#![allow(
    clippy::assign_op_pattern,
    clippy::needless_range_loop,
    clippy::redundant_closure
)]
use autodiff::prelude::*;

#[macro_use]
mod dual;
use dual::{assert_close, derivative, finite_difference, gradient, D};

fn c<T: Float>(v: f64) -> T {
    T::from(v).unwrap()
}

// ---------------------------------------------------------------------------------------
// 1. `x.powi(n)` with an exponent that is not a literal: the rule took `n - 1` to be `n`.

#[differentiate(wrt = r)]
fn powi_param<T: Float>(r: T, n: i32) -> T {
    r.powi(n) * (r * T::from(0.5).unwrap()).sin()
}

#[differentiate(wrt = r)]
fn powi_loop<T: Float>(r: T, m: usize) -> T {
    let mut s = T::zero();
    for k in 0..m {
        s = s + r.powi(k as i32) / T::from(k + 1).unwrap();
    }
    s
}

/// Exponents computed from a parameter, in path form, negative, and inside a loop whose
/// reversal needs the exponent back.
#[differentiate(wrt = r)]
fn powi_computed<T: Float>(r: T, n: i32) -> T {
    let mut p = r;
    let mut total = T::zero();
    for k in 0..3 {
        p = T::powi(p, n - k) * T::from(0.9).unwrap() + r;
        total = total + r.powi(-n) + p.powi(2 * k + 1 - n);
    }
    total + p
}

/// A literal exponent 0, at 0.
#[differentiate(wrt = r)]
fn powi_zero<T: Float>(r: T) -> T {
    r.powi(0) * r + r.powi(1)
}

#[test]
fn powi_with_a_variable_exponent() {
    assert_eq!(powi_zero_grad(0.0).1, 2.0);
    assert_eq!(powi_zero_jvp(0.0, 1.5).1, 3.0);
    // The example: d/dr r³ at r = 2 is 12.
    let (_, g) = powi_param_grad(2.0_f64, 3);
    let want = 12.0 * 1.0_f64.sin() + 8.0 * 0.5 * 1.0_f64.cos();
    assert_close("d/dr r^3 sin(r/2) at 2", g, want, 1e-12);
    for n in [-3, -1, 0, 1, 2, 5] {
        check!(powi_param, powi_param_grad, powi_param_vjp, powi_param_jvp, |x| (x, n), at [2.0, -0.7, 1.3]);
    }
    for m in [0, 1, 4] {
        check!(powi_loop, powi_loop_grad, powi_loop_vjp, powi_loop_jvp, |x| (x, m), at [2.0, -0.7]);
    }
    // At r = 0 the k = 0 term's n r^(n-1) is 0 * inf: its derivative is 0, not NaN.
    assert_eq!(powi_loop_grad(0.0, 3).1, 0.5);
    assert_eq!(powi_loop_jvp(0.0, 3, 2.0).1, 1.0);
    assert_eq!(powi_param_grad(0.0, 0).1, 0.5);
    for n in [1, 2, 3] {
        check!(powi_computed, powi_computed_grad, powi_computed_vjp, powi_computed_jvp, |x| (x, n), at [0.8, 1.1]);
    }
}

// ---------------------------------------------------------------------------------------
// 2. A variable reassigned a value that carries no derivative (a constant, `T::zero()`,
//    `T::from(..)`, a passive parameter) kept the adjoint it had.

/// The example, with a literal: 0 for x < 0.
#[differentiate(wrt = x)]
fn clamp_literal(x: f64) -> f64 {
    let mut y = 3.0 * x;
    if y < 0.0 {
        y = 0.0;
    }
    y * x.cos()
}

#[differentiate(wrt = x)]
fn clamp_zero<T: Float>(x: T) -> T {
    let mut y = x * c(3.0);
    if y < T::zero() {
        y = T::zero();
    }
    y * x.cos()
}

#[differentiate(wrt = x)]
fn clamp_from<T: Float>(x: T) -> T {
    let mut y = x.sin();
    if y > T::from(0.5).unwrap() {
        y = T::from(0.5).unwrap();
    }
    y * x
}

/// Reassigned a value computed from a passive integer, and a passive parameter.
#[differentiate(wrt = x)]
fn clamp_passive<T: Float>(x: T, cap: T, k: usize) -> T {
    let mut y = x * x;
    if y > cap {
        y = cap;
    }
    let mut z = x.exp();
    if z > cap {
        z = T::from(k).unwrap();
    }
    y + z * x
}

/// An accumulator reset to zero inside a loop, every other iteration.
#[differentiate(wrt = x)]
fn reset_in_loop<T: Float>(x: T, n: usize) -> T {
    let mut acc = T::zero();
    let mut total = T::zero();
    for i in 0..n {
        acc = acc + x * T::from(i + 1).unwrap();
        if i % 2 == 1 {
            total = total + acc * x;
            acc = T::zero();
        }
    }
    total + acc * acc
}

/// Reassigned a literal in a loop (`y = 1.0`), and a literal bound through a tuple.
#[differentiate(wrt = x)]
fn literal_in_loop(x: f64, n: usize) -> f64 {
    let mut y = x;
    let mut total = 0.0;
    for i in 0..n {
        y = y * x;
        if i == 1 {
            let (a, b) = (x * 2.0, 1.0);
            total += a;
            y = b;
        }
        total += y;
    }
    total
}

/// An element of an array overwritten with a constant.
#[differentiate(wrt = x)]
fn store_constant<T: Float>(x: T) -> T {
    let mut a = [x, x * x, x.sin()];
    if x > T::zero() {
        a[1] = T::zero();
    }
    (a[0] + a[1] + a[2]) * x
}

/// Straight-line reassignments (no branch or loop).
#[differentiate(wrt = x)]
fn straight_reassign<T: Float>(x: T) -> T {
    let mut y = x * x;
    let first = y;
    y = T::one();
    first + y * x
}

#[test]
fn reassigned_constants_drop_the_old_derivative() {
    let (_, g) = clamp_literal_grad(-1.0);
    assert_eq!(g, 0.0, "the issue's example");
    for at in [-1.0, 0.4, 2.0] {
        let d = |x: f64| clamp_literal(x);
        let fd = finite_difference(d, at);
        assert_close("clamp_literal grad", clamp_literal_grad(at).1, fd, 1e-6);
        assert_close(
            "clamp_literal vjp",
            clamp_literal_vjp(at, 0.7).1,
            0.7 * fd,
            1e-6,
        );
        assert_close(
            "clamp_literal jvp",
            clamp_literal_jvp(at, -1.3).1,
            -1.3 * fd,
            1e-6,
        );
        check!(
            clamp_zero,
            clamp_zero_grad,
            clamp_zero_vjp,
            clamp_zero_jvp,
            |x| (x),
            at[at]
        );
    }
    check!(clamp_from, clamp_from_grad, clamp_from_vjp, clamp_from_jvp, |x| (x), at [0.2, 1.2]);
    for cap in [0.5, 100.0] {
        check!(clamp_passive, clamp_passive_grad, clamp_passive_vjp, clamp_passive_jvp,
            |x| (x, c(cap), 3), at [0.3, 1.5]);
    }
    for n in [1, 2, 3, 5] {
        check!(reset_in_loop, reset_in_loop_grad, reset_in_loop_vjp, reset_in_loop_jvp, |x| (x, n), at [0.6, -1.1]);
    }
    for n in [1, 2, 4] {
        for at in [0.6, 1.4] {
            let fd = finite_difference(|x| literal_in_loop(x, n), at);
            assert_close(
                "literal_in_loop grad",
                literal_in_loop_grad(at, n).1,
                fd,
                1e-6,
            );
            assert_close(
                "literal_in_loop vjp",
                literal_in_loop_vjp(at, n, 0.7).1,
                0.7 * fd,
                1e-6,
            );
            assert_close(
                "literal_in_loop jvp",
                literal_in_loop_jvp(at, n, -1.3).1,
                -1.3 * fd,
                1e-6,
            );
        }
    }
    check!(store_constant, store_constant_grad, store_constant_vjp, store_constant_jvp, |x| (x), at [0.7, -0.4]);
    check!(straight_reassign, straight_reassign_grad, straight_reassign_vjp, straight_reassign_jvp, |x| (x), at [0.7, -0.4]);
}

// ---------------------------------------------------------------------------------------
// 3. `s = t + e` was taken for the increment `s += e` whenever `t` was a copy of `s`, even
//    when `s` had been written since the copy or the copy was taken once before a loop.

/// A copy taken once before the loop: `pos = start + ..` is no increment of `pos`.
#[differentiate(wrt = x)]
fn copy_before_loop<T: Float>(x: T, n: usize) -> T {
    let mut pos = x * x;
    let start = pos;
    for k in 0..n {
        pos = start + x * T::from(k).unwrap();
    }
    pos * x
}

/// Back up, change, roll back and add: `s = backup + e` with `s` written after the copy.
#[differentiate(wrt = x)]
fn backup_and_roll_back<T: Float>(x: T, n: usize) -> T {
    let mut s = x;
    let mut trial_sum = T::zero();
    for _ in 0..n {
        let backup = s;
        s = s * x;
        trial_sum = trial_sum + s;
        s = backup + x.sin();
    }
    s + trial_sum
}

/// The same in straight-line code, with the copy in a branch.
#[differentiate(wrt = x)]
fn roll_back_in_branch<T: Float>(x: T) -> T {
    let mut s = x * x;
    let backup = s;
    if x > T::zero() {
        s = s * x;
        s = backup + x * s.sin();
    }
    s * x
}

/// A real increment next to a written location: still right (and still passed through).
#[differentiate(wrt = x)]
fn running_sums<T: Float>(x: &[T]) -> T {
    let mut s = T::zero();
    let mut p = T::one();
    for i in 0..x.len() {
        let before = s;
        s = before + x[i] * p;
        p = p * x[i];
    }
    s + p
}

#[test]
fn copies_are_increments_only_while_equal() {
    for n in [0, 1, 3] {
        check!(copy_before_loop, copy_before_loop_grad, copy_before_loop_vjp, copy_before_loop_jvp, |x| (x, n), at [0.6, -1.3]);
        check!(backup_and_roll_back, backup_and_roll_back_grad, backup_and_roll_back_vjp, backup_and_roll_back_jvp, |x| (x, n), at [0.6, -1.3]);
    }
    check!(roll_back_in_branch, roll_back_in_branch_grad, roll_back_in_branch_vjp, roll_back_in_branch_jvp, |x| (x), at [0.6, -1.3]);
    let x = [0.5, -1.2, 0.8, 1.1];
    let (value, want) = gradient(|x| running_sums(x), &x);
    let (v, g) = running_sums_grad(&x);
    assert_close("running_sums value", v, value, 1e-12);
    let (_, vjp) = running_sums_vjp(&x, 0.7);
    let t = [0.3, -0.2, 1.0, 0.5];
    let (_, jvp) = running_sums_jvp(&x, &t);
    let mut dot = 0.0;
    for i in 0..x.len() {
        assert_close("running_sums grad", g[i], want[i], 1e-10);
        assert_close("running_sums vjp", vjp[i], 0.7 * want[i], 1e-10);
        dot += want[i] * t[i];
    }
    assert_close("running_sums jvp", jvp, dot, 1e-10);
}

// ---------------------------------------------------------------------------------------
// 4. Common subexpressions were merged before `wrt` and `stop` were known: a later `x * x`
//    became the `w = x * x` that `stop` (or `wrt`) names.

#[differentiate(wrt = x, stop = [w])]
fn stop_shared(x: f64) -> f64 {
    let w = x * x;
    let z = (x * x).sin();
    w + z
}

#[differentiate(wrt = [x, w])]
fn wrt_shared(x: f64) -> f64 {
    let w: f64 = x * x;
    let z = (x * x).sin();
    w * 0.5 + z
}

/// A snapshot of a location that `stop` names, read again later.
#[differentiate(wrt = x, stop = [frozen])]
fn stop_snapshot(x: f64, n: usize) -> f64 {
    let mut s = x;
    for _ in 0..n {
        s = s * x;
    }
    let frozen = s;
    frozen + s.sin()
}

/// Dual numbers with `w` a constant: the oracle of `stop = [w]`.
fn stop_shared_oracle(x: D) -> D {
    let w = D::cst((x * x).re());
    w + (x * x).sin()
}

#[test]
fn stop_and_wrt_name_one_value_not_equal_ones() {
    for at in [0.7, -1.2] {
        let (value, exact) = derivative(stop_shared_oracle, at, 1.0);
        let (v, g) = stop_shared_grad(at);
        assert_close("stop_shared value", v, value, 1e-12);
        assert_close("stop_shared grad", g, exact, 1e-12);
        assert_close(
            "stop_shared vjp",
            stop_shared_vjp(at, 0.7).1,
            0.7 * exact,
            1e-12,
        );
        assert_close(
            "stop_shared jvp",
            stop_shared_jvp(at, -1.3).1,
            -1.3 * exact,
            1e-12,
        );
        // The number.
        if at == 0.7 {
            assert_close("stop_shared at 0.7", g, 1.235, 1e-3);
        }
        // wrt = [x, w]: x gets every path; w only its own (0.5), not the later x * x.
        let (_, (gx, gw)) = wrt_shared_grad(at);
        let (_, total) = derivative(|x| x * x * D::cst(0.5) + (x * x).sin(), at, 1.0);
        assert_close("wrt_shared d/dx", gx, total, 1e-12);
        assert_close("wrt_shared d/dw", gw, 0.5, 1e-12);
        let (_, (vx, vw)) = wrt_shared_vjp(at, 0.7);
        assert_close("wrt_shared vjp d/dx", vx, 0.7 * total, 1e-12);
        assert_close("wrt_shared vjp d/dw", vw, 0.35, 1e-12);
        // jvp: a tangent of the parameter x, through every path.
        let (_, t) = wrt_shared_jvp(at, -1.3);
        assert_close("wrt_shared jvp", t, -1.3 * total, 1e-12);
        for n in [0, 2] {
            let (_, exact) = derivative(
                |x| {
                    let s = x.powi(n as i32 + 1);
                    D::cst(s.re()) + s.sin()
                },
                at,
                1.0,
            );
            assert_close(
                "stop_snapshot grad",
                stop_snapshot_grad(at, n).1,
                exact,
                1e-12,
            );
            assert_close(
                "stop_snapshot vjp",
                stop_snapshot_vjp(at, n, 0.7).1,
                0.7 * exact,
                1e-12,
            );
            assert_close(
                "stop_snapshot jvp",
                stop_snapshot_jvp(at, n, -1.3).1,
                -1.3 * exact,
                1e-12,
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// Class of 1: every operation with a passive operand that is a value computed at run time
// (a parameter, a cast of a loop counter), in each operand position.

/// Float methods whose other operand is passive and not a constant.
#[differentiate(wrt = x)]
fn passive_operands<T: Float>(x: T, p: T, k: usize) -> T {
    let mut total = T::zero();
    for i in 0..k {
        let q = T::from(i + 2).unwrap();
        total = total
            + x.powf(q * p)
            + q.powf(x)
            + x.atan2(q)
            + q.atan2(x)
            + x.hypot(p)
            + x.log(q)
            + q.log(x)
            + x.max(p * q)
            + p.min(x)
            + x.mul_add(q, p)
            + p.mul_add(x, q)
            + q.mul_add(p, x)
            + T::powf(x, p)
            + (x * q).powi(i as i32) / q;
    }
    total
}

/// Casts of passive integers in arithmetic, and a passive `as` cast of a loop counter used
/// as an exponent and as a factor.
#[differentiate(wrt = x)]
fn casts(x: f64, n: usize) -> f64 {
    let mut s = 0.0;
    for i in 0..n {
        let e = i as i32 - 1;
        s += x.powi(e) * (i as f64) + (n - i) as f64 / x + x.powf(i as f64 * 0.5);
    }
    s
}

#[test]
fn passive_operands_computed_at_run_time() {
    for k in [1, 3] {
        for p in [0.4, 1.7] {
            check!(passive_operands, passive_operands_grad, passive_operands_vjp, passive_operands_jvp,
                |x| (x, c(p), k), at [0.9, 2.3]);
        }
    }
    for n in [1, 4] {
        for at in [0.8, 1.9] {
            let fd = finite_difference(|x| casts(x, n), at);
            assert_close("casts grad", casts_grad(at, n).1, fd, 1e-6);
            assert_close("casts vjp", casts_vjp(at, n, 0.7).1, 0.7 * fd, 1e-6);
            assert_close("casts jvp", casts_jvp(at, n, -1.3).1, -1.3 * fd, 1e-6);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Class of 2: other ways a location gets a value without a derivative.

/// Assigned a constant in one branch of an `if`/`else`, and in a loop.
#[differentiate(wrt = x)]
fn branch_constants<T: Float>(x: T) -> T {
    let mut y = x;
    if x > T::zero() {
        y = y * x;
    } else {
        y = T::one();
    }
    let mut z = x.sin();
    for _ in 0..2 {
        z = z * x;
        if z > T::one() {
            z = T::from(0.25).unwrap();
        }
    }
    y + z
}

/// An early return of a constant, and a value whose gradient is stopped assigned over one
/// that carries a derivative.
#[differentiate(wrt = x)]
fn return_constant<T: Float>(x: T, n: usize) -> T {
    let mut y = x * x;
    for i in 0..n {
        y = y * x;
        if y > T::from(10.0).unwrap() {
            return T::from(i).unwrap();
        }
        if i == 1 {
            y = stop_gradient(y * x);
        }
    }
    y
}

#[test]
fn other_values_without_a_derivative_reset_it() {
    check!(branch_constants, branch_constants_grad, branch_constants_vjp, branch_constants_jvp, |x| (x), at [0.8, -0.6, 1.3]);
    for n in [1, 3] {
        // y = x^(n+2) until it passes 10; after iteration 1 it is a constant.
        let oracle = |x: D| {
            let mut y = x * x;
            for i in 0..n {
                y = y * x;
                if y.re() > 10.0 {
                    return D::cst(i as f64);
                }
                if i == 1 {
                    y = D::cst((y * x).re());
                }
            }
            y
        };
        for at in [0.7, 1.2, 3.0] {
            let (value, exact) = derivative(oracle, at, 1.0);
            let (v, g) = return_constant_grad(at, n);
            assert_close("return_constant value", v, value, 1e-12);
            assert_close("return_constant grad", g, exact, 1e-12);
            assert_close(
                "return_constant vjp",
                return_constant_vjp(at, n, 0.7).1,
                0.7 * exact,
                1e-12,
            );
            assert_close(
                "return_constant jvp",
                return_constant_jvp(at, n, -1.3).1,
                -1.3 * exact,
                1e-12,
            );
        }
    }
}

/// A differentiated callee with an integer parameter, called with a run-time exponent.
#[differentiate(wrt = x)]
fn power<T: Float>(x: T, n: i32) -> T {
    x.powi(n)
}

/// A callee returning a constant in one output of a tuple.
#[differentiate]
fn with_constant<T: Float>(x: T) -> (T, T) {
    (x * x, T::one())
}

/// A callee with two float parameters, called with a passive one computed at run time.
#[differentiate]
fn scaled<T: Float>(x: T, c: T) -> T {
    x * c + c.sin() * x * x
}

#[differentiate(wrt = x)]
fn calls_passive<T: Float>(x: T, n: usize) -> T {
    let mut s = T::zero();
    for k in 0..n {
        let (a, b) = with_constant(x * T::from(k + 1).unwrap());
        s = s + power(x, k as i32 + 1) * b + a;
        s = s + scaled(x, T::from(k).unwrap()) + scaled(T::from(k).unwrap(), x * x);
    }
    s = s + scaled(x, T::one());
    let top = if s > T::one() { T::one() } else { s * x };
    top + s
}

#[test]
fn calls_with_passive_arguments_and_constant_outputs() {
    for n in [1, 3] {
        check!(calls_passive, calls_passive_grad, calls_passive_vjp, calls_passive_jvp, |x| (x, n), at [0.3, 0.9, -0.8]);
    }
    // The callee's own derivatives: a constant output has a zero tangent.
    let (v, (a, b)) = with_constant_jvp(1.5, 2.0);
    assert_eq!(v, (2.25, 1.0));
    assert_eq!((a, b), (6.0, 0.0));
    let (_, g) = with_constant_vjp(1.5, (0.5, 7.0));
    assert_close("with_constant vjp", g.0, 1.5, 1e-12);
}

// ---------------------------------------------------------------------------------------
// Class of 1, tensors: an axis that is a variable (a parameter, a loop counter) was passed to
// the method and to its derivative rule by reference, which did not compile.

#[differentiate(wrt = x)]
fn runtime_axes(x: &Tensor<f64>, axis: usize) -> f64 {
    let mut total = (x.softmax(axis) * x).sum() + x.sum_axis(axis).mean();
    for k in 0..2 {
        total = total
            + (x.log_softmax(k) * x).sum()
            + x.max_axis(k).sum()
            + x.logsumexp_axis(k).mean_axis(0).sum()
            + x.mean_axis(1 - k).sum();
    }
    total
}

#[test]
fn tensor_axes_computed_at_run_time() {
    let values: Vec<f64> = (0..6)
        .map(|i| ((i as f64 + 0.3) * 0.77).sin() * 1.3)
        .collect();
    let x = Tensor::from_vec(values, &[2, 3]);
    for axis in [0, 1] {
        let f = |x: &Tensor<f64>| runtime_axes(x, axis);
        let (value, g) = runtime_axes_grad(&x, axis);
        assert_eq!(value, f(&x));
        let (_, v) = runtime_axes_vjp(&x, axis, 0.7);
        let u = Tensor::from_vec(vec![0.3, -0.2, 1.0, 0.5, -0.7, 0.1], &[2, 3]);
        let (_, t) = runtime_axes_jvp(&x, axis, &u);
        let mut dot = 0.0;
        for k in 0..x.len() {
            let at = |d: f64| {
                let mut y = x.clone();
                y.as_mut_slice()[k] += d;
                y
            };
            let fd = finite_difference(|d| f(&at(d)), 0.0);
            assert_close("runtime_axes grad", g.as_slice()[k], fd, 1e-6);
            assert_close("runtime_axes vjp", v.as_slice()[k], 0.7 * fd, 1e-6);
            dot += u.as_slice()[k] * fd;
        }
        assert_close("runtime_axes jvp", t, dot, 1e-6);
    }
}

// ---------------------------------------------------------------------------------------
// `f_grad`'s seed, the rule constant 1, added into an element of an array's adjoint in a
// generic function was a bare `1.0`, which does not compile at `T`.

#[differentiate(wrt = x)]
fn elements_summed<T: Float>(x: T) -> T {
    let mut a = [x, x * x, x.sin()];
    if x > T::zero() {
        a[1] = T::zero();
    }
    a[0] + a[1] + a[2]
}

#[test]
fn a_seed_into_an_array_element_takes_the_element_type() {
    check!(elements_summed, elements_summed_grad, elements_summed_vjp, elements_summed_jvp, |x| (x), at [0.7, -0.4]);
    let (_, g) = elements_summed_grad(0.5_f32);
    assert!((g - (1.0 + 0.5_f32.cos())).abs() < 1e-6, "{g}");
}

// ---------------------------------------------------------------------------------------
// Classes of 2 and 3 inside loop nests, where the reverse sweep replays an iteration or fuses
// a running sum: copies taken outside the inner loop, constants assigned in inner loops.

/// `s = start + ..` in an inner loop, `start` copied before it; the outer sum fuses.
#[differentiate(wrt = x)]
fn nested_copy<T: Float>(x: &[T]) -> T {
    let mut total = T::zero();
    for i in 0..x.len() {
        let mut s = x[i];
        let start = s;
        for j in 0..x.len() {
            s = start + x[j] * s;
        }
        total = total + s * s;
    }
    total
}

/// A scratch array filled per outer iteration, a running maximum reset to a constant, and
/// a clipped value, in a loop nest.
#[differentiate(wrt = x)]
fn nested_resets<T: Float>(x: &[T]) -> T {
    let n = x.len();
    let mut total = T::zero();
    let mut z = vec![T::zero(); n];
    for i in 0..n {
        for j in 0..n {
            z[j] = x[j] * x[i] + T::from(j).unwrap();
        }
        let mut best = T::zero();
        for j in 0..n {
            let mut v = z[j].sin();
            if v < T::zero() {
                v = T::zero();
            }
            if j == i {
                best = T::zero();
            }
            best = best + v * z[j];
        }
        total = total + best;
    }
    total
}

/// Back up, try, and keep the trial only if it improved: a line search's shape.
#[differentiate(wrt = x)]
fn keep_if_better<T: Float>(x: &[T], steps: usize) -> T {
    let mut p = x[0];
    let mut f = p * p - x[1] * p;
    let mut step = T::one();
    for _ in 0..steps {
        let backup = p;
        let fb = f;
        p = p - step * (p + p - x[1]);
        f = p * p - x[1] * p;
        if f > fb {
            p = backup;
            f = fb;
            step = step * T::from(0.5).unwrap();
        }
    }
    f + p * x[2]
}

fn check_slice(
    name: &str,
    x: &[f64],
    oracle: impl Fn(&[D]) -> D,
    grad: impl Fn(&[f64]) -> (f64, Vec<f64>),
    vjp: impl Fn(&[f64], f64) -> (f64, Vec<f64>),
    jvp: impl Fn(&[f64], &[f64]) -> (f64, f64),
) {
    let (value, want) = gradient(&oracle, x);
    let (v, g) = grad(x);
    assert_close(&format!("{name}: value"), v, value, 1e-12);
    let (_, s) = vjp(x, 0.7);
    let t: Vec<f64> = (0..x.len()).map(|i| 0.3 - 0.4 * i as f64).collect();
    let (_, dt) = jvp(x, &t);
    let mut dot = 0.0;
    for i in 0..x.len() {
        assert_close(&format!("{name}: _grad[{i}]"), g[i], want[i], 1e-10);
        assert_close(&format!("{name}: _vjp[{i}]"), s[i], 0.7 * want[i], 1e-10);
        dot += want[i] * t[i];
    }
    assert_close(&format!("{name}: _jvp"), dt, dot, 1e-10);
}

#[test]
fn copies_and_constants_in_loop_nests() {
    for x in [&[0.3, -0.5, 0.8][..], &[0.9, 0.2, -0.4, 0.6]] {
        check_slice(
            "nested_copy",
            x,
            |x| nested_copy(x),
            nested_copy_grad,
            nested_copy_vjp,
            nested_copy_jvp,
        );
        check_slice(
            "nested_resets",
            x,
            |x| nested_resets(x),
            nested_resets_grad,
            nested_resets_vjp,
            nested_resets_jvp,
        );
    }
    for steps in [1, 4] {
        for x in [[2.0, 1.0, 0.5], [0.3, 3.0, -1.0]] {
            check_slice(
                "keep_if_better",
                &x,
                |x| keep_if_better(x, steps),
                |x| keep_if_better_grad(x, steps),
                |x, s| keep_if_better_vjp(x, steps, s),
                |x, t| keep_if_better_jvp(x, steps, t),
            );
        }
    }
}

/// A scratch array created inside the loop (so refilled with zeros each iteration) and
/// written on a shrinking prefix: the refill overwrites what the previous iteration stored.
#[differentiate(wrt = x)]
fn refilled_scratch<T: Float>(x: &[T]) -> T {
    let n = x.len();
    let mut total = T::zero();
    for i in 0..n {
        let mut z = vec![T::zero(); n];
        for j in 0..n - i {
            z[j] = x[j] * x[i];
        }
        for j in 0..n {
            total = total + z[j] * x[j].sin();
        }
    }
    total
}

/// The same with the scratch array declared once before the loop and reset by hand.
#[differentiate(wrt = x)]
fn reset_scratch<T: Float>(x: &[T]) -> T {
    let n = x.len();
    let mut total = T::zero();
    let mut z = vec![T::zero(); n];
    for i in 0..n {
        for j in 0..n {
            z[j] = T::zero();
        }
        for j in 0..n - i {
            z[j] = x[j] * x[i];
        }
        for j in 0..n {
            total = total + z[j] * x[j].sin();
        }
    }
    total
}

#[test]
fn refilled_arrays_drop_the_old_derivative() {
    for x in [&[0.3, -0.5, 0.8][..], &[0.9, 0.2, -0.4, 0.6]] {
        check_slice(
            "refilled_scratch",
            x,
            |x| refilled_scratch(x),
            refilled_scratch_grad,
            refilled_scratch_vjp,
            refilled_scratch_jvp,
        );
        check_slice(
            "reset_scratch",
            x,
            |x| reset_scratch(x),
            reset_scratch_grad,
            reset_scratch_vjp,
            reset_scratch_jvp,
        );
    }
}

/// A copy of a location the outer body then changes, read by inner loops (whose values the
/// reverse sweep would save, so the outer iteration is replayed or fused) and after them.
#[differentiate(wrt = x)]
fn replayed_copy<T: Float>(x: &[T]) -> T {
    let n = x.len();
    let mut s = T::one();
    let mut total = T::zero();
    for i in 0..n {
        let start = s;
        let mut acc = T::zero();
        for j in 0..n {
            acc = acc + (x[j] * start).sin();
        }
        s = s * x[i] + acc * T::from(0.1).unwrap();
        let mut back = T::zero();
        for j in 0..n {
            back = back + x[j] * s;
        }
        if back > T::one() {
            s = start;
        }
        total = total + acc * s + back;
    }
    total
}

#[test]
fn copies_read_by_replayed_iterations() {
    for x in [
        &[0.3, -0.5, 0.8][..],
        &[0.9, 0.2, -0.4, 0.6],
        &[1.2, 0.7, 0.9],
    ] {
        check_slice(
            "replayed_copy",
            x,
            |x| replayed_copy(x),
            replayed_copy_grad,
            replayed_copy_vjp,
            replayed_copy_jvp,
        );
    }
}

/// `wrt` naming a binding whose value is a constant, bound through a tuple; `stop` naming
/// one that equals another value.
#[differentiate(wrt = [x, b, c])]
fn constant_bindings(x: f64) -> f64 {
    let (a, b): (f64, f64) = (x * x, 1.5);
    let c: f64 = x * x;
    let d = x * x;
    a * b + c.sin() * b + d * c
}

#[test]
fn wrt_names_constant_and_equal_bindings() {
    for x in [0.4, -1.1] {
        let (value, (gx, gb, gc)) = constant_bindings_grad(x);
        assert_close("value", value, constant_bindings(x), 1e-12);
        // Total derivative in x; partials in b and c with the other bindings held.
        let (_, tx) = derivative(
            |x| {
                let (a, b) = (x * x, D::cst(1.5));
                let c = x * x;
                a * b + c.sin() * b + x * x * c
            },
            x,
            1.0,
        );
        assert_close("d/dx", gx, tx, 1e-12);
        assert_close("d/db", gb, x * x + (x * x).sin(), 1e-12);
        assert_close("d/dc", gc, (x * x).cos() * 1.5 + x * x, 1e-12);
        let (_, (vx, vb, vc)) = constant_bindings_vjp(x, 0.7);
        assert_close("vjp d/dx", vx, 0.7 * tx, 1e-12);
        assert_close("vjp d/db", vb, 0.7 * gb, 1e-12);
        assert_close("vjp d/dc", vc, 0.7 * gc, 1e-12);
        assert_close("jvp", constant_bindings_jvp(x, -1.3).1, -1.3 * tx, 1e-12);
    }
}

/// An integer location as a run-time exponent, and a passive float location as one.
#[differentiate(wrt = x)]
fn exponent_locations<T: Float>(x: T, n: usize) -> T {
    let mut e = 1;
    let mut p = T::from(0.5).unwrap();
    let mut total = T::zero();
    for _ in 0..n {
        total = total + x.powi(e) + x.powf(p);
        e = e * 2 - 1 + (e % 3);
        p = p + T::from(0.25).unwrap();
    }
    total
}

#[test]
fn exponents_held_in_locations() {
    for n in [1, 4] {
        check!(exponent_locations, exponent_locations_grad, exponent_locations_vjp, exponent_locations_jvp, |x| (x, n), at [0.7, 1.3]);
    }
}

/// A whole array reassigned where it carries no derivative: still accepted, and right.
#[differentiate(wrt = x)]
fn passive_array_reassigned<T: Float>(x: &[T]) -> T {
    let n = x.len();
    let mut w = vec![T::zero(); n];
    let mut total = T::zero();
    for i in 0..n {
        w = vec![T::from(i + 1).unwrap(); n];
        total = total + x[i] * w[0] * x[i];
    }
    total
}

#[test]
fn passive_arrays_may_be_reassigned() {
    let x = [0.3, -0.5, 0.8];
    check_slice(
        "passive_array_reassigned",
        &x,
        |x| passive_array_reassigned(x),
        passive_array_reassigned_grad,
        passive_array_reassigned_vjp,
        passive_array_reassigned_jvp,
    );
}

/// The literal-constant assignments at `f32`: the constant's zero tangent takes `f32`.
#[differentiate(wrt = x)]
fn clamp_f32(x: f32) -> f32 {
    let mut y = 3.0 * x;
    if y < 0.0 {
        y = 0.0;
    }
    let mut a = [x, 2.0 * x];
    if x > 1.0 {
        a[1] = 1.0;
    }
    y * x + a[0] * a[1]
}

#[test]
fn constants_assigned_at_f32() {
    for x in [-1.0_f32, 0.5, 2.0] {
        let want = if x < 0.0 { 0.0 } else { 6.0 * x } + if x > 1.0 { 1.0 } else { 4.0 * x };
        let (_, g) = clamp_f32_grad(x);
        assert!(
            (g - want).abs() < 1e-5,
            "clamp_f32_grad({x}) = {g}, want {want}"
        );
        let (_, v) = clamp_f32_vjp(x, 0.5);
        assert!((v - 0.5 * want).abs() < 1e-5, "clamp_f32_vjp({x}) = {v}");
        let (_, t) = clamp_f32_jvp(x, -2.0);
        assert!((t + 2.0 * want).abs() < 1e-5, "clamp_f32_jvp({x}) = {t}");
    }
}

// ---------------------------------------------------------------------------------------
// `f_grad`'s seed reaching a value that a later loop reads became `let mut adj_s = 1.0;`,
// an f64, which does not compile in a generic function (found by a random program).

#[differentiate(wrt = x)]
fn seed_into_a_loop<T: Float>(x: T, n: usize) -> T {
    let s = x.sin();
    let mut a = x * x;
    for _ in 0..n {
        a = (a * s).tanh();
    }
    s + a * x
}

#[test]
fn a_seed_promoted_before_a_loop_takes_the_value_type() {
    for n in [0, 2] {
        check!(seed_into_a_loop, seed_into_a_loop_grad, seed_into_a_loop_vjp, seed_into_a_loop_jvp, |x| (x, n), at [0.7, -1.2]);
    }
    let (_, g) = seed_into_a_loop_grad(0.7_f32, 2);
    let (_, want) = seed_into_a_loop_grad(0.7_f64, 2);
    assert!((g as f64 - want).abs() < 1e-5, "{g} vs {want}");
}

/// The same run-time exponent `m - 1` in a branch of a loop and after it: common
/// subexpressions merge the two, and the derivative's `n - 1` must follow (found by a random
/// program; `n - 1` kept as written named a value the merge had removed).
#[differentiate(wrt = x)]
fn exponent_shared<T: Float>(x: T, n: usize, m: i32) -> T {
    let mut s = x;
    let mut a = x * x;
    for _ in 0..n {
        if x < T::from(0.5).unwrap() {
            s = s * x;
        } else {
            a = T::one() + a * x;
            s = T::from(0.3).unwrap() - a.powi(m - 1).tanh();
        }
        s = s + a.powi(m - 1).tanh();
    }
    s + a * x
}

#[test]
fn a_shared_run_time_exponent() {
    for (n, m) in [(1, 2), (3, 0), (2, -1)] {
        check!(exponent_shared, exponent_shared_grad, exponent_shared_vjp, exponent_shared_jvp, |x| (x, n, m), at [0.3, 0.9]);
    }
}

/// `x.powi(0)` is connected to `x` (TensorFlow's `None` is only for no path at all): its
/// gradient is `Some(0)`.
#[differentiate(wrt = x, unconnected = none)]
fn powi_zero_connected(x: f64) -> f64 {
    x.powi(0)
}

#[test]
fn powi_zero_stays_connected() {
    assert_eq!(powi_zero_connected_grad(0.0).1, Some(0.0));
    assert_eq!(powi_zero_connected_grad(1.5).1, Some(0.0));
}

/// `x.signum()` is connected to `x` too (its derivative is 0, as TensorFlow's `sign`'s):
/// `Some(0)`, not `None`. Found by the property tests once they drew every op of the
/// registry (activity said connected, the reverse sweep never reached `x`).
#[differentiate(wrt = x, unconnected = none)]
fn signum_connected(x: f64) -> f64 {
    x.signum() * 3.0
}

#[test]
fn signum_stays_connected() {
    for x in [0.5, -2.0, 0.0] {
        let (want_value, want) = derivative(|x| x.signum() * D::cst(3.0), x, 1.0);
        let (value, g) = signum_connected_grad(x);
        assert_eq!(value, want_value);
        assert_eq!(value, x.signum() * 3.0);
        assert_eq!(g, Some(want));
        assert_eq!(signum_connected_jvp(x, 0.7), (value, 0.7 * want));
    }
}
