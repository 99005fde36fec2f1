//! Correctness of every benchmarked gradient: objectives against reference values, the
//! hand-written gradients against central finite differences, and each peer (and our
//! generated code) against the hand-written gradient at one point.

use autodiff_benches::cases::gmm::{data_dir, Gmm, FILES};
use autodiff_benches::cases::{logsumexp as lse, rosenbrock as rb};
use autodiff_benches::central_differences;

fn assert_close(what: &str, got: &[f64], want: &[f64], rel: f64) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let scale = want.iter().fold(1.0_f64, |m, w| m.max(w.abs()));
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= rel * scale,
            "{what}[{i}]: got {g}, want {w} (tolerance {rel} × {scale})"
        );
    }
}

#[test]
fn rosenbrock_hand_gradient_matches_finite_differences() {
    for n in [2, 10, 100] {
        let x = rb::point(n);
        let (f, g) = rb::rosen_grad_hand(&x);
        assert_eq!(f, rb::rosen(&x));
        assert_close(
            "rosen fd",
            &g,
            &central_differences(rb::rosen, &x, 1e-6),
            1e-7,
        );
    }
}

#[test]
fn rosenbrock_ours_and_peers_match_hand_gradient() {
    let x = rb::point(10);
    let (f, g) = rb::rosen_grad_hand(&x);
    for (name, (fp, gp)) in [
        ("num-dual", rb::num_dual_grad(&x)),
        ("autodiff 0.7", rb::autodiff_peer_grad(&x)),
        ("ad_trait", rb::ad_trait_grad(&x)),
        ("ours", rb::ours_rosen_grad(&x)),
    ] {
        assert!(
            (fp - f).abs() <= 1e-12 * f.abs(),
            "{name}: value {fp} vs {f}"
        );
        assert_close(name, &gp, &g, 1e-12);
    }
    assert_close("symdiff n=10", &rb::rosen10_sym_gradient(&x), &g, 1e-12);
    let x2 = rb::point(2);
    let (f2, g2) = rb::rosen_grad_hand(&x2);
    let (of, (ogx0, ogx1)) = rb::rosen2_grad(x2[0], x2[1]);
    assert!((of - f2).abs() <= 1e-12 * f2.abs());
    assert_close("ours rosen2", &[ogx0, ogx1], &g2, 1e-12);
    assert_close("symdiff n=2", &rb::rosen2_sym_gradient(&x2), &g2, 1e-12);
}

#[test]
fn rosenbrock_ours_matches_hand_gradient_at_every_benchmarked_size() {
    for n in [2, 10, 100, 1000] {
        let x = rb::point(n);
        let (f, g) = rb::rosen_grad_hand(&x);
        let (fo, go) = rb::ours_rosen_grad(&x);
        assert_eq!(fo, rb::rosen(&x), "n = {n}: our value is the primal's");
        assert!((fo - f).abs() <= 1e-12 * f.abs(), "n = {n}: {fo} vs {f}");
        assert_close(&format!("ours n = {n}"), &go, &g, 1e-12);
        let (fr, gr) = rb::rosen_grad_hand_rmw(&x);
        assert_eq!(
            (fr, &gr),
            (f, &g),
            "n = {n}: carried and verbatim hand-written agree"
        );
        let (fe, ge) = autodiff_benches::cases::experiments::rosen_grad_carry(&x);
        assert_eq!(
            (fe, &ge),
            (fo, &go),
            "n = {n}: experiment and generated agree"
        );
        let (ff, gf) = rb::rosen_grad_fused(&x);
        assert!(
            (ff - f).abs() <= 1e-12 * f.abs(),
            "fused n = {n}: {ff} vs {f}"
        );
        assert_close(&format!("fused n = {n}"), &gf, &g, 1e-12);
    }
}

#[test]
fn logsumexp_ours_matches_hand_gradient_at_every_benchmarked_size() {
    for n in [1000, 10_000] {
        let x = lse::point(n);
        let (f, g) = lse::logsumexp_grad_hand(&x);
        let (fo, go) = lse::ours_logsumexp_grad(&x);
        assert_eq!(fo, lse::logsumexp(&x), "n = {n}: our value is the primal's");
        assert!((fo - f).abs() <= 1e-12 * f.abs(), "n = {n}: {fo} vs {f}");
        assert_close(&format!("ours n = {n}"), &go, &g, 1e-12);
        let (fe, ge) = autodiff_benches::cases::experiments::logsumexp_grad_save_exp(&x);
        assert_eq!(
            (fe, &ge),
            (fo, &go),
            "n = {n}: experiment and generated agree"
        );
    }
}

