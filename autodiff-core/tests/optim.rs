//! Each optimizer against TensorFlow 1.x's update rule written out independently (in the
//! textbook form of the TF docs, plain f64 arithmetic on flat vectors), for several steps and
//! several collection shapes.
use autodiff_core::optim::{
    schedule, Adagrad, Adam, GradientDescent, Momentum, Optimizer, RmsProp,
};
use autodiff_core::params::{Params, ParamsErrorKind};

// ---------------------------------------------------------------- reference rules (TF 1.x docs)

/// One step of a reference rule on a flat vector of parameters.
trait Reference {
    fn step(&mut self, x: &mut [f64], g: &[f64]);
}

struct RefSgd {
    lr: f64,
}
impl Reference for RefSgd {
    fn step(&mut self, x: &mut [f64], g: &[f64]) {
        for i in 0..x.len() {
            x[i] -= self.lr * g[i];
        }
    }
}

struct RefMomentum {
    lr: f64,
    momentum: f64,
    nesterov: bool,
    accum: Vec<f64>,
}
impl Reference for RefMomentum {
    fn step(&mut self, x: &mut [f64], g: &[f64]) {
        self.accum.resize(x.len(), 0.0);
        for i in 0..x.len() {
            self.accum[i] = self.momentum * self.accum[i] + g[i];
            if self.nesterov {
                x[i] -= self.lr * g[i] + self.lr * self.momentum * self.accum[i];
            } else {
                x[i] -= self.lr * self.accum[i];
            }
        }
    }
}

struct RefAdam {
    lr: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
    t: i32,
    m: Vec<f64>,
    v: Vec<f64>,
}
impl RefAdam {
    fn new(lr: f64) -> Self {
        RefAdam {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            t: 0,
            m: vec![],
            v: vec![],
        }
    }
}
impl Reference for RefAdam {
    fn step(&mut self, x: &mut [f64], g: &[f64]) {
        self.m.resize(x.len(), 0.0);
        self.v.resize(x.len(), 0.0);
        self.t += 1;
        let lr_t =
            self.lr * (1.0 - self.beta2.powi(self.t)).sqrt() / (1.0 - self.beta1.powi(self.t));
        for i in 0..x.len() {
            self.m[i] = self.beta1 * self.m[i] + (1.0 - self.beta1) * g[i];
            self.v[i] = self.beta2 * self.v[i] + (1.0 - self.beta2) * g[i] * g[i];
            x[i] -= lr_t * self.m[i] / (self.v[i].sqrt() + self.eps);
        }
    }
}

struct RefRmsProp {
    lr: f64,
    rho: f64,
    momentum: f64,
    eps: f64,
    ms: Vec<f64>,
    mom: Vec<f64>,
}
impl RefRmsProp {
    fn new(lr: f64) -> Self {
        RefRmsProp {
            lr,
            rho: 0.9,
            momentum: 0.0,
            eps: 1e-10,
            ms: vec![],
            mom: vec![],
        }
    }
}
impl Reference for RefRmsProp {
    fn step(&mut self, x: &mut [f64], g: &[f64]) {
        self.ms.resize(x.len(), 1.0); // TF 1.x: the mean square starts at ones
        self.mom.resize(x.len(), 0.0);
        for i in 0..x.len() {
            self.ms[i] = self.rho * self.ms[i] + (1.0 - self.rho) * g[i] * g[i];
            self.mom[i] =
                self.momentum * self.mom[i] + self.lr * g[i] / (self.ms[i] + self.eps).sqrt();
            x[i] -= self.mom[i];
        }
    }
}

/// TF 1.x's `centered=True`: the mean gradient `mg` (from zero) is subtracted from the mean
/// square: `mom = momentum · mom + lr · g / √(ms - mg² + ε)`.
struct RefCenteredRmsProp {
    plain: RefRmsProp,
    mg: Vec<f64>,
}
impl Reference for RefCenteredRmsProp {
    fn step(&mut self, x: &mut [f64], g: &[f64]) {
        let r = &mut self.plain;
        r.ms.resize(x.len(), 1.0);
        r.mom.resize(x.len(), 0.0);
        self.mg.resize(x.len(), 0.0);
        for i in 0..x.len() {
            r.ms[i] = r.rho * r.ms[i] + (1.0 - r.rho) * g[i] * g[i];
            self.mg[i] = r.rho * self.mg[i] + (1.0 - r.rho) * g[i];
            let variance = r.ms[i] - self.mg[i] * self.mg[i];
            r.mom[i] = r.momentum * r.mom[i] + r.lr * g[i] / (variance + r.eps).sqrt();
            x[i] -= r.mom[i];
        }
    }
}

