//! The generator: a small AST of programs (functions, statements, expressions), a seeded
//! generator of random programs inside the subset the README says `#[differentiate]` accepts,
//! a printer to Rust source (the annotated functions, an un-annotated oracle copy, and the
//! checks), a scope checker and the shrinker's one-step reductions.
//!
//! Self-contained on purpose (only `std`, `chacha20` and `rand_core`): `build.rs` includes this
//! file with `#[path]` to write the CI corpus, so the corpus and the fuzz command print the
//! same programs from the same seeds.

use chacha20::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};
use std::fmt::Write as _;

/// The CI corpus: programs `0..CORPUS_PROGRAMS` of `--seed CORPUS_SEED --config ci`, less
/// the ones `corpus_excluded.rs` lists; build.rs writes them into `tests/corpus_*.rs`.
pub const CORPUS_SEED: u64 = 2026;
pub const CORPUS_PROGRAMS: usize = 1100;

/// The length of every array and slice in a generated program (so every index in `0..LEN`
/// is in bounds everywhere).
pub const LEN: usize = 3;

/// Which constructs the generator produces. One switch per construct class; the classes of
/// open findings are off in [`Config::ci`], each with the reason next to it, and are turned
/// on as their fixes land.
#[derive(Clone, Debug)]
pub struct Config {
    /// Functions per program (each is checked; later ones call earlier ones).
    pub max_functions: usize,
    /// Statements per block, at most.
    pub max_statements: usize,
    /// Depth of expressions.
    pub max_expr_depth: usize,
    /// Nesting of loops.
    pub max_loop_depth: usize,
    pub loops: bool,
    pub while_loops: bool,
    pub branches: bool,
    pub early_return: bool,
    pub break_continue: bool,
    pub arrays: bool,
    pub calls: bool,
    pub tuple_outputs: bool,
    pub array_outputs: bool,
    pub iterator_reductions: bool,
    pub stop_gradient: bool,
    /// `stop = [w]` naming a top-level `let`.
    pub stop_locals: bool,
    pub wrt_subsets: bool,
    /// `abs signum max min`: kinks (checked against dual numbers, not finite differences).
    pub kinks: bool,
    /// Immutable array literals (`let c = [a, b, c];`) created inside a loop.
    pub array_literal_in_loop: bool,
    /// Mutable array literals (`let mut c = [a, b, c];`, then written) created inside a loop
    /// or a branch (the macro creates them before it and fills them where they were).
    pub mutable_literal_in_block: bool,
    /// `a.iter().copied().zip(b.iter().copied())` (else `a.iter().zip(b.iter())` with `*u`).
    pub copied_in_zip: bool,
    /// `break`/`continue` inside a `.rev()` loop.
    pub break_in_reversed_loop: bool,
    /// `&a` with `a: [T; N]` passed to a `&[T]` parameter of a call.
    pub array_to_slice_param: bool,
    /// `a.iter().zip(b.iter())` loops and sums.
    pub zip: bool,
    /// Functions generic over `T: Float` (else at `f64`) where the macro sees them.
    pub generic: bool,
    /// Issue 13 (1), fixed (tests/regressions*.rs): `x.powi(n)` with an exponent that is not a literal.
    pub powi_runtime_exponent: bool,
    /// Issue 13 (2), fixed (tests/regressions*.rs): an array literal created inside an `if` branch.
    pub array_literal_in_branch: bool,
    /// Issue 13 (3), fixed (tests/regressions*.rs): an array written in a loop and passed to a call in it.
    pub call_with_loop_written_array: bool,
    /// Issue 13 (4), fixed (tests/regressions*.rs): a variable reassigned a constant (`y = T::zero()`).
    pub reassign_constant: bool,
    /// Issue 13 (5), fixed (tests/regressions*.rs): a copy `let t = s;` of a variable (then `s = t + e`).
    pub copies: bool,
    /// Issue 13 (6), fixed (tests/regressions*.rs): an array element written after a call that read the array.
    pub write_after_call: bool,
    /// Issue 13 (7), fixed (tests/regressions*.rs): `stop = [w]` where `w`'s expression occurs elsewhere too.
    pub stop_shared_subexpression: bool,
    /// Issue 13 (8), fixed (tests/regressions*.rs): an immutable array created in a loop (`let y =
    /// x.to_vec();`, `let y: [T; 3] = f(..);`) and read in the same block.
    pub immutable_array_in_loop: bool,
    /// Issue 13 (9), fixed (tests/regressions*.rs): `z.swap(i, j)` on a differentiated array.
    pub swap: bool,
    /// `for w in a[lo..].windows(k)` (or `chunks`, `chunks_exact`, maybe `.rev()`): parts
    /// of an array (issue 15).
    pub parts: bool,
    /// `for v in a.iter().copied().rev().step_by(k)` (issue 15).
    pub rev_step_by: bool,
    /// `g(&a[0..LEN])`: a sub-slice passed to a slice parameter (issue 15).
    pub sub_slice_args: bool,
    /// Each function again as a method `#[differentiate(wrt = self)]` of a struct holding its
    /// float parameters as fields (`self.x0`, `self.xs[i]`, `&self.xs`): see
    /// [`print_struct_variants`].
    pub structs: bool,
}

impl Config {
    /// Everything the README says is supported.
    pub fn all() -> Config {
        Config {
            max_functions: 3,
            max_statements: 5,
            max_expr_depth: 3,
            max_loop_depth: 2,
            loops: true,
            while_loops: true,
            branches: true,
            early_return: true,
            break_continue: true,
            arrays: true,
            calls: true,
            tuple_outputs: true,
            array_outputs: true,
            iterator_reductions: true,
            stop_gradient: true,
            stop_locals: true,
            wrt_subsets: true,
            kinks: true,
            array_literal_in_loop: true,
            mutable_literal_in_block: true,
            copied_in_zip: true,
            break_in_reversed_loop: true,
            generic: true,
            zip: true,
            array_to_slice_param: true,
            powi_runtime_exponent: true,
            array_literal_in_branch: true,
            call_with_loop_written_array: true,
            reassign_constant: true,
            copies: true,
            write_after_call: true,
            stop_shared_subexpression: true,
            immutable_array_in_loop: true,
            swap: true,
            parts: true,
            rev_step_by: true,
            sub_slice_args: true,
            structs: true,
        }
    }

    /// The switch named `name` (the field's name), for the fuzz command's `--set`.
    pub fn switch(&mut self, name: &str) -> Option<&mut bool> {
        Some(match name {
            "loops" => &mut self.loops,
            "while_loops" => &mut self.while_loops,
            "branches" => &mut self.branches,
            "early_return" => &mut self.early_return,
            "break_continue" => &mut self.break_continue,
            "arrays" => &mut self.arrays,
            "calls" => &mut self.calls,
            "tuple_outputs" => &mut self.tuple_outputs,
            "array_outputs" => &mut self.array_outputs,
            "iterator_reductions" => &mut self.iterator_reductions,
            "stop_gradient" => &mut self.stop_gradient,
            "stop_locals" => &mut self.stop_locals,
            "wrt_subsets" => &mut self.wrt_subsets,
            "kinks" => &mut self.kinks,
            "array_literal_in_loop" => &mut self.array_literal_in_loop,
            "mutable_literal_in_block" => &mut self.mutable_literal_in_block,
            "copied_in_zip" => &mut self.copied_in_zip,
            "break_in_reversed_loop" => &mut self.break_in_reversed_loop,
            "array_to_slice_param" => &mut self.array_to_slice_param,
            "zip" => &mut self.zip,
            "generic" => &mut self.generic,
            "powi_runtime_exponent" => &mut self.powi_runtime_exponent,
            "array_literal_in_branch" => &mut self.array_literal_in_branch,
            "call_with_loop_written_array" => &mut self.call_with_loop_written_array,
            "reassign_constant" => &mut self.reassign_constant,
            "copies" => &mut self.copies,
            "write_after_call" => &mut self.write_after_call,
            "stop_shared_subexpression" => &mut self.stop_shared_subexpression,
            "immutable_array_in_loop" => &mut self.immutable_array_in_loop,
            "swap" => &mut self.swap,
            "parts" => &mut self.parts,
            "rev_step_by" => &mut self.rev_step_by,
            "sub_slice_args" => &mut self.sub_slice_args,
            "structs" => &mut self.structs,
            _ => return None,
        })
    }

    /// The CI corpus: everything but the classes of open findings, each with its reason.
    /// Turn a switch on when its fix is merged (and rewrite `corpus_excluded.rs`).
    pub fn ci() -> Config {
        Config {
            // Every switch of `Config::all` is on here but `structs`: the findings behind
            // `copied_in_zip` and `generic` (difftest/tests/fixed/) are fixed, and issue 15's
            // parts, `rev().step_by` and sub-slice arguments pass (the long runs of seed 4242
            // in README § Testing have them on). The corpus writes the generic functions the
            // macro sees at `f64` (the oracle's copy stays generic).
            // Each function again as a method of a struct (issue 16): passed in the models
            // branch's corpus runs, but it doubles the corpus's functions and compile time;
            // the fuzz command runs it (`--set structs`).
            structs: false,
            ..Config::all()
        }
    }
}

/// A seeded random stream (ChaCha8: a fixed, documented stream, the same on every platform
/// and every version of the crate).
pub struct Rand(ChaCha8Rng);

impl Rand {
    pub fn new(seed: u64) -> Rand {
        Rand(ChaCha8Rng::seed_from_u64(seed))
    }
    pub fn below(&mut self, n: usize) -> usize {
        if n <= 1 {
            0
        } else {
            (self.0.next_u64() % n as u64) as usize
        }
    }
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.0.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// A value in ±[lo, hi], rounded to two decimals.
    pub fn value(&mut self, lo: f64, hi: f64) -> f64 {
        let v = lo + (hi - lo) * self.unit();
        let v = (v * 100.0).round() / 100.0;
        if self.chance(0.5) {
            -v
        } else {
            v
        }
    }
    pub fn pick<'a, X>(&mut self, xs: &'a [X]) -> &'a X {
        &xs[self.below(xs.len())]
    }
}

