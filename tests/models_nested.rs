//! Structs in `wrt` holding collections of structs and tensors: `self.layers[l].w[i]`,
//! `for layer in self.layers.iter()` (and `&self.layers`, `.iter().enumerate()`),
//! `self.layers.len()`, tuple fields, tensor fields (`self.w.matmul(..)`, `&self.b` in tensor
//! arithmetic), `Vec`s of tensors (`m.layers[l].w`). Each against central finite differences
//! of the original function and, for the generic model, dual numbers (num-dual, sharing no
//! code with the macro).
#![allow(clippy::needless_range_loop)]
use autodiff::prelude::*;

mod dual;
use dual::D;

mod models_support;
use models_support::{check, close, finite_differences, flat};

// ---- a generic model: a Vec of structs, a tuple field, loops over the layers ----

#[derive(Params, Debug, Clone, PartialEq)]
struct Unit<T> {
    w: Vec<T>,
    b: T,
}

#[derive(Params, Debug, Clone, PartialEq)]
struct Stack<T> {
    layers: Vec<Unit<T>>,
    /// A tuple field: (scale, shift).
    affine: (T, T),
}

impl<T: Float> Stack<T> {
    #[differentiate(wrt = self)]
    fn eval(&self, x: &[T]) -> T {
        let mut acc = self.affine.1;
        for layer in self.layers.iter() {
            let mut s = layer.b;
            for i in 0..x.len() {
                s = s + layer.w[i] * x[i];
            }
            acc = acc * s.tanh() + layer.b * layer.w[0];
        }
        for l in 0..self.layers.len() {
            acc = acc + self.layers[l].w[1] * self.layers[l].b * x[l];
        }
        for (l, layer) in self.layers.iter().enumerate() {
            acc = acc + layer.w[l] * self.affine.0;
        }
        for layer in &self.layers {
            acc = acc * (T::one() + layer.b * layer.b).ln();
        }
        (acc * self.affine.0).sin()
    }
}

fn stack() -> Stack<f64> {
    Stack {
        layers: vec![
            Unit {
                w: vec![0.3, -0.7, 1.1],
                b: 0.2,
            },
            Unit {
                w: vec![-0.4, 0.5, 0.8],
                b: -0.6,
            },
            Unit {
                w: vec![0.9, 0.1, -0.3],
                b: 0.45,
            },
        ],
        affine: (1.3, -0.25),
    }
}

/// `m` at dual numbers with leaf `k` (in visit order) seeded.
fn seeded(m: &Stack<f64>, k: usize) -> Stack<D> {
    let mut n = 0;
    let mut next = |v: f64| {
        let d = D::var(v, if n == k { 1.0 } else { 0.0 });
        n += 1;
        d
    };
    let layers = m
        .layers
        .iter()
        .map(|u| {
            let w = u.w.iter().map(|&v| next(v)).collect();
            Unit { w, b: next(u.b) }
        })
        .collect();
    let affine = (next(m.affine.0), next(m.affine.1));
    Stack { layers, affine }
}

#[test]
fn vec_of_structs_against_dual_numbers_and_finite_differences() {
    let m = stack();
    let x = [0.5, 1.5, -0.4];
    let xd: Vec<D> = x.iter().map(|&v| D::cst(v)).collect();
    let dual_grad: Vec<f64> = (0..m.num_scalars())
        .map(|k| seeded(&m, k).eval(&xd).eps())
        .collect();
    assert!(dual_grad.iter().all(|g| g.abs() > 1e-6), "{dual_grad:?}");
    let (value, g): (f64, Stack<f64>) = m.eval_grad(&x);
    assert_eq!(value, m.eval(&x));
    close(&flat(&g), &dual_grad, 1e-12);
    check(
        &m,
        |m| m.eval(&x),
        |m| m.eval_grad(&x),
        |m, s| m.eval_vjp(&x, s),
        |m, t| m.eval_jvp(&x, t),
    );
}

// ---- a free function over `&Net` reading elements through an index ----

#[derive(Params, Debug, Clone, PartialEq)]
struct Cell {
    w: [f64; 2],
    gain: f64,
}

#[derive(Params, Debug, Clone, PartialEq)]
struct Net {
    cells: Vec<Cell>,
    bias: Vec<f64>,
}

