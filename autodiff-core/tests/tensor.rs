//! Integration tests of `Tensor<T>` through the public API only: broadcasting against NumPy
//! outputs, panic messages, every `try_` error, matmul against a naive loop, numerical
//! stability, every derivative helper against central finite differences, and printing.

use autodiff_core::__private::{OneLike, ZeroLike};
use autodiff_core::tensor::{
    log_softmax_vjp, logsumexp_axis_vjp, matmul_vjp, max_axis_vjp, max_vjp, mean_axis_vjp,
    min_axis_vjp, min_vjp, softmax_vjp, sum_axis_vjp, unbroadcast, ErrorKind,
};
use autodiff_core::{ShapeError, Tensor};

/// Deterministic, irregular values (no ties, mixed signs) for a shape.
fn sample(shape: &[usize], seed: u64) -> Tensor<f64> {
    let n: usize = shape.iter().product();
    let data = (0..n as u64)
        .map(|i| {
            let h = (i + 1).wrapping_mul(2654435761).wrapping_add(seed * 97) % 1000;
            h as f64 / 250.0 - 2.0 + i as f64 * 1e-3
        })
        .collect();
    Tensor::from_vec(data, shape)
}

/// Asserts `grad` is the gradient of `f` at `x`, element by element, by central differences.
fn assert_gradient(
    what: &str,
    x: &Tensor<f64>,
    grad: &Tensor<f64>,
    f: impl Fn(&Tensor<f64>) -> f64,
) {
    assert_eq!(x.shape(), grad.shape(), "{what}: gradient shape");
    let h = 1e-6;
    for i in 0..x.len() {
        let mut plus = x.clone();
        plus.as_mut_slice()[i] += h;
        let mut minus = x.clone();
        minus.as_mut_slice()[i] -= h;
        let numeric = (f(&plus) - f(&minus)) / (2.0 * h);
        let analytic = grad.as_slice()[i];
        assert!(
            (numeric - analytic).abs() <= 1e-6 * (1.0 + numeric.abs()),
            "{what}: element {i}: finite difference {numeric}, helper {analytic}"
        );
    }
}

fn assert_close(x: &Tensor<f64>, y: &Tensor<f64>, tol: f64) {
    assert_eq!(x.shape(), y.shape());
    for (i, (p, q)) in x.as_slice().iter().zip(y.as_slice()).enumerate() {
        assert!((p - q).abs() <= tol, "element {i}: {p} != {q}\n{x}\n{y}");
    }
}

// ---------------------------------------------------------------- broadcasting (NumPy outputs)

#[test]
fn column_plus_row_broadcasts_to_a_matrix() {
    // np.array([[1], [2], [3]]) + np.array([10, 20, 30, 40])
    let a = Tensor::from([[1.0], [2.0], [3.0]]);
    let b = Tensor::from([10.0, 20.0, 30.0, 40.0]);
    let expected = Tensor::from([
        [11.0, 21.0, 31.0, 41.0],
        [12.0, 22.0, 32.0, 42.0],
        [13.0, 23.0, 33.0, 43.0],
    ]);
    assert_eq!(&a + &b, expected);
    assert_eq!(&b + &a, expected);
    assert_eq!(a.try_add(&b).unwrap(), expected);
}

#[test]
fn matrix_times_row_scales_columns() {
    // np.array([[1, 2, 3], [4, 5, 6]]) * np.array([1, 10, 100])
    let a = Tensor::from([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]);
    let b = Tensor::from([1.0, 10.0, 100.0]);
    assert_eq!(
        a * b,
        Tensor::from([[1.0, 20.0, 300.0], [4.0, 50.0, 600.0]])
    );
}

#[test]
fn subtraction_and_division_broadcast_both_ways() {
    // np.array([[10.], [20.]]) - np.array([1., 2., 4.]) ; np.array([1., 2., 4.]) / np.array([[1.], [2.]])
    let col = Tensor::from([[10.0], [20.0]]);
    let row = Tensor::from([1.0, 2.0, 4.0]);
    assert_eq!(
        &col - &row,
        Tensor::from([[9.0, 8.0, 6.0], [19.0, 18.0, 16.0]])
    );
    assert_eq!(
        &row / &Tensor::from([[1.0], [2.0]]),
        Tensor::from([[1.0, 2.0, 4.0], [0.5, 1.0, 2.0]])
    );
}

