//! Derivative arrays reached through views: `emit` declares an adjoint (or tangent) array as a
//! `Vec` that owns it plus a slice of its witness's length, `&mut adj_x_owner[..x.len()]`, so
//! the optimizer can drop the bounds check of `adj_x[i]` after the one of `x[i]`. The
//! function returns the owner. These tests read the generated code; the values of the
//! derivatives are checked by every test of the root package.
use autodiff_expand::differentiate;

fn generated(attr: &str, item: &str) -> String {
    let out = differentiate(attr.parse().unwrap(), item.parse().unwrap()).to_string();
    assert!(!out.contains("compile_error"), "{out}");
    out
}

/// The body of the generated function `name`, up to the next generated function. `f_grad`,
/// `f_vjp` and `f_jvp` call hidden `reverse_body` and `forward_body` functions when the
/// calling convention differentiates the same parameters; those hold the bodies.
fn body(out: &str, name: &str) -> String {
    let start = out.find(&format!("fn {name} <")).expect("the function");
    let end = out[start + 3..]
        .find("fn ")
        .map_or(out.len(), |e| start + 3 + e);
    out[start..end].to_string()
}

#[test]
fn a_slice_adjoint_is_a_view_of_the_slice_length_and_its_owner_is_returned() {
    let out = generated(
        "wrt = x",
        r#"fn sumsq(x: &[f64]) -> f64 {
            let mut s = 0.0;
            for i in 0..x.len() { s += x[i] * x[i]; }
            s
        }"#,
    );
    assert!(body(&out, "sumsq_grad").contains("sumsq :: reverse_body"));
    let g = body(&out, "reverse_body");
    assert!(
        g.contains("let adj_x = & mut adj_x_owner [.. x . len ()] ;"),
        "a view of x's length\n{g}"
    );
    assert!(g.contains("adj_x [i]"), "the body indexes the view\n{g}");
    assert!(
        g.contains("(adj_x_owner ,)) }"),
        "the owner is returned\n{g}"
    );
}

/// A tangent array handed whole to a call (its forward derivative takes a slice tangent by
/// a trait the view does not implement) keeps its `Vec`: no view, no owner.
#[test]
fn an_array_passed_whole_to_a_call_has_no_view() {
    let out = generated(
        "wrt = x",
        r#"fn layered(x: &[f64]) -> f64 {
            let mut w = vec![0.0; x.len()];
            for i in 0..x.len() { w[i] = x[i].tanh(); }
            dot(x, &w)
        }"#,
    );
    let jvp = body(&out, "forward_body");
    assert!(jvp.contains("derivative :: forward_derivative"), "{jvp}");
    assert!(
        !jvp.contains("_owner"),
        "no view of a tangent used whole\n{jvp}"
    );
    // The reverse sweep only adds the callee's gradient into `adj_w`: a view.
    let grad = body(&out, "reverse_body");
    assert!(grad.contains("adj_w_owner"), "{grad}");
}
