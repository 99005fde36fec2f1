//! THE op registry: every operation of the IR, one row each, holding everything a pass needs
//! to know about it. A pass asks the row ([`Op::row`]) instead of matching on the op:
//!
//! | facet      | read by                     | what it says                                     |
//! |------------|-----------------------------|--------------------------------------------------|
//! | `name`     | messages, tests             | the op's name (a float method's is the method)   |
//! | `partials` | `rules` (forward, reverse)  | ∂y/∂xᵢ for each operand, built as IR             |
//! | `eval`     | `interp`                    | the value on `f64` (none for tensors)            |
//! | `cost`     | `reverse::saving`           | recompute the value in the adjoint sweep or save |
//! | `flow`     | `activity`                  | whether a derivative flows from operands to y    |
//! | `form`     | `emit::operations`          | how generated code writes it                     |
//! | `shape`    | `ir::tensor_result`         | whether the result is a tensor                   |
//! | `commutes` | `simplify`                  | `a op b = b op a`, for common subexpressions     |
//! | `fuzz`     | `tests/properties.rs`       | the operands the property tests draw for it      |
//!
//! The rows are written in table macros: `float_methods!` in `op/float.rs` (the unary and
//! binary float methods: a row is the variant, the method, which is also its evaluation and
//! its emission, the cost, the fuzz draws and the partial rule); `tensor_methods!` and
//! `tensor_rules!` in `op/tensor.rs` (the tensor methods and the runtime helpers of their
//! derivatives, named by their Rust path under `::autodiff::__private::tensor_rules`, never
//! by a string); `runtime_calls!` in `op/runtime.rs` (the helpers the reverse sweep calls on arrays and
//! value stacks, by path too); and the core ops (arithmetic, `powi`, `mul_add`, select, the
//! derivative-only helpers) in [`Op::row`]. CONTRIBUTING.md says how to add a float method:
//! one row in `op/float.rs` and one line in `tests/rule_table.rs`.
//!
//! Outside the registry, on purpose: the algebraic identities the builder folds
//! (`ir::fold`: `g * 1`, `x + 0`), how a partial becomes IR (`rules::apply`), the adjoint and
//! tangent of the statements that are not ops (array reads and stores, locations, calls), and
//! the broadcasting of a tangent of `a ± b` (`forward`). Lowering maps `powi` and `mul_add`
//! to their ops by name, and writes the zero and one of an element type (`zero_element`,
//! `one_element`, which start a sum or product over an array) as code kept as written.
//!
//! # Composing rules (second order)
//!
//! A partial is IR, not code: a [`Coef`] holds operands that the rule built with
//! [`Builder`] from registry ops (`sin`'s is `b.unary(Cos, x)`), and `rules::apply` turns a
//! partial and a cotangent into more registry ops (`Mul`, `Div`, `Select` for a gate, `Rule`
//! for a tensor rule). So the tangent and adjoint code that forward and reverse write is a
//! `Function` of registry ops like any other, and a second derivative is forward (or reverse)
//! run over it: a rule is differentiated through the rows of the ops it is made of, and no rule
//! needs a second-order version of its own. What that still needs in this file: the
//! derivative-only ops have [`Flow::Cut`] and zero partials, because derivative code is not
//! differentiated again today. For `Sign` and `CastLike` that is already their derivative
//! (zero almost everywhere; a constant). `LnOrZero` needs its partial `1/x` where `x > 0`,
//! and `ReduceTo` and each tensor `Rule`, which are linear in their cotangent, need the rule
//! of their transpose (`reduce_to`'s is a broadcast, `matmul_lhs_vjp`'s a `matmul`), each
//! with [`Flow::Through`]; forward and reverse then apply them as any other row. Beyond this
//! file, differentiating a reverse sweep needs tangents of the statements that are not ops
//! (values pushed on and popped off stacks, `add_into`), which `forward` does not write yet.
use super::{Builder, Operand};
use proc_macro2::TokenStream;
use quote::quote;

mod float;
mod runtime;
mod tensor;

pub use float::{Binary, Unary};
pub use runtime::{Pass, Runtime};
pub use tensor::{RuleFn, TensorOp};

