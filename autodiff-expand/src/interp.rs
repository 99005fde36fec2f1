//! An interpreter for the IR over `f64`: the oracle of the property tests, which run the
//! primal, forward and reverse IR of random programs without compiling any Rust.
use crate::ir::{Function, Op, Operand, Rhs, Runtime, Stmt};

/// A value of the interpreter: a number (floats, integers and booleans alike), an array, or
/// a value stack.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Num(f64),
    Array(Vec<f64>),
    Stack(Vec<Value>),
    Unset,
}

impl Value {
    pub fn num(&self) -> Result<f64, String> {
        match self {
            Value::Num(x) => Ok(*x),
            other => Err(format!("expected a number, found {other:?}")),
        }
    }
}

/// Evaluates `f` with the given values of its variables (parameters, seeds, tangents) and
/// returns every variable's value. Opaque code cannot be run, except array constants
/// `[c; n]` whose length is known.
pub fn run(f: &Function, inputs: &[(usize, Value)]) -> Result<Vec<Value>, String> {
    let mut env = vec![Value::Unset; f.vars.len()];
    for (v, x) in inputs {
        env[*v] = x.clone();
    }
    block(&f.body, &mut env)?;
    Ok(env)
}

fn index_of(env: &[Value], index: &[Operand]) -> Result<usize, String> {
    match index {
        [i] => Ok(value(env, i)? as usize),
        _ => Err("the interpreter runs one-dimensional arrays".into()),
    }
}

fn block(stmts: &[Stmt], env: &mut Vec<Value>) -> Result<(), String> {
    for stmt in stmts {
        match stmt {
            Stmt::Let {
                dst,
                rhs: Rhs::Op(Op::Runtime(r), args),
                ..
            } => runtime(*r, args, *dst, env)?,
            Stmt::Let { dst, rhs, .. } => {
                let v = match rhs {
                    Rhs::Op(op, args) => {
                        let a: Vec<f64> = args
                            .iter()
                            .map(|o| value(env, o))
                            .collect::<Result<_, _>>()?;
                        Value::Num(eval(*op, &a))
                    }
                    Rhs::Index(array, index) => match &env[*array] {
                        Value::Array(xs) => Value::Num(xs[index_of(env, index)?]),
                        other => return Err(format!("indexing {other:?}")),
                    },
                    Rhs::ArrayLit(elements) => Value::Array(
                        elements
                            .iter()
                            .map(|e| value(env, e))
                            .collect::<Result<_, _>>()?,
                    ),
                    Rhs::Uninit => Value::Unset,
                    Rhs::Zero(Operand::Var(w)) => match &env[*w] {
                        Value::Array(xs) => Value::Array(vec![0.0; xs.len()]),
                        _ => Value::Num(0.0),
                    },
                    Rhs::Zero(_) => Value::Num(0.0),
                    Rhs::CopyArray(a) => env[*a].clone(),
                    Rhs::NewStack => Value::Stack(Vec::new()),
                    Rhs::Pop(s) => match &mut env[*s] {
                        Value::Stack(values) => values.pop().ok_or("pop from an empty stack")?,
                        other => return Err(format!("pop from {other:?}")),
                    },
                    Rhs::Opaque(o) => opaque(o, env)?,
                    Rhs::Call(_)
                    | Rhs::CallForward(..)
                    | Rhs::CallReverse(..)
                    | Rhs::Field(..)
                    | Rhs::Output(..)
                    | Rhs::Tuple(_)
                    | Rhs::AddInto(..) => return Err("the interpreter does not run calls".into()),
                };
                if let Some(d) = dst {
                    env[*d] = v;
                }
            }
            Stmt::Assign { dst, value: v, .. } => env[*dst] = Value::Num(value(env, v)?),
            Stmt::Store {
                array,
                index,
                value: v,
                accumulate,
                ..
            } => {
                let (i, x) = (index_of(env, index)?, value(env, v)?);
                match &mut env[*array] {
                    Value::Array(xs) if *accumulate => xs[i] += x,
                    Value::Array(xs) => xs[i] = x,
                    other => return Err(format!("storing into {other:?}")),
                }
            }
            Stmt::If {
                cond,
                then,
                otherwise,
                ..
            } => {
                if value(env, cond)? != 0.0 {
                    block(then, env)?;
                } else {
                    block(otherwise, env)?;
                }
            }
            Stmt::For {
                index,
                start,
                end,
                inclusive,
                reversed,
                body,
                ..
            } => {
                let (a, b) = (value(env, start)? as i64, value(env, end)? as i64);
                let b = if *inclusive { b + 1 } else { b };
                let range: Vec<i64> = if *reversed {
                    (a..b).rev().collect()
                } else {
                    (a..b).collect()
                };
                for i in range {
                    env[*index] = Value::Num(i as f64);
                    block(body, env)?;
                }
            }
            Stmt::While {
                header, cond, body, ..
            } => loop {
                block(header, env)?;
                if value(env, cond)? == 0.0 {
                    break;
                }
                block(body, env)?;
            },
            Stmt::Push {
                stack, value: v, ..
            } => {
                let v = match v {
                    Operand::Var(x) => env[*x].clone(),
                    other => Value::Num(value(env, other)?),
                };
                match &mut env[*stack] {
                    Value::Stack(values) => values.push(v),
                    other => return Err(format!("push onto {other:?}")),
                }
            }
        }
    }
    Ok(())
}

