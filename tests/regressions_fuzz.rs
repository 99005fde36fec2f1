//! Findings of the differential tester (difftest/) after issue 13's nine classes were fixed,
//! each at the source level against the same generic function run at dual numbers
//! (`dual::D`) and central finite differences (`check!`: `_grad`, `_vjp` and `_jvp`).
#![allow(
    clippy::assign_op_pattern,
    clippy::needless_range_loop,
    // The forms under test, written as the differential tester wrote them.
    clippy::useless_vec,
    clippy::needless_ifs
)]
use autodiff::prelude::*;

#[macro_use]
mod dual;
use dual::D;

// difftest seed 12: "cannot find value `__autodiff_unbound_N`". A read `z[1]` is known to
// common-subexpression elimination under two keys (a forwarded element and an index
// expression); after code that may change `z` (the comparison) forgot the first, a later
// read was replaced by one that had itself been replaced, and its definition was dropped.
#[differentiate(wrt = x)]
fn reads_after_opaque<T: Float>(x: T) -> T {
    let z = vec![T::from(-0.52).unwrap(); 3];
    let a = z[1];
    if -a < (z[0] * x).tanh() {}
    let b = z[1].tan() * x;
    z[1] * x + b
}

#[test]
fn a_value_replaced_twice_keeps_its_definition() {
    check!(reads_after_opaque, reads_after_opaque_grad, reads_after_opaque_vjp, reads_after_opaque_jvp, |x| (x), at [0.3, -1.1]);
}

// "a reversed loop with `break` is not supported" (difftest/findings/break_in_reversed_loop.rs):
// the loop counts forward and binds the mirrored index. The array's elements depend on `x`,
// so the adjoints land at the mirrored index too.
#[differentiate(wrt = x)]
fn reversed_break<T: Float>(x: T, stop_at: f64) -> T {
    let stop_at = T::from(stop_at).unwrap();
    let xs = [x, x * x + T::one(), T::from(2.0).unwrap() - x];
    let mut s = x;
    for i in (0..3).rev() {
        if xs[i] < stop_at {
            break;
        }
        s = s * xs[i] + T::from(i as f64).unwrap() * x;
    }
    s
}

#[differentiate(wrt = x)]
fn reversed_inclusive_continue<T: Float>(x: T, skip_below: f64) -> T {
    let skip_below = T::from(skip_below).unwrap();
    let xs = [x.sin(), x * x, T::from(2.0).unwrap() - x, x.exp()];
    let mut s = T::one();
    for i in (1..=3).rev() {
        if xs[i] < skip_below {
            continue;
        }
        s = s * xs[i] + xs[i - 1];
    }
    s
}

#[differentiate(wrt = x)]
fn reversed_iter_break<T: Float>(x: T, ys: &[T]) -> T {
    let mut s = x;
    for (k, y) in ys.iter().enumerate().rev() {
        if s > T::from(10.0).unwrap() {
            break;
        }
        s = s * *y + T::from(k as f64).unwrap() * x.sin();
    }
    s
}

// A `break` of a `loop` nested in a reversed loop.
#[differentiate(wrt = x)]
fn break_nested_in_reversed<T: Float>(x: T) -> T {
    let mut s = x;
    for i in (0..4).rev() {
        let mut n = 0;
        loop {
            if n >= i {
                break;
            }
            n += 1;
            s = s * x + T::from(0.1).unwrap();
        }
    }
    s
}

