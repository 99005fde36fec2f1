//! Issue 13 ("no silent wrong gradient"), tensor cases, against central finite differences of
//! the original function (which shares no code with the macro):
//!
//! * `_grad` of a function that returns a tensor (bare, in a tuple, through a call) is the
//!   gradient of the sum of all its output elements: its seed is a tensor of ones of the
//!   output's shape (TensorFlow's default `grad_ys`, `ones_like(ys)`). It was the literal `1.0`:
//!   broadcasting `a + b` gave `a` half its gradient, `a + s` gave `s` 1 instead of the number
//!   of elements, broadcasting `a * b` panicked, and `-a`, `matmul`, `relu`, .. returned bare
//!   did not compile. An array output's `_grad` is the gradient of the sum of its elements too.
//! * `_jvp` of a broadcasting `a ± b` (or `a ± s`) with one operand active: the tangent is
//!   broadcast to the result's shape. It was the operand's own tangent (half the directional
//!   derivative of `(a + b).sum()` with `a: [3]`, `b: [2, 3]`; no compile with a scalar).
//!
//! Each function is checked for `_grad` (against the finite-difference gradient of the sum
//! of the outputs), `_vjp` (of the outputs weighted by a pseudo-random seed) and `_jvp`
//! (against the central difference of the function along the tangent), and the shapes.
#![allow(clippy::type_complexity)]
use autodiff::prelude::*;

type T = Tensor<f64>;

/// Distinct values of both signs, no zeros and no ties (relu, max_axis).
fn tensor(shape: &[usize], salt: f64) -> T {
    let n: usize = shape.iter().product();
    Tensor::from_vec(
        (0..n)
            .map(|i| {
                let v = ((i as f64 + 1.0) * 0.913 + salt * 1.7).sin() * 1.4;
                v + 0.03 * (i as f64 + 1.0) * v.signum()
            })
            .collect(),
        shape,
    )
}

fn with(t: &T, v: &[f64]) -> T {
    Tensor::from_vec(v.to_vec(), t.shape())
}

/// A differentiated function's inputs, flattened, and its outputs, flattened and
/// concatenated.
struct Case<'a> {
    name: &'a str,
    inputs: Vec<Vec<f64>>,
    /// The original function on (perturbed) flattened inputs.
    primal: &'a dyn Fn(&[Vec<f64>]) -> Vec<f64>,
    /// `_grad`: the value and the gradient of every input, flattened.
    grad: (Vec<f64>, Vec<Vec<f64>>),
    /// `_vjp` with the flattened seed.
    vjp: &'a dyn Fn(&[f64]) -> (Vec<f64>, Vec<Vec<f64>>),
    /// `_jvp` with the flattened tangents: the value and the tangent of the outputs.
    jvp: &'a dyn Fn(&[Vec<f64>]) -> (Vec<f64>, Vec<f64>),
}

fn near(got: f64, want: f64) -> bool {
    (got - want).abs() <= 1e-6 * (1.0 + want.abs())
}

