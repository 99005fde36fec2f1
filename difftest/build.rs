//! Writes the CI corpus: `CORPUS_PROGRAMS` programs from `CORPUS_SEED`, printed by the same
//! generator the fuzz command runs (src/gen.rs, included here), in `UNITS` files that
//! `tests/corpus_*.rs` include, so the corpus is a few compilation units that build in
//! parallel. The programs are the fuzz command's `--seed 2026 --config ci` programs
//! `0..CORPUS_PROGRAMS`, less the ones `CORPUS_EXCLUDED` lists with their findings.

#[path = "src/gen.rs"]
#[allow(dead_code)]
mod gen;

use std::fmt::Write as _;

use gen::{CORPUS_PROGRAMS, CORPUS_SEED};

include!("corpus_excluded.rs");

const UNITS: usize = 4;

fn main() {
    println!("cargo:rerun-if-changed=src/gen.rs");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=corpus_excluded.rs");
    let out = std::env::var("OUT_DIR").unwrap_or_else(|_| ".".into());
    let cfg = gen::Config::ci();
    let per = CORPUS_PROGRAMS.div_ceil(UNITS);
    let mut functions = 0;
    for u in 0..UNITS {
        let mut s = String::new();
        let range: Vec<usize> = (u * per..((u + 1) * per).min(CORPUS_PROGRAMS))
            .filter(|i| !CORPUS_EXCLUDED.iter().any(|(j, _)| j == i))
            .collect();
        for &i in &range {
            let p = gen::program(gen::program_seed(CORPUS_SEED, i), &cfg);
            functions += p.functions.len();
            s.push_str(&gen::print_module(&format!("p{i}"), &p));
        }
        s.push_str("/// Every program's checks.\npub fn all() -> Vec<(usize, difftest::Checks)> {\n    vec![");
        for i in range {
            let _ = write!(s, "({i}, p{i}::checks()), ");
        }
        s.push_str("]\n}\n");
        write_if_changed(&format!("{out}/corpus_{u}.rs"), &s);
    }
    write_if_changed(
        &format!("{out}/corpus_size.rs"),
        &format!("pub const FUNCTIONS: usize = {functions};\n"),
    );
}

/// Rewrites a file only when its text changes, so an unchanged part is not recompiled.
fn write_if_changed(path: &str, text: &str) {
    if std::fs::read_to_string(path).ok().as_deref() != Some(text) {
        let _ = std::fs::write(path, text);
    }
}