// ---------------------------------------------------------------------------------------
// The AST
// ---------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamKind {
    /// `x: T`
    Scalar,
    /// `x: &[T]`
    Slice,
    /// `x: [T; LEN]`
    Array,
    /// `k: i32` (passive)
    Int,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    pub name: String,
    pub kind: ParamKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ret {
    Scalar,
    Tuple,
    Array,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Wrt {
    /// No `wrt`: every float parameter, a tuple.
    All,
    /// `wrt = [a, b]`: a tuple in this order.
    List(Vec<String>),
    /// `wrt = a`: the gradient is not a tuple.
    Single(String),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Func {
    pub name: String,
    pub params: Vec<Param>,
    pub ret: Ret,
    pub wrt: Wrt,
    pub stop: Vec<String>,
    pub body: Vec<Stmt>,
    /// The output: one expression, two (a tuple) or LEN (an array literal).
    pub tail: Vec<Expr>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Program {
    pub functions: Vec<Func>,
    /// Inputs: one value per float input (in parameter order, arrays flattened).
    pub inputs: Vec<f64>,
    /// The value of the `i32` parameters.
    pub int_input: i32,
    /// The macro gets the functions generic over `T: Float` (else written at `f64`; the
    /// oracle's copy is generic either way).
    pub generic: bool,
    /// Struct variants of the functions are printed and checked too (`Config::structs`).
    pub structs: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AOp {
    Set,
    Add,
    Sub,
    Mul,
}

impl AOp {
    fn text(self) -> &'static str {
        match self {
            AOp::Set => "=",
            AOp::Add => "+=",
            AOp::Sub => "-=",
            AOp::Mul => "*=",
        }
    }
}

/// A passive integer: an index (usize) or an exponent (i32), depending on where it is used.
#[derive(Clone, Debug, PartialEq)]
pub enum IExpr {
    Lit(i64),
    /// A usize loop index.
    Index(String),
    /// `LEN - 1 - i` of a loop index.
    RevIndex(String),
    /// The `i32` parameter.
    Param(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    Var(String),
    Const(f64),
    Index(String, IExpr),
    Bin(BinOp, Box<Expr>, Box<Expr>),
    Neg(Box<Expr>),
    /// `e.m()` or, with `path`, `T::m(e)`.
    Method {
        m: &'static str,
        path: bool,
        e: Box<Expr>,
    },
    /// `a.m(b)`: atan2 hypot powf log max min.
    Method2 {
        m: &'static str,
        path: bool,
        a: Box<Expr>,
        b: Box<Expr>,
    },
    MulAdd(Box<Expr>, Box<Expr>, Box<Expr>),
    Powi(Box<Expr>, IExpr),
    Stop(Box<Expr>),
    If(Box<Cond>, Box<Expr>, Box<Expr>),
    /// A call of a scalar-valued function.
    Call(String, Vec<Arg>),
    /// `a.iter().copied().map(|v| e).sum::<T>()` (`product` with `prod`).
    MapReduce {
        arr: String,
        v: String,
        body: Box<Expr>,
        prod: bool,
    },
    /// `a.iter().copied().zip(b.iter().copied()).map(|(u, v)| e).sum::<T>()`
    ZipSum {
        a: String,
        b: String,
        u: String,
        v: String,
        body: Box<Expr>,
    },
    /// `a.iter().copied().fold(init, |acc, v| e)`
    Fold {
        arr: String,
        acc: String,
        v: String,
        init: Box<Expr>,
        body: Box<Expr>,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub enum Cond {
    Less(Expr, Expr),
    /// `i % 2 == 0` of a loop index.
    Even(String),
    /// `k > 1` of the int parameter.
    IntGt(String, i64),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Arg {
    Scalar(Expr),
    /// An array passed to a slice parameter.
    Slice(String),
    /// An array passed by value to a `[T; LEN]` parameter.
    ArrayValue(String),
    Int(IExpr),
    /// An array passed to a slice parameter as the sub-slice `&a[0..LEN]` (issue 15).
    SubSlice(String),
}

#[derive(Clone, Debug, PartialEq)]
pub enum ArrInit {
    /// `vec![c; LEN]`
    VecFill(f64),
    /// `[c; LEN]`
    ArrFill(f64),
    /// `[a, b, c]`
    Lit(Vec<Expr>),
    /// `a.to_vec()`
    ToVec(String),
    /// `let y: [T; LEN] = f(..);`
    Call(String, Vec<Arg>),
}

#[derive(Clone, Debug, PartialEq)]
pub enum ForHead {
    Range {
        i: String,
        rev: bool,
    },
    Iter {
        v: String,
        arr: String,
        rev: bool,
    },
    Enumerate {
        i: String,
        v: String,
        arr: String,
        rev: bool,
    },
    Zip {
        u: String,
        v: String,
        a: String,
        b: String,
        rev: bool,
    },
    /// `for w in arr[lo..].KIND(k)` with `v` a value of the part `w`; the sub-slice bound
    /// first to the name `t` (`let t = &arr[lo..];`, or `let (_, t) = arr.split_at(lo);`)
    /// when `via` is 1 or 2.
    Parts {
        v: String,
        w: String,
        t: String,
        arr: String,
        kind: PartKind,
        k: usize,
        lo: usize,
        via: usize,
        rev: bool,
    },
    /// `for v in arr.iter().copied().rev().step_by(k)`: from the last element down (a
    /// forward loop for the macro).
    RevStepBy {
        v: String,
        arr: String,
        k: usize,
    },
}

/// Which parts a `ForHead::Parts` loop takes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum PartKind {
    Windows,
    Chunks,
    ChunksExact,
}

impl PartKind {
    fn method(self) -> &'static str {
        match self {
            PartKind::Windows => "windows",
            PartKind::Chunks => "chunks",
            PartKind::ChunksExact => "chunks_exact",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Stmt {
    Let {
        name: String,
        mutable: bool,
        e: Expr,
    },
    Assign {
        name: String,
        op: AOp,
        e: Expr,
    },
    LetArr {
        name: String,
        mutable: bool,
        init: ArrInit,
    },
    Write {
        arr: String,
        idx: IExpr,
        op: AOp,
        e: Expr,
    },
    Swap {
        arr: String,
        i: IExpr,
        j: IExpr,
    },
    LetTuple {
        a: String,
        b: String,
        call: String,
        args: Vec<Arg>,
    },
    If {
        cond: Cond,
        then: Vec<Stmt>,
        els: Vec<Stmt>,
    },
    For {
        head: ForHead,
        body: Vec<Stmt>,
    },
    /// `let mut c = 0; while c < n { c += 1; body }`
    While {
        c: String,
        n: i64,
        body: Vec<Stmt>,
    },
    /// `let mut c = 0; loop { if c >= n { break; } c += 1; body }`
    Loop {
        c: String,
        n: i64,
        body: Vec<Stmt>,
    },
    Break,
    Continue,
    Return(Vec<Expr>),
}

// ---------------------------------------------------------------------------------------
// The generator
// ---------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
struct ArrVar {
    name: String,
    mutable: bool,
    /// `[T; LEN]` (passable by value) rather than a slice or Vec.
    fixed: bool,
    /// Created outside every loop and branch (a parameter, or a top-level `let`): what a
    /// copy written in a loop or branch may copy (README, "An array written inside a loop").
    top: bool,
}

#[derive(Clone, Debug, Default)]
struct Env {
    scalars: Vec<(String, bool)>,
    arrays: Vec<ArrVar>,
    indices: Vec<String>,
    int_params: Vec<String>,
    loop_depth: usize,
    in_branch: bool,
    /// Inside a `.rev()` loop.
    in_rev: bool,
}

struct Gen<'a> {
    r: Rand,
    cfg: &'a Config,
    /// The functions generated so far (callable).
    done: Vec<Func>,
    fresh: usize,
    ret: Ret,
}

/// The seed of program `i` of a run seeded `seed` (the CI corpus and the fuzz command).
pub fn program_seed(seed: u64, i: usize) -> u64 {
    seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (i as u64).wrapping_mul(0xD1B5_4A32_D192_ED03)
}

/// The program of `seed` (deterministic: the same seed gives the same program).
pub fn program(seed: u64, cfg: &Config) -> Program {
    let mut g = Gen {
        r: Rand::new(seed),
        cfg,
        done: Vec::new(),
        fresh: 0,
        ret: Ret::Scalar,
    };
    let n = 1 + g.r.below(cfg.max_functions.max(1));
    for k in 0..n {
        let f = g.function(k);
        g.done.push(f);
    }
    let inputs = (0..64).map(|_| g.r.value(0.15, 1.4)).collect();
    let int_input = 1 + g.r.below(2) as i32;
    Program {
        functions: g.done,
        inputs,
        int_input,
        generic: cfg.generic,
        structs: cfg.structs,
    }
}

impl Gen<'_> {
    fn name(&mut self, prefix: &str) -> String {
        self.fresh += 1;
        format!("{prefix}{}", self.fresh)
    }

    fn function(&mut self, k: usize) -> Func {
        let mut params = Vec::new();
        let scalars = 1 + self.r.below(3);
        for s in 0..scalars {
            params.push(Param {
                name: format!("x{s}"),
                kind: ParamKind::Scalar,
            });
        }
        if self.cfg.arrays && self.r.chance(0.6) {
            params.push(Param {
                name: "xs".into(),
                kind: ParamKind::Slice,
            });
        }
        if self.cfg.arrays && self.r.chance(0.3) {
            params.push(Param {
                name: "xa".into(),
                kind: ParamKind::Array,
            });
        }
        if self.r.chance(0.3) {
            params.push(Param {
                name: "k".into(),
                kind: ParamKind::Int,
            });
        }
        // shuffle
        for i in (1..params.len()).rev() {
            let j = self.r.below(i + 1);
            params.swap(i, j);
        }
        let ret = match self.r.below(10) {
            0..=1 if self.cfg.tuple_outputs => Ret::Tuple,
            2 if self.cfg.array_outputs => Ret::Array,
            _ => Ret::Scalar,
        };
        self.ret = ret;
        let mut env = Env::default();
        for p in &params {
            match p.kind {
                ParamKind::Scalar => env.scalars.push((p.name.clone(), false)),
                ParamKind::Slice | ParamKind::Array => env.arrays.push(ArrVar {
                    name: p.name.clone(),
                    mutable: false,
                    fixed: p.kind == ParamKind::Array,
                    top: true,
                }),
                ParamKind::Int => env.int_params.push(p.name.clone()),
            }
        }
        let mut stop = Vec::new();
        let n = 2 + self.r.below(self.cfg.max_statements.max(1) + 2);
        let mut body = self.block(&mut env, n);
        // stop = [w] on a top-level immutable let.
        if self.cfg.stop_locals && self.r.chance(0.25) {
            // `stop` names a `let` at the top of the body (before any other statement)
            let lets: Vec<usize> = body
                .iter()
                .take_while(|s| matches!(s, Stmt::Let { .. } | Stmt::LetArr { .. }))
                .enumerate()
                .filter(|(_, s)| matches!(s, Stmt::Let { mutable: false, .. }))
                .map(|(i, _)| i)
                .collect();
            if !lets.is_empty() {
                let i = *self.r.pick(&lets);
                if let Stmt::Let { name, e, .. } = &mut body[i] {
                    stop.push(name.clone());
                    if !self.cfg.stop_shared_subexpression {
                        // A constant of its own keeps the expression from occurring twice.
                        let c = 0.5 + self.r.below(1000) as f64 / 1000.0;
                        *e = Expr::Bin(BinOp::Add, Box::new(e.clone()), Box::new(Expr::Const(c)));
                    }
                }
            }
        }
        let tail = self.tail(&env);
        let floats: Vec<String> = params
            .iter()
            .filter(|p| p.kind != ParamKind::Int)
            .map(|p| p.name.clone())
            .collect();
        let wrt = if self.cfg.wrt_subsets && self.r.chance(0.4) {
            let mut list: Vec<String> = floats
                .iter()
                .filter(|_| self.r.chance(0.6))
                .cloned()
                .collect();
            if list.is_empty() {
                list.push(self.r.pick(&floats).clone());
            }
            for i in (1..list.len()).rev() {
                let j = self.r.below(i + 1);
                list.swap(i, j);
            }
            if list.len() == 1 && self.r.chance(0.5) {
                Wrt::Single(list[0].clone())
            } else {
                Wrt::List(list)
            }
        } else {
            Wrt::All
        };
        Func {
            name: format!("f{k}"),
            params,
            ret,
            wrt,
            stop,
            body,
            tail,
        }
    }

    fn tail(&mut self, env: &Env) -> Vec<Expr> {
        let n = match self.ret {
            Ret::Scalar => 1,
            Ret::Tuple => 2,
            Ret::Array => LEN,
        };
        (0..n).map(|_| self.output(env)).collect()
    }

    /// An output: a few variables in scope and one expression, so most of the body reaches it.
    fn output(&mut self, env: &Env) -> Expr {
        let mut e = self.expr(env, 2);
        let vars: Vec<&(String, bool)> = env.scalars.iter().collect();
        for _ in 0..2 {
            if vars.is_empty() {
                break;
            }
            let (v, _) = self.r.pick(&vars);
            e = Expr::Bin(BinOp::Add, Box::new(e), Box::new(Expr::Var(v.clone())));
        }
        e
    }

    fn block(&mut self, env: &mut Env, n: usize) -> Vec<Stmt> {
        let mut out = Vec::new();
        for _ in 0..n {
            self.statement(env, &mut out);
        }
        out
    }

    fn nested(&mut self, env: &Env, n: usize, loop_body: bool) -> (Vec<Stmt>, Env) {
        let mut inner = env.clone();
        if loop_body {
            inner.loop_depth += 1;
        } else {
            inner.in_branch = true;
        }
        let b = self.block(&mut inner, n);
        (b, inner)
    }

    fn statement(&mut self, env: &mut Env, out: &mut Vec<Stmt>) {
        let c = self.cfg;
        let in_loop = env.loop_depth > 0;
        let small = 1 + self.r.below(c.max_statements.clamp(1, 3));
        match self.r.below(20) {
            0..=4 => {
                let name = self.name("a");
                let mutable = self.r.chance(0.5);
                let e = if c.copies && self.r.chance(0.1) && !env.scalars.is_empty() {
                    Expr::Var(self.r.pick(&env.scalars).0.clone())
                } else {
                    self.expr(env, c.max_expr_depth)
                };
                out.push(Stmt::Let {
                    name: name.clone(),
                    mutable,
                    e,
                });
                env.scalars.push((name, mutable));
            }
            5..=7 => {
                let muts: Vec<String> = env
                    .scalars
                    .iter()
                    .filter(|(_, m)| *m)
                    .map(|(n, _)| n.clone())
                    .collect();
                if muts.is_empty() {
                    return self.statement(env, out);
                }
                let name = self.r.pick(&muts).clone();
                let op = *self
                    .r
                    .pick(&[AOp::Set, AOp::Set, AOp::Add, AOp::Sub, AOp::Mul]);
                let e = if op == AOp::Set && c.reassign_constant && self.r.chance(0.15) {
                    Expr::Const(self.r.value(0.0, 1.0))
                } else if op == AOp::Set && c.copies && self.r.chance(0.2) {
                    // s = t + e, t possibly an old copy of s
                    let t = self.r.pick(&env.scalars).0.clone();
                    Expr::Bin(
                        BinOp::Add,
                        Box::new(Expr::Var(t)),
                        Box::new(self.expr(env, 2)),
                    )
                } else {
                    let e = self.expr(env, c.max_expr_depth);
                    // keep loop-carried values bounded
                    if op == AOp::Mul || (in_loop && self.r.chance(0.5)) {
                        Expr::Method {
                            m: if self.r.chance(0.5) { "tanh" } else { "sin" },
                            path: false,
                            e: Box::new(e),
                        }
                    } else {
                        e
                    }
                };
                out.push(Stmt::Assign { name, op, e });
            }
            8..=9 if c.arrays => self.array_let(env, out),
            10..=11 if c.arrays => {
                let cand: Vec<String> = env
                    .arrays
                    .iter()
                    .filter(|a| a.mutable)
                    .map(|a| a.name.clone())
                    .collect();
                if cand.is_empty() {
                    return self.array_let(env, out);
                }
                let arr = self.r.pick(&cand).clone();
                if c.swap && self.r.chance(0.1) {
                    let i = self.index(env);
                    let j = self.index(env);
                    out.push(Stmt::Swap { arr, i, j });
                    return;
                }
                let op = *self.r.pick(&[AOp::Set, AOp::Set, AOp::Add, AOp::Sub]);
                let idx = self.index(env);
                let e = self.expr(env, c.max_expr_depth);
                let e = if in_loop && op != AOp::Set {
                    Expr::Method {
                        m: "sin",
                        path: false,
                        e: Box::new(e),
                    }
                } else {
                    e
                };
                if mentions_whole(&e, &arr) || (op != AOp::Set && mentions(&e, &arr)) {
                    // `z[i] = f(&z)` would borrow `z` while it is borrowed mutably
                    let t = self.name("a");
                    out.push(Stmt::Let {
                        name: t.clone(),
                        mutable: false,
                        e,
                    });
                    env.scalars.push((t.clone(), false));
                    out.push(Stmt::Write {
                        arr,
                        idx,
                        op,
                        e: Expr::Var(t),
                    });
                } else {
                    out.push(Stmt::Write { arr, idx, op, e });
                }
            }
            12..=13 if c.loops && env.loop_depth < c.max_loop_depth => {
                let head = self.for_head(env);
                let mut inner = env.clone();
                // an array the loop iterates over is borrowed by it: not written in the body
                let iterated: Vec<String> = match &head {
                    ForHead::Range { .. } => Vec::new(),
                    ForHead::Iter { arr, .. } | ForHead::Enumerate { arr, .. } => vec![arr.clone()],
                    ForHead::Zip { a, b, .. } => vec![a.clone(), b.clone()],
                    ForHead::Parts { arr, .. } | ForHead::RevStepBy { arr, .. } => {
                        vec![arr.clone()]
                    }
                };
                for a in &mut inner.arrays {
                    if iterated.contains(&a.name) {
                        a.mutable = false;
                    }
                }
                match &head {
                    ForHead::Range { i, .. } => inner.indices.push(i.clone()),
                    ForHead::Iter { v, .. } => inner.scalars.push((v.clone(), false)),
                    ForHead::Enumerate { i, v, .. } => {
                        inner.indices.push(i.clone());
                        inner.scalars.push((v.clone(), false));
                    }
                    ForHead::Zip { u, v, .. } => {
                        inner.scalars.push((u.clone(), false));
                        inner.scalars.push((v.clone(), false));
                    }
                    ForHead::Parts { v, .. } | ForHead::RevStepBy { v, .. } => {
                        inner.scalars.push((v.clone(), false))
                    }
                }
                let reversed = match &head {
                    ForHead::Range { rev, .. }
                    | ForHead::Iter { rev, .. }
                    | ForHead::Enumerate { rev, .. }
                    | ForHead::Zip { rev, .. }
                    | ForHead::Parts { rev, .. } => *rev,
                    ForHead::RevStepBy { .. } => false,
                };
                inner.in_rev |= reversed;
                let (mut body, _) = self.nested(&inner, small + 1, true);
                if !reversed || c.break_in_reversed_loop {
                    inner.loop_depth += 1;
                    self.maybe_break(&inner, &mut body);
                }
                out.push(Stmt::For { head, body });
            }
            14 if c.loops
                && c.while_loops
                && env.loop_depth < c.max_loop_depth
                && (!env.in_rev || c.break_in_reversed_loop) =>
            {
                let cname = self.name("w");
                let n = 1 + self.r.below(LEN) as i64;
                let (mut body, _) = self.nested(env, small, true);
                self.maybe_break(env, &mut body);
                if self.r.chance(0.5) {
                    out.push(Stmt::While { c: cname, n, body });
                } else {
                    out.push(Stmt::Loop { c: cname, n, body });
                }
            }
            15..=16 if c.branches => {
                let cond = self.cond(env);
                let (mut then, t_env) = self.nested(env, small, false);
                let els = if self.r.chance(0.5) {
                    let (b, _) = self.nested(env, small, false);
                    b
                } else {
                    Vec::new()
                };
                if c.early_return && self.r.chance(0.15) {
                    let t = self.tail(&t_env);
                    then.push(Stmt::Return(t));
                }
                out.push(Stmt::If { cond, then, els });
            }
            17 if c.calls => {
                let tuples: Vec<Func> = self
                    .done
                    .iter()
                    .filter(|f| f.ret == Ret::Tuple)
                    .cloned()
                    .collect();
                if tuples.is_empty() {
                    return self.statement(env, out);
                }
                let f = self.r.pick(&tuples).clone();
                let Some(args) = self.args(env, &f) else {
                    return self.statement(env, out);
                };
                let a = self.name("t");
                let b = self.name("t");
                out.push(Stmt::LetTuple {
                    a: a.clone(),
                    b: b.clone(),
                    call: f.name.clone(),
                    args,
                });
                env.scalars.push((a, false));
                env.scalars.push((b, false));
            }
            _ => {
                let name = self.name("a");
                let e = self.expr(env, c.max_expr_depth);
                out.push(Stmt::Let {
                    name: name.clone(),
                    mutable: true,
                    e,
                });
                env.scalars.push((name, true));
            }
        }
    }

    fn maybe_break(&mut self, env: &Env, body: &mut Vec<Stmt>) {
        if self.cfg.break_continue && self.r.chance(0.25) {
            let cond = self.cond(env);
            let s = if self.r.chance(0.5) {
                Stmt::Break
            } else {
                Stmt::Continue
            };
            let at = self.r.below(body.len() + 1);
            body.insert(
                at,
                Stmt::If {
                    cond,
                    then: vec![s],
                    els: Vec::new(),
                },
            );
        }
    }

    fn array_let(&mut self, env: &mut Env, out: &mut Vec<Stmt>) {
        let c = self.cfg;
        let in_loop = env.loop_depth > 0;
        let nested = in_loop || env.in_branch;
        let name = self.name("z");
        let mutable = self.r.chance(0.6);
        // An array written in a loop or branch is a copy of one that exists before them.
        let existing: Vec<String> = env
            .arrays
            .iter()
            .filter(|a| !(nested && mutable) || a.top)
            .map(|a| a.name.clone())
            .collect();
        let choice = self.r.below(5);
        let (init, fixed, mutable) = match choice {
            0 => (ArrInit::VecFill(self.r.value(0.0, 1.0)), false, true),
            1 => (ArrInit::ArrFill(self.r.value(0.0, 1.0)), true, true),
            2 if !existing.is_empty() && (!in_loop || mutable || c.immutable_array_in_loop) => (
                ArrInit::ToVec(self.r.pick(&existing).clone()),
                false,
                mutable,
            ),
            3 if (!env.in_branch || c.array_literal_in_branch)
                && (!in_loop || c.array_literal_in_loop)
                && (!nested || !mutable || c.mutable_literal_in_block) =>
            {
                let es = (0..LEN).map(|_| self.expr(env, 2)).collect();
                (
                    ArrInit::Lit(es),
                    true,
                    mutable && (!nested || c.mutable_literal_in_block),
                )
            }
            4 if c.calls && (!in_loop || c.immutable_array_in_loop) => {
                let fs: Vec<Func> = self
                    .done
                    .iter()
                    .filter(|f| f.ret == Ret::Array)
                    .cloned()
                    .collect();
                if fs.is_empty() {
                    (ArrInit::VecFill(0.0), false, true)
                } else {
                    let f = self.r.pick(&fs).clone();
                    match self.args(env, &f) {
                        Some(args) => (ArrInit::Call(f.name.clone(), args), true, false),
                        None => (ArrInit::ArrFill(0.0), true, true),
                    }
                }
            }
            _ => (ArrInit::VecFill(0.0), false, true),
        };
        out.push(Stmt::LetArr {
            name: name.clone(),
            mutable,
            init,
        });
        env.arrays.push(ArrVar {
            name,
            mutable,
            fixed,
            top: !nested,
        });
    }

    fn for_head(&mut self, env: &Env) -> ForHead {
        let rev = self.r.chance(0.3);
        let arrs: Vec<String> = env.arrays.iter().map(|a| a.name.clone()).collect();
        let k = if arrs.is_empty() { 0 } else { self.r.below(5) };
        match k {
            1 => ForHead::Iter {
                v: self.name("v"),
                arr: self.r.pick(&arrs).clone(),
                rev,
            },
            2 => ForHead::Enumerate {
                i: self.name("i"),
                v: self.name("v"),
                arr: self.r.pick(&arrs).clone(),
                rev,
            },
            4 if self.cfg.parts && self.r.chance(0.5) => self.parts_head(&arrs, rev),
            4 if self.cfg.rev_step_by => ForHead::RevStepBy {
                v: self.name("v"),
                arr: self.r.pick(&arrs).clone(),
                k: 1 + self.r.below(LEN),
            },
            3 if self.cfg.zip => ForHead::Zip {
                u: self.name(if self.cfg.copied_in_zip { "u" } else { "ru" }),
                v: self.name(if self.cfg.copied_in_zip { "v" } else { "rv" }),
                a: self.r.pick(&arrs).clone(),
                b: self.r.pick(&arrs).clone(),
                rev,
            },
            _ => ForHead::Range {
                i: self.name("i"),
                rev,
            },
        }
    }

    /// An array for a slice parameter: `&a`, or `&a[0..LEN]` with `sub_slice_args`.
    fn slice_arg(&mut self, a: String) -> Arg {
        match self.cfg.sub_slice_args && self.r.chance(0.4) {
            true => Arg::SubSlice(a),
            false => Arg::Slice(a),
        }
    }

    /// `for w in arr[lo..].windows(k)` (or `chunks`, `chunks_exact`).
    fn parts_head(&mut self, arrs: &[String], rev: bool) -> ForHead {
        let lo = self.r.below(LEN);
        let kind = *self
            .r
            .pick(&[PartKind::Windows, PartKind::Chunks, PartKind::ChunksExact]);
        ForHead::Parts {
            v: self.name("v"),
            w: self.name("w"),
            t: self.name("t"),
            arr: self.r.pick(arrs).clone(),
            kind,
            k: 1 + self.r.below(LEN - lo),
            lo,
            via: self.r.below(3),
            rev,
        }
    }

    fn index(&mut self, env: &Env) -> IExpr {
        if !env.indices.is_empty() && self.r.chance(0.7) {
            let i = self.r.pick(&env.indices).clone();
            if self.r.chance(0.25) {
                IExpr::RevIndex(i)
            } else {
                IExpr::Index(i)
            }
        } else {
            IExpr::Lit(self.r.below(LEN) as i64)
        }
    }

    fn exponent(&mut self, env: &Env) -> IExpr {
        if self.cfg.powi_runtime_exponent && self.r.chance(0.6) {
            if !env.int_params.is_empty() && self.r.chance(0.5) {
                return IExpr::Param(self.r.pick(&env.int_params).clone());
            }
            if !env.indices.is_empty() {
                return IExpr::Index(self.r.pick(&env.indices).clone());
            }
        }
        IExpr::Lit(*self.r.pick(&[-1, 0, 1, 2, 3]))
    }

    fn cond(&mut self, env: &Env) -> Cond {
        if !env.indices.is_empty() && self.r.chance(0.25) {
            return Cond::Even(self.r.pick(&env.indices).clone());
        }
        if !env.int_params.is_empty() && self.r.chance(0.15) {
            return Cond::IntGt(self.r.pick(&env.int_params).clone(), 1);
        }
        Cond::Less(self.expr(env, 2), self.expr(env, 2))
    }

    fn args(&mut self, env: &Env, f: &Func) -> Option<Vec<Arg>> {
        let mut args = Vec::new();
        for p in &f.params {
            args.push(match p.kind {
                ParamKind::Scalar => Arg::Scalar(self.expr(env, 2)),
                ParamKind::Int => Arg::Int(if self.r.chance(0.5) && !env.int_params.is_empty() {
                    IExpr::Param(self.r.pick(&env.int_params).clone())
                } else {
                    IExpr::Lit(1 + self.r.below(2) as i64)
                }),
                ParamKind::Slice | ParamKind::Array => {
                    let in_loop = env.loop_depth > 0;
                    let ok: Vec<&ArrVar> = env
                        .arrays
                        .iter()
                        .filter(|a| p.kind == ParamKind::Slice || a.fixed)
                        .filter(|a| {
                            p.kind != ParamKind::Slice || !a.fixed || self.cfg.array_to_slice_param
                        })
                        .filter(|a| {
                            // A mutable array may be written after the call (issue 13, 6)
                            // and, in a loop, before the next one (issue 13, 3).
                            !a.mutable
                                || (self.cfg.write_after_call
                                    && (!in_loop || self.cfg.call_with_loop_written_array))
                        })
                        .collect();
                    if ok.is_empty() {
                        return None;
                    }
                    let a = self.r.pick(&ok).name.clone();
                    if p.kind == ParamKind::Slice {
                        self.slice_arg(a)
                    } else {
                        Arg::ArrayValue(a)
                    }
                }
            });
        }
        Some(args)
    }

    fn leaf(&mut self, env: &Env) -> Expr {
        let arrs = &env.arrays;
        match self.r.below(10) {
            0..=4 if !env.scalars.is_empty() => Expr::Var(self.r.pick(&env.scalars).0.clone()),
            5..=7 if !arrs.is_empty() => {
                let a = self.r.pick(arrs).name.clone();
                Expr::Index(a, self.index(env))
            }
            8 => Expr::Const(self.r.value(0.1, 2.0)),
            _ => {
                if !env.scalars.is_empty() {
                    Expr::Var(self.r.pick(&env.scalars).0.clone())
                } else {
                    Expr::Const(self.r.value(0.1, 2.0))
                }
            }
        }
    }

    fn m(&mut self, m: &'static str, e: Expr) -> Expr {
        Expr::Method {
            m,
            path: self.r.chance(0.15),
            e: Box::new(e),
        }
    }

    /// `e * e + c`: positive and away from zero.
    fn positive(&mut self, e: Expr, c: f64) -> Expr {
        let square = match e {
            Expr::Var(_) | Expr::Index(..) | Expr::Const(_) => {
                Expr::Bin(BinOp::Mul, Box::new(e.clone()), Box::new(e))
            }
            _ => Expr::Powi(Box::new(e), IExpr::Lit(2)),
        };
        Expr::Bin(BinOp::Add, Box::new(square), Box::new(Expr::Const(c)))
    }

    fn squash(&mut self, e: Expr) -> Expr {
        Expr::Method {
            m: "tanh",
            path: false,
            e: Box::new(e),
        }
    }

    fn expr(&mut self, env: &Env, depth: usize) -> Expr {
        if depth == 0 || self.r.chance(0.2) {
            return self.leaf(env);
        }
        let d = depth - 1;
        match self.r.below(24) {
            0..=2 => {
                let op = *self.r.pick(&[BinOp::Add, BinOp::Sub, BinOp::Mul]);
                Expr::Bin(op, Box::new(self.expr(env, d)), Box::new(self.expr(env, d)))
            }
            3 => {
                let den = self.expr(env, d);
                let den = self.positive(den, 0.5);
                Expr::Bin(BinOp::Div, Box::new(self.expr(env, d)), Box::new(den))
            }
            4 => Expr::Neg(Box::new(self.expr(env, d))),
            5 => {
                let m = *self.r.pick(&["sin", "cos", "atan", "asinh", "tanh"]);
                let e = self.expr(env, d);
                self.m(m, e)
            }
            6 => {
                // arguments squashed into (-1, 1)
                let m = *self
                    .r
                    .pick(&["tan", "exp", "exp2", "exp_m1", "sinh", "cosh"]);
                let e = self.expr(env, d);
                let e = self.squash(e);
                self.m(m, e)
            }
            7 => {
                let m = *self.r.pick(&["asin", "acos", "atanh"]);
                let e = self.expr(env, d);
                let e = self.squash(e);
                let e = Expr::Bin(BinOp::Mul, Box::new(Expr::Const(0.9)), Box::new(e));
                self.m(m, e)
            }
            8 => {
                let m = *self
                    .r
                    .pick(&["ln", "log2", "log10", "sqrt", "cbrt", "recip", "ln_1p"]);
                let e = self.expr(env, d);
                let c = 0.3 + self.r.below(10) as f64 / 10.0;
                let e = self.positive(e, c);
                self.m(m, e)
            }
            9 => {
                let e = self.expr(env, d);
                let e = self.positive(e, 1.2);
                self.m("acosh", e)
            }
            10 if self.cfg.kinks => {
                let m = *self.r.pick(&["abs", "signum"]);
                let e = self.expr(env, d);
                self.m(m, e)
            }
            11 => {
                // Both have no derivative at (0, 0), which generated values reach exactly
                // (`0.0 * x`, an array of zeros): one operand, either one, is kept positive.
                let m = *self.r.pick(&["atan2", "hypot"]);
                let (mut a, mut b) = (self.expr(env, d), self.expr(env, d));
                if self.r.chance(0.5) {
                    a = self.positive(a, 0.3);
                } else {
                    b = self.positive(b, 0.3);
                }
                Expr::Method2 {
                    m,
                    path: self.r.chance(0.15),
                    a: Box::new(a),
                    b: Box::new(b),
                }
            }
            12 if self.cfg.kinks => {
                let m = *self.r.pick(&["max", "min"]);
                Expr::Method2 {
                    m,
                    path: self.r.chance(0.15),
                    a: Box::new(self.expr(env, d)),
                    b: Box::new(self.expr(env, d)),
                }
            }
            13 => {
                // powf with a variable exponent, log with a variable base
                let a = self.expr(env, d);
                let a = self.positive(a, 0.5);
                if self.r.chance(0.6) {
                    let b = self.expr(env, d);
                    let b = self.squash(b);
                    let b = Expr::Bin(BinOp::Mul, Box::new(Expr::Const(2.0)), Box::new(b));
                    Expr::Method2 {
                        m: "powf",
                        path: self.r.chance(0.15),
                        a: Box::new(a),
                        b: Box::new(b),
                    }
                } else {
                    let b = self.expr(env, d);
                    let b = self.positive(b, 2.0);
                    Expr::Method2 {
                        m: "log",
                        path: false,
                        a: Box::new(a),
                        b: Box::new(b),
                    }
                }
            }
            14 => Expr::MulAdd(
                Box::new(self.expr(env, d)),
                Box::new(self.expr(env, d)),
                Box::new(self.expr(env, d)),
            ),
            15 => {
                let n = self.exponent(env);
                let mut b = self.expr(env, d);
                if !matches!(n, IExpr::Lit(1..)) {
                    b = self.positive(b, 0.6);
                }
                Expr::Powi(Box::new(b), n)
            }
            16 if self.cfg.stop_gradient => Expr::Stop(Box::new(self.expr(env, d))),
            17 if self.cfg.branches => Expr::If(
                Box::new(self.cond(env)),
                Box::new(self.expr(env, d)),
                Box::new(self.expr(env, d)),
            ),
            18..=19 if self.cfg.calls => {
                let fs: Vec<Func> = self
                    .done
                    .iter()
                    .filter(|f| f.ret == Ret::Scalar)
                    .cloned()
                    .collect();
                if fs.is_empty() {
                    return self.leaf(env);
                }
                let f = self.r.pick(&fs).clone();
                match self.args(env, &f) {
                    Some(args) => Expr::Call(f.name.clone(), args),
                    None => self.leaf(env),
                }
            }
            20..=21 if self.cfg.iterator_reductions && !env.arrays.is_empty() => {
                let arr = self.r.pick(&env.arrays).name.clone();
                let v = self.name("c");
                let mut inner = env.clone();
                inner.scalars.push((v.clone(), false));
                match self.r.below(3) {
                    0 => {
                        let prod = self.r.chance(0.3);
                        let mut body = self.expr(&inner, d.min(2));
                        if prod {
                            body = self.squash(body);
                        }
                        Expr::MapReduce {
                            arr,
                            v,
                            body: Box::new(body),
                            prod,
                        }
                    }
                    1 if self.cfg.zip => {
                        let b = self.r.pick(&env.arrays).name.clone();
                        let u = self.name(if self.cfg.copied_in_zip { "c" } else { "rc" });
                        let v = if self.cfg.copied_in_zip {
                            v
                        } else {
                            format!("r{v}")
                        };
                        inner.scalars.pop();
                        inner.scalars.push((v.clone(), false));
                        inner.scalars.push((u.clone(), false));
                        let body = self.expr(&inner, d.min(2));
                        Expr::ZipSum {
                            a: arr,
                            b,
                            u,
                            v,
                            body: Box::new(body),
                        }
                    }
                    _ => {
                        let acc = self.name("acc");
                        let init = self.expr(env, 1);
                        inner.scalars.push((acc.clone(), false));
                        let body = self.expr(&inner, d.min(2));
                        let body = self.squash(body);
                        Expr::Fold {
                            arr,
                            acc,
                            v,
                            init: Box::new(init),
                            body: Box::new(body),
                        }
                    }
                }
            }
            _ => {
                let op = *self.r.pick(&[BinOp::Add, BinOp::Mul]);
                Expr::Bin(op, Box::new(self.expr(env, d)), Box::new(self.expr(env, d)))
            }
        }
    }
}

/// Whether `e` reads the array `arr` at all (`z[0] += z[1]` at a generic `T` borrows `z`
/// twice: `AddAssign::add_assign(&mut z[0], z[1])`).
pub fn mentions(e: &Expr, arr: &str) -> bool {
    print_expr(e, Style::Generic).contains(&format!("{arr}[")) || mentions_whole(e, arr)
}

/// Whether `e` uses the whole array `arr` (an iterator or a call argument), not one element.
pub fn mentions_whole(e: &Expr, arr: &str) -> bool {
    let r = |e: &Expr| mentions_whole(e, arr);
    match e {
        Expr::Var(_) | Expr::Const(_) | Expr::Index(..) => false,
        Expr::Bin(_, a, b) | Expr::Method2 { a, b, .. } => r(a) || r(b),
        Expr::Neg(a) | Expr::Method { e: a, .. } | Expr::Stop(a) | Expr::Powi(a, _) => r(a),
        Expr::MulAdd(a, b, c) => r(a) || r(b) || r(c),
        Expr::If(c, a, b) => {
            r(a) || r(b)
                || match &**c {
                    Cond::Less(x, y) => r(x) || r(y),
                    _ => false,
                }
        }
        Expr::Call(_, args) => args.iter().any(|a| match a {
            Arg::Scalar(e) => r(e),
            Arg::Slice(n) | Arg::ArrayValue(n) | Arg::SubSlice(n) => n == arr,
            Arg::Int(_) => false,
        }),
        // (a closure that names the whole array borrows it too)
        Expr::MapReduce { arr: a, body, .. } => a == arr || r(body),
        Expr::ZipSum { a, b, body, .. } => a == arr || b == arr || r(body),
        Expr::Fold {
            arr: a, init, body, ..
        } => a == arr || r(init) || r(body),
    }
}

// ---------------------------------------------------------------------------------------
// Facts about a program
// ---------------------------------------------------------------------------------------

impl Func {
    /// Float parameters, in order.
    pub fn float_params(&self) -> Vec<&Param> {
        self.params
            .iter()
            .filter(|p| p.kind != ParamKind::Int)
            .collect()
    }

    /// The `wrt` names in the gradient's order.
    pub fn wrt_names(&self) -> Vec<String> {
        match &self.wrt {
            Wrt::All => self.float_params().iter().map(|p| p.name.clone()).collect(),
            Wrt::List(l) => l.clone(),
            Wrt::Single(n) => vec![n.clone()],
        }
    }

    pub fn n_out(&self) -> usize {
        match self.ret {
            Ret::Scalar => 1,
            Ret::Tuple => 2,
            Ret::Array => LEN,
        }
    }

    /// No kinks and no comparisons of floats: finite differences apply.
    pub fn smooth(&self, prog: &Program) -> bool {
        let mut s = String::new();
        print_function(&mut s, self, Style::Generic);
        let called_smooth = prog
            .functions
            .iter()
            .filter(|g| g.name != self.name && s.contains(&format!("{}(", g.name)))
            .all(|g| g.smooth(prog));
        called_smooth
            && self.stop.is_empty()
            && !s.contains("stop_gradient")
            && !s.contains(" < ")
            && ![
                ".abs()",
                ".signum()",
                ".max(",
                ".min(",
                "::abs(",
                "::signum(",
                "::max(",
                "::min(",
                "atan2",
            ]
            .iter()
            .any(|k| s.contains(k))
    }
}

// ---------------------------------------------------------------------------------------
// The printer
// ---------------------------------------------------------------------------------------

/// How a function is printed: generic over `T: Float` (what the macro gets), at `f64` (what
/// the macro gets when generic code is switched off), or as the oracle's copy (generic, no
/// attribute, `stop_gradient` and `stop = [..]` as `Stop::stop`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    Generic,
    F64,
    Oracle,
}

impl Style {
    fn ty(self) -> &'static str {
        match self {
            Style::F64 => "f64",
            _ => "T",
        }
    }
}

fn c(x: f64, st: Style) -> String {
    let x = (x * 1000.0).round() / 1000.0;
    match st {
        Style::F64 if x < 0.0 => format!("({x:?})"),
        Style::F64 => format!("{x:?}"),
        _ => format!("T::from({x:?}).unwrap()"),
    }
}

fn print_iexpr_index(i: &IExpr) -> String {
    match i {
        IExpr::Lit(n) => format!("{}", n.rem_euclid(LEN as i64)),
        IExpr::Index(i) => i.clone(),
        IExpr::RevIndex(i) => format!("{} - {i}", LEN - 1),
        IExpr::Param(k) => format!("({k} as usize % {LEN})"),
    }
}

fn print_iexpr_exp(i: &IExpr) -> String {
    match i {
        IExpr::Lit(n) => format!("{n}"),
        IExpr::Index(i) => format!("{i} as i32"),
        IExpr::RevIndex(i) => format!("({} - {i}) as i32", LEN - 1),
        IExpr::Param(k) => k.clone(),
    }
}

fn binop(op: BinOp) -> &'static str {
    match op {
        BinOp::Add => "+",
        BinOp::Sub => "-",
        BinOp::Mul => "*",
        BinOp::Div => "/",
    }
}

/// Prints an expression; `oracle` prints `stop_gradient(e)` as the oracle's `Stop::stop`.
pub fn print_expr(e: &Expr, oracle: Style) -> String {
    let p = |e: &Expr| print_expr(e, oracle);
    match e {
        // loop variables of `a.iter().zip(b.iter())` are references
        Expr::Var(v) if v.starts_with('r') => format!("(*{v})"),
        Expr::Var(v) => v.clone(),
        Expr::Const(x) => c(*x, oracle),
        Expr::Index(a, i) => format!("{a}[{}]", print_iexpr_index(i)),
        Expr::Bin(op, a, b) => format!("({} {} {})", p(a), binop(*op), p(b)),
        Expr::Neg(a) => format!("(-{})", p(a)),
        Expr::Method { m, path: true, e } => format!("{}::{m}({})", oracle.ty(), p(e)),
        Expr::Method { m, e, .. } => format!("{}.{m}()", p(e)),
        Expr::Method2 {
            m,
            path: true,
            a,
            b,
        } => {
            format!("{}::{m}({}, {})", oracle.ty(), p(a), p(b))
        }
        Expr::Method2 { m, a, b, .. } => format!("{}.{m}({})", p(a), p(b)),
        Expr::MulAdd(a, b, cc) => format!("{}.mul_add({}, {})", p(a), p(b), p(cc)),
        Expr::Powi(a, n) => format!("{}.powi({})", p(a), print_iexpr_exp(n)),
        Expr::Stop(a) if oracle == Style::Oracle => format!("Stop::stop({})", p(a)),
        Expr::Stop(a) => format!("stop_gradient({})", p(a)),
        Expr::If(cond, a, b) => format!(
            "(if {} {{ {} }} else {{ {} }})",
            print_cond(cond, oracle),
            p(a),
            p(b)
        ),
        Expr::Call(f, args) => format!("{f}({})", print_args(args, oracle)),
        Expr::MapReduce { arr, v, body, prod } => format!(
            "{arr}.iter().copied().map(|{v}| {}).{}::<{}>()",
            p(body),
            if *prod { "product" } else { "sum" },
            oracle.ty()
        ),
        Expr::ZipSum { a, b, u, v, body } if u.starts_with('r') => format!(
            "{a}.iter().zip({b}.iter()).map(|({u}, {v})| {}).sum::<{}>()",
            p(body),
            oracle.ty()
        ),
        Expr::ZipSum { a, b, u, v, body } => format!(
            "{a}.iter().copied().zip({b}.iter().copied()).map(|({u}, {v})| {}).sum::<{}>()",
            p(body),
            oracle.ty()
        ),
        Expr::Fold {
            arr,
            acc,
            v,
            init,
            body,
        } => format!(
            "{arr}.iter().copied().fold({}, |{acc}, {v}| {})",
            p(init),
            p(body)
        ),
    }
}

fn print_cond(c: &Cond, oracle: Style) -> String {
    match c {
        Cond::Less(a, b) => format!("{} < {}", print_expr(a, oracle), print_expr(b, oracle)),
        Cond::Even(i) => format!("{i} % 2 == 0"),
        Cond::IntGt(k, n) => format!("{k} > {n}"),
    }
}

fn print_args(args: &[Arg], oracle: Style) -> String {
    let v: Vec<String> = args
        .iter()
        .map(|a| match a {
            Arg::Scalar(e) => print_expr(e, oracle),
            Arg::Slice(n) if n == "xs" => n.clone(),
            Arg::Slice(n) => format!("&{n}"),
            Arg::ArrayValue(n) => n.clone(),
            Arg::Int(i) => print_iexpr_exp(i),
            Arg::SubSlice(n) => format!("&{n}[0..{LEN}]"),
        })
        .collect();
    v.join(", ")
}

fn print_tail(ret: Ret, tail: &[Expr], oracle: Style) -> String {
    let v: Vec<String> = tail.iter().map(|e| print_expr(e, oracle)).collect();
    match ret {
        Ret::Scalar => v[0].clone(),
        Ret::Tuple => format!("({}, {})", v[0], v[1]),
        Ret::Array => format!("[{}]", v.join(", ")),
    }
}

struct Printer<'a> {
    out: &'a mut String,
    oracle: Style,
    ret: Ret,
    stop: &'a [String],
}

impl Printer<'_> {
    fn line(&mut self, depth: usize, s: &str) {
        for _ in 0..depth {
            self.out.push_str("    ");
        }
        self.out.push_str(s);
        self.out.push('\n');
    }

    fn block(&mut self, depth: usize, b: &[Stmt]) {
        for s in b {
            self.stmt(depth, s);
        }
    }

    fn stmt(&mut self, d: usize, s: &Stmt) {
        let o = self.oracle;
        let p = |e: &Expr| print_expr(e, o);
        match s {
            Stmt::Let { name, mutable, e } => {
                let m = if *mutable { "mut " } else { "" };
                if o == Style::Oracle && self.stop.contains(name) {
                    self.line(d, &format!("let {m}{name} = Stop::stop({});", p(e)));
                } else {
                    self.line(d, &format!("let {m}{name} = {};", p(e)));
                }
            }
            Stmt::Assign { name, op, e } => {
                self.line(d, &format!("{name} {} {};", op.text(), p(e)));
            }
            Stmt::LetArr {
                name,
                mutable,
                init,
            } => {
                let m = if *mutable { "mut " } else { "" };
                let rhs = match init {
                    ArrInit::VecFill(x) => format!("vec![{}; {LEN}]", c(*x, o)),
                    ArrInit::ArrFill(x) => format!("[{}; {LEN}]", c(*x, o)),
                    ArrInit::Lit(es) => {
                        let v: Vec<String> = es.iter().map(p).collect();
                        format!("[{}]", v.join(", "))
                    }
                    ArrInit::ToVec(a) => format!("{a}.to_vec()"),
                    ArrInit::Call(f, args) => {
                        self.line(
                            d,
                            &format!(
                                "let {m}{name}: [{}; {LEN}] = {f}({});",
                                o.ty(),
                                print_args(args, o)
                            ),
                        );
                        return;
                    }
                };
                self.line(d, &format!("let {m}{name} = {rhs};"));
            }
            Stmt::Write { arr, idx, op, e } => {
                self.line(
                    d,
                    &format!("{arr}[{}] {} {};", print_iexpr_index(idx), op.text(), p(e)),
                );
            }
            Stmt::Swap { arr, i, j } => {
                self.line(
                    d,
                    &format!(
                        "{arr}.swap({}, {});",
                        print_iexpr_index(i),
                        print_iexpr_index(j)
                    ),
                );
            }
            Stmt::LetTuple { a, b, call, args } => {
                self.line(
                    d,
                    &format!("let ({a}, {b}) = {call}({});", print_args(args, o)),
                );
            }
            Stmt::If { cond, then, els } => {
                self.line(d, &format!("if {} {{", print_cond(cond, o)));
                self.block(d + 1, then);
                if els.is_empty() {
                    self.line(d, "}");
                } else {
                    self.line(d, "} else {");
                    self.block(d + 1, els);
                    self.line(d, "}");
                }
            }
            Stmt::For { head, body } => {
                let r = |rev: &bool| if *rev { ".rev()" } else { "" };
                let h = match head {
                    ForHead::Range { i, rev: false } => format!("for {i} in 0..{LEN} {{"),
                    ForHead::Range { i, rev: true } => format!("for {i} in (0..{LEN}).rev() {{"),
                    ForHead::Iter { v, arr, rev } => {
                        format!("for {v} in {arr}.iter().copied(){} {{", r(rev))
                    }
                    ForHead::Enumerate { i, v, arr, rev } => format!(
                        "for ({i}, {v}) in {arr}.iter().copied().enumerate(){} {{",
                        r(rev)
                    ),
                    ForHead::Zip { u, v, a, b, rev } if u.starts_with('r') => {
                        format!("for ({u}, {v}) in {a}.iter().zip({b}.iter()){} {{", r(rev))
                    }
                    ForHead::Zip { u, v, a, b, rev } => format!(
                        "for ({u}, {v}) in {a}.iter().copied().zip({b}.iter().copied()){} {{",
                        r(rev)
                    ),
                    ForHead::Parts {
                        v,
                        w,
                        t,
                        arr,
                        kind,
                        k,
                        lo,
                        via,
                        rev,
                    } => {
                        let source = match via {
                            0 => format!("{arr}[{lo}..]"),
                            1 => {
                                self.line(d, &format!("let {t} = &{arr}[{lo}..];"));
                                t.clone()
                            }
                            _ => {
                                self.line(d, &format!("let (_, {t}) = {arr}.split_at({lo});"));
                                t.clone()
                            }
                        };
                        format!(
                            "for {w} in {source}.{}({k}){} {{ let {v} = {w}[0] * {w}[{w}.len() - 1] + {w}[0];",
                            kind.method(),
                            r(rev)
                        )
                    }
                    ForHead::RevStepBy { v, arr, k } => {
                        format!("for {v} in {arr}.iter().copied().rev().step_by({k}) {{")
                    }
                };
                self.line(d, &h);
                self.block(d + 1, body);
                self.line(d, "}");
            }
            Stmt::While { c, n, body } => {
                self.line(d, &format!("let mut {c} = 0;"));
                self.line(d, &format!("while {c} < {n} {{"));
                self.line(d + 1, &format!("{c} += 1;"));
                self.block(d + 1, body);
                self.line(d, "}");
            }
            Stmt::Loop { c, n, body } => {
                self.line(d, &format!("let mut {c} = 0;"));
                self.line(d, "loop {");
                self.line(d + 1, &format!("if {c} >= {n} {{"));
                self.line(d + 2, "break;");
                self.line(d + 1, "}");
                self.line(d + 1, &format!("{c} += 1;"));
                self.block(d + 1, body);
                self.line(d, "}");
            }
            Stmt::Break => self.line(d, "break;"),
            Stmt::Continue => self.line(d, "continue;"),
            Stmt::Return(t) => {
                let t = print_tail(self.ret, t, o);
                self.line(d, &format!("return {t};"));
            }
        }
    }
}

fn ty(k: ParamKind, t: &str) -> String {
    match k {
        ParamKind::Scalar => t.into(),
        ParamKind::Slice => format!("&[{t}]"),
        ParamKind::Array => format!("[{t}; {LEN}]"),
        ParamKind::Int => "i32".into(),
    }
}

fn ret_ty(r: Ret, t: &str) -> String {
    match r {
        Ret::Scalar => t.into(),
        Ret::Tuple => format!("({t}, {t})"),
        Ret::Array => format!("[{t}; {LEN}]"),
    }
}

/// The attribute's arguments (`wrt = [..], stop = [..]`).
pub fn attribute(f: &Func) -> String {
    let mut parts = Vec::new();
    match &f.wrt {
        Wrt::All => {}
        Wrt::List(l) => parts.push(format!("wrt = [{}]", l.join(", "))),
        Wrt::Single(n) => parts.push(format!("wrt = {n}")),
    }
    if !f.stop.is_empty() {
        parts.push(format!("stop = [{}]", f.stop.join(", ")));
    }
    parts.join(", ")
}

/// The function's item without the attribute (what the macro receives).
pub fn print_function(out: &mut String, f: &Func, oracle: Style) {
    let params: Vec<String> = f
        .params
        .iter()
        .map(|p| format!("{}: {}", p.name, ty(p.kind, oracle.ty())))
        .collect();
    let generics = match oracle {
        Style::F64 => "",
        Style::Generic => "<T: Float + Sum + Product + AddAssign + SubAssign + MulAssign>",
        Style::Oracle => "<T: Float + Sum + Product + AddAssign + SubAssign + MulAssign + Stop>",
    };
    let _ = writeln!(
        out,
        "pub fn {}{generics}({}) -> {} {{",
        f.name,
        params.join(", "),
        ret_ty(f.ret, oracle.ty())
    );
    let mut pr = Printer {
        out,
        oracle,
        ret: f.ret,
        stop: &f.stop,
    };
    pr.block(1, &f.body);
    let t = print_tail(f.ret, &f.tail, oracle);
    pr.line(1, &t);
    out.push_str("}\n");
}

/// The program's functions, annotated, as a module body.
pub fn print_functions(p: &Program) -> String {
    print_functions_as(
        p,
        if p.generic {
            Style::Generic
        } else {
            Style::F64
        },
    )
}

fn print_functions_as(p: &Program, st: Style) -> String {
    let mut s = String::new();
    for f in &p.functions {
        let a = attribute(f);
        if a.is_empty() {
            s.push_str("#[differentiate]\n");
        } else {
            let _ = writeln!(s, "#[differentiate({a})]");
        }
        print_function(&mut s, f, st);
    }
    s
}

/// The whole program as a module: the annotated functions, the oracle's un-annotated copy
/// (`stop_gradient` and `stop = [..]` written as the oracle's `Stop::stop`), and one
/// `check_fN()` per function that hands everything to `difftest::check`.
pub fn print_module(name: &str, p: &Program) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "pub mod {name} {{");
    s.push_str("#![allow(warnings, clippy::all)]\n");
    s.push_str("use autodiff::prelude::*;\nuse std::iter::{Sum, Product};\nuse std::ops::{AddAssign, SubAssign, MulAssign};\n");
    s.push_str(&print_functions(p));
    s.push_str("pub mod oracle {\nuse difftest::Stop;\nuse num_traits::Float;\nuse std::iter::{Sum, Product};\nuse std::ops::{AddAssign, SubAssign, MulAssign};\n");
    for f in &p.functions {
        print_function(&mut s, f, Style::Oracle);
    }
    s.push_str("}\n");
    for f in &p.functions {
        print_check(&mut s, f, p);
    }
    print_struct_variants(&mut s, p);
    s.push_str("/// Every function's check, in order.\n");
    s.push_str("pub fn checks() -> Vec<(&'static str, fn() -> difftest::Outcome)> {\n    vec![");
    for f in &p.functions {
        let _ = write!(
            s,
            "(\"{}\", check_{} as fn() -> difftest::Outcome), ",
            f.name, f.name
        );
    }
    s.push_str(&struct_variant_checks(p));
    s.push_str("]\n}\n}\n");
    s
}

