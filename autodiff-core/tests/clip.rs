//! Clipping with TensorFlow's semantics: the classic example, and the edge cases (zero,
//! infinity, NaN, mixed collections).
use autodiff_core::clip::{
    clip_by_global_norm, clip_by_global_norm_with_norm, clip_by_norm, clip_by_norm_axes,
    clip_by_value, clip_slice_by_norm, global_norm, try_clip_by_norm_axes, try_clip_by_value,
    ClipError,
};
use autodiff_core::Tensor;

/// loss = w · x², the classic TensorFlow clipping example, and its gradient by hand.
fn loss_and_grad(w: f64, x: f64) -> (f64, (f64, f64)) {
    (w * x * x, (x * x, 2.0 * w * x))
}

#[test]
fn tensorflow_clipping_example() {
    let (loss, grads) = loss_and_grad(2.0, 3.0);
    assert_eq!(loss, 18.0);
    assert_eq!(grads, (9.0, 12.0));
    assert_eq!(
        (clip_by_norm(grads.0, 5.0), clip_by_norm(grads.1, 5.0)),
        (5.0, 5.0)
    );
    assert_eq!(global_norm(&grads), 15.0);
    assert_eq!(clip_by_global_norm(grads, 5.0), ((3.0, 4.0), 15.0));
    // Both entries together as one collection: clip_by_norm uses the norm of all of it.
    assert_eq!(clip_by_norm(grads, 5.0), (3.0, 4.0));
    assert_eq!(clip_by_norm([9.0, 12.0], 5.0), [3.0, 4.0]);
}

// ---------------------------------------------------------------- clip_by_value

#[test]
fn clip_by_value_clamps_every_leaf_of_a_mixed_collection() {
    let p = (
        -5.0_f64,
        [0.5_f64, 3.0],
        vec![[-0.5_f64, 2.0]],
        Box::new(1.0_f64),
    );
    let clipped = clip_by_value(p, -1.0, 1.0);
    assert_eq!(
        clipped,
        (-1.0, [0.5, 1.0], vec![[-0.5, 1.0]], Box::new(1.0))
    );
}

#[test]
fn clip_by_value_edges() {
    assert_eq!(
        clip_by_value([f64::INFINITY, f64::NEG_INFINITY], -2.0, 2.0),
        [2.0, -2.0]
    );
    let nan = clip_by_value([f64::NAN, 7.0], -2.0, 2.0);
    assert!(
        nan[0].is_nan(),
        "NaN stays NaN, as TensorFlow's minimum/maximum leave it"
    );
    assert_eq!(nan[1], 2.0);
    assert_eq!(clip_by_value([3.0_f32, -3.0], 0.5, 0.5), [0.5, 0.5]);
    assert_eq!(clip_by_value([-0.0_f64, 0.0], 0.0, 1.0), [-0.0, 0.0]);
    assert_eq!(
        clip_by_value(Vec::<f64>::new(), 0.0, 1.0),
        Vec::<f64>::new()
    );
    // Infinite bounds clip nothing.
    assert_eq!(
        clip_by_value([1e300, -1e300], f64::NEG_INFINITY, f64::INFINITY),
        [1e300, -1e300]
    );
}

#[test]
#[should_panic(expected = "the lower bound 2 exceeds the upper bound 1")]
fn clip_by_value_rejects_reversed_bounds() {
    clip_by_value(1.0_f64, 2.0, 1.0);
}

#[test]
#[should_panic(expected = "or one is NaN")]
fn clip_by_value_rejects_nan_bounds() {
    clip_by_value(1.0_f64, f64::NAN, 1.0);
}

// ---------------------------------------------------------------- global_norm

