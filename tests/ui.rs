//! Compile-fail tests: each case in `tests/ui/<pass>/` is one mistake, and its `.stderr` is
//! what the user sees. rustc's output drifts between versions: the `.stderr` files are
//! made with `TRYBUILD=overwrite` on the toolchain CI uses, then reviewed.
#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*/*.rs");
}