fn check(c: Case) {
    let Case {
        name,
        inputs,
        primal,
        grad,
        vjp,
        jvp,
    } = c;
    let y = primal(&inputs);
    let h = 1e-6;
    // jacobian[i][e][k] = d y_k / d input_i[e]
    let jacobian: Vec<Vec<Vec<f64>>> = (0..inputs.len())
        .map(|i| {
            (0..inputs[i].len())
                .map(|e| {
                    let (mut p, mut m) = (inputs.clone(), inputs.clone());
                    p[i][e] += h;
                    m[i][e] -= h;
                    let (p, m) = (primal(&p), primal(&m));
                    p.iter().zip(&m).map(|(p, m)| (p - m) / (2.0 * h)).collect()
                })
                .collect()
        })
        .collect();
    let seed: Vec<f64> = (0..y.len())
        .map(|k| 0.5 + ((k as f64) * 1.37).sin().abs() * (if k % 2 == 0 { 1.0 } else { -1.0 }))
        .collect();
    let ones = vec![1.0; y.len()];
    for (what, (value, g), s) in [("_grad", grad, &ones), ("_vjp", vjp(&seed), &seed)] {
        assert_eq!(value, y, "{name}: {what} value");
        assert_eq!(g.len(), inputs.len(), "{name}: {what} gradients");
        for (i, (g, jac)) in g.iter().zip(&jacobian).enumerate() {
            assert_eq!(
                g.len(),
                inputs[i].len(),
                "{name}: {what} shape of input {i}"
            );
            for (e, (g, column)) in g.iter().zip(jac).enumerate() {
                let want: f64 = column.iter().zip(s).map(|(j, s)| j * s).sum();
                assert!(near(*g, want), "{name}: {what} d/d#{i}[{e}] {g}, fd {want}");
            }
        }
    }
    let tangents: Vec<Vec<f64>> = inputs
        .iter()
        .enumerate()
        .map(|(i, x)| {
            (0..x.len())
                .map(|e| ((e as f64 + 1.0) * 0.71 + i as f64).cos() + 0.1)
                .collect()
        })
        .collect();
    // The directional derivative straight from the function: (f(x + h t) - f(x - h t)) / 2h.
    let step = |sign: f64| {
        let x: Vec<Vec<f64>> = inputs
            .iter()
            .zip(&tangents)
            .map(|(x, t)| x.iter().zip(t).map(|(x, t)| x + sign * h * t).collect())
            .collect();
        primal(&x)
    };
    let (p, m) = (step(1.0), step(-1.0));
    let (value, t) = jvp(&tangents);
    assert_eq!(value, y, "{name}: _jvp value");
    assert_eq!(t.len(), y.len(), "{name}: _jvp shape");
    for (k, t) in t.iter().enumerate() {
        let want = (p[k] - m[k]) / (2.0 * h);
        assert!(near(*t, want), "{name}: _jvp[{k}] {t}, fd {want}");
    }
}

/// A tensor's elements, checking that its shape is `shape` (a tangent or gradient must have
/// the shape of its value).
fn flat(t: &T, shape: &[usize], what: &str) -> Vec<f64> {
    assert_eq!(t.shape(), shape, "{what}: shape");
    t.as_slice().to_vec()
}

/// One tensor in, one tensor out, returned bare.
macro_rules! unary_output {
    ($name:ident, |$a:ident| $body:expr, at [$($shape:expr),*]) => {
        #[allow(unused_parens)]
        mod $name {
            use super::*;

            #[differentiate(wrt = $a, unconnected = zero)]
            fn f($a: &Tensor<f64>) -> Tensor<f64> {
                $body
            }

            #[test]
            fn grad_vjp_jvp() {
                for shape in [$(&$shape[..]),*] {
                    let a = tensor(shape, 0.3);
                    let ys = f(&a).shape().to_vec();
                    let name = format!("{}{shape:?}", stringify!($name));
                    check(Case {
                        name: &name,
                        inputs: vec![a.as_slice().to_vec()],
                        primal: &|x| f(&with(&a, &x[0])).as_slice().to_vec(),
                        grad: {
                            let (v, g) = f_grad(&a);
                            (flat(&v, &ys, &name), vec![flat(&g, shape, &name)])
                        },
                        vjp: &|s| {
                            let (v, g) = f_vjp(&a, Tensor::from_vec(s.to_vec(), &ys));
                            (flat(&v, &ys, &name), vec![flat(&g, shape, &name)])
                        },
                        jvp: &|t| {
                            let (v, d) = f_jvp(&a, &with(&a, &t[0]));
                            (flat(&v, &ys, &name), flat(&d, &ys, &name))
                        },
                    });
                }
            }
        }
    };
}

