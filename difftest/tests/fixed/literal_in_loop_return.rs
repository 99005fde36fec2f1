// Wrong gradient (f_grad and f_vjp; f_jvp is right): an immutable array literal created in a loop and read there, with an early `return` in the loop, loses the gradient through the literal (difftest --seed 1, program 6, shrunk). Likely issue 13 (8)'s class (immutable array created in a loop). Switch: `array_literal_in_loop`.
pub mod repro {
#![allow(warnings, clippy::all)]
use autodiff::prelude::*;
use std::iter::{Sum, Product};
use std::ops::{AddAssign, SubAssign, MulAssign};
#[differentiate]
pub fn f0(x0: f64, xs: &[f64]) -> (f64, f64) {
    let a14 = x0;
    let a20 = a14;
    for (i24, v25) in xs.iter().copied().enumerate() {
        let z26 = [a20, 0.5, 0.5];
        let a32 = z26[i24];
        return (0.5, a32);
    }
    (0.5, 0.5)
}
pub mod oracle {
use difftest::Stop;
use num_traits::Float;
use std::iter::{Sum, Product};
use std::ops::{AddAssign, SubAssign, MulAssign};
pub fn f0<T: Float + Sum + Product + AddAssign + SubAssign + MulAssign + Stop>(x0: T, xs: &[T]) -> (T, T) {
    let a14 = x0;
    let a20 = a14;
    for (i24, v25) in xs.iter().copied().enumerate() {
        let z26 = [a20, T::from(0.5).unwrap(), T::from(0.5).unwrap()];
        let a32 = z26[i24];
        return (T::from(0.5).unwrap(), a32);
    }
    (T::from(0.5).unwrap(), T::from(0.5).unwrap())
}
}
pub fn check_f0() -> difftest::Outcome {
    let k: i32 = 2;
    let input: Vec<f64> = vec![-1.17, 1.23, 0.92, -0.29];
    difftest::check(&difftest::Subject {
        name: "f0",
        input: &input,
        wrt: &[0, 1, 2, 3],
        n_out: 2,
        smooth: true,
        value: &|p: &[f64]| { let o = f0(p[0], &p[1..4]); vec![o.0, o.1] },
        grad: &|p: &[f64]| { let (o, (g0, g1,)) = f0_grad(p[0], &p[1..4]); (vec![o.0, o.1], [&[g0][..], &g1[..]].concat()) },
        vjp: &|p: &[f64], s: &[f64]| { let (o, (g0, g1,)) = f0_vjp(p[0], &p[1..4], (s[0], s[1])); (vec![o.0, o.1], [&[g0][..], &g1[..]].concat()) },
        jvp: &|p: &[f64], t: &[f64]| { let (o, dt) = f0_jvp(p[0], &p[1..4], t[0], &t[1..4]); (vec![o.0, o.1], vec![dt.0, dt.1]) },
        dual: &|p: &[f64], t: &[f64]| {
            let d: Vec<difftest::Dual> = p.iter().zip(t).map(|(&a, &b)| difftest::Dual::new(a, b)).collect();
            let o = oracle::f0::<difftest::Dual>(d[0], &d[1..4]);
            let o = vec![o.0, o.1];
            (o.iter().map(|x| x.re()).collect(), o.iter().map(|x| x.eps()).collect())
        },
    })
}
/// Every function's check, in order.
pub fn checks() -> Vec<(&'static str, fn() -> difftest::Outcome)> {
    vec![("f0", check_f0 as fn() -> difftest::Outcome), ]
}
}

#[test]
fn reproducer() {
    for (name, check) in repro::checks() {
        assert_eq!(difftest::run_check(check), difftest::Outcome::Passed, "{name}");
    }
}
