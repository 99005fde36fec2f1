//! Part 1 of the CI corpus written by build.rs (the fuzz command's `--seed 2026` programs).

mod corpus {
    include!(concat!(env!("OUT_DIR"), "/corpus_1.rs"));
}

#[test]
fn corpus_part_1() {
    difftest::assert_corpus(corpus::all());
}