#[test]
fn three_d_broadcast_follows_numpy() {
    // a = np.arange(6.).reshape(2, 1, 3); b = 10 * np.arange(4.).reshape(4, 1); (a + b).shape == (2, 4, 3)
    let a = Tensor::from_vec((0..6).map(f64::from).collect(), &[2, 1, 3]);
    let b = Tensor::from_vec((0..4).map(|j| 10.0 * f64::from(j)).collect(), &[4, 1]);
    let c = &a + &b;
    assert_eq!(c.shape(), &[2, 4, 3]);
    for i in 0..2 {
        for j in 0..4 {
            for k in 0..3 {
                let expected = (i * 3 + k) as f64 + 10.0 * j as f64;
                assert_eq!(c.get(&[i, j, k]), Some(expected));
            }
        }
    }
}

#[test]
fn scalars_and_zero_dimensional_tensors() {
    let t = Tensor::from([[1.0, 2.0], [3.0, 4.0]]);
    assert_eq!(&t * 2.0, Tensor::from([[2.0, 4.0], [6.0, 8.0]]));
    assert_eq!(2.0 - &t, Tensor::from([[1.0, 0.0], [-1.0, -2.0]]));
    assert_eq!(
        1.0 / t.clone(),
        Tensor::from([[1.0, 0.5], [1.0 / 3.0, 0.25]])
    );
    assert_eq!(t.clone() + 0.5, Tensor::from([[1.5, 2.5], [3.5, 4.5]]));
    // A 0-d tensor broadcasts against anything; 0-d with 0-d stays 0-d.
    let s = Tensor::scalar(10.0);
    assert_eq!(&s + &t, Tensor::from([[11.0, 12.0], [13.0, 14.0]]));
    assert_eq!(&t - &s, Tensor::from([[-9.0, -8.0], [-7.0, -6.0]]));
    let ss = &s * &Tensor::scalar(3.0);
    assert_eq!(ss.shape(), &[] as &[usize]);
    assert_eq!(ss.as_slice(), &[30.0]);
    // f32 scalars on the left.
    let f = Tensor::from([1.0_f32, 2.0]);
    assert_eq!(10.0_f32 - &f, Tensor::from([9.0_f32, 8.0]));
    assert_eq!(2.0_f32 * f, Tensor::from([2.0_f32, 4.0]));
}

#[test]
fn negation_and_in_place_gradient_accumulation() {
    let g = Tensor::from([[1.0, 2.0], [3.0, 4.0]]);
    let mut acc = Tensor::zeros(&[2, 2]);
    acc += &g;
    acc += &g;
    acc -= &Tensor::from([1.0, 1.0]);
    acc *= &Tensor::scalar(0.5);
    assert_eq!(acc, Tensor::from([[0.5, 1.5], [2.5, 3.5]]));
    assert_eq!(-&acc, Tensor::from([[-0.5, -1.5], [-2.5, -3.5]]));
    assert_eq!(-acc, Tensor::from([[-0.5, -1.5], [-2.5, -3.5]]));
}

#[test]
fn methods_chain_on_borrowed_parameters() {
    let x = Tensor::from([[0.5, -1.0]]);
    let w = Tensor::from([[1.0, 2.0], [3.0, 4.0]]);
    let b = Tensor::from([0.1, 0.2]);
    // No clones: every method takes &self and binary ones take &Tensor.
    let y = (x.matmul(&w) + &b).tanh();
    let expected = [(0.5_f64 - 3.0 + 0.1).tanh(), (1.0_f64 - 4.0 + 0.2).tanh()];
    // The vectorised tanh is within 3 ulp of f64::tanh.
    for (got, want) in y.as_slice().iter().zip(expected) {
        assert!(
            (got - want).abs() <= 3.0 * f64::EPSILON * want.abs(),
            "{got} {want}"
        );
    }
    assert_eq!(w.shape(), &[2, 2]);
}