#[test]
fn reversed_loops_with_break_and_continue() {
    for stop_at in [1.0, 1.4, 5.0] {
        check!(reversed_break, reversed_break_grad, reversed_break_vjp, reversed_break_jvp, |x| (x, stop_at), at [0.7, 1.2, -0.4]);
    }
    for skip_below in [0.5, 1.5] {
        check!(reversed_inclusive_continue, reversed_inclusive_continue_grad, reversed_inclusive_continue_vjp, reversed_inclusive_continue_jvp, |x| (x, skip_below), at [0.7, 1.3]);
    }
    let ys = [1.5, 2.5, 3.0, 0.5];
    let yd = ys.map(D::cst);
    for at in [0.9, 2.0] {
        dual::check_scalar(
            "reversed_iter_break",
            at,
            |x| reversed_iter_break(x, &ys),
            |x| reversed_iter_break(x, &yd),
            |x| reversed_iter_break_grad(x, &ys),
            |x, s| reversed_iter_break_vjp(x, &ys, s),
            |x, t| reversed_iter_break_jvp(x, &ys, t),
        );
    }
    check!(break_nested_in_reversed, break_nested_in_reversed_grad, break_nested_in_reversed_vjp, break_nested_in_reversed_jvp, |x| (x), at [0.8, -0.6]);
}

// "declare `a` with `let mut` to assign it inside a branch or loop" for a `let mut` assigned
// at the top level after an early `return` (difftest seed 2026 program 73: `a9 += a9;`):
// the rest of the body is lowered as the block that runs when nothing returned, where a
// `let mut` that no branch or loop assigns may be bound again.
#[differentiate(wrt = x)]
fn assigned_after_return<T: Float + std::ops::AddAssign>(x: T, y: f64) -> T {
    let y = T::from(y).unwrap();
    let mut c = x * T::from(0.5).unwrap();
    if y < x {
        return y * T::from(2.0).unwrap();
    }
    let mut a = x;
    let mut b = x * y;
    a = a + y.sin();
    b = (if b < y { a } else { b }).powi(2);
    c += c * y;
    y + a * b + c
}

#[test]
fn a_name_bound_after_an_early_return_may_be_bound_again() {
    for y in [0.4, 2.5] {
        check!(assigned_after_return, assigned_after_return_grad, assigned_after_return_vjp, assigned_after_return_jvp, |x| (x, y), at [1.1, 0.6]);
    }
}

// Early returns (difftest/findings/early_return_rejected.rs), three rejections of programs
// the README supports. (a) An `if` statement at the end of a branch's block was taken for
// the function's tail, "one more return": "return a tuple expression of 2 values" or "a
// loop has no value here". Only the body's own tail is.
#[differentiate]
fn inner_if_at_a_block_end<T: Float>(x: T, y: T) -> (T, T) {
    let xy = [x, y];
    for v in xy.iter() {
        if *v > T::from(3.0).unwrap() {
            return (x * *v, y);
        }
    }
    let mut s = x * y;
    if x < y {
        s = s + x.sin();
        if y < T::one() {
            s = s * y;
        }
    }
    (s, x + y)
}

// (b) Statements after a `return` in the same block never run: "this block has no value".
#[differentiate(wrt = x)]
#[allow(unreachable_code)]
fn code_after_return<T: Float>(x: T) -> T {
    let z = [T::from(0.5).unwrap(), x, T::from(0.5).unwrap()];
    if z[2] < (x * T::from(-1.58).unwrap()).abs() {
        let a = x * x;
        return a;
        if x.sin() < z[1] {}
    }
    x.cos()
}

#[test]
fn early_returns_in_branches() {
    for at in [0.4, 2.0, 3.5] {
        let (out, (gx, gy)) = inner_if_at_a_block_end_grad(at, 0.7);
        let dx = inner_if_at_a_block_end(D::var(at, 1.0), D::cst(0.7));
        let dy = inner_if_at_a_block_end(D::cst(at), D::var(0.7, 1.0));
        let primal = inner_if_at_a_block_end(at, 0.7);
        assert_eq!(out, primal);
        dual::assert_close("d/dx", gx, dx.0.eps() + dx.1.eps(), 1e-12);
        dual::assert_close("d/dy", gy, dy.0.eps() + dy.1.eps(), 1e-12);
        let (_, t) = inner_if_at_a_block_end_jvp(at, 0.7, 1.0, -0.5);
        dual::assert_close("jvp 0", t.0, dx.0.eps() - 0.5 * dy.0.eps(), 1e-12);
        dual::assert_close("jvp 1", t.1, dx.1.eps() - 0.5 * dy.1.eps(), 1e-12);
    }
    check!(code_after_return, code_after_return_grad, code_after_return_vjp, code_after_return_jvp, |x| (x), at [0.2, 1.3, -0.8]);
}

