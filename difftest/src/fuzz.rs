//! The fuzz command's machinery: check each program in-process against the macro's
//! compiler (a rejection must be a span error, never a panic), write batches of programs into
//! a temporary crate under `target/difftest/`, compile and run it, and shrink failures by
//! compiling batches of reduced candidates.

use crate::gen::{self, Config, Program};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;
use std::time::{Duration, Instant};

/// The workspace root (the fuzz crate depends on `differentiate` and `difftest` by path).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// The macro's verdict on one function, in-process.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    Accepted,
    /// A span error (`syn::Error`), with its message.
    Rejected(String),
    /// The compiler panicked (never allowed).
    Panicked(String),
}

/// Runs `autodiff_expand::expand` on every function of `p`.
pub fn expand_all(p: &Program) -> Vec<(String, Verdict)> {
    p.functions
        .iter()
        .map(|f| {
            let mut src = String::new();
            gen::print_function(
                &mut src,
                f,
                if p.generic {
                    gen::Style::Generic
                } else {
                    gen::Style::F64
                },
            );
            (f.name.clone(), expand_source(&gen::attribute(f), &src))
        })
        .collect()
}

/// Runs the macro's compiler on one function's source and attribute arguments.
pub fn expand_source(attr: &str, src: &str) -> Verdict {
    let (Ok(attr), Ok(item)) = (
        proc_macro2::TokenStream::from_str(attr),
        proc_macro2::TokenStream::from_str(src),
    ) else {
        return Verdict::Rejected("the generated source does not tokenize".into());
    };
    let function: syn::ItemFn = match syn::parse2(item) {
        Ok(f) => f,
        Err(e) => return Verdict::Rejected(format!("not a function: {e}")),
    };
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let r = std::panic::catch_unwind(|| autodiff_expand::expand(attr, &function));
    std::panic::set_hook(hook);
    match r {
        Ok(Ok(_)) => Verdict::Accepted,
        Ok(Err(e)) => Verdict::Rejected(e.to_string()),
        Err(e) => Verdict::Panicked(
            e.downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default(),
        ),
    }
}

/// One result line of a run.
#[derive(Clone, Debug, PartialEq)]
pub struct RunResult {
    pub program: usize,
    pub function: String,
    /// `PASS`, `SKIP` or `FAIL`.
    pub status: String,
    pub kind: String,
    pub message: String,
}

/// The outcome of compiling and running a batch.
pub enum Batch {
    Ran(Vec<RunResult>),
    /// rustc rejected the batch: its error lines, and the programs they point into.
    CompileError(String, Vec<(usize, String)>),
    /// The binary crashed or hung: what it printed before.
    Crashed(Vec<RunResult>, String),
}

/// A temporary crate in `dir` checking `programs`.
pub struct Runner {
    /// The crate's name and directory (`difftest-NAME` under `target/difftest/NAME`): runs
    /// with different names may build at once (they share the target directory).
    pub name: String,
    pub dir: PathBuf,
    pub target: PathBuf,
    pub timeout: Duration,
}

impl Runner {
    pub fn new(name: &str) -> Runner {
        let base = root().join("target").join("difftest");
        Runner {
            name: name.to_string(),
            dir: base.join(name),
            target: base.join("target"),
            timeout: Duration::from_secs(120),
        }
    }

    /// Writes the crate; returns each program's first and last line in `src/main.rs`.
    fn write(&self, programs: &[(usize, &Program)]) -> std::io::Result<Vec<(usize, usize, usize)>> {
        let src = self.dir.join("src");
        std::fs::create_dir_all(&src)?;
        let root = root();
        let manifest = format!(
            "[package]\nname = \"difftest-{}\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n\
             [dependencies]\ndifferentiate = {{ path = {:?} }}\ndifftest = {{ path = {:?} }}\nnum-traits = \"0.2\"\n\n\
             [workspace]\n\n[profile.dev]\ndebug = false\n\n\
             # the macro's compiler optimised: a batch builds 3x faster\n\
             [profile.dev.build-override]\nopt-level = 3\n",
            self.name,
            root.display().to_string(),
            root.join("difftest").display().to_string()
        );
        std::fs::write(self.dir.join("Cargo.toml"), manifest)?;
        let lock = root.join("Cargo.lock");
        if lock.exists() && !self.dir.join("Cargo.lock").exists() {
            std::fs::copy(lock, self.dir.join("Cargo.lock"))?;
        }
        let mut main = String::new();
        let mut lines = Vec::new();
        for (i, p) in programs {
            let first = main.lines().count() + 1;
            main.push_str(&gen::print_module(&format!("p{i}"), p));
            lines.push((*i, first, main.lines().count()));
        }
        main.push_str("fn main() {\n    let all: Vec<(usize, Vec<(&'static str, fn() -> difftest::Outcome)>)> = vec![");
        for (i, _) in programs {
            let _ = write!(main, "({i}, p{i}::checks()), ");
        }
        main.push_str(
            "];\n    for (i, checks) in all {\n        for (name, check) in checks {\n            \
             println!(\"{}\", difftest::fuzz::result_line(i, name, &difftest::run_check(check)));\n        }\n    }\n}\n",
        );
        std::fs::write(src.join("main.rs"), main)?;
        Ok(lines)
    }

