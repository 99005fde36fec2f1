//! The two uses of `stop_gradient` shown in `examples/stop_gradient.rs`, checked in CI
//! (examples are built but not run there): EM's gradient for a Gaussian mixture, and FGSM on
//! a logistic regression.
// The example's own functions, so the test checks exactly what the example shows.
#[allow(dead_code)]
#[path = "../examples/stop_gradient.rs"]
mod example;

use example::*;

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
