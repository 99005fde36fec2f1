//! `f_grad`, `f_vjp` and `f_jvp` call one hidden body (issue 14 item 5): `f_grad` seeds it
//! with ones, `f_vjp` passes its seed, and when the calling convention differentiates the
//! same parameters the body is the convention's and its per-parameter gradients are
//! rearranged into `wrt`'s order, `Option`s or a bare gradient. Each arrangement is checked
//! here against the same generic function run at dual numbers (`dual::D`), at operands that
//! are not constants; `autodiff-expand/tests/size.rs` checks that the bodies are shared.
use autodiff::prelude::*;

#[macro_use]
mod dual;
use dual::{assert_close, derivative, gradient, D};

fn c<T: Float>(v: f64) -> T {
    T::from(v).unwrap()
}

/// `wrt` in the other order than the parameters: the convention's `(g_x, g_y)` comes back
/// as `(g_y, g_x)`. Generic, so the body is called as `reverse_body::<T>`.
#[differentiate(wrt = [y, x])]
fn swapped<T: Float>(x: T, y: T) -> T {
    (x * y).sin() + x * x * c::<T>(0.5) - y.exp()
}

#[test]
fn wrt_in_another_order_than_the_parameters() {
    for (x, y) in [(0.3, -0.8), (1.7, 0.4)] {
        let (value, dx) = derivative(|x| swapped(x, D::cst(y)), x, 1.0);
        let (_, dy) = derivative(|y| swapped(D::cst(x), y), y, 1.0);
        let (v, (gy, gx)) = swapped_grad(x, y);
        assert_close("swapped_grad value", v, value, 1e-12);
        assert_close("swapped_grad d/dy", gy, dy, 1e-12);
        assert_close("swapped_grad d/dx", gx, dx, 1e-12);
        let (v, (gy, gx)) = swapped_vjp(x, y, -1.9);
        assert_close("swapped_vjp value", v, value, 1e-12);
        assert_close("swapped_vjp d/dy", gy, -1.9 * dy, 1e-12);
        assert_close("swapped_vjp d/dx", gx, -1.9 * dx, 1e-12);
        // The tangents come in `wrt`'s order too.
        let (v, t) = swapped_jvp(x, y, 0.6, -0.25);
        assert_close("swapped_jvp value", v, value, 1e-12);
        assert_close("swapped_jvp", t, 0.6 * dy - 0.25 * dx, 1e-12);
    }
}

/// `unconnected = none`: the connected gradient is `Some`, the unconnected one `None`.
#[differentiate(wrt = [x, unused], unconnected = none)]
fn half_connected(x: f64, unused: f64) -> f64 {
    let _ = unused;
    (x * 1.3).tanh() * x
}

#[test]
fn options_for_unconnected_gradients() {
    for x in [-0.7, 0.45] {
        let f = |x: D| (x * D::cst(1.3)).tanh() * x;
        let (value, dx) = derivative(f, x, 1.0);
        let (v, (gx, gu)) = half_connected_grad(x, 2.0);
        assert_close("half_connected_grad value", v, value, 1e-12);
        assert_close(
            "half_connected_grad d/dx",
            gx.expect("connected"),
            dx,
            1e-12,
        );
        assert!(gu.is_none());
        let (_, (gx, gu)) = half_connected_vjp(x, 2.0, 0.3);
        assert_close(
            "half_connected_vjp d/dx",
            gx.expect("connected"),
            0.3 * dx,
            1e-12,
        );
        assert!(gu.is_none());
        let (_, t) = half_connected_jvp(x, 2.0, -1.1, 5.0);
        assert_close("half_connected_jvp", t, -1.1 * dx, 1e-12);
    }
}

/// `wrt = x` (a bare gradient) beside an integer parameter, which has no gradient slot in
/// the convention's result (`()`).
#[differentiate(wrt = x)]
fn powered<T: Float>(x: T, n: usize) -> T {
    let mut s = x;
    for _ in 0..n {
        s = (s * x).sin() + x;
    }
    s
}