// difftest seed 2026 program 589: "cannot find value `adj_acc_1`". A read of a location
// that a loop never assigns moved before the loop, also when the loop declares it (the
// adjoint of an inner reduction's accumulator, `let mut adj_acc_1 = 0.0;` in every
// reversed iteration).
#[differentiate(wrt = x)]
fn nested_reductions<T: Float + std::iter::Sum + std::iter::Product>(x: T, xs: &[T]) -> T {
    let z = vec![T::zero(); 3];
    let a = xs
        .iter()
        .copied()
        .map(|c| z.iter().copied().map(|_d| x).sum::<T>().signum() * c)
        .product::<T>();
    let b = xs
        .iter()
        .copied()
        .map(|c| z.iter().copied().map(|d| x * c + d).sum::<T>().tanh())
        .product::<T>();
    a + b
}

#[test]
fn a_location_declared_in_a_loop_is_read_there() {
    let xs = [0.3, -0.8, 1.1];
    let xd = xs.map(D::cst);
    for at in [0.4, -0.9] {
        dual::check_scalar(
            "nested_reductions",
            at,
            |x| nested_reductions(x, &xs),
            |x| nested_reductions(x, &xd),
            |x| nested_reductions_grad(x, &xs),
            |x, s| nested_reductions_vjp(x, &xs, s),
            |x, t| nested_reductions_jvp(x, &xs, t),
        );
    }
}

// Generic functions returning `[T; N]` with an early `return`: the output's location was a
// scalar (`[T; 3]: Float` is not satisfied). It is an array of the declared type now.
#[differentiate(wrt = x)]
fn array_early_return<T: Float>(x: T) -> [T; 3] {
    if x < T::zero() {
        return [x, x * x, T::one()];
    }
    [x.sin(), x, x + x]
}

#[test]
fn an_array_output_with_early_returns() {
    for at in [2.0, -2.0, 0.3] {
        let (value, g) = array_early_return_grad(at);
        assert_eq!(value, array_early_return(at));
        let exact = array_early_return(D::var(at, 1.0));
        let sum: f64 = exact.iter().map(|d| d.eps()).sum();
        dual::assert_close("array_early_return_grad", g, sum, 1e-12);
        let seed = [0.5, -1.5, 2.0];
        let (_, g) = array_early_return_vjp(at, seed);
        let weighted: f64 = exact.iter().zip(seed).map(|(d, s)| d.eps() * s).sum();
        dual::assert_close("array_early_return_vjp", g, weighted, 1e-12);
        let (_, t) = array_early_return_jvp(at, -0.7);
        for k in 0..3 {
            dual::assert_close("array_early_return_jvp", t[k], -0.7 * exact[k].eps(), 1e-12);
        }
    }
}

// difftest generic programs (seed 14, program 86): "type annotations needed". An inner
// reduction's adjoint accumulator started at `zero()`, and `zero() + g` leaves rustc nothing
// to infer its type from; it is `zero::<T>()` for the function's `Float` parameter now.
#[differentiate(wrt = x)]
fn zero_of_the_type_parameter<T: Float + std::iter::Sum + std::iter::Product>(xs: &[T], x: T) -> T {
    xs.iter()
        .zip(xs.iter())
        .map(|(a, b)| xs.iter().copied().map(|c| (x * c).tanh()).product::<T>() * *a - *b)
        .sum::<T>()
}

