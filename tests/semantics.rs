//! TensorFlow's gradient semantics: `wrt` (xs), `stop` (stop_gradients), `stop_gradient`,
//! `unconnected`, seeds (grad_ys), and the shape of what the generated functions return.
// These tests write what users write, including what clippy would tidy: a `return` at the
// end, `let` then return, a bound in two places, `y - y` (a connected path with a zero value).
#![allow(
    clippy::needless_return,
    clippy::let_and_return,
    clippy::multiple_bound_locations,
    clippy::eq_op
)]
use autodiff::prelude::*;

// The stop_gradients example from TensorFlow's `tf.gradients` documentation:
// a = 0, b = 2a, y = a + b.
#[differentiate(wrt = [a, b], stop = [a, b])]
fn tf_stop_both(a: f64) -> f64 {
    let b = 2.0 * a;
    a + b
}

#[differentiate(wrt = [a, b])]
fn tf_stop_none(a: f64) -> f64 {
    let b = 2.0 * a;
    a + b
}

#[differentiate(wrt = [a, b], stop = [a])]
fn tf_stop_leaf(a: f64) -> f64 {
    let b = 2.0 * a;
    a + b
}

#[differentiate(wrt = [a, b], stop = [b])]
fn tf_stop_b(a: f64) -> f64 {
    let b = 2.0 * a;
    a + b
}

#[test]
fn tensorflow_stop_gradients_example() {
    assert_eq!(tf_stop_both_grad(0.0), (0.0, (1.0, 1.0)));
    assert_eq!(tf_stop_none_grad(0.0), (0.0, (3.0, 1.0)));
    assert_eq!(
        tf_stop_leaf_grad(0.0),
        (0.0, (3.0, 1.0)),
        "stopping a leaf changes nothing"
    );
    assert_eq!(tf_stop_b_grad(0.0), (0.0, (1.0, 1.0)));
}

#[differentiate(wrt = x)]
fn half_stopped(x: f64) -> f64 {
    x * stop_gradient(x * x)
}

#[test]
fn stop_gradient_holds_its_argument_constant() {
    // d/dx (x * c) with c = x² held constant is c.
    assert_eq!(half_stopped_grad(3.0), (27.0, 9.0));
    assert_eq!(half_stopped_jvp(3.0, 2.0), (27.0, 18.0));
}

// TensorFlow's own docstring example: `bs = 2 * Ws; gradients(cost, [Ws, bs])`.
#[differentiate(wrt = [w, b])]
fn wrt_a_binding(w: f64, x: f64) -> f64 {
    let b = 2.0 * w;
    (w * x + b).powi(2)
}

#[test]
fn wrt_names_a_let_binding() {
    let (w, x) = (1.5, 2.0);
    let r = w * x + 2.0 * w;
    let (value, (dw, db)) = wrt_a_binding_grad(w, x);
    assert_eq!(value, r * r);
    assert_eq!(db, 2.0 * r, "the binding's own gradient");
    assert_eq!(dw, 2.0 * r * (x + 2.0), "w's gradient flows through b too");
}

#[differentiate(wrt = [x, y], unconnected = none)]
fn unconnected_none(x: f64, y: f64) -> f64 {
    let _unused = y * 2.0;
    x * x
}

#[differentiate(wrt = [x, y], stop = [z], unconnected = none)]
fn connected_but_zero(x: f64, y: f64) -> f64 {
    let z = y * 3.0;
    x * z + (y - y)
}

#[test]
fn unconnected_none_is_decided_by_paths_not_values() {
    assert_eq!(unconnected_none_grad(3.0, 1.0), (9.0, (Some(6.0), None)));
    // y - y has a zero derivative, but a path exists: Some(0.0), as in TensorFlow.
    assert_eq!(connected_but_zero_grad(2.0, 1.0).1, (Some(3.0), Some(0.0)));
}

#[differentiate(wrt = [x, y], unconnected = zero)]
fn unconnected_zero(x: f64, y: f64) -> f64 {
    x.sin() + 0.0 * stop_gradient(y)
}

#[test]
fn unconnected_zero_returns_zeros() {
    let (_, (dx, dy)) = unconnected_zero_grad(0.0, 5.0);
    assert_eq!((dx, dy), (1.0, 0.0));
    let (_, t) = unconnected_zero_jvp(0.0, 5.0, 2.0, 7.0);
    assert_eq!(t, 2.0);
}

#[differentiate(wrt = x)]
fn bare_wrt(x: f64, y: f64) -> f64 {
    x * y
}

#[differentiate(wrt = [x])]
fn one_tuple_wrt(x: f64, y: f64) -> f64 {
    x * y
}

#[differentiate]
fn default_wrt(x: f64, n: usize, flag: bool, y: f64) -> f64 {
    let k = if flag { 2.0 } else { 1.0 };
    x * y * n as f64 * k
}

#[differentiate]
fn default_single(x: f64) -> f64 {
    x.exp()
}

