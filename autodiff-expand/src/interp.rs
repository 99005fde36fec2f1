//! An interpreter for the IR over `f64`: the oracle of the property tests, which run the
//! primal, forward and reverse IR of random programs without compiling any Rust.
use crate::ir::{Binary, Cmp, Function, Op, Operand, Rhs, Unary};

/// Evaluates `f` with the given values of its variables (parameters, seeds, tangents) and
/// returns every variable's value (NaN where never assigned). Opaque code cannot be run.
pub fn run(f: &Function, inputs: &[(usize, f64)]) -> Result<Vec<f64>, String> {
    let mut env = vec![f64::NAN; f.vars.len()];
    for &(v, x) in inputs {
        env[v] = x;
    }
    for stmt in &f.body {
        let value = match &stmt.rhs {
            Rhs::Op(op, args) => {
                let a: Vec<f64> = args
                    .iter()
                    .map(|o| value(&env, o))
                    .collect::<Result<_, _>>()?;
                eval(*op, &a)
            }
            Rhs::Opaque(o) => return Err(format!("cannot interpret {}", o.what)),
        };
        if let Some(dst) = stmt.dst {
            env[dst] = value;
        }
    }
    Ok(env)
}

/// The value of an operand.
pub fn value(env: &[f64], o: &Operand) -> Result<f64, String> {
    match o {
        Operand::Var(v) => Ok(env[*v]),
        Operand::Lit(c) => Ok(*c),
        Operand::Const { value, tokens } => {
            value.ok_or_else(|| format!("cannot interpret `{tokens}`"))
        }
    }
}

/// One operation on `f64`, with the semantics of Rust's float methods and our helpers.
pub fn eval(op: Op, a: &[f64]) -> f64 {
    match op {
        Op::Id | Op::Stop => a[0],
        Op::Neg => -a[0],
        Op::Add => a[0] + a[1],
        Op::Sub => a[0] - a[1],
        Op::Mul => a[0] * a[1],
        Op::Div => a[0] / a[1],
        Op::Unary(u) => unary(u, a[0]),
        Op::Binary(b) => binary(b, a[0], a[1]),
        Op::Powi => a[0].powi(a[1] as i32),
        Op::MulAdd => a[0].mul_add(a[1], a[2]),
        Op::Select(cmp) => {
            let take = match cmp {
                Cmp::Ge => a[0] >= a[1],
                Cmp::Le => a[0] <= a[1],
                Cmp::Gt => a[0] > a[1],
            };
            if take {
                a[2]
            } else {
                a[3]
            }
        }
        Op::LnOrZero => {
            if a[0] > 0.0 {
                a[0].ln()
            } else {
                0.0
            }
        }
        Op::Sign => {
            if a[0] > 0.0 {
                1.0
            } else if a[0] < 0.0 {
                -1.0
            } else {
                0.0
            }
        }
        Op::CastLike => a[1],
    }
}

fn unary(u: Unary, x: f64) -> f64 {
    match u {
        Unary::Sin => x.sin(),
        Unary::Cos => x.cos(),
        Unary::Tan => x.tan(),
        Unary::Asin => x.asin(),
        Unary::Acos => x.acos(),
        Unary::Atan => x.atan(),
        Unary::Sinh => x.sinh(),
        Unary::Cosh => x.cosh(),
        Unary::Tanh => x.tanh(),
        Unary::Asinh => x.asinh(),
        Unary::Acosh => x.acosh(),
        Unary::Atanh => x.atanh(),
        Unary::Exp => x.exp(),
        Unary::Exp2 => x.exp2(),
        Unary::ExpM1 => x.exp_m1(),
        Unary::Ln => x.ln(),
        Unary::Ln1p => x.ln_1p(),
        Unary::Log2 => x.log2(),
        Unary::Log10 => x.log10(),
        Unary::Sqrt => x.sqrt(),
        Unary::Cbrt => x.cbrt(),
        Unary::Recip => x.recip(),
        Unary::Abs => x.abs(),
        Unary::Signum => x.signum(),
    }
}

fn binary(b: Binary, x: f64, y: f64) -> f64 {
    match b {
        Binary::Atan2 => x.atan2(y),
        Binary::Powf => x.powf(y),
        Binary::Log => x.log(y),
        Binary::Hypot => x.hypot(y),
        Binary::Max => x.max(y),
        Binary::Min => x.min(y),
    }
}