#[test]
fn a_zero_takes_the_type_parameter() {
    let xs = [0.3, -0.8, 1.1];
    let xd = xs.map(D::cst);
    for at in [0.4, -1.3] {
        dual::check_scalar(
            "zero_of_the_type_parameter",
            at,
            |x| zero_of_the_type_parameter(&xs, x),
            |x| zero_of_the_type_parameter(&xd, x),
            |x| zero_of_the_type_parameter_grad(&xs, x),
            |x, s| zero_of_the_type_parameter_vjp(&xs, x, s),
            |x, t| zero_of_the_type_parameter_jvp(&xs, x, t),
        );
    }
}

// difftest seed 31337 program 2346 (difftest/tests/fixed/late_let_after_return.rs): "cannot
// find value `a`". A loop replayed in the adjoint sweep (its body holds an inner reduction)
// assigns a location that the enclosing branch declares; the branch's reversal runs after the
// primal branch's scope has ended, so it declares the location again for the replay. Also
// after an early `return`, whose rest is such a block.
#[differentiate(wrt = x)]
fn replay_in_a_branch<T: Float + std::iter::Sum>(x: T, xs: &[T]) -> T {
    let mut y = x * T::from(0.25).unwrap();
    if xs[0] < x {
        let mut a = T::from(0.5).unwrap();
        let mut b = x;
        for _ in 0..3 {
            a = b * T::from(0.5).unwrap();
            a = if x < a + T::from(0.1).unwrap() {
                xs.iter().copied().map(|c| (c * x).sin()).sum::<T>().max(x)
            } else {
                x * a - b
            };
            b = b * a;
        }
        y = a * b + y;
    }
    y
}

#[differentiate(wrt = x)]
fn replay_after_return<T: Float + std::iter::Sum>(x: T, xs: &[T]) -> T {
    if x < xs[1] {
        return x * x;
    }
    let mut a = x;
    for _ in 0..2 {
        a = x * T::from(0.5).unwrap();
        a = xs.iter().copied().map(|c| (c * a).tanh()).sum::<T>() * a;
    }
    a
}

#[test]
fn a_replay_assigns_a_location_of_the_enclosing_block() {
    let xs = [0.3, -0.8, 1.1];
    let xd = xs.map(D::cst);
    for at in [0.4, 0.9, -0.2, 1.7] {
        dual::check_scalar(
            "replay_in_a_branch",
            at,
            |x| replay_in_a_branch(x, &xs),
            |x| replay_in_a_branch(x, &xd),
            |x| replay_in_a_branch_grad(x, &xs),
            |x, s| replay_in_a_branch_vjp(x, &xs, s),
            |x, t| replay_in_a_branch_jvp(x, &xs, t),
        );
        dual::check_scalar(
            "replay_after_return",
            at,
            |x| replay_after_return(x, &xs),
            |x| replay_after_return(x, &xd),
            |x| replay_after_return_grad(x, &xs),
            |x, s| replay_after_return_vjp(x, &xs, s),
            |x, t| replay_after_return_jvp(x, &xs, t),
        );
    }
}

// difftest seed 2026 program 342 (difftest/tests/fixed/array_after_early_return.rs):
// rejected, "an array written inside a loop or branch must be created outside it". The rest
// of a body after an early `return` is a block, and a mutable array literal in a block (or a
// branch, or a loop) is an array of zeros created before it, filled where the literal was.
#[differentiate(wrt = [x, y])]
fn literal_after_return<T: Float>(x: T, y: T, xs: &[T]) -> T {
    if x < xs[1] {
        return y * x;
    }
    let mut z = [T::from(0.5).unwrap(), x, y * x];
    for v in xs.iter().copied().rev() {
        z[1] = z[1] * v + z[2];
    }
    y * z[1]
}

