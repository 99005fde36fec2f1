//! Two classic uses of `stop_gradient`, in straight-line scalar code.
//!
//! (a) EM for a mixture of two 1-d Gaussians: the M-step maximises the expected
//!     complete-data log-likelihood with the responsibilities (the E-step's posterior) held
//!     constant. Writing them inside `stop_gradient` makes the gradient of that objective the
//!     EM gradient, which equals the gradient of the log-likelihood itself (Fisher's
//!     identity); without the stop, the gradient also flows into the responsibilities and is
//!     a different vector.
//! (b) FGSM (the fast gradient sign method): perturb the input of a trained logistic
//!     regression by `eps * sign(d loss / d input)`. The weights are held constant with
//!     `stop_gradient`, so the one generated gradient function differentiates the input only.
//!
//! ```text
//! cargo run --example stop_gradient
//! ```
//! `tests/stop_gradient_uses.rs` checks the same numbers in CI.
use autodiff::prelude::*;

// ---------------------------------------------------------------------------------------
// (a) EM for a two-component Gaussian mixture, unit variances and equal weights, with the
//     data points -2, -1, 1, 2.5 written out. The log-densities drop their constant
//     -½ ln 2π, which changes no gradient.
// ---------------------------------------------------------------------------------------

/// The E-step: the posterior probability that `x` came from component 1 (mean `mu1`) rather
/// than component 2: `N(x; mu1) / (N(x; mu1) + N(x; mu2))`, simplified to a logistic.
pub(crate) fn responsibility(x: f64, mu1: f64, mu2: f64) -> f64 {
    1.0 / (1.0 + (-0.5 * (mu1 - mu2) * (2.0 * x - mu1 - mu2)).exp())
}

/// The expected complete-data log-likelihood `Q(mu | mu_old)` at `mu_old = mu`, with the
/// responsibilities held constant: its gradient is EM's.
#[differentiate(wrt = [mu1, mu2])]
pub(crate) fn em_objective(mu1: f64, mu2: f64) -> f64 {
    let (x1, x2, x3, x4) = (-2.0, -1.0, 1.0, 2.5);
    // The E-step, inline (the macro does not call other functions yet); stop_gradient makes
    // each responsibility a constant for the derivative.
    let r1 = stop_gradient(1.0 / (1.0 + (-0.5 * (mu1 - mu2) * (2.0 * x1 - mu1 - mu2)).exp()));
    let r2 = stop_gradient(1.0 / (1.0 + (-0.5 * (mu1 - mu2) * (2.0 * x2 - mu1 - mu2)).exp()));
    let r3 = stop_gradient(1.0 / (1.0 + (-0.5 * (mu1 - mu2) * (2.0 * x3 - mu1 - mu2)).exp()));
    let r4 = stop_gradient(1.0 / (1.0 + (-0.5 * (mu1 - mu2) * (2.0 * x4 - mu1 - mu2)).exp()));
    // Σᵢ rᵢ ln N(xᵢ; mu1) + (1 - rᵢ) ln N(xᵢ; mu2)
    let q1 = r1 * -0.5 * (x1 - mu1).powi(2) + (1.0 - r1) * -0.5 * (x1 - mu2).powi(2);
    let q2 = r2 * -0.5 * (x2 - mu1).powi(2) + (1.0 - r2) * -0.5 * (x2 - mu2).powi(2);
    let q3 = r3 * -0.5 * (x3 - mu1).powi(2) + (1.0 - r3) * -0.5 * (x3 - mu2).powi(2);
    let q4 = r4 * -0.5 * (x4 - mu1).powi(2) + (1.0 - r4) * -0.5 * (x4 - mu2).powi(2);
    q1 + q2 + q3 + q4
}