#[test]
fn global_norm_over_mixed_collections() {
    assert_eq!(global_norm(&(3.0_f64, [4.0_f64, 12.0])), 13.0);
    assert_eq!(global_norm(&vec![[1.0_f64, 1.0], [1.0, 1.0]]), 2.0);
    assert_eq!(global_norm(&-7.0_f64), 7.0);
    assert_eq!(global_norm(&[0.0_f64; 4]), 0.0);
    assert_eq!(global_norm(&Vec::<f32>::new()), 0.0);
    assert_eq!(global_norm(&(1.0_f64, f64::NEG_INFINITY)), f64::INFINITY);
    assert!(global_norm(&(f64::NAN, 1.0_f64)).is_nan());
    assert!(global_norm(&(f64::NAN, f64::INFINITY)).is_nan());
    // Like TensorFlow, no rescaling: squares of huge entries overflow.
    assert_eq!(global_norm(&[1e200_f64, 1e200]), f64::INFINITY);
}

// ---------------------------------------------------------------- clip_by_norm

#[test]
fn clip_by_norm_leaves_small_collections_bit_for_bit() {
    let p = (0.1_f64, [0.2_f64, -0.3], vec![1.0 / 3.0]);
    assert_eq!(clip_by_norm(p.clone(), 1.0), p);
    assert_eq!(clip_by_norm(5.0_f64, 5.0), 5.0);
}

#[test]
fn clip_by_norm_scales_a_mixed_collection_by_its_total_norm() {
    let clipped = clip_by_norm((3.0_f64, vec![0.0_f64, 4.0]), 1.0);
    assert_eq!(clipped, (3.0 / 5.0, vec![0.0, 4.0 / 5.0]));
    assert!((global_norm(&clipped) - 1.0).abs() < 1e-15);
    assert_eq!(clip_by_norm(-9.0_f32, 5.0), -5.0);
}

#[test]
fn clip_by_norm_of_zero_is_zero() {
    assert_eq!(clip_by_norm([0.0_f64, 0.0, 0.0], 1.0), [0.0, 0.0, 0.0]);
    assert_eq!(clip_by_norm(0.0_f64, 1e-30), 0.0);
}

#[test]
fn clip_by_norm_with_infinite_entry_follows_tensorflow() {
    // (x · clip) / max(inf, clip): finite entries become 0, infinite ones NaN.
    let clipped = clip_by_norm([1.0_f64, f64::INFINITY, -2.0], 1.0);
    assert_eq!((clipped[0], clipped[2]), (0.0, -0.0));
    assert!(clipped[1].is_nan());
}

#[test]
fn clip_by_norm_with_nan_entry_is_all_nan() {
    let clipped = clip_by_norm((f64::NAN, [1.0_f64, 2.0]), 1.0);
    assert!(
        clipped.0.is_nan() && clipped.1.iter().all(|x| x.is_nan()),
        "{clipped:?}"
    );
}

#[test]
fn clip_by_norm_with_zero_clip_gives_zeros_as_tensorflow() {
    // TF 2.21: tf.clip_by_norm(tf.constant([3., -4.], tf.float64), 0.0) -> [0, -0]
    // ((t * 0) / maximum(5, 0)).
    let clipped = clip_by_norm([3.0_f64, -4.0], 0.0);
    assert_eq!(clipped, [0.0, -0.0]);
    assert!(clipped[1].is_sign_negative());
    assert_eq!(
        clip_by_norm((9.0_f64, vec![12.0_f64]), 0.0),
        (0.0, vec![0.0])
    );
    // An all-zero t: l2norm = 0, (0 * 0) / maximum(0, 0) = NaN in TensorFlow too.
    assert!(clip_by_norm(0.0_f64, 0.0).is_nan());
    // A negative clip norm goes through TensorFlow's formula: t * c / maximum(5, c) = -t / 5.
    assert_eq!(clip_by_norm([3.0_f64, 4.0], -1.0), [-3.0 / 5.0, -4.0 / 5.0]);
}