/// Layout of the flat float inputs: (parameter, first position, length).
fn layout(f: &Func) -> Vec<(&Param, usize, usize)> {
    let mut at = 0;
    let mut v = Vec::new();
    for p in &f.params {
        let n = match p.kind {
            ParamKind::Scalar => 1,
            ParamKind::Slice | ParamKind::Array => LEN,
            ParamKind::Int => 0,
        };
        v.push((p, at, n));
        at += n;
    }
    v
}

fn call_args(f: &Func, src: &str, ints: &str) -> String {
    layout(f)
        .iter()
        .map(|(p, at, n)| match p.kind {
            ParamKind::Scalar => format!("{src}[{at}]"),
            ParamKind::Slice => format!("&{src}[{at}..{}]", at + n),
            ParamKind::Array => format!("[{src}[{at}], {src}[{}], {src}[{}]]", at + 1, at + 2),
            ParamKind::Int => ints.to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn flat_out(r: Ret, v: &str) -> String {
    match r {
        Ret::Scalar => format!("vec![{v}]"),
        Ret::Tuple => format!("vec![{v}.0, {v}.1]"),
        Ret::Array => format!("{v}.to_vec()"),
    }
}

fn print_check(s: &mut String, f: &Func, p: &Program) {
    let lay = layout(f);
    let n_in: usize = lay.iter().map(|l| l.2).sum();
    let inputs: Vec<String> = p.inputs[..n_in].iter().map(|x| format!("{x:?}")).collect();
    let wrt = f.wrt_names();
    let mut wrt_pos = Vec::new();
    let mut grads = Vec::new();
    let mut tangents = Vec::new();
    for (gi, w) in wrt.iter().enumerate() {
        let Some((param, at, n)) = lay.iter().find(|l| &l.0.name == w) else {
            continue;
        };
        for k in 0..*n {
            wrt_pos.push((at + k).to_string());
        }
        grads.push(match param.kind {
            ParamKind::Scalar => format!("&[g{gi}][..]"),
            _ => format!("&g{gi}[..]"),
        });
        tangents.push(match param.kind {
            ParamKind::Scalar => format!("t[{at}]"),
            ParamKind::Slice => format!("&t[{at}..{}]", at + n),
            _ => format!("[t[{at}], t[{}], t[{}]]", at + 1, at + 2),
        });
    }
    let gpat: Vec<String> = (0..wrt.len()).map(|i| format!("g{i}")).collect();
    let gpat = match f.wrt {
        Wrt::Single(_) => gpat[0].clone(),
        _ => format!("({},)", gpat.join(", ")),
    };
    let seed = match f.ret {
        Ret::Scalar => "s[0]".to_string(),
        Ret::Tuple => "(s[0], s[1])".to_string(),
        Ret::Array => "[s[0], s[1], s[2]]".to_string(),
    };
    let name = &f.name;
    let k = p.int_input;
    let args = call_args(f, "p", "k");
    let dargs = call_args(f, "d", "k");
    let cat = format!("[{}].concat()", grads.join(", "));
    let _ = writeln!(
        s,
        "pub fn check_{name}() -> difftest::Outcome {{
    let k: i32 = {k};
    let input: Vec<f64> = vec![{inputs}];
    difftest::check(&difftest::Subject {{
        name: \"{name}\",
        input: &input,
        wrt: &[{wrt_pos}],
        n_out: {n_out},
        smooth: {smooth},
        value: &|p: &[f64]| {{ let o = {name}{turbofish}({args}); {fo} }},
        grad: &|p: &[f64]| {{ let (o, {gpat}) = {name}_grad({args}); ({fo}, {cat}) }},
        vjp: &|p: &[f64], s: &[f64]| {{ let (o, {gpat}) = {name}_vjp({args}, {seed}); ({fo}, {cat}) }},
        jvp: &|p: &[f64], t: &[f64]| {{ let (o, dt) = {name}_jvp({args}{tsep}{tangents}); ({fo}, {fdt}) }},
        dual: &|p: &[f64], t: &[f64]| {{
            let d: Vec<difftest::Dual> = p.iter().zip(t).map(|(&a, &b)| difftest::Dual::new(a, b)).collect();
            let o = oracle::{name}::<difftest::Dual>({dargs});
            let o = {fo};
            (o.iter().map(|x| x.re()).collect(), o.iter().map(|x| x.eps()).collect())
        }},
    }})
}}",
        inputs = inputs.join(", "),
        wrt_pos = wrt_pos.join(", "),
        n_out = f.n_out(),
        smooth = f.smooth(p),
        fo = flat_out(f.ret, "o"),
        turbofish = if p.generic { "::<f64>" } else { "" },
        fdt = flat_out(f.ret, "dt"),
        tsep = if tangents.is_empty() { "" } else { ", " },
        tangents = tangents.join(", "),
    );
}

// ---------------------------------------------------------------------------------------
// Scope checking (a shrunk candidate must still be a valid program)
// ---------------------------------------------------------------------------------------

#[derive(Clone, Default)]
struct Scope {
    scalars: Vec<String>,
    mutables: Vec<String>,
    arrays: Vec<(String, bool, bool)>, // name, mutable, fixed
    indices: Vec<String>,
    ints: Vec<String>,
    in_loop: bool,
}

fn ok_iexpr(sc: &Scope, i: &IExpr) -> bool {
    match i {
        IExpr::Lit(_) => true,
        IExpr::Index(n) | IExpr::RevIndex(n) => sc.indices.contains(n),
        IExpr::Param(n) => sc.ints.contains(n),
    }
}

fn has_array(sc: &Scope, n: &str) -> bool {
    sc.arrays.iter().any(|a| a.0 == n)
}

fn ok_args(sc: &Scope, p: &Program, callee: &str, args: &[Arg], want: Ret, before: usize) -> bool {
    let Some(pos) = p.functions.iter().position(|f| f.name == callee) else {
        return false;
    };
    if pos >= before {
        return false;
    }
    let f = &p.functions[pos];
    f.ret == want
        && f.params.len() == args.len()
        && f.params.iter().zip(args).all(|(q, a)| match (q.kind, a) {
            (ParamKind::Scalar, Arg::Scalar(e)) => ok_expr(sc, p, e, before),
            (ParamKind::Slice, Arg::Slice(n) | Arg::SubSlice(n)) => has_array(sc, n),
            (ParamKind::Array, Arg::ArrayValue(n)) => sc.arrays.iter().any(|a| &a.0 == n && a.2),
            (ParamKind::Int, Arg::Int(i)) => ok_iexpr(sc, i),
            _ => false,
        })
}

fn ok_expr(sc: &Scope, p: &Program, e: &Expr, before: usize) -> bool {
    let r = |e: &Expr| ok_expr(sc, p, e, before);
    match e {
        Expr::Var(v) => sc.scalars.contains(v),
        Expr::Const(_) => true,
        Expr::Index(a, i) => has_array(sc, a) && ok_iexpr(sc, i),
        Expr::Bin(_, a, b) | Expr::Method2 { a, b, .. } => r(a) && r(b),
        Expr::Neg(a) | Expr::Method { e: a, .. } | Expr::Stop(a) => r(a),
        Expr::MulAdd(a, b, c) => r(a) && r(b) && r(c),
        Expr::Powi(a, n) => r(a) && ok_iexpr(sc, n),
        Expr::If(c, a, b) => ok_cond(sc, p, c, before) && r(a) && r(b),
        Expr::Call(f, args) => ok_args(sc, p, f, args, Ret::Scalar, before),
        Expr::MapReduce { arr, v, body, .. } => {
            let mut inner = sc.clone();
            inner.scalars.push(v.clone());
            has_array(sc, arr) && ok_expr(&inner, p, body, before)
        }
        Expr::ZipSum { a, b, u, v, body } => {
            let mut inner = sc.clone();
            inner.scalars.push(u.clone());
            inner.scalars.push(v.clone());
            has_array(sc, a) && has_array(sc, b) && ok_expr(&inner, p, body, before)
        }
        Expr::Fold {
            arr,
            acc,
            v,
            init,
            body,
        } => {
            let mut inner = sc.clone();
            inner.scalars.push(v.clone());
            inner.scalars.push(acc.clone());
            has_array(sc, arr) && r(init) && ok_expr(&inner, p, body, before)
        }
    }
}

fn ok_cond(sc: &Scope, p: &Program, c: &Cond, before: usize) -> bool {
    match c {
        Cond::Less(a, b) => ok_expr(sc, p, a, before) && ok_expr(sc, p, b, before),
        Cond::Even(i) => sc.indices.contains(i),
        Cond::IntGt(k, _) => sc.ints.contains(k),
    }
}

fn ok_block(sc: &mut Scope, p: &Program, f: &Func, b: &[Stmt], before: usize) -> bool {
    for s in b {
        if !ok_stmt(sc, p, f, s, before) {
            return false;
        }
    }
    true
}

fn ok_stmt(sc: &mut Scope, p: &Program, f: &Func, s: &Stmt, before: usize) -> bool {
    match s {
        Stmt::Let { name, mutable, e } => {
            if !ok_expr(sc, p, e, before) {
                return false;
            }
            sc.scalars.push(name.clone());
            if *mutable {
                sc.mutables.push(name.clone());
            }
            true
        }
        Stmt::Assign { name, e, .. } => sc.mutables.contains(name) && ok_expr(sc, p, e, before),
        Stmt::LetArr {
            name,
            mutable,
            init,
        } => {
            let (ok, fixed) = match init {
                ArrInit::VecFill(_) => (true, false),
                ArrInit::ArrFill(_) => (true, true),
                ArrInit::Lit(es) => (
                    es.len() == LEN && es.iter().all(|e| ok_expr(sc, p, e, before)),
                    true,
                ),
                ArrInit::ToVec(a) => (has_array(sc, a), false),
                ArrInit::Call(g, args) => (ok_args(sc, p, g, args, Ret::Array, before), true),
            };
            sc.arrays.push((name.clone(), *mutable, fixed));
            ok
        }
        Stmt::Write { arr, idx, e, .. } => {
            sc.arrays.iter().any(|a| &a.0 == arr && a.1)
                && ok_iexpr(sc, idx)
                && ok_expr(sc, p, e, before)
        }
        Stmt::Swap { arr, i, j } => {
            sc.arrays.iter().any(|a| &a.0 == arr && a.1) && ok_iexpr(sc, i) && ok_iexpr(sc, j)
        }
        Stmt::LetTuple { a, b, call, args } => {
            if !ok_args(sc, p, call, args, Ret::Tuple, before) {
                return false;
            }
            sc.scalars.push(a.clone());
            sc.scalars.push(b.clone());
            true
        }
        Stmt::If { cond, then, els } => {
            ok_cond(sc, p, cond, before)
                && ok_block(&mut sc.clone(), p, f, then, before)
                && ok_block(&mut sc.clone(), p, f, els, before)
        }
        Stmt::For { head, body } => {
            let mut inner = sc.clone();
            inner.in_loop = true;
            let ok = match head {
                ForHead::Range { i, .. } => {
                    inner.indices.push(i.clone());
                    true
                }
                ForHead::Iter { v, arr, .. } => {
                    inner.scalars.push(v.clone());
                    has_array(sc, arr)
                }
                ForHead::Enumerate { i, v, arr, .. } => {
                    inner.indices.push(i.clone());
                    inner.scalars.push(v.clone());
                    has_array(sc, arr)
                }
                ForHead::Zip { u, v, a, b, .. } => {
                    inner.scalars.push(u.clone());
                    inner.scalars.push(v.clone());
                    has_array(sc, a) && has_array(sc, b)
                }
                ForHead::Parts { v, arr, .. } | ForHead::RevStepBy { v, arr, .. } => {
                    inner.scalars.push(v.clone());
                    has_array(sc, arr)
                }
            };
            ok && ok_block(&mut inner, p, f, body, before)
        }
        Stmt::While { body, .. } | Stmt::Loop { body, .. } => {
            let mut inner = sc.clone();
            inner.in_loop = true;
            ok_block(&mut inner, p, f, body, before)
        }
        Stmt::Break | Stmt::Continue => sc.in_loop,
        Stmt::Return(t) => t.len() == f.n_out() && t.iter().all(|e| ok_expr(sc, p, e, before)),
    }
}

/// Every name is defined where it is used, with the right kind; calls go to earlier
/// functions with matching parameters.
pub fn well_scoped(p: &Program) -> bool {
    p.functions.iter().enumerate().all(|(k, f)| {
        let mut sc = Scope::default();
        for q in &f.params {
            match q.kind {
                ParamKind::Scalar => sc.scalars.push(q.name.clone()),
                ParamKind::Slice => sc.arrays.push((q.name.clone(), false, false)),
                ParamKind::Array => sc.arrays.push((q.name.clone(), false, true)),
                ParamKind::Int => sc.ints.push(q.name.clone()),
            }
        }
        let ok = ok_block(&mut sc, p, f, &f.body, k)
            && f.tail.len() == f.n_out()
            && f.tail.iter().all(|e| ok_expr(&sc, p, e, k));
        // stop names must be top-level immutable lets
        let stops_ok = f.stop.iter().all(|s| {
            f.body
                .iter()
                .take_while(|st| matches!(st, Stmt::Let { .. } | Stmt::LetArr { .. }))
                .any(|st| matches!(st, Stmt::Let { name, mutable: false, .. } if name == s))
        });
        let wrt_ok = f
            .wrt_names()
            .iter()
            .all(|w| f.params.iter().any(|q| &q.name == w))
            && !f.wrt_names().is_empty();
        ok && stops_ok && wrt_ok && !f.float_params().is_empty()
    })
}

// ---------------------------------------------------------------------------------------
// Shrinking: one-step reductions of a program
// ---------------------------------------------------------------------------------------

/// Simpler expressions to try in place of `e`: its children, a constant, a variable.
fn expr_reductions(e: &Expr) -> Vec<Expr> {
    let mut v = Vec::new();
    let mut kids: Vec<&Expr> = Vec::new();
    match e {
        Expr::Var(_) | Expr::Const(_) | Expr::Index(..) => {}
        Expr::Bin(_, a, b) | Expr::Method2 { a, b, .. } => kids.extend([&**a, &**b]),
        Expr::Neg(a) | Expr::Method { e: a, .. } | Expr::Stop(a) | Expr::Powi(a, _) => kids.push(a),
        Expr::MulAdd(a, b, c) => kids.extend([&**a, &**b, &**c]),
        Expr::If(_, a, b) => kids.extend([&**a, &**b]),
        Expr::Call(_, args) => {
            for a in args {
                if let Arg::Scalar(e) = a {
                    kids.push(e);
                }
            }
        }
        Expr::MapReduce { .. } | Expr::ZipSum { .. } => {}
        Expr::Fold { init, .. } => kids.push(init),
    }
    for k in kids {
        v.push(k.clone());
    }
    if !matches!(e, Expr::Const(_)) {
        v.push(Expr::Const(0.5));
    }
    // reduce inside, one child at a time
    match e {
        Expr::Bin(op, a, b) => {
            for r in expr_reductions(a) {
                v.push(Expr::Bin(*op, Box::new(r), b.clone()));
            }
            for r in expr_reductions(b) {
                v.push(Expr::Bin(*op, a.clone(), Box::new(r)));
            }
        }
        Expr::Method { m, path, e } => {
            for r in expr_reductions(e) {
                v.push(Expr::Method {
                    m,
                    path: *path,
                    e: Box::new(r),
                });
            }
            if *path {
                v.push(Expr::Method {
                    m,
                    path: false,
                    e: e.clone(),
                });
            }
        }
        Expr::Method2 { m, path, a, b } => {
            for r in expr_reductions(a) {
                v.push(Expr::Method2 {
                    m,
                    path: *path,
                    a: Box::new(r),
                    b: b.clone(),
                });
            }
            for r in expr_reductions(b) {
                v.push(Expr::Method2 {
                    m,
                    path: *path,
                    a: a.clone(),
                    b: Box::new(r),
                });
            }
        }
        Expr::Neg(a) => {
            for r in expr_reductions(a) {
                v.push(Expr::Neg(Box::new(r)));
            }
        }
        Expr::Stop(a) => {
            for r in expr_reductions(a) {
                v.push(Expr::Stop(Box::new(r)));
            }
        }
        Expr::Powi(a, n) => {
            for r in expr_reductions(a) {
                v.push(Expr::Powi(Box::new(r), n.clone()));
            }
        }
        Expr::MapReduce {
            arr,
            v: cv,
            body,
            prod,
        } => {
            for r in expr_reductions(body) {
                v.push(Expr::MapReduce {
                    arr: arr.clone(),
                    v: cv.clone(),
                    body: Box::new(r),
                    prod: *prod,
                });
            }
        }
        Expr::Fold {
            arr,
            acc,
            v: cv,
            init,
            body,
        } => {
            for r in expr_reductions(body) {
                v.push(Expr::Fold {
                    arr: arr.clone(),
                    acc: acc.clone(),
                    v: cv.clone(),
                    init: init.clone(),
                    body: Box::new(r),
                });
            }
        }
        Expr::Call(f, args) => {
            for (i, a) in args.iter().enumerate() {
                if let Arg::Scalar(e) = a {
                    for r in expr_reductions(e) {
                        let mut args = args.clone();
                        args[i] = Arg::Scalar(r);
                        v.push(Expr::Call(f.clone(), args));
                    }
                }
            }
        }
        _ => {}
    }
    v
}

/// Reductions of a block: drop a statement, inline a compound statement's body, shrink a
/// loop count, or reduce inside one statement.
fn block_reductions(b: &[Stmt]) -> Vec<Vec<Stmt>> {
    let mut out = Vec::new();
    for i in 0..b.len() {
        let mut d = b.to_vec();
        d.remove(i);
        out.push(d);
    }
    for i in 0..b.len() {
        for r in stmt_reductions(&b[i]) {
            let mut d = b.to_vec();
            d.splice(i..i + 1, r);
            out.push(d);
        }
    }
    out
}

fn stmt_reductions(s: &Stmt) -> Vec<Vec<Stmt>> {
    let mut out = Vec::new();
    match s {
        Stmt::Let { name, mutable, e } => {
            if *mutable {
                out.push(vec![Stmt::Let {
                    name: name.clone(),
                    mutable: false,
                    e: e.clone(),
                }]);
            }
            for r in expr_reductions(e) {
                out.push(vec![Stmt::Let {
                    name: name.clone(),
                    mutable: *mutable,
                    e: r,
                }]);
            }
        }
        Stmt::Assign { name, op, e } => {
            for r in expr_reductions(e) {
                out.push(vec![Stmt::Assign {
                    name: name.clone(),
                    op: *op,
                    e: r,
                }]);
            }
        }
        Stmt::Write { arr, idx, op, e } => {
            for r in expr_reductions(e) {
                out.push(vec![Stmt::Write {
                    arr: arr.clone(),
                    idx: idx.clone(),
                    op: *op,
                    e: r,
                }]);
            }
        }
        Stmt::LetArr {
            name,
            mutable,
            init: ArrInit::Lit(es),
        } => {
            for (i, e) in es.iter().enumerate() {
                for r in expr_reductions(e) {
                    let mut es = es.clone();
                    es[i] = r;
                    out.push(vec![Stmt::LetArr {
                        name: name.clone(),
                        mutable: *mutable,
                        init: ArrInit::Lit(es),
                    }]);
                }
            }
        }
        Stmt::If { cond, then, els } => {
            out.push(then.clone());
            out.push(els.clone());
            if !els.is_empty() {
                out.push(vec![Stmt::If {
                    cond: cond.clone(),
                    then: then.clone(),
                    els: Vec::new(),
                }]);
            }
            for t in block_reductions(then) {
                out.push(vec![Stmt::If {
                    cond: cond.clone(),
                    then: t,
                    els: els.clone(),
                }]);
            }
            for e in block_reductions(els) {
                out.push(vec![Stmt::If {
                    cond: cond.clone(),
                    then: then.clone(),
                    els: e,
                }]);
            }
        }
        Stmt::For { head, body } => {
            out.push(body.clone());
            if let ForHead::Range { i, rev: true } = head {
                out.push(vec![Stmt::For {
                    head: ForHead::Range {
                        i: i.clone(),
                        rev: false,
                    },
                    body: body.clone(),
                }]);
            }
            for b in block_reductions(body) {
                out.push(vec![Stmt::For {
                    head: head.clone(),
                    body: b,
                }]);
            }
        }
        Stmt::While { c, n, body } | Stmt::Loop { c, n, body } => {
            let mk = |n: i64, body: Vec<Stmt>| match s {
                Stmt::While { .. } => Stmt::While {
                    c: c.clone(),
                    n,
                    body,
                },
                _ => Stmt::Loop {
                    c: c.clone(),
                    n,
                    body,
                },
            };
            out.push(body.clone());
            if *n > 1 {
                out.push(vec![mk(n - 1, body.clone())]);
            }
            for b in block_reductions(body) {
                out.push(vec![mk(*n, b)]);
            }
        }
        Stmt::Return(t) => {
            for (i, e) in t.iter().enumerate() {
                for r in expr_reductions(e) {
                    let mut t = t.clone();
                    t[i] = r;
                    out.push(vec![Stmt::Return(t)]);
                }
            }
        }
        _ => {}
    }
    out
}

/// Every one-step reduction of `p` that is still a well-scoped program, smallest first.
pub fn reductions(p: &Program) -> Vec<Program> {
    let mut out = Vec::new();
    let n = p.functions.len();
    // drop a function that is not the last (callers then fail the scope check)
    for i in 0..n.saturating_sub(1) {
        let mut q = p.clone();
        q.functions.remove(i);
        out.push(q);
    }
    // keep only the first n-1 functions (when the failure is in an earlier one)
    if n > 1 {
        let mut q = p.clone();
        q.functions.pop();
        out.push(q);
    }
    for (k, f) in p.functions.iter().enumerate() {
        let mut with = |g: Func| {
            let mut q = p.clone();
            q.functions[k] = g;
            out.push(q);
        };
        if !f.stop.is_empty() {
            let mut g = f.clone();
            g.stop.clear();
            with(g);
        }
        if f.wrt != Wrt::All {
            let mut g = f.clone();
            g.wrt = Wrt::All;
            with(g);
        }
        // drop a parameter that is not used
        for i in 0..f.params.len() {
            let mut g = f.clone();
            let name = g.params.remove(i).name;
            if let Wrt::List(l) = &mut g.wrt {
                l.retain(|w| w != &name);
            }
            with(g);
        }
        for b in block_reductions(&f.body) {
            let mut g = f.clone();
            g.body = b;
            with(g);
        }
        for (i, e) in f.tail.iter().enumerate() {
            for r in expr_reductions(e) {
                let mut g = f.clone();
                g.tail[i] = r;
                with(g);
            }
        }
    }
    let mut out: Vec<Program> = out.into_iter().filter(well_scoped).collect();
    out.sort_by_key(size);
    out.dedup();
    out
}

/// The size the shrinker minimises: the length of the printed program.
pub fn size(p: &Program) -> usize {
    print_functions(p).len()
}

// ---------------------------------------------------------------------------------------
// Struct variants (`Config::structs`)
// ---------------------------------------------------------------------------------------

/// The functions that get a struct variant: each, unless it passes its array parameter by
/// value to a call (`g(xa)`: the macro reads a field so passed as a float).
fn struct_variant_functions(p: &Program) -> Vec<&Func> {
    if !p.structs {
        return Vec::new();
    }
    p.functions
        .iter()
        .filter(|f| {
            let mut body = String::new();
            print_function(&mut body, f, Style::F64);
            let arrays: Vec<&Param> = f
                .params
                .iter()
                .filter(|q| q.kind == ParamKind::Array)
                .collect();
            !arrays.iter().any(|q| {
                fields_of_params(&body, &[(q.name.as_str(), q.kind)])
                    .1
                    .contains(&q.name)
            })
        })
        .collect()
}

/// `text` with every read of a parameter in `params` (a whole identifier, not a field or
/// method name) written as a field of `self`; a slice parameter passed bare to a call
/// (`g(xs)`) becomes `&self.xs`. Also returns the parameters passed bare to a call.
fn fields_of_params(text: &str, params: &[(&str, ParamKind)]) -> (String, Vec<String>) {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::new();
    let mut bare = Vec::new();
    let mut i = 0;
    let prev_non_space = |k: usize| {
        chars[..k]
            .iter()
            .rev()
            .find(|c| !c.is_whitespace())
            .copied()
    };
    let next_non_space = |k: usize| chars[k..].iter().find(|c| !c.is_whitespace()).copied();
    while i < chars.len() {
        let c = chars[i];
        if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let before = prev_non_space(start);
            let after = next_non_space(i);
            match params.iter().find(|(n, _)| *n == word) {
                Some((_, kind)) if before != Some('.') && after != Some(':') => {
                    let argument = matches!(before, Some('(') | Some(','))
                        && matches!(after, Some(',') | Some(')'));
                    if argument {
                        bare.push(word.clone());
                    }
                    if argument && *kind == ParamKind::Slice {
                        out.push_str(&format!("&self.{word}"));
                    } else {
                        out.push_str(&format!("self.{word}"));
                    }
                }
                _ => out.push_str(&word),
            }
            continue;
        }
        // Numbers (`1.5e-3`, `0.25_f64`) are copied whole, so their letters are not names.
        if c.is_ascii_digit() {
            while i < chars.len()
                && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '.')
                && !(chars[i] == '.' && i + 1 < chars.len() && chars[i + 1] == '.')
            {
                out.push(chars[i]);
                i += 1;
            }
            continue;
        }
        out.push(c);
        i += 1;
    }
    (out, bare)
}

