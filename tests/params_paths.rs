//! Leaf paths of `#[derive(Params)]` structs and `zip_leaves_mut`, TensorFlow's
//! `compute_gradients` list of `(gradient, variable)` pairs with the variables' names.
use autodiff::clip::clip_slice_by_norm;
use autodiff::prelude::*;

#[derive(Params, Debug, Clone, PartialEq)]
struct Dense {
    w: Tensor<f64>,
    b: Tensor<f64>,
}

#[derive(Params, Debug, Clone, PartialEq)]
struct Norm(f64, [f64; 2]);

#[derive(Params, Debug, Clone, PartialEq)]
struct Mlp {
    layers: Vec<Dense>,
    norm: Norm,
    heads: [[f64; 2]; 2],
    scale: f64,
    pair: (f64, Box<Tensor<f64>>),
    r#type: Option<f64>,
}

fn mlp() -> Mlp {
    Mlp {
        layers: vec![
            Dense {
                w: Tensor::from([[1.0, 2.0], [3.0, 4.0]]),
                b: Tensor::from([0.5, -0.5]),
            },
            Dense {
                w: Tensor::from([[5.0], [6.0]]),
                b: Tensor::from([7.0]),
            },
        ],
        norm: Norm(8.0, [9.0, 10.0]),
        heads: [[11.0, 12.0], [13.0, 14.0]],
        scale: 15.0,
        pair: (16.0, Box::new(Tensor::from([17.0, 18.0, 19.0]))),
        r#type: Some(20.0),
    }
}

#[test]
fn paths_name_every_leaf_like_tensorflow_variables() {
    let m = mlp();
    let paths = m.leaf_paths();
    assert_eq!(
        paths,
        [
            "layers.0.w",
            "layers.0.b",
            "layers.1.w",
            "layers.1.b",
            "norm.0",
            "norm.1",
            "heads.0",
            "heads.1",
            "scale",
            "pair.0",
            "pair.1",
            "type",
        ]
    );
    // Paths and leaves come in the order of `visit`, so optimizers and paths agree.
    let named = m.named_leaves();
    let mut leaves = Vec::new();
    m.visit(&mut |leaf| leaves.push(leaf));
    assert_eq!(named.len(), leaves.len());
    for ((path, a), b) in named.iter().zip(&leaves) {
        assert_eq!(a, b, "{path}");
    }
    assert_eq!(named[2].1, &[5.0, 6.0]);
    assert_eq!(named[7].1, &[13.0, 14.0]);
    // A `None` field has no leaf and so no path.
    let mut m = m;
    m.r#type = None;
    assert_eq!(m.leaf_paths().last().map(String::as_str), Some("pair.1"));
}

#[test]
fn per_variable_clipping_and_skipping_before_apply_gradients() {
    let mut m = mlp();
    let before = m.clone();
    let mut grads = m.zeros_like();
    grads.visit_mut(&mut |g| g.iter_mut().for_each(|x| *x = 3.0));
    let mut seen = Vec::new();
    for (path, g, v) in zip_leaves_mut(&mut grads, &m) {
        assert_eq!(g.len(), v.len());
        seen.push(path.clone());
        if path.ends_with(".b") {
            g.fill(0.0); // no update for the biases
        } else if path.starts_with("layers.") {
            clip_slice_by_norm(g, 1.5); // each weight matrix by its own norm
        }
    }
    assert_eq!(seen, m.leaf_paths());
    assert_eq!(grads.layers[0].b, Tensor::from([0.0, 0.0]));
    // The 2x2 matrix of threes has norm 6: clipped to 1.5, every entry is 3 * 1.5 / 6.
    assert_eq!(
        grads.layers[0].w,
        Tensor::from([[0.75, 0.75], [0.75, 0.75]])
    );
    // The 2x1 one has norm 3√2.
    let n = 18.0_f64.sqrt();
    assert_eq!(
        grads.layers[1].w,
        Tensor::from([[3.0 * 1.5 / n], [3.0 * 1.5 / n]])
    );
    assert_eq!(grads.scale, 3.0);

    GradientDescent::new(1.0).apply_gradients(&mut m, &grads);
    assert_eq!(m.layers[0].b, before.layers[0].b);
    assert_eq!(m.layers[0].w, Tensor::from([[0.25, 1.25], [2.25, 3.25]]));
    assert_eq!((m.scale, m.heads[1]), (12.0, [10.0, 11.0]));
}

#[differentiate(wrt = [w, x])]
fn wxx(w: f64, x: f64) -> f64 {
    w * x * x
}

#[derive(Params, Debug, Clone, PartialEq)]
struct Vars {
    w: f64,
    x: f64,
}

/// The seed document's example: TensorFlow's
///
/// ```python
/// grads_and_vars = opt.compute_gradients(loss)           # [(9, w), (12, x)]
/// capped = [(tf.clip_by_norm(g, 5.0), v) for g, v in grads_and_vars]
/// opt.apply_gradients(capped)
/// ```
#[test]
fn the_seed_example_clips_each_gradient_by_norm_5_and_applies_them() {
    let mut vars = Vars { w: 2.0, x: 3.0 };
    let (loss, (dw, dx)) = wxx_grad(vars.w, vars.x);
    assert_eq!(loss, 18.0);
    let mut grads = Vars { w: dw, x: dx };
    assert_eq!(grads, Vars { w: 9.0, x: 12.0 });

    let mut names = Vec::new();
    for (path, g, _v) in zip_leaves_mut(&mut grads, &vars) {
        names.push(path);
        clip_slice_by_norm(g, 5.0);
    }
    assert_eq!(names, ["w", "x"]);
    assert_eq!(grads, Vars { w: 5.0, x: 5.0 });

    GradientDescent::new(0.1).apply_gradients(&mut vars, &grads);
    assert_eq!(
        vars,
        Vars {
            w: 2.0 - 0.5,
            x: 3.0 - 0.5
        }
    );
}

#[test]
#[should_panic(
    expected = "zip_leaves_mut: gradients do not match the parameters: the parameters have 4 leaves of lengths [1, 1, 1, 1], the gradients have 2 leaves of lengths [1, 1]"
)]
fn zipping_another_structure_panics_with_both_structures() {
    let m = (1.0_f64, 2.0_f64);
    // Same type, another structure: a Vec of another length.
    let _ = zip_leaves_mut(&mut vec![(1.0_f64, 1.0_f64)], &vec![m, m]);
}