/// The opaque code the property tests and the passes generate: `[0.0; n]`, the length of an
/// array and a comparison of loop bounds (code kept as written, not runtime calls: those are
/// ops of the registry, `Op::Runtime`).
fn opaque(o: &crate::ir::Opaque, env: &[Value]) -> Result<Value, String> {
    let text = o.tokens.to_string();
    let fail = || format!("cannot interpret `{text}`");
    if let Some(n) = text
        .strip_prefix("[0.0 ; ")
        .and_then(|r| r.strip_suffix(']'))
    {
        let n: usize = n.trim().parse().map_err(|_| fail())?;
        return Ok(Value::Array(vec![0.0; n]));
    }
    let var = |t: &str| crate::ir::placeholder_var_named(t.trim());
    // A placeholder `__autodiff_var_N` or a constant `(4)`.
    let operand = |t: &str| -> Result<f64, String> {
        match var(t) {
            Some(v) => env[v].num(),
            None => t
                .trim()
                .trim_start_matches('(')
                .trim_end_matches(')')
                .trim()
                .parse()
                .map_err(|_| fail()),
        }
    };
    if let Some(array) = text.strip_suffix(". len ()") {
        return match var(array).map(|v| &env[v]) {
            Some(Value::Array(xs)) => Ok(Value::Num(xs.len() as f64)),
            _ => Err(fail()),
        };
    }
    for (symbol, holds) in [
        ("<=", (|a, b| a <= b) as fn(f64, f64) -> bool),
        ("<", |a, b| a < b),
    ] {
        if let Some((a, b)) = text.split_once(&format!(" {symbol} ")) {
            let result = holds(operand(a)?, operand(b)?);
            return Ok(Value::Num(if result { 1.0 } else { 0.0 }));
        }
    }
    Err(format!("cannot interpret {}", o.what))
}

/// A runtime call of the reverse sweep: `push_slice(&mut s, &a[..])` copies `a` onto the
/// stack `s` (the snapshot of an array in a fused loop), `pop_into(&mut s, &mut a[..])` copies
/// it back, `zero_element(&a[..])` is a zero.
fn runtime(
    r: Runtime,
    args: &[Operand],
    dst: Option<usize>,
    env: &mut [Value],
) -> Result<(), String> {
    if r == Runtime::ZeroElement {
        if let Some(d) = dst {
            env[d] = Value::Num(0.0);
        }
        return Ok(());
    }
    let [Operand::Var(stack), Operand::Var(array)] = args[..] else {
        return Err(format!("{} of {args:?}", r.name()));
    };
    let Value::Array(values) = env[array].clone() else {
        return Err(format!("a snapshot of {:?}", env[array]));
    };
    let Value::Stack(saved) = &mut env[stack] else {
        return Err(format!("a snapshot onto {:?}", env[stack]));
    };
    if r == Runtime::PushSlice {
        saved.extend(values.into_iter().map(Value::Num));
        return Ok(());
    }
    let start = saved
        .len()
        .checked_sub(values.len())
        .ok_or("pop from an empty stack")?;
    let restored = saved
        .split_off(start)
        .into_iter()
        .map(|v| v.num())
        .collect::<Result<Vec<f64>, String>>()?;
    env[array] = Value::Array(restored);
    Ok(())
}

/// The value of an operand.
pub fn value(env: &[Value], o: &Operand) -> Result<f64, String> {
    match o {
        Operand::Var(v) => env[*v].num(),
        Operand::Lit(c) => Ok(*c),
        Operand::Const { value, tokens } => {
            value.ok_or_else(|| format!("cannot interpret `{tokens}`"))
        }
    }
}

/// One operation on `f64`, with the semantics of Rust's float methods and our helpers: the
/// `eval` facet of the op's row in the registry (NaN for tensor operations).
pub fn eval(op: Op, a: &[f64]) -> f64 {
    op.eval(a)
}
