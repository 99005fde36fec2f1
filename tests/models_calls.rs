//! Methods of a struct in `wrt` calling each other (`self.forward(x)` where `forward` has
//! `#[differentiate(wrt = self)]` too): the callee's gradient of `self` adds up in the
//! caller's, and its arguments' gradients flow back. Against finite differences and dual
//! numbers.
// `h = h + layer.b.sum()` on a tensor is written as the macro differentiates it.
#![allow(clippy::needless_range_loop, clippy::assign_op_pattern)]
use autodiff::prelude::*;

mod dual;
use dual::D;

mod models_support;
use models_support::{check, close, flat};

#[derive(Params, Debug, Clone, PartialEq)]
struct Dense {
    w: Tensor<f64>,
    b: Tensor<f64>,
}

#[derive(Params, Debug, Clone, PartialEq)]
struct Mlp {
    layers: Vec<Dense>,
    decay: f64,
}

impl Mlp {
    #[differentiate(wrt = self)]
    fn forward(&self, x: &Tensor<f64>) -> Tensor<f64> {
        let mut h = x.clone();
        for layer in self.layers.iter() {
            h = (h.matmul(&layer.w) + &layer.b).tanh();
        }
        h
    }

    #[differentiate(wrt = self)]
    fn penalty(&self) -> f64 {
        let mut s = 0.0;
        for layer in self.layers.iter() {
            s += layer.w.square().sum();
        }
        self.decay * s
    }

    /// Calls two differentiated methods of `self`, one returning a tensor.
    #[differentiate(wrt = self)]
    fn loss(&self, x: &Tensor<f64>, y: &Tensor<f64>) -> f64 {
        let out: Tensor<f64> = self.forward(x);
        let err = out - y;
        (&err * &err).mean() + self.penalty()
    }

    /// A call of a method that calls methods in turn.
    #[differentiate(wrt = self)]
    fn outer(&self, x: &Tensor<f64>, y: &Tensor<f64>) -> f64 {
        let l = self.loss(x, y);
        l * l + self.penalty() * self.decay
    }

    /// A method called with a differentiated argument (the output of another).
    #[differentiate(wrt = self)]
    fn twice(&self, x: &Tensor<f64>) -> f64 {
        let h: Tensor<f64> = self.forward(x);
        let z: Tensor<f64> = self.forward(&h.transpose().matmul(&h));
        z.sum()
    }
}

fn mlp() -> Mlp {
    let t = |v: Vec<f64>, s: &[usize]| Tensor::from_vec(v, s);
    Mlp {
        layers: vec![
            Dense {
                w: t(vec![0.3, -0.5, 0.8, 0.1], &[2, 2]),
                b: t(vec![0.05, -0.1], &[2]),
            },
            Dense {
                w: t(vec![0.6, -0.4, 0.25, 0.9], &[2, 2]),
                b: t(vec![-0.2, 0.3], &[2]),
            },
        ],
        decay: 0.3,
    }
}

#[test]
fn a_loss_calling_forward_and_a_penalty() {
    let m = mlp();
    let x = Tensor::from([[1.0, 0.5], [-0.5, 2.0], [0.3, -1.0]]);
    let y = Tensor::from([[0.5, -0.5], [1.0, 0.0], [0.2, 0.1]]);
    check(
        &m,
        |m| m.loss(&x, &y),
        |m| m.loss_grad(&x, &y),
        |m, s| m.loss_vjp(&x, &y, s),
        |m, t| m.loss_jvp(&x, &y, t),
    );
}

#[test]
fn calls_of_calls() {
    let m = mlp();
    let x = Tensor::from([[1.0, 0.5], [-0.5, 2.0], [0.3, -1.0]]);
    let y = Tensor::from([[0.5, -0.5], [1.0, 0.0], [0.2, 0.1]]);
    check(
        &m,
        |m| m.outer(&x, &y),
        |m| m.outer_grad(&x, &y),
        |m, s| m.outer_vjp(&x, &y, s),
        |m, t| m.outer_jvp(&x, &y, t),
    );
}