struct RefAdagrad {
    lr: f64,
    init: f64,
    acc: Vec<f64>,
}
impl Reference for RefAdagrad {
    fn step(&mut self, x: &mut [f64], g: &[f64]) {
        self.acc.resize(x.len(), self.init);
        for i in 0..x.len() {
            self.acc[i] += g[i] * g[i];
            x[i] -= self.lr * g[i] / self.acc[i].sqrt();
        }
    }
}

// ---------------------------------------------------------------- collections under test

/// What `#[derive(Params)]` writes for `struct Layer { w: [[f64; 2]; 2], b: Vec<f64>, s: f64 }`
/// (the derive itself is tested through the facade in tests/params_derive.rs).
#[derive(Debug, Clone, PartialEq)]
struct Layer {
    w: [[f64; 2]; 2],
    b: Vec<f64>,
    s: f64,
}
impl Params<f64> for Layer {
    fn visit<'a>(&'a self, f: &mut dyn FnMut(&'a [f64])) {
        self.w.visit(f);
        self.b.visit(f);
        self.s.visit(f);
    }
    fn visit_mut<'a>(&'a mut self, f: &mut dyn FnMut(&'a mut [f64])) {
        self.w.visit_mut(f);
        self.b.visit_mut(f);
        self.s.visit_mut(f);
    }
    fn zeros_like(&self) -> Self {
        Layer {
            w: self.w.zeros_like(),
            b: self.b.zeros_like(),
            s: self.s.zeros_like(),
        }
    }
}

fn flatten<P: Params<f64>>(p: &P) -> Vec<f64> {
    let mut out = Vec::new();
    p.visit(&mut |leaf| out.extend_from_slice(leaf));
    out
}

/// A collection shaped like `like` holding `values` in leaf order.
fn fill<P: Params<f64>>(like: &P, values: &[f64]) -> P {
    let mut p = like.zeros_like();
    let mut k = 0;
    p.visit_mut(&mut |leaf| {
        for x in leaf.iter_mut() {
            *x = values[k];
            k += 1;
        }
    });
    assert_eq!(k, values.len());
    p
}

/// Deterministic gradients of mixed sign and size for step `t` and entry `i`.
fn gradient(t: usize, i: usize) -> f64 {
    ((t as f64) * 1.3 + (i as f64) * 0.7).sin() * (1.0 + i as f64)
        + if i.is_multiple_of(3) { 0.25 } else { -0.1 }
}

fn assert_close(actual: &[f64], expected: &[f64], tolerance: f64, what: &str) {
    assert_eq!(actual.len(), expected.len(), "{what}");
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        let scale = 1.0_f64.max(e.abs());
        assert!(
            (a - e).abs() <= tolerance * scale,
            "{what}: entry {i} is {a}, the reference rule gives {e}"
        );
    }
}

/// Runs `opt` and the reference `rule` side by side for `steps` steps on `init`.
fn check<P, O, R>(init: P, mut opt: O, mut rule: R, steps: usize, what: &str)
where
    P: Params<f64>,
    O: Optimizer<f64>,
    R: Reference,
{
    let mut params = init;
    let mut expected = flatten(&params);
    for t in 1..=steps {
        let g: Vec<f64> = (0..expected.len()).map(|i| gradient(t, i)).collect();
        let grads = fill(&params, &g);
        opt.apply_gradients(&mut params, &grads);
        rule.step(&mut expected, &g);
        assert_close(
            &flatten(&params),
            &expected,
            1e-12,
            &format!("{what}, step {t}"),
        );
    }
    // The run must have moved the parameters, or the comparison proved nothing.
    assert!(
        expected.iter().any(|x| x.abs() > 1e-3),
        "{what}: parameters did not move"
    );
}

