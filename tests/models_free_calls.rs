//! A struct in `wrt` passed whole to a free differentiated function (`predict(m, x)`,
//! `predict(self, x)`): the call goes through the callee's hidden functions, as a method's
//! call `self.forward(x)` does, and the callee's gradient of the struct is added to the
//! caller's. Checked against dual numbers (num-dual: the same generic functions run at `D`)
//! and central finite differences.
#![allow(
    clippy::needless_range_loop,
    // `predict(&m, x)` with `m: &Lin` is one of the forms under test.
    clippy::needless_borrow
)]
use autodiff::prelude::*;

mod dual;
use dual::D;

mod models_support;
use models_support::{check, close, flat};

#[derive(Params, Debug, Clone, PartialEq)]
struct Lin<T> {
    w: Vec<T>,
    b: T,
    scale: T,
}

/// The callee: a free function with the struct by reference, and an array argument that
/// carries a derivative where a caller computed it.
#[differentiate(wrt = [m, x])]
fn predict<T: Float>(m: &Lin<T>, x: &[T]) -> T {
    let mut s = m.b;
    for i in 0..x.len() {
        s = s + m.w[i] * x[i];
    }
    (s * m.scale).tanh()
}

/// A caller passing its own struct whole, in a loop, with an input it computes.
#[differentiate(wrt = m)]
fn loss<T: Float>(m: &Lin<T>, x: &[T], y: T) -> T {
    let mut total = T::zero();
    let mut h = x.to_vec();
    for _ in 0..3 {
        let p = predict(m, &h);
        total = total + (p - y) * (p - y);
        for i in 0..h.len() {
            h[i] = h[i] * p + m.w[i];
        }
    }
    total + m.b * m.w[0]
}

/// Two levels, and the struct in `wrt` next to a float.
#[differentiate(wrt = [m, y])]
fn outer<T: Float>(m: &Lin<T>, x: &[T], y: T) -> T {
    loss(m, x, y) * y + predict(m, x)
}

impl<T: Float> Lin<T> {
    /// A method passing `self` to the free function.
    #[differentiate(wrt = self)]
    fn objective(&self, x: &[T]) -> T {
        predict(self, x) * self.b + outer(self, x, self.scale)
    }
}

fn model() -> Lin<f64> {
    Lin {
        w: vec![0.4, -0.3, 0.7],
        b: 0.15,
        scale: 0.8,
    }
}

/// The model at dual numbers with leaf `k` (in visit order: w, b, scale) seeded.
fn seeded(m: &Lin<f64>, k: usize) -> Lin<D> {
    let leaf = |v: f64, at: usize| D::var(v, if at == k { 1.0 } else { 0.0 });
    let n = m.w.len();
    Lin {
        w: m.w.iter().enumerate().map(|(i, &v)| leaf(v, i)).collect(),
        b: leaf(m.b, n),
        scale: leaf(m.scale, n + 1),
    }
}

const X: [f64; 3] = [0.5, -1.2, 0.9];

fn dual_gradient(f: impl Fn(&Lin<D>) -> D) -> Vec<f64> {
    let m = model();
    let g: Vec<f64> = (0..m.num_scalars())
        .map(|k| f(&seeded(&m, k)).eps())
        .collect();
    assert!(g.iter().all(|v| v.abs() > 1e-6), "a test of nothing: {g:?}");
    g
}

fn xd() -> Vec<D> {
    X.iter().map(|&v| D::cst(v)).collect()
}

#[test]
fn a_struct_passed_whole_in_a_loop() {
    let m = model();
    let want = dual_gradient(|m| loss(m, &xd(), D::cst(0.3)));
    let (value, g): (f64, Lin<f64>) = loss_grad(&m, &X, 0.3);
    assert_eq!(value, loss(&m, &X, 0.3));
    close(&flat(&g), &want, 1e-12);
    check(
        &m,
        |m| loss(m, &X, 0.3),
        |m| loss_grad(m, &X, 0.3),
        |m, s| loss_vjp(m, &X, 0.3, s),
        |m, t| loss_jvp(m, &X, 0.3, t),
    );
}