// ---------------------------------------------------------------- panics and errors

#[test]
#[should_panic(expected = "Tensor add: shapes [2, 3] and [4] cannot be broadcast together")]
fn add_panics_naming_both_shapes() {
    let _ = Tensor::<f64>::zeros(&[2, 3]) + Tensor::zeros(&[4]);
}

#[test]
#[should_panic(expected = "Tensor sub: shapes [3] and [2, 2] cannot be broadcast together")]
fn sub_panics_naming_both_shapes() {
    let _ = &Tensor::<f64>::zeros(&[3]) - &Tensor::zeros(&[2, 2]);
}

#[test]
#[should_panic(expected = "Tensor mul: shapes [2, 1, 3] and [5, 2] cannot be broadcast together")]
fn mul_panics_naming_both_shapes() {
    let _ = Tensor::<f32>::zeros(&[2, 1, 3]) * &Tensor::zeros(&[5, 2]);
}

#[test]
#[should_panic(expected = "Tensor div: shapes [2] and [3] cannot be broadcast together")]
fn div_panics_naming_both_shapes() {
    let _ = &Tensor::<f64>::zeros(&[2]) / Tensor::zeros(&[3]);
}

#[test]
#[should_panic(expected = "Tensor matmul: shapes [2, 3] and [2, 3] are not aligned")]
fn matmul_panics_naming_both_shapes() {
    let a = Tensor::<f64>::zeros(&[2, 3]);
    let _ = a.matmul(&a);
}

#[test]
#[should_panic(
    expected = "Tensor from_vec: data of length 5 does not match shape [2, 3] (6 elements)"
)]
fn from_vec_panics_naming_length_and_shape() {
    let _ = Tensor::from_vec(vec![0.0_f64; 5], &[2, 3]);
}

#[test]
#[should_panic(
    expected = "Tensor mean_axis: axis 3 is out of range for a tensor of shape [2, 2] (rank 2)"
)]
fn out_of_range_axis_panics_naming_axis_and_shape() {
    let _ = Tensor::<f64>::zeros(&[2, 2]).mean_axis(3);
}

fn assert_error(
    result: Result<impl std::fmt::Debug, ShapeError>,
    kind: ErrorKind,
    op: &str,
    message: &str,
) {
    let err = result.unwrap_err();
    assert_eq!(err.kind(), kind);
    assert_eq!(err.operation(), op);
    assert_eq!(err.to_string(), message);
    // It is a std error, usable with `?` in functions returning Box<dyn Error>.
    let boxed: Box<dyn std::error::Error> = Box::new(err);
    assert_eq!(boxed.to_string(), message);
}

#[test]
fn every_try_variant_reports_its_error() {
    let a = Tensor::<f64>::zeros(&[2, 3]);
    let b = Tensor::<f64>::zeros(&[4]);
    for (result, op) in [
        (a.try_add(&b), "add"),
        (a.try_sub(&b), "sub"),
        (a.try_mul(&b), "mul"),
        (a.try_div(&b), "div"),
    ] {
        let message = format!("Tensor {op}: shapes [2, 3] and [4] cannot be broadcast together");
        assert_error(result, ErrorKind::IncompatibleShapes, op, &message);
    }
    assert_error(
        a.try_matmul(&Tensor::zeros(&[4, 2])),
        ErrorKind::InnerDimensionMismatch,
        "matmul",
        "Tensor matmul: shapes [2, 3] and [4, 2] are not aligned: 3 (last axis of the first) != 4 (first axis of the second)",
    );
    assert_error(
        a.try_matmul(&Tensor::zeros(&[3, 2, 2])),
        ErrorKind::UnsupportedRank,
        "matmul",
        "Tensor matmul: shapes [2, 3] and [3, 2, 2] are not supported: both operands must be 1-d or 2-d",
    );
    assert_error(
        b.try_dot(&Tensor::zeros(&[3])),
        ErrorKind::InnerDimensionMismatch,
        "dot",
        "Tensor dot: shapes [4] and [3] are not aligned: 4 (last axis of the first) != 3 (first axis of the second)",
    );
    assert_error(
        a.try_dot(&b),
        ErrorKind::UnsupportedRank,
        "dot",
        "Tensor dot: shapes [2, 3] and [4] are not supported: both operands must be 1-d",
    );
    assert_error(
        Tensor::try_from_vec(vec![1.0_f64; 4], &[3]),
        ErrorKind::LengthMismatch,
        "from_vec",
        "Tensor from_vec: data of length 4 does not match shape [3] (3 elements)",
    );
    assert_error(
        a.try_reshape(&[5]),
        ErrorKind::LengthMismatch,
        "reshape",
        "Tensor reshape: cannot reshape shape [2, 3] (6 elements) into shape [5] (5 elements)",
    );
    assert_error(
        a.try_broadcast_to(&[3]),
        ErrorKind::IncompatibleShapes,
        "broadcast_to",
        "Tensor broadcast_to: shape [2, 3] cannot be broadcast to shape [3]",
    );
}