/// Runs `check` for every collection shape.
fn check_all_shapes<O: Optimizer<f64>, R: Reference>(
    make_opt: impl Fn() -> O,
    make_rule: impl Fn() -> R,
    name: &str,
) {
    let steps = 7;
    check(
        0.5_f64,
        make_opt(),
        make_rule(),
        steps,
        &format!("{name} on f64"),
    );
    check(
        [0.5_f64, -1.0, 2.0],
        make_opt(),
        make_rule(),
        steps,
        &format!("{name} on [f64; 3]"),
    );
    check(
        vec![1.0_f64, 0.0, -3.0, 4.0],
        make_opt(),
        make_rule(),
        steps,
        &format!("{name} on Vec<f64>"),
    );
    check(
        (1.0_f64, [2.0_f64, 3.0], vec![-1.0_f64], Box::new(0.0_f64)),
        make_opt(),
        make_rule(),
        steps,
        &format!("{name} on a tuple"),
    );
    check(
        vec![[1.0_f64, 2.0], [3.0, 4.0]],
        make_opt(),
        make_rule(),
        steps,
        &format!("{name} on Vec<[f64; 2]>"),
    );
    let layer = Layer {
        w: [[0.1, 0.2], [0.3, 0.4]],
        b: vec![0.0, 1.0, 2.0],
        s: -0.5,
    };
    check(
        layer,
        make_opt(),
        make_rule(),
        steps,
        &format!("{name} on a struct"),
    );
}

// ---------------------------------------------------------------- each optimizer

#[test]
fn gradient_descent_matches_tf_rule() {
    check_all_shapes(
        || GradientDescent::new(0.1),
        || RefSgd { lr: 0.1 },
        "GradientDescent",
    );
}

#[test]
fn momentum_matches_tf_rule() {
    check_all_shapes(
        || Momentum::new(0.05, 0.9),
        || RefMomentum {
            lr: 0.05,
            momentum: 0.9,
            nesterov: false,
            accum: vec![],
        },
        "Momentum",
    );
}

#[test]
fn nesterov_momentum_matches_tf_rule() {
    check_all_shapes(
        || Momentum::new(0.05, 0.8).nesterov(true),
        || RefMomentum {
            lr: 0.05,
            momentum: 0.8,
            nesterov: true,
            accum: vec![],
        },
        "Momentum (Nesterov)",
    );
}

#[test]
fn adam_matches_tf_rule_with_defaults() {
    check_all_shapes(|| Adam::new(0.01), || RefAdam::new(0.01), "Adam");
}

#[test]
fn adam_matches_tf_rule_with_custom_hyperparameters() {
    check_all_shapes(
        || Adam::new(0.2).beta1(0.5).beta2(0.9).epsilon(0.1),
        || RefAdam {
            beta1: 0.5,
            beta2: 0.9,
            eps: 0.1,
            ..RefAdam::new(0.2)
        },
        "Adam (custom)",
    );
}

#[test]
fn rmsprop_matches_tf_rule_with_defaults() {
    check_all_shapes(|| RmsProp::new(0.01), || RefRmsProp::new(0.01), "RmsProp");
}

#[test]
fn rmsprop_matches_tf_rule_with_momentum() {
    check_all_shapes(
        || RmsProp::new(0.02).decay(0.8).momentum(0.7).epsilon(1e-3),
        || RefRmsProp {
            rho: 0.8,
            momentum: 0.7,
            eps: 1e-3,
            ..RefRmsProp::new(0.02)
        },
        "RmsProp (momentum)",
    );
}

#[test]
fn centered_rmsprop_matches_tf_rule() {
    check_all_shapes(
        || RmsProp::new(0.01).centered(true),
        || RefCenteredRmsProp {
            plain: RefRmsProp::new(0.01),
            mg: vec![],
        },
        "RmsProp (centered)",
    );
    check_all_shapes(
        || {
            RmsProp::new(0.02)
                .decay(0.8)
                .momentum(0.7)
                .epsilon(1e-3)
                .centered(true)
        },
        || RefCenteredRmsProp {
            plain: RefRmsProp {
                rho: 0.8,
                momentum: 0.7,
                eps: 1e-3,
                ..RefRmsProp::new(0.02)
            },
            mg: vec![],
        },
        "RmsProp (centered, momentum)",
    );
}

