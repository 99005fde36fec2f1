//! argmin interop (feature `argmin`): `_grad` functions as argmin problems, solved by L-BFGS.
#![cfg(feature = "argmin")]

use argmin::core::{CostFunction, Executor, Gradient, State, TerminationReason, TerminationStatus};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::quasinewton::LBFGS;
use autodiff::argmin_interop::GradientProblem;
use autodiff::prelude::*;

#[differentiate]
fn rosenbrock(x: f64, y: f64) -> f64 {
    (1.0 - x).powi(2) + 100.0 * (y - x * x).powi(2)
}

/// Runs L-BFGS with a More-Thuente line search from `start`; returns the best point and the
/// number of iterations.
fn lbfgs<P>(problem: P, start: Vec<f64>) -> (Vec<f64>, u64)
where
    P: CostFunction<Param = Vec<f64>, Output = f64>
        + Gradient<Param = Vec<f64>, Gradient = Vec<f64>>,
{
    let solver = LBFGS::new(MoreThuenteLineSearch::new(), 7);
    let result = Executor::new(problem, solver)
        .configure(|state| state.param(start).max_iters(200))
        .run()
        .expect("L-BFGS runs on a smooth function");
    let state = result.state();
    assert_eq!(
        state.get_termination_status(),
        &TerminationStatus::Terminated(TerminationReason::SolverConverged)
    );
    let best = state.get_best_param().expect("a best point").clone();
    (best, state.get_iter())
}

#[test]
fn lbfgs_reaches_the_rosenbrock_minimum_from_fixed_arity_grad() {
    let (best, iters) = lbfgs(GradientProblem::from_grad(rosenbrock_grad), vec![-1.2, 1.0]);
    assert!(
        (best[0] - 1.0).abs() < 1e-6 && (best[1] - 1.0).abs() < 1e-6,
        "{best:?} after {iters} iterations"
    );
    assert!(iters < 100, "{iters}");
}

#[test]
fn lbfgs_reaches_the_rosenbrock_minimum_from_a_slice_function() {
    let problem = GradientProblem::new(|p: &[f64]| {
        let (value, (dx, dy)) = rosenbrock_grad(p[0], p[1]);
        (value, vec![dx, dy])
    });
    let (best, iters) = lbfgs(problem, vec![-1.2, 1.0]);
    assert!(
        (best[0] - 1.0).abs() < 1e-6 && (best[1] - 1.0).abs() < 1e-6,
        "{best:?} after {iters} iterations"
    );
}

#[test]
fn cost_and_gradient_are_the_grad_functions() {
    let problem = GradientProblem::from_grad(rosenbrock_grad);
    let p = vec![0.5, -0.25];
    let (value, (dx, dy)) = rosenbrock_grad(0.5, -0.25);
    assert_eq!(problem.cost(&p).ok(), Some(value));
    assert_eq!(problem.gradient(&p).ok(), Some(vec![dx, dy]));
    // d/dx = -2(1 - x) - 400x(y - x²), d/dy = 200(y - x²).
    assert_eq!(dx, -2.0 * 0.5 - 400.0 * 0.5 * (-0.25 - 0.25));
    assert_eq!(dy, 200.0 * (-0.25 - 0.25));
}

#[test]
fn a_start_of_the_wrong_length_is_an_error_not_a_panic() {
    let solver = LBFGS::new(MoreThuenteLineSearch::new(), 7);
    let err = Executor::new(GradientProblem::from_grad(rosenbrock_grad), solver)
        .configure(|state| state.param(vec![0.0, 0.0, 0.0]).max_iters(10))
        .run()
        .err()
        .expect("a 3-vector for a 2-parameter function is an error");
    assert!(
        err.to_string()
            .contains("takes 2 parameters, but the parameter vector has 3"),
        "{err}"
    );
}