unary_output!(neg, |a| -a, at [[2, 3], [4]]);
unary_output!(relu, |a| a.relu(), at[[2, 3]]);
unary_output!(exp, |a| a.exp(), at[[2, 3]]);
unary_output!(tanh, |a| a.tanh(), at[[3]]);
unary_output!(sigmoid, |a| a.sigmoid(), at[[2, 2]]);
unary_output!(square, |a| a.square(), at[[2, 3]]);
unary_output!(powi, |a| a.powi(3), at[[2, 3]]);
unary_output!(softmax, |a| a.softmax(1), at[[2, 3]]);
unary_output!(log_softmax, |a| a.log_softmax(0), at[[2, 3]]);
unary_output!(sum_axis, |a| a.sum_axis(0), at [[2, 3], [2, 3, 2]]);
unary_output!(mean_axis, |a| a.mean_axis(1), at[[2, 3]]);
unary_output!(max_axis, |a| a.max_axis(1), at[[2, 3]]);
unary_output!(logsumexp_axis, |a| a.logsumexp_axis(1), at[[2, 3]]);
unary_output!(transpose, |a| a.transpose(), at[[2, 3]]);
unary_output!(self_matmul, |a| a.matmul(&a.transpose()), at[[2, 3]]);
unary_output!(plus_constant, |a| a + 1.5, at[[2, 3]]);
unary_output!(constant_minus, |a| 1.5 - a, at[[2, 3]]);

/// Two operands (tensors or a float), one tensor out, returned bare; differentiated with
/// respect to both (`all`) and to each alone (`only_a`, `only_b`).
macro_rules! binary_output {
    ($name:ident, |$a:ident: [$($ta:tt)*], $b:ident: [$($tb:tt)*]| $body:expr, at [$(($sa:expr, $sb:expr)),*]) => {
        #[allow(unused_parens)]
        mod $name {
            use super::*;

            #[differentiate(wrt = [$a, $b], unconnected = zero)]
            fn all($a: $($ta)*, $b: $($tb)*) -> Tensor<f64> {
                $body
            }

            #[differentiate(wrt = $a, unconnected = zero)]
            fn only_a($a: $($ta)*, $b: $($tb)*) -> Tensor<f64> {
                $body
            }

            #[differentiate(wrt = $b, unconnected = zero)]
            fn only_b($a: $($ta)*, $b: $($tb)*) -> Tensor<f64> {
                $body
            }

            #[test]
            fn grad_vjp_jvp() {
                for (sa, sb) in [$((&$sa[..], &$sb[..])),*] {
                    let a = <<$($ta)* as Owned>::O as Input>::make(sa, 0.3);
                    let b = <<$($tb)* as Owned>::O as Input>::make(sb, 2.1);
                    let ys = all(a.pass(), b.pass()).shape().to_vec();
                    let seed = |s: &[f64]| Tensor::from_vec(s.to_vec(), &ys);
                    let name = format!("{}{sa:?}{sb:?}", stringify!($name));
                    let out = |v: &T| flat(v, &ys, &name);
                    check(Case {
                        name: &format!("{name}/all"),
                        inputs: vec![a.flat(), b.flat()],
                        primal: &|x| out(&all(a.with(&x[0]).pass(), b.with(&x[1]).pass())),
                        grad: {
                            let (v, (ga, gb)) = all_grad(a.pass(), b.pass());
                            (out(&v), vec![a.grad(&ga), b.grad(&gb)])
                        },
                        vjp: &|s| {
                            let (v, (ga, gb)) = all_vjp(a.pass(), b.pass(), seed(s));
                            (out(&v), vec![a.grad(&ga), b.grad(&gb)])
                        },
                        jvp: &|t| {
                            let (v, d) = all_jvp(a.pass(), b.pass(), a.with(&t[0]).pass(), b.with(&t[1]).pass());
                            (out(&v), out(&d))
                        },
                    });
                    check(Case {
                        name: &format!("{name}/only_a"),
                        inputs: vec![a.flat()],
                        primal: &|x| out(&all(a.with(&x[0]).pass(), b.pass())),
                        grad: {
                            let (v, ga) = only_a_grad(a.pass(), b.pass());
                            (out(&v), vec![a.grad(&ga)])
                        },
                        vjp: &|s| {
                            let (v, ga) = only_a_vjp(a.pass(), b.pass(), seed(s));
                            (out(&v), vec![a.grad(&ga)])
                        },
                        jvp: &|t| {
                            let (v, d) = only_a_jvp(a.pass(), b.pass(), a.with(&t[0]).pass());
                            (out(&v), out(&d))
                        },
                    });
                    check(Case {
                        name: &format!("{name}/only_b"),
                        inputs: vec![b.flat()],
                        primal: &|x| out(&all(a.pass(), b.with(&x[0]).pass())),
                        grad: {
                            let (v, gb) = only_b_grad(a.pass(), b.pass());
                            (out(&v), vec![b.grad(&gb)])
                        },
                        vjp: &|s| {
                            let (v, gb) = only_b_vjp(a.pass(), b.pass(), seed(s));
                            (out(&v), vec![b.grad(&gb)])
                        },
                        jvp: &|t| {
                            let (v, d) = only_b_jvp(a.pass(), b.pass(), b.with(&t[0]).pass());
                            (out(&v), out(&d))
                        },
                    });
                }
            }
        }
    };
}