    /// Compiles and runs `programs` (indexed by the given numbers).
    pub fn run(&self, programs: &[(usize, &Program)]) -> Batch {
        let lines = match self.write(programs) {
            Ok(l) => l,
            Err(e) => {
                return Batch::CompileError(format!("cannot write the crate: {e}"), Vec::new())
            }
        };
        let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .arg("build")
            .arg("--quiet")
            .arg("--message-format=short")
            .arg("--manifest-path")
            .arg(self.dir.join("Cargo.toml"))
            .env("CARGO_TARGET_DIR", &self.target)
            .output();
        let out = match out {
            Ok(o) => o,
            Err(e) => return Batch::CompileError(format!("cannot run cargo: {e}"), Vec::new()),
        };
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            let errors: Vec<&str> = err.lines().filter(|l| l.contains("error[")).collect();
            // `src/main.rs:LINE:COL: error[..]` names the program the error is in
            let mut bad: Vec<(usize, String)> = Vec::new();
            for l in &errors {
                let line = l
                    .strip_prefix("src/main.rs:")
                    .and_then(|r| r.split(':').next())
                    .and_then(|n| n.parse::<usize>().ok());
                if let Some(n) = line {
                    if let Some((i, _, _)) = lines.iter().find(|(_, a, b)| *a <= n && n <= *b) {
                        if !bad.iter().any(|(j, _)| j == i) {
                            bad.push((*i, l.to_string()));
                        }
                    }
                }
            }
            let first: Vec<&str> = errors.iter().take(8).copied().collect();
            return Batch::CompileError(first.join("\n"), bad);
        }
        let bin = self
            .target
            .join("debug")
            .join(format!("difftest-{}", self.name));
        let mut child = match Command::new(&bin)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
        {
            Ok(c) => c,
            Err(e) => {
                return Batch::CompileError(
                    format!("cannot run {}: {e}", bin.display()),
                    Vec::new(),
                )
            }
        };
        let start = Instant::now();
        let status = loop {
            match child.try_wait() {
                Ok(Some(s)) => break Some(s),
                Ok(None) if start.elapsed() > self.timeout => {
                    let _ = child.kill();
                    let _ = child.wait();
                    break None;
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                Err(_) => break None,
            }
        };
        let mut text = String::new();
        if let Some(mut o) = child.stdout.take() {
            use std::io::Read;
            let _ = o.read_to_string(&mut text);
        }
        let results: Vec<RunResult> = text.lines().filter_map(parse_line).collect();
        match status {
            Some(s) if s.success() => Batch::Ran(results),
            Some(s) => Batch::Crashed(results, format!("exit status {s}")),
            None => Batch::Crashed(results, "timed out (a loop that does not end?)".into()),
        }
    }
}

/// A result as one line (what the temporary crate prints).
pub fn result_line(program: usize, function: &str, o: &crate::Outcome) -> String {
    match o {
        crate::Outcome::Passed => format!("RESULT {program} {function} PASS - -"),
        crate::Outcome::Skipped(m) => {
            format!(
                "RESULT {program} {function} SKIP - {}",
                m.replace('\n', " ")
            )
        }
        crate::Outcome::Failed { kind, message } => format!(
            "RESULT {program} {function} FAIL {kind} {}",
            message.replace('\n', " ")
        ),
    }
}

fn parse_line(l: &str) -> Option<RunResult> {
    let mut it = l.strip_prefix("RESULT ")?.splitn(5, ' ');
    Some(RunResult {
        program: it.next()?.parse().ok()?,
        function: it.next()?.to_string(),
        status: it.next()?.to_string(),
        kind: it.next()?.to_string(),
        message: it.next().unwrap_or("").to_string(),
    })
}

