//! Structs as differentiable parameters (`wrt = self`, `wrt = m`): `_grad`, `_vjp` and `_jvp`
//! against central finite differences of the original function (each float leaf perturbed
//! through the `Params` leaf API) and, for a generic model, against dual numbers.
#![allow(clippy::needless_range_loop)]
use autodiff::prelude::*;

mod dual;
use dual::D;

mod models_support;
use models_support::{check, close, finite_differences, flat};

// ---- a flat struct: a Vec field and a scalar field, `wrt = self`, a loop ----

#[derive(Params, Debug, Clone, PartialEq)]
struct Linear {
    w: Vec<f64>,
    b: f64,
}

impl Linear {
    #[differentiate(wrt = self)]
    fn loss(&self, x: &[f64], y: f64) -> f64 {
        let mut s = self.b;
        for i in 0..self.w.len() {
            s += self.w[i] * x[i];
        }
        let r = s.tanh() - y;
        r * r + 0.1 * self.b * self.b
    }
}

#[test]
fn flat_struct_through_self() {
    let m = Linear {
        w: vec![0.3, -0.7, 1.1],
        b: 0.2,
    };
    let x = [0.5, 1.5, -0.4];
    check(
        &m,
        |m| m.loss(&x, 0.25),
        |m| m.loss_grad(&x, 0.25),
        |m, s| m.loss_vjp(&x, 0.25, s),
        |m, t| m.loss_jvp(&x, 0.25, t),
    );
    // The gradient has the model's type, ready for apply_gradients.
    let (_, g): (f64, Linear) = m.loss_grad(&x, 0.25);
    assert_eq!(g.w.len(), 3);
}

// ---- nested structs, an array field, a free function with `wrt = m`, a call ----

#[derive(Params, Debug, Clone, PartialEq)]
struct Dense {
    w: [f64; 3],
    b: f64,
}

#[derive(Params, Debug, Clone, PartialEq)]
struct Net {
    layer: Dense,
    scale: f64,
    unused: Vec<f64>,
}

#[differentiate(wrt = [x, w])]
fn dot(x: &[f64], w: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        s += x[i] * w[i];
    }
    s
}

#[differentiate(wrt = m)]
fn net_loss(m: &Net, x: &[f64]) -> f64 {
    let h = (dot(x, &m.layer.w) + m.layer.b).sin();
    m.scale * h * h + m.layer.w[0].exp()
}

#[test]
fn nested_struct_through_a_reference_parameter() {
    let m = Net {
        layer: Dense {
            w: [0.4, -0.2, 0.9],
            b: -0.3,
        },
        scale: 1.7,
        unused: vec![5.0, 6.0],
    };
    let x = [1.0, 2.0, -0.5];
    check(
        &m,
        |m| net_loss(m, &x),
        |m| net_loss_grad(m, &x),
        |m, s| net_loss_vjp(m, &x, s),
        |m, t| net_loss_jvp(m, &x, t),
    );
    // A leaf the function never reads has a zero gradient.
    let (_, g) = net_loss_grad(&m, &x);
    assert_eq!(g.unused, vec![0.0, 0.0]);
}

// ---- a struct by value, mixed with a scalar in `wrt` ----

#[differentiate(wrt = [m, t])]
fn by_value(m: Dense, t: f64) -> f64 {
    (m.w[0] * t + m.w[1] * m.w[2]).cos() + m.b * t * t
}

#[test]
fn struct_by_value_and_a_scalar() {
    let m = Dense {
        w: [0.4, -0.2, 0.9],
        b: -0.3,
    };
    let t = 0.7;
    let fd = finite_differences(&m, |m| by_value(m.clone(), t));
    let fd_t = dual::finite_difference(|t| by_value(m.clone(), t), t);
    let (value, (g, gt)) = by_value_grad(m.clone(), t);
    assert_eq!(value, by_value(m.clone(), t));
    close(&flat(&g), &fd, 1e-6);
    close(&[gt], &[fd_t], 1e-6);
    let (_, (g, gt)) = by_value_vjp(m.clone(), t, -2.0);
    close(
        &flat(&g),
        &fd.iter().map(|g| -2.0 * g).collect::<Vec<_>>(),
        1e-6,
    );
    close(&[gt], &[-2.0 * fd_t], 1e-6);
    let tangent = Dense {
        w: [1.0, 0.0, 0.5],
        b: 2.0,
    };
    let (_, d) = by_value_jvp(m.clone(), t, &tangent, 0.25);
    let expected = fd[0] + 0.5 * fd[2] + 2.0 * fd[3] + 0.25 * fd_t;
    close(&[d], &[expected], 1e-6);
}

// ---- `stop` names a field ----

impl Linear {
    #[differentiate(wrt = self, stop = [self.b])]
    fn stopped(&self, x: &[f64]) -> f64 {
        let mut s = 0.0;
        for i in 0..x.len() {
            s += (self.w[i] * x[i] + self.b).powi(2);
        }
        s
    }
}

