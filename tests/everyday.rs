//! Everyday Rust in differentiated functions (issue 15): `match`, `if let`, array state,
//! smaller forms. Each program is checked for `_grad`, `_vjp` and `_jvp` against the same
//! generic function run at dual numbers (`dual::D`) and against central finite differences
//! of the original function, at operands that are not constants.
#![allow(
    clippy::needless_range_loop,
    clippy::match_like_matches_macro,
    clippy::collapsible_match,
    // The forms under test, written as users write them.
    clippy::needless_late_init,
    clippy::useless_vec
)]
use autodiff::prelude::*;

#[macro_use]
mod dual;
use dual::{assert_close, finite_difference, D};

fn c<T: Float>(v: f64) -> T {
    T::from(v).unwrap()
}

// ---------------------------------------------------------------------------------------
// 1. `match` on passive scrutinees, `if let`.

#[derive(Clone, Copy, Debug)]
pub enum Act {
    Tanh,
    Sigmoid,
    Scaled(usize),
}

/// `match` on an enum as an expression, with a binding used in active code.
#[differentiate(wrt = x)]
fn activate<T: Float>(x: T, act: Act) -> T {
    let y = match act {
        Act::Tanh => x.tanh() * x,
        Act::Sigmoid => T::one() / (T::one() + (-x).exp()),
        Act::Scaled(k) => x * x * T::from(k).unwrap(),
    };
    y + x
}

/// `match` on an integer as a statement, with guards, `|` patterns and ranges, in a loop.
#[differentiate(wrt = x)]
fn by_index<T: Float>(x: T, n: usize) -> T {
    let mut s = T::zero();
    for i in 0..n {
        match i % 4 {
            0 => s = s + x.sin(),
            1 | 2 if i > 4 => {
                s = s * x;
            }
            1 | 2 => s = s - x * c(0.5),
            k => {
                let w = T::from(k).unwrap();
                s = s + w * x.cos() * s;
            }
        }
    }
    s
}

/// `match` on `Option` and on a tuple of passive values, with bindings and guards.
#[differentiate(wrt = x)]
fn options<T: Float>(x: T, scale: Option<f64>, k: i32, flag: bool) -> T {
    let a = match scale {
        Some(s) if s > 1.0 => x * T::from(s).unwrap(),
        Some(s) => x.powi(2) * T::from(s).unwrap(),
        None => x.exp(),
    };
    let b = match (k, flag) {
        (0, _) => a,
        (1, true) => a * x,
        (m, false) if m < 0 => a.sin() + x,
        _ => a - x.cos(),
    };
    b * x
}

/// `if let` as a statement and as a value, with `else if let` and `else`.
#[differentiate(wrt = x)]
fn if_lets<T: Float>(x: T, first: Option<usize>, second: Option<usize>) -> T {
    let mut s = x;
    if let Some(n) = first {
        for _ in 0..n {
            s = s * x.cos() + x;
        }
    }
    let t = if let Some(m) = second {
        s * T::from(m).unwrap()
    } else if let Some(n) = first {
        s - T::from(n).unwrap() * x
    } else {
        s.sin()
    };
    t + s
}

/// A `match` whose scrutinee is a comparison of differentiated values: the derivative
/// follows the arm taken, as for an `if` on `x < y`.
#[differentiate(wrt = x)]
fn compare<T: Float>(x: T, y: T) -> T {
    match x.partial_cmp(&y) {
        Some(std::cmp::Ordering::Less) => x * y,
        Some(std::cmp::Ordering::Greater) => x.sin() - y,
        _ => x,
    }
}

/// A `match` in tail position whose arms return early or give the value.
#[differentiate(wrt = x)]
fn early<T: Float>(x: T, mode: u8) -> T {
    let y = x * x;
    match mode {
        0 => return y.sin(),
        1 => {
            if x > T::zero() {
                return y;
            }
        }
        _ => {}
    }
    y * x
}

