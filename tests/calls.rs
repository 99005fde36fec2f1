//! Calls between differentiated functions: active values in any float argument (whatever the
//! callee's own `wrt` says), calls in expressions and loops, array arguments, nested calls,
//! methods, generic chains and recursion; checked against finite differences and forward
//! against reverse.
use autodiff::prelude::*;

fn fd(f: impl Fn(f64) -> f64, x: f64) -> f64 {
    let h = 1e-6;
    (f(x + h) - f(x - h)) / (2.0 * h)
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * (1.0 + a.abs().max(b.abs()))
}

#[differentiate(wrt = x)]
fn scale(x: f64, k: f64) -> f64 {
    x * k.exp()
}

/// `scale` differentiates only in `x`, but callers get `k`'s gradient too.
#[differentiate(wrt = [a, b])]
fn uses_scale(a: f64, b: f64) -> f64 {
    scale(a * a, b) + scale(b, 1.0)
}

#[test]
fn an_active_value_in_a_non_wrt_parameter() {
    let (a, b) = (0.7, -0.4);
    let (value, (da, db)) = uses_scale_grad(a, b);
    assert_eq!(value, uses_scale(a, b));
    assert!(close(da, fd(|a| uses_scale(a, b), a), 1e-6), "{da}");
    assert!(close(db, fd(|b| uses_scale(a, b), b), 1e-6), "{db}");
    let (_, t) = uses_scale_jvp(a, b, 0.3, -1.1);
    assert!(close(t, 0.3 * da - 1.1 * db, 1e-12));
}

#[differentiate]
fn h(x: f64) -> f64 {
    x.sin() * 2.0
}

#[differentiate]
fn g(x: f64) -> f64 {
    x * x + 1.0
}

#[differentiate(wrt = x)]
fn nested(x: f64) -> f64 {
    let y = h(g(h(x)));
    y * g(x)
}

#[test]
fn nested_calls() {
    for x in [0.3, -1.2, 2.0] {
        let (value, dx) = nested_grad(x);
        assert_eq!(value, nested(x));
        assert!(close(dx, fd(nested, x), 1e-6), "{dx} vs {}", fd(nested, x));
        assert!(close(nested_jvp(x, 1.0).1, dx, 1e-12));
    }
}

#[differentiate(wrt = [x, w])]
fn dot(x: &[f64], w: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        s += x[i] * w[i];
    }
    s
}

/// A call inside a loop, with an array argument borrowed from a local array.
#[differentiate(wrt = x)]
fn layered(x: &[f64], k: f64) -> f64 {
    let mut w = vec![0.0; x.len()];
    for i in 0..x.len() {
        w[i] = (x[i] * k).tanh();
    }
    let mut total = 0.0;
    for round in 0..3 {
        total += dot(x, &w) * (round as f64 + 1.0) + g(total * 0.1);
    }
    total
}

#[test]
fn calls_inside_loops_with_array_arguments() {
    let x: Vec<f64> = (0..7).map(|i| (i as f64 * 0.9).cos()).collect();
    let (value, grad) = layered_grad(&x, 0.6);
    assert_eq!(value, layered(&x, 0.6));
    for k in 0..x.len() {
        let numeric = fd(
            |v| {
                let mut y = x.clone();
                y[k] = v;
                layered(&y, 0.6)
            },
            x[k],
        );
        assert!(
            close(grad[k], numeric, 1e-5),
            "[{k}] {} vs {numeric}",
            grad[k]
        );
    }
    let u: Vec<f64> = (0..7).map(|i| i as f64 * 0.1 - 0.3).collect();
    let (_, t) = layered_jvp(&x, 0.6, &u);
    let dot_u: f64 = u.iter().zip(&grad).map(|(a, b)| a * b).sum();
    assert!(close(t, dot_u, 1e-10), "{t} vs {dot_u}");
}

#[differentiate]
fn sq<T: Float>(x: T) -> T {
    x * x
}

#[differentiate]
fn generic_chain<T: Float>(x: T) -> T {
    sq(x * x) + sq(x).sin()
}