#[test]
fn logsumexp_hand_gradient_matches_finite_differences_and_peers() {
    let x = lse::point(50);
    let (f, g) = lse::logsumexp_grad_hand(&x);
    assert!((f - lse::logsumexp(&x)).abs() <= 1e-13 * f.abs());
    assert!(
        (g.iter().sum::<f64>() - 1.0).abs() < 1e-12,
        "softmax sums to 1"
    );
    assert_close(
        "lse fd",
        &g,
        &central_differences(lse::logsumexp, &x, 1e-5),
        1e-8,
    );
    for (name, (fp, gp)) in [
        ("num-dual", lse::num_dual_grad(&x)),
        ("autodiff 0.7", lse::autodiff_peer_grad(&x)),
        ("ad_trait", lse::ad_trait_grad(&x)),
        ("ours", lse::ours_logsumexp_grad(&x)),
    ] {
        assert!(
            (fp - f).abs() <= 1e-12 * f.abs(),
            "{name}: value {fp} vs {f}"
        );
        assert_close(name, &gp, &g, 1e-12);
    }
}

fn load(file: &str) -> Gmm {
    Gmm::load(&data_dir().join(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

#[test]
fn gmm_objective_matches_adbench_reference_values() {
    for (file, reference) in FILES {
        let gmm = load(file);
        assert_eq!(gmm.params.len(), gmm.k * (1 + gmm.d + gmm.icf_size()));
        let f = gmm.objective(&gmm.params);
        let rel = ((f - reference) / reference).abs();
        assert!(
            rel <= 1e-9,
            "{file}: objective {f}, reference {reference}, rel {rel:e}"
        );
        let (fg, _) = gmm.gradient(&gmm.params);
        let rel = ((fg - reference) / reference).abs();
        assert!(
            rel <= 1e-9,
            "{file}: gradient's value {fg}, reference {reference}"
        );
    }
}

#[test]
fn gmm_ours_objective_matches_adbench_reference_values_and_hand_gradient() {
    for (file, reference) in FILES {
        let gmm = load(file);
        let f = gmm.ours_objective(&gmm.params);
        let rel = ((f - reference) / reference).abs();
        assert!(
            rel <= 1e-9,
            "{file}: our objective {f}, reference {reference}, rel {rel:e}"
        );
        let (fo, go) = gmm.ours_gradient(&gmm.params);
        assert_eq!(fo, f, "{file}: our gradient's value is our objective");
        let (_, g) = gmm.gradient(&gmm.params);
        assert_close(&format!("ours {file}"), &go, &g, 1e-10);
    }
}

#[test]
fn gmm_hand_gradient_matches_finite_differences() {
    for (file, _) in FILES {
        let gmm = load(file);
        let (_, g) = gmm.gradient(&gmm.params);
        let fd = central_differences(|p| gmm.objective(p), &gmm.params, 1e-5);
        assert_close(file, &g, &fd, 1e-7);
    }
}

#[test]
fn gmm_peers_match_hand_gradient() {
    let gmm = load(FILES[0].0);
    let (f, g) = gmm.gradient(&gmm.params);
    for (name, (fp, gp)) in [
        ("ad_trait", gmm.ad_trait_gradient(&gmm.params)),
        ("autodiff 0.7", gmm.autodiff_peer_gradient(&gmm.params)),
        ("ours", gmm.ours_gradient(&gmm.params)),
    ] {
        assert!(
            (fp - f).abs() <= 1e-10 * f.abs(),
            "{name}: value {fp} vs {f}"
        );
        assert_close(name, &gp, &g, 1e-10);
    }
}

#[test]
fn gmm_parser_rejects_truncated_files() {
    assert!(Gmm::parse("2 1 1\n0.5\n1 2\n").is_err());
    assert!(Gmm::parse("2 1 1\n0.5\n1 2\n0 0 0\n1 1\n1 0 5\n").is_err());
    assert!(Gmm::parse("2 1 1\n0.5\n1 2\n0 0 0\n1 1\n1 0\n").is_ok());
}

#[test]
fn mlp_hand_gradient_matches_finite_differences() {
    use autodiff_benches::cases::mlp::{loss, loss_grad_hand, problem, Params, SHAPES};
    for (name, batch, inputs, hidden, outputs) in SHAPES {
        let (p, b) = problem(batch, inputs, hidden, outputs);
        let (f, g) = loss_grad_hand(&p, &b);
        assert_eq!(f, loss(&p, &b), "{name}: value");
        let fields: [fn(&mut Params) -> &mut autodiff::Tensor<f64>; 4] =
            [|p| &mut p.w1, |p| &mut p.b1, |p| &mut p.w2, |p| &mut p.b2];
        let grads = [&g.w1, &g.b1, &g.w2, &g.b2];
        for (field, grad) in fields.iter().zip(grads) {
            // every coordinate of the small net, a stride of the large one
            let len = field(&mut p.clone()).len();
            let stride = if len > 200 { 37.max(len / 150) } else { 1 };
            for i in (0..len).step_by(stride) {
                let h = 1e-6;
                let mut pp = p.clone();
                field(&mut pp).as_mut_slice()[i] += h;
                let mut pm = p.clone();
                field(&mut pm).as_mut_slice()[i] -= h;
                let fd = (loss(&pp, &b) - loss(&pm, &b)) / (2.0 * h);
                let got = grad.as_slice()[i];
                assert!(
                    (got - fd).abs() <= 1e-7 * (1.0 + fd.abs()),
                    "{name}: element {i}: hand {got}, finite differences {fd}"
                );
            }
        }
    }
}

#[test]
fn mlp_ours_matches_hand_gradient() {
    use autodiff_benches::cases::mlp::{loss, loss_grad_hand, ours_loss_grad, problem, SHAPES};
    for (name, batch, inputs, hidden, outputs) in SHAPES {
        let (p, b) = problem(batch, inputs, hidden, outputs);
        let (f, g) = loss_grad_hand(&p, &b);
        let (of, og) = ours_loss_grad(&p, &b);
        assert_eq!(of, loss(&p, &b), "{name}: ours' value is the primal's");
        assert!(
            (of - f).abs() <= 1e-10 * f.abs(),
            "{name}: value {of} vs {f}"
        );
        for (what, got, want) in [
            ("w1", &og.w1, &g.w1),
            ("b1", &og.b1, &g.b1),
            ("w2", &og.w2, &g.w2),
            ("b2", &og.b2, &g.b2),
        ] {
            assert_eq!(got.shape(), want.shape(), "{name} {what}: shape");
            assert_close(
                &format!("mlp {name} ours {what}"),
                got.as_slice(),
                want.as_slice(),
                1e-10,
            );
        }
    }
}

#[test]
fn expansion_succeeds_and_grows_linearly() {
    use autodiff_benches::expand_gen::{chain_tokens, token_counts};
    let (attr, item) = chain_tokens(10);
    let out = autodiff_expand::differentiate(attr, item).to_string();
    assert!(
        out.contains("chain_grad"),
        "the expansion defines chain_grad"
    );
    assert!(
        !out.contains("compile_error"),
        "the expansion has no errors"
    );
    let (in100, out100) = token_counts(100);
    let (in1000, out1000) = token_counts(1000);
    assert!(in1000 > 9 * in100 && in1000 < 11 * in100);
    let growth = out1000 as f64 / out100 as f64;
    assert!(
        (8.0..12.5).contains(&growth),
        "generated tokens 100 -> 1000 statements grew {growth}×, not ~10×"
    );
}

#[test]
fn mlp_f32_and_deep_gradients_match_f64_and_finite_differences() {
    use autodiff_benches::cases::mlp::{
        deep_loss, deep_problem, ours_deep_loss_grad, ours_loss_grad, ours_loss_grad_f32,
        ours_loss_grad_sharded, problem, problem_f32, shard,
    };
    // f32 against f64 on the same (rounded) problem.
    let (p, b) = problem(32, 64, 128, 10);
    let (_, g64) = ours_loss_grad(&p, &b);
    let (_, g32) = ours_loss_grad_f32(&problem_f32(32, 64, 128, 10));
    for (got, want) in [(&g32.0, &g64.w1), (&g32.1, &g64.b1), (&g32.2, &g64.w2), (&g32.3, &g64.b2)] {
        let scale = want.as_slice().iter().fold(0.0f64, |m, v| m.max(v.abs()));
        for (x, y) in got.as_slice().iter().zip(want.as_slice()) {
            assert!((f64::from(*x) - y).abs() <= 1e-4 * scale, "f32 {x} vs f64 {y}");
        }
    }
    // Two data-parallel shards give the whole batch's gradient.
    let (_, sharded) = ours_loss_grad_sharded(&shard(&b, 2), &p);
    assert_close("sharded w1", sharded.w1.as_slice(), g64.w1.as_slice(), 1e-12);
    // The deep case on a small shape, against central differences on a few weights.
    let mut q = deep_problem(8, 12, 10, 3);
    let (_, g) = ours_deep_loss_grad(&q);
    for (leaf, i) in [(2usize, 5usize), (4, 17), (6, 4), (7, 1)] {
        let h = 1e-6;
        q[leaf].as_mut_slice()[i] += h;
        let fp = deep_loss(&q);
        q[leaf].as_mut_slice()[i] -= 2.0 * h;
        let fm = deep_loss(&q);
        q[leaf].as_mut_slice()[i] += h;
        let fd = (fp - fm) / (2.0 * h);
        let got = g[leaf - 2].as_slice()[i];
        assert!((got - fd).abs() <= 1e-7 * (1.0 + fd.abs()), "deep {leaf}[{i}]: {got} vs {fd}");
    }
}