#[differentiate(wrt = [m, x])]
fn net(m: &Net, x: f64) -> f64 {
    let mut h = x;
    let mut l = m.cells.len();
    while l > 0 {
        l -= 1;
        let c = m.cells[l].w[0] * h + m.cells[l].w[1] * h * h;
        h = (c * m.cells[l].gain).tanh() + m.bias[l];
    }
    h * h
}

#[test]
fn elements_read_through_an_index_in_a_while_loop() {
    let m = Net {
        cells: vec![
            Cell {
                w: [0.4, -0.3],
                gain: 1.2,
            },
            Cell {
                w: [0.8, 0.2],
                gain: -0.7,
            },
        ],
        bias: vec![0.1, -0.2],
    };
    let x = 0.9;
    let fd = finite_differences(&m, |m| net(m, x));
    let fd_x = dual::finite_difference(|x| net(&m, x), x);
    let (value, (g, gx)) = net_grad(&m, x);
    assert_eq!(value, net(&m, x));
    close(&flat(&g), &fd, 1e-6);
    close(&[gx], &[fd_x], 1e-6);
    let (_, (g, gx)) = net_vjp(&m, x, -1.5);
    close(
        &flat(&g),
        &fd.iter().map(|v| -1.5 * v).collect::<Vec<_>>(),
        1e-6,
    );
    close(&[gx], &[-1.5 * fd_x], 1e-6);
    let mut t = m.zeros_like();
    t.cells[1].w = [1.0, -2.0];
    t.bias[0] = 0.5;
    let (_, d) = net_jvp(&m, x, &t, 0.25);
    let expected = fd[3] - 2.0 * fd[4] + 0.5 * fd[6] + 0.25 * fd_x;
    close(&[d], &[expected], 1e-6);
}

// ---- tensor fields, and a Vec of layers holding tensors ----

#[derive(Params, Debug, Clone, PartialEq)]
struct Dense {
    w: Tensor<f64>,
    b: Tensor<f64>,
}

#[derive(Params, Debug, Clone, PartialEq)]
struct Mlp {
    layers: Vec<Dense>,
}

impl Mlp {
    /// Mean squared error of a tanh network (the last layer linear).
    #[differentiate(wrt = self)]
    fn loss(&self, x: &Tensor<f64>, y: &Tensor<f64>) -> f64 {
        let mut h = x.clone();
        let last = self.layers.len() - 1;
        for l in 0..last {
            h = (h.matmul(&self.layers[l].w) + &self.layers[l].b).tanh();
        }
        let out = h.matmul(&self.layers[last].w) + &self.layers[last].b;
        let err = out - y;
        (&err * &err).mean()
    }

    /// The same network, written as a loop over the layers.
    #[differentiate(wrt = self)]
    fn loss_iter(&self, x: &Tensor<f64>, y: &Tensor<f64>) -> f64 {
        let mut h = x.clone();
        for layer in self.layers.iter() {
            h = (h.matmul(&layer.w) + &layer.b).tanh();
        }
        let err = h - y;
        (&err * &err).sum()
    }
}

fn mlp() -> Mlp {
    let t = |v: Vec<f64>, s: &[usize]| Tensor::from_vec(v, s);
    Mlp {
        layers: vec![
            Dense {
                w: t(vec![0.3, -0.5, 0.8, 0.1, -0.2, 0.7], &[2, 3]),
                b: t(vec![0.05, -0.1, 0.2], &[1, 3]),
            },
            Dense {
                w: t(vec![0.6, -0.4, 0.25, 0.9, -0.3, 0.15], &[3, 2]),
                b: t(vec![-0.2, 0.3], &[1, 2]),
            },
        ],
    }
}

#[test]
fn vec_of_tensor_layers() {
    let m = mlp();
    let x = Tensor::from([[1.0, 0.5], [-0.5, 2.0], [0.3, -1.0], [0.0, 0.7]]);
    let y = Tensor::from([[0.5, -0.5], [1.0, 0.0], [0.2, 0.1], [-0.3, 0.4]]);
    check(
        &m,
        |m| m.loss(&x, &y),
        |m| m.loss_grad(&x, &y),
        |m, s| m.loss_vjp(&x, &y, s),
        |m, t| m.loss_jvp(&x, &y, t),
    );
    check(
        &m,
        |m| m.loss_iter(&x, &y),
        |m| m.loss_iter_grad(&x, &y),
        |m, s| m.loss_iter_vjp(&x, &y, s),
        |m, t| m.loss_iter_jvp(&x, &y, t),
    );
    // The gradient is an `Mlp` of the same shapes.
    let (_, g) = m.loss_grad(&x, &y);
    assert_eq!(g.layers[1].w.shape(), &[3, 2]);
}