// ---------------------------------------------------------------- matmul

/// The textbook loop, written independently of the crate for any 1-d/2-d case.
fn naive_matmul(a: &Tensor<f64>, b: &Tensor<f64>) -> Tensor<f64> {
    let (m, k) = match *a.shape() {
        [k] => (1, k),
        [m, k] => (m, k),
        _ => unreachable!(),
    };
    let n = if b.ndim() == 2 { b.shape()[1] } else { 1 };
    let mut out = vec![0.0; m * n];
    for i in 0..m {
        for j in 0..n {
            for l in 0..k {
                out[i * n + j] += a.as_slice()[i * k + l] * b.as_slice()[l * n + j];
            }
        }
    }
    let mut shape = Vec::new();
    if a.ndim() == 2 {
        shape.push(m);
    }
    if b.ndim() == 2 {
        shape.push(n);
    }
    Tensor::from_vec(out, &shape)
}

#[test]
fn matmul_matches_a_naive_loop_for_many_shapes() {
    let cases: &[(&[usize], &[usize])] = &[
        (&[1, 1], &[1, 1]),
        (&[2, 3], &[3, 4]),
        (&[4, 1], &[1, 5]),
        (&[16, 16], &[16, 16]),
        (&[33, 65], &[65, 17]),
        (&[3], &[3, 2]),
        (&[2, 3], &[3]),
        (&[7], &[7]),
        (&[0, 3], &[3, 2]),
        (&[2, 0], &[0, 3]),
    ];
    for (i, &(sa, sb)) in cases.iter().enumerate() {
        let (a, b) = (sample(sa, i as u64), sample(sb, 100 + i as u64));
        let c = a.matmul(&b);
        assert_close(&c, &naive_matmul(&a, &b), 1e-9);
    }
    assert_eq!(
        Tensor::from([1.0, 2.0]).matmul(&Tensor::from([3.0, 4.0])),
        Tensor::scalar(11.0)
    );
}

#[test]
fn f32_matmul_goes_through_sgemm_and_agrees() {
    let a = sample(&[5, 7], 1);
    let b = sample(&[7, 3], 2);
    let a32 = Tensor::from_vec(a.as_slice().iter().map(|&x| x as f32).collect(), a.shape());
    let b32 = Tensor::from_vec(b.as_slice().iter().map(|&x| x as f32).collect(), b.shape());
    let c32 = a32.matmul(&b32);
    let c = naive_matmul(&a, &b);
    for (x, y) in c32.as_slice().iter().zip(c.as_slice()) {
        assert!((f64::from(*x) - y).abs() < 1e-4);
    }
}

#[test]
fn transpose_and_dot() {
    let a = sample(&[3, 4], 7);
    let at = a.transpose();
    assert_eq!(at.shape(), &[4, 3]);
    for i in 0..3 {
        for j in 0..4 {
            assert_eq!(at.get(&[j, i]), a.get(&[i, j]));
        }
    }
    // (A B)^T == B^T A^T
    let b = sample(&[4, 2], 8);
    assert_close(&a.matmul(&b).transpose(), &b.transpose().matmul(&at), 1e-12);
    assert_eq!(
        Tensor::from([1.0, 2.0, 3.0]).dot(&Tensor::from([4.0, -5.0, 6.0])),
        12.0
    );
}