#[test]
fn generic_callers_and_callees() {
    let (value, (dx,)) = generic_chain_grad::<f32>(0.8);
    assert_eq!(value, generic_chain(0.8_f32));
    let x = 0.8_f32;
    let expected = 4.0 * x * x * x + (x * x).cos() * 2.0 * x;
    assert!((dx - expected).abs() < 1e-5, "{dx} vs {expected}");
    let (_, (dx64,)) = generic_chain_grad(0.8_f64);
    assert!(close(dx64, fd(generic_chain, 0.8), 1e-6));
}

#[differentiate(wrt = x)]
fn power(x: f64, n: u32) -> f64 {
    if n == 0 {
        1.0
    } else {
        x * power(x, n - 1)
    }
}

#[test]
fn recursion() {
    let (value, dx) = power_grad(1.5, 5);
    assert!(close(value, 1.5f64.powi(5), 1e-12));
    assert!(close(dx, 5.0 * 1.5f64.powi(4), 1e-12), "{dx}");
    assert!(close(power_jvp(1.5, 5, 1.0).1, dx, 1e-12));
}

struct Spring {
    stiffness: f64,
    rest: f64,
}

impl Spring {
    #[differentiate(wrt = x)]
    fn energy(&self, x: f64) -> f64 {
        let d = x - self.rest;
        0.5 * self.stiffness * d * d
    }

    /// A method calling another method and a free function.
    #[differentiate(wrt = [x, y])]
    fn total(&self, x: f64, y: f64) -> f64 {
        self.energy(x) + self.energy(y) + g(x * y)
    }
}

#[test]
fn methods() {
    let s = Spring {
        stiffness: 3.0,
        rest: 1.0,
    };
    let (value, dx) = s.energy_grad(2.5);
    assert_eq!((value, dx), (0.5 * 3.0 * 1.5 * 1.5, 3.0 * 1.5));
    let (_, (dx, dy)) = s.total_grad(2.0, 0.5);
    assert!(
        close(dx, 3.0 * 1.0 + 2.0 * (2.0 * 0.5) * 0.5, 1e-12),
        "{dx}"
    );
    assert!(
        close(dy, 3.0 * -0.5 + 2.0 * (2.0 * 0.5) * 2.0, 1e-12),
        "{dy}"
    );
    let (_, t) = s.total_jvp(2.0, 0.5, 1.0, 1.0);
    assert!(close(t, dx + dy, 1e-12));
    let (_, seeded) = s.energy_vjp(2.5, 2.0);
    assert_eq!(seeded, 9.0);
}

#[differentiate(wrt = [w, b])]
fn layer_loss(x: &Tensor<f64>, w: &Tensor<f64>, b: &Tensor<f64>) -> f64 {
    let h = (x.matmul(w) + b).tanh();
    (&h * &h).mean()
}

/// Tensor arguments in calls: the callee's gradients are tensors added to the caller's.
#[differentiate(wrt = [w, b])]
fn two_layers(x: &Tensor<f64>, w: &Tensor<f64>, b: &Tensor<f64>, scale: f64) -> f64 {
    let shifted = b * scale;
    layer_loss(x, w, &shifted) + layer_loss(x, w, b) * scale
}

#[test]
fn tensor_arguments() {
    let x = Tensor::from_vec((0..6).map(|i| (i as f64 * 0.7).sin()).collect(), &[2, 3]);
    let w = Tensor::from_vec(
        (0..12).map(|i| (i as f64 * 0.3).cos() * 0.5).collect(),
        &[3, 4],
    );
    let b = Tensor::from_vec(vec![0.1, -0.2, 0.3, 0.05], &[4]);
    let (value, (gw, gb)) = two_layers_grad(&x, &w, &b, 1.5);
    assert_eq!(value, two_layers(&x, &w, &b, 1.5));
    let h = 1e-6;
    for k in 0..gw.len() {
        let (mut p, mut m) = (w.clone(), w.clone());
        p.as_mut_slice()[k] += h;
        m.as_mut_slice()[k] -= h;
        let fd = (two_layers(&x, &p, &b, 1.5) - two_layers(&x, &m, &b, 1.5)) / (2.0 * h);
        assert!(
            close(gw.as_slice()[k], fd, 1e-6),
            "w[{k}]: {} vs {fd}",
            gw.as_slice()[k]
        );
    }
    let (uw, ub) = (w.map(|v| v * 0.3 + 0.1), b.map(|v| 1.0 - v));
    let (_, t) = two_layers_jvp(&x, &w, &b, 1.5, &uw, &ub);
    let expected = (&uw * &gw).sum() + (&ub * &gb).sum();
    assert!(close(t, expected, 1e-10), "{t} vs {expected}");
}

