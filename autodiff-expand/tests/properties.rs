//! Property tests over the IR: random straight-line programs, differentiated by the real
//! passes (activity, forward, reverse, simplify) and run by the IR interpreter, must satisfy
//! - the dot-product test `<J u, w> = <u, Jᵀ w>` (forward against reverse), with and
//!   without random stops;
//! - forward mode against central finite differences of the primal.
//!
//! Each statement is an op of the registry (`autodiff_expand::ir::op`), every op that has
//! `fuzz` draws (all but tensor operations and the ops of derivative code), with its operands
//! drawn where the op is smooth: a new row is fuzzed without a change here.
use autodiff_expand::derive::{self, Derived, Seed};
use autodiff_expand::interp::Value;
use autodiff_expand::ir::op::{Draw, Flow};
use autodiff_expand::ir::{Binary, Function, Op, Operand, Origin, Unary, VarId};
use autodiff_expand::spec::{Spec, WrtEntry};
use autodiff_expand::{activity, interp};
use proc_macro2::{Ident, Span};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use quote::quote;

/// One random statement: an operation of the registry and the (relative) indices of its
/// operands.
#[derive(Clone, Debug)]
struct Gen {
    op: Op,
    a: usize,
    b: usize,
    c: usize,
    d: usize,
    constant: f64,
    /// The operand (of an operation with two or more) that is a rule constant,
    /// `Operand::Lit(constant)`, where it draws any real.
    lit: Option<usize>,
}

impl Gen {
    /// A statement without a rule constant, for the fixed programs.
    fn new(op: Op, a: usize, b: usize) -> Gen {
        Gen {
            op,
            a,
            b,
            c: 0,
            d: 0,
            constant: 0.5,
            lit: None,
        }
    }
}

/// Every op of the registry that the property tests run: each that has `fuzz` draws. A new
/// row with draws is fuzzed without a change here.
fn fuzzed() -> Vec<Op> {
    Op::all()
        .into_iter()
        .filter(|op| !op.row().fuzz.is_empty())
        .collect()
}

fn gen() -> impl Strategy<Value = Gen> {
    let ops = fuzzed();
    (
        0..ops.len(),
        any::<[usize; 4]>(),
        -2.0f64..2.0,
        prop::option::of(0usize..4),
    )
        .prop_map(move |(op, [a, b, c, d], constant, lit)| Gen {
            op: ops[op],
            a,
            b,
            c,
            d,
            constant,
            lit,
        })
}

/// The registry lists every op, and the property tests run every one whose derivative is
/// taken: each float method, the arithmetic, `powi`, `mul_add`, the selects and
/// `stop_gradient`. Only tensor operations (which the interpreter does not run) and the ops
/// of derivative code (whose derivative is not taken) have no draws.
#[test]
fn every_op_with_a_derivative_is_fuzzed() {
    let fuzzed = fuzzed();
    for op in Op::all() {
        let row = op.row();
        let derivative_only = row.flow == Flow::Cut && op != Op::Stop;
        let tensor = matches!(op, Op::Tensor(_));
        assert_eq!(
            fuzzed.contains(&op),
            !derivative_only && !tensor,
            "{} ({op:?})",
            row.name
        );
    }
    for u in Unary::ALL {
        assert!(fuzzed.contains(&Op::Unary(*u)), "{}", u.method());
    }
    for b in Binary::ALL {
        assert!(fuzzed.contains(&Op::Binary(*b)), "{}", b.method());
    }
}

/// `x * x + c`: a value of at least `c`, for operations with a restricted domain.
fn at_least(f: &mut Function, x: Operand, c: f64) -> Operand {
    let sq = f.push_op(Op::Mul, vec![x.clone(), x], Span::call_site());
    Operand::Var(f.push_op(
        Op::Add,
        vec![Operand::Var(sq), Operand::Lit(c)],
        Span::call_site(),
    ))
}

/// An operand drawn as the registry's `fuzz` facet says, from the value `x`.
fn draw(f: &mut Function, how: Draw, x: Operand, g: &Gen) -> Operand {
    let s = Span::call_site();
    let tanh = |f: &mut Function, x| Operand::Var(f.push_op(Op::Unary(Unary::Tanh), vec![x], s));
    match how {
        Draw::Real => x,
        Draw::Bounded => tanh(f, x),
        Draw::Unit => {
            let t = tanh(f, x);
            Operand::Var(f.push_op(Op::Mul, vec![t, Operand::Lit(0.5)], s))
        }
        Draw::Positive => at_least(f, x, 1.0),
        Draw::AboveOne => at_least(f, x, 1.5),
        Draw::Exponent => {
            let exponent = (g.constant * 10.0) as i32 % 4;
            Operand::Const {
                tokens: quote!(#exponent),
                value: Some(exponent as f64),
            }
        }
    }
}

/// Builds a program over `params` scalar inputs from the generated statements.
fn program(params: usize, stmts: &[Gen], outputs: &[usize]) -> Function {
    let mut f = Function::default();
    let mut values: Vec<Operand> = Vec::new();
    for i in 0..params {
        let v = f.new_var(format!("x{i}"), Span::call_site(), Origin::Param(i));
        f.params.push(v);
        values.push(Operand::Var(v));
    }
    generate(&mut f, &mut values, stmts);
    f.outputs = outputs
        .iter()
        .map(|&o| values[values.len() - 1 - o % values.len()].clone())
        .collect();
    f
}

/// Appends the generated statements to `f.body`: each op's operands drawn where it is smooth
/// (its `fuzz` draws). Each result is added to `values`.
fn generate(f: &mut Function, values: &mut Vec<Operand>, stmts: &[Gen]) {
    for g in stmts {
        let draws = g.op.row().fuzz;
        let picks = [g.a, g.b, g.c, g.d];
        let mut args = Vec::with_capacity(draws.len());
        for (k, &how) in draws.iter().enumerate() {
            let x = values[picks[k] % values.len()].clone();
            let arg = match g.lit {
                Some(l) if l == k && draws.len() > 1 && how == Draw::Real => {
                    Operand::Lit(g.constant)
                }
                _ => draw(f, how, x, g),
            };
            args.push(arg);
        }
        let result = f.push_op(g.op, args, Span::call_site());
        values.push(Operand::Var(result));
    }
}

/// Whether a derivative is cut somewhere (`stop_gradient`): finite differences of the
/// primal are then not the derivative.
fn stopped<'a>(stmts: impl IntoIterator<Item = &'a Gen>) -> bool {
    stmts.into_iter().any(|g| g.op.row().flow == Flow::Cut)
}