#[test]
fn centered_rmsprop_two_steps_with_tensorflows_numbers() {
    // TF 2.21, float64: v = tf.Variable(0.0); opt = tf.compat.v1.train.RMSPropOptimizer(
    //   0.1, centered=True); two apply_gradients with g = 1 then g = 2. The kernel's arithmetic:
    let (lr, rho, eps) = (0.1_f64, 0.9_f64, 1e-10_f64);
    let (mut ms, mut mg, mut mom, mut v) = (1.0_f64, 0.0_f64, 0.0_f64, 0.0_f64);
    let mut expected = Vec::new();
    for g in [1.0_f64, 2.0] {
        ms += (g * g - ms) * (1.0 - rho);
        mg += (g - mg) * (1.0 - rho);
        mom = mom * 0.0 + (g * lr) / ((ms - mg * mg) + eps).sqrt();
        v -= mom;
        expected.push(v);
    }
    // By hand: step 1 ms = 1, mg = 0.1, v = -0.1 / √0.99 = -0.10050378...;
    // step 2 ms = 1.3, mg = 0.29, v -= 0.2 / √(1.3 - 0.0841) = 0.18137...
    assert!((expected[0] + 0.1 / 0.99_f64.sqrt()).abs() < 1e-9);
    assert!((expected[1] - expected[0] + 0.2 / 1.2159_f64.sqrt()).abs() < 1e-9);

    let mut opt = RmsProp::new(lr).centered(true);
    let mut w = 0.0_f64;
    opt.apply_gradients(&mut w, &1.0);
    assert_eq!(w, expected[0]);
    opt.apply_gradients(&mut w, &2.0);
    assert_eq!(w, expected[1]);
    // Not centered, the same gradients give other numbers (ms alone: 1 / √1 at step 1).
    let mut plain = 0.0_f64;
    RmsProp::new(lr).apply_gradients(&mut plain, &1.0);
    assert_eq!(plain, -0.1 / (1.0 + eps).sqrt());
    assert!(plain != expected[0]);
}

#[test]
fn adagrad_matches_tf_rule() {
    check_all_shapes(
        || Adagrad::new(0.3),
        || RefAdagrad {
            lr: 0.3,
            init: 0.1,
            acc: vec![],
        },
        "Adagrad",
    );
    check_all_shapes(
        || Adagrad::new(0.3).initial_accumulator_value(2.0),
        || RefAdagrad {
            lr: 0.3,
            init: 2.0,
            acc: vec![],
        },
        "Adagrad (init 2)",
    );
}

#[test]
fn adam_in_f32_follows_the_f64_rule() {
    let mut opt = Adam::new(0.01_f32);
    let mut w = [1.0_f32, -2.0];
    let mut rule = RefAdam::new(0.01);
    let mut expected = [1.0_f64, -2.0];
    for t in 1..=20 {
        let g = [gradient(t, 0), gradient(t, 1)];
        opt.apply_gradients(&mut w, &[g[0] as f32, g[1] as f32]);
        rule.step(&mut expected, &g);
    }
    assert_close(&[w[0] as f64, w[1] as f64], &expected, 1e-5, "Adam in f32");
}

#[test]
fn adam_first_step_has_size_lr_whatever_the_gradient() {
    // A known number from the Adam paper's analysis, not from our rule: |Δ| ≈ lr at t = 1.
    for g in [1e-1, 1.0, 1e3] {
        let mut w = 0.0_f64;
        Adam::new(0.1).apply_gradients(&mut w, &g);
        assert!((w + 0.1).abs() < 1e-6, "gradient {g}: step {w}");
    }
}

#[test]
fn set_learning_rate_changes_later_steps_only_and_keeps_slots() {
    let mut opt = Momentum::new(0.1, 0.9);
    let mut rule = RefMomentum {
        lr: 0.1,
        momentum: 0.9,
        nesterov: false,
        accum: vec![],
    };
    let mut w = [1.0_f64, 2.0];
    let mut expected = w;
    for t in 1..=6 {
        if t == 4 {
            opt.set_learning_rate(0.01);
            rule.lr = 0.01;
        }
        let g = [gradient(t, 0), gradient(t, 1)];
        opt.apply_gradients(&mut w, &g);
        rule.step(&mut expected, &g);
    }
    assert_eq!(opt.learning_rate(), 0.01);
    assert_close(
        &w,
        &expected,
        1e-12,
        "Momentum with a changed learning rate",
    );
}

