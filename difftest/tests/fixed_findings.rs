//! Findings of the tester that are fixed: each shrunk reproducer from `difftest/findings/`
//! stays here, so a regression that brings one back fails `cargo test` (most were compile
//! errors of the generated code; `literal_in_loop_return` was a wrong gradient: its
//! `reproducer` test runs the checks against the dual-number oracle). The classes they belong to are on in
//! `Config::ci`, so the corpus checks them against the oracles too.
#![allow(warnings, clippy::all)]

mod array_to_slice_param {
    include!("fixed/array_to_slice_param.rs");
}
mod array_after_early_return {
    include!("fixed/array_after_early_return.rs");
}
mod break_in_reversed_loop {
    include!("fixed/break_in_reversed_loop.rs");
}
mod copy_after_return_rejected {
    include!("fixed/copy_after_return_rejected.rs");
}
mod copy_of_computed_after_return {
    include!("fixed/copy_of_computed_after_return.rs");
}
mod copied_zip_rejected {
    include!("fixed/copied_zip_rejected.rs");
}
mod early_return_rejected {
    include!("fixed/early_return_rejected.rs");
}
mod generic_seed_literal {
    include!("fixed/generic_seed_literal.rs");
}
mod generic_array_output {
    include!("fixed/generic_array_output.rs");
}
mod unbound_after_branch {
    include!("fixed/unbound_after_branch.rs");
}
mod vec_in_loop_not_found {
    include!("fixed/vec_in_loop_not_found.rs");
}
mod late_let_after_return {
    include!("fixed/late_let_after_return.rs");
}
mod literal_in_loop_return {
    include!("fixed/literal_in_loop_return.rs");
}
