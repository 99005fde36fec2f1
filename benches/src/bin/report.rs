//! Writes `BENCHMARKS.md` at the repository root from criterion's medians
//! (`target/criterion/<group>/<function>/<size>/new/estimates.json`).
//!
//! ```text
//! cargo bench --manifest-path benches/Cargo.toml
//! cargo run --release --manifest-path benches/Cargo.toml --bin report
//! ```
//! Our rows whose case the macro cannot differentiate yet print "n/a (… pending)", never a
//! number. The hand-written section "What the numbers mean" of an existing BENCHMARKS.md is
//! kept; a new file gets a placeholder.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use autodiff_benches::cases::{gmm, logsumexp, mlp, rosenbrock, Ours};
use autodiff_benches::expand_gen;

/// The products of benches/gemm.rs: (label, criterion size).
const GEMM_SHAPES: [(&str, &str); 9] = [
    ("784-256-10 `X·W1` 128×784×256", "784/XW1/128x784x256"),
    ("784-256-10 `h·W2` 128×256×10", "784/hW2/128x256x10"),
    ("784-256-10 `g·W2ᵀ` 128×10×256", "784/gW2t/128x10x256"),
    ("784-256-10 `hᵀ·g` 256×128×10", "784/htg/256x128x10"),
    ("784-256-10 `Xᵀ·g1` 784×128×256", "784/Xtg1/784x128x256"),
    ("64-128-10 `X·W1` 32×64×128", "64/XW1/32x64x128"),
    ("64-128-10 `Xᵀ·g1` 64×32×128", "64/Xtg1/64x32x128"),
    ("8-16-1 `X·W1` 32×8×16", "8/XW1/32x8x16"),
    ("8-16-1 `Xᵀ·g1` 8×32×16", "8/Xtg1/8x32x16"),
];

const MEANING: &str = "## What the numbers mean";
const PLACEHOLDER: &str =
    "_To be written from the measurements above: where the generated code stands against \
the hand-written gradient, where peers win, and what is still pending._\n";

fn criterion_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir).join("criterion"),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("target/criterion"),
    }
}

/// The median (ns) of one benchmark, if it was run.
fn median(group: &str, function: &str, size: &str) -> Option<f64> {
    // criterion's directory names, with `/` (and a few others) made `_`.
    let safe = |s: &str| s.replace(['?', '"', '/', '\\', '*', '<', '>', ':', '|', '^'], "_");
    let path = criterion_dir()
        .join(group)
        .join(safe(function))
        .join(safe(size))
        .join("new/estimates.json");
    let text = std::fs::read_to_string(path).ok()?;
    let after = &text[text.find("\"median\"")?..];
    let after = &after[after.find("\"point_estimate\":")? + "\"point_estimate\":".len()..];
    let end = after.find([',', '}'])?;
    after[..end].trim().parse().ok()
}

fn time(ns: f64) -> String {
    if ns < 1e3 {
        format!("{ns:.1} ns")
    } else if ns < 1e6 {
        format!("{:.2} µs", ns / 1e3)
    } else if ns < 1e9 {
        format!("{:.2} ms", ns / 1e6)
    } else {
        format!("{:.2} s", ns / 1e9)
    }
}

fn ratio(a: f64, b: f64) -> String {
    let r = a / b;
    if r >= 100.0 {
        format!("{r:.0}×")
    } else if r >= 10.0 {
        format!("{r:.1}×")
    } else {
        format!("{r:.2}×")
    }
}

/// One row of a case table.
struct Row {
    label: &'static str,
    function: &'static str,
    /// For our row: whether the cell at a size is generated code, or pending (message).
    ours: Option<fn(&str) -> Ours>,
}

fn row(label: &'static str, function: &'static str) -> Row {
    Row {
        label,
        function,
        ours: None,
    }
}