#[test]
fn exponential_decay_schedule_drives_gradient_descent() {
    let mut opt = GradientDescent::new(1.0_f64);
    let mut w = 0.0_f64;
    for step in 0..5 {
        opt.set_learning_rate(schedule::exponential_decay(1.0, step, 2, 0.5, true));
        opt.apply_gradients(&mut w, &1.0);
    }
    // Rates 1, 1, 0.5, 0.5, 0.25.
    assert_eq!(w, -3.25);
}

#[test]
fn boxed_dyn_optimizer_works_on_any_collection() {
    let mut opts: Vec<Box<dyn Optimizer<f64>>> = vec![
        Box::new(GradientDescent::new(0.1)),
        Box::new(Adam::new(0.1)),
    ];
    for opt in &mut opts {
        let mut w = (1.0_f64, [1.0_f64, 1.0]);
        opt.apply_gradients(&mut w, &(1.0, [1.0, -1.0]));
        assert!(w.0 < 1.0 && w.1[0] < 1.0 && w.1[1] > 1.0, "{w:?}");
    }
}

// ---------------------------------------------------------------- minimize

/// Mean squared error of y = a x + b on points of y = 2x - 1, and its gradient by hand.
fn linear_loss_and_grad(&(a, b): &(f64, f64)) -> (f64, (f64, f64)) {
    let xs = [-2.0, -1.0, 0.0, 0.5, 1.0, 2.0, 3.0];
    let n = xs.len() as f64;
    let (mut loss, mut da, mut db) = (0.0, 0.0, 0.0);
    for x in xs {
        let residual = a * x + b - (2.0 * x - 1.0);
        loss += residual * residual / n;
        da += 2.0 * residual * x / n;
        db += 2.0 * residual / n;
    }
    (loss, (da, db))
}

/// The trained (a, b), the first loss and the final loss.
type Run = ((f64, f64), f64, f64);

fn train(opt: &mut impl Optimizer<f64>, steps: usize) -> Run {
    train_with_decay(opt, steps, None)
}

/// Trains from (0, 0); with `Some(half_life)` the learning rate halves every `half_life` steps
/// (an exponential decay schedule), which RMSProp needs to settle: its steps do not shrink
/// with the gradient.
fn train_with_decay(opt: &mut impl Optimizer<f64>, steps: usize, half_life: Option<u64>) -> Run {
    let initial_rate = opt.learning_rate();
    let mut params = (0.0_f64, 0.0_f64);
    let mut first = f64::NAN;
    for step in 0..steps {
        if let Some(half_life) = half_life {
            let rate =
                schedule::exponential_decay(initial_rate, step as u64, half_life, 0.5, false);
            opt.set_learning_rate(rate);
        }
        let loss = opt.minimize(&mut params, linear_loss_and_grad);
        if step == 0 {
            first = loss;
        }
    }
    let last = linear_loss_and_grad(&params).0;
    (params, first, last)
}

#[test]
fn minimize_fits_a_linear_model_with_every_optimizer() {
    let runs: Vec<(&str, Run)> = vec![
        (
            "GradientDescent",
            train(&mut GradientDescent::new(0.1), 500),
        ),
        ("Momentum", train(&mut Momentum::new(0.05, 0.9), 500)),
        (
            "Nesterov",
            train(&mut Momentum::new(0.05, 0.9).nesterov(true), 500),
        ),
        ("Adam", train(&mut Adam::new(0.05), 2000)),
        (
            "RmsProp",
            train_with_decay(&mut RmsProp::new(0.05), 3000, Some(200)),
        ),
        (
            "RmsProp (centered)",
            train_with_decay(&mut RmsProp::new(0.05).centered(true), 3000, Some(200)),
        ),
        ("Adagrad", train(&mut Adagrad::new(0.5), 2000)),
    ];
    for (name, ((a, b), first, last)) in runs {
        assert!(
            first > 1.0,
            "{name}: the first loss {first} is the loss at the start"
        );
        assert!(
            last < 1e-6,
            "{name}: loss {last} after training, a = {a}, b = {b}"
        );
        assert!(
            (a - 2.0).abs() < 1e-2 && (b + 1.0).abs() < 1e-2,
            "{name}: a = {a}, b = {b}"
        );
    }
}