#[test]
fn match_on_passive_scrutinees() {
    for act in [Act::Tanh, Act::Sigmoid, Act::Scaled(3)] {
        check!(activate, activate_grad, activate_vjp, activate_jvp, |x| (x, act), at [0.3, -1.2]);
    }
    for n in [0, 1, 3, 7, 9] {
        check!(by_index, by_index_grad, by_index_vjp, by_index_jvp, |x| (x, n), at [0.4, 1.3]);
    }
    for scale in [Some(2.0), Some(0.5), None] {
        for (k, flag) in [(0, true), (1, true), (-2, false), (3, true)] {
            check!(options, options_grad, options_vjp, options_jvp, |x| (x, scale, k, flag), at [0.7, -0.4]);
        }
    }
    for (a, b) in [
        (Some(2), Some(3)),
        (Some(1), None),
        (None, Some(2)),
        (None, None),
    ] {
        check!(if_lets, if_lets_grad, if_lets_vjp, if_lets_jvp, |x| (x, a, b), at [0.6, 1.1]);
    }
    for y in [0.2, 0.9] {
        check!(compare, compare_grad, compare_vjp, compare_jvp, |x| (x, c(y)), at [0.5, 0.1, 1.5]);
    }
    for mode in [0, 1, 2] {
        check!(early, early_grad, early_vjp, early_jvp, |x| (x, mode), at [0.5, -0.8]);
    }
}

// ---------------------------------------------------------------------------------------
// 2. Fixed-size array state.

#[differentiate]
fn step<T: Float>(s: [T; 2], h: T) -> [T; 2] {
    [s[0] + h * s[1], s[1] - h * s[0].sin()]
}

/// `s = step(s, h)` in a loop.
#[differentiate(wrt = x)]
fn integrate<T: Float>(x: T, n: usize) -> T {
    let h = c::<T>(0.1) * x;
    let mut s = [x, T::one()];
    for _ in 0..n {
        s = step(s, h);
    }
    s[0] * s[1]
}

/// `let next: [T; 2] = step(s, g);` in a loop; `let [a, b] = s;`.
#[differentiate(wrt = x)]
fn leapfrog<T: Float>(x: T, n: usize) -> T {
    let g = x * c(0.2);
    let mut s = [x.sin(), x];
    for _ in 0..n {
        let next: [T; 2] = step(s, g);
        s[0] = next[0];
        s[1] = next[1] * c(0.9);
    }
    let [a, b] = s;
    a * b + a
}

/// Array literals as the values of `if` branches.
#[differentiate(wrt = x)]
fn branches<T: Float>(x: T, flip: bool) -> T {
    let v = if flip {
        [x, x * x, T::one()]
    } else {
        [x.sin(), x, x.exp()]
    };
    v[0] * v[1] + v[2]
}

/// An array returned (`-> [T; 3]`), from a literal.
#[differentiate(wrt = x)]
fn rotate<T: Float>(x: T, y: T) -> [T; 3] {
    let (s, co) = (x.sin(), x.cos());
    [co * y, s * y, x * y]
}

#[differentiate]
fn norm2<T: Float>(v: &[T]) -> T {
    let mut s = T::zero();
    for i in 0..v.len() {
        s = s + v[i] * v[i];
    }
    s
}

/// A local `[T; 3]` passed as `&rot` to a `&[T]` parameter.
#[differentiate(wrt = x)]
fn local_as_slice<T: Float>(x: T) -> T {
    let rot = [x.cos(), x.sin() * x, c(0.5)];
    norm2(&rot) * x
}

