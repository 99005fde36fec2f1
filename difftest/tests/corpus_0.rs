//! Part 0 of the CI corpus written by build.rs (the fuzz command's `--seed 2026` programs).

mod corpus {
    include!(concat!(env!("OUT_DIR"), "/corpus_0.rs"));
}

#[test]
fn corpus_part_0() {
    difftest::assert_corpus(corpus::all());
}