#[test]
fn minimize_returns_the_loss_before_the_step() {
    let mut params = (0.0_f64, 0.0_f64);
    let expected = linear_loss_and_grad(&params).0;
    let loss = GradientDescent::new(0.1).minimize(&mut params, linear_loss_and_grad);
    assert_eq!(loss, expected);
    assert!(linear_loss_and_grad(&params).0 < loss);
}

// ---------------------------------------------------------------- structure checks

#[test]
#[should_panic(
    expected = "gradients do not match the parameters: the parameters have 2 leaves of lengths [2, 1], the gradients have 2 leaves of lengths [3, 1]"
)]
fn apply_gradients_panics_when_gradients_differ_in_structure() {
    // Same type, different lengths: a Vec.
    let mut params = (vec![1.0_f64, 2.0], 1.0_f64);
    Adam::new(0.1).apply_gradients(&mut params, &(vec![1.0, 2.0, 3.0], 1.0));
}

#[test]
#[should_panic(expected = "gradients do not match the parameters")]
fn gradient_descent_also_checks_gradients() {
    let mut params = vec![vec![1.0_f64], vec![2.0]];
    GradientDescent::new(0.1).apply_gradients(&mut params, &vec![vec![1.0]]);
}

#[test]
#[should_panic(
    expected = "parameters changed structure since this optimizer's first step: its slots were made for 1 leaf of lengths [2], now it was given 1 leaf of lengths [3]"
)]
fn apply_gradients_panics_when_parameters_change_structure() {
    let mut opt = Momentum::new(0.1, 0.9);
    opt.apply_gradients(&mut vec![1.0_f64, 2.0], &vec![1.0, 1.0]);
    opt.apply_gradients(&mut vec![1.0_f64, 2.0, 3.0], &vec![1.0, 1.0, 1.0]);
}

#[test]
#[should_panic(expected = "parameters changed structure")]
fn minimize_panics_when_parameters_change_structure() {
    let mut opt = RmsProp::new(0.1);
    opt.minimize(&mut vec![1.0_f64], |p| (0.0, p.clone()));
    opt.minimize(&mut vec![vec![1.0_f64], vec![2.0]], |p| (0.0, p.clone()));
}

#[test]
fn try_apply_gradients_reports_both_structures_and_changes_nothing() {
    let mut opt = Adagrad::new(0.1);
    let mut params = ([1.0_f64, 2.0], vec![3.0_f64]);
    let err = opt
        .try_apply_gradients(&mut params, &([1.0, 1.0], vec![]))
        .unwrap_err();
    assert_eq!(err.kind(), ParamsErrorKind::GradientsMismatch);
    assert_eq!((err.expected(), err.found()), (&[2, 1][..], &[2, 0][..]));
    assert_eq!(
        params,
        ([1.0, 2.0], vec![3.0]),
        "a failed step must not move parameters"
    );

    // The failed call made no slots: a later collection of another structure is the first.
    let mut other = vec![1.0_f64, 2.0, 3.0];
    opt.try_apply_gradients(&mut other, &vec![1.0, 1.0, 1.0])
        .unwrap();
    let err = opt
        .try_apply_gradients(&mut params, &([1.0, 1.0], vec![1.0]))
        .unwrap_err();
    assert_eq!(err.kind(), ParamsErrorKind::SlotsMismatch);
    assert_eq!((err.expected(), err.found()), (&[3][..], &[2, 1][..]));
    let message = err.to_string();
    assert!(
        message.contains("[3]") && message.contains("[2, 1]"),
        "{message}"
    );
    let as_std: &dyn std::error::Error = &err;
    assert!(as_std.source().is_none());
}

#[test]
fn a_failed_step_leaves_the_optimizer_state_unchanged() {
    let mut with_error = Adam::new(0.1);
    let mut clean = Adam::new(0.1);
    let (mut a, mut b) = ([1.0_f64, 2.0], [1.0_f64, 2.0]);
    with_error.apply_gradients(&mut a, &[0.5, -0.5]);
    clean.apply_gradients(&mut b, &[0.5, -0.5]);
    assert!(with_error
        .try_apply_leaves(&mut [&mut a[..]], &[&[1.0][..]])
        .is_err());
    with_error.apply_gradients(&mut a, &[0.3, 0.3]);
    clean.apply_gradients(&mut b, &[0.3, 0.3]);
    assert_eq!(a, b, "the failed step must not advance Adam's step count");
}
