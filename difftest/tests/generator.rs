//! The generator, the shrinker's reductions and the in-process verdicts of the macro.

use difftest::fuzz::{self, Verdict};
use difftest::gen::{self, Config};

include!("../corpus_excluded.rs");

#[test]
fn a_seed_names_one_program() {
    let cfg = Config::all();
    for i in 0..20 {
        let s = gen::program_seed(7, i);
        assert_eq!(gen::program(s, &cfg), gen::program(s, &cfg));
    }
    assert_ne!(
        gen::print_functions(&gen::program(1, &cfg)),
        gen::print_functions(&gen::program(2, &cfg))
    );
}

#[test]
fn generated_programs_are_well_scoped_and_so_are_their_reductions() {
    let cfg = Config::all();
    for i in 0..8 {
        let p = gen::program(gen::program_seed(11, i), &cfg);
        assert!(
            gen::well_scoped(&p),
            "program {i}:\n{}",
            gen::print_functions(&p)
        );
        let r = gen::reductions(&p);
        assert!(!r.is_empty(), "program {i} has no reduction");
        assert!(r.iter().all(gen::well_scoped));
        assert!(r.iter().all(|q| gen::size(q) <= gen::size(&p) + 40));
    }
}

#[test]
fn the_scope_check_rejects_an_undefined_name() {
    let cfg = Config::ci();
    let mut p = gen::program(gen::program_seed(3, 0), &cfg);
    p.functions[0].tail[0] = gen::Expr::Var("undefined".into());
    assert!(!gen::well_scoped(&p));
}

#[test]
fn switches_leave_their_constructs_out() {
    // Switches turned off by name (`--set`), `structs` being off in `Config::ci` already.
    let mut cfg = Config::ci();
    for name in [
        "swap",
        "zip",
        "array_outputs",
        "powi_runtime_exponent",
        "copied_in_zip",
        "generic",
    ] {
        *cfg.switch(name).expect("a switch") = false;
    }
    for i in 0..300 {
        let p = gen::program(gen::program_seed(5, i), &cfg);
        let src = gen::print_functions(&p);
        assert!(!src.contains(".copied().zip("), "{src}");
        assert!(!src.contains("T: Float"), "{src}");
        assert!(!src.contains(".swap("), "{src}");
        assert!(!src.contains(".zip("), "{src}");
        assert!(!src.contains("-> [f64; 3]"), "{src}");
        assert!(
            !src.contains("powi(k)") && !src.contains(" as i32)"),
            "{src}"
        );
    }
    assert!(cfg.switch("no_such_switch").is_none());
    let all = Config::all();
    let src: String = (0..300)
        .map(|i| gen::print_functions(&gen::program(gen::program_seed(5, i), &all)))
        .collect();
    for construct in [
        ".swap(",
        ".zip(",
        "-> [T; 3]",
        "powi(k)",
        "stop_gradient(",
        "stop = [",
        "wrt = [",
        "while ",
        "loop {",
        "break;",
        "continue;",
        "return ",
        ".rev()",
        ".enumerate()",
        ".fold(",
        ".product::<T>()",
        ".sum::<T>()",
        ".to_vec()",
        "vec![",
        ".powf(",
        ".atan2(",
        ".hypot(",
        ".mul_add(",
        ".max(",
        ".min(",
        ".ln()",
        ".acosh()",
        "T::",
        "let (",
        "if ",
        "} else {",
    ] {
        assert!(src.contains(construct), "no `{construct}` in 300 programs");
    }
}

/// The macro's compiler never panics on a generated program: whatever it rejects, it
/// rejects with a span error.
#[test]
fn the_macro_never_panics_on_generated_programs() {
    let cfg = Config::all();
    for i in 0..60 {
        let p = gen::program(gen::program_seed(13, i), &cfg);
        for (f, v) in fuzz::expand_all(&p) {
            assert!(
                !matches!(v, Verdict::Panicked(_)),
                "program {i} {f}: {v:?}\n{}",
                gen::print_functions(&p)
            );
        }
    }
}

/// The CI corpus stays inside what the macro accepts (a rejection there is a finding to
/// report, and a switch to turn off until it is fixed).
#[test]
fn the_macro_accepts_every_corpus_program() {
    let cfg = Config::ci();
    for i in 0..difftest::CORPUS_PROGRAMS {
        if CORPUS_EXCLUDED.iter().any(|(j, _)| *j == i) {
            continue;
        }
        let p = gen::program(gen::program_seed(difftest::CORPUS_SEED, i), &cfg);
        for (f, v) in fuzz::expand_all(&p) {
            assert_eq!(
                v,
                Verdict::Accepted,
                "corpus program {i} {f}:\n{}",
                gen::print_functions(&p)
            );
        }
    }
}