/// The owned type of a parameter type: `&Tensor<f64>` -> `Tensor<f64>`.
trait Owned {
    type O: Input;
}

impl Owned for &Tensor<f64> {
    type O = T;
}

impl Owned for f64 {
    type O = f64;
}

/// An operand of [`binary_output`]: a tensor (passed by reference) or a float (shape `[]`).
trait Input: Sized {
    type Pass<'a>
    where
        Self: 'a;
    fn make(shape: &[usize], salt: f64) -> Self;
    fn pass(&self) -> Self::Pass<'_>;
    fn flat(&self) -> Vec<f64>;
    fn with(&self, v: &[f64]) -> Self;
    /// A gradient of this operand, flattened, checking its shape.
    fn grad(&self, g: &Self) -> Vec<f64>;
}

impl Input for T {
    type Pass<'a> = &'a T;
    fn make(shape: &[usize], salt: f64) -> Self {
        tensor(shape, salt)
    }
    fn pass(&self) -> &T {
        self
    }
    fn flat(&self) -> Vec<f64> {
        self.as_slice().to_vec()
    }
    fn with(&self, v: &[f64]) -> Self {
        with(self, v)
    }
    fn grad(&self, g: &Self) -> Vec<f64> {
        flat(g, self.shape(), "gradient")
    }
}

impl Input for f64 {
    type Pass<'a> = f64;
    fn make(shape: &[usize], salt: f64) -> Self {
        assert!(shape.is_empty());
        0.4 + salt
    }
    fn pass(&self) -> f64 {
        *self
    }
    fn flat(&self) -> Vec<f64> {
        vec![*self]
    }
    fn with(&self, v: &[f64]) -> Self {
        v[0]
    }
    fn grad(&self, g: &Self) -> Vec<f64> {
        vec![*g]
    }
}

const S: [usize; 0] = [];

binary_output!(add, |a: [&Tensor<f64>], b: [&Tensor<f64>]| a + b,
    at [([2, 3], [2, 3]), ([3], [2, 3]), ([2, 3], [3]), ([3, 1], [1, 4]), ([4], [1])]);
binary_output!(sub, |a: [&Tensor<f64>], b: [&Tensor<f64>]| a - b,
    at [([3], [2, 3]), ([2, 3], [3]), ([3, 1], [1, 4]), ([1], [4])]);
binary_output!(mul, |a: [&Tensor<f64>], b: [&Tensor<f64>]| a * b,
    at [([3], [2, 3]), ([2, 3], [3]), ([3, 1], [1, 4])]);
binary_output!(div, |a: [&Tensor<f64>], b: [&Tensor<f64>]| a / b,
    at [([3], [2, 3]), ([2, 3], [3]), ([3, 1], [1, 4])]);
