//! Minimises the 2-d Rosenbrock function with argmin's L-BFGS and a More-Thuente line
//! search, using the gradient that `#[differentiate]` writes.
//!
//! ```text
//! cargo run --example argmin_rosenbrock --features argmin
//! ```
use std::cell::Cell;

use argmin::core::{Error, Executor, State};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::quasinewton::LBFGS;
use autodiff::argmin_interop::GradientProblem;
use autodiff::prelude::*;

/// The Rosenbrock function: a curved valley with its minimum 0 at (1, 1).
#[differentiate]
fn rosenbrock(x: f64, y: f64) -> f64 {
    (1.0 - x).powi(2) + 100.0 * (y - x * x).powi(2)
}

fn main() -> Result<(), Error> {
    // `rosenbrock_grad(x, y) -> (value, (dx, dy))`, as an argmin problem over `Vec<f64>`;
    // `GradientProblem::from_grad(rosenbrock_grad)` would do, the closure counts the calls.
    let calls = Cell::new(0_u32);
    let problem = GradientProblem::from_grad(|x: f64, y: f64| {
        calls.set(calls.get() + 1);
        rosenbrock_grad(x, y)
    });
    // L-BFGS keeping the last 7 steps; the line search satisfies the strong Wolfe conditions.
    let solver = LBFGS::new(MoreThuenteLineSearch::new(), 7);
    let start = vec![-1.2, 1.0];
    println!("start: (x, y) = ({}, {})", start[0], start[1]);

    let result = Executor::new(problem, solver)
        .configure(|state| state.param(start).max_iters(100).counting(true))
        .run()?;
    let state = result.state();
    let best = state
        .get_best_param()
        .ok_or_else(|| Error::msg("L-BFGS returned no parameters"))?;

    println!("solution: (x, y) = ({:.9}, {:.9})", best[0], best[1]);
    println!("value at the solution: {:e}", state.get_best_cost());
    println!("iterations: {}", state.get_iter());
    println!("why it stopped: {}", state.get_termination_status());
    let counts = state.get_func_counts();
    let count = |key: &str| counts.get(key).copied().unwrap_or(0);
    println!(
        "argmin asked for {} values and {} gradients; rosenbrock_grad ran {} times \
         (one call gives both at a point)",
        count("cost_count"),
        count("gradient_count"),
        calls.get()
    );
    Ok(())
}