/// A table: one column per size; cells are `median (×primal, ×hand)`.
fn table(out: &mut String, group: &str, sizes: &[&str], header: &str, rows: &[Row]) {
    let _ = write!(out, "| implementation |");
    for s in sizes {
        let _ = write!(out, " {header}{s} |");
    }
    let _ = write!(out, "\n|---|");
    for _ in sizes {
        let _ = write!(out, "---|");
    }
    out.push('\n');
    for r in rows {
        let _ = write!(out, "| {} |", r.label);
        for s in sizes {
            if let Some(status) = r.ours {
                if let Ours::Pending(why) = status(s) {
                    let _ = write!(out, " n/a ({why}) |");
                    continue;
                }
            }
            let primal = median(group, "primal", s);
            let hand = median(group, "hand", s);
            let cell = match median(group, r.function, s) {
                None => "—".to_string(),
                Some(t) if r.function == "primal" => time(t),
                Some(t) => {
                    let mut c = time(t);
                    let mut parts = vec![];
                    if let Some(p) = primal {
                        parts.push(format!("{} primal", ratio(t, p)));
                    }
                    if r.function != "hand" {
                        if let Some(h) = hand {
                            parts.push(format!("{} hand", ratio(t, h)));
                        }
                    }
                    if !parts.is_empty() {
                        let _ = write!(c, " ({})", parts.join(", "));
                    }
                    c
                }
            };
            let _ = write!(out, " {cell} |");
        }
        out.push('\n');
    }
    out.push('\n');
}

fn machine() -> (String, usize) {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = info
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map(|m| m.trim().to_string())
        .unwrap_or_else(|| "unknown CPU".to_string());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    (model, cores)
}