binary_output!(matmul, |a: [&Tensor<f64>], b: [&Tensor<f64>]| a.matmul(b),
    at [([2, 3], [3, 4]), ([3], [3, 2])]);
binary_output!(
    tensor_plus_scalar,
    |a: [&Tensor<f64>], s: [f64]| a + s,
    at[([2, 3], S)]
);
binary_output!(
    scalar_minus_tensor,
    |s: [f64], a: [&Tensor<f64>]| s - a,
    at[(S, [2, 3])]
);
binary_output!(
    tensor_times_scalar,
    |a: [&Tensor<f64>], s: [f64]| a * s,
    at[([2, 3], S)]
);
binary_output!(
    scalar_over_tensor,
    |s: [f64], a: [&Tensor<f64>]| s / a,
    at[(S, [2, 3])]
);
// A one-active `±` inside a longer computation: its tangent flows on at the broadcast shape.
binary_output!(broadcast_then_reduce, |a: [&Tensor<f64>], b: [&Tensor<f64>]| (&(a + b) - a).sum_axis(1),
    at [([3], [2, 3]), ([3, 1], [1, 4])]);
binary_output!(
    scalar_then_matmul,
    |a: [&Tensor<f64>], s: [f64]| (a - s).matmul(&a.transpose()),
    at[([2, 3], S)]
);

// The examples of the issue, exactly: with `a: [3]` and `b: [2, 3]` (ones), `a + b` gives
// each element of `a` the gradient 2 (it is in two outputs), `a + s` gives `s` the number
// of elements, and the directional derivative of `(a + b).sum()` along `da` is `2 Σ da`.
#[differentiate(wrt = [a, b], unconnected = zero)]
fn broadcast_sum(a: &Tensor<f64>, b: &Tensor<f64>) -> Tensor<f64> {
    a + b
}

#[differentiate(wrt = [a, s], unconnected = zero)]
fn plus_scalar(a: &Tensor<f64>, s: f64) -> Tensor<f64> {
    a + s
}

#[differentiate(wrt = a, unconnected = zero)]
fn summed_with_passive(a: &Tensor<f64>, b: &Tensor<f64>) -> f64 {
    (a + b).sum()
}

#[differentiate(wrt = s, unconnected = zero)]
fn summed_with_passive_tensor(a: &Tensor<f64>, s: f64) -> f64 {
    (a - s).sum()
}

#[test]
fn the_examples_of_the_issue() {
    let a = Tensor::from_vec(vec![1.0, 2.0, 3.0], &[3]);
    let b = Tensor::ones(&[2, 3]);
    let (_, (ga, gb)) = broadcast_sum_grad(&a, &b);
    assert_eq!(ga, Tensor::full(&[3], 2.0));
    assert_eq!(gb, Tensor::ones(&[2, 3]));
    let (_, (ga, gs)) = plus_scalar_grad(&a, 0.5);
    assert_eq!(ga, Tensor::ones(&[3]));
    assert_eq!(gs, 3.0);
    let da = Tensor::from_vec(vec![0.5, -1.0, 2.0], &[3]);
    assert_eq!(summed_with_passive_jvp(&a, &b, &da), (18.0, 3.0));
    assert_eq!(summed_with_passive_tensor_jvp(&a, 0.5, 2.0), (4.5, -6.0));
    let (_, d) = broadcast_sum_jvp(&a, &b, &da, &Tensor::zeros(&[2, 3]));
    assert_eq!(d, Tensor::from_vec([0.5, -1.0, 2.0].repeat(2), &[2, 3]));
}

// Tuples containing tensors: each output is seeded with ones of its own shape (a float
// output with 1), so `_grad` is the gradient of the sum of every element of every output.
#[differentiate(wrt = [a, s], unconnected = zero)]
fn tensor_and_float(a: &Tensor<f64>, s: f64) -> (Tensor<f64>, f64) {
    let scaled = a * s;
    let total = (a * a).sum() * s;
    (scaled, total)
}