/// Runs a batch; a batch that does not compile is split in halves until the programs that
/// do not compile are found (each one is a finding: the macro accepted it and wrote code
/// rustc rejects).
pub fn run_bisect(
    r: &Runner,
    programs: &[(usize, &Program)],
) -> (Vec<RunResult>, Vec<(usize, String)>) {
    match r.run(programs) {
        Batch::Ran(res) => (res, Vec::new()),
        Batch::Crashed(mut res, why) => {
            // the program after the last result crashed the process: run the rest again
            let done: std::collections::HashSet<usize> = res.iter().map(|x| x.program).collect();
            let rest: Vec<(usize, &Program)> = programs
                .iter()
                .filter(|(i, _)| !done.contains(i))
                .cloned()
                .collect();
            let Some(first) = rest.first() else {
                return (res, Vec::new());
            };
            res.push(RunResult {
                program: first.0,
                function: "?".into(),
                status: "FAIL".into(),
                kind: "crash".into(),
                message: why,
            });
            let (more, bad) = run_bisect(r, &rest[1..]);
            res.extend(more);
            (res, bad)
        }
        Batch::CompileError(e, bad) if !bad.is_empty() && bad.len() < programs.len() => {
            let _ = e;
            let rest: Vec<(usize, &Program)> = programs
                .iter()
                .filter(|(i, _)| !bad.iter().any(|(j, _)| j == i))
                .cloned()
                .collect();
            let (res, mut more) = run_bisect(r, &rest);
            more.extend(bad);
            (res, more)
        }
        Batch::CompileError(e, _) => {
            if programs.len() == 1 {
                return (Vec::new(), vec![(programs[0].0, e)]);
            }
            if programs.is_empty() {
                return (Vec::new(), Vec::new());
            }
            let (a, b) = programs.split_at(programs.len() / 2);
            let (mut r1, mut e1) = run_bisect(r, a);
            let (r2, e2) = run_bisect(r, b);
            r1.extend(r2);
            e1.extend(e2);
            (r1, e1)
        }
    }
}

/// Whether `p` still fails: every function accepted by the macro, and `function` fails
/// with `kind` (or, for `kind == "compile"`, the program does not compile).
fn accepted(p: &Program) -> bool {
    expand_all(p).iter().all(|(_, v)| *v == Verdict::Accepted)
}

/// Shrinks `p`, which fails at `function` with `kind`, by greedy one-step reductions: each
/// round compiles up to `batch` candidates at once and keeps the smallest that still fails
/// the same way.
pub fn shrink(
    r: &Runner,
    p: &Program,
    function: &str,
    kind: &str,
    batch: usize,
    log: &mut dyn FnMut(&str),
) -> Program {
    let mut best = p.clone();
    for round in 0..80 {
        let cands: Vec<Program> = gen::reductions(&best)
            .into_iter()
            .filter(|q| kind == "compile" || q.functions.iter().any(|f| f.name == function))
            .filter(accepted)
            .take(batch)
            .collect();
        if cands.is_empty() {
            break;
        }
        let indexed: Vec<(usize, &Program)> = cands.iter().enumerate().collect();
        let found = if kind == "compile" {
            let (_, bad) = run_bisect(r, &indexed);
            bad.iter().map(|b| b.0).min()
        } else {
            let (res, _) = run_bisect(r, &indexed);
            res.iter()
                .filter(|x| x.function == function && x.status == "FAIL" && x.kind == kind)
                .map(|x| x.program)
                .min()
        };
        match found {
            Some(i) => {
                best = cands[i].clone();
                log(&format!(
                    "  shrink round {round}: {} bytes",
                    gen::size(&best)
                ));
            }
            None => break,
        }
    }
    best
}

/// Shrinks `p`, whose `function` the macro rejects (or panics on) with `verdict`, in-process:
/// each round keeps the smallest one-step reduction that still gets the same verdict.
pub fn shrink_rejection(p: &Program, function: &str, verdict: &Verdict) -> Program {
    let mut best = p.clone();
    for _ in 0..200 {
        let next = gen::reductions(&best)
            .into_iter()
            .filter(|q| {
                expand_all(q)
                    .iter()
                    .any(|(f, v)| f == function && v == verdict)
            })
            .min_by_key(gen::size);
        match next {
            Some(q) if gen::size(&q) < gen::size(&best) => best = q,
            _ => break,
        }
    }
    best
}

/// A reproducer file: the program as a module with a test, ready to paste into
/// `difftest/tests/` (or `difftest/findings/`).
pub fn reproducer(title: &str, p: &Program) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "// {title}");
    s.push_str(&gen::print_module("repro", p));
    s.push_str(
        "\n#[test]\nfn reproducer() {\n    for (name, check) in repro::checks() {\n        \
         assert_eq!(difftest::run_check(check), difftest::Outcome::Passed, \"{name}\");\n    }\n}\n",
    );
    s
}

/// The configuration of a fuzz run: `ci` (the CI corpus's switches) or `all`.
pub fn config(name: &str) -> Option<Config> {
    match name {
        "ci" => Some(Config::ci()),
        "all" => Some(Config::all()),
        _ => None,
    }
}

pub use crate::gen::program_seed;