#[derive(Params, Debug, Clone, PartialEq)]
struct Head {
    w: Tensor<f64>,
    b: Tensor<f64>,
    temperature: f64,
}

impl Head {
    /// Softmax cross-entropy with tensor fields at the top level and a scalar field.
    #[differentiate(wrt = self)]
    fn xent(&self, x: &Tensor<f64>, labels: &Tensor<f64>) -> f64 {
        let logits = (x.matmul(&self.w) + &self.b) * self.temperature;
        -(labels * logits.log_softmax(1)).sum_axis(1).mean()
            + self.temperature * self.w.square().sum()
    }
}

#[test]
fn tensor_fields_of_the_struct_itself() {
    let m = Head {
        w: Tensor::from([[0.2, -0.4, 0.6], [0.9, 0.1, -0.3]]),
        b: Tensor::from([[0.1, 0.0, -0.1]]),
        temperature: 1.4,
    };
    let x = Tensor::from([[1.0, 0.5], [-0.5, 2.0], [0.3, -1.0]]);
    let labels = Tensor::from([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]]);
    check(
        &m,
        |m| m.xent(&x, &labels),
        |m| m.xent_grad(&x, &labels),
        |m, s| m.xent_vjp(&x, &labels, s),
        |m, t| m.xent_jvp(&x, &labels, t),
    );
}

// ---- the training loop as written: `opt.minimize(&mut model, |m| m.loss_grad(&batch))` ----

/// A batch in a struct that is not differentiated: its tensors are borrowed (`&batch.y`)
/// or copied (`batch.x.clone()`) as written.
struct Batch {
    x: Tensor<f64>,
    y: Tensor<f64>,
}

impl Mlp {
    #[differentiate(wrt = self)]
    fn batch_loss(&self, batch: &Batch) -> f64 {
        let mut h: Tensor<f64> = batch.x.clone();
        for (l, layer) in self.layers.iter().enumerate() {
            let z = h.matmul(&layer.w) + &layer.b;
            h = z.tanh() * (l as f64 + 1.0);
        }
        let err = h - &batch.y;
        (&err * &err).mean()
    }
}

fn batch() -> Batch {
    Batch {
        x: Tensor::from([[1.0, 0.5], [-0.5, 2.0], [0.3, -1.0], [0.0, 0.7]]),
        y: Tensor::from([[0.5, -0.5], [1.0, 0.0], [0.2, 0.1], [-0.3, 0.4]]),
    }
}

#[test]
fn a_batch_struct_beside_the_model() {
    let (m, b) = (mlp(), batch());
    check(
        &m,
        |m| m.batch_loss(&b),
        |m| m.batch_loss_grad(&b),
        |m, s| m.batch_loss_vjp(&b, s),
        |m, t| m.batch_loss_jvp(&b, t),
    );
}

fn minimized(opt: &mut impl Optimizer<f64>, steps: usize) -> (f64, f64) {
    let batch = batch();
    let mut model = mlp();
    let first = model.batch_loss(&batch);
    for _ in 0..steps {
        opt.minimize(&mut model, |m| m.batch_loss_grad(&batch));
    }
    (first, model.batch_loss(&batch))
}

#[test]
fn every_optimizer_minimizes_a_struct_model() {
    let runs = [
        (
            "GradientDescent",
            minimized(&mut GradientDescent::new(0.1), 300),
        ),
        ("Momentum", minimized(&mut Momentum::new(0.05, 0.9), 300)),
        (
            "Momentum (Nesterov)",
            minimized(&mut Momentum::new(0.05, 0.9).nesterov(true), 300),
        ),
        ("Adam", minimized(&mut Adam::new(0.02), 300)),
        ("Adagrad", minimized(&mut Adagrad::new(0.1), 300)),
        ("RmsProp", minimized(&mut RmsProp::new(0.01), 300)),
        (
            "RmsProp (centered)",
            minimized(&mut RmsProp::new(0.01).centered(true), 300),
        ),
    ];
    for (name, (first, last)) in runs {
        assert!(last < 0.5 * first, "{name}: {first} -> {last}");
    }
}