// difftest seed 2026 program 320: the same, for a copy `z.to_vec()` of an array that is
// itself created after the early return (its creation is hoisted, so the copy's can be).
#[differentiate(wrt = [x, y])]
fn copy_after_return<T: Float>(x: T, y: T, xs: &[T]) -> T {
    if x < xs[1] {
        return y * x;
    }
    let mut z = [T::from(0.38).unwrap(); 3];
    z[1] = y * x;
    let mut c = z.to_vec();
    c[0] = x * c[1];
    for i in 0..3 {
        c[i] = c[i] * y + z[i];
    }
    c[0] + c[1] * c[2]
}

#[differentiate(wrt = x)]
fn literal_in_loop<T: Float>(x: T, xs: &[T]) -> T {
    let mut s = T::zero();
    for i in 0..xs.len() {
        let mut a = [x * xs[i], s, T::one()];
        a[1] = a[1] * x + a[0];
        if a[1] > T::zero() {
            let mut b = [a[1], x];
            b[0] = b[0] * b[1];
            a[2] = a[2] + b[0].sin();
        }
        s = s + a[2] * a[0];
    }
    s
}

/// `f(x, y, &xs)` with `wrt = [x, y]`: `_grad` and `_jvp` against dual numbers.
macro_rules! two_scalars {
    ($f:ident, $grad:ident, $jvp:ident, $x:expr, $y:expr, $xs:expr, $xd:expr) => {{
        let (value, (gx, gy)) = $grad($x, $y, &$xs);
        assert_eq!(value, $f($x, $y, &$xs));
        let dx = $f(D::var($x, 1.0), D::cst($y), &$xd).eps();
        let dy = $f(D::cst($x), D::var($y, 1.0), &$xd).eps();
        dual::assert_close(concat!(stringify!($grad), " x"), gx, dx, 1e-12);
        dual::assert_close(concat!(stringify!($grad), " y"), gy, dy, 1e-12);
        let (_, t) = $jvp($x, $y, &$xs, 0.3, -0.6);
        dual::assert_close(stringify!($jvp), t, 0.3 * dx - 0.6 * dy, 1e-12);
    }};
}

#[test]
fn a_mutable_array_literal_in_a_block() {
    let xs = [0.3, -0.8, 1.1];
    let xd = xs.map(D::cst);
    for at in [0.4, -0.9, 1.3] {
        dual::check_scalar(
            "literal_in_loop",
            at,
            |x| literal_in_loop(x, &xs),
            |x| literal_in_loop(x, &xd),
            |x| literal_in_loop_grad(x, &xs),
            |x, s| literal_in_loop_vjp(x, &xs, s),
            |x, t| literal_in_loop_jvp(x, &xs, t),
        );
        for y in [0.7, -1.2] {
            two_scalars!(
                literal_after_return,
                literal_after_return_grad,
                literal_after_return_jvp,
                at,
                y,
                xs,
                xd
            );
            two_scalars!(
                copy_after_return,
                copy_after_return_grad,
                copy_after_return_jvp,
                at,
                y,
                xs,
                xd
            );
        }
    }
}

// difftest switch `copied_in_zip` (difftest/tests/fixed/copied_zip_rejected.rs): rejected,
// `.copied()` on the iterator inside `zip` was not taken for the array it iterates.
#[differentiate(wrt = x)]
fn copied_in_zip<T: Float + std::iter::Sum>(x: T, xs: &[T], ys: &[T]) -> T {
    let mut s = x;
    for (u, v) in xs.iter().copied().zip(ys.iter().cloned()) {
        s = s * u + v * x;
    }
    s + xs
        .iter()
        .zip(ys.iter().copied())
        .map(|(a, b)| (*a * x).sin() * b)
        .sum::<T>()
}