#[differentiate(wrt = [a, b], unconnected = zero)]
fn two_tensors(a: &Tensor<f64>, b: &Tensor<f64>) -> (Tensor<f64>, Tensor<f64>) {
    let sum = a + b;
    let product = a.matmul(&b.transpose());
    (sum, product)
}

#[test]
fn tuples_with_tensors() {
    let (a, s) = (tensor(&[2, 3], 0.1), 0.7);
    let ys = [2, 3];
    let primal = |x: &[Vec<f64>]| {
        let (t, v) = tensor_and_float(&with(&a, &x[0]), x[1][0]);
        let mut out = t.as_slice().to_vec();
        out.push(v);
        out
    };
    let pack = |(t, v): (T, f64)| {
        let mut out = flat(&t, &ys, "tensor_and_float");
        out.push(v);
        out
    };
    check(Case {
        name: "tensor_and_float",
        inputs: vec![a.as_slice().to_vec(), vec![s]],
        primal: &primal,
        grad: {
            let (v, (ga, gs)) = tensor_and_float_grad(&a, s);
            (pack(v), vec![flat(&ga, &ys, "ga"), vec![gs]])
        },
        vjp: &|w| {
            let seed = (Tensor::from_vec(w[..6].to_vec(), &ys), w[6]);
            let (v, (ga, gs)) = tensor_and_float_vjp(&a, s, seed);
            (pack(v), vec![flat(&ga, &ys, "ga"), vec![gs]])
        },
        jvp: &|t| {
            let (v, d) = tensor_and_float_jvp(&a, s, &with(&a, &t[0]), t[1][0]);
            (pack(v), pack(d))
        },
    });

    let (a, b) = (tensor(&[2, 3], 0.2), tensor(&[3], 1.1));
    let pack = |(sum, product): (T, T)| {
        let mut out = flat(&sum, &[2, 3], "sum");
        out.extend(flat(&product, &[2], "product"));
        out
    };
    check(Case {
        name: "two_tensors",
        inputs: vec![a.as_slice().to_vec(), b.as_slice().to_vec()],
        primal: &|x| pack(two_tensors(&with(&a, &x[0]), &with(&b, &x[1]))),
        grad: {
            let (v, (ga, gb)) = two_tensors_grad(&a, &b);
            (
                pack(v),
                vec![flat(&ga, &[2, 3], "ga"), flat(&gb, &[3], "gb")],
            )
        },
        vjp: &|w| {
            let seed = (
                Tensor::from_vec(w[..6].to_vec(), &[2, 3]),
                Tensor::from_vec(w[6..].to_vec(), &[2]),
            );
            let (v, (ga, gb)) = two_tensors_vjp(&a, &b, seed);
            (
                pack(v),
                vec![flat(&ga, &[2, 3], "ga"), flat(&gb, &[3], "gb")],
            )
        },
        jvp: &|t| {
            let (v, d) = two_tensors_jvp(&a, &b, &with(&a, &t[0]), &with(&b, &t[1]));
            (pack(v), pack(d))
        },
    });
}

// A tensor returned by a call of another differentiated function, bare and bound.
#[differentiate(wrt = a, unconnected = zero)]
fn inner(a: &Tensor<f64>) -> Tensor<f64> {
    a * a
}

#[differentiate(wrt = a, unconnected = zero)]
fn outer(a: &Tensor<f64>) -> Tensor<f64> {
    let y: Tensor<f64> = inner(a);
    &y + a
}

/// The call's result returned as it is (its type not written): seeded with ones all the same.
#[differentiate(wrt = a, unconnected = zero)]
fn outer_bare(a: &Tensor<f64>) -> Tensor<f64> {
    inner(a)
}

/// A float call's result returned as it is.
#[differentiate(wrt = a, unconnected = zero)]
fn outer_float(a: &Tensor<f64>) -> f64 {
    summed_with_passive(a, a)
}

