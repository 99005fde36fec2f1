//! The IR: a function in three-address form. Every statement defines one variable from an
//! operation on operands; spans are kept so later passes can point at the user's tokens.
//!
//! Variables are single-assignment: lowering gives every `let` (and every intermediate
//! result) a fresh [`VarId`], so the reverse sweep can always name the primal value it needs.
use proc_macro2::{Span, TokenStream};

pub type VarId = usize;

/// Where a variable comes from; it decides how `emit` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// The function's parameter number `n` (emitted with the user's own identifier).
    Param(usize),
    /// A user `let` binding.
    Local,
    /// An intermediate result of the three-address form.
    Temp,
    /// An adjoint (reverse mode) or tangent (forward mode) value.
    Derivative,
    /// A parameter the generated function adds: a `vjp` seed or a `jvp` tangent.
    Extra,
}

#[derive(Clone, Debug)]
pub struct Var {
    pub name: String,
    pub span: Span,
    pub origin: Origin,
    /// The user's type annotation, if any (`let x: f32 = ..`).
    pub ty: Option<TokenStream>,
}

/// An operand of an operation.
#[derive(Clone, Debug)]
pub enum Operand {
    Var(VarId),
    /// A constant the derivative rules introduce (`0.5`, `ln 2`): emitted in the float type of
    /// the operation's other operand.
    Lit(f64),
    /// A passive expression written by the user (a literal such as `2.0_f32`, `T::one()`,
    /// `n as f64`), emitted as written. `value` is known for plain literals, which the
    /// simplifier and the interpreter use.
    Const {
        tokens: TokenStream,
        value: Option<f64>,
    },
}

impl Operand {
    pub fn var(&self) -> Option<VarId> {
        match self {
            Operand::Var(v) => Some(*v),
            _ => None,
        }
    }

    /// The numeric value of a constant operand, if known.
    pub fn constant(&self) -> Option<f64> {
        match self {
            Operand::Lit(v) => Some(*v),
            Operand::Const { value, .. } => *value,
            Operand::Var(_) => None,
        }
    }
}

/// The differentiable operations. The derivative of each is one entry in `rules.rs`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    /// `a` (a copy; also `let y = x;`)
    Id,
    /// `stop_gradient(a)`: the value of `a`, through which no gradient flows.
    Stop,
    Neg,
    Add,
    Sub,
    Mul,
    Div,
    /// A unary float method, `x.sin()`.
    Unary(Unary),
    /// A float method with one more float argument, `x.atan2(y)`.
    Binary(Binary),
    /// `x.powi(n)`: the exponent is a passive integer operand.
    Powi,
    /// `x.mul_add(a, b)`
    MulAdd,
    /// `if a CMP b { t } else { f }` (the gates of `max`, `min`).
    Select(Cmp),
    /// `ln x` where `x > 0`, else zero (the exponent's partial of `powf`, as TensorFlow's `pow`).
    LnOrZero,
    /// `sign x` with `sign 0 = 0` (the derivative of `abs`, as TensorFlow's).
    Sign,
    /// A passive number (the exponent of `powi`) in the float type of the first operand.
    CastLike,
}

macro_rules! float_methods {
    ($name:ident { $($variant:ident => $method:literal,)* }) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name { $($variant,)* }
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];
            /// The float method's name, as written in Rust.
            pub fn method(self) -> &'static str {
                match self { $($name::$variant => $method,)* }
            }
            pub fn from_method(name: &str) -> Option<Self> {
                match name { $($method => Some($name::$variant),)* _ => None }
            }
        }
    };
}

float_methods!(Unary {
    Sin => "sin", Cos => "cos", Tan => "tan", Asin => "asin", Acos => "acos", Atan => "atan",
    Sinh => "sinh", Cosh => "cosh", Tanh => "tanh", Asinh => "asinh", Acosh => "acosh",
    Atanh => "atanh", Exp => "exp", Exp2 => "exp2", ExpM1 => "exp_m1", Ln => "ln",
    Ln1p => "ln_1p", Log2 => "log2", Log10 => "log10", Sqrt => "sqrt", Cbrt => "cbrt",
    Recip => "recip", Abs => "abs", Signum => "signum",
});

float_methods!(Binary {
    Atan2 => "atan2", Powf => "powf", Log => "log", Hypot => "hypot", Max => "max", Min => "min",
});

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cmp {
    Ge,
    Le,
    Gt,
}

/// The right-hand side of a statement.
#[derive(Clone, Debug)]
pub enum Rhs {
    Op(Op, Vec<Operand>),
    /// Code the macro does not differentiate, emitted as written (with local names renamed):
    /// comparisons, integer arithmetic, calls on passive values, `println!`. If a value it
    /// reads is active and its result matters to the output, `activity` reports an error.
    Opaque(Opaque),
}