#[test]
fn a_bare_gradient_beside_an_integer_parameter() {
    check!(powered, powered_grad, powered_vjp, powered_jvp, |x| (x, 3), at [0.2, -1.1]);
}

/// Tuple outputs: `f_grad` seeds each with one (the gradient of their sum).
#[differentiate(wrt = [x, y])]
fn pair<T: Float>(x: T, y: T) -> (T, T) {
    (x * y.cos(), (x - y).exp())
}

#[test]
fn tuple_outputs_are_seeded_with_ones() {
    let (x, y) = (0.8, -0.3);
    let sum = |v: &[D]| {
        let (a, b) = pair(v[0], v[1]);
        a + b
    };
    let (_, g) = gradient(sum, &[x, y]);
    let ((a, b), (gx, gy)) = pair_grad(x, y);
    assert_eq!((a, b), pair(x, y));
    assert_close("pair_grad d/dx", gx, g[0], 1e-12);
    assert_close("pair_grad d/dy", gy, g[1], 1e-12);
    // A seed of its own per output.
    let weighted = |v: &[D]| {
        let (a, b) = pair(v[0], v[1]);
        a * D::cst(0.25) - b * D::cst(2.0)
    };
    let (_, g) = gradient(weighted, &[x, y]);
    let (_, (gx, gy)) = pair_vjp(x, y, (0.25, -2.0));
    assert_close("pair_vjp d/dx", gx, g[0], 1e-12);
    assert_close("pair_vjp d/dy", gy, g[1], 1e-12);
    let (_, (ta, tb)) = pair_jvp(x, y, 1.5, 0.5);
    let (ea, eb) = pair(D::var(x, 1.5), D::var(y, 0.5));
    assert_close("pair_jvp first", ta, ea.eps(), 1e-12);
    assert_close("pair_jvp second", tb, eb.eps(), 1e-12);
}

/// Only some float parameters in `wrt`: the convention differentiates more, so `f_vjp` keeps
/// a body of its own (`f__vjp_body`), which `f_grad` calls.
#[differentiate(wrt = x)]
fn partial<T: Float>(x: T, scale: T) -> T {
    (x * scale).sin() * x
}

#[test]
fn a_subset_of_the_parameters() {
    check!(partial, partial_grad, partial_vjp, partial_jvp, |x| (x, c(1.7)), at [0.4, -2.0]);
}

/// An owned `Vec` and a fixed-size array: `f_jvp` lends its `Vec` tangent to the body,
/// passes the array; the array's length is a const parameter passed on explicitly.
#[differentiate(wrt = [x, w])]
fn owned<T: Float, const N: usize>(x: Vec<T>, w: [T; N]) -> T {
    let mut s = T::zero();
    for i in 0..N {
        s = s + (x[i] * w[i]).sin();
    }
    s * x[0]
}

#[test]
fn owned_vectors_and_arrays() {
    let (x, w) = (vec![0.3, -1.2, 0.8], [1.1, 0.4, -0.6]);
    let f = |v: &[D]| owned(v[..3].to_vec(), [v[3], v[4], v[5]]);
    let all: Vec<f64> = x.iter().chain(&w).copied().collect();
    let (value, g) = gradient(f, &all);
    let (v, (gx, gw)) = owned_grad(x.clone(), w);
    assert_close("owned_grad value", v, value, 1e-12);
    for i in 0..3 {
        assert_close("owned_grad d/dx", gx[i], g[i], 1e-12);
        assert_close("owned_grad d/dw", gw[i], g[3 + i], 1e-12);
    }
    let (_, (gx, gw)) = owned_vjp(x.clone(), w, 0.5);
    assert_close("owned_vjp d/dx", gx[1], 0.5 * g[1], 1e-12);
    assert_close("owned_vjp d/dw", gw[2], 0.5 * g[5], 1e-12);
    let (tx, tw) = (vec![0.2, 0.0, -1.0], [0.0, 0.7, 0.1]);
    let (v, t) = owned_jvp(x.clone(), w, tx.clone(), tw);
    let dual: Vec<D> = (all.iter().zip(tx.iter().chain(&tw)))
        .map(|(&a, &t)| D::var(a, t))
        .collect();
    assert_close("owned_jvp value", v, value, 1e-12);
    assert_close("owned_jvp", t, f(&dual).eps(), 1e-12);
}