#[test]
fn clip_slice_by_norm_clips_one_leaf_in_place() {
    let mut g = [9.0_f64];
    clip_slice_by_norm(&mut g, 5.0);
    assert_eq!(g, [5.0]);
    let mut g = [0.3_f64, 0.4];
    clip_slice_by_norm(&mut g, 5.0);
    assert_eq!(g, [0.3, 0.4]);
    let mut g = [3.0_f64, 4.0];
    clip_slice_by_norm(&mut g, 0.0);
    assert_eq!(g, [0.0, 0.0]);
}

// ---------------------------------------------------------------- clip_by_norm with axes

#[test]
fn clip_by_norm_along_axes_matches_tensorflow() {
    // TF 2.21: t = [[3, 4], [0, 0.5]] (float64)
    let t = Tensor::from([[3.0_f64, 4.0], [0.0, 0.5]]);
    // tf.clip_by_norm(t, 1.0, axes=[1]): row norms 5 and 0.5.
    assert_eq!(
        clip_by_norm_axes(t.clone(), 1.0, &[1]),
        Tensor::from([[3.0 * 1.0 / 5.0, 4.0 * 1.0 / 5.0], [0.0, 0.5]])
    );
    // tf.clip_by_norm(t, 1.0, axes=[0]): column norms 3 and √16.25.
    let n1 = 16.25_f64.sqrt();
    assert_eq!(
        clip_by_norm_axes(t.clone(), 1.0, &[0]),
        Tensor::from([[1.0, 4.0 / n1], [0.0, 0.5 / n1]])
    );
    // axes=[0, 1] is the plain clip_by_norm.
    assert_eq!(
        clip_by_norm_axes(t.clone(), 1.0, &[1, 0]),
        clip_by_norm(t.clone(), 1.0)
    );
    // axes=[]: reduce_sum over no axes keeps every element, each clipped to |x| <= 1.
    assert_eq!(
        clip_by_norm_axes(t.clone(), 1.0, &[]),
        Tensor::from([[1.0, 1.0], [0.0, 0.5]])
    );
    // A zero clip norm gives zeros; an all-zero row with clip 0 gives 0 / 0 = NaN.
    let z = clip_by_norm_axes(t, 0.0, &[1]);
    assert_eq!(z.as_slice()[..2], [0.0, 0.0]);
    let z = clip_by_norm_axes(Tensor::from([[0.0_f64, 0.0], [1.0, 0.0]]), 0.0, &[1]);
    assert!(z.as_slice()[0].is_nan() && z.as_slice()[2] == 0.0);
}

#[test]
fn clip_by_norm_along_axes_of_a_3d_tensor() {
    // Shape [2, 1, 2], axes [0, 2]: one slice (the middle axis has length 1), norm √30.
    let t = Tensor::from_vec(vec![1.0_f64, 2.0, 3.0, 4.0], &[2, 1, 2]);
    let clipped = clip_by_norm_axes(t.clone(), 1.0, &[0, 2]);
    assert_eq!(clipped, clip_by_norm(t.clone(), 1.0));
    // Axis 0 only: pairs (1, 3) and (2, 4).
    let clipped = clip_by_norm_axes(t, 1.0, &[0]);
    let (a, b) = (10.0_f64.sqrt(), 20.0_f64.sqrt());
    assert_eq!(clipped.as_slice(), &[1.0 / a, 2.0 / b, 3.0 / a, 4.0 / b]);
}

#[test]
fn clip_by_norm_axes_errors_name_the_axis_and_shape() {
    let t = Tensor::from([[1.0_f64, 2.0]]);
    assert_eq!(
        try_clip_by_norm_axes(t.clone(), 1.0, &[0, 0]),
        Err(ClipError::RepeatedAxis {
            axis: 0,
            shape: vec![1, 2]
        })
    );
    let err = try_clip_by_norm_axes(t, 1.0, &[5]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "clip_by_norm_axes: axis 5 is out of range for a tensor of shape [1, 2] (rank 2)"
    );
}