#[test]
fn two_levels_and_a_float_beside_the_struct() {
    let m = model();
    let want = dual_gradient(|m| outer(m, &xd(), D::cst(0.3)));
    let (value, (g, gy)): (f64, (Lin<f64>, f64)) = outer_grad(&m, &X, 0.3);
    assert_eq!(value, outer(&m, &X, 0.3));
    close(&flat(&g), &want, 1e-12);
    let (_, dy) = dual::derivative(|y| outer(&seeded(&m, usize::MAX), &xd(), y), 0.3, 1.0);
    close(&[gy], &[dy], 1e-12);
    check(
        &m,
        |m| outer(m, &X, 0.3),
        |m| {
            let (v, (g, _)) = outer_grad(m, &X, 0.3);
            (v, g)
        },
        |m, s| {
            let (v, (g, _)) = outer_vjp(m, &X, 0.3, s);
            (v, g)
        },
        |m, t| outer_jvp(m, &X, 0.3, t, 0.0),
    );
}

#[test]
fn a_method_passing_self_to_a_free_function() {
    let m = model();
    let want = dual_gradient(|m| m.objective(&xd()));
    let (value, g): (f64, Lin<f64>) = m.objective_grad(&X);
    assert_eq!(value, m.objective(&X));
    close(&flat(&g), &want, 1e-12);
    check(
        &m,
        |m| m.objective(&X),
        |m| m.objective_grad(&X),
        |m, s| m.objective_vjp(&X, s),
        |m, t| m.objective_jvp(&X, t),
    );
}

/// The callee's own gradient with respect to its array argument, where the caller computed
/// it (`h` in `loss`), flows back through the caller: the caller's gradient with respect to
/// `x` (as a second `wrt` entry) against dual numbers.
#[differentiate(wrt = [m, x])]
fn through_input<T: Float>(m: &Lin<T>, x: &[T]) -> T {
    let h: Vec<T> = x.iter().map(|v| *v * *v).collect();
    predict(m, &h) + predict(&m, x)
}

#[test]
fn the_callee_array_argument_carries_its_derivative() {
    let m = model();
    let (_, (_, gx)): (f64, (Lin<f64>, Vec<f64>)) = through_input_grad(&m, &X);
    let md = seeded(&m, usize::MAX);
    for k in 0..X.len() {
        let x: Vec<D> = X
            .iter()
            .enumerate()
            .map(|(i, &v)| D::var(v, if i == k { 1.0 } else { 0.0 }))
            .collect();
        let want = through_input(&md, &x).eps();
        assert!(want.abs() > 1e-6);
        close(&[gx[k]], &[want], 1e-12);
    }
    let want = dual_gradient(|m| through_input(m, &xd()));
    let (_, (g, _)) = through_input_grad(&m, &X);
    close(&flat(&g), &want, 1e-12);
}

// ---- a tensor model: the callee returns a tensor ----

#[derive(Params, Debug, Clone, PartialEq)]
struct Layer {
    w: Tensor<f64>,
    b: Tensor<f64>,
}

#[differentiate(wrt = m)]
fn forward(m: &Layer, x: &Tensor<f64>) -> Tensor<f64> {
    (x.matmul(&m.w) + &m.b).tanh()
}

#[differentiate(wrt = m)]
fn tensor_loss(m: &Layer, x: &Tensor<f64>) -> f64 {
    let h: Tensor<f64> = forward(m, x);
    let again: Tensor<f64> = forward(m, &h);
    (&again * &h).sum()
}

#[test]
fn a_tensor_model_passed_whole() {
    let m = Layer {
        w: Tensor::from_vec(vec![0.5, -0.3, 0.2, 0.7], &[2, 2]),
        b: Tensor::from_vec(vec![0.1, -0.1], &[1, 2]),
    };
    let x = Tensor::from_vec(vec![1.0, 2.0, -0.5, 0.3], &[2, 2]);
    check(
        &m,
        |m| tensor_loss(m, &x),
        |m| tensor_loss_grad(m, &x),
        |m, s| tensor_loss_vjp(m, &x, s),
        |m, t| tensor_loss_jvp(m, &x, t),
    );
}
