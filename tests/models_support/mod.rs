//! What the model tests share: a struct's float leaves, finite differences through the
//! `Params` leaf API, and one check of `_grad`, `_vjp` and `_jvp` against them.
#![allow(dead_code)]
use autodiff::prelude::*;

/// The float leaves of `p`, flattened in visit order.
pub fn flat<P: Params<f64>>(p: &P) -> Vec<f64> {
    let mut out = Vec::new();
    p.visit(&mut |leaf| out.extend_from_slice(leaf));
    out
}

/// `p` with its `k`-th scalar (in visit order) moved by `h`.
pub fn perturbed<P: Params<f64> + Clone>(p: &P, k: usize, h: f64) -> P {
    let mut q = p.clone();
    let mut seen = 0;
    q.visit_mut(&mut |leaf| {
        for x in leaf.iter_mut() {
            if seen == k {
                *x += h;
            }
            seen += 1;
        }
    });
    q
}

/// Central finite differences of `f` at `p`, one per scalar (Richardson-extrapolated).
pub fn finite_differences<P: Params<f64> + Clone>(p: &P, f: impl Fn(&P) -> f64) -> Vec<f64> {
    (0..p.num_scalars())
        .map(|k| {
            let h = 1e-3;
            let d = |h: f64| (f(&perturbed(p, k, h)) - f(&perturbed(p, k, -h))) / (2.0 * h);
            (4.0 * d(h / 2.0) - d(h)) / 3.0
        })
        .collect()
}

pub fn close(a: &[f64], b: &[f64], tol: f64) {
    assert_eq!(a.len(), b.len(), "{a:?} vs {b:?}");
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() <= tol * (1.0 + y.abs()), "{a:?} vs {b:?}");
    }
}

/// Checks `_grad`, `_vjp` (seed 2.5) and `_jvp` (along a tangent of the struct's type)
/// against finite differences of `f`.
pub fn check<P: Params<f64> + Clone + std::fmt::Debug>(
    p: &P,
    f: impl Fn(&P) -> f64,
    grad: impl Fn(&P) -> (f64, P),
    vjp: impl Fn(&P, f64) -> (f64, P),
    jvp: impl Fn(&P, &P) -> (f64, f64),
) {
    let fd = finite_differences(p, &f);
    assert!(
        fd.iter().any(|g| g.abs() > 1e-3),
        "a test of nothing: {fd:?}"
    );
    let (value, g) = grad(p);
    assert!((value - f(p)).abs() < 1e-12);
    close(&flat(&g), &fd, 1e-6);
    let (value, g) = vjp(p, 2.5);
    assert!((value - f(p)).abs() < 1e-12);
    let scaled: Vec<f64> = fd.iter().map(|g| 2.5 * g).collect();
    close(&flat(&g), &scaled, 1e-6);
    // A tangent of the struct's type: leaf k moves by 0.3 + 0.1 k.
    let mut t = p.zeros_like();
    let mut k = 0;
    t.visit_mut(&mut |leaf| {
        for x in leaf.iter_mut() {
            *x = 0.3 + 0.1 * k as f64;
            k += 1;
        }
    });
    let directional: f64 = flat(&t).iter().zip(&fd).map(|(a, b)| a * b).sum();
    let (value, d) = jvp(p, &t);
    assert!((value - f(p)).abs() < 1e-12);
    close(&[d], &[directional], 1e-6);
}