/// The same expression without `stop_gradient`: the gradient now flows into the
/// responsibilities as well.
#[differentiate(wrt = [mu1, mu2])]
pub(crate) fn em_objective_unstopped(mu1: f64, mu2: f64) -> f64 {
    let (x1, x2, x3, x4) = (-2.0, -1.0, 1.0, 2.5);
    let r1 = 1.0 / (1.0 + (-0.5 * (mu1 - mu2) * (2.0 * x1 - mu1 - mu2)).exp());
    let r2 = 1.0 / (1.0 + (-0.5 * (mu1 - mu2) * (2.0 * x2 - mu1 - mu2)).exp());
    let r3 = 1.0 / (1.0 + (-0.5 * (mu1 - mu2) * (2.0 * x3 - mu1 - mu2)).exp());
    let r4 = 1.0 / (1.0 + (-0.5 * (mu1 - mu2) * (2.0 * x4 - mu1 - mu2)).exp());
    let q1 = r1 * -0.5 * (x1 - mu1).powi(2) + (1.0 - r1) * -0.5 * (x1 - mu2).powi(2);
    let q2 = r2 * -0.5 * (x2 - mu1).powi(2) + (1.0 - r2) * -0.5 * (x2 - mu2).powi(2);
    let q3 = r3 * -0.5 * (x3 - mu1).powi(2) + (1.0 - r3) * -0.5 * (x3 - mu2).powi(2);
    let q4 = r4 * -0.5 * (x4 - mu1).powi(2) + (1.0 - r4) * -0.5 * (x4 - mu2).powi(2);
    q1 + q2 + q3 + q4
}

/// The log-likelihood of the data, `Σᵢ ln(½ N(xᵢ; mu1) + ½ N(xᵢ; mu2))` (up to a constant).
#[differentiate(wrt = [mu1, mu2])]
pub(crate) fn log_likelihood(mu1: f64, mu2: f64) -> f64 {
    let (x1, x2, x3, x4) = (-2.0, -1.0, 1.0, 2.5);
    let l1 =
        (0.5 * (-0.5 * (x1 - mu1).powi(2)).exp() + 0.5 * (-0.5 * (x1 - mu2).powi(2)).exp()).ln();
    let l2 =
        (0.5 * (-0.5 * (x2 - mu1).powi(2)).exp() + 0.5 * (-0.5 * (x2 - mu2).powi(2)).exp()).ln();
    let l3 =
        (0.5 * (-0.5 * (x3 - mu1).powi(2)).exp() + 0.5 * (-0.5 * (x3 - mu2).powi(2)).exp()).ln();
    let l4 =
        (0.5 * (-0.5 * (x4 - mu1).powi(2)).exp() + 0.5 * (-0.5 * (x4 - mu2).powi(2)).exp()).ln();
    l1 + l2 + l3 + l4
}

pub(crate) const DATA: [f64; 4] = [-2.0, -1.0, 1.0, 2.5];

/// One EM step as a gradient step: `Q` is quadratic in each mean with curvature
/// `-Σᵢ rᵢ` (resp. `-Σᵢ (1 - rᵢ)`), so a step of `1 / Σᵢ rᵢ` along the stopped gradient
/// lands on Q's maximum: the responsibility-weighted mean, EM's closed-form M-step.
pub(crate) fn em_step(mu1: f64, mu2: f64) -> (f64, f64) {
    let (_, (d1, d2)) = em_objective_grad(mu1, mu2);
    let weight1: f64 = DATA.iter().map(|&x| responsibility(x, mu1, mu2)).sum();
    let weight2 = DATA.len() as f64 - weight1;
    (mu1 + d1 / weight1, mu2 + d2 / weight2)
}