// ---------------------------------------------------------------- reductions and stability

#[test]
fn reductions_match_numpy() {
    // x = np.array([[1., 5., 3.], [4., 2., 6.]])
    let x = Tensor::from([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]]);
    assert_eq!(x.sum(), 21.0);
    assert_eq!(x.mean(), 3.5);
    assert_eq!(x.sum_axis(0), Tensor::from([5.0, 7.0, 9.0]));
    assert_eq!(x.mean_axis(1), Tensor::from([3.0, 4.0]));
    assert_eq!(x.max_axis(1), Tensor::from([5.0, 6.0]));
    assert_eq!(x.max_axis(0), Tensor::from([4.0, 5.0, 6.0]));
}

#[test]
fn softmax_and_logsumexp_are_stable_with_large_inputs() {
    let x = Tensor::from([[1000.0, 1000.0, 1000.0], [1000.0, 0.0, -1000.0]]);
    let lse = x.logsumexp_axis(1);
    assert!((lse.as_slice()[0] - (1000.0 + 3.0_f64.ln())).abs() < 1e-12);
    assert!((lse.as_slice()[1] - 1000.0).abs() < 1e-12);
    let s = x.softmax(1);
    assert_eq!(s.shape(), &[2, 3]);
    for &v in &s.as_slice()[..3] {
        assert!((v - 1.0 / 3.0).abs() < 1e-15);
    }
    assert_eq!(s.as_slice()[3], 1.0);
    let ls = x.log_softmax(1);
    assert!(ls.as_slice().iter().all(|v| v.is_finite()));
    assert!((ls.as_slice()[5] + 2000.0).abs() < 1e-9);
    // f32 overflows exp(89); the shifted form does not.
    let x32 = Tensor::from([100.0_f32, 100.0]);
    assert_eq!(x32.softmax(0).as_slice(), &[0.5, 0.5]);
    assert!((x32.logsumexp_axis(0).as_slice()[0] - (100.0 + 2.0_f32.ln())).abs() < 1e-4);
}

#[test]
fn element_wise_maps() {
    let x = Tensor::from([-2.0, 0.0, 0.5]);
    assert_eq!(x.relu(), Tensor::from([0.0, 0.0, 0.5]));
    assert_eq!(x.abs(), Tensor::from([2.0, 0.0, 0.5]));
    assert_eq!(x.square(), Tensor::from([4.0, 0.0, 0.25]));
    assert_eq!(x.powi(3), Tensor::from([-8.0, 0.0, 0.125]));
    assert_eq!(x.exp().as_slice()[1], 1.0);
    assert_eq!(x.sigmoid().as_slice()[1], 0.5);
    // Vectorised kernels: tanh within 3 ulp of f64::tanh, ln within 2 ulp of f64::ln.
    let t = (-2.0_f64).tanh();
    assert!((x.tanh().as_slice()[0] - t).abs() <= 3.0 * f64::EPSILON * t.abs());
    assert_eq!(x.map(|v| v + 1.0), Tensor::from([-1.0, 1.0, 1.5]));
    let p = Tensor::from([4.0, 0.25]);
    assert_eq!(p.sqrt(), Tensor::from([2.0, 0.5]));
    assert_eq!(p.recip(), Tensor::from([0.25, 4.0]));
    assert_eq!(p.powf(1.5), Tensor::from([8.0, 0.125]));
    assert!((p.ln().as_slice()[0] - 4.0_f64.ln()).abs() <= 2.0 * f64::EPSILON * 4.0_f64.ln());
    assert_eq!(p.sin().as_slice()[1], 0.25_f64.sin());
    assert_eq!(p.cos().as_slice()[1], 0.25_f64.cos());
}

// ---------------------------------------------------------------- derivative helpers

