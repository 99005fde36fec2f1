//! The two uses of `stop_gradient` shown in `examples/stop_gradient.rs`, checked in CI
//! (examples are built but not run there): EM's gradient for a Gaussian mixture, and FGSM on
//! a logistic regression. The differentiated functions are copies of the example's.
use autodiff::prelude::*;

const DATA: [f64; 4] = [-2.0, -1.0, 1.0, 2.5];

/// The E-step: the posterior probability that `x` came from component 1 (mean `mu1`) rather
/// than component 2: `N(x; mu1) / (N(x; mu1) + N(x; mu2))`, simplified to a logistic.
fn responsibility(x: f64, mu1: f64, mu2: f64) -> f64 {
    1.0 / (1.0 + (-0.5 * (mu1 - mu2) * (2.0 * x - mu1 - mu2)).exp())
}

/// The expected complete-data log-likelihood `Q(mu | mu_old)` at `mu_old = mu`, with the
/// responsibilities held constant: its gradient is EM's.
#[differentiate(wrt = [mu1, mu2])]
fn em_objective(mu1: f64, mu2: f64) -> f64 {
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
fn em_objective_unstopped(mu1: f64, mu2: f64) -> f64 {
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
fn log_likelihood(mu1: f64, mu2: f64) -> f64 {
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

/// Cross-entropy loss of `p(class 1 | x) = σ(w·x + b)` for label `y`. The weights are held
/// constant, so `_grad` differentiates the input only (the weights' gradients are zero).
#[differentiate(wrt = [x1, x2, w1, w2, b], unconnected = zero)]
fn attack_loss(x1: f64, x2: f64, w1: f64, w2: f64, b: f64, y: f64) -> f64 {
    let z = stop_gradient(w1) * x1 + stop_gradient(w2) * x2 + stop_gradient(b);
    let p = 1.0 / (1.0 + (-z).exp());
    -(y * p.ln() + (1.0 - y) * (1.0 - p).ln())
}

fn predict(x: (f64, f64), w: (f64, f64), b: f64) -> f64 {
    1.0 / (1.0 + (-(w.0 * x.0 + w.1 * x.1 + b)).exp())
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * (1.0 + a.abs().max(b.abs()))
}

#[test]
fn stopped_responsibilities_give_the_log_likelihood_gradient_and_unstopped_do_not() {
    for (mu1, mu2) in [(-0.5, 0.5), (-2.0, 0.0), (0.3, 2.0)] {
        let (_, stopped) = em_objective_grad(mu1, mu2);
        let (_, unstopped) = em_objective_unstopped_grad(mu1, mu2);
        let (_, exact) = log_likelihood_grad(mu1, mu2);
        // Fisher's identity: the gradient of Q with the posterior held fixed is the gradient
        // of the log-likelihood.
        assert!(
            close(stopped.0, exact.0) && close(stopped.1, exact.1),
            "{stopped:?} vs {exact:?}"
        );
        // By hand: dQ/dmu1 = Σ rᵢ (xᵢ - mu1).
        let by_hand: f64 = DATA
            .iter()
            .map(|&x| responsibility(x, mu1, mu2) * (x - mu1))
            .sum();
        assert!(close(stopped.0, by_hand), "{} vs {by_hand}", stopped.0);
        assert!(
            (unstopped.0 - stopped.0).abs() > 1e-3,
            "{unstopped:?} vs {stopped:?}"
        );
        assert!(
            (unstopped.1 - stopped.1).abs() > 1e-3,
            "{unstopped:?} vs {stopped:?}"
        );
    }
    let (_, stopped) = em_objective_grad(-0.5, 0.5);
    let (_, unstopped) = em_objective_unstopped_grad(-0.5, 0.5);
    assert!((stopped.0 + 1.0557382341631).abs() < 1e-12, "{stopped:?}");
    assert!(
        (unstopped.0 + 2.2897207309449).abs() < 1e-12,
        "{unstopped:?}"
    );
}

#[test]
fn a_gradient_step_of_size_one_over_total_responsibility_is_the_m_step() {
    let (mu1, mu2) = (-0.5, 0.5);
    let r: Vec<f64> = DATA.iter().map(|&x| responsibility(x, mu1, mu2)).collect();
    let total: f64 = r.iter().sum();
    let weighted_mean = DATA.iter().zip(&r).map(|(x, r)| r * x).sum::<f64>() / total;
    let (_, (d1, _)) = em_objective_grad(mu1, mu2);
    assert!(
        close(mu1 + d1 / total, weighted_mean),
        "{} vs {weighted_mean}",
        mu1 + d1 / total
    );
}

#[test]
fn fgsm_differentiates_the_input_only_and_flips_the_prediction() {
    let (w, b) = ((2.0, -1.0), 0.5);
    let (x, y, eps) = ((0.5, 0.25), 1.0, 0.5);
    let p = predict(x, w, b);
    let (loss, (dx1, dx2, dw1, dw2, db)) = attack_loss_grad(x.0, x.1, w.0, w.1, b, y);
    assert!(close(loss, -p.ln()));
    assert_eq!(
        (dw1, dw2, db),
        (0.0, 0.0, 0.0),
        "the weights are held constant"
    );
    assert!(close(dx1, (p - y) * w.0) && close(dx2, (p - y) * w.1));

    let adversarial = (x.0 + eps * dx1.signum(), x.1 + eps * dx2.signum());
    assert_eq!(adversarial, (0.0, 0.75));
    let p_adv = predict(adversarial, w, b);
    // The logit drops by eps (|w1| + |w2|) = 1.5: from 1.25 to -0.25.
    assert!(close(p_adv, predict((0.0, 0.0), (0.0, 0.0), -0.25)));
    assert!(
        p > 0.5 && p_adv < 0.5,
        "class 1 ({p}) becomes class 0 ({p_adv})"
    );
}
