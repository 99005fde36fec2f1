//! Which strategy the reverse pass picks for each loop shape, read off the generated code:
//! saved values (per-value stacks filled by the primal sweep), a replay of the iteration,
//! a fused loop (its adjoint inside the primal loop) and, inside a fused loop, snapshots of
//! the scratch arrays. The derivatives themselves are checked in `tests/loops.rs` (finite
//! differences and forward mode) and by the property tests; this file pins the choices.
use autodiff_expand::differentiate;

fn generated(attr: &str, item: &str) -> String {
    let out = differentiate(attr.parse().unwrap(), item.parse().unwrap()).to_string();
    assert!(!out.contains("compile_error"), "{out}");
    out
}

/// The body of the reverse derivative: `_grad` seeds the hidden `reverse_body` (or
/// `_vjp_body`) with ones, and that function holds the body.
fn grad(out: &str, name: &str) -> String {
    let start = out
        .find("fn reverse_body")
        .or_else(|| out.find(&format!("fn {name}__vjp_body")))
        .expect("a reverse derivative");
    let end = out[start + 3..]
        .find("fn ")
        .map_or(out.len(), |e| start + 3 + e);
    out[start..end].to_string()
}

/// A running sum over points whose body overwrites scratch arrays and steps a packed index:
/// fused, the index stepped back, nothing pushed (GMM without the loop over components).
#[test]
fn a_running_sum_over_a_scratch_body_is_fused() {
    let out = generated(
        "wrt = [x, l]",
        r#"fn packed(x: &[f64], l: &[f64], d: usize) -> f64 {
            let n = x.len() / d;
            let mut z = vec![0.0; d];
            let mut y = vec![0.0; d];
            let mut total = 0.0;
            for p in 0..n {
                for j in 0..d { z[j] = x[p * d + j] * 2.0; y[j] = z[j] * l[j]; }
                let mut li = d;
                for a in 0..d { for j in a + 1..d { y[j] += l[li] * z[a]; li += 1; } }
                let mut sq = 0.0;
                for j in 0..d { sq += y[j] * y[j]; }
                total += (1.0 + sq).ln();
            }
            total
        }"#,
    );
    let g = grad(&out, "packed");
    assert!(
        g.contains("unit_total"),
        "fused: a unit seed for the sum\n{g}"
    );
    assert!(
        g.contains("li - 1"),
        "the packed index is stepped back\n{g}"
    );
    assert!(!g.contains(". push ("), "nothing saved\n{g}");
}

/// GMM's shape: inside the fused loop over points, the loop over components restores its
/// scratch arrays from snapshots taken at the end of each iteration.
#[test]
fn scratch_arrays_inside_a_fused_loop_are_snapshots() {
    let out = generated(
        "wrt = [x, l]",
        r#"fn mixture(x: &[f64], l: &[f64], d: usize, k: usize) -> f64 {
            let n = x.len() / d;
            let tri = d * (d - 1) / 2;
            let mut z = vec![0.0; d];
            let mut y = vec![0.0; d];
            let mut m = vec![0.0; k];
            let mut total = 0.0;
            for p in 0..n {
                for c in 0..k {
                    for j in 0..d { z[j] = x[p * d + j] - l[c]; y[j] = z[j] * 2.0; }
                    let mut li = k + c * tri;
                    for a in 0..d { for j in a + 1..d { y[j] += l[li] * z[a]; li += 1; } }
                    let mut sq = 0.0;
                    for j in 0..d { sq += y[j] * y[j]; }
                    m[c] = l[c] - 0.5 * sq;
                }
                let mut se = 0.0;
                for c in 0..k { se += m[c].exp(); }
                total += se.ln();
            }
            total
        }"#,
    );
    let g = grad(&out, "mixture");
    assert!(
        g.contains("unit_total"),
        "the loop over points is fused\n{g}"
    );
    for array in ["z", "y"] {
        assert!(
            g.contains(&format!("push_slice (& mut saved_end_{array}")),
            "{array} saved whole\n{g}"
        );
        assert!(
            g.contains(&format!("pop_into (& mut saved_end_{array}")),
            "{array} restored\n{g}"
        );
    }
    assert!(
        g.contains("li - 1"),
        "the packed index is stepped back\n{g}"
    );
}