#[test]
#[should_panic(expected = "clip_by_norm_axes: axis 2 is out of range for a tensor of shape [2]")]
fn clip_by_norm_axes_panics_on_an_axis_out_of_range() {
    clip_by_norm_axes(Tensor::from([1.0_f64, 2.0]), 1.0, &[2]);
}

// ---------------------------------------------------------------- clip_by_global_norm

#[test]
fn clip_by_global_norm_scales_every_leaf_alike() {
    let p = (vec![[6.0_f64, 0.0]], 8.0_f64, Box::new([0.0_f64]));
    let (clipped, norm) = clip_by_global_norm(p, 5.0);
    assert_eq!(norm, 10.0);
    assert_eq!(clipped, (vec![[3.0, 0.0]], 4.0, Box::new([0.0])));
}

#[test]
fn clip_by_global_norm_matches_tensorflows_formula_within_rounding() {
    // TF: t * (clip * min(1 / norm, 1 / clip)).
    let p = [0.3_f64, -1.7, 2.9, 0.01];
    let clip = 1.3;
    let (clipped, norm) = clip_by_global_norm(p, clip);
    let expected_norm = p.iter().map(|x| x * x).sum::<f64>().sqrt();
    assert!((norm - expected_norm).abs() < 1e-15);
    let scale = clip * (1.0 / expected_norm).min(1.0 / clip);
    for (c, x) in clipped.iter().zip(p) {
        assert!(
            (c - x * scale).abs() <= 4.0 * f64::EPSILON * (x * scale).abs(),
            "{c} vs {}",
            x * scale
        );
    }
    assert!((global_norm(&clipped) - clip).abs() < 1e-14);
}

#[test]
fn clip_by_global_norm_within_the_norm_is_unchanged() {
    let p = (0.1_f64, vec![0.2_f64, 1.0 / 3.0]);
    let (clipped, norm) = clip_by_global_norm(p.clone(), 49.0);
    assert_eq!(clipped, p, "scale must be exactly one");
    assert_eq!(norm, global_norm(&p));
}

#[test]
fn clip_by_global_norm_of_zero_is_zero() {
    let (clipped, norm) = clip_by_global_norm(([0.0_f64; 3], 0.0_f64), 1.0);
    assert_eq!((clipped, norm), (([0.0; 3], 0.0), 0.0));
}

#[test]
fn clip_by_global_norm_with_infinite_norm_is_all_nan() {
    let (clipped, norm) = clip_by_global_norm(([1.0_f64, 0.0], f64::INFINITY), 1.0);
    assert_eq!(norm, f64::INFINITY);
    assert!(
        clipped.0.iter().all(|x| x.is_nan()) && clipped.1.is_nan(),
        "{clipped:?}"
    );
    // Overflowing squares count as an infinite norm too.
    let (clipped, norm) = clip_by_global_norm([1e200_f64, 1.0], 1.0);
    assert_eq!(norm, f64::INFINITY);
    assert!(clipped.iter().all(|x| x.is_nan()));
}

#[test]
fn clip_by_global_norm_with_nan_is_all_nan() {
    let (clipped, norm) = clip_by_global_norm((f64::NAN, vec![1.0_f64]), 1.0);
    assert!(norm.is_nan());
    assert!(clipped.0.is_nan() && clipped.1[0].is_nan());
}

#[test]
fn clip_by_global_norm_in_f32() {
    let (clipped, norm) = clip_by_global_norm((9.0_f32, 12.0_f32), 5.0);
    assert_eq!(norm, 15.0);
    assert!((clipped.0 - 3.0).abs() < 1e-6 && (clipped.1 - 4.0).abs() < 1e-6);
}