// ---- fields that hold no parameters: sizes, flags, names, enums ----

#[derive(Debug, Clone, Copy, PartialEq)]
enum Activation {
    Tanh,
    Sin,
}

#[derive(Params, Debug, Clone, PartialEq)]
struct Configured {
    w: Vec<f64>,
    /// Skipped by type: an integer, a flag, a name, a list of sizes.
    n: usize,
    residual: bool,
    name: String,
    sizes: Vec<usize>,
    /// Skipped by attribute.
    #[params(skip)]
    activation: Activation,
    b: f64,
}

impl Configured {
    #[differentiate(wrt = self)]
    fn eval(&self, x: &[f64]) -> f64 {
        let m: usize = self.sizes[0];
        let mut s = self.b * (self.name.len() as f64);
        for i in 0..self.n {
            let z = self.w[i] * x[i];
            let a = match self.activation {
                Activation::Tanh => z.tanh(),
                Activation::Sin => z.sin(),
            };
            s += a * (m as f64);
        }
        if self.residual {
            s += self.w[0];
        }
        s * s
    }
}

#[test]
fn sizes_flags_names_and_enums_are_passive() {
    let mut m = Configured {
        w: vec![0.3, -0.7, 1.1],
        n: 2,
        residual: true,
        name: "abc".to_string(),
        sizes: vec![2, 5],
        activation: Activation::Tanh,
        b: 0.2,
    };
    // Only w and b are leaves.
    assert_eq!(m.leaf_lengths(), vec![3, 1]);
    let x = [0.5, 1.5, -0.4];
    for activation in [Activation::Tanh, Activation::Sin] {
        m.activation = activation;
        check(
            &m,
            |m| m.eval(&x),
            |m| m.eval_grad(&x),
            |m, s| m.eval_vjp(&x, s),
            |m, t| m.eval_jvp(&x, t),
        );
    }
    // The gradient keeps the model's sizes, flags and names (cloned).
    let (_, g) = m.eval_grad(&x);
    assert_eq!((g.n, g.residual, g.name.as_str()), (2, true, "abc"));
    assert_eq!(g.w[2], 0.0, "w[2] is beyond n: never read");
}

// ---- a tensor output: `f_vjp` takes a tensor seed ----

impl Dense {
    #[differentiate(wrt = self)]
    fn forward(&self, x: &Tensor<f64>) -> Tensor<f64> {
        (x.matmul(&self.w) + &self.b).tanh()
    }
}

#[test]
fn tensor_output_of_a_struct_method() {
    let d = mlp().layers[0].clone();
    let x = Tensor::from([[1.0, 0.5], [-0.5, 2.0]]);
    let seed = Tensor::from([[1.0, -2.0, 0.5], [0.25, 1.5, -1.0]]);
    // <seed, forward(d)> is a scalar function of d: its gradient is the vjp with `seed`.
    let weighted = |d: &Dense| (&seed * d.forward(&x)).sum();
    let fd = finite_differences(&d, weighted);
    let (value, g) = d.forward_vjp(&x, seed.clone());
    assert_eq!(value, d.forward(&x));
    close(&flat(&g), &fd, 1e-6);
    // f_grad seeds ones.
    let ones = finite_differences(&d, |d| d.forward(&x).sum());
    let (_, g) = d.forward_grad(&x);
    close(&flat(&g), &ones, 1e-6);
    // f_jvp: the tangent output, against the directional finite difference of each entry.
    let mut t = d.zeros_like();
    t.w = Tensor::from([[0.5, -1.0, 0.25], [1.0, 0.0, -0.5]]);
    t.b = Tensor::from([0.1, 0.2, -0.3]);
    let (_, dy) = d.forward_jvp(&x, &t);
    let h = 1e-6;
    let moved = |s: f64| {
        let mut e = d.clone();
        for (a, b) in e.w.as_mut_slice().iter_mut().zip(t.w.as_slice()) {
            *a += s * b;
        }
        for (a, b) in e.b.as_mut_slice().iter_mut().zip(t.b.as_slice()) {
            *a += s * b;
        }
        e.forward(&x)
    };
    let (up, down) = (moved(h), moved(-h));
    let directional: Vec<f64> = up
        .as_slice()
        .iter()
        .zip(down.as_slice())
        .map(|(u, d)| (u - d) / (2.0 * h))
        .collect();
    close(dy.as_slice(), &directional, 1e-6);
}