#[test]
fn stop_names_a_field() {
    let m = Linear {
        w: vec![0.3, -0.7],
        b: 0.2,
    };
    let x = [0.5, 1.5];
    let (_, g) = m.stopped_grad(&x);
    assert_eq!(g.b, 0.0);
    let fd = finite_differences(&m, |m| m.stopped(&x));
    close(&g.w, &fd[..2], 1e-6);
    assert!(
        fd[2].abs() > 0.1,
        "b does change the value: the stop is what zeroes it"
    );
}

// ---- a generic model, against dual numbers ----

#[derive(Params, Debug, Clone, PartialEq)]
struct Poly<T> {
    c: Vec<T>,
    shift: T,
}

impl<T: Float> Poly<T> {
    #[differentiate(wrt = self)]
    fn eval(&self, x: T) -> T {
        let mut acc = T::zero();
        let mut p = T::one();
        for k in 0..self.c.len() {
            acc = acc + self.c[k] * p;
            p = p * (x - self.shift);
        }
        acc.sin()
    }
}

#[test]
fn generic_model_against_dual_numbers() {
    let m = Poly {
        c: vec![0.5, -1.0, 0.25],
        shift: 0.3,
    };
    let x = 1.2;
    // The k-th partial from a dual evaluation with leaf k seeded.
    let n = m.num_scalars();
    let dual_grad: Vec<f64> = (0..n)
        .map(|k| {
            let seed = |i: usize, v: f64| D::var(v, if i == k { 1.0 } else { 0.0 });
            let md = Poly {
                c: m.c.iter().enumerate().map(|(i, &v)| seed(i, v)).collect(),
                shift: seed(m.c.len(), m.shift),
            };
            md.eval(D::cst(x)).eps()
        })
        .collect();
    let (value, g) = m.eval_grad(x);
    assert_eq!(value, m.eval(x));
    close(&flat(&g), &dual_grad, 1e-12);
    let (_, g) = m.eval_vjp(x, 3.0);
    close(
        &flat(&g),
        &dual_grad.iter().map(|g| 3.0 * g).collect::<Vec<_>>(),
        1e-12,
    );
    let t = Poly {
        c: vec![1.0, 2.0, 3.0],
        shift: -1.0,
    };
    let (_, d) = m.eval_jvp(x, &t);
    let expected: f64 = flat(&t).iter().zip(&dual_grad).map(|(a, b)| a * b).sum();
    close(&[d], &[expected], 1e-12);
    // And at f32.
    let m32 = Poly {
        c: vec![0.5_f32, -1.0, 0.25],
        shift: 0.3_f32,
    };
    let (_, g32) = m32.eval_grad(1.2_f32);
    for (a, b) in g32.c.iter().zip(&dual_grad) {
        assert!((*a as f64 - b).abs() < 1e-4);
    }
}

// ---- the training loop, as written ----

fn data() -> Vec<([f64; 2], f64)> {
    (0..12)
        .map(|i| {
            let x = [(i as f64) / 6.0 - 1.0, ((i * 5 % 7) as f64) / 3.5 - 1.0];
            (x, 0.8 * x[0] - 0.4 * x[1] + 0.1)
        })
        .collect()
}

#[derive(Params, Debug, Clone, PartialEq)]
struct Affine {
    w: [f64; 2],
    b: f64,
}

impl Affine {
    #[differentiate(wrt = self)]
    fn mse(&self, xs: &[f64], ys: &[f64]) -> f64 {
        let mut s = 0.0;
        for i in 0..ys.len() {
            let r = self.w[0] * xs[2 * i] + self.w[1] * xs[2 * i + 1] + self.b - ys[i];
            s += r * r;
        }
        s / ys.len() as f64
    }
}

fn train(opt: &mut impl Optimizer<f64>, steps: usize) -> (f64, f64, Affine) {
    let d = data();
    let xs: Vec<f64> = d.iter().flat_map(|(x, _)| *x).collect();
    let ys: Vec<f64> = d.iter().map(|(_, y)| *y).collect();
    let mut model = Affine {
        w: [0.0, 0.0],
        b: 0.0,
    };
    let first = model.mse(&xs, &ys);
    for _ in 0..steps {
        opt.minimize(&mut model, |m| m.mse_grad(&xs, &ys));
    }
    (first, model.mse(&xs, &ys), model)
}

#[test]
fn minimize_with_adam_and_gradient_descent() {
    let (first, last, model) = train(&mut Adam::new(0.05), 400);
    assert!(last < 1e-4 * first, "{first} -> {last}");
    assert!((model.w[0] - 0.8).abs() < 0.02, "{model:?}");
    let (first, last, model) = train(&mut GradientDescent::new(0.5), 400);
    assert!(last < 1e-4 * first, "{first} -> {last}");
    assert!((model.b - 0.1).abs() < 0.02, "{model:?}");
}