#[test]
fn fixed_size_array_state() {
    for n in [0, 1, 5] {
        check!(integrate, integrate_grad, integrate_vjp, integrate_jvp, |x| (x, n), at [0.4, 1.2]);
        check!(leapfrog, leapfrog_grad, leapfrog_vjp, leapfrog_jvp, |x| (x, n), at [0.4, -0.9]);
    }
    for flip in [true, false] {
        check!(branches, branches_grad, branches_vjp, branches_jvp, |x| (x, flip), at [0.4, 1.3]);
    }
    check!(local_as_slice, local_as_slice_grad, local_as_slice_vjp, local_as_slice_jvp, |x| (x), at [0.4, 1.3]);
    // The returned array: its vjp against dual numbers, one output at a time.
    let (x, y) = (0.7, -1.4);
    for k in 0..3 {
        let mut seed = [0.0; 3];
        seed[k] = 1.0;
        let (v, g) = rotate_vjp(x, y, seed);
        assert_close("rotate value", v[k], rotate(x, y)[k], 1e-12);
        let want = rotate(D::var(x, 1.0), D::cst(y))[k].eps();
        assert_close("rotate vjp", g, want, 1e-10);
        let fd = finite_difference(|x| rotate(x, y)[k], x);
        assert_close("rotate dual vs fd", want, fd, 1e-6);
    }
    let (_, t) = rotate_jvp(x, y, 0.3);
    for k in 0..3 {
        assert_close(
            "rotate jvp",
            t[k],
            rotate(D::var(x, 0.3), D::cst(y))[k].eps(),
            1e-10,
        );
    }
}

// ---------------------------------------------------------------------------------------
// 3. Smaller forms.

/// `check_scalar` for an `f64` function, against central finite differences alone.
macro_rules! check_fd {
    ($f:ident, $grad:ident, $vjp:ident, $jvp:ident, |$x:ident| ($($a:expr),*), at [$($at:expr),+]) => {
        for at in [$($at),+] {
            let name = stringify!($f);
            let value = { let $x: f64 = at; $f($($a),*) };
            let fd = finite_difference(|$x: f64| $f($($a),*), at);
            let (v, g) = { let $x: f64 = at; $grad($($a),*) };
            assert_close(&format!("{name}({at}): _grad value"), v, value, 1e-12);
            assert_close(&format!("{name}({at}): _grad"), g, fd, 1e-6);
            let (v, g) = { let $x: f64 = at; $vjp($($a,)* 0.7) };
            assert_close(&format!("{name}({at}): _vjp value"), v, value, 1e-12);
            assert_close(&format!("{name}({at}): _vjp"), g, 0.7 * fd, 1e-6);
            let (v, t) = { let $x: f64 = at; $jvp($($a,)* -1.3) };
            assert_close(&format!("{name}({at}): _jvp value"), v, value, 1e-12);
            assert_close(&format!("{name}({at}): _jvp"), t, -1.3 * fd, 1e-6);
        }
    };
}

/// A tuple-valued `if`, and a tuple-valued `match` with blocks and a nested `if`.
#[differentiate(wrt = x)]
fn tuple_branches<T: Float>(x: T, y: T, k: u8) -> T {
    let (a, b) = if k == 0 { (x, y) } else { (y, x * x) };
    let (p, q): (T, T) = match k {
        0 => (a, c(2.0)),
        1 => {
            let z = b.sin();
            (z, z * a)
        }
        _ => {
            if x > c(0.5) {
                (x * b, a)
            } else {
                (T::one(), b.exp())
            }
        }
    };
    p * q + a * b.sin()
}

/// Deferred initialisation.
#[differentiate(wrt = x)]
fn deferred<T: Float>(x: T, flag: bool) -> T {
    let x0: T;
    if flag {
        x0 = x * x;
    } else {
        x0 = x.sin();
    }
    let w;
    match flag {
        true => w = x0 * x,
        false => w = x0 + x,
    }
    x0 * w
}

/// `vec![a, b]` with differentiated elements, `sin_cos`, constants.
#[differentiate(wrt = x)]
fn small_forms<T: Float>(x: T, y: T) -> T {
    let v = vec![x * y, x.sin(), y];
    let (s, co) = (v[0] + x).sin_cos();
    let e = (x * x + T::epsilon()).ln();
    s * co + v[1] * v[0] + v[2] * e
}

const COEF: [f64; 3] = [0.5, -1.0, 2.0];

/// `clamp` (TensorFlow's clip_by_value gradient), `f64::EPSILON`, `std::f64::consts`, a
/// `const` array of coefficients.
#[differentiate(wrt = x)]
fn clamped(x: f64, lo: f64) -> f64 {
    let mut s = 0.0;
    for k in 0..3 {
        s += COEF[k] * x.powi(k as i32);
    }
    let r = x.clamp(lo, 1.0) * x;
    s * r + (x * x + f64::EPSILON).ln() * std::f64::consts::PI + std::f64::consts::E * x
}