// ---- `stop` of a nested struct and of a field of elements ----

#[derive(Params, Debug, Clone, PartialEq)]
struct Coupled {
    encoder: Unit<f64>,
    layers: Vec<Unit<f64>>,
    scale: f64,
}

impl Coupled {
    #[differentiate(wrt = self, stop = [self.encoder, self.layers.b])]
    fn eval(&self, x: f64) -> f64 {
        let mut h = (self.encoder.w[0] * x + self.encoder.b).sin();
        for layer in self.layers.iter() {
            h = (layer.w[0] * h + layer.b).tanh() * self.scale;
        }
        h * h
    }
}

#[test]
fn stop_names_a_nested_struct_and_a_field_of_elements() {
    let m = Coupled {
        encoder: Unit {
            w: vec![0.7],
            b: 0.1,
        },
        layers: vec![
            Unit {
                w: vec![0.9],
                b: -0.2,
            },
            Unit {
                w: vec![-1.1],
                b: 0.3,
            },
        ],
        scale: 1.2,
    };
    let x = 0.4;
    let fd = finite_differences(&m, |m| m.eval(x));
    let (_, g) = m.eval_grad(x);
    // Leaves: encoder.w, encoder.b, layers[0].w, .b, layers[1].w, .b, scale.
    assert!(fd[0].abs() > 1e-3 && fd[3].abs() > 1e-3, "{fd:?}");
    let expected = [0.0, 0.0, fd[2], 0.0, fd[4], 0.0, fd[6]];
    close(&flat(&g), &expected, 1e-6);
}

// ---- `wrt` naming fields: TensorFlow's `var_list`, each gradient of its field's type ----

#[derive(Params, Debug, Clone, PartialEq)]
struct Tower {
    base: Unit<f64>,
    head: [f64; 2],
    layers: Vec<Unit<f64>>,
    scale: f64,
}

impl Tower {
    #[differentiate(wrt = self)]
    fn eval(&self, x: f64) -> f64 {
        let mut h = (self.base.w[0] * x + self.base.b).tanh();
        for layer in self.layers.iter() {
            h = (layer.w[0] * h + layer.b).sin();
        }
        (self.head[0] * h + self.head[1] * h * h) * self.scale
    }

    #[differentiate(wrt = [self.head, self.base.b, self.layers])]
    fn eval_some(&self, x: f64) -> f64 {
        let mut h = (self.base.w[0] * x + self.base.b).tanh();
        for layer in self.layers.iter() {
            h = (layer.w[0] * h + layer.b).sin();
        }
        (self.head[0] * h + self.head[1] * h * h) * self.scale
    }

    #[differentiate(wrt = self.scale)]
    fn eval_scale(&self, x: f64) -> f64 {
        self.eval(x) * self.scale
    }
}

/// The gradient of `eval_some`: one value per field in `wrt`, of the field's type.
type SomeFields = ([f64; 2], f64, Vec<Unit<f64>>);

#[test]
fn wrt_names_fields_and_each_gradient_has_the_fields_type() {
    let m = Tower {
        base: Unit {
            w: vec![0.8],
            b: -0.1,
        },
        head: [0.6, -0.3],
        layers: vec![
            Unit {
                w: vec![1.1],
                b: 0.2,
            },
            Unit {
                w: vec![-0.7],
                b: 0.4,
            },
        ],
        scale: 1.5,
    };
    let x = 0.9;
    let (_, full) = m.eval_grad(x);
    let fd = finite_differences(&m, |m| m.eval(x));
    close(&flat(&full), &fd, 1e-6);
    // The listed fields' gradients are those of the whole struct.
    let (value, (head, b, layers)): (f64, SomeFields) = m.eval_some_grad(x);
    assert_eq!(value, m.eval_some(x));
    close(&head, &full.head, 1e-12);
    close(&[b], &[full.base.b], 1e-12);
    close(&flat(&layers), &flat(&full.layers), 1e-12);
    let (_, (head, _, _)) = m.eval_some_vjp(x, 2.0);
    close(&head, &[2.0 * full.head[0], 2.0 * full.head[1]], 1e-12);
    // The jvp takes one tangent per listed field, of its type.
    let t_layers = vec![
        Unit {
            w: vec![1.0],
            b: 0.0,
        },
        Unit {
            w: vec![0.0],
            b: -1.0,
        },
    ];
    let (_, d) = m.eval_some_jvp(x, &[1.0, 0.5], &2.0, &t_layers);
    let expected = full.head[0] + 0.5 * full.head[1] + 2.0 * full.base.b + full.layers[0].w[0]
        - full.layers[1].b;
    close(&[d], &[expected], 1e-12);
    // A single field, and through a call of a method of `self`.
    let (_, g): (f64, f64) = m.eval_scale_grad(x);
    let fd = (m.eval_scale(x)
        - Tower {
            scale: m.scale - 1e-6,
            ..m.clone()
        }
        .eval_scale(x))
        / 1e-6;
    close(&[g], &[fd], 1e-5);
}

