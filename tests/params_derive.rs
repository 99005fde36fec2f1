//! `#[derive(Params)]` through the facade: structure, order, zeros, and use with optimizers
//! and clipping.
use autodiff::prelude::*;

#[derive(Params, Debug, Clone, PartialEq)]
struct Model {
    weights: [f64; 3],
    bias: Vec<f64>,
    scale: f64,
}

fn model() -> Model {
    Model {
        weights: [1.0, 2.0, 3.0],
        bias: vec![4.0, 5.0],
        scale: 6.0,
    }
}

#[test]
fn leaves_are_the_fields_in_declaration_order() {
    let m = model();
    assert_eq!(m.leaf_lengths(), vec![3, 2, 1]);
    assert_eq!(m.num_scalars(), 6);
    let mut seen = Vec::new();
    m.visit(&mut |leaf| seen.push(leaf.to_vec()));
    assert_eq!(seen, vec![vec![1.0, 2.0, 3.0], vec![4.0, 5.0], vec![6.0]]);
}

#[test]
fn visit_mut_writes_through_to_the_fields() {
    let mut m = model();
    let mut k = 0.0;
    m.visit_mut(&mut |leaf| {
        for x in leaf.iter_mut() {
            k += 1.0;
            *x = -k;
        }
    });
    assert_eq!(
        m,
        Model {
            weights: [-1.0, -2.0, -3.0],
            bias: vec![-4.0, -5.0],
            scale: -6.0
        }
    );
}

#[test]
fn zeros_like_keeps_the_structure() {
    let z = model().zeros_like();
    assert_eq!(
        z,
        Model {
            weights: [0.0; 3],
            bias: vec![0.0, 0.0],
            scale: 0.0
        }
    );
}

#[test]
fn optimizers_step_a_derived_struct() {
    let mut m = model();
    let grads = Model {
        weights: [1.0, -1.0, 0.0],
        bias: vec![2.0, 0.5],
        scale: 10.0,
    };
    GradientDescent::new(0.5).apply_gradients(&mut m, &grads);
    assert_eq!(
        m,
        Model {
            weights: [0.5, 2.5, 3.0],
            bias: vec![3.0, 4.75],
            scale: 1.0
        }
    );

    let mut opt = Momentum::new(0.5, 0.5);
    opt.apply_gradients(&mut m, &grads);
    opt.apply_gradients(&mut m, &grads);
    // Two momentum steps move each entry by 0.5 g (1 + 1.5).
    assert_eq!(m.scale, 1.0 - 0.5 * 10.0 * 2.5);
}

#[test]
#[should_panic(
    expected = "the parameters have 3 leaves of lengths [3, 2, 1], the gradients have 3 leaves of lengths [3, 1, 1]"
)]
fn gradients_with_another_vec_length_are_rejected() {
    let mut m = model();
    let grads = Model {
        weights: [0.0; 3],
        bias: vec![0.0],
        scale: 0.0,
    };
    Adam::new(0.1).apply_gradients(&mut m, &grads);
}

#[test]
fn clipping_treats_the_struct_as_one_collection() {
    let g = Model {
        weights: [6.0, 0.0, 0.0],
        bias: vec![8.0],
        scale: 0.0,
    };
    assert_eq!(global_norm(&g), 10.0);
    let (clipped, norm) = clip_by_global_norm(g.clone(), 5.0);
    assert_eq!(norm, 10.0);
    assert_eq!(
        clipped,
        Model {
            weights: [3.0, 0.0, 0.0],
            bias: vec![4.0],
            scale: 0.0
        }
    );
    assert_eq!(clip_by_value(g, 0.0, 1.0).weights, [1.0, 0.0, 0.0]);
}

/// A generic struct; the float type comes from the fields.
#[derive(Params, Debug, Clone, PartialEq)]
struct Linear<T> {
    a: T,
    b: T,
}

#[test]
fn minimize_trains_a_generic_derived_struct() {
    // y = 2x - 1 from four points; mean squared error with its gradient written by hand.
    let loss_and_grad = |p: &Linear<f32>| {
        let (mut loss, mut grad) = (0.0, Linear { a: 0.0, b: 0.0 });
        for x in [-1.0_f32, 0.0, 1.0, 2.0] {
            let residual = p.a * x + p.b - (2.0 * x - 1.0);
            loss += residual * residual / 4.0;
            grad.a += residual * x / 2.0;
            grad.b += residual / 2.0;
        }
        (loss, grad)
    };
    let mut p = Linear { a: 0.0_f32, b: 0.0 };
    let mut opt = Adam::new(0.05_f32);
    let first = opt.minimize(&mut p, loss_and_grad);
    for _ in 0..2000 {
        opt.minimize(&mut p, loss_and_grad);
    }
    assert!(first > 1.0);
    assert!(loss_and_grad(&p).0 < 1e-6, "{p:?}");
    assert!(
        (p.a - 2.0).abs() < 1e-2 && (p.b + 1.0).abs() < 1e-2,
        "{p:?}"
    );
}

/// Tuple structs, unit structs, and derived structs inside derived structs.
#[derive(Params, Debug, Clone, PartialEq)]
struct Pair(f64, [f64; 2]);

#[derive(Params, Debug, Clone, PartialEq)]
struct Nothing;

#[derive(Params, Debug, Clone, PartialEq)]
struct Network {
    layers: Vec<Pair>,
    head: Linear<f64>,
    empty: Nothing,
}

#[test]
fn tuple_unit_and_nested_structs() {
    assert_eq!(Pair(1.0, [2.0, 3.0]).leaf_lengths(), vec![1, 2]);
    assert_eq!(Pair(1.0, [2.0, 3.0]).zeros_like(), Pair(0.0, [0.0, 0.0]));
    assert_eq!(Params::<f64>::leaf_lengths(&Nothing), Vec::<usize>::new());
    let net = Network {
        layers: vec![Pair(1.0, [2.0, 3.0]), Pair(4.0, [5.0, 6.0])],
        head: Linear { a: 7.0, b: 8.0 },
        empty: Nothing,
    };
    assert_eq!(net.leaf_lengths(), vec![1, 2, 1, 2, 1, 1]);
    // Paths: tuple-struct fields by index, a generic struct's fields by name, a unit struct
    // has none.
    assert_eq!(
        net.leaf_paths(),
        [
            "layers.0.0",
            "layers.0.1",
            "layers.1.0",
            "layers.1.1",
            "head.a",
            "head.b"
        ]
    );
    assert_eq!(
        global_norm(&net),
        (1..=8).map(|i| (i * i) as f64).sum::<f64>().sqrt()
    );
}

mod visibility {
    use autodiff::Params;

    /// A private field type inside a public struct.
    #[derive(Params, Debug, Clone, PartialEq)]
    struct Hidden {
        x: [f64; 2],
    }

    /// The derive must not trip the `private_bounds` lint on a public struct.
    #[derive(Params, Debug, Clone, PartialEq)]
    pub struct Public {
        hidden: Hidden,
        pub y: f64,
    }

    #[test]
    fn public_struct_with_private_field_type() {
        let p = Public {
            hidden: Hidden { x: [1.0, 2.0] },
            y: 3.0,
        };
        assert_eq!(p.leaf_lengths(), vec![2, 1]);
    }
}