#[test]
fn smaller_forms() {
    for k in [0, 1, 2] {
        check!(tuple_branches, tuple_branches_grad, tuple_branches_vjp, tuple_branches_jvp, |x| (x, c(0.3), k), at [0.4, 0.9]);
    }
    for flag in [true, false] {
        check!(deferred, deferred_grad, deferred_vjp, deferred_jvp, |x| (x, flag), at [0.4, -1.1]);
    }
    check!(small_forms, small_forms_grad, small_forms_vjp, small_forms_jvp, |x| (x, c(0.8)), at [0.4, -1.1]);
    // Inside, below and above `[lo, 1]`.
    check_fd!(clamped, clamped_grad, clamped_vjp, clamped_jvp, |x| (x, -0.5), at [0.3, -0.9, 1.4]);
    // At the bounds the gradient to `x` is 1 (clip_by_value's), outside it goes to the bound.
    for (x, gx, glo) in [
        (-0.5, 3.0, 0.0),
        (1.0, 3.0, 0.0),
        (0.2, 3.0, 0.0),
        (-0.7, 0.0, 3.0),
        (1.2, 0.0, 0.0),
    ] {
        let (v, (dx, dlo)) = clip_grad(x, -0.5);
        assert_eq!(v, 3.0 * x.clamp(-0.5, 1.0));
        assert_eq!((dx, dlo), (gx, glo), "clamp at {x}");
        let (_, t) = clip_jvp(x, -0.5, 1.0, 0.5);
        assert_eq!(t, gx + 0.5 * glo, "clamp jvp at {x}");
    }
}

#[differentiate(wrt = [x, lo])]
fn clip(x: f64, lo: f64) -> f64 {
    x.clamp(lo, 1.0) * 3.0
}

/// A scalar on the left of a tensor: `s * x`, `s - &y`.
#[differentiate(wrt = [x, s])]
fn scalar_left(x: &Tensor<f64>, s: f64) -> f64 {
    let y = s * x;
    let z = s - &y;
    (&z * &y).sum() * s
}

#[test]
fn a_scalar_on_the_left_of_a_tensor() {
    let data: Vec<f64> = (0..6).map(|i| (i as f64 * 0.77).sin() * 1.3).collect();
    let x = Tensor::from_vec(data.clone(), &[2, 3]);
    let s = 0.6;
    let (v, (gx, gs)) = scalar_left_grad(&x, s);
    assert_close("scalar_left value", v, scalar_left(&x, s), 1e-12);
    let h = 1e-6;
    for k in 0..6 {
        let at = |d: f64| {
            let mut p = data.clone();
            p[k] += d;
            scalar_left(&Tensor::from_vec(p, &[2, 3]), s)
        };
        let fd = (at(h) - at(-h)) / (2.0 * h);
        assert_close(
            &format!("scalar_left d/dx[{k}]"),
            gx.as_slice()[k],
            fd,
            1e-6,
        );
    }
    let fd = (scalar_left(&x, s + h) - scalar_left(&x, s - h)) / (2.0 * h);
    assert_close("scalar_left d/ds", gs, fd, 1e-6);
}

// ---------------------------------------------------------------------------------------
// 4. Closures defined in the body and called there (inlined at each call).

/// A closure capturing a differentiated value, called in a loop, in a sum's closure, and
/// from another closure; a name captured before it is shadowed keeps its first value.
#[differentiate(wrt = x)]
fn closures<T: Float>(x: T, w: T, data: &[T]) -> T {
    let scale = x * w;
    let act = |z: T| (z * scale).tanh() * x;
    let twice = |a: T, b: T| act(a) + act(b) * b;
    let scale = T::one();
    let mut s = T::zero();
    for i in 0..data.len() {
        s = s + act(data[i] * scale);
    }
    let t = data.iter().fold(T::zero(), |acc, v| acc + act(*v));
    s * t + twice(x, w)
}