/// Without a running sum (the results go to an array read after the loop), the same loop
/// nest replays: the loop over components runs again in its reversed iteration.
#[test]
fn without_a_running_sum_the_iteration_is_replayed() {
    let out = generated(
        "wrt = [x, l]",
        r#"fn per_point(x: &[f64], l: &[f64], d: usize) -> f64 {
            let n = x.len() / d;
            let mut z = vec![0.0; d];
            let mut r = vec![0.0; n];
            for p in 0..n {
                for j in 0..d { z[j] = x[p * d + j] * l[j]; }
                let mut s = 0.0;
                for j in 0..d { s = (s + z[j]).sin(); }
                r[p] = s;
            }
            let mut t = 0.0;
            for p in 0..n { t += r[p] * r[p]; }
            t
        }"#,
    );
    let g = grad(&out, "per_point");
    assert!(
        !g.contains("unit_"),
        "not fused: `r` is read after the loop\n{g}"
    );
    // The replayed body fills `z` again inside the reversed loop over points.
    let reversed = g
        .find("for p in (0 .. n) . rev ()")
        .expect("a reversed loop over points");
    assert!(
        g[reversed..].contains("z [j] ="),
        "replayed: `z` is filled again\n{g}"
    );
}

/// A value a loop stores in an array element that nothing writes again is read back from
/// it in the reversed loop: `exp` is neither saved nor computed again.
#[test]
fn a_stored_value_is_read_back_from_its_element() {
    let out = generated(
        "wrt = x",
        r#"fn stored(x: &[f64]) -> f64 {
            let n = x.len();
            let mut t = vec![0.0; n];
            for i in 0..n { t[i] = x[i].exp(); }
            let mut s = 0.0;
            for i in 0..n { s += t[i] * x[i]; }
            s
        }"#,
    );
    let g = grad(&out, "stored");
    assert!(!g.contains(". push ("), "nothing saved\n{g}");
    assert_eq!(g.matches(". exp ()").count(), 1, "exp runs once\n{g}");
    let reversed = &g[g.find(". rev ()").expect("a reversed loop")..];
    assert!(reversed.contains("= t [i] ;"), "read back\n{g}");
}

/// A scratch array created inside the loop (`let mut z = vec![0.0; d];`) is created once
/// before it and refilled where it was created: the loop is still fused, nothing is saved,
/// and the body allocates nothing.
#[test]
fn an_array_created_in_the_loop_is_created_once_before_it() {
    let out = generated(
        "wrt = x",
        r#"fn f(x: &[f64], d: usize) -> f64 {
            let n = x.len() / d;
            let mut total = 0.0;
            for p in 0..n {
                let mut z = vec![0.0; d];
                for j in 0..d { z[j] = x[p * d + j].sin(); }
                let mut s = 0.0;
                for j in 0..d { s += z[j] * z[j]; }
                total += s.ln_1p();
            }
            total
        }"#,
    );
    let g = grad(&out, "f");
    let created = g.find("let mut z = vec ! [0.0 ; d] ;").expect("created");
    let looped = g.find("for p in").expect("the loop");
    assert!(created < looped, "created before the loop\n{g}");
    assert_eq!(g.matches("vec ! [0.0 ; d]").count(), 1, "once\n{g}");
    assert!(g.contains("unit_total"), "fused\n{g}");
    assert!(!g.contains(". push ("), "nothing saved\n{g}");
}

/// A working copy made in the loop (`let mut y = x.to_vec();`) is made once before it and
/// refilled from `x` over `x.len()`, which covers the copy: the loop is still fused.
#[test]
fn a_working_copy_made_in_the_loop_keeps_it_fused() {
    let out = generated(
        "wrt = x",
        r#"fn f(x: &[f64]) -> f64 {
            let n = x.len();
            let mut total = 0.0;
            for p in 0..3 {
                let mut y = x.to_vec();
                for i in 0..n { y[i] = (y[i] * (p as f64 + 1.0)).sin(); }
                let mut s = 0.0;
                for i in 0..n { s += y[i] * y[i]; }
                total += s.ln_1p();
            }
            total
        }"#,
    );
    let g = grad(&out, "f");
    let copied = g.find("let mut y = x . to_vec () ;").expect("copied");
    assert!(
        copied < g.find("for p in").expect("the loop"),
        "before the loop\n{g}"
    );
    assert!(g.contains("unit_total"), "fused\n{g}");
}