/// A method: the body is a sibling, called through `Self::`.
struct Spring {
    k: f64,
}

impl Spring {
    #[differentiate(wrt = [x, v])]
    fn energy(&self, x: f64, v: f64) -> f64 {
        0.5 * self.k * x * x + 0.5 * v * v * (x * 0.1).cosh()
    }
}

#[test]
fn a_method_calls_its_sibling_body() {
    let s = Spring { k: 3.0 };
    let f = |v: &[D]| {
        D::cst(0.5) * D::cst(3.0) * v[0] * v[0]
            + D::cst(0.5) * v[1] * v[1] * (v[0] * D::cst(0.1)).cosh()
    };
    let (value, g) = gradient(f, &[0.7, -1.4]);
    let (e, (gx, gv)) = s.energy_grad(0.7, -1.4);
    assert_close("energy_grad value", e, value, 1e-12);
    assert_close("energy_grad d/dx", gx, g[0], 1e-12);
    assert_close("energy_grad d/dv", gv, g[1], 1e-12);
    let (_, (gx, gv)) = s.energy_vjp(0.7, -1.4, 2.5);
    assert_close("energy_vjp d/dx", gx, 2.5 * g[0], 1e-12);
    assert_close("energy_vjp d/dv", gv, 2.5 * g[1], 1e-12);
    let (_, t) = s.energy_jvp(0.7, -1.4, 1.0, 0.0);
    assert_close("energy_jvp", t, g[0], 1e-12);
}

/// Parameters named like the callers' own bindings (`seed`, `value`, `gradient_0`,
/// `tangent_seed`), every one in `wrt` in another order, so `f_vjp` binds `value` and
/// `gradient_0` and `f_jvp` takes `tangent_seed`: the callers' names are hygienic, so
/// nothing collides.
#[differentiate(wrt = [value, seed, tangent_seed, gradient_0])]
fn clashing(seed: f64, value: f64, gradient_0: f64, tangent_seed: f64) -> f64 {
    (seed * value).sin() + gradient_0 * tangent_seed * value
}

#[test]
fn parameters_named_like_the_callers_bindings() {
    let at = [-0.4, 0.9, 0.2, 1.3]; // value, seed, tangent_seed, gradient_0
    let f = |w: &[D]| (w[1] * w[0]).sin() + w[3] * w[2] * w[0];
    let (value, g) = gradient(f, &at);
    let (got, grads) = clashing_grad(at[1], at[0], at[3], at[2]);
    assert_close("clashing_grad value", got, value, 1e-12);
    let grads = [grads.0, grads.1, grads.2, grads.3];
    for k in 0..4 {
        assert_close("clashing_grad", grads[k], g[k], 1e-12);
    }
    let (_, vjp) = clashing_vjp(at[1], at[0], at[3], at[2], -0.5);
    let vjp = [vjp.0, vjp.1, vjp.2, vjp.3];
    for k in 0..4 {
        assert_close("clashing_vjp", vjp[k], -0.5 * g[k], 1e-12);
    }
    let u = [1.0, 2.0, -0.7, 0.3];
    let (_, t) = clashing_jvp(at[1], at[0], at[3], at[2], u[0], u[1], u[2], u[3]);
    let want: f64 = (0..4).map(|k| u[k] * g[k]).sum();
    assert_close("clashing_jvp", t, want, 1e-12);
}