#[test]
fn closures_called_in_the_body() {
    let data = [0.3, -1.1, 0.8];
    check!(
        closures,
        closures_grad,
        closures_vjp,
        closures_jvp,
        |x| (x, c(0.7), &data.map(c)),
        at [0.4, -0.9]
    );
}

/// The program of the former ui case `closure.rs` (then an error): `g(2.0)` with `g`
/// capturing `x` is `2 x`.
#[differentiate(wrt = x)]
fn closure_capture(x: f64) -> f64 {
    let g = |t: f64| t * x;
    g(2.0)
}

#[test]
fn a_closure_capturing_the_differentiated_value() {
    assert_eq!(closure_capture_grad(1.5), (3.0, 2.0));
    assert_eq!(closure_capture_vjp(1.5, 0.5), (3.0, 1.0));
    assert_eq!(closure_capture_jvp(1.5, -2.0), (3.0, -4.0));
}

/// The programs of the former ui cases `match-on-active-value.rs` and
/// `match-with-active-arms.rs` (then errors), both parameters differentiated.
#[differentiate(wrt = [x, y])]
fn larger(x: f64, y: f64) -> f64 {
    match x.partial_cmp(&y) {
        Some(std::cmp::Ordering::Less) => y,
        _ => x,
    }
}

#[differentiate(wrt = x)]
fn by_k(x: f64, k: i32) -> f64 {
    match k {
        0 => x,
        _ => x * x,
    }
}

#[test]
fn former_match_errors() {
    assert_eq!(larger_grad(0.3, 0.8), (0.8, (0.0, 1.0)));
    assert_eq!(larger_grad(1.3, 0.8), (1.3, (1.0, 0.0)));
    assert_eq!(larger_jvp(1.3, 0.8, 0.5, 2.0), (1.3, 0.5));
    assert_eq!(larger_vjp(0.3, 0.8, 2.0), (0.8, (0.0, 2.0)));
    assert_eq!(by_k_grad(1.5, 0), (1.5, 1.0));
    assert_eq!(by_k_grad(1.5, 3), (2.25, 3.0));
    assert_eq!(by_k_vjp(1.5, 3, 2.0), (2.25, 6.0));
    assert_eq!(by_k_jvp(1.5, 3, -1.0), (2.25, -3.0));
}

// ---------------------------------------------------------------------------------------
// 4b. Iterator chains: `filter`, `skip`, `take`, in loops and sums.

#[differentiate(wrt = x)]
fn chains(x: &[f64], w: f64) -> f64 {
    let mut s = 0.0;
    for v in x.iter().filter(|v| **v > 0.0) {
        s += *v * w;
    }
    for (i, v) in x.iter().enumerate().skip(1).take(2) {
        s += v.sin() * (i as f64);
    }
    for v in x.iter().rev().skip(1) {
        s = s * 0.9 + *v;
    }
    for i in (0..x.len()).take(2).rev() {
        s += x[i] * x[i];
    }
    let pos: f64 = x.iter().filter(|&&v| v > -0.5).map(|v| v * v).sum();
    let neg: f64 = x.iter().filter(|v| **v < 0.0).sum();
    let head: f64 = x.iter().take(3).map(|v| v.exp()).sum();
    s + pos * neg + head
}

/// The program of the former ui case `closure-in-iterator.rs` (then an error).
#[differentiate(wrt = x)]
fn positive_sum(x: &[f64]) -> f64 {
    x.iter().filter(|v| **v > 0.0).sum()
}