#[test]
fn unbroadcast_is_the_gradient_of_broadcasting() {
    let cases: &[(&[usize], &[usize])] = &[
        (&[3], &[2, 3]),
        (&[2, 1], &[2, 3]),
        (&[], &[3, 2]),
        (&[1, 3, 1], &[2, 3, 4]),
    ];
    for (i, &(small, big)) in cases.iter().enumerate() {
        let a = sample(small, i as u64);
        let other = sample(big, 10 + i as u64);
        let g = sample(big, 20 + i as u64);
        // d/da sum((a * other) * g) = unbroadcast(other * g, a.shape)
        let grad = unbroadcast(&(&other * &g), small);
        assert_gradient("unbroadcast", &a, &grad, |a| ((a * &other) * &g).sum());
        // broadcast_to is in turn the gradient of unbroadcast.
        let w = sample(small, 30 + i as u64);
        assert_gradient("broadcast_to", &g, &w.broadcast_to(big), |g| {
            (unbroadcast(g, small) * &w).sum()
        });
    }
}

#[test]
fn matmul_vjp_matches_finite_differences() {
    let cases: &[(&[usize], &[usize])] = &[
        (&[2, 3], &[3, 4]),
        (&[3], &[3, 4]),
        (&[2, 3], &[3]),
        (&[3], &[3]),
        (&[1, 1], &[1, 5]),
    ];
    for (i, &(sa, sb)) in cases.iter().enumerate() {
        let a = sample(sa, i as u64);
        let b = sample(sb, 50 + i as u64);
        let g = sample(a.matmul(&b).shape(), 99 + i as u64);
        let (da, db) = matmul_vjp(&a, &b, &g);
        assert_gradient("matmul_vjp a", &a, &da, |a| (a.matmul(&b) * &g).sum());
        assert_gradient("matmul_vjp b", &b, &db, |b| (a.matmul(b) * &g).sum());
    }
}

fn without(shape: &[usize], axis: usize) -> Vec<usize> {
    let mut s = shape.to_vec();
    s.remove(axis);
    s
}

#[test]
fn axis_reduction_vjps_match_finite_differences() {
    let x = sample(&[2, 3, 4], 3);
    for axis in 0..3 {
        let g = sample(&without(x.shape(), axis), 40 + axis as u64);
        assert_gradient(
            "sum_axis_vjp",
            &x,
            &sum_axis_vjp(x.shape(), axis, &g),
            |x| (x.sum_axis(axis) * &g).sum(),
        );
        assert_gradient(
            "mean_axis_vjp",
            &x,
            &mean_axis_vjp(x.shape(), axis, &g),
            |x| (x.mean_axis(axis) * &g).sum(),
        );
        assert_gradient("max_axis_vjp", &x, &max_axis_vjp(&x, axis, &g), |x| {
            (x.max_axis(axis) * &g).sum()
        });
        let y = x.logsumexp_axis(axis);
        assert_gradient(
            "logsumexp_axis_vjp",
            &x,
            &logsumexp_axis_vjp(&x, &y, axis, &g),
            |x| (x.logsumexp_axis(axis) * &g).sum(),
        );
    }
}

#[test]
fn softmax_vjps_match_finite_differences() {
    let x = sample(&[3, 4], 11);
    for axis in 0..2 {
        let g = sample(x.shape(), 60 + axis as u64);
        let s = x.softmax(axis);
        assert_gradient("softmax_vjp", &x, &softmax_vjp(&s, axis, &g), |x| {
            (x.softmax(axis) * &g).sum()
        });
        let ls = x.log_softmax(axis);
        assert_gradient(
            "log_softmax_vjp",
            &x,
            &log_softmax_vjp(&ls, axis, &g),
            |x| (x.log_softmax(axis) * &g).sum(),
        );
    }
}