// ---- a copy of a field (found by difftest's struct variants: `to_vec` was taken for a
// passive method, and the gradient of `xs` was a silent zero) ----

#[derive(Params, Debug, Clone, PartialEq)]
struct Copied {
    x0: f64,
    xs: Vec<f64>,
}

impl Copied {
    #[differentiate(wrt = self)]
    fn eval(&self) -> f64 {
        let mut z = self.xs.to_vec();
        z[1] *= self.x0;
        let a = self.x0;
        (z[0].powi(2).powi(2) + 0.5).ln_1p() + z[1] * z[2] + a
    }
}

#[test]
fn a_copy_of_a_field_carries_its_gradient() {
    let m = Copied {
        x0: 0.7,
        xs: vec![0.5, 0.2, 0.3],
    };
    check(
        &m,
        |m| m.eval(),
        |m| m.eval_grad(),
        |m, s| m.eval_vjp(s),
        |m, t| m.eval_jvp(t),
    );
}

// `wrt` naming private fields of a `pub` struct: `#[derive(Params)]` names their types where
// they are made of public names (floats, `Vec`, arrays, `Tensor`), so `wrt = [self.w]` works
// on them too (a private field of a private type is a clear error: the FieldType note).
pub mod private_fields {
    use autodiff::prelude::*;

    #[derive(Params, Debug, Clone, PartialEq)]
    pub struct Affine {
        w: Vec<f64>,
        b: [f64; 2],
        t: Tensor<f64>,
    }

    impl Affine {
        pub fn example() -> Affine {
            Affine {
                w: vec![0.7, -0.4],
                b: [0.2, 0.5],
                t: Tensor::from([[1.5, -0.5]]),
            }
        }

        #[differentiate(wrt = [self.w, self.b, self.t])]
        pub fn eval(&self, x: f64) -> f64 {
            let mut s = self.t.sum() * x;
            for i in 0..self.w.len() {
                s += (self.w[i] * x + self.b[i]).tanh();
            }
            s * s
        }

        pub fn nudge(&self, k: usize, h: f64) -> Affine {
            let mut m = self.clone();
            match k {
                0 | 1 => m.w[k] += h,
                2 | 3 => m.b[k - 2] += h,
                _ => {
                    let mut t = m.t.clone().into_vec();
                    t[k - 4] += h;
                    m.t = Tensor::from_vec(t, &[1, 2]);
                }
            }
            m
        }

        pub fn flat_gradient(&self, x: f64) -> Vec<f64> {
            let (_, (w, b, t)) = self.eval_grad(x);
            let mut g = w;
            g.extend(b);
            g.extend(t.into_vec());
            g
        }
    }
}

#[test]
fn wrt_names_private_fields_of_a_pub_struct() {
    let m = private_fields::Affine::example();
    let x = 0.8;
    let g = m.flat_gradient(x);
    let h = 1e-6;
    for (k, got) in g.iter().enumerate() {
        let fd = (m.nudge(k, h).eval(x) - m.nudge(k, -h).eval(x)) / (2.0 * h);
        assert!(fd.abs() > 1e-3, "leaf {k}: a test of nothing");
        close(&[*got], &[fd], 1e-6);
    }
}

// difftest `--set structs` (seed 909): a sub-slice of a field passed to a call
// (`f(&self.xs[1..])`, its borrow was dropped) and a loop over `self.xs[1..].windows(2)`
// (taken for a method of an element of a collection of structs).
#[differentiate(wrt = v)]
fn weighted_tail(v: &[f64], c: f64) -> f64 {
    let mut s = 0.0;
    for i in 0..v.len() {
        s += v[i] * v[i] * c;
    }
    s
}

