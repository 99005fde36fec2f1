//! Run `#[differentiate]`'s `_grad` functions under [argmin](https://argmin-rs.org)'s
//! solvers (feature `argmin`).
//!
//! argmin asks a problem for its cost ([`CostFunction`]) and its gradient ([`Gradient`])
//! separately; a `_grad` function computes both at once. [`GradientProblem`] wraps such a
//! function, with parameters as a `Vec<f64>`, and implements both traits, so that L-BFGS,
//! BFGS, nonlinear conjugate gradient, steepest descent and argmin's line searches can use
//! it.
//!
//! Two ways to build one:
//! - [`GradientProblem::new`] takes a function over a slice, `Fn(&[f64]) -> (f64, Vec<f64>)`,
//!   for any number of parameters.
//! - [`GradientProblem::from_grad`] takes a `_grad` function of fixed arity as generated,
//!   such as `rosenbrock_grad: fn(f64, f64) -> (f64, (f64, f64))` (see [`FixedArityGrad`]).
//!
//! ```
//! use argmin::core::Executor;
//! use argmin::solver::linesearch::MoreThuenteLineSearch;
//! use argmin::solver::quasinewton::LBFGS;
//! use autodiff::argmin_interop::GradientProblem;
//! use autodiff::prelude::*;
//!
//! #[differentiate]
//! fn bowl(x: f64, y: f64) -> f64 {
//!     (x - 1.0).powi(2) + 10.0 * (y + 2.0).powi(2)
//! }
//!
//! let problem = GradientProblem::from_grad(bowl_grad);
//! let solver = LBFGS::new(MoreThuenteLineSearch::new(), 5);
//! let result = Executor::new(problem, solver)
//!     .configure(|state| state.param(vec![0.0, 0.0]).max_iters(50))
//!     .run()?;
//! let best = result.state().best_param.as_ref().expect("L-BFGS ran at least one step");
//! assert!((best[0] - 1.0).abs() < 1e-6 && (best[1] + 2.0).abs() < 1e-6);
//! # Ok::<(), argmin::core::Error>(())
//! ```
//!
//! Argmin calls the cost and then the gradient at the same point (its line searches do so on
//! every trial step). [`GradientProblem`] keeps the last point's value and gradient, so each
//! point costs one call of the wrapped function, not two. The wrapped function must
//! therefore be pure: the same point must give the same value and gradient.
use std::fmt;
use std::sync::Mutex;

use argmin::core::{CostFunction, Error, Gradient};

/// A function returning a value and its gradient, as an argmin problem over `Vec<f64>`.
///
/// It implements argmin's [`CostFunction`] (`Param = Vec<f64>`, `Output = f64`) and
/// [`Gradient`] (`Gradient = Vec<f64>`); see the [module documentation](self) for an
/// example with L-BFGS.
///
/// # Errors
/// [`CostFunction::cost`] and [`Gradient::gradient`] return an error, rather than call the
/// function, if the parameter vector has the wrong length for a problem built by
/// [`from_grad`](GradientProblem::from_grad); and [`Gradient::gradient`] returns an error if
/// the function returns a gradient of another length than the parameters.
///
/// ```
/// use argmin::core::{CostFunction, Gradient};
/// use autodiff::argmin_interop::GradientProblem;
///
/// // f(x) = Σ xᵢ², ∇f = 2x.
/// let problem = GradientProblem::new(|x: &[f64]| {
///     (x.iter().map(|v| v * v).sum(), x.iter().map(|v| 2.0 * v).collect())
/// });
/// assert_eq!(problem.cost(&vec![1.0, 2.0])?, 5.0);
/// assert_eq!(problem.gradient(&vec![1.0, 2.0])?, vec![2.0, 4.0]);
/// # Ok::<(), argmin::core::Error>(())
/// ```
pub struct GradientProblem<F> {
    value_and_gradient: F,
    /// The number of parameters the function takes, if fixed (problems from `from_grad`).
    arity: Option<usize>,
    /// The last point evaluated, with its value and gradient.
    last: Mutex<Option<Evaluation>>,
}

/// One call of the wrapped function: the point, the value, the gradient.
struct Evaluation {
    point: Vec<f64>,
    value: f64,
    gradient: Vec<f64>,
}