/// A callee that returns a tuple: `polar(x, y) = (|(x, y)|, atan2(y, x))`.
#[differentiate(wrt = [x, y])]
fn polar(x: f64, y: f64) -> (f64, f64) {
    (x.hypot(y), y.atan2(x))
}

/// Its outputs destructured, one of them ignored, and fed to a second tuple-valued call.
#[differentiate(wrt = [a, b])]
fn uses_polar(a: f64, b: f64) -> f64 {
    let (r, t) = polar(a * b, b);
    let (_, t2) = polar(t, 2.0);
    r * t.sin() + t2 * t2
}

/// Tuple-valued calls inside a loop, the outputs feeding a running sum.
#[differentiate(wrt = x)]
fn polar_sum(x: &[f64]) -> f64 {
    let n = x.len();
    let mut s = 0.0;
    for i in 0..n {
        let (r, t) = polar(x[i] + 1.5, x[(i + 1) % n]);
        s += r * t + (r * s).sin();
    }
    s
}

#[differentiate]
fn sin_cos<T: Float>(x: T) -> (T, T) {
    (x.sin(), x.cos())
}

#[differentiate]
fn generic_tuple_caller<T: Float>(x: T) -> T {
    let (s, c) = sin_cos(x * x);
    s * c + s
}

#[test]
fn calls_that_return_tuples() {
    let (a, b) = (0.7, 1.3);
    let (value, (da, db)) = uses_polar_grad(a, b);
    assert_eq!(value, uses_polar(a, b));
    assert!(close(da, fd(|a| uses_polar(a, b), a), 1e-6), "{da}");
    assert!(close(db, fd(|b| uses_polar(a, b), b), 1e-6), "{db}");
    let (v, ta) = uses_polar_jvp(a, b, 1.0, 0.0);
    let (_, tb) = uses_polar_jvp(a, b, 0.0, 1.0);
    assert_eq!(v, value);
    assert!(close(ta, da, 1e-12) && close(tb, db, 1e-12), "{ta} {tb}");

    let x = [0.3, -0.8, 1.1, 0.4];
    let (value, g) = polar_sum_grad(&x);
    assert_eq!(value, polar_sum(&x));
    for k in 0..x.len() {
        let at = |v: f64| {
            let mut y = x;
            y[k] = v;
            polar_sum(&y)
        };
        assert!(
            close(g[k], fd(at, x[k]), 1e-6),
            "x[{k}]: {} vs {}",
            g[k],
            fd(at, x[k])
        );
    }

    let (value, (dx,)) = generic_tuple_caller_grad::<f32>(0.9);
    assert_eq!(value, generic_tuple_caller(0.9_f32));
    let (_, (dx64,)) = generic_tuple_caller_grad(0.9_f64);
    assert!(close(dx64, fd(generic_tuple_caller, 0.9), 1e-6), "{dx64}");
    assert!((f64::from(dx) - dx64).abs() < 1e-4, "{dx} vs {dx64}");
}

/// A callee that returns a `Vec`.
#[differentiate(wrt = x)]
fn shifted_squares(x: &[f64]) -> Vec<f64> {
    let mut y = vec![0.0; x.len()];
    for i in 0..x.len() {
        y[i] = x[i] * x[i] + 1.0;
    }
    y
}

/// A callee that returns a fixed-size array.
#[differentiate(wrt = x)]
fn three_features(x: &[f64]) -> [f64; 3] {
    [x[0] * x[1], x[1].sin(), x[2] + x[0]]
}

/// Array results, their types written where they are bound: a `Vec` returned inside a loop
/// (each iteration's array gets its own adjoint, the callee its own seed) and a fixed array.
#[differentiate(wrt = x)]
fn uses_array_results(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for r in 0..2 {
        let y: Vec<f64> = shifted_squares(x);
        for v in y.iter() {
            s += v.ln() * (r as f64 + 1.0);
        }
    }
    let t: [f64; 3] = three_features(x);
    s + t[0] * t[1] + t[2]
}