fn em_demo() {
    println!("(a) EM for a 2-component Gaussian mixture on the points {DATA:?}");
    let (mu1, mu2) = (-0.5, 0.5);
    let (_, stopped) = em_objective_grad(mu1, mu2);
    let (_, unstopped) = em_objective_unstopped_grad(mu1, mu2);
    let (_, exact) = log_likelihood_grad(mu1, mu2);
    println!("  at (mu1, mu2) = ({mu1}, {mu2}):");
    println!("  gradient of Q with the responsibilities stopped (EM's gradient): {stopped:?}");
    println!("  gradient of Q without stop_gradient (flows into the E-step too): {unstopped:?}");
    println!("  gradient of the log-likelihood, for comparison:                  {exact:?}");
    assert!(close(stopped.0, exact.0) && close(stopped.1, exact.1));
    assert!((unstopped.0 - stopped.0).abs() > 0.1);

    // The closed-form M-step from the responsibilities, written by hand.
    let r: Vec<f64> = DATA.iter().map(|&x| responsibility(x, mu1, mu2)).collect();
    let weighted_mean1 =
        DATA.iter().zip(&r).map(|(x, r)| r * x).sum::<f64>() / r.iter().sum::<f64>();
    let (step1, _) = em_step(mu1, mu2);
    println!(
        "  one gradient step of size 1/Σr moves mu1 to {step1:.12}; EM's weighted mean is {weighted_mean1:.12}"
    );
    assert!(close(step1, weighted_mean1));

    let (mut m1, mut m2) = (mu1, mu2);
    for _ in 0..200 {
        (m1, m2) = em_step(m1, m2);
    }
    let (_, at_fixed_point) = log_likelihood_grad(m1, m2);
    println!("  after 200 EM steps: (mu1, mu2) = ({m1:.6}, {m2:.6}), log-likelihood gradient ({:.1e}, {:.1e})", at_fixed_point.0, at_fixed_point.1);
    assert!(at_fixed_point.0.abs() < 1e-9 && at_fixed_point.1.abs() < 1e-9);
}

// ---------------------------------------------------------------------------------------
// (b) FGSM on a logistic-regression classifier with two features.
// ---------------------------------------------------------------------------------------

/// Cross-entropy loss of `p(class 1 | x) = σ(w·x + b)` for label `y`. The weights are held
/// constant, so `_grad` differentiates the input only (the weights' gradients are zero).
#[differentiate(wrt = [x1, x2, w1, w2, b], unconnected = zero)]
pub(crate) fn attack_loss(x1: f64, x2: f64, w1: f64, w2: f64, b: f64, y: f64) -> f64 {
    let z = stop_gradient(w1) * x1 + stop_gradient(w2) * x2 + stop_gradient(b);
    let p = 1.0 / (1.0 + (-z).exp());
    -(y * p.ln() + (1.0 - y) * (1.0 - p).ln())
}

/// The classifier: the probability of class 1.
pub(crate) fn predict(x: (f64, f64), w: (f64, f64), b: f64) -> f64 {
    1.0 / (1.0 + (-(w.0 * x.0 + w.1 * x.1 + b)).exp())
}

fn fgsm_demo() {
    println!("(b) FGSM on a logistic-regression classifier");
    let (w, b) = ((2.0, -1.0), 0.5);
    let (x, y, eps) = ((0.5, 0.25), 1.0, 0.5);
    let p = predict(x, w, b);
    let (loss, (dx1, dx2, dw1, dw2, db)) = attack_loss_grad(x.0, x.1, w.0, w.1, b, y);
    println!("  input {x:?}, label {y}: p(class 1) = {p:.4}, loss = {loss:.4}");
    println!("  loss gradient w.r.t. the input: ({dx1:.4}, {dx2:.4}); w.r.t. the stopped weights: ({dw1}, {dw2}, {db})");
    assert_eq!((dw1, dw2, db), (0.0, 0.0, 0.0));
    assert!(close(dx1, (p - y) * w.0) && close(dx2, (p - y) * w.1));

    let adversarial = (x.0 + eps * dx1.signum(), x.1 + eps * dx2.signum());
    let p_adv = predict(adversarial, w, b);
    println!(
        "  original prediction:    p(class 1) = {p:.4} -> class {}",
        u8::from(p > 0.5)
    );
    println!(
        "  adversarial input {adversarial:?} (eps = {eps}): p(class 1) = {p_adv:.4} -> class {}",
        u8::from(p_adv > 0.5)
    );
    assert!(
        p > 0.5 && p_adv < 0.5,
        "the attack flips the predicted class"
    );
}

pub(crate) fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * (1.0 + a.abs().max(b.abs()))
}

fn main() {
    em_demo();
    println!();
    fgsm_demo();
}