impl<F> GradientProblem<F>
where
    F: Fn(&[f64]) -> (f64, Vec<f64>),
{
    /// Wraps a function that returns the value and the gradient at a point, such as a
    /// closure that calls a `_grad` function on the slice's entries.
    ///
    /// The function is called with slices of whatever length the solver's parameter vector
    /// has (the length of the initial parameters); it must return a gradient of that length.
    ///
    /// # Panics
    /// Never; the wrapped function may panic.
    ///
    /// ```
    /// use argmin::core::Gradient;
    /// use autodiff::argmin_interop::GradientProblem;
    /// use autodiff::prelude::*;
    ///
    /// #[differentiate]
    /// fn f(a: f64, b: f64, c: f64) -> f64 {
    ///     a * b * c
    /// }
    ///
    /// let problem = GradientProblem::new(|x: &[f64]| {
    ///     let (value, (da, db, dc)) = f_grad(x[0], x[1], x[2]);
    ///     (value, vec![da, db, dc])
    /// });
    /// assert_eq!(problem.gradient(&vec![1.0, 2.0, 3.0])?, vec![6.0, 3.0, 2.0]);
    /// # Ok::<(), argmin::core::Error>(())
    /// ```
    pub fn new(value_and_gradient: F) -> Self {
        GradientProblem {
            value_and_gradient,
            arity: None,
            last: Mutex::new(None),
        }
    }

    /// The number of parameters the problem takes, if fixed: `Some(n)` for a problem built by
    /// [`from_grad`](GradientProblem::from_grad) from a function of `n` parameters, `None` for
    /// one built by [`new`](GradientProblem::new).
    ///
    /// # Panics
    /// Never.
    ///
    /// ```
    /// use autodiff::argmin_interop::GradientProblem;
    ///
    /// let problem = GradientProblem::from_grad(|x: f64, y: f64| (x * y, (y, x)));
    /// assert_eq!(problem.arity(), Some(2));
    /// ```
    pub fn arity(&self) -> Option<usize> {
        self.arity
    }

    /// The value and gradient at `point`, from the cache if `point` was the last point.
    fn evaluate<R>(&self, point: &[f64], read: impl FnOnce(&Evaluation) -> R) -> Result<R, Error> {
        if let Some(n) = self.arity {
            if point.len() != n {
                return Err(Error::msg(format!(
                    "GradientProblem: the function takes {n} parameters, but the parameter \
                     vector has {}; start the solver from a vector of length {n}",
                    point.len()
                )));
            }
        }
        // A panic in the wrapped function poisons the lock; the cache is still consistent
        // (it is replaced whole), so carry on with it.
        let mut last = self
            .last
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(hit) = last.as_ref().filter(|e| e.point == point) {
            return Ok(read(hit));
        }
        let (value, gradient) = (self.value_and_gradient)(point);
        let evaluation = last.insert(Evaluation {
            point: point.to_vec(),
            value,
            gradient,
        });
        Ok(read(evaluation))
    }
}

impl GradientProblem<fn(&[f64]) -> (f64, Vec<f64>)> {
    /// Wraps a `_grad` function of fixed arity, as `#[differentiate]` generates it: for
    /// `fn f(x: f64, y: f64) -> f64`, `f_grad: fn(f64, f64) -> (f64, (f64, f64))`.
    ///
    /// Functions of 1 to 8 `f64` parameters are accepted (see [`FixedArityGrad`]). The
    /// parameter vector's entries are the function's arguments, in order.
    ///
    /// # Panics
    /// Never; the wrapped function may panic. A parameter vector of the wrong length is an
    /// error of [`CostFunction::cost`] and [`Gradient::gradient`].
    ///
    /// ```
    /// use argmin::core::{CostFunction, Gradient};
    /// use autodiff::argmin_interop::GradientProblem;
    /// use autodiff::prelude::*;
    ///
    /// #[differentiate]
    /// fn f(x: f64, y: f64) -> f64 {
    ///     x * x * y
    /// }
    ///
    /// let problem = GradientProblem::from_grad(f_grad);
    /// assert_eq!(problem.cost(&vec![3.0, 2.0])?, 18.0);
    /// assert_eq!(problem.gradient(&vec![3.0, 2.0])?, vec![12.0, 9.0]);
    /// let err = problem.cost(&vec![1.0, 2.0, 3.0]).unwrap_err();
    /// assert!(err.to_string().contains("takes 2 parameters"), "{err}");
    /// # Ok::<(), argmin::core::Error>(())
    /// ```
    #[allow(clippy::new_ret_no_self)]
    pub fn from_grad<G, Args>(grad: G) -> GradientProblem<impl Fn(&[f64]) -> (f64, Vec<f64>)>
    where
        G: FixedArityGrad<Args>,
    {
        let arity = G::ARITY;
        let mut problem = GradientProblem::new(move |x: &[f64]| {
            grad.value_and_gradient(x)
                .expect("GradientProblem checks the length before calling the function")
        });
        problem.arity = Some(arity);
        problem
    }
}

impl<F> CostFunction for GradientProblem<F>
where
    F: Fn(&[f64]) -> (f64, Vec<f64>),
{
    type Param = Vec<f64>;
    type Output = f64;

    fn cost(&self, param: &Vec<f64>) -> Result<f64, Error> {
        self.evaluate(param, |e| e.value)
    }
}

impl<F> Gradient for GradientProblem<F>
where
    F: Fn(&[f64]) -> (f64, Vec<f64>),
{
    type Param = Vec<f64>;
    type Gradient = Vec<f64>;

    fn gradient(&self, param: &Vec<f64>) -> Result<Vec<f64>, Error> {
        let gradient = self.evaluate(param, |e| e.gradient.clone())?;
        if gradient.len() != param.len() {
            return Err(Error::msg(format!(
                "GradientProblem: the function returned a gradient of length {} for {} \
                 parameters; return one partial derivative per parameter",
                gradient.len(),
                param.len()
            )));
        }
        Ok(gradient)
    }
}