fn struct_name(f: &Func) -> String {
    format!("S{}", f.name)
}

/// For each function `f`: `struct Sf<T> { x0: T, xs: Vec<T>, xa: [T; LEN] }` (its float
/// parameters, in order) with `#[derive(Params)]`, and a method `f_s(&self, k)` with
/// `#[differentiate(wrt = self)]` whose body is `f`'s, reading the fields, plus its check:
/// the same oracle (`f` at dual numbers) and finite differences, the struct's gradient
/// flattened leaf by leaf (its leaves are the parameters in order).
pub fn print_struct_variants(s: &mut String, p: &Program) {
    let st = if p.generic {
        Style::Generic
    } else {
        Style::F64
    };
    let t = st.ty();
    for f in struct_variant_functions(p) {
        let name = struct_name(f);
        let floats = f.float_params();
        let fields: Vec<String> = floats
            .iter()
            .map(|q| match q.kind {
                ParamKind::Slice => format!("pub {}: Vec<{t}>", q.name),
                k => format!("pub {}: {}", q.name, ty(k, t)),
            })
            .collect();
        let (generics, impl_generics) = match st {
            Style::F64 => (String::new(), String::new()),
            _ => (
                "<T>".to_string(),
                "<T: Float + Sum + Product + AddAssign + SubAssign + MulAssign>".to_string(),
            ),
        };
        let _ = writeln!(
            s,
            "#[derive(Params, Clone, Debug)]\npub struct {name}{generics} {{ {} }}",
            fields.join(", ")
        );
        // The function, printed, then its parameters turned into fields.
        let mut item = String::new();
        print_function(&mut item, f, st);
        let body_start = item.find('{').expect("a function has a body");
        let params: Vec<(&str, ParamKind)> =
            floats.iter().map(|q| (q.name.as_str(), q.kind)).collect();
        let (body, _) = fields_of_params(&item[body_start..], &params);
        let ints: Vec<String> = f
            .params
            .iter()
            .filter(|q| q.kind == ParamKind::Int)
            .map(|q| format!(", {}: i32", q.name))
            .collect();
        let stop = if f.stop.is_empty() {
            String::new()
        } else {
            format!(", stop = [{}]", f.stop.join(", "))
        };
        let _ = writeln!(
            s,
            "impl{impl_generics} {name}{generics} {{\n#[differentiate(wrt = self{stop})]\npub fn {}_s(&self{}) -> {} {body}}}",
            f.name,
            ints.concat(),
            ret_ty(f.ret, t),
        );
        print_struct_check(s, f, p);
        if f.ret == Ret::Scalar {
            print_element_variant(s, f, p, st, &ints.concat());
        }
    }
}