#[derive(Params, Debug, Clone, PartialEq)]
struct Seq {
    xs: Vec<f64>,
    b: f64,
}

impl Seq {
    #[differentiate(wrt = self)]
    fn eval(&self) -> f64 {
        let mut s = weighted_tail(&self.xs[1..], self.b);
        for w in self.xs[1..].windows(2) {
            s += w[0] * w[1] + self.b;
        }
        s
    }
}

#[test]
fn sub_slices_of_a_field_in_calls_and_windows() {
    let m = Seq {
        xs: vec![0.4, -1.2, 0.7, 2.0],
        b: 0.3,
    };
    let fd = finite_differences(&m, |m| m.eval());
    // xs[0] is not read; every other leaf is.
    assert!(
        fd[0].abs() < 1e-9 && fd[1..].iter().all(|g| g.abs() > 1e-3),
        "{fd:?}"
    );
    let (value, g) = m.eval_grad();
    assert_eq!(value, m.eval());
    close(&flat(&g), &fd, 1e-6);
}

// difftest `--set structs` (seed 909, program 21): "type annotations needed" in a method of
// a generic `impl<T: Float>`: an inner reduction's adjoint started at `zero()`, and the
// float type parameter is the impl's, not the method's; it is read off the signature now.
/// The reproducer's shape as it came: a loop that returns in its first iteration and a
/// `let mut` it never writes.
mod generic_impl {
    #![allow(unused_mut, clippy::never_loop)]
    use autodiff::prelude::*;

    #[derive(Params, Debug, Clone, PartialEq)]
    pub struct Gen<T> {
        pub x1: T,
        pub x0: T,
    }

    impl<T: Float + std::iter::Sum> Gen<T> {
        #[differentiate(wrt = self)]
        pub fn eval(&self) -> T {
            let z2 = [T::from(0.5).unwrap(), self.x1, T::from(0.25).unwrap()];
            let z4 = [T::from(0.5).unwrap(), self.x0, self.x1 * self.x0];
            for v7 in z4.iter().copied() {
                let a9 = (v7 * self.x1).tanh();
                return z4
                    .iter()
                    .copied()
                    .zip(z2.iter().copied())
                    .map(|(c, d)| (a9 * c + d).sin())
                    .sum::<T>();
            }
            T::from(0.5).unwrap()
        }

        /// The shrunk reproducer's shape (a branch on a stopped value, `signum`, `abs` in the
        /// sum), times `x0` so that the gradient is not zero.
        #[differentiate(wrt = self)]
        pub fn kinked(&self) -> T {
            let z2 = [
                T::from(0.5).unwrap(),
                T::from(0.5).unwrap(),
                T::from(0.5).unwrap(),
            ];
            let a3 = T::from(1.75).unwrap();
            let mut z4 = [T::from(0.5).unwrap(), self.x0, T::from(0.5).unwrap()];
            for v7 in z4.iter().copied() {
                let a9 = if (stop_gradient(v7) * self.x1.abs()) < v7 {
                    T::from(-0.36).unwrap().mul_add(v7, v7).signum()
                } else {
                    stop_gradient(a3)
                };
                return z4
                    .iter()
                    .copied()
                    .zip(z2.iter().copied())
                    .map(|(_, _)| T::abs(a9))
                    .sum::<T>()
                    * self.x0;
            }
            T::from(0.5).unwrap()
        }
    }
}
use generic_impl::Gen;

#[test]
fn a_generic_impl_method_with_an_inner_reduction() {
    let m = Gen { x1: 0.7, x0: -0.4 };
    let fd = finite_differences(&m, |m| m.kinked());
    assert!(fd.iter().any(|g| g.abs() > 1e-3), "{fd:?}");
    let (value, g) = m.kinked_grad();
    assert_eq!(value, m.kinked());
    close(&flat(&g), &fd, 1e-6);
    let m = Gen { x1: 0.7, x0: -0.4 };
    let fd = finite_differences(&m, |m| m.eval());
    assert!(fd.iter().all(|g| g.abs() > 1e-3), "{fd:?}");
    let (value, g) = m.eval_grad();
    assert_eq!(value, m.eval());
    close(&flat(&g), &fd, 1e-6);
}