fn rustc_version() -> String {
    Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string()))
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| "unknown rustc".to_string())
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("benches/ has a parent")
        .to_path_buf();
    let target = root.join("BENCHMARKS.md");
    let kept = std::fs::read_to_string(&target)
        .ok()
        .and_then(|old| old.find(MEANING).map(|i| old[i..].to_string()))
        .unwrap_or_else(|| format!("{MEANING}\n\n{PLACEHOLDER}"));

    let (cpu, cores) = machine();
    let mut out = String::new();
    out.push_str("# Benchmarks\n\n");
    out.push_str(
        "Medians of criterion runs (warm-up 1 s, measurement 2.5 s, 20 samples; 10 flat samples \
         for the slowest forward-mode peers), release build. Each cell: median time, then the \
         ratio to the primal and to the hand-written gradient. Every gradient here is checked \
         against the hand-written one or finite differences by \
         `cargo test --manifest-path benches/Cargo.toml`.\n\n",
    );
    let _ = writeln!(
        out,
        "- Machine: {cpu}, {cores} cores available (shared with other builds while measured)"
    );
    let _ = writeln!(out, "- Compiler: {}", rustc_version());
    out.push_str(
        "- Reproduce:\n\n  ```text\n  cargo bench --manifest-path benches/Cargo.toml\n  \
         cargo run --release --manifest-path benches/Cargo.toml --bin report\n  ```\n\n",
    );
    out.push_str(
        "Peers: [`num-dual`](https://crates.io/crates/num-dual) 0.15 (forward mode, one pass \
         with an n-dimensional heap-allocated dual vector via `num_dual::gradient`), \
         [`autodiff`](https://crates.io/crates/autodiff) 0.7 (forward mode, its `grad`: one \
         pass per input), [`ad_trait`](https://crates.io/crates/ad_trait) 0.3 (reverse mode on \
         a global tape, `ReverseAD`), [`symdiff`](https://crates.io/crates/symdiff) 2 (closed \
         form generated at compile time; gradient only, no value; only for functions written \
         out without loops). \"—\": not run for that size (see each case).\n\n",
    );

    out.push_str("## 1. Chained Rosenbrock over a slice\n\n");
    out.push_str(
        "`Σ 100 (x[i+1] − x[i]²)² + (1 − x[i])²`. Primal: the function `#[differentiate(wrt = \
         x)]` is applied to. Hand-written (the baseline of the `hand` ratios): the two-loop \
         gradient of GENERATED.md §2 with the adjoint of `x[i+1]` carried in a register; \
         \"verbatim\" is GENERATED.md §2 as printed (read-modify-write of `a_x`, see below); \
         \"fused\" is value and gradient in one forward loop. Ours: the generated `rosen_grad` \
         over the slice at every n, and at n = 2 also `rosen2_grad` of the straight-line \
         `rosen2(x0, x1)`. The experiment row is NOT ours: a hand-edited copy of the code the \
         previous macro generated (see \"What to change in the macro\"). symdiff needs the sum written out, done for \
         n = 2 and 10.\n\n",
    );
    table(
        &mut out,
        "rosenbrock",
        &["2", "10", "100", "1000"],
        "n = ",
        &[
            row("primal", "primal"),
            row("hand-written (carried adjoint)", "hand"),
            row("hand-written, GENERATED.md §2 verbatim", "hand-rmw"),
            row("hand-written, fused one loop", "hand-fused"),
            Row {
                label: "**ours** (`rosen_grad`, slice)",
                function: "ours",
                ours: Some(|_| rosenbrock::OURS),
            },
            row("**ours** (`rosen2_grad`, scalars)", "ours-scalar"),
            row("experiment: ours + carried adjoint", "exp-carry"),
            row("num-dual", "num-dual"),
            row("autodiff 0.7", "autodiff-0.7"),
            row("ad_trait (reverse)", "ad_trait"),
            row("symdiff", "symdiff"),
        ],
    );

    out.push_str("## 2. LogSumExp\n\n");
    out.push_str(
        "`max(x) + ln Σ exp(x[i] − max(x))`; the gradient is softmax(x). The shift is a \
         constant for every implementation (the value is invariant to it); ours computes it with \
         a max loop under `stop_gradient`. Primal: the function `#[differentiate]` is applied \
         to. The experiment row is NOT ours: a hand-edited copy of the code the previous \
         macro generated.\n\n",
    );
    table(
        &mut out,
        "logsumexp",
        &["1000", "10000"],
        "n = ",
        &[
            row("primal", "primal"),
            row("hand-written (softmax)", "hand"),
            Row {
                label: "**ours** (`_grad`)",
                function: "ours",
                ours: Some(|_| logsumexp::OURS),
            },
            row("experiment: ours + saved `exp`", "exp-save-exp"),
            row("num-dual", "num-dual"),
            row("autodiff 0.7", "autodiff-0.7"),
            row("ad_trait (reverse)", "ad_trait"),
        ],
    );

    out.push_str("## 3. ADBench GMM objective and gradient\n\n");
    out.push_str(
        "Files of `<repo>/../shared/data/gmm` (n = 1000 points, k = 5; 30 and 330 parameters). \
         The objective matches ADBench's reference values to 1e-9 relative, the hand-written \
         gradient matches central differences. ADBench's published gradient/objective ratios: \
         hand-written 1.9–7.2×, Tapenade 3.7–15.5×, Adept 11–45×, ADOL-C 13–28×. num-dual is \
         not run: its dynamically sized dual is not `Copy`, and the objective is written once \
         for `Copy` scalars; symdiff takes no loops. Objective: `gmm_objective`, the one \
         function over slices that `#[differentiate]` is applied to; \"generic\" is the \
         objective the peers run (same arithmetic over a `Scalar` trait).\n\n",
    );
    table(
        &mut out,
        "gmm",
        &["d2_K5", "d10_K5"],
        "",
        &[
            row("objective", "primal"),
            row("objective, generic", "primal-generic"),
            row("hand-written gradient", "hand"),
            Row {
                label: "**ours** (`_grad`)",
                function: "ours",
                ours: Some(|_| gmm::OURS),
            },
            row("autodiff 0.7 (one pass per parameter)", "autodiff-0.7"),
            row("ad_trait (reverse)", "ad_trait"),
        ],
    );

    out.push_str("## 4. Perceptrons over tensors\n\n");
    out.push_str(
        "`tanh(X·W1 + b1)·W2 + b2` with `autodiff::Tensor`, batch 32 for 8-16-1 and \
         64-128-10, 128 for 784-256-10; mean squared error for 8-16-1, mean cross-entropy of \
         `log_softmax` otherwise. Loss (the primal, also the forward pass): `mse_loss` and \
         `cross_entropy_loss`, the functions over `&Tensor<f64>` that \
         `#[differentiate(wrt = [w1, b1, w2, b2])]` is applied to; ours is their `_grad`. \
         Hand-written: `matmul_vjp`, `unbroadcast`, `log_softmax_vjp`. Every row runs inside \
         a rayon pool of the size it names (the runtime is built with its `rayon` feature): \
         `1t` one thread, `2t` two, where GEMMs of at least 2^21 multiply-adds are split; \
         \"2 shards\" is the batch as two data-parallel shards of 64 rows on two threads, \
         gradients summed by `allreduce::sum_in_order`. f32 rows: the same loss over \
         `Tensor<f32>`. No peer: the scalar AD crates above have no tensor type.\n\n",
    );
    table(
        &mut out,
        "mlp",
        &["8-16-1", "64-128-10", "784-256-10"],
        "",
        &[
            row("loss (forward), 1t", "primal"),
            row("loss (forward), 2t", "primal-2t"),
            row("hand-written gradient, 1t", "hand"),
            Row {
                label: "**ours** (`_grad`), 1t",
                function: "ours",
                ours: Some(|_| mlp::OURS),
            },
            Row {
                label: "**ours** (`_grad`), 2t",
                function: "ours-2t",
                ours: Some(|_| mlp::OURS),
            },
            Row {
                label: "**ours**, 2 shards on 2t",
                function: "ours-dp2",
                ours: Some(|_| mlp::OURS),
            },
            row("f32 loss (forward), 1t", "primal-f32"),
            row("f32 **ours** (`_grad`), 1t", "ours-f32"),
            row("f32 **ours** (`_grad`), 2t", "ours-f32-2t"),
        ],
    );
    out.push_str(
        "The wider case: `tanh(tanh(X·W1 + b1)·W2 + b2)·W3 + b3`, 1024-1024-1024-10, batch \
         256, mean cross-entropy (`deep_cross_entropy_loss`).\n\n",
    );
    table(
        &mut out,
        "mlp",
        &["1024-1024-1024-10"],
        "",
        &[
            row("loss (forward), 1t", "primal"),
            row("loss (forward), 2t", "primal-2t"),
            row("**ours** (`_grad`), 1t", "ours"),
            row("**ours** (`_grad`), 2t", "ours-2t"),
        ],
    );

    out.push_str("## 5. Compile-time cost of `#[differentiate]`\n\n");
    out.push_str(
        "`autodiff_expand::differentiate` (the macro's compiler as a library, no proc-macro \
         boundary) on `fn chain(x: f64, y: f64) -> f64` made of n statements \
         `let v_i = (v_{i-1} * x + y).sin();`, with `wrt = [x, y]`. Tokens count each \
         delimited group as one plus its contents. Target: < 20 ms for 100 statements, \
         generated tokens linear in the input.\n\n",
    );
    out.push_str(
        "| statements | input tokens | generated tokens | generated / input | expansion (median) | per statement |\n\
         |---|---|---|---|---|---|\n",
    );
    for n in expand_gen::SIZES {
        let (input, output) = expand_gen::token_counts(n);
        let t = median("expand", "differentiate", &n.to_string());
        let _ = writeln!(
            out,
            "| {n} | {input} | {output} | {:.2} | {} | {} |",
            output as f64 / input as f64,
            t.map_or("—".to_string(), time),
            t.map_or("—".to_string(), |t| time(t / n as f64)),
        );
    }
    out.push('\n');

    out.push_str("## 6. GEMM kernels at the perceptron shapes\n\n");
    out.push_str(
        "`benches/benches/gemm.rs`: `C = A·B` (m×k times k×n) for the products of the \
         perceptrons' forward and backward passes, the transposed operands of `g·W2ᵀ`, `hᵀ·g` \
         and `Xᵀ·g1` read through strides. matrixmultiply 0.3 (what the runtime uses; one \
         thread), the `gemm` crate 0.19 with its AVX-512 kernels (`x86-v4`), on one thread \
         and with `Parallelism::Rayon(2)`.\n\n",
    );
    out.push_str("| product (m×k×n) | f64 matrixmultiply | f64 gemm | f64 gemm, 2 threads | f32 matrixmultiply | f32 gemm | f32 gemm, 2 threads |\n|---|---|---|---|---|---|---|\n");
    for (label, size) in GEMM_SHAPES {
        let _ = write!(out, "| {label} |");
        for t in ["f64", "f32"] {
            let base = median("gemm", &format!("{t}/matrixmultiply"), size);
            for k in ["matrixmultiply", "gemm-1", "gemm-rayon2"] {
                let cell = match (median("gemm", &format!("{t}/{k}"), size), base) {
                    (Some(v), Some(b)) if k != "matrixmultiply" => {
                        format!("{} ({})", time(v), ratio(v, b))
                    }
                    (Some(v), _) => time(v),
                    (None, _) => "—".to_string(),
                };
                let _ = write!(out, " {cell} |");
            }
        }
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&kept);
    if !out.ends_with('\n') {
        out.push('\n');
    }
    std::fs::write(&target, out).unwrap_or_else(|e| panic!("{}: {e}", target.display()));
    println!("wrote {}", target.display());
}