#[test]
fn a_method_called_on_a_differentiated_argument() {
    let m = mlp();
    let x = Tensor::from([[1.0, 0.5], [-0.5, 2.0]]);
    check(
        &m,
        |m| m.twice(&x),
        |m| m.twice_grad(&x),
        |m, s| m.twice_vjp(&x, s),
        |m, t| m.twice_jvp(&x, t),
    );
}

// ---- a generic model: calls in a loop, with differentiated arguments, at dual numbers ----

#[derive(Params, Debug, Clone, PartialEq)]
struct Poly<T> {
    c: Vec<T>,
}

impl<T: Float> Poly<T> {
    #[differentiate(wrt = self)]
    fn eval(&self, x: T) -> T {
        let mut acc = T::zero();
        for k in (0..self.c.len()).rev() {
            acc = acc * x + self.c[k];
        }
        acc.tanh()
    }

    #[differentiate(wrt = self)]
    fn orbit(&self, x0: T, n: usize) -> T {
        let mut x = x0;
        let mut s = T::zero();
        for _ in 0..n {
            x = self.eval(x);
            s = s + x * self.c[0];
        }
        s
    }
}

#[test]
fn calls_in_a_loop_against_dual_numbers() {
    let m = Poly {
        c: vec![0.4, -0.9, 0.7],
    };
    let (x0, n) = (0.3, 4);
    let dual_grad: Vec<f64> = (0..3)
        .map(|k| {
            let c =
                m.c.iter()
                    .enumerate()
                    .map(|(i, &v)| D::var(v, if i == k { 1.0 } else { 0.0 }))
                    .collect();
            Poly { c }.orbit(D::cst(x0), n).eps()
        })
        .collect();
    assert!(dual_grad.iter().all(|g| g.abs() > 1e-4), "{dual_grad:?}");
    let (value, g) = m.orbit_grad(x0, n);
    assert_eq!(value, m.orbit(x0, n));
    close(&flat(&g), &dual_grad, 1e-12);
    check(
        &m,
        |m| m.orbit(x0, n),
        |m| m.orbit_grad(x0, n),
        |m, s| m.orbit_vjp(x0, n, s),
        |m, t| m.orbit_jvp(x0, n, t),
    );
}

// A tensor field that the body only passes to a call cannot be told from an array by its
// uses; bound with its type first (`let w: &Tensor<f64> = &self.w;`), it is a tensor.
#[differentiate(wrt = [w, b])]
fn affine_score(w: &Tensor<f64>, b: &Tensor<f64>, x: &Tensor<f64>) -> f64 {
    let z = &x.matmul(w) + b;
    (&z * &z).sum()
}

#[derive(Params, Debug, Clone, PartialEq)]
struct Head {
    w: Tensor<f64>,
    b: Tensor<f64>,
    scale: f64,
}

impl Head {
    #[differentiate(wrt = self)]
    fn loss(&self, x: &Tensor<f64>) -> f64 {
        let w: &Tensor<f64> = &self.w;
        let b: &Tensor<f64> = &self.b;
        affine_score(w, b, x) * self.scale
    }
}

#[test]
fn a_tensor_field_passed_to_a_call_through_a_typed_binding() {
    let m = Head {
        w: Tensor::from([[0.5, -1.0], [0.25, 2.0], [1.5, 0.1]]),
        b: Tensor::from([[0.1, -0.2]]),
        scale: 0.7,
    };
    let x = Tensor::from([[1.0, 0.5, -0.3], [-0.5, 2.0, 0.4]]);
    check(
        &m,
        |m| m.loss(&x),
        |m| m.loss_grad(&x),
        |m, s| m.loss_vjp(&x, s),
        |m, t| m.loss_jvp(&x, t),
    );
}