#[test]
fn iterator_chains() {
    let x = [0.7, -1.2, 0.4, -0.3, 1.1];
    let (v, g) = chains_grad(&x, 0.6);
    assert_close("chains value", v, chains(&x, 0.6), 1e-12);
    let (_, g2) = chains_vjp(&x, 0.6, 0.5);
    let mut t = [0.0; 5];
    for k in 0..5 {
        let fd = finite_difference(
            |a| {
                let mut y = x;
                y[k] = a;
                chains(&y, 0.6)
            },
            x[k],
        );
        assert_close(&format!("chains d/dx[{k}]"), g[k], fd, 1e-6);
        assert_close(&format!("chains vjp[{k}]"), g2[k], 0.5 * fd, 1e-6);
        t[k] = 0.1 * k as f64 - 0.2;
    }
    let (_, dt) = chains_jvp(&x, 0.6, &t);
    let want: f64 = g.iter().zip(&t).map(|(a, b)| a * b).sum();
    assert_close("chains jvp", dt, want, 1e-10);
    assert_eq!(positive_sum_grad(&x).1, vec![1.0, 0.0, 1.0, 0.0, 1.0]);
}

/// Three-way `zip`, in a loop and in a sum.
#[differentiate(wrt = [x, y])]
fn zip3(x: &[f64], y: &[f64], z: &[f64]) -> f64 {
    let mut s = 0.0;
    for ((a, b), c) in x.iter().zip(y.iter()).zip(z.iter()) {
        s += a * b.sin() * c;
    }
    let t: f64 = x
        .iter()
        .zip(y)
        .zip(z.iter())
        .map(|((a, b), c)| a * b + c)
        .sum();
    s * t
}

#[test]
fn three_way_zip() {
    let (x, y, z) = ([0.3, -0.8, 1.1], [0.5, 0.2, -0.7, 9.0], [1.5, -0.4, 0.6]);
    let (v, (gx, gy)) = zip3_grad(&x, &y, &z);
    assert_close("zip3 value", v, zip3(&x, &y, &z), 1e-12);
    for k in 0..3 {
        let fx = finite_difference(
            |a| {
                let mut p = x;
                p[k] = a;
                zip3(&p, &y, &z)
            },
            x[k],
        );
        let fy = finite_difference(
            |a| {
                let mut p = y;
                p[k] = a;
                zip3(&x, &p, &z)
            },
            y[k],
        );
        assert_close(&format!("zip3 d/dx[{k}]"), gx[k], fx, 1e-6);
        assert_close(&format!("zip3 d/dy[{k}]"), gy[k], fy, 1e-6);
    }
    // y's fourth element is past the shortest array: no gradient.
    assert_eq!(gy[3], 0.0);
    let (tx, ty) = ([0.2, -0.1, 0.3], [0.4, 0.1, -0.2, 1.0]);
    let (_, d) = zip3_jvp(&x, &y, &z, &tx, &ty);
    let want: f64 = gx.iter().zip(&tx).map(|(g, t)| g * t).sum::<f64>()
        + gy.iter().zip(&ty).map(|(g, t)| g * t).sum::<f64>();
    assert_close("zip3 jvp", d, want, 1e-10);
    let (_, (vx, _)) = zip3_vjp(&x, &y, &z, 2.0);
    assert_close("zip3 vjp", vx[1], 2.0 * gx[1], 1e-12);
}

/// `max_by` / `min_by` with `partial_cmp` (and the comparison written the other way round).
#[differentiate(wrt = x)]
fn extremes(x: &[f64]) -> f64 {
    let hi = x
        .iter()
        .cloned()
        .max_by(|a, b| a.partial_cmp(b).unwrap())
        .unwrap();
    let lo = *x.iter().min_by(|a, b| a.partial_cmp(b).unwrap()).unwrap();
    let hi2 = x.iter().copied().min_by(|a, b| b.total_cmp(a)).unwrap();
    let lo_tail = x
        .iter()
        .skip(2)
        .rev()
        .copied()
        .min_by(|a, b| a.partial_cmp(b).unwrap())
        .unwrap();
    hi * lo.sin() + hi2 * hi2 + lo_tail.exp()
}