fn spec(f: &Function, wrt: &[VarId], stop: Vec<VarId>) -> Spec {
    Spec {
        wrt: wrt
            .iter()
            .map(|&v| WrtEntry {
                ident: Ident::new(&f.vars[v].name, Span::call_site()),
                var: v,
                param: Some(v),
                grad_ty: quote!(f64),
                scalar: true,
            })
            .collect(),
        stop,
        bare: false,
    }
}

/// Runs a derived function: primal inputs, then the extra inputs (seeds or tangents).
fn run(d: &Derived, x: &[f64], extra: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let mut inputs: Vec<(usize, Value)> =
        d.f.params
            .iter()
            .copied()
            .zip(x.iter().map(|&x| Value::Num(x)))
            .collect();
    inputs.extend(
        d.extras
            .iter()
            .copied()
            .zip(extra.iter().map(|&x| Value::Num(x))),
    );
    let env = interp::run(&d.f, &inputs).expect("generated programs are interpretable");
    let values = d
        .values
        .iter()
        .map(|o| interp::value(&env, o).unwrap())
        .collect();
    let derivs = d
        .derivatives
        .iter()
        .map(|o| o.as_ref().map_or(0.0, |o| interp::value(&env, o).unwrap()))
        .collect();
    (values, derivs)
}

fn primal(f: &Function, x: &[f64]) -> Vec<f64> {
    let inputs: Vec<(usize, Value)> = f
        .params
        .iter()
        .copied()
        .zip(x.iter().map(|&x| Value::Num(x)))
        .collect();
    let env = interp::run(f, &inputs).unwrap();
    f.outputs
        .iter()
        .map(|o| interp::value(&env, o).unwrap())
        .collect()
}

/// Forward and reverse mode of `f` with respect to all its parameters (reverse mode with a
/// given seed, as `f_vjp`).
fn derive_both(f: &Function) -> (Derived, Derived) {
    let wrt = f.params.clone();
    let spec = spec(f, &wrt, Vec::new());
    let act = activity::analyze(f, &wrt, &spec.stop);
    (
        derive::forward(f, &act, &spec),
        derive::reverse(f, &act, &spec, Seed::Given),
    )
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * (1.0 + a.abs().max(b.abs()))
}

fn inputs(n: usize) -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(-1.5f64..1.5, n)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn forward_and_reverse_agree_and_match_finite_differences(
        stmts in prop::collection::vec(gen(), 1..24),
        outputs in prop::collection::vec(any::<usize>(), 1..3),
        x in inputs(3),
        u in inputs(3),
        w in inputs(2),
    ) {
        let f = program(3, &stmts, &outputs);
        let (fwd, rev) = derive_both(&f);
        let (v1, ju) = run(&fwd, &x, &u);
        let (v2, jtw) = run(&rev, &x, &w[..f.outputs.len()]);
        prop_assert_eq!(&v1, &v2, "both sweeps compute the primal value");
        let (lhs, rhs) = (dot(&ju, &w[..f.outputs.len()]), dot(&u, &jtw));
        prop_assert!(close(lhs, rhs, 1e-9), "<Ju, w> = {} but <u, J^T w> = {}", lhs, rhs);

        // Stops change the derivative, so finite differences only apply without them.
        if !stopped(&stmts) {
            let h = 1e-6;
            let plus: Vec<f64> = x.iter().zip(&u).map(|(x, u)| x + h * u).collect();
            let minus: Vec<f64> = x.iter().zip(&u).map(|(x, u)| x - h * u).collect();
                        let (fp, fm) = (primal(&f, &plus), primal(&f, &minus));
            // Only where the function is tame is the difference quotient a sharp oracle.
            let tame = v1.iter().chain(&ju).all(|v| v.abs() < 1e3);
            for (k, jk) in ju.iter().enumerate().filter(|_| tame) {
                let fd = (fp[k] - fm[k]) / (2.0 * h);
                prop_assert!(close(*jk, fd, 1e-4), "output {}: jvp {} vs finite difference {}", k, jk, fd);
            }
        }
    }

    #[test]
    fn stops_keep_forward_and_reverse_consistent(
        stmts in prop::collection::vec(gen(), 1..16),
        stops in prop::collection::vec(any::<usize>(), 0..4),
        x in inputs(2),
        u in inputs(2),
        w in 0.1f64..2.0,
    ) {
        let f = program(2, &stmts, &[0]);
        let wrt = f.params.clone();
        let stop = stops.iter().map(|s| s % f.vars.len()).collect();
        let spec = spec(&f, &wrt, stop);
        let act = activity::analyze(&f, &wrt, &spec.stop);
        let fwd = derive::forward(&f, &act, &spec);
        let rev = derive::reverse(&f, &act, &spec, Seed::Given);
        let (_, ju) = run(&fwd, &x, &u);
        let (_, jtw) = run(&rev, &x, &[w]);
        prop_assert!(close(ju[0] * w, dot(&u, &jtw), 1e-9), "<Ju, w> = {} but <u, J^T w> = {}", ju[0] * w, dot(&u, &jtw));
        // A wrt entry the reverse sweep never reached is exactly what activity calls useless.
        for (entry, g) in spec.wrt.iter().zip(&rev.derivatives) {
            prop_assert_eq!(g.is_some(), act.useful[entry.var] || !act.varied[entry.var]);
        }
    }
}