#[test]
fn clip_by_global_norm_with_zero_clip_gives_zeros_as_tensorflow() {
    // TF 2.21: tf.clip_by_global_norm([[3., 0.], 4.], 0.0) -> ([[0, 0], 0], 5)
    // (scale = 0 * minimum(1/5, 1/0) = 0).
    let (clipped, norm) = clip_by_global_norm(([3.0_f64, 0.0], 4.0_f64), 0.0);
    assert_eq!((clipped, norm), (([0.0, 0.0], 0.0), 5.0));
    // All zero: scale = 0 * minimum(1/0, 1/0) = 0 * inf = NaN, as in TensorFlow.
    let (clipped, norm) = clip_by_global_norm([0.0_f64, 0.0], 0.0);
    assert_eq!(norm, 0.0);
    assert!(clipped.iter().all(|x| x.is_nan()));
    // A negative clip: scale = c * minimum(1/norm, 1/c) = c * (1/c).
    let (clipped, _) = clip_by_global_norm([3.0_f64, 4.0], -3.0);
    let scale = -3.0 * (1.0 / -3.0_f64);
    assert_eq!(clipped, [3.0 * scale, 4.0 * scale]);
}

#[test]
fn clip_by_global_norm_with_use_norm_matches_tensorflow() {
    // TF 2.21: tf.clip_by_global_norm([[3., 4.]], 1.0, use_norm=10.0)
    //   -> ([[3 * 0.1, 4 * 0.1]], 10): scale = 1 * minimum(1/10, 1/1) = 0.1.
    let (clipped, norm) = clip_by_global_norm_with_norm([3.0_f64, 4.0], 1.0, 10.0);
    assert_eq!(norm, 10.0);
    assert_eq!(clipped, [3.0 * 0.1, 4.0 * 0.1]);
    // use_norm below the clip norm: unchanged (the entries' own norm 5 is not looked at).
    let (clipped, _) = clip_by_global_norm_with_norm([3.0_f64, 4.0], 1.0, 0.5);
    assert_eq!(clipped, [3.0, 4.0]);
    // An infinite or NaN use_norm makes everything NaN.
    for bad in [f64::INFINITY, f64::NAN] {
        let (clipped, _) = clip_by_global_norm_with_norm([3.0_f64, 4.0], 1.0, bad);
        assert!(clipped.iter().all(|x| x.is_nan()), "{bad}");
    }
}

#[test]
fn clip_by_global_norm_passes_none_through_as_tensorflow() {
    // TF 2.21: tf.clip_by_global_norm([[6., 0.], None, 8.], 5.0) -> ([[3, 0], None, 4], 10)
    let grads = (Some([6.0_f64, 0.0]), None::<[f64; 3]>, Some(8.0_f64));
    let (clipped, norm) = clip_by_global_norm(grads, 5.0);
    assert_eq!(norm, 10.0);
    assert_eq!(clipped, (Some([3.0, 0.0]), None, Some(4.0)));
    // A Vec of optional tensors.
    let grads = vec![None, Some(Tensor::from([3.0_f64, 4.0])), None];
    let (clipped, norm) = clip_by_global_norm(grads, 2.5);
    assert_eq!(norm, 5.0);
    assert_eq!(clipped, vec![None, Some(Tensor::from([1.5, 2.0])), None]);
    // All None: norm 0, nothing to scale.
    assert_eq!(
        clip_by_global_norm(vec![None::<f64>; 2], 1.0),
        (vec![None; 2], 0.0)
    );
}

#[test]
fn try_clip_by_value_reports_the_bounds() {
    assert_eq!(
        try_clip_by_value(1.0_f64, 3.0, -3.0),
        Err(ClipError::InvalidBounds { lo: 3.0, hi: -3.0 })
    );
    assert!(matches!(
        try_clip_by_value(1.0_f32, 0.0, f32::NAN),
        Err(ClipError::InvalidBounds { .. })
    ));
    assert_eq!(
        try_clip_by_value([5.0_f64, -5.0], -1.0, 1.0),
        Ok([1.0, -1.0])
    );
}