#[test]
fn max_by_and_min_by() {
    for x in [[0.3, -0.8, 1.1, 0.2, -0.1], [1.5, 0.4, -0.6, 0.9, -2.0]] {
        let (v, g) = extremes_grad(&x);
        assert_close("extremes value", v, extremes(&x), 1e-12);
        let (_, g2) = extremes_vjp(&x, -0.5);
        for k in 0..5 {
            let fd = finite_difference(
                |a| {
                    let mut p = x;
                    p[k] = a;
                    extremes(&p)
                },
                x[k],
            );
            assert_close(&format!("extremes d/dx[{k}]"), g[k], fd, 1e-6);
            assert_close(&format!("extremes vjp[{k}]"), g2[k], -0.5 * fd, 1e-10);
        }
        let t = [0.1, 0.2, -0.3, 0.4, 0.5];
        let (_, d) = extremes_jvp(&x, &t);
        let want: f64 = g.iter().zip(&t).map(|(a, b)| a * b).sum();
        assert_close("extremes jvp", d, want, 1e-10);
    }
    // A tie: the gradient goes to one of the equal maxima, not both.
    let (_, g) = extremes_grad(&[2.0, 2.0, -1.0, 0.5, 0.3]);
    assert_eq!(g[0] + g[1], {
        let (lo, hi) = (-1.0_f64, 2.0);
        lo.sin() + 2.0 * hi
    });
    assert!(g[0] == 0.0 || g[1] == 0.0);
}

/// `map(..).collect::<Vec<_>>()` into a local array, read after.
#[differentiate(wrt = [x, w])]
fn collected(x: &[f64], w: f64) -> f64 {
    let y: Vec<f64> = x.iter().map(|v| (v * w).tanh()).collect();
    let z = x
        .iter()
        .enumerate()
        .map(|(i, v)| v * y[i] + i as f64)
        .collect::<Vec<_>>();
    let mut s = 0.0;
    for i in 0..y.len() {
        s += y[i] * z[i] * x[i];
    }
    s
}

#[test]
fn map_collect() {
    let x = [0.3, -0.8, 1.1];
    let w = 0.7;
    let (v, (gx, gw)) = collected_grad(&x, w);
    assert_close("collected value", v, collected(&x, w), 1e-12);
    for k in 0..3 {
        let fd = finite_difference(
            |a| {
                let mut p = x;
                p[k] = a;
                collected(&p, w)
            },
            x[k],
        );
        assert_close(&format!("collected d/dx[{k}]"), gx[k], fd, 1e-6);
    }
    let fd = finite_difference(|a| collected(&x, a), w);
    assert_close("collected d/dw", gw, fd, 1e-6);
    let t = [0.2, 0.1, -0.4];
    let (_, d) = collected_jvp(&x, w, &t, 0.5);
    let want: f64 = gx.iter().zip(&t).map(|(a, b)| a * b).sum::<f64>() + 0.5 * gw;
    assert_close("collected jvp", d, want, 1e-10);
    let (_, (vx, vw)) = collected_vjp(&x, w, 2.0);
    assert_close("collected vjp x", vx[2], 2.0 * gx[2], 1e-12);
    assert_close("collected vjp w", vw, 2.0 * gw, 1e-12);
}

/// `step_by(k)` over ranges and arrays, in loops, sums, reversed after it, with `enumerate`
/// before it.
#[differentiate(wrt = x)]
fn strided(x: &[f64], k: usize) -> f64 {
    let mut s = 0.0;
    for i in (1..x.len()).step_by(k) {
        s += x[i] * x[i - 1];
    }
    for v in x.iter().step_by(2).rev() {
        s = s * 0.8 + v.sin();
    }
    for (i, v) in x.iter().enumerate().step_by(3) {
        s += *v * (i as f64 + 1.0);
    }
    for i in (0..=x.len() - 1).step_by(2).skip(1) {
        s += x[i].exp();
    }
    let even: f64 = x.iter().step_by(2).sum();
    let odd: f64 = x.iter().skip(1).step_by(2).map(|v| v * v).sum();
    s + even * odd
}