#[derive(Clone, Debug)]
pub struct Opaque {
    pub tokens: TokenStream,
    /// The variables the tokens read.
    pub reads: Vec<VarId>,
    /// The result never carries a derivative (a comparison, `.len()`): reading an active
    /// value is fine.
    pub passive_result: bool,
    /// What it is, for error messages ("the method `foo`").
    pub what: String,
}

#[derive(Clone, Debug)]
pub struct Stmt {
    /// `None` for statements run for their effect (`println!(..);`).
    pub dst: Option<VarId>,
    pub rhs: Rhs,
    pub span: Span,
}

impl Stmt {
    /// Every variable the statement reads.
    pub fn reads(&self) -> Vec<VarId> {
        match &self.rhs {
            Rhs::Op(_, args) => args.iter().filter_map(Operand::var).collect(),
            Rhs::Opaque(o) => o.reads.clone(),
        }
    }
}

/// A function body in three-address form.
#[derive(Clone, Debug, Default)]
pub struct Function {
    pub vars: Vec<Var>,
    /// The parameters, in signature order.
    pub params: Vec<VarId>,
    pub body: Vec<Stmt>,
    /// The outputs: one for a scalar result, several for a tuple.
    pub outputs: Vec<Operand>,
}

impl Function {
    pub fn new_var(&mut self, name: impl Into<String>, span: Span, origin: Origin) -> VarId {
        self.vars.push(Var {
            name: name.into(),
            span,
            origin,
            ty: None,
        });
        self.vars.len() - 1
    }

    /// Appends `dst = op(args)` with a fresh temporary `dst`.
    pub fn push_op(&mut self, op: Op, args: Vec<Operand>, span: Span) -> VarId {
        let dst = self.new_var(format!("v{}", self.vars.len()), span, Origin::Temp);
        self.body.push(Stmt {
            dst: Some(dst),
            rhs: Rhs::Op(op, args),
            span,
        });
        dst
    }
}

/// Appends statements to a function, folding the identities that derivative code is full of
/// (`g * 1`, `x + 0`, constants), so no zero or one is ever materialised.
pub struct Builder<'f> {
    pub f: &'f mut Function,
    pub span: Span,
}

impl Builder<'_> {
    pub fn op(&mut self, op: Op, args: Vec<Operand>) -> Operand {
        if let Some(folded) = fold(op, &args) {
            return folded;
        }
        Operand::Var(self.f.push_op(op, args, self.span))
    }

    pub fn add(&mut self, a: Operand, b: Operand) -> Operand {
        self.op(Op::Add, vec![a, b])
    }
    pub fn sub(&mut self, a: Operand, b: Operand) -> Operand {
        self.op(Op::Sub, vec![a, b])
    }
    pub fn mul(&mut self, a: Operand, b: Operand) -> Operand {
        self.op(Op::Mul, vec![a, b])
    }
    pub fn div(&mut self, a: Operand, b: Operand) -> Operand {
        self.op(Op::Div, vec![a, b])
    }
    pub fn neg(&mut self, a: Operand) -> Operand {
        self.op(Op::Neg, vec![a])
    }
    pub fn unary(&mut self, u: Unary, a: Operand) -> Operand {
        self.op(Op::Unary(u), vec![a])
    }
}

/// Algebraic identities and constant folding on rule-made constants. User constants
/// (`Operand::Const`) are folded only where the result is one of the operands, so their
/// tokens (and types) survive.
fn fold(op: Op, args: &[Operand]) -> Option<Operand> {
    let c = |i: usize| args.get(i).and_then(Operand::constant);
    let lit = |i: usize| matches!(args.get(i), Some(Operand::Lit(_)));
    match op {
        Op::Id => Some(args[0].clone()),
        Op::Neg if lit(0) => Some(Operand::Lit(-c(0)?)),
        Op::Add | Op::Sub | Op::Mul | Op::Div if lit(0) && lit(1) => {
            let (a, b) = (c(0)?, c(1)?);
            Some(Operand::Lit(match op {
                Op::Add => a + b,
                Op::Sub => a - b,
                Op::Mul => a * b,
                _ => a / b,
            }))
        }
        Op::Add if c(0) == Some(0.0) => Some(args[1].clone()),
        Op::Add | Op::Sub if c(1) == Some(0.0) => Some(args[0].clone()),
        Op::Mul if c(0) == Some(1.0) => Some(args[1].clone()),
        Op::Mul | Op::Div if c(1) == Some(1.0) => Some(args[0].clone()),
        _ => None,
    }
}