/// The differentiable operations. Each has one row in this registry ([`Op::row`]).
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
    /// A tensor method: `x.matmul(w)`, `x.sum_axis(1)`, ..
    Tensor(TensorOp),
    /// A derivative rule of a tensor operation, `tensor_rules::name(&args.., &g)`.
    Rule(RuleFn),
    /// `reduce_to(&operand, g)`: a cotangent summed back to the operand's shape.
    ReduceTo,
    /// A runtime helper the reverse sweep calls on arrays and value stacks (`push_slice`,
    /// `pop_into`, `zero_element`), for its effect or for a zero of an element type.
    Runtime(Runtime),
}

/// One op's facets (see the module's table).
#[derive(Clone, Copy, Debug)]
pub struct Row {
    pub name: &'static str,
    /// The partial derivatives of `y = op(x)` with respect to each operand, in operand order,
    /// from the operands `x` and the primal result `y` (rules may reuse `y`, as JAX's
    /// `defjvp2`: `exp`, `sqrt`, `tanh` cost no extra transcendental). The builder emits
    /// only what the caller asks for: partials of passive operands are never applied.
    pub partials: fn(&mut Builder, Op, &[Operand], &Operand) -> Vec<Partial>,
    /// The value on `f64`, with the semantics of Rust's float methods and the runtime's
    /// helpers; `None` for tensor operations.
    pub eval: Option<fn(Op, &[f64]) -> f64>,
    pub cost: Cost,
    pub flow: Flow,
    pub form: Form,
    pub shape: Shape,
    /// `op(a, b) = op(b, a)` exactly (in IEEE arithmetic too): common subexpressions match
    /// either order.
    pub commutes: bool,
    /// One draw per operand for the property tests, empty where they do not run the op
    /// (tensors, and the derivative-only ops, whose derivative is not taken).
    pub fuzz: &'static [Draw],
}

/// What the save-or-recompute policy of a reversed loop does with the op's result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cost {
    /// Cheap to run again: recomputed in the adjoint sweep (it costs no memory).
    Recompute,
    /// A transcendental function: costs more to call again than to save and load (measured
    /// on LogSumExp: 1.6x), so it is saved.
    Save,
}

/// Whether a derivative flows from the operands to the result (activity analysis).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    /// From every operand.
    Through,
    /// From these operands only (a select's value operands, not its condition's, which a
    /// derivative does not flow from: TensorFlow's `where`).
    Only(&'static [usize]),
    /// No derivative flows: `stop_gradient`, and the ops only derivative code contains.
    Cut,
}

/// Whether the result is a tensor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// Where any operand is (arithmetic broadcasts).
    Broadcast,
    /// Where the first operand is.
    First,
    Scalar,
    Tensor,
}

/// An operand the property tests draw: where the op is smooth and its value stays finite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Draw {
    /// Any value.
    Real,
    /// In (-1, 1) (`tanh x`): the argument of `exp`, `sinh`, a `powf` exponent.
    Bounded,
    /// In (-1/2, 1/2): `asin`, `acos`, `atanh`.
    Unit,
    /// At least 1 (`x² + 1`): `ln`, `sqrt`, a divisor.
    Positive,
    /// At least 3/2 (`x² + 3/2`): `acosh`, a `log` base.
    AboveOne,
    /// A passive integer constant in -3..=3: `powi`'s exponent.
    Exponent,
}