/// For a function `f` with one output, `struct Wf { parts: Vec<Sf> }` and a method `f_w`
/// with `wrt = self` that sums `part.f_s(..)` over its parts (methods of the elements of a
/// collection of structs, `layer.forward(h)`), checked with two parts against the oracle
/// `f(first) + f(second)`: each part's gradient must land on its own leaves.
fn print_element_variant(s: &mut String, f: &Func, p: &Program, st: Style, ints: &str) {
    // At `f64` (the element's struct may be generic): a generic container's method would
    // need `Sf<T>: Params<T>` for its elements, which no bound it can write provides.
    let name = &f.name;
    let inner = match st {
        Style::F64 => struct_name(f),
        _ => format!("{}<f64>", struct_name(f)),
    };
    let args: Vec<String> = f
        .params
        .iter()
        .filter(|q| q.kind == ParamKind::Int)
        .map(|q| q.name.clone())
        .collect();
    let _ = writeln!(
        s,
        "#[derive(Params, Clone, Debug)]\npub struct W{name} {{ pub parts: Vec<{inner}> }}
impl W{name} {{
#[differentiate(wrt = self)]
pub fn {name}_w(&self{ints}) -> f64 {{
    let mut acc = 0.0;
    for part in self.parts.iter() {{
        acc = acc + part.{name}_s({args});
    }}
    acc
}}
}}",
        args = args.join(", "),
    );
    let lay = layout(f);
    let n: usize = lay.iter().map(|l| l.2).sum();
    let inputs: Vec<String> = p.inputs[..n]
        .iter()
        .chain(p.inputs[..n].iter().rev())
        .map(|x| format!("{x:?}"))
        .collect();
    let wrt: Vec<String> = (0..2 * n).map(|k| k.to_string()).collect();
    let ints: Vec<String> = args.iter().map(|_| "k".to_string()).collect();
    let (a, comma) = (ints.join(", "), if ints.is_empty() { "" } else { ", " });
    let leaves = "{ let mut v: Vec<f64> = Vec::new(); autodiff::Params::<f64>::visit(&g, &mut |l| v.extend_from_slice(l)); v }";
    let value = |src: &str| {
        format!(
            "W{name} {{ parts: vec![{}, {}] }}",
            struct_value(f, &format!("{src}[..{n}]")),
            struct_value(f, &format!("{src}[{n}..]"))
        )
    };
    let _ = writeln!(
        s,
        "pub fn check_{name}_element() -> difftest::Outcome {{
    let k: i32 = {k};
    let input: Vec<f64> = vec![{inputs}];
    difftest::check(&difftest::Subject {{
        name: \"{name}_w\",
        input: &input,
        wrt: &[{wrt}],
        n_out: 1,
        smooth: {smooth},
        value: &|p: &[f64]| vec![{v}.{name}_w({a})],
        grad: &|p: &[f64]| {{ let (o, g) = {v}.{name}_w_grad({a}); (vec![o], {leaves}) }},
        vjp: &|p: &[f64], s: &[f64]| {{ let (o, g) = {v}.{name}_w_vjp({a}{comma}s[0]); (vec![o], {leaves}) }},
        jvp: &|p: &[f64], t: &[f64]| {{ let (o, dt) = {v}.{name}_w_jvp({a}{comma}&{tv}); (vec![o], vec![dt]) }},
        dual: &|p: &[f64], t: &[f64]| {{
            let d: Vec<difftest::Dual> = p.iter().zip(t).map(|(&a, &b)| difftest::Dual::new(a, b)).collect();
            let (d0, d1) = (&d[..{n}], &d[{n}..]);
            let o = oracle::{name}::<difftest::Dual>({d0}) + oracle::{name}::<difftest::Dual>({d1});
            (vec![o.re()], vec![o.eps()])
        }},
    }})
}}",
        k = p.int_input,
        inputs = inputs.join(", "),
        wrt = wrt.join(", "),
        smooth = f.smooth(p),
        v = value("p"),
        tv = value("t"),
        d0 = call_args(f, "d0", "k"),
        d1 = call_args(f, "d1", "k"),
    );
}