#[test]
fn max_axis_vjp_splits_ties_evenly_as_tensorflow() {
    // TensorFlow 2.21, float64:
    //   x = tf.constant([[2., 7., 7.], [7., 7., 1.]], tf.float64)
    //   tf.gradients(tf.reduce_sum(tf.reduce_max(x, axis=1)), x)
    //     -> [[0, .5, .5], [.5, .5, 0]]
    // (_MaxOrMinGrad: indicators = equal(y, x); indicators / reduce_sum(indicators) * grad).
    let x = Tensor::from([[2.0, 7.0, 7.0], [7.0, 7.0, 1.0]]);
    assert_eq!(
        max_axis_vjp(&x, 1, &Tensor::from([1.0, 1.0])),
        Tensor::from([[0.0, 0.5, 0.5], [0.5, 0.5, 0.0]])
    );
    // Axis 0: column 0 -> row 1, column 1 tie -> half each, column 2 -> row 0.
    assert_eq!(
        max_axis_vjp(&x, 0, &Tensor::from([1.0, 1.0, 1.0])),
        Tensor::from([[0.0, 0.5, 1.0], [1.0, 0.5, 0.0]])
    );
    // tf.reduce_max(x) over all elements: four tied 7s get a quarter of the cotangent.
    assert_eq!(
        max_vjp(&x, 2.0),
        Tensor::from([[0.0, 0.5, 0.5], [0.5, 0.5, 0.0]])
    );
    // reduce_min: column 1 of [[2, 7, 7], [7, 7, 1]] ties at 7.
    assert_eq!(
        min_axis_vjp(&x, 0, &Tensor::from([1.0, 4.0, 1.0])),
        Tensor::from([[1.0, 2.0, 0.0], [0.0, 2.0, 1.0]])
    );
    // Three tied minima: TF's 1/3 * g, in its order of operations.
    let y = Tensor::from([5.0, 5.0, 5.0]);
    let third = (1.0_f64 / 3.0) * 6.0;
    assert_eq!(min_vjp(&y, 6.0), Tensor::from([third, third, third]));
}

// ---------------------------------------------------------------- printing, traits

#[test]
fn display_prints_like_numpy() {
    assert_eq!(
        Tensor::from([[1.0, 2.0], [3.0, 4.0]]).to_string(),
        "[[1, 2],\n [3, 4]]"
    );
    assert_eq!(
        Tensor::from([0.5, -1.0, 10.0]).to_string(),
        "[0.5,  -1,  10]"
    );
    assert_eq!(Tensor::scalar(3.0).to_string(), "3");
    assert_eq!(
        format!("{:.2}", Tensor::from([[1.0, 2.0]])),
        "[[1.00, 2.00]]"
    );
    assert_eq!(
        Tensor::from_vec((1..=8).map(f64::from).collect(), &[2, 2, 2]).to_string(),
        "[[[1, 2],\n  [3, 4]],\n\n [[5, 6],\n  [7, 8]]]"
    );
    assert_eq!(
        format!("{:?}", Tensor::from([1.0_f32, 2.5])),
        "Tensor([1.0, 2.5], shape=[2])"
    );
}

#[test]
fn zero_like_and_one_like_keep_the_shape() {
    let t = sample(&[2, 3], 0);
    assert_eq!(t.zero_like(), Tensor::zeros(&[2, 3]));
    assert_eq!(t.one_like(), Tensor::ones(&[2, 3]));
}

#[test]
fn conversions_and_accessors() {
    let t = Tensor::from(vec![1.0, 2.0, 3.0, 4.0]);
    assert_eq!(t.ndim(), 1);
    let m = t.reshape(&[2, 2]);
    assert_eq!(m, Tensor::from([[1.0, 2.0], [3.0, 4.0]]));
    assert_eq!(m.get(&[1, 1]), Some(4.0));
    assert_eq!(m.clone().into_vec(), vec![1.0, 2.0, 3.0, 4.0]);
    assert_eq!(Tensor::full(&[2], 7.0), Tensor::from([7.0, 7.0]));
    assert_ne!(m, t);
}

#[test]
fn tensors_cross_threads_and_unwind_boundaries() {
    let t = Tensor::from([1.0, 2.0]);
    let handle = std::thread::spawn(move || t.sum());
    assert_eq!(handle.join().unwrap(), 3.0);
    let shared = Tensor::from([1.0, 2.0]);
    let result = std::panic::catch_unwind(|| shared.matmul(&Tensor::zeros(&[3])));
    assert!(result.is_err());
    assert_eq!(shared.sum(), 3.0);
}