// ---- methods of an element: `layer.forward(&h)` for `layer` in `self.layers` ----
// The callee's gradient of `layer` lands in the caller's gradient at that element (the
// run of leaves it is), its argument's gradient flows back.

impl Dense {
    #[differentiate(wrt = self)]
    fn forward(&self, x: &Tensor<f64>) -> Tensor<f64> {
        (x.matmul(&self.w) + &self.b).tanh()
    }

    /// Calls a method of its own: an element's method calling methods in turn.
    #[differentiate(wrt = self)]
    fn scaled(&self, x: &Tensor<f64>, k: f64) -> Tensor<f64> {
        let y: Tensor<f64> = self.forward(x);
        y * k + self.bias_sum()
    }

    #[differentiate(wrt = self)]
    fn bias_sum(&self) -> f64 {
        self.b.sum()
    }
}

impl Mlp {
    /// The natural form: each layer applied by its own method.
    #[differentiate(wrt = self)]
    fn layered_loss(&self, x: &Tensor<f64>, y: &Tensor<f64>) -> f64 {
        let mut h = x.clone();
        for layer in self.layers.iter() {
            h = layer.forward(&h);
        }
        let err = h - y;
        (&err * &err).mean() + self.decay * self.penalty()
    }

    /// With `.enumerate()`, a method of the element that calls methods, and a field of the
    /// element read next to it.
    #[differentiate(wrt = self)]
    fn mixed_loss(&self, x: &Tensor<f64>) -> f64 {
        let mut h = x.clone();
        for (l, layer) in self.layers.iter().enumerate() {
            let k = 0.5 + l as f64;
            h = layer.scaled(&h, k * self.decay);
            h = h + layer.b.sum();
        }
        (&h * &h).sum()
    }
}

#[test]
fn methods_of_elements_against_finite_differences() {
    let m = mlp();
    let x = Tensor::from([[1.0, 0.5], [-0.5, 2.0], [0.3, -1.0]]);
    let y = Tensor::from([[0.5, -0.5], [1.0, 0.0], [0.2, 0.1]]);
    check(
        &m,
        |m| m.layered_loss(&x, &y),
        |m| m.layered_loss_grad(&x, &y),
        |m, s| m.layered_loss_vjp(&x, &y, s),
        |m, t| m.layered_loss_jvp(&x, &y, t),
    );
    check(
        &m,
        |m| m.mixed_loss(&x),
        |m| m.mixed_loss_grad(&x),
        |m, s| m.mixed_loss_vjp(&x, s),
        |m, t| m.mixed_loss_jvp(&x, t),
    );
}

/// A free function over `&Mlp`: the same element calls, next to a method of the element
/// called for a condition (read as written).
#[differentiate(wrt = m)]
fn free_layered(m: &Mlp, x: &Tensor<f64>) -> f64 {
    let mut h = x.clone();
    for layer in m.layers.iter() {
        if layer.w.len() > 1 {
            h = layer.forward(&h);
        }
    }
    (&h * &h).mean() * m.decay
}

#[test]
fn methods_of_elements_from_a_free_function() {
    let m = mlp();
    let x = Tensor::from([[1.0, 0.5], [-0.5, 2.0], [0.3, -1.0]]);
    check(
        &m,
        |m| free_layered(m, &x),
        |m| free_layered_grad(m, &x),
        |m, s| free_layered_vjp(m, &x, s),
        |m, t| free_layered_jvp(m, &x, t),
    );
}

// ---- methods of a struct field and of an element indexed in place ----

#[derive(Params, Debug, Clone, PartialEq)]
struct Stack {
    layers: Vec<Dense>,
    head: Dense,
    decay: f64,
}

impl Stack {
    #[differentiate(wrt = self)]
    fn loss(&self, x: &Tensor<f64>) -> f64 {
        let mut h = x.clone();
        for l in 0..self.layers.len() {
            h = self.layers[l].forward(&h);
        }
        let out: Tensor<f64> = self.head.scaled(&h, self.decay);
        (&out * &out).mean()
    }
}

