// Corpus programs left out, each with the finding it hits (a class not yet isolated into a
// generator switch; see difftest/findings/). Remove an entry when its fix lands: the corpus then
// checks it. Any change to the generator renumbers the programs: rerun
// `cargo run -p difftest --release -- --seed 2026 --count 1100 --shrink 0` and rewrite this
// list from its REJECTED / COMPILE-ERROR / FAIL lines. Included by build.rs and
// tests/generator.rs.
#[allow(dead_code)]
const CORPUS_EXCLUDED: &[(usize, &str)] = &[
    (342, "rejected: an array created after an early return (findings/array_after_early_return.rs)"),
    (538, "rejected: an array created after an early return (findings/array_after_early_return.rs)"),
    (544, "rejected: an array created after an early return (findings/array_after_early_return.rs)"),
    (721, "rejected: an array created after an early return (findings/array_after_early_return.rs)"),
    (726, "rejected: an array created after an early return (findings/array_after_early_return.rs)"),
    (856, "rejected: an array created after an early return (findings/array_after_early_return.rs)"),
];