#[test]
fn gradient_shapes_follow_the_wrt_list() {
    let g: f64 = bare_wrt_grad(2.0, 3.0).1;
    assert_eq!(g, 3.0);
    let g: (f64,) = one_tuple_wrt_grad(2.0, 3.0).1;
    assert_eq!(g, (3.0,));
    let g: (f64,) = default_single_grad(0.0).1;
    assert_eq!(g, (1.0,));
    // Integer and bool parameters are skipped; `if` on a passive flag is fine.
    let (v, g): (f64, (f64, f64)) = default_wrt_grad(2.0, 4, true, 3.0);
    assert_eq!((v, g), (48.0, (24.0, 16.0)));
}

#[differentiate(wrt = [x, y])]
fn two_outputs(x: f64, y: f64) -> (f64, f64) {
    (x * y, x + 2.0 * y)
}

#[test]
fn several_outputs_sum_in_grad_and_take_seeds_in_vjp() {
    let ((p, s), g) = two_outputs_grad(2.0, 3.0);
    assert_eq!((p, s), (6.0, 8.0));
    assert_eq!(g, (3.0 + 1.0, 2.0 + 2.0));
    let (_, g) = two_outputs_vjp(2.0, 3.0, (10.0, 100.0));
    assert_eq!(g, (10.0 * 3.0 + 100.0, 10.0 * 2.0 + 200.0));
    let (_, t) = two_outputs_jvp(2.0, 3.0, 1.0, 0.0);
    assert_eq!(t, (3.0, 1.0));
}

#[differentiate(wrt = [x, y])]
fn generic<T: Float>(x: T, y: T) -> T
where
    T: Copy,
{
    let two = T::from(2.0).unwrap();
    (x * y).sqrt() * two + x.powf(y)
}

#[test]
fn generic_functions_keep_their_generics() {
    let (v, (dx, dy)) = generic_grad::<f32>(4.0, 1.0);
    assert_eq!(v, 8.0);
    assert!((dx - (0.25 * 2.0 + 1.0)).abs() < 1e-6, "{dx}");
    assert!((dy - (2.0 + 4.0 * 4f32.ln())).abs() < 1e-5, "{dy}");
    let (v64, _) = generic_grad(4.0_f64, 1.0);
    assert_eq!(v64, 8.0);
}

#[differentiate(wrt = x)]
fn single_f32(x: f32) -> f32 {
    let y: f32 = x * 3.0;
    y.tanh()
}

#[test]
fn f32_functions() {
    let (v, g) = single_f32_grad(0.0);
    assert_eq!((v, g), (0.0, 3.0));
}

/// User names that look like generated ones must not collide with them.
#[differentiate(wrt = [grad, seed])]
fn hygiene(grad: f64, seed: f64, tangent_grad: f64) -> f64 {
    let adj = grad * seed;
    let __adj_x = adj + tangent_grad;
    let v0 = __adj_x * grad;
    let tangent = v0 + 1.0;
    tangent
}

#[test]
fn user_names_never_collide_with_generated_ones() {
    // f = (g s + t) g + 1: df/dg = 2 g s + t, df/ds = g²
    let (v, (dg, ds)) = hygiene_grad(2.0, 3.0, 5.0);
    assert_eq!(v, (6.0 + 5.0) * 2.0 + 1.0);
    assert_eq!((dg, ds), (2.0 * 2.0 * 3.0 + 5.0, 4.0));
    let (_, (dg, ds)) = hygiene_vjp(2.0, 3.0, 5.0, 10.0);
    assert_eq!((dg, ds), (170.0, 40.0));
    assert_eq!(hygiene_jvp(2.0, 3.0, 5.0, 1.0, 0.0).1, 17.0);
}

#[differentiate(wrt = x)]
fn with_mutation(x: f64) -> f64 {
    let mut y = x;
    y *= y;
    y += 1.0;
    y = y.ln();
    y
}

#[test]
fn straight_line_reassignment_is_single_assignment_underneath() {
    let (v, g) = with_mutation_grad(2.0);
    assert_eq!(v, 5f64.ln());
    assert!((g - 4.0 / 5.0).abs() < 1e-15);
}

#[differentiate(wrt = x)]
fn blocks_and_tuples(x: f64) -> f64 {
    let (a, b) = (x * 2.0, x.sin());
    let c = {
        let d = a * b;
        d + 1.0
    };
    println!("c = {c}");
    return c;
}

#[test]
fn blocks_tuple_destructuring_and_effects() {
    let (v, g) = blocks_and_tuples_grad(1.0);
    assert_eq!(v, 2.0 * 1f64.sin() + 1.0);
    assert!((g - (2.0 * 1f64.sin() + 2.0 * 1f64.cos())).abs() < 1e-15);
}

#[differentiate(wrt = x)]
fn constant_receiver(x: f64) -> f64 {
    3.0_f64.powf(x) + f64::sin(x) + std::f64::consts::PI * x
}

#[test]
fn constant_receivers_and_path_calls() {
    let (_, g) = constant_receiver_grad(2.0);
    let expected = 9.0 * 3f64.ln() + 2f64.cos() + std::f64::consts::PI;
    assert!((g - expected).abs() < 1e-12, "{g} vs {expected}");
}