#[test]
fn a_tensor_from_a_call() {
    let a = tensor(&[2, 3], 0.4);
    let ys = [2, 3];
    check(Case {
        name: "outer_bare",
        inputs: vec![a.as_slice().to_vec()],
        primal: &|x| outer_bare(&with(&a, &x[0])).as_slice().to_vec(),
        grad: {
            let (v, g) = outer_bare_grad(&a);
            (flat(&v, &ys, "v"), vec![flat(&g, &ys, "g")])
        },
        vjp: &|s| {
            let (v, g) = outer_bare_vjp(&a, Tensor::from_vec(s.to_vec(), &ys));
            (flat(&v, &ys, "v"), vec![flat(&g, &ys, "g")])
        },
        jvp: &|t| {
            let (v, d) = outer_bare_jvp(&a, &with(&a, &t[0]));
            (flat(&v, &ys, "v"), flat(&d, &ys, "d"))
        },
    });
    check(Case {
        name: "outer_float",
        inputs: vec![a.as_slice().to_vec()],
        primal: &|x| vec![outer_float(&with(&a, &x[0]))],
        grad: {
            let (v, g) = outer_float_grad(&a);
            (vec![v], vec![flat(&g, &ys, "g")])
        },
        vjp: &|s| {
            let (v, g) = outer_float_vjp(&a, s[0]);
            (vec![v], vec![flat(&g, &ys, "g")])
        },
        jvp: &|t| {
            let (v, d) = outer_float_jvp(&a, &with(&a, &t[0]));
            (vec![v], vec![d])
        },
    });
    check(Case {
        name: "outer",
        inputs: vec![a.as_slice().to_vec()],
        primal: &|x| outer(&with(&a, &x[0])).as_slice().to_vec(),
        grad: {
            let (v, g) = outer_grad(&a);
            (flat(&v, &ys, "v"), vec![flat(&g, &ys, "g")])
        },
        vjp: &|s| {
            let (v, g) = outer_vjp(&a, Tensor::from_vec(s.to_vec(), &ys));
            (flat(&v, &ys, "v"), vec![flat(&g, &ys, "g")])
        },
        jvp: &|t| {
            let (v, d) = outer_jvp(&a, &with(&a, &t[0]));
            (flat(&v, &ys, "v"), flat(&d, &ys, "d"))
        },
    });
}

// An array output: `_grad` is the gradient of the sum of its elements (each seeded with 1).
#[differentiate(wrt = [x, y], unconnected = zero)]
fn pair(x: f64, y: f64) -> [f64; 3] {
    [x * y, x.sin() + y, y * y]
}

#[differentiate(wrt = x, unconnected = zero)]
fn cumulative(x: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; 3];
    let mut acc = 0.0;
    for k in 0..3 {
        acc += x[k] * x[k];
        out[k] = acc;
    }
    out
}

#[test]
fn array_outputs() {
    let (x, y) = (0.6, -1.3);
    check(Case {
        name: "pair",
        inputs: vec![vec![x], vec![y]],
        primal: &|v| pair(v[0][0], v[1][0]).to_vec(),
        grad: {
            let (v, (gx, gy)) = pair_grad(x, y);
            (v.to_vec(), vec![vec![gx], vec![gy]])
        },
        vjp: &|s| {
            let (v, (gx, gy)) = pair_vjp(x, y, [s[0], s[1], s[2]]);
            (v.to_vec(), vec![vec![gx], vec![gy]])
        },
        jvp: &|t| {
            let (v, d) = pair_jvp(x, y, t[0][0], t[1][0]);
            (v.to_vec(), d.to_vec())
        },
    });
    let x = vec![0.5, -1.5, 2.0];
    check(Case {
        name: "cumulative",
        inputs: vec![x.clone()],
        primal: &|v| cumulative(&v[0]),
        grad: {
            let (v, g) = cumulative_grad(&x);
            (v, vec![g])
        },
        vjp: &|s| {
            let (v, g) = cumulative_vjp(&x, s.to_vec());
            (v, vec![g])
        },
        jvp: &|t| cumulative_jvp(&x, &t[0]),
    });
}