/// The struct's construction from flat inputs `src` (in the parameters' layout).
fn struct_value(f: &Func, src: &str) -> String {
    let fields: Vec<String> = layout(f)
        .iter()
        .filter(|(q, _, _)| q.kind != ParamKind::Int)
        .map(|(q, at, n)| match q.kind {
            ParamKind::Scalar => format!("{}: {src}[{at}]", q.name),
            ParamKind::Slice => format!("{}: {src}[{at}..{}].to_vec()", q.name, at + n),
            _ => format!(
                "{}: [{src}[{at}], {src}[{}], {src}[{}]]",
                q.name,
                at + 1,
                at + 2
            ),
        })
        .collect();
    format!("{} {{ {} }}", struct_name(f), fields.join(", "))
}

fn print_struct_check(s: &mut String, f: &Func, p: &Program) {
    let lay = layout(f);
    let n_in: usize = lay.iter().map(|l| l.2).sum();
    let inputs: Vec<String> = p.inputs[..n_in].iter().map(|x| format!("{x:?}")).collect();
    let wrt: Vec<String> = (0..n_in).map(|k| k.to_string()).collect();
    let ints: Vec<String> = f
        .params
        .iter()
        .filter(|q| q.kind == ParamKind::Int)
        .map(|_| "k".to_string())
        .collect();
    let (args, comma) = (ints.join(", "), if ints.is_empty() { "" } else { ", " });
    let seed = match f.ret {
        Ret::Scalar => "s[0]".to_string(),
        Ret::Tuple => "(s[0], s[1])".to_string(),
        Ret::Array => "[s[0], s[1], s[2]]".to_string(),
    };
    let leaves = "{ let mut v: Vec<f64> = Vec::new(); autodiff::Params::<f64>::visit(&g, &mut |l| v.extend_from_slice(l)); v }";
    let name = &f.name;
    let _ = writeln!(
        s,
        "pub fn check_{name}_struct() -> difftest::Outcome {{
    let k: i32 = {k};
    let input: Vec<f64> = vec![{inputs}];
    difftest::check(&difftest::Subject {{
        name: \"{name}_s\",
        input: &input,
        wrt: &[{wrt}],
        n_out: {n_out},
        smooth: {smooth},
        value: &|p: &[f64]| {{ let o = {value}.{name}_s({args}); {fo} }},
        grad: &|p: &[f64]| {{ let (o, g) = {value}.{name}_s_grad({args}); ({fo}, {leaves}) }},
        vjp: &|p: &[f64], s: &[f64]| {{ let (o, g) = {value}.{name}_s_vjp({args}{comma}{seed}); ({fo}, {leaves}) }},
        jvp: &|p: &[f64], t: &[f64]| {{ let (o, dt) = {value}.{name}_s_jvp({args}{comma}&{tangent}); ({fo}, {fdt}) }},
        dual: &|p: &[f64], t: &[f64]| {{
            let d: Vec<difftest::Dual> = p.iter().zip(t).map(|(&a, &b)| difftest::Dual::new(a, b)).collect();
            let o = oracle::{name}::<difftest::Dual>({dargs});
            let o = {fo};
            (o.iter().map(|x| x.re()).collect(), o.iter().map(|x| x.eps()).collect())
        }},
    }})
}}",
        k = p.int_input,
        inputs = inputs.join(", "),
        wrt = wrt.join(", "),
        n_out = f.n_out(),
        smooth = f.smooth(p),
        value = struct_value(f, "p"),
        tangent = struct_value(f, "t"),
        fo = flat_out(f.ret, "o"),
        fdt = flat_out(f.ret, "dt"),
        dargs = call_args(f, "d", "k"),
    );
}

/// The struct variants' entries of `checks()`.
fn struct_variant_checks(p: &Program) -> String {
    struct_variant_functions(p)
        .iter()
        .map(|f| {
            let element = if f.ret == Ret::Scalar {
                format!(
                    "(\"{0}_w\", check_{0}_element as fn() -> difftest::Outcome), ",
                    f.name
                )
            } else {
                String::new()
            };
            format!(
                "(\"{0}_s\", check_{0}_struct as fn() -> difftest::Outcome), {element}",
                f.name
            )
        })
        .collect()
}