impl<F> fmt::Debug for GradientProblem<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GradientProblem")
            .field("arity", &self.arity)
            .finish_non_exhaustive()
    }
}

/// A `_grad` function of fixed arity over `f64`: `Fn(f64, .., f64) -> (f64, (f64, .., f64))`,
/// the shape `#[differentiate]` generates (with the default or a list `wrt`). For one
/// parameter both `Fn(f64) -> (f64, (f64,))` (default `wrt`) and `Fn(f64) -> (f64, f64)`
/// (`wrt = x`) are accepted.
///
/// `Args` only tells the implementations apart (it is the tuple of parameter types, or
/// `f64` for the bare one-parameter form); it is inferred.
///
/// ```
/// use autodiff::argmin_interop::FixedArityGrad;
///
/// fn arity<Args, G: FixedArityGrad<Args>>(_: &G) -> usize {
///     G::ARITY
/// }
///
/// let g = |x: f64, y: f64| (x * y, (y, x));
/// assert_eq!(arity(&g), 2);
/// assert_eq!(g.value_and_gradient(&[2.0, 5.0]), Some((10.0, vec![5.0, 2.0])));
/// assert_eq!(g.value_and_gradient(&[2.0]), None);
/// ```
pub trait FixedArityGrad<Args> {
    /// The number of parameters.
    const ARITY: usize;

    /// The value and gradient at `x`, or `None` if `x.len() != ARITY`.
    ///
    /// # Panics
    /// Never; the function itself may panic.
    fn value_and_gradient(&self, x: &[f64]) -> Option<(f64, Vec<f64>)>;
}

impl<G: Fn(f64) -> (f64, f64)> FixedArityGrad<f64> for G {
    const ARITY: usize = 1;

    fn value_and_gradient(&self, x: &[f64]) -> Option<(f64, Vec<f64>)> {
        let [a] = <[f64; 1]>::try_from(x).ok()?;
        let (value, da) = self(a);
        Some((value, vec![da]))
    }
}

/// `FixedArityGrad` for the `n`-parameter `_grad` functions.
macro_rules! impl_fixed_arity_grad {
    ($n:literal; $($arg:ident $d:ident),+) => {
        impl<G> FixedArityGrad<($(impl_fixed_arity_grad!(@f64 $arg),)+)> for G
        where
            G: Fn($(impl_fixed_arity_grad!(@f64 $arg)),+)
                -> (f64, ($(impl_fixed_arity_grad!(@f64 $d),)+)),
        {
            const ARITY: usize = $n;

            fn value_and_gradient(&self, x: &[f64]) -> Option<(f64, Vec<f64>)> {
                let [$($arg),+] = <[f64; $n]>::try_from(x).ok()?;
                let (value, ($($d,)+)) = self($($arg),+);
                Some((value, vec![$($d),+]))
            }
        }
    };
    (@f64 $ignored:ident) => { f64 };
}
impl_fixed_arity_grad!(1; a da);
impl_fixed_arity_grad!(2; a da, b db);
impl_fixed_arity_grad!(3; a da, b db, c dc);
impl_fixed_arity_grad!(4; a da, b db, c dc, d dd);
impl_fixed_arity_grad!(5; a da, b db, c dc, d dd, e de);
impl_fixed_arity_grad!(6; a da, b db, c dc, d dd, e de, f df);
impl_fixed_arity_grad!(7; a da, b db, c dc, d dd, e de, f df, g dg);
impl_fixed_arity_grad!(8; a da, b db, c dc, d dd, e de, f df, g dg, h dh);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_point_calls_the_function_once() {
        use std::cell::Cell;
        let calls = Cell::new(0);
        let problem = GradientProblem::new(|x: &[f64]| {
            calls.set(calls.get() + 1);
            (x[0] * x[0], vec![2.0 * x[0]])
        });
        assert_eq!(problem.cost(&vec![3.0]).ok(), Some(9.0));
        assert_eq!(problem.gradient(&vec![3.0]).ok(), Some(vec![6.0]));
        assert_eq!(calls.get(), 1);
        assert_eq!(problem.gradient(&vec![1.0]).ok(), Some(vec![2.0]));
        assert_eq!(calls.get(), 2);
    }

    #[test]
    fn a_gradient_of_the_wrong_length_is_an_error() {
        let problem = GradientProblem::new(|_: &[f64]| (0.0, vec![1.0]));
        let err = problem.gradient(&vec![1.0, 2.0]).unwrap_err();
        assert!(
            err.to_string().contains("gradient of length 1 for 2"),
            "{err}"
        );
    }

    #[test]
    fn fixed_arity_accepts_tuple_and_bare_one_parameter_gradients() {
        let tuple = GradientProblem::from_grad(|x: f64| (x * x, (2.0 * x,)));
        let bare = GradientProblem::from_grad(|x: f64| (x * x, 2.0 * x));
        assert_eq!(tuple.gradient(&vec![3.0]).ok(), Some(vec![6.0]));
        assert_eq!(bare.gradient(&vec![3.0]).ok(), Some(vec![6.0]));
        assert!(bare.cost(&vec![]).is_err());
    }
}