#[test]
fn copied_inside_zip() {
    let (xs, ys) = ([0.3, -0.8, 1.1], [0.5, 1.5, -0.4]);
    let (xd, yd) = (xs.map(D::cst), ys.map(D::cst));
    for at in [0.4, -1.3] {
        dual::check_scalar(
            "copied_in_zip",
            at,
            |x| copied_in_zip(x, &xs, &ys),
            |x| copied_in_zip(x, &xd, &yd),
            |x| copied_in_zip_grad(x, &xs, &ys),
            |x, s| copied_in_zip_vjp(x, &xs, &ys, s),
            |x, t| copied_in_zip_jvp(x, &xs, &ys, t),
        );
    }
}

// difftest seeds 4242 and 5151 (difftest/tests/fixed/copy_after_return_rejected.rs):
// rejected, a copy `z.to_vec()` after an early `return` of an array created there and never
// written (`vec![c; n]`, or a copy of a parameter, or a copy of such a copy): its creation
// moves before the `if` too.
#[differentiate(wrt = [x, y])]
fn copy_of_constant_after_return<T: Float>(x: T, y: T, xs: &[T]) -> T {
    if x < xs[1] {
        return y * x;
    }
    let z = vec![T::from(0.06).unwrap(); 3];
    let t = xs.to_vec();
    let t2 = t.to_vec();
    let mut c = z.to_vec();
    let mut d = t2.to_vec();
    c[2] = c[2] * x + z[0];
    d[0] = d[0] * y + c[2];
    x * c[2] + d[0] * d[1]
}

#[test]
fn a_copy_of_an_array_made_after_an_early_return() {
    let xs = [0.3, -0.8, 1.1];
    let xd = xs.map(D::cst);
    for at in [0.4, -0.9, 1.3] {
        for y in [0.7, -1.2] {
            two_scalars!(
                copy_of_constant_after_return,
                copy_of_constant_after_return_grad,
                copy_of_constant_after_return_jvp,
                at,
                y,
                xs,
                xd
            );
        }
    }
}

// difftest seed 9292, program 1265: a NaN gradient where dual numbers give 3.32. A value
// that overflows in a loop and is then assigned again never reaches the result, so its
// adjoint in the loop is zero; but zero times the loop's infinite partials is NaN. Such
// assignments now carry no derivative (`activity::dead_assignments`), as TensorFlow builds
// no gradient op for a value not connected to `ys`.
#[differentiate(wrt = x)]
fn overwritten_after_overflow<T: Float>(x: T) -> T {
    let mut a = x;
    for _ in 0..12 {
        a = a * a * T::from(10.0).unwrap() + x;
    }
    a = x.sin() * x;
    a * x
}

#[differentiate(wrt = x)]
fn overwritten_after_while<T: Float>(x: T) -> T {
    let mut a = x;
    let mut k = 0;
    while k < 12 {
        a = a.exp() * x;
        k += 1;
    }
    if x > T::zero() {
        a = x.cos();
    } else {
        a = x * x;
    }
    a + x
}

#[test]
fn a_value_overwritten_after_it_overflowed_has_no_nan_adjoint() {
    check!(overwritten_after_overflow, overwritten_after_overflow_grad, overwritten_after_overflow_vjp, overwritten_after_overflow_jvp, |x| (x), at [1.5, 2.0]);
    check!(overwritten_after_while, overwritten_after_while_grad, overwritten_after_while_vjp, overwritten_after_while_jvp, |x| (x), at [1.5, -2.0]);
}

// difftest seed 9191, program 1422: f_jvp gave NaN where dual numbers give −2.88. The
// tangent of `x⁰` was `0 · t`, NaN where the tangent `t` had overflowed (here that of
// `x³⁰⁷` at x = 10, whose value is finite); it is now an exact zero, as in num-dual. The
// gradient there is still NaN, as in TensorFlow and JAX: the zero adjoint of `x³⁰⁷` meets
// its infinite partial 307·x³⁰⁶ (README § Limitations).
#[differentiate(wrt = x)]
fn power_zero_of_overflowed_tangent<T: Float>(x: T) -> T {
    let big = x.powi(307);
    big.powi(0) * x
}