/// How generated code writes an op. Paths are tokens of the runtime's items.
#[derive(Clone, Copy, Debug)]
pub enum Form {
    /// `a` (a tensor: `a.clone()`).
    Copy,
    /// `OP a` (a tensor: `helper(&a)`).
    Prefix {
        operator: fn() -> TokenStream,
        helper: fn() -> TokenStream,
    },
    /// `a OP b` (a tensor: the broadcasting `helper(&a, &b)`, or `a OP &b` where `a` is a
    /// temporary tensor read only here, whose buffer then holds the result).
    Infix {
        operator: fn() -> TokenStream,
        helper: fn() -> TokenStream,
    },
    /// `a.method(rest..)`: a float method.
    Method(&'static str),
    /// `if a CMP b { t } else { f }`
    Select(Cmp),
    /// `helper(&a, rest..)`: a scalar helper of the runtime.
    Helper(fn() -> TokenStream),
    /// `a.method(rest..)` on a tensor (tensors borrowed, an axis by value).
    TensorMethod(&'static str),
    /// `path(&args.., &g)`: a tensor rule of the runtime.
    Rule(RuleFn),
    /// `reduce_to(&x, &g)` (`reduce_owned(&x, g)` where `g` is read only here).
    Reduce,
    /// `path(&mut stack, &array[..])`: a runtime call, each operand passed as it says.
    Call(Runtime),
}

/// How the result depends on one operand: the derivative `g'` of a cotangent or tangent `g`
/// flowing through it is `coef(g)`, negated if `negate`.
#[derive(Clone, Debug)]
pub struct Partial {
    pub coef: Coef,
    pub negate: bool,
}

#[derive(Clone, Debug)]
pub enum Coef {
    /// No dependence (the condition of a select, `stop_gradient`, a passive exponent).
    Zero,
    /// `g`
    One,
    /// `g * c`
    Mul(Operand),
    /// `g / c`: cheaper and more accurate than `g * (1 / c)` (`ln`, `sqrt`, division).
    Div(Operand),
    /// `if a CMP b { g } else { 0 }` when `.3` is true, else the other way round (the kinks
    /// of `max`/`min`: on ties the receiver gets the gradient, as TensorFlow does).
    Gate(Cmp, Operand, Operand, bool),
    /// `tensor_rules::name(&args.., &g)`: a tensor operation's rule, with one helper for each
    /// direction (the same one where the Jacobian is symmetric).
    Call {
        reverse: RuleFn,
        forward: RuleFn,
        args: Vec<Operand>,
    },
}

fn p(coef: Coef) -> Partial {
    Partial {
        coef,
        negate: false,
    }
}

fn neg(coef: Coef) -> Partial {
    Partial { coef, negate: true }
}

/// A partial per operand, none of them a dependence.
fn zeros(_: &mut Builder, _: Op, x: &[Operand], _: &Operand) -> Vec<Partial> {
    x.iter().map(|_| p(Coef::Zero)).collect()
}

fn one() -> Operand {
    Operand::Lit(1.0)
}

/// `y = x.powi(n)`: d(x^n)/dx = n x^(n-1); the exponent is passive, an integer: a literal or
/// constant as written, or a value computed at run time (`k as i32`, a parameter). x^0: the
/// partial is 0 (not 0 * inf at x = 0), and x stays connected.
fn powi_partials(b: &mut Builder, _: Op, x: &[Operand], _: &Operand) -> Vec<Partial> {
    if x[1].constant() == Some(0.0) {
        return vec![p(Coef::Mul(Operand::Lit(0.0))), p(Coef::Zero)];
    }
    let n_minus_1 = match &x[1] {
        Operand::Const { tokens, value } => Operand::Const {
            tokens: quote!((#tokens - 1)),
            value: value.map(|v| v - 1.0),
        },
        // Integer arithmetic in the IR's own subtraction (not code kept as written), so that
        // passes which replace the exponent by an equal value replace it here too.
        Operand::Var(_) => b.op(
            Op::Sub,
            vec![
                x[1].clone(),
                Operand::Const {
                    tokens: quote!(1),
                    value: Some(1.0),
                },
            ],
        ),
        // A rule constant is never an exponent; were it one, it is a float.
        Operand::Lit(c) => Operand::Lit(c - 1.0),
    };
    let n = b.op(Op::CastLike, vec![x[0].clone(), x[1].clone()]);
    let pow = b.op(Op::Powi, vec![x[0].clone(), n_minus_1]);
    let coef = b.mul(n.clone(), pow);
    // An exponent not known to be nonzero may be 0 at run time (`r.powi(k as i32)` from
    // k = 0), where n x^(n-1) is 0 * inf = NaN at x = 0: the partial is 0.
    let coef = match x[1].constant() {
        Some(_) => coef,
        None => {
            let nn = b.mul(n.clone(), n);
            let zero = Operand::Lit(0.0);
            b.op(Op::Select(Cmp::Gt), vec![nn, zero.clone(), coef, zero])
        }
    };
    vec![p(Coef::Mul(coef)), p(Coef::Zero)]
}

/// The comparisons of a select.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cmp {
    Ge,
    Le,
    Gt,
}

impl Cmp {
    pub const ALL: &'static [Cmp] = &[Cmp::Ge, Cmp::Le, Cmp::Gt];

    pub fn holds(self, a: f64, b: f64) -> bool {
        match self {
            Cmp::Ge => a >= b,
            Cmp::Le => a <= b,
            Cmp::Gt => a > b,
        }
    }

    pub fn tokens(self) -> TokenStream {
        match self {
            Cmp::Ge => quote!(>=),
            Cmp::Le => quote!(<=),
            Cmp::Gt => quote!(>),
        }
    }
}

/// The ops without a payload, in the order of [`Op`].
const CORE: &[Op] = &[
    Op::Id,
    Op::Stop,
    Op::Neg,
    Op::Add,
    Op::Sub,
    Op::Mul,
    Op::Div,
    Op::Powi,
    Op::MulAdd,
    Op::LnOrZero,
    Op::Sign,
    Op::CastLike,
    Op::ReduceTo,
];

/// `a OP b` on scalars, `helper(&a, &b)` on tensors.
macro_rules! infix {
    ($operator:tt, $helper:ident) => {
        Form::Infix {
            operator: || quote!($operator),
            helper: || quote!(::autodiff::__private::$helper),
        }
    };
}

/// The rows of the core ops: everything but the float methods, tensor methods and rules.
const ARITHMETIC: Row = Row {
    name: "",
    partials: zeros,
    eval: None,
    cost: Cost::Recompute,
    flow: Flow::Through,
    form: Form::Copy,
    shape: Shape::Broadcast,
    commutes: false,
    fuzz: &[Draw::Real, Draw::Real],
};

/// A derivative-only op: no derivative flows through it, the property tests do not draw it.
const DERIVATIVE_ONLY: Row = Row {
    flow: Flow::Cut,
    fuzz: &[],
    ..ARITHMETIC
};

impl Op {
    /// Every op of the registry.
    pub fn all() -> Vec<Op> {
        let mut all = CORE.to_vec();
        all.extend(Cmp::ALL.iter().map(|&c| Op::Select(c)));
        all.extend(Unary::ALL.iter().map(|&u| Op::Unary(u)));
        all.extend(Binary::ALL.iter().map(|&b| Op::Binary(b)));
        all.extend(TensorOp::ALL.iter().map(|&t| Op::Tensor(t)));
        all.extend(RuleFn::ALL.iter().map(|&r| Op::Rule(r)));
        all.extend(Runtime::ALL.iter().map(|&r| Op::Runtime(r)));
        all
    }

    /// The op's row.
    pub fn row(self) -> Row {
        use Coef::{Mul, One, Zero};
        match self {
            Op::Id => Row {
                name: "id",
                partials: |_, _, _, _| vec![p(One)],
                eval: Some(|_, a| a[0]),
                fuzz: &[Draw::Real],
                ..ARITHMETIC
            },
            Op::Stop => Row {
                name: "stop_gradient",
                partials: |_, _, _, _| vec![p(Zero)],
                eval: Some(|_, a| a[0]),
                flow: Flow::Cut,
                fuzz: &[Draw::Real],
                ..ARITHMETIC
            },
            Op::Neg => Row {
                name: "neg",
                partials: |_, _, _, _| vec![neg(One)],
                eval: Some(|_, a| -a[0]),
                form: Form::Prefix {
                    operator: || quote!(-),
                    helper: || quote!(::autodiff::__private::neg),
                },
                fuzz: &[Draw::Real],
                ..ARITHMETIC
            },
            Op::Add => Row {
                name: "add",
                partials: |_, _, _, _| vec![p(One), p(One)],
                eval: Some(|_, a| a[0] + a[1]),
                form: infix!(+, add),
                commutes: true,
                ..ARITHMETIC
            },
            Op::Sub => Row {
                name: "sub",
                partials: |_, _, _, _| vec![p(One), neg(One)],
                eval: Some(|_, a| a[0] - a[1]),
                form: infix!(-, sub),
                ..ARITHMETIC
            },
            Op::Mul => Row {
                name: "mul",
                partials: |_, _, x, _| vec![p(Mul(x[1].clone())), p(Mul(x[0].clone()))],
                eval: Some(|_, a| a[0] * a[1]),
                form: infix!(*, mul),
                commutes: true,
                ..ARITHMETIC
            },
            Op::Div => Row {
                name: "div",
                partials: |b, _, x, y| {
                    // d(a/b)/db = -y/b
                    let y_over_b = b.div(y.clone(), x[1].clone());
                    vec![p(Coef::Div(x[1].clone())), neg(Mul(y_over_b))]
                },
                eval: Some(|_, a| a[0] / a[1]),
                form: infix!(/, div),
                fuzz: &[Draw::Real, Draw::Positive],
                ..ARITHMETIC
            },
            Op::Unary(u) => Row {
                name: u.method(),
                partials: |b, op, x, y| match op {
                    Op::Unary(u) => vec![u.partial(b, x[0].clone(), y.clone())],
                    _ => unreachable!("the row of a unary method"),
                },
                eval: Some(|op, a| match op {
                    Op::Unary(u) => u.eval(a[0]),
                    _ => unreachable!("the row of a unary method"),
                }),
                cost: u.cost(),
                form: Form::Method(u.method()),
                fuzz: u.fuzz(),
                ..ARITHMETIC
            },
            Op::Binary(bin) => Row {
                name: bin.method(),
                partials: |b, op, x, y| match op {
                    Op::Binary(bin) => bin
                        .partials(b, x[0].clone(), x[1].clone(), y.clone())
                        .into(),
                    _ => unreachable!("the row of a binary method"),
                },
                eval: Some(|op, a| match op {
                    Op::Binary(b) => b.eval(a[0], a[1]),
                    _ => unreachable!("the row of a binary method"),
                }),
                cost: bin.cost(),
                form: Form::Method(bin.method()),
                fuzz: bin.fuzz(),
                ..ARITHMETIC
            },
            Op::Powi => Row {
                name: "powi",
                partials: powi_partials,
                eval: Some(|_, a| a[0].powi(a[1] as i32)),
                form: Form::Method("powi"),
                fuzz: &[Draw::Positive, Draw::Exponent],
                ..ARITHMETIC
            },
            Op::MulAdd => Row {
                name: "mul_add",
                partials: |_, _, x, _| vec![p(Mul(x[1].clone())), p(Mul(x[0].clone())), p(One)],
                eval: Some(|_, a| a[0].mul_add(a[1], a[2])),
                form: Form::Method("mul_add"),
                fuzz: &[Draw::Real, Draw::Real, Draw::Real],
                ..ARITHMETIC
            },
            Op::Select(cmp) => Row {
                name: match cmp {
                    Cmp::Ge => "select_ge",
                    Cmp::Le => "select_le",
                    Cmp::Gt => "select_gt",
                },
                partials: |_, op, x, _| match op {
                    Op::Select(cmp) => vec![
                        p(Zero),
                        p(Zero),
                        p(Coef::Gate(cmp, x[0].clone(), x[1].clone(), true)),
                        p(Coef::Gate(cmp, x[0].clone(), x[1].clone(), false)),
                    ],
                    _ => unreachable!("the row of a select"),
                },
                eval: Some(|op, a| match op {
                    Op::Select(cmp) if cmp.holds(a[0], a[1]) => a[2],
                    _ => a[3],
                }),
                flow: Flow::Only(&[2, 3]),
                form: Form::Select(cmp),
                fuzz: &[Draw::Real, Draw::Real, Draw::Real, Draw::Real],
                ..ARITHMETIC
            },
            Op::LnOrZero => Row {
                name: "ln_or_zero",
                eval: Some(|_, a| if a[0] > 0.0 { a[0].ln() } else { 0.0 }),
                form: Form::Helper(|| quote!(::autodiff::__private::ln_or_zero)),
                ..DERIVATIVE_ONLY
            },
            Op::Sign => Row {
                name: "sign",
                eval: Some(|_, a| {
                    if a[0] > 0.0 {
                        1.0
                    } else if a[0] < 0.0 {
                        -1.0
                    } else {
                        0.0
                    }
                }),
                form: Form::Helper(|| quote!(::autodiff::__private::sign)),
                ..DERIVATIVE_ONLY
            },
            Op::CastLike => Row {
                name: "cast_like",
                eval: Some(|_, a| a[1]),
                form: Form::Helper(|| quote!(::autodiff::__private::cast_like)),
                shape: Shape::Scalar,
                ..DERIVATIVE_ONLY
            },
            Op::ReduceTo => Row {
                name: "reduce_to",
                eval: Some(|_, a| a[1]),
                form: Form::Reduce,
                shape: Shape::First,
                ..DERIVATIVE_ONLY
            },
            Op::Tensor(t) => Row {
                name: t.name(),
                partials: |_, op, x, y| match op {
                    Op::Tensor(t) => t.partials(x, y.clone()),
                    _ => unreachable!("the row of a tensor method"),
                },
                cost: t.cost(),
                form: Form::TensorMethod(t.method()),
                shape: t.shape(),
                fuzz: &[],
                ..ARITHMETIC
            },
            // Run by the interpreter as statements (they change arrays and stacks).
            Op::Runtime(r) => Row {
                name: r.name(),
                form: Form::Call(r),
                shape: Shape::Scalar,
                ..DERIVATIVE_ONLY
            },
            Op::Rule(r) => Row {
                name: r.name(),
                form: Form::Rule(r),
                shape: match r.tensor() {
                    true => Shape::Tensor,
                    false => Shape::Scalar,
                },
                ..DERIVATIVE_ONLY
            },
        }
    }

    pub fn name(self) -> &'static str {
        self.row().name
    }

    /// The value on `f64` (NaN for a tensor operation, which the interpreter does not run).
    pub fn eval(self, a: &[f64]) -> f64 {
        self.row().eval.map_or(f64::NAN, |eval| eval(self, a))
    }

    /// The partial derivatives of `y = self(x)`, one per operand.
    pub fn partials(self, b: &mut Builder, x: &[Operand], y: &Operand) -> Vec<Partial> {
        (self.row().partials)(b, self, x, y)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_every_op_has_a_row() {
        let all = Op::all();
        let mut names: Vec<&str> = all.iter().map(|op| op.name()).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len(), "two ops share a name");
        for op in all {
            let row = op.row();
            assert!(!row.name.is_empty(), "{op:?} has no name");
            if !row.fuzz.is_empty() {
                assert!(
                    row.eval.is_some(),
                    "{op:?} is fuzzed but cannot be evaluated"
                );
            }
        }
    }

    #[test]
    fn float_methods_evaluate_as_rust_does() {
        assert_eq!(Op::Unary(Unary::ExpM1).eval(&[0.5]), 0.5f64.exp_m1());
        assert_eq!(
            Op::Binary(Binary::Atan2).eval(&[0.5, -2.0]),
            0.5f64.atan2(-2.0)
        );
        assert_eq!(Unary::from_method("ln_1p"), Some(Unary::Ln1p));
        assert_eq!(
            TensorOp::from_method("sum_axis", 1),
            Some(TensorOp::SumAxis)
        );
        assert_eq!(TensorOp::from_method("sum_axis", 0), None);
    }

    /// Every runtime path the registry emits names a function that `autodiff-core` defines
    /// (`__private` and the tensor rules it re-exports as `__private::tensor_rules`).
    #[test]
    fn every_runtime_path_is_a_function_of_autodiff_core() {
        let core = concat!(env!("CARGO_MANIFEST_DIR"), "/../autodiff-core/src/");
        let source: String = ["__private.rs", "tensor/rules.rs"]
            .iter()
            .map(|f| std::fs::read_to_string(format!("{core}{f}")).expect("autodiff-core's source"))
            .collect();
        let mut paths: Vec<TokenStream> = Vec::new();
        paths.extend(RuleFn::ALL.iter().map(|r| r.path()));
        paths.extend(Runtime::ALL.iter().map(|r| r.path()));
        for op in Op::all() {
            match op.row().form {
                Form::Prefix { helper, .. } | Form::Infix { helper, .. } => paths.push(helper()),
                Form::Helper(path) => paths.push(path()),
                _ => {}
            }
        }
        assert!(paths.len() > RuleFn::ALL.len() + Runtime::ALL.len());
        for path in paths {
            let text = path.to_string();
            assert!(text.starts_with(":: autodiff :: __private ::"), "{text}");
            let name = text.rsplit(":: ").next().unwrap().trim();
            assert!(
                source.contains(&format!("pub fn {name}<"))
                    || source.contains(&format!("pub fn {name}(")),
                "{text} is not a function of autodiff-core"
            );
        }
    }

    #[test]
    fn tensor_rules_are_paths_of_the_runtime() {
        let path = RuleFn::MatmulLhsVjp.path().to_string();
        assert_eq!(
            path,
            ":: autodiff :: __private :: tensor_rules :: matmul_lhs_vjp"
        );
        assert!(!RuleFn::SumJvp.tensor() && RuleFn::SumVjp.tensor());
    }
}
