//! `cargo run -p difftest --release -- [--seed N] [--count N] [--batch N] [--config ci|all]
//! [--set SWITCH[=false],..] [--shrink N] [--dir NAME]`: generates `count` programs from
//! `seed` (random when not given), checks each in-process against the macro's compiler,
//! compiles and runs them in batches in a temporary crate under `target/difftest/NAME`
//! (default `run`; runs with different names may go at once), and shrinks up to `--shrink`
//! failures (default 3) to reproducers written to `target/difftest/repro-SEED-INDEX.rs` and
//! printed, and as many programs the macro rejects (one per message, shrunk in-process).
//! `--print I` prints program `I` of the seed and exits; `--only I` runs (and shrinks)
//! program `I` alone; `--set zip,generic=false` turns the generator's switches (the fields
//! of `Config` in src/gen.rs) on or off on top of `--config`.

use difftest::fuzz::{self, Runner, Verdict};
use difftest::gen;
use std::collections::BTreeMap;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let get = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let seed: u64 = get("--seed")
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64 % 1_000_000)
                .unwrap_or(1)
        });
    let only: Option<usize> = get("--only").and_then(|s| s.parse().ok());
    let count: usize = get("--count").and_then(|s| s.parse().ok()).unwrap_or(200);
    let batch: usize = get("--batch").and_then(|s| s.parse().ok()).unwrap_or(150);
    let shrinks: usize = get("--shrink").and_then(|s| s.parse().ok()).unwrap_or(3);
    let cfg_name = get("--config").unwrap_or_else(|| "ci".into());
    let Some(mut cfg) = fuzz::config(&cfg_name) else {
        eprintln!("--config is `ci` or `all`");
        std::process::exit(2);
    };
    for set in get("--set").iter().flat_map(|s| s.split(',')) {
        let (name, on) = set.split_once('=').unwrap_or((set, "true"));
        match cfg.switch(name) {
            Some(switch) => *switch = on != "false",
            None => {
                eprintln!(
                    "--set: no generator switch `{name}` (see Config in difftest/src/gen.rs)"
                );
                std::process::exit(2);
            }
        }
    }
    if let Some(i) = get("--print").and_then(|s| s.parse::<usize>().ok()) {
        let p = gen::program(fuzz::program_seed(seed, i), &cfg);
        println!("{}", gen::print_functions(&p));
        return;
    }
    println!("difftest: seed {seed}, {count} programs, config {cfg_name}");
    let dir = get("--dir").unwrap_or_else(|| "run".into());
    let runner = Runner::new(&dir);
    let mut functions = 0;
    let mut status: BTreeMap<String, usize> = BTreeMap::new();
    let mut failures: Vec<(usize, fuzz::RunResult)> = Vec::new();
    let mut rejected = 0;
    // one program per distinct rejection message, shrunk at the end
    let mut rejections: Vec<(usize, gen::Program, String, Verdict)> = Vec::new();
    let mut start = 0;
    while start < count {
        let end = (start + batch).min(count);
        let progs: Vec<(usize, gen::Program)> = (start..end)
            .filter(|i| only.is_none_or(|o| o == *i))
            .map(|i| (i, gen::program(fuzz::program_seed(seed, i), &cfg)))
            .collect();
        let mut ok = Vec::new();
        for (i, p) in &progs {
            let verdicts = fuzz::expand_all(p);
            let bad: Vec<&(String, Verdict)> = verdicts
                .iter()
                .filter(|v| v.1 != Verdict::Accepted)
                .collect();
            if bad.is_empty() {
                ok.push((*i, p));
            } else {
                rejected += 1;
                for (f, v) in bad {
                    println!("REJECTED program {i} {f}: {v:?}");
                    if !rejections.iter().any(|(_, _, _, w)| w == v) {
                        rejections.push((*i, p.clone(), f.clone(), v.clone()));
                    }
                }
            }
        }
        let (results, bad) = fuzz::run_bisect(&runner, &ok);
        for (i, e) in bad {
            println!("COMPILE-ERROR program {i}: {e}");
            failures.push((
                i,
                fuzz::RunResult {
                    program: i,
                    function: "?".into(),
                    status: "FAIL".into(),
                    kind: "compile".into(),
                    message: e,
                },
            ));
        }
        for r in results {
            functions += 1;
            *status.entry(r.status.clone()).or_default() += 1;
            if r.status == "FAIL" {
                println!(
                    "FAIL program {} {}: {} {}",
                    r.program, r.function, r.kind, r.message
                );
                failures.push((r.program, r));
            }
        }
        println!(
            "... {end}/{count} programs, {functions} functions: {status:?}, {rejected} rejected, {} failures",
            failures.len()
        );
        start = end;
    }
    // shrink one failure per kind first, then more
    let mut kinds_done: Vec<String> = Vec::new();
    let mut order: Vec<&(usize, fuzz::RunResult)> = Vec::new();
    for f in &failures {
        if !kinds_done.contains(&f.1.kind) {
            kinds_done.push(f.1.kind.clone());
            order.push(f);
        }
    }
    for f in &failures {
        if !order.iter().any(|o| std::ptr::eq(*o, f)) {
            order.push(f);
        }
    }
    let shrinker = Runner::new(&format!("{dir}-shrink"));
    for (i, r) in order.into_iter().take(shrinks) {
        let p = gen::program(fuzz::program_seed(seed, *i), &cfg);
        println!("shrinking program {i} ({} {}) ...", r.function, r.kind);
        let small = fuzz::shrink(&shrinker, &p, &r.function, &r.kind, 48, &mut |m| {
            println!("{m}")
        });
        let title = format!(
            "difftest --seed {seed} program {i}: {} fails `{}`: {}",
            r.function, r.kind, r.message
        );
        let text = fuzz::reproducer(&title, &small);
        let path = fuzz::root()
            .join("target")
            .join("difftest")
            .join(format!("repro-{seed}-{i}.rs"));
        let _ = std::fs::write(&path, &text);
        println!(
            "reproducer ({}):\n{}",
            path.display(),
            gen::print_functions(&small)
        );
    }
    for (i, p, f, v) in rejections.iter().take(shrinks) {
        let small = fuzz::shrink_rejection(p, f, v);
        println!(
            "rejection reproducer (program {i} {f}: {v:?}):\n{}",
            gen::print_functions(&small)
        );
    }
    println!(
        "difftest: seed {seed}: {count} programs, {functions} functions checked, {status:?}, {rejected} programs rejected by the macro, {} failures",
        failures.len()
    );
    if !failures.is_empty() || rejected > 0 {
        std::process::exit(1);
    }
}
