//! EXPERIMENTS, NOT OURS: hand-edited copies of code that `#[differentiate]` generated before
//! commit 98ff7ae (the macro of the previous BENCHMARKS.md run), to measure what a proposed
//! change to the macro would buy (BENCHMARKS.md, "What to change in the macro"). The report
//! prints them in rows labelled "experiment". Each is checked against the generated gradient
//! by the correctness tests (the current macro's gradients are still bitwise the same).

// Kept as close to the generated code as possible (which carries `#[allow(clippy::all)]`), so
// that the edits are the only differences.
#![allow(clippy::needless_range_loop, clippy::assign_op_pattern)]

/// `rosen_grad` as `#[differentiate(wrt = x)]` generated it before 98ff7ae (printed with the
/// `show_generated` bin, `ZeroLike::zero_like` replaced by `0.0`, nothing else changed)
/// EXCEPT the reverse loop's adjoint of `x`: the contributions to `adj_x[i + 1]` and
/// `adj_x[i]` are accumulated in a scalar carried across iterations (`hold`), and each
/// element is stored once. Same additions in the same order, so bitwise the same result.
pub fn rosen_grad_carry(x: &[f64]) -> (f64, Vec<f64>) {
    let mut s = 0.0;
    let v0 = x.len();
    let v1 = v0 - 1;
    for i in 0..v1 {
        let v2 = i + 1;
        let v3 = x[v2];
        let v4 = x[i];
        let v5 = x[i];
        let v6 = v4 * v5;
        let a = v3 - v6;
        let v7 = x[i];
        let b = 1.0 - v7;
        let v8 = 100.0 * a;
        let v9 = v8 * a;
        let v10 = b * b;
        let v11 = v9 + v10;
        let v12 = s;
        let v13 = v12 + v11;
        s = v13;
    }
    let v14 = s;
    let mut adj_x = x.iter().map(|_| 0.0).collect::<Vec<f64>>();
    let mut adj_s = 0.0;
    let v15 = adj_s;
    let v16 = v15 + 1.0;
    adj_s = v16;
    // EDIT: the running adjoint of x[i + 1] (the element at v1 is touched by no later
    // iteration, so it starts from memory)
    let mut hold = adj_x[v1];
    for i in (0..v1).rev() {
        let v2 = i + 1;
        let v3 = x[v2];
        let v4 = x[i];
        let v5 = x[i];
        let v6 = v4 * v5;
        let a = v3 - v6;
        let v7 = x[i];
        let b = 1.0 - v7;
        let v8 = 100.0 * a;
        let v17 = adj_s;
        let v18 = 0.0;
        adj_s = v18;
        let v19 = adj_s;
        let v20 = v19 + v17;
        adj_s = v20;
        let v21 = v17 * b;
        let v22 = v21 + v21;
        let v23 = v17 * a;
        let v24 = v17 * v8;
        let v25 = v23 * 100.0;
        let v26 = v24 + v25;
        let v27 = -v22;
        // EDIT: was `adj_x[i] = adj_x[i] + v27; .. + v30; .. + v29; adj_x[v2] = adj_x[v2] + v26;`
        let v28 = -v26;
        let v29 = v28 * v5;
        let v30 = v28 * v4;
        adj_x[v2] = hold + v26;
        hold = adj_x[i] + v27 + v30 + v29;
    }
    adj_x[0] = hold;
    (v14, adj_x)
}

/// `logsumexp_grad` as `#[differentiate(wrt = x)]` generated it before 98ff7ae from
/// [`crate::cases::logsumexp::logsumexp`] (`ZeroLike::zero_like` replaced by `0.0`) EXCEPT
/// that the primal loop saves each `exp(x[i] - m)` (one f64 per iteration, in a buffer of
/// known length) and the reverse loop reads it back instead of calling `exp` again.
pub fn logsumexp_grad_save_exp(x: &[f64]) -> (f64, Vec<f64>) {
    let v0 = x[0];
    let mut m = v0;
    let v1 = x.len();
    for v2 in 0..v1 {
        let xi = x[v2];
        let v3 = m;
        let v4 = v3.max(xi);
        m = v4;
    }
    let v5 = m;
    let m_1 = v5;
    let mut s = 0.0;
    let v6 = x.len();
    // EDIT: a buffer for the exponentials
    let mut saved_v9 = Vec::with_capacity(v6);
    for v7 in 0..v6 {
        let xi_1 = x[v7];
        let v8 = xi_1 - m_1;
        let v9 = v8.exp();
        saved_v9.push(v9);
        let v10 = s;
        let v11 = v10 + v9;
        s = v11;
    }
    let v12 = s;
    let v13 = v12.ln();
    let v14 = m_1 + v13;
    let mut adj_x = x.iter().map(|_| 0.0).collect::<Vec<f64>>();
    let mut adj_s = 0.0;
    let v15 = 1.0 / v12;
    let v16 = adj_s;
    let v17 = v16 + v15;
    adj_s = v17;
    for v7 in (0..v6).rev() {
        // EDIT: was `let v9 = (x[v7] - m_1).exp();`
        let v9 = saved_v9[v7];
        let v18 = adj_s;
        let v19 = 0.0;
        adj_s = v19;
        let v20 = adj_s;
        let v21 = v20 + v18;
        adj_s = v21;
        let v22 = v18 * v9;
        adj_x[v7] = adj_x[v7] + v22;
    }
    (v14, adj_x)
}