// Did not compile (found while writing the test above): the partial of `x.powf(T::zero())`
// in a generic function was `T::zero() - 1.0`, a rule constant with no variable to type it.
#[differentiate(wrt = x)]
fn power_of_a_generic_zero<T: Float>(x: T) -> T {
    x.powf(T::zero()) * x + (x * x).powf(T::one())
}

#[test]
fn the_tangent_of_a_zeroth_power_is_exactly_zero() {
    for x in [10.0, -10.0] {
        let (value, want) = dual::derivative(power_zero_of_overflowed_tangent::<D>, x, 1.0);
        let (v, t) = power_zero_of_overflowed_tangent_jvp(x, 1.0);
        dual::assert_close("value", v, value, 1e-12);
        dual::assert_close("tangent", t, want, 1e-12);
        assert_eq!(want, 1.0);
        let (_, g) = power_zero_of_overflowed_tangent_grad(x);
        assert!(g.is_nan(), "the gradient is NaN, as in TensorFlow: {g}");
    }
    // Where nothing overflows, all three agree with dual numbers and finite differences.
    check!(power_zero_of_overflowed_tangent, power_zero_of_overflowed_tangent_grad, power_zero_of_overflowed_tangent_vjp, power_zero_of_overflowed_tangent_jvp, |x| (x), at [0.9, -1.1]);
    check!(power_of_a_generic_zero, power_of_a_generic_zero_grad, power_of_a_generic_zero_vjp, power_of_a_generic_zero_jvp, |x| (x), at [0.9, 1.7]);
}

// difftest seeds 5151 and 6161 (5 of 13,800 programs rejected): "an array written inside a
// loop or branch must be created outside it" for a copy `z.to_vec()` after an early
// `return` of an array computed there (a literal of computed elements, a call's `[T; 3]`
// result). The copy is now created as zeros before the statement and filled from its
// source where it was (`Lower::hoist_copy`, `static_len`).
#[differentiate(wrt = x)]
fn three_of<T: Float>(x: T) -> [T; 3] {
    [x, x * x, x.sin()]
}

#[differentiate(wrt = x)]
fn copy_of_computed_after_return<T: Float>(x: T) -> T {
    if x > T::from(2.0).unwrap() {
        return x * x;
    }
    let z = [x, x * x, x.exp()];
    let w: [T; 3] = three_of(x);
    let mut c = z.to_vec();
    let mut d = w.to_vec();
    c[1] = c[1] + d[0];
    d[1] = d[1] * c[2];
    for k in 0..3 {
        let mut e = z.to_vec();
        e[k] = e[k] * d[k];
        c[0] = c[0] + e[k] * x;
    }
    c[1] * d[1] + c[0]
}

// difftest seed 10101, program 1525 (rejected as above): the copy is in a loop, and its
// source, a constant created after the return, in the block around the loop
// (`Lower::creation` looks in the enclosing blocks too).
#[differentiate(wrt = x)]
fn copy_in_loop_of_constant_after_return<T: Float>(x: T) -> T {
    if x > T::from(2.0).unwrap() {
        return x;
    }
    #[allow(unused_mut)]
    let mut z = vec![T::from(0.5).unwrap(); 3];
    let mut s = x;
    for i in 0..3 {
        let mut c = z.to_vec();
        c[i] = c[i] * x + s;
        s = s * c[i] + z[2 - i];
    }
    s
}

#[test]
fn a_copy_of_an_array_computed_after_an_early_return() {
    check!(copy_of_computed_after_return, copy_of_computed_after_return_grad, copy_of_computed_after_return_vjp, copy_of_computed_after_return_jvp, |x| (x), at [0.7, -0.4, 2.5]);
    check!(copy_in_loop_of_constant_after_return, copy_in_loop_of_constant_after_return_grad, copy_in_loop_of_constant_after_return_vjp, copy_in_loop_of_constant_after_return_jvp, |x| (x), at [0.7, -0.4, 2.5]);
}