#[test]
fn calls_that_return_arrays() {
    let x = [0.5, 1.5, -0.7];
    let (value, g) = uses_array_results_grad(&x);
    assert_eq!(value, uses_array_results(&x));
    for k in 0..x.len() {
        let at = |v: f64| {
            let mut y = x;
            y[k] = v;
            uses_array_results(&y)
        };
        let fd_k = fd(at, x[k]);
        assert!(close(g[k], fd_k, 1e-6), "x[{k}]: {} vs {fd_k}", g[k]);
        // Forward mode carries the callee's tangent array (it was zero before).
        let mut u = [0.0; 3];
        u[k] = 1.0;
        let (v, t) = uses_array_results_jvp(&x, &u);
        assert_eq!(v, value);
        assert!(close(t, g[k], 1e-12), "x[{k}]: jvp {t} vs {}", g[k]);
    }
}

/// A callee that returns a tensor.
#[differentiate(wrt = [x, w])]
fn hidden_layer(x: &Tensor<f64>, w: &Tensor<f64>) -> Tensor<f64> {
    x.matmul(w).tanh()
}

/// Tensor results, typed where they are bound, inside a loop.
#[differentiate(wrt = w)]
fn uses_tensor_results(x: &Tensor<f64>, w: &Tensor<f64>) -> f64 {
    let mut s = 0.0;
    for r in 0..2 {
        let h: Tensor<f64> = hidden_layer(x, w);
        s += (&h * &h).sum() * (r as f64 + 1.0);
    }
    s
}

#[test]
fn calls_that_return_tensors() {
    let x = Tensor::from([[0.5, -1.0], [0.3, 0.8]]);
    let w = Tensor::from([[0.2, 0.4], [-0.6, 0.1]]);
    let (value, g) = uses_tensor_results_grad(&x, &w);
    assert_eq!(value, uses_tensor_results(&x, &w));
    let h = 1e-6;
    for k in 0..4 {
        let (mut p, mut m) = (w.clone(), w.clone());
        p.as_mut_slice()[k] += h;
        m.as_mut_slice()[k] -= h;
        let fd = (uses_tensor_results(&x, &p) - uses_tensor_results(&x, &m)) / (2.0 * h);
        let gk = g.as_slice()[k];
        assert!(close(gk, fd, 1e-6), "w[{k}]: {gk} vs {fd}");
        let mut u = Tensor::zeros(&[2, 2]);
        u.as_mut_slice()[k] = 1.0;
        let (_, t) = uses_tensor_results_jvp(&x, &w, &u);
        assert!(close(t, gk, 1e-12), "w[{k}]: jvp {t} vs {gk}");
    }
}

pub struct Scaled {
    k: f64,
}

impl Scaled {
    /// An associated function without `self`: the macro cannot see the `impl` block, so it is
    /// told (`associated`).
    #[differentiate(wrt = x, associated)]
    fn cube(x: f64) -> f64 {
        x * x * x
    }

    /// Names `Self`, so the macro knows it sits in an `impl` block.
    #[differentiate(wrt = x)]
    fn cube_sin(x: f64) -> f64 {
        Self::cube(x).sin()
    }

    #[differentiate(wrt = x)]
    fn scaled(&self, x: f64) -> f64 {
        self.k * Self::cube_sin(x) + Self::cube(x * self.k)
    }
}

#[test]
fn associated_functions_without_self() {
    let s = Scaled { k: 1.5 };
    let x = 0.7;
    let (value, dx) = s.scaled_grad(x);
    assert_eq!(value, s.scaled(x));
    let fd_dx = fd(|x| s.scaled(x), x);
    assert!(close(dx, fd_dx, 1e-6), "{dx} vs {fd_dx}");
    let (_, d) = Scaled::cube_sin_grad(x);
    assert!(close(d, fd(Scaled::cube_sin, x), 1e-6), "{d}");
    let (_, t) = Scaled::cube_jvp(x, 1.0);
    assert!(close(t, 3.0 * x * x, 1e-12), "{t}");
}