/// The inputs of the loop programs: scalars `x0`, `x1` and an array `a` of length 4.
fn loop_inputs(f: &mut Function) -> (Vec<Operand>, VarId) {
    let s = Span::call_site();
    let mut values = Vec::new();
    for i in 0..2 {
        let v = f.new_var(format!("x{i}"), s, Origin::Param(i));
        f.params.push(v);
        values.push(Operand::Var(v));
    }
    let a = f.new_var("a", s, Origin::Param(2));
    f.vars[a].shape = vec![autodiff_expand::ir::Level::Fixed];
    f.params.push(a);
    (values, a)
}

/// The integer constant `n`, written as in source (`4`, not `4usize`).
fn constant(n: usize) -> Operand {
    let tokens = proc_macro2::Literal::usize_unsuffixed(n);
    Operand::Const {
        tokens: quote!(#tokens),
        value: Some(n as f64),
    }
}

/// `let mut name = [0.0; len];`
fn zero_array(f: &mut Function, name: &str, len: usize) -> VarId {
    use autodiff_expand::ir::{Level, Opaque, Rhs, Stmt};
    let s = Span::call_site();
    let v = f.new_var(name, s, Origin::Local);
    f.vars[v].mutable = true;
    f.vars[v].shape = vec![Level::Fixed];
    let len = proc_macro2::Literal::usize_unsuffixed(len);
    f.body.push(Stmt::Let {
        dst: Some(v),
        rhs: Rhs::Opaque(Opaque {
            tokens: quote!([0.0; #len]),
            reads: Vec::new(),
            passive_result: true,
            pure: true,
            what: "an array".into(),
        }),
        span: s,
    });
    v
}

/// `for index in 0..end { body }`
fn count_loop(
    index: VarId,
    end: usize,
    body: Vec<autodiff_expand::ir::Stmt>,
) -> autodiff_expand::ir::Stmt {
    autodiff_expand::ir::Stmt::For {
        index,
        start: constant(0),
        end: constant(end),
        inclusive: false,
        reversed: false,
        body,
        span: Span::call_site(),
    }
}

/// `let v = array[index];`
fn element(f: &mut Function, name: &str, array: VarId, index: Operand) -> VarId {
    use autodiff_expand::ir::{Rhs, Stmt};
    let s = Span::call_site();
    let v = f.new_var(name, s, Origin::Temp);
    f.body.push(Stmt::Let {
        dst: Some(v),
        rhs: Rhs::Index(array, vec![index]),
        span: s,
    });
    v
}

/// `let mut name = init;`
fn location(f: &mut Function, name: &str, init: Operand) -> VarId {
    use autodiff_expand::ir::{Rhs, Stmt};
    let s = Span::call_site();
    let v = f.new_var(name, s, Origin::Local);
    f.vars[v].mutable = true;
    f.body.push(Stmt::Let {
        dst: Some(v),
        rhs: Rhs::Op(Op::Id, vec![init]),
        span: s,
    });
    v
}

/// `t = t op value;`
fn fold_into(f: &mut Function, t: VarId, op: Op, value: Operand) {
    let s = Span::call_site();
    let now = f.push_op(Op::Id, vec![Operand::Var(t)], s);
    let folded = f.push_op(op, vec![Operand::Var(now), value], s);
    f.body.push(autodiff_expand::ir::Stmt::Assign {
        dst: t,
        value: Operand::Var(folded),
        span: s,
    });
}

/// `for j in 0..4 { c[j] = g(scope.., a[j]); }` (`+=` with `accumulate`), `g` the
/// generated statements.
fn fill_loop(
    f: &mut Function,
    (c, a): (VarId, VarId),
    mut scope: Vec<Operand>,
    fill: &[Gen],
    accumulate: bool,
) -> autodiff_expand::ir::Stmt {
    let outer = std::mem::take(&mut f.body);
    let j = f.new_var("j", Span::call_site(), Origin::Local);
    let aj = element(f, "aj", a, Operand::Var(j));
    scope.push(Operand::Var(aj));
    generate(f, &mut scope, fill);
    f.body.push(autodiff_expand::ir::Stmt::Store {
        array: c,
        index: vec![Operand::Var(j)],
        value: scope.last().cloned().expect("values"),
        accumulate,
        span: Span::call_site(),
    });
    let body = std::mem::replace(&mut f.body, outer);
    count_loop(j, 4, body)
}

/// `for k in 0..4 { s = h(x0, s, c[k], extra..); }`, `h` the generated statements.
fn running_loop(
    f: &mut Function,
    (acc, c): (VarId, VarId),
    x0: Operand,
    extra: &[Operand],
    body: &[Gen],
) -> autodiff_expand::ir::Stmt {
    let outer = std::mem::take(&mut f.body);
    let k = f.new_var("k", Span::call_site(), Origin::Local);
    let current = f.push_op(Op::Id, vec![Operand::Var(acc)], Span::call_site());
    let ck = element(f, "ck", c, Operand::Var(k));
    let mut scope = vec![x0, Operand::Var(current), Operand::Var(ck)];
    scope.extend(extra.iter().cloned());
    generate(f, &mut scope, body);
    f.body.push(autodiff_expand::ir::Stmt::Assign {
        dst: acc,
        value: scope.last().cloned().expect("values"),
        span: Span::call_site(),
    });
    let body = std::mem::replace(&mut f.body, outer);
    count_loop(k, 4, body)
}

/// A program with control flow: scalars `x0`, `x1` and an array `a` of length 4; a loop over
/// the array that carries a location `s` (updated in a data-independent branch) and writes a
/// local array `c`; straight-line code before and after.
fn loop_program(pre: &[Gen], body: &[Gen], post: &[Gen], branch_at: usize) -> Function {
    use autodiff_expand::ir::{Rhs, Stmt};
    let s = Span::call_site();
    let mut f = Function::default();
    let (mut values, a) = loop_inputs(&mut f);
    generate(&mut f, &mut values, pre);
    // let mut s = <last value>; let mut c = [0.0; 4];
    let init = values.last().cloned().expect("at least the parameters");
    let acc = location(&mut f, "s", init);
    let c = zero_array(&mut f, "c", 4);
    // for i in 0..4 { .. }
    let i = f.new_var("i", s, Origin::Local);
    let outer = std::mem::take(&mut f.body);
    let current = f.push_op(Op::Id, vec![Operand::Var(acc)], s);
    let ai = element(&mut f, "ai", a, Operand::Var(i));
    let mut inner = values.clone();
    inner.push(Operand::Var(current));
    inner.push(Operand::Var(ai));
    generate(&mut f, &mut inner, body);
    let last = inner.last().cloned().expect("values");
    let cond = f.push_op(
        Op::Sub,
        vec![Operand::Var(i), Operand::Lit((branch_at % 5) as f64)],
        s,
    );
    let then = vec![Stmt::Assign {
        dst: acc,
        value: last.clone(),
        span: s,
    }];
    let sum = f.new_var("sum", s, Origin::Temp);
    let otherwise = vec![
        Stmt::Let {
            dst: Some(sum),
            rhs: Rhs::Op(Op::Add, vec![Operand::Var(current), Operand::Var(ai)]),
            span: s,
        },
        Stmt::Assign {
            dst: acc,
            value: Operand::Var(sum),
            span: s,
        },
    ];
    f.body.push(Stmt::If {
        cond: Operand::Var(cond),
        then,
        otherwise,
        span: s,
    });
    f.body.push(Stmt::Store {
        array: c,
        index: vec![Operand::Var(i)],
        value: last,
        accumulate: branch_at.is_multiple_of(2),
        span: s,
    });
    let loop_body = std::mem::replace(&mut f.body, outer);
    f.body.push(count_loop(i, 4, loop_body));
    let final_s = f.push_op(Op::Id, vec![Operand::Var(acc)], s);
    values.push(Operand::Var(final_s));
    for k in [1, 3] {
        let e = element(&mut f, &format!("c{k}"), c, constant(k));
        values.push(Operand::Var(e));
    }
    generate(&mut f, &mut values, post);
    f.outputs = vec![
        values.last().cloned().expect("values"),
        Operand::Var(final_s),
    ];
    f
}

/// Runs a derived loop program: scalars, the array, then extra inputs.
fn run_loop(d: &Derived, x: &[f64], a: &[f64], extra: Vec<Value>) -> (Vec<f64>, Vec<Value>) {
    let mut inputs = vec![
        (d.f.params[0], Value::Num(x[0])),
        (d.f.params[1], Value::Num(x[1])),
        (d.f.params[2], Value::Array(a.to_vec())),
    ];
    inputs.extend(d.extras.iter().copied().zip(extra));
    let env = interp::run(&d.f, &inputs).expect("loop programs are interpretable");
    let values = d
        .values
        .iter()
        .map(|o| interp::value(&env, o).unwrap())
        .collect();
    let derivs = d
        .derivatives
        .iter()
        .map(|o| match o {
            Some(Operand::Var(v)) => env[*v].clone(),
            Some(o) => Value::Num(interp::value(&env, o).unwrap()),
            None => Value::Num(0.0),
        })
        .collect();
    (values, derivs)
}

fn flat(values: &[Value]) -> Vec<f64> {
    values
        .iter()
        .flat_map(|v| match v {
            Value::Num(x) => vec![*x],
            Value::Array(xs) => xs.clone(),
            _ => Vec::new(),
        })
        .collect()
}

/// The checks every loop program gets (scalars `x`, array `a`; tangent `u` of all inputs,
/// cotangent `w` of the outputs): both sweeps compute the primal value, the dot-product test
/// `<J u, w> = <u, Jᵀ w>`, and, where nothing is stopped and the function is tame, forward
/// mode against central finite differences. Programs that overflow are rejected.
fn check_loop_program(
    f: &Function,
    fwd: &Derived,
    rev: &Derived,
    stopped: bool,
    (x, a): (&[f64], &[f64]),
    u: &[f64],
    w: &[f64],
) -> Result<(), TestCaseError> {
    let tangents = vec![
        Value::Num(u[0]),
        Value::Num(u[1]),
        Value::Array(u[2..].to_vec()),
    ];
    let (v1, ju) = run_loop(fwd, x, a, tangents);
    let seeds = w.iter().map(|&w| Value::Num(w)).collect();
    let (v2, jtw) = run_loop(rev, x, a, seeds);
    let same = v1
        .iter()
        .zip(&v2)
        .all(|(a, b)| a == b || a.is_nan() && b.is_nan());
    prop_assert!(
        same,
        "both sweeps compute the primal value: {:?} {:?}",
        v1,
        v2
    );
    let (lhs, rhs) = (dot(&flat(&ju), w), dot(u, &flat(&jtw)));
    // Random programs can overflow (a loop of exponentials); those have no derivative. And
    // programs whose values grow huge are ill-conditioned: forward and reverse mode add the
    // same terms in different orders, and terms of 1e13 that cancel leave the reverse sum
    // 1 % off (a case with an output of 1.8e13 and a gradient of 1, checked against finite
    // differences with steps of 1: forward mode was right, reverse rounded to 31/64 of the
    // 0.49 seed). Such programs are not evidence either way; they are rejected.
    prop_assume!(v1.iter().all(|v| v.is_finite()) && lhs.is_finite() && rhs.is_finite());
    prop_assume!(v1.iter().all(|v| v.abs() < 1e8));
    prop_assert!(
        close(lhs, rhs, 1e-9),
        "<Ju, w> = {} but <u, J^T w> = {}",
        lhs,
        rhs
    );
    if stopped {
        return Ok(());
    }
    // Finite differences are a sharp oracle only where the function is tame; steep random
    // programs (products of exponentials over iterations) are left to the dot-product test.
    let tame = v1.iter().chain(&flat(&ju)).all(|v| v.abs() < 1e3);
    let h = 1e-6;
    let shift = |step: f64| {
        let xs: Vec<f64> = x.iter().zip(u).map(|(x, u)| x + step * u).collect();
        let arr: Vec<f64> = a.iter().zip(&u[2..]).map(|(a, u)| a + step * u).collect();
        let inputs = vec![
            (f.params[0], Value::Num(xs[0])),
            (f.params[1], Value::Num(xs[1])),
            (f.params[2], Value::Array(arr)),
        ];
        let env = interp::run(f, &inputs).unwrap();
        f.outputs
            .iter()
            .map(|o| interp::value(&env, o).unwrap())
            .collect::<Vec<f64>>()
    };
    let (fp, fm) = (shift(h), shift(-h));
    // And only where the quotient has converged: at a sharp bend (a near-zero of a product
    // of iterations) the quotient with step 10h differs from the one with h, and the
    // quotient with h is not yet the derivative either.
    let (coarse_p, coarse_m) = (shift(10.0 * h), shift(-10.0 * h));
    for (k, jk) in flat(&ju).iter().enumerate().filter(|_| tame) {
        let fd = (fp[k] - fm[k]) / (2.0 * h);
        let coarse = (coarse_p[k] - coarse_m[k]) / (20.0 * h);
        if close(fd, coarse, 1e-3) {
            prop_assert!(
                close(*jk, fd, 1e-4),
                "output {}: jvp {} vs finite difference {}",
                k,
                jk,
                fd
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn loops_and_branches_forward_reverse_and_finite_differences(
        pre in prop::collection::vec(gen(), 0..6),
        body in prop::collection::vec(gen(), 1..10),
        post in prop::collection::vec(gen(), 0..6),
        branch_at in 0usize..10,
        x in inputs(2),
        a in inputs(4),
        u in inputs(6),
        w in inputs(2),
    ) {
        let f = loop_program(&pre, &body, &post, branch_at);
        let (fwd, rev) = derive_both(&f);
        let stopped = stopped(pre.iter().chain(&body).chain(&post));
        check_loop_program(&f, &fwd, &rev, stopped, (&x, &a), &u, &w)?;
    }
}

/// Nested loops over a scratch array, the shape of ADBench's GMM: scalars `x0`, `x1` and an
/// array `a` of length 4; an outer loop over `i in 0..3` whose body fills a local array `c`
/// in one inner loop and reads it in a second that carries a location `s` through random
/// (nonlinear) code, then stores `s` in `out[i]` and folds it into a location `t` declared
/// before the loop (`t += s`, or `t *= s` with `multiply`). The outputs are `out[0]`,
/// `out[2]` and `t`.
///
/// With `overwrite`, the fill overwrites `c`, so the reverse sweep replays the outer body
/// instead of saving the inner loops' values (`reverse::replay`); `t += s` does not stop
/// that (its adjoint does not read `t`), `t *= s` does (the replay would need `t`'s value
/// at the iteration's start). Without `overwrite`, the fill accumulates (`c[j] += ..`), `c`
/// carries over between outer iterations, and values are saved.
///
/// Without `store_out` the only output is `t`; then, with `overwrite` and `t += s`, the loop
/// only adds into a running sum, and its iterations' adjoints run inside the primal sweep
/// (`Rev::fused_reversal`).
fn nested_program(
    fill: &[Gen],
    body: &[Gen],
    overwrite: bool,
    multiply: bool,
    store_out: bool,
) -> Function {
    use autodiff_expand::ir::Stmt;
    let s = Span::call_site();
    let mut f = Function::default();
    let (values, a) = loop_inputs(&mut f);
    let c = zero_array(&mut f, "c", 4);
    let out = zero_array(&mut f, "out", 3);
    let t = location(&mut f, "t", values[0].clone());
    let top = std::mem::take(&mut f.body);

    // for i in 0..3 {
    //     for j in 0..4 { c[j] = g(x0, x1, a[j]); }
    //     let c1 = c[1];   (current only because the fill covers all of `c`)
    //     let mut s = x1;
    //     for k in 0..4 { s = h(x0, s, c[k], c1); }
    let i = f.new_var("i", s, Origin::Local);
    let fill = fill_loop(&mut f, (c, a), values.clone(), fill, !overwrite);
    f.body.push(fill);
    let c1 = element(&mut f, "c1", c, constant(1));
    let acc = location(&mut f, "s", values[1].clone());
    let running = running_loop(
        &mut f,
        (acc, c),
        values[0].clone(),
        &[Operand::Var(c1)],
        body,
    );
    f.body.push(running);
    let last = f.push_op(Op::Id, vec![Operand::Var(acc)], s);
    if store_out {
        f.body.push(Stmt::Store {
            array: out,
            index: vec![Operand::Var(i)],
            value: Operand::Var(last),
            accumulate: false,
            span: s,
        });
    }
    let fold = if multiply { Op::Mul } else { Op::Add };
    fold_into(&mut f, t, fold, Operand::Var(last));
    let outer_body = std::mem::replace(&mut f.body, top);
    f.body.push(count_loop(i, 3, outer_body));
    for n in [0, 2].into_iter().filter(|_| store_out) {
        let e = element(&mut f, &format!("out{n}"), out, constant(n));
        f.outputs.push(Operand::Var(e));
    }
    let t_end = f.push_op(Op::Id, vec![Operand::Var(t)], s);
    f.outputs.push(Operand::Var(t_end));
    f
}

/// The primal sweep's first top-level loop (the outer loop): the pushes inside its inner
/// loops (what a replay of its body saves the primal sweep) and whether an adjoint runs
/// inside it (a reversed loop: the loop is fused).
fn outer_loop(f: &Function) -> (usize, bool) {
    use autodiff_expand::ir::{walk, Stmt};
    let Some(Stmt::For { body, .. }) = f.body.iter().find(|s| matches!(s, Stmt::For { .. })) else {
        panic!("no outer loop");
    };
    let (mut pushes, mut fused) = (0, false);
    for stmt in body {
        fused |= matches!(stmt, Stmt::For { reversed: true, .. });
        for block in stmt.blocks() {
            walk(block, &mut |s| {
                pushes += usize::from(matches!(s, Stmt::Push { .. }))
            });
        }
    }
    (pushes, fused)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn nested_loops_replayed_or_saved_forward_reverse_and_finite_differences(
        fill in prop::collection::vec(gen(), 1..6),
        body in prop::collection::vec(gen(), 1..8),
        overwrite in any::<bool>(),
        multiply in any::<bool>(),
        store_out in any::<bool>(),
        x in inputs(2),
        a in inputs(4),
        u in inputs(6),
        w in inputs(3),
    ) {
        let f = nested_program(&fill, &body, overwrite, multiply, store_out);
        let w = &w[..f.outputs.len()];
        let (fwd, rev) = derive_both(&f);
        let (pushes, fused) = outer_loop(&rev.f);
        if overwrite && !multiply && store_out {
            // Replayed: the primal sweep saves nothing inside the inner loops.
            prop_assert_eq!(pushes, 0);
        }
        // Fused exactly where the loop only adds into a running sum and would replay (it
        // would not if it saved nothing: `s` linear in `c`).
        prop_assert!(!fused || overwrite && !multiply && !store_out);
        let stopped = stopped(fill.iter().chain(&body));
        check_loop_program(&f, &fwd, &rev, stopped, (&x, &a), &u, w)?;
    }
}

/// For a loop program with one output: both sweeps compute the same value at a fixed
/// point, and the dot-product test holds to 1e-12 with a nonzero product.
fn assert_exact_at_a_fixed_point(fwd: &Derived, rev: &Derived) {
    let (x, a, u, w) = (
        [0.3, -0.7],
        [0.2, 0.9, -0.4, 1.1],
        [0.5, -1.0, 0.25, 0.7, -0.3, 0.9],
        1.3,
    );
    let tangents = vec![
        Value::Num(u[0]),
        Value::Num(u[1]),
        Value::Array(u[2..].to_vec()),
    ];
    let (v1, ju) = run_loop(fwd, &x, &a, tangents);
    let (v2, jtw) = run_loop(rev, &x, &a, vec![Value::Num(w)]);
    assert_eq!(v1, v2);
    let (lhs, rhs) = (flat(&ju)[0] * w, dot(&u, &flat(&jtw)));
    assert!(
        close(lhs, rhs, 1e-12),
        "<Ju, w> = {lhs} but <u, J^T w> = {rhs}"
    );
    assert!(lhs != 0.0);
}

/// A loop that only adds into a running sum, whose inner loops save values (`s = s * c[k]`):
/// its iterations' adjoints run inside the primal sweep, and the result passes the
/// dot-product test.
#[test]
fn a_running_sum_loop_is_fused_and_exact() {
    // fill: c[j] = sin(a[j]); use: s = s * c[k] (operands: x0, s, c[k], c[1]).
    let f = nested_program(
        &[Gen::new(Op::Unary(Unary::Sin), 2, 0)],
        &[Gen::new(Op::Mul, 1, 2)],
        true,
        false,
        false,
    );
    let (fwd, rev) = derive_both(&f);
    assert!(outer_loop(&rev.f).1, "the loop is fused");
    assert_exact_at_a_fixed_point(&fwd, &rev);
}

/// GMM's nesting: scalars `x0`, `x1`, an array `a` of length 4, and
/// `for i in 0..3 { for q in 0..2 { fill c; s from c; m[q] = s; } t += m[0] * m[1]; }`
/// where the fill `c[j] = g(x0, x1, a[j], a[q])` overwrites a scratch array and `s` runs
/// through random code over `c`. The loop over `i` only adds into `t`, so it is fused; the
/// loop over `q` inside it, when its inner loop saves values, restores `c` (and `s`'s
/// inputs) from snapshots instead of replaying. The output is `t`.
///
/// `shape` varies the body of the loop over `q` where the reverse pass reads stored values
/// back from `c`: 1 fills `c` a second time after `s` used it (and adds `c[1]` to `s`), so
/// `c` no longer holds what the first fill stored; 2 runs the fill and `s`'s loop twice, in
/// a loop over `r` (the fill also reads `a[r]`), so the fill is not a top-level statement
/// of the body.
fn three_level_program(fill: &[Gen], body: &[Gen], shape: u8) -> Function {
    use autodiff_expand::ir::Stmt;
    let s = Span::call_site();
    let mut f = Function::default();
    let (values, a) = loop_inputs(&mut f);
    let c = zero_array(&mut f, "c", 4);
    let m = zero_array(&mut f, "m", 2);
    let t = location(&mut f, "t", values[0].clone());
    let top = std::mem::take(&mut f.body);
    let (i, q) = (
        f.new_var("i", s, Origin::Local),
        f.new_var("q", s, Origin::Local),
    );

    // for q in 0..2 {
    //     let aq = a[q];
    //     for j in 0..4 { c[j] = g(x0, x1, a[q], a[j]); }
    //     let mut s = x1;
    //     for k in 0..4 { s = h(x0, s, c[k]); }
    //     m[q] = s;
    let aq = element(&mut f, "aq", a, Operand::Var(q));
    let mut scope = values.clone();
    scope.push(Operand::Var(aq));
    let acc = location(&mut f, "s", values[1].clone());
    if shape == 2 {
        // for r in 0..2 { let ar = a[r]; fill c; s's loop }
        let r = f.new_var("r", s, Origin::Local);
        let outer = std::mem::take(&mut f.body);
        let ar = element(&mut f, "ar", a, Operand::Var(r));
        let mut scope = scope.clone();
        scope.push(Operand::Var(ar));
        let filled = fill_loop(&mut f, (c, a), scope, fill, false);
        f.body.push(filled);
        let running = running_loop(&mut f, (acc, c), values[0].clone(), &[], body);
        f.body.push(running);
        let repeated = count_loop(r, 2, std::mem::replace(&mut f.body, outer));
        f.body.push(repeated);
    } else {
        let filled = fill_loop(&mut f, (c, a), scope.clone(), fill, false);
        f.body.push(filled);
        let running = running_loop(&mut f, (acc, c), values[0].clone(), &[], body);
        f.body.push(running);
    }
    if shape == 1 {
        // for j in 0..4 { c[j] = g(x1, x0, a[q], a[j]); } s = s + c[1];
        scope.swap(0, 1);
        let refilled = fill_loop(&mut f, (c, a), scope, fill, false);
        f.body.push(refilled);
        let c1 = element(&mut f, "c1", c, constant(1));
        fold_into(&mut f, acc, Op::Add, Operand::Var(c1));
    }
    let last = f.push_op(Op::Id, vec![Operand::Var(acc)], s);
    f.body.push(Stmt::Store {
        array: m,
        index: vec![Operand::Var(q)],
        value: Operand::Var(last),
        accumulate: false,
        span: s,
    });
    let q_loop = count_loop(q, 2, std::mem::take(&mut f.body));

    // for i in 0..3 { q loop; t += m[0] * m[1]; }
    f.body.push(q_loop);
    let (m0, m1) = (
        element(&mut f, "m0", m, constant(0)),
        element(&mut f, "m1", m, constant(1)),
    );
    let product = f.push_op(Op::Mul, vec![Operand::Var(m0), Operand::Var(m1)], s);
    fold_into(&mut f, t, Op::Add, Operand::Var(product));
    let i_loop = count_loop(i, 3, std::mem::take(&mut f.body));
    f.body = top;
    f.body.push(i_loop);
    let t_end = f.push_op(Op::Id, vec![Operand::Var(t)], s);
    f.outputs.push(Operand::Var(t_end));
    f
}

/// Whether the primal sweep snapshots an array (`push_slice`).
fn snapshots(f: &Function) -> bool {
    use autodiff_expand::ir::{walk, Rhs, Runtime, Stmt};
    let mut found = false;
    walk(&f.body, &mut |s| {
        found |= matches!(
            s,
            Stmt::Let {
                rhs: Rhs::Op(Op::Runtime(Runtime::PushSlice), _),
                ..
            }
        );
    });
    found
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    #[test]
    fn three_level_nests_fused_with_snapshots_forward_reverse_and_finite_differences(
        fill in prop::collection::vec(gen(), 1..5),
        body in prop::collection::vec(gen(), 1..6),
        shape in 0u8..3,
        x in inputs(2),
        a in inputs(4),
        u in inputs(6),
        w in inputs(1),
    ) {
        let f = three_level_program(&fill, &body, shape);
        let (fwd, rev) = derive_both(&f);
        // Snapshots are taken only inside a fused loop.
        prop_assert!(!snapshots(&rev.f) || outer_loop(&rev.f).1);
        let stopped = stopped(fill.iter().chain(&body));
        check_loop_program(&f, &fwd, &rev, stopped, (&x, &a), &u, &w)?;
    }
}

/// One three-level nest whose inner loop saves values (`s = sin(s * c[k])`): fused, with
/// snapshots, and exact by the dot-product test.
#[test]
fn a_three_level_nest_takes_snapshots_and_is_exact() {
    // fill: c[j] = a[j] + a[q] (operands x0, x1, a[q], a[j]); use: s = sin(s * c[k]).
    let f = three_level_program(
        &[Gen::new(Op::Add, 3, 2)],
        &[
            Gen::new(Op::Mul, 1, 2),
            Gen::new(Op::Unary(Unary::Sin), 3, 0),
        ],
        0,
    );
    let (fwd, rev) = derive_both(&f);
    assert!(outer_loop(&rev.f).1, "the loop over i is fused");
    assert!(snapshots(&rev.f), "the loop over q restores snapshots");
    assert_exact_at_a_fixed_point(&fwd, &rev);
}

/// The nest with its fill inside a loop that runs twice per component (`shape` 2), the
/// stored value an `exp` whose adjoint needs it: the reversed fill must not read it back
/// from `c`, which holds another run's values by then; exact by the dot-product test.
#[test]
fn a_fill_that_runs_twice_per_iteration_is_exact() {
    // fill: c[j] = exp(tanh(a[j] * a[r])) (operands x0, x1, a[q], a[r], a[j]);
    // use: s = sin(s * c[k]).
    let f = three_level_program(
        &[
            Gen::new(Op::Mul, 4, 3),
            Gen::new(Op::Unary(Unary::Exp), 5, 0),
        ],
        &[
            Gen::new(Op::Mul, 1, 2),
            Gen::new(Op::Unary(Unary::Sin), 3, 0),
        ],
        2,
    );
    let (fwd, rev) = derive_both(&f);
    assert!(outer_loop(&rev.f).1, "the loop over i is fused");
    assert_exact_at_a_fixed_point(&fwd, &rev);
}

/// Runs the `k`-th loop of `block` (in order, nested ones included) backwards where bit `k`
/// of `mask` is set: `for i in (a..b).rev()`. The program changes (the order of its
/// iterations does), and its derivatives are checked as any other's.
fn reverse_loops(block: &mut [autodiff_expand::ir::Stmt], mask: u32, k: &mut u32) {
    for stmt in block.iter_mut() {
        if let autodiff_expand::ir::Stmt::For { reversed, .. } = stmt {
            *reversed = mask >> (*k % 32) & 1 == 1;
            *k += 1;
        }
        for inner in stmt.blocks_mut() {
            reverse_loops(inner, mask, k);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    /// The nests above with some of their loops running backwards (`.rev()`): every strategy
    /// (saved values, replay, fusion, snapshots, carried adjoints) on reversed primal loops.
    #[test]
    fn reversed_loops_forward_reverse_and_finite_differences(
        fill in prop::collection::vec(gen(), 1..5),
        body in prop::collection::vec(gen(), 1..6),
        three_levels in any::<bool>(),
        shape in 0u8..3,
        mask in any::<u32>(),
        x in inputs(2),
        a in inputs(4),
        u in inputs(6),
        w in inputs(3),
    ) {
        let mut f = if three_levels {
            three_level_program(&fill, &body, shape)
        } else {
            nested_program(&fill, &body, shape == 0, shape == 1, shape == 2)
        };
        reverse_loops(&mut f.body, mask, &mut 0);
        let w = &w[..f.outputs.len()];
        let (fwd, rev) = derive_both(&f);
        let stopped = stopped(fill.iter().chain(&body));
        check_loop_program(&f, &fwd, &rev, stopped, (&x, &a), &u, w)?;
    }
}