#[test]
fn step_by() {
    let x = [0.3, -0.8, 1.1, 0.5, -0.2, 0.9, 0.4];
    for k in [1, 2, 3] {
        let (v, g) = strided_grad(&x, k);
        assert_close("strided value", v, strided(&x, k), 1e-12);
        let (_, g2) = strided_vjp(&x, k, 0.5);
        for j in 0..x.len() {
            let fd = finite_difference(
                |a| {
                    let mut p = x;
                    p[j] = a;
                    strided(&p, k)
                },
                x[j],
            );
            assert_close(&format!("strided({k}) d/dx[{j}]"), g[j], fd, 1e-6);
            assert_close(&format!("strided({k}) vjp[{j}]"), g2[j], 0.5 * fd, 1e-10);
        }
        let t: Vec<f64> = (0..x.len()).map(|j| 0.1 * j as f64 - 0.3).collect();
        let (_, d) = strided_jvp(&x, k, &t);
        let want: f64 = g.iter().zip(&t).map(|(a, b)| a * b).sum();
        assert_close("strided jvp", d, want, 1e-10);
    }
}

/// A closure shadowing another and calling it (the one before it, as Rust does).
#[differentiate(wrt = x)]
fn shadowed_closure(x: f64) -> f64 {
    let act = |z: f64| z * x;
    let act = |z: f64| act(z).sin() + z;
    act(x * x)
}

#[test]
fn a_closure_calling_the_closure_it_shadows() {
    for x in [0.4, -1.3] {
        let f = |x: f64| (x * x * x).sin() + x * x;
        let (v, g) = shadowed_closure_grad(x);
        assert_close("shadowed value", v, f(x), 1e-12);
        assert_close(
            "shadowed grad",
            g,
            (x * x * x).cos() * 3.0 * x * x + 2.0 * x,
            1e-12,
        );
        assert_close(
            "shadowed jvp",
            shadowed_closure_jvp(x, 0.5).1,
            0.5 * g,
            1e-12,
        );
        assert_close(
            "shadowed vjp",
            shadowed_closure_vjp(x, 2.0).1,
            2.0 * g,
            1e-12,
        );
    }
}

// ---------------------------------------------------------------------------------------
// 5. Sub-slices iterated: the indices of the range over the array.

#[differentiate(wrt = x)]
fn sub_slices(x: &[f64], a: usize, b: usize) -> f64 {
    let mut s: f64 = x[1..].iter().sum();
    for v in x[a..b].iter() {
        s += v * v;
    }
    for v in &x[..=a] {
        s = s * 0.9 + v.sin();
    }
    let t: f64 = x[b..].iter().map(|v| v.exp()).sum();
    let p = x[..b].iter().rev().fold(1.0, |acc, v| acc * v + 0.5);
    s * t + p
}

/// The program of the former ui case `sum-over-a-sub-slice.rs` (then an error).
#[differentiate(wrt = x)]
fn tail_sum(x: &[f64]) -> f64 {
    x[1..].iter().sum()
}

#[test]
fn iterated_sub_slices() {
    let x = [0.3, -0.8, 1.1, 0.5, -0.2];
    for (a, b) in [(1, 3), (0, 5), (2, 2)] {
        let (v, g) = sub_slices_grad(&x, a, b);
        assert_close("sub_slices value", v, sub_slices(&x, a, b), 1e-12);
        let (_, g2) = sub_slices_vjp(&x, a, b, 0.5);
        for k in 0..5 {
            let fd = finite_difference(
                |y| {
                    let mut p = x;
                    p[k] = y;
                    sub_slices(&p, a, b)
                },
                x[k],
            );
            assert_close(&format!("sub_slices({a}, {b}) d/dx[{k}]"), g[k], fd, 1e-6);
            assert_close(
                &format!("sub_slices({a}, {b}) vjp[{k}]"),
                g2[k],
                0.5 * fd,
                1e-10,
            );
        }
        let t = [0.1, 0.2, -0.3, 0.4, 0.5];
        let (_, d) = sub_slices_jvp(&x, a, b, &t);
        let want: f64 = g.iter().zip(&t).map(|(p, q)| p * q).sum();
        assert_close("sub_slices jvp", d, want, 1e-10);
    }
    assert_eq!(tail_sum_grad(&x).1, vec![0.0, 1.0, 1.0, 1.0, 1.0]);
}