#[test]
fn methods_of_a_field_and_of_an_indexed_element() {
    let m = mlp();
    let s = Stack {
        head: m.layers[1].clone(),
        layers: m.layers,
        decay: 0.7,
    };
    let x = Tensor::from([[1.0, 0.5], [-0.5, 2.0], [0.3, -1.0]]);
    check(
        &s,
        |m| m.loss(&x),
        |m| m.loss_grad(&x),
        |m, v| m.loss_vjp(&x, v),
        |m, t| m.loss_jvp(&x, t),
    );
}

/// A method of the struct called on a parameter (`m.penalty()`), as on `self`.
#[differentiate(wrt = m)]
fn free_with_penalty(m: &Mlp, x: &Tensor<f64>) -> f64 {
    let out: Tensor<f64> = m.forward(x);
    out.sum() + m.penalty()
}

#[test]
fn methods_of_a_struct_parameter() {
    let m = mlp();
    let x = Tensor::from([[1.0, 0.5], [-0.5, 2.0], [0.3, -1.0]]);
    check(
        &m,
        |m| free_with_penalty(m, &x),
        |m| free_with_penalty_grad(m, &x),
        |m, s| free_with_penalty_vjp(m, &x, s),
        |m, t| free_with_penalty_jvp(m, &x, t),
    );
}

// ---- methods of elements in a generic impl: `layer.forward(h)` with `layer: &Cell<T>` ----

#[derive(Params, Debug, Clone, PartialEq)]
struct Cell<T> {
    w: Vec<T>,
    b: T,
}

impl<T: Float> Cell<T> {
    #[differentiate(wrt = self)]
    fn forward(&self, h: T) -> T {
        (self.w[0] * h + self.w[1] * h * h + self.b).tanh()
    }
}

#[derive(Params, Debug, Clone, PartialEq)]
struct Chain<T> {
    cells: Vec<Cell<T>>,
    gain: T,
}

impl<T: Float> Chain<T> {
    // `Cell<T>: Params<T>` needs `T: Params<T>` (the derive's bound for the field `b: T`);
    // the macro adds it to what it generates, so `impl<T: Float>` is all the user writes.
    #[differentiate(wrt = self)]
    fn loss(&self, x: T) -> T {
        let mut h = x * self.gain;
        for cell in self.cells.iter() {
            h = cell.forward(h);
        }
        h * h + self.cells[0].b * self.gain
    }
}

#[test]
fn element_methods_in_a_generic_impl_against_dual_numbers() {
    let m = Chain {
        cells: vec![
            Cell {
                w: vec![0.5, -0.3],
                b: 0.1,
            },
            Cell {
                w: vec![-0.7, 0.2],
                b: 0.3,
            },
        ],
        gain: 1.3,
    };
    let x = 0.8;
    let leaves = flat(&m);
    let dual_grad: Vec<f64> = (0..leaves.len())
        .map(|k| {
            let seed = |i: usize, v: f64| D::var(v, if i == k { 1.0 } else { 0.0 });
            let cells = (0..2)
                .map(|c| Cell {
                    w: vec![
                        seed(3 * c, m.cells[c].w[0]),
                        seed(3 * c + 1, m.cells[c].w[1]),
                    ],
                    b: seed(3 * c + 2, m.cells[c].b),
                })
                .collect();
            Chain {
                cells,
                gain: seed(6, m.gain),
            }
            .loss(D::cst(x))
            .eps()
        })
        .collect();
    assert!(dual_grad.iter().all(|g| g.abs() > 1e-4), "{dual_grad:?}");
    let (value, g) = m.loss_grad(x);
    assert_eq!(value, m.loss(x));
    close(&flat(&g), &dual_grad, 1e-12);
    check(
        &m,
        |m| m.loss(x),
        |m| m.loss_grad(x),
        |m, s| m.loss_vjp(x, s),
        |m, t| m.loss_jvp(x, t),
    );
}
