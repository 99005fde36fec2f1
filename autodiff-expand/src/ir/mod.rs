//! The IR: a function in three-address form. Every statement defines one variable from an
//! operation on operands; spans are kept so later passes can point at the user's tokens.
//!
//! Variables are single-assignment: lowering gives every `let` (and every intermediate
//! result) a fresh [`VarId`], so the reverse sweep can always name the primal value it needs.
//!
//! What each operation is (its partials, evaluation, cost, flow, emission) is its row in the
//! op registry, [`op`]; `analysis` holds the block analyses reverse and replay share.
use proc_macro2::{Ident, Span, TokenStream};

pub mod analysis;
pub mod op;

pub use op::{Binary, Cmp, Op, RuleFn, Runtime, TensorOp, Unary};

pub type VarId = usize;

/// The end of `what` for code kept as written that changes what it reads in place (a
/// method of the array, a call given `&mut x`); `check` reports it where what it changes
/// carries a derivative, and the reverse pass counts it as a write of what it reads.
pub const CHANGES_IN_PLACE: &str = " in place,";

/// What an `Opaque` indexing of a call's result is called: `check` then says to write the
/// array's type (a call is taken to return one float unless its binding says otherwise).
pub const CALL_RESULT_INDEXED: &str = "indexing a call's result";

/// The suffix of the method through which a differentiated method of a struct in `wrt` is
/// called from another (`forward__needs_differentiate_wrt_self`, see `models`): lowering
/// takes a method of that name as a differentiated call on any receiver (an element
/// `self.layers[l]` too), not only on `self`.
pub const THROUGH_SELF: &str = "__needs_differentiate_wrt_self";

/// The prefix of a placeholder: `__autodiff_var_N` stands for variable `N`.
const PLACEHOLDER: &str = "__autodiff_var_";

/// The identifier opaque tokens carry for variable `v` until `emit` names it (`lower`
/// writes it, `emit` resolves it, the interpreter reads it).
pub fn placeholder(v: VarId, span: Span) -> Ident {
    Ident::new(&format!("{PLACEHOLDER}{v}"), span)
}

/// The variable a placeholder stands for.
pub fn placeholder_var(ident: &Ident) -> Option<VarId> {
    placeholder_var_named(&ident.to_string())
}

/// The variable a placeholder's text stands for (`"__autodiff_var_3"` -> 3).
pub fn placeholder_var_named(name: &str) -> Option<VarId> {
    name.strip_prefix(PLACEHOLDER)?.parse().ok()
}

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
    /// A location: assigned more than once (see [`Stmt`]).
    pub mutable: bool,
    /// An array (slice, `Vec`, `[T; N]`, nested), outermost level first: read and written
    /// by element; its adjoint and tangent are arrays of the same shape. Empty for scalars.
    pub shape: Vec<Level>,
    /// A tensor: not `Copy`, so generated code borrows it, and arithmetic on it broadcasts.
    pub tensor: bool,
    /// Bound to a reference (a `&Tensor<T>` parameter): already borrowed.
    pub reference: bool,
}

/// One level of an array's shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// `[T; N]`: the adjoint is `[T; N]` too.
    Fixed,
    /// A slice or `Vec`: the adjoint is a `Vec`.
    Dynamic,
}

impl Var {
    pub fn is_array(&self) -> bool {
        !self.shape.is_empty()
    }
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

    /// The operand inside code kept as written: a variable as its placeholder (which `emit`
    /// resolves to its name), a constant as written, a rule constant as a literal.
    pub fn tokens(&self, span: Span) -> TokenStream {
        match self {
            Operand::Var(v) => quote::ToTokens::to_token_stream(&placeholder(*v, span)),
            Operand::Const { tokens, .. } => quote::quote!((#tokens)),
            Operand::Lit(c) => {
                let lit = proc_macro2::Literal::f64_unsuffixed(*c);
                quote::quote!(#lit)
            }
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

/// The right-hand side of a `let`.
#[derive(Clone, Debug)]
pub enum Rhs {
    Op(Op, Vec<Operand>),
    /// `array[i][j]`: an element of an array variable (a parameter slice, array or `Vec`, or
    /// a local array). The indices are passive operands.
    Index(VarId, Vec<Operand>),
    /// `[a, b, c]`: a local array from its elements.
    ArrayLit(Vec<Operand>),
    /// A declaration without a value (`let y;`), assigned in branches.
    Uninit,
    /// A zero of the type of a scalar variable (`ZeroLike::zero_like(&x)`), or an array of
    /// zeros of an array variable's shape.
    Zero(Operand),
    /// A copy of an array (`x.to_owned()`).
    CopyArray(VarId),
    /// An empty value stack (`Vec::new()`), for values the reverse sweep needs back.
    NewStack,
    /// A call of another `#[differentiate]` function (or one with a hand-written derivative).
    Call(Call),
    /// `f__forward_derivative(args.., tangents..)`: the callee's value and tangent.
    CallForward(Call, Vec<Option<Operand>>),
    /// `f__reverse_derivative(args.., seed)`: the callee's value and argument gradients. The
    /// variable is the call's result, whose type a constant seed takes.
    CallReverse(Call, Operand, VarId),
    /// `v.1`, `v.1.0`: a field of a tuple a derivative call returned.
    Field(VarId, Vec<usize>),
    /// Output `k` of a call that returns a tuple (`let (a, b) = f(x);`): differentiable, its
    /// tangent is field `k` of the call's tangent and its adjoint is entry `k` of the seed
    /// the call's reverse derivative gets.
    Output(VarId, usize),
    /// `(a, b)`: the seed of a tuple-valued call's reverse derivative, one entry per output.
    Tuple(Vec<Operand>),
    /// `add_into(&mut acc[..], &g[..])`: an array gradient added to an accumulator.
    AddInto(VarId, Operand),
    /// The last value pushed on a stack.
    Pop(VarId),
    /// Code the macro does not differentiate, emitted as written (with local names renamed):
    /// comparisons, integer arithmetic, calls on passive values, `println!`. If a value it
    /// reads is active and its result matters to the output, `check` reports an error.
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
    /// Running it again gives the same value and has no effect (a cast, a comparison, a
    /// constant), so the reverse sweep may recompute it instead of saving it.
    pub pure: bool,
    /// What it is, for error messages ("the method `foo`").
    pub what: String,
}

/// A call: the callee's path (or method name, for `self.f(..)`), as written.
#[derive(Clone, Debug)]
pub struct Call {
    /// `f`, `crate::physics::energy`, `sq::<T>`: the path; empty for a method call.
    pub path: TokenStream,
    /// `self.name(..)`: the method's receiver tokens and name.
    pub method: Option<(TokenStream, Ident)>,
    pub args: Vec<CallArg>,
}

#[derive(Clone, Debug)]
pub struct CallArg {
    pub value: Operand,
    /// Written `&x`: the argument is borrowed (and so is its tangent).
    pub by_ref: bool,
    /// `&x[a..b]`, `&rows[k]`: the argument is part of the array `value` (its tangent is the
    /// same part of the tangent, its gradient lands in that part of the adjoint).
    pub view: Option<ArgView>,
    /// Written `&mut x` (an output parameter): the call's value is `x`'s contents after it,
    /// and derivatives take `x`'s contents before it (`&x` for an array, `x` for a float).
    pub out: bool,
}

/// Part of an array passed to a call: the row at `index` (empty for the array itself), then
/// the range `start..end` of it (the whole row when `None`); passive operands. The part is
/// one level of floats.
#[derive(Clone, Debug)]
pub struct ArgView {
    pub index: Vec<Operand>,
    pub range: Option<(Operand, Operand)>,
}

impl ArgView {
    pub fn operands(&self) -> impl Iterator<Item = &Operand> {
        self.index
            .iter()
            .chain(self.range.iter().flat_map(|(s, e)| [s, e]))
    }

    pub fn operands_mut(&mut self) -> impl Iterator<Item = &mut Operand> {
        self.index
            .iter_mut()
            .chain(self.range.iter_mut().flat_map(|(s, e)| [s, e]))
    }

    /// `&base[i][s..e]`, each operand emitted by `operand`.
    pub fn borrow(
        &self,
        base: TokenStream,
        operand: impl Fn(&Operand) -> TokenStream,
    ) -> TokenStream {
        let index = self.index.iter().map(&operand);
        let range = self.range.as_ref().map(|(s, e)| {
            let (s, e) = (operand(s), operand(e));
            quote::quote!([#s..#e])
        });
        quote::quote!(&#base #([#index])* #range)
    }
}

impl CallArg {
    /// The variables the argument reads: the array, and the bounds of its part.
    pub fn reads(&self) -> impl Iterator<Item = VarId> + '_ {
        self.value.var().into_iter().chain(
            self.view
                .iter()
                .flat_map(|v| v.operands().filter_map(Operand::var)),
        )
    }
}

/// A statement. Variables defined by `Let` are single-assignment, except *locations*
/// (`Var::mutable`): a `let mut` assigned inside a branch or loop, or an array written
/// element by element. Locations change only through `Assign` and `Store`, and are read
/// through `Let` snapshots (`let v = loc;`), so every operand names one value.
#[derive(Clone, Debug)]
pub enum Stmt {
    /// `let dst = rhs;` (`dst` is `None` for code run for its effect, `println!(..);`).
    Let {
        dst: Option<VarId>,
        rhs: Rhs,
        span: Span,
    },
    /// `loc = value;`
    Assign {
        dst: VarId,
        value: Operand,
        span: Span,
    },
    /// `array[i][j] = value;` or, with `accumulate`, `array[i][j] += value;`
    Store {
        array: VarId,
        index: Vec<Operand>,
        value: Operand,
        accumulate: bool,
        span: Span,
    },
    /// `if cond { then } else { otherwise }` with a passive condition.
    If {
        cond: Operand,
        then: Vec<Stmt>,
        otherwise: Vec<Stmt>,
        span: Span,
    },
    /// `for index in start..end { body }` (`..=` when `inclusive`; backwards when
    /// `reversed`, as the adjoint sweep runs); passive bounds.
    For {
        index: VarId,
        start: Operand,
        end: Operand,
        inclusive: bool,
        reversed: bool,
        body: Vec<Stmt>,
        span: Span,
    },
    /// `stack.push(value);`
    Push {
        stack: VarId,
        value: Operand,
        span: Span,
    },
    /// `while { header; cond } { body }`: the header computes the passive condition.
    /// `trips` is the variable, defined after the loop, that holds how many times the body
    /// ran (the reverse sweep runs the body's adjoint that many times).
    While {
        header: Vec<Stmt>,
        cond: Operand,
        body: Vec<Stmt>,
        trips: VarId,
        span: Span,
    },
}

impl Stmt {
    pub fn span(&self) -> Span {
        match self {
            Stmt::Let { span, .. }
            | Stmt::Assign { span, .. }
            | Stmt::Store { span, .. }
            | Stmt::If { span, .. }
            | Stmt::For { span, .. }
            | Stmt::While { span, .. }
            | Stmt::Push { span, .. } => *span,
        }
    }

    /// The variable a `let` defines.
    pub fn dst(&self) -> Option<VarId> {
        match self {
            Stmt::Let { dst, .. } => *dst,
            _ => None,
        }
    }

    /// Every variable this statement reads directly (not in nested blocks).
    pub fn reads(&self) -> Vec<VarId> {
        let vars = |ops: &[Operand]| ops.iter().filter_map(Operand::var).collect::<Vec<_>>();
        match self {
            Stmt::Let { rhs, .. } => match rhs {
                Rhs::Op(_, args) | Rhs::ArrayLit(args) | Rhs::Tuple(args) => vars(args),
                Rhs::Index(a, idx) => {
                    let mut r = vars(idx);
                    r.push(*a);
                    r
                }
                Rhs::Uninit | Rhs::NewStack => Vec::new(),
                Rhs::Zero(o) => o.var().into_iter().collect(),
                Rhs::CopyArray(v) | Rhs::Pop(v) | Rhs::Field(v, _) | Rhs::Output(v, _) => vec![*v],
                Rhs::Call(c) => c.args.iter().flat_map(CallArg::reads).collect(),
                Rhs::CallForward(c, tangents) => c
                    .args
                    .iter()
                    .flat_map(CallArg::reads)
                    .chain(tangents.iter().flatten().filter_map(Operand::var))
                    .collect(),
                Rhs::CallReverse(c, seed, result) => {
                    let mut r: Vec<VarId> = c
                        .args
                        .iter()
                        .flat_map(CallArg::reads)
                        .chain(seed.var())
                        .collect();
                    if seed.var().is_none() {
                        r.push(*result);
                    }
                    r
                }
                Rhs::AddInto(acc, g) => std::iter::once(*acc).chain(g.var()).collect(),
                Rhs::Opaque(o) => o.reads.clone(),
            },
            Stmt::Push { stack, value, .. } => {
                let mut r = vec![*stack];
                r.extend(value.var());
                r
            }
            Stmt::Assign { value, .. } => vars(std::slice::from_ref(value)),
            Stmt::Store {
                index,
                value,
                array,
                accumulate,
                ..
            } => {
                let mut r = vars(index);
                r.extend(value.var());
                if *accumulate {
                    r.push(*array);
                }
                r
            }
            Stmt::If { cond, .. } | Stmt::While { cond, .. } => cond.var().into_iter().collect(),
            Stmt::For { start, end, .. } => {
                [start, end].into_iter().filter_map(Operand::var).collect()
            }
        }
    }

    /// The arrays and stacks a runtime call (`push_slice`, `pop_into`) changes in place.
    pub fn runtime_writes(&self) -> Vec<VarId> {
        match self {
            Stmt::Let {
                rhs: Rhs::Op(Op::Runtime(r), args),
                ..
            } => r.writes().iter().filter_map(|&k| args[k].var()).collect(),
            _ => Vec::new(),
        }
    }

    /// The nested blocks of a branch or loop.
    pub fn blocks(&self) -> Vec<&Vec<Stmt>> {
        match self {
            Stmt::If {
                then, otherwise, ..
            } => vec![then, otherwise],
            Stmt::For { body, .. } => vec![body],
            Stmt::While { header, body, .. } => vec![header, body],
            _ => Vec::new(),
        }
    }

    pub fn blocks_mut(&mut self) -> Vec<&mut Vec<Stmt>> {
        match self {
            Stmt::If {
                then, otherwise, ..
            } => vec![then, otherwise],
            Stmt::For { body, .. } => vec![body],
            Stmt::While { header, body, .. } => vec![header, body],
            _ => Vec::new(),
        }
    }
}

/// Calls `f` on every statement of `block`, nested ones included, outer first.
pub fn walk<'a>(block: &'a [Stmt], f: &mut impl FnMut(&'a Stmt)) {
    for stmt in block {
        f(stmt);
        for inner in stmt.blocks() {
            walk(inner, f);
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
        fresh(&mut self.vars, name, span, origin)
    }

    /// Appends `dst = op(args)` with a fresh temporary `dst`.
    pub fn push_op(&mut self, op: Op, args: Vec<Operand>, span: Span) -> VarId {
        let dst = self.new_var(format!("v{}", self.vars.len()), span, Origin::Temp);
        self.vars[dst].tensor = tensor_result(&self.vars, op, &args);
        self.body.push(Stmt::Let {
            dst: Some(dst),
            rhs: Rhs::Op(op, args),
            span,
        });
        dst
    }
}

/// Appends statements to a block, folding the identities that derivative code is full of
/// (`g * 1`, `x + 0`, constants), so no zero or one is ever materialised.
pub struct Builder<'f> {
    pub vars: &'f mut Vec<Var>,
    pub out: &'f mut Vec<Stmt>,
    pub span: Span,
}

/// `let runs = start < end;` (`<=` when `inclusive`): whether a loop over `start..end` runs
/// at all, for code that must do something once if it does (read a loop invariant, add what a
/// reversed loop carried).
pub fn loop_runs(
    vars: &mut Vec<Var>,
    start: &Operand,
    end: &Operand,
    inclusive: bool,
    span: Span,
) -> (VarId, Stmt) {
    let (s, e) = (start.tokens(span), end.tokens(span));
    let runs = fresh(vars, "runs", span, Origin::Temp);
    let stmt = Stmt::Let {
        dst: Some(runs),
        rhs: Rhs::Opaque(Opaque {
            tokens: match inclusive {
                true => quote::quote!(#s <= #e),
                false => quote::quote!(#s < #e),
            },
            reads: [start, end].into_iter().filter_map(Operand::var).collect(),
            passive_result: true,
            pure: true,
            what: "a loop bound".into(),
        }),
        span,
    };
    (runs, stmt)
}

/// `array[i]..` with `levels` indices is a whole tensor: an element of an array of tensors
/// (emitted as a borrow, `&ws[l]`; its adjoint is added with the tensor helpers).
pub fn tensor_element(vars: &[Var], array: VarId, levels: usize) -> bool {
    let a = &vars[array];
    a.tensor && a.is_array() && levels == a.shape.len()
}

/// A fresh variable in `vars`.
pub fn fresh(vars: &mut Vec<Var>, name: impl Into<String>, span: Span, origin: Origin) -> VarId {
    vars.push(Var {
        name: name.into(),
        span,
        origin,
        ty: None,
        mutable: false,
        shape: Vec::new(),
        tensor: false,
        reference: false,
    });
    vars.len() - 1
}

impl Builder<'_> {
    /// `let v = op(args);` unless it folds to an existing operand.
    pub fn op(&mut self, op: Op, args: Vec<Operand>) -> Operand {
        if let Some(folded) = fold(op, &args) {
            return folded;
        }
        self.let_(Rhs::Op(op, args))
    }

    /// `let v = rhs;` with a fresh temporary.
    pub fn let_(&mut self, rhs: Rhs) -> Operand {
        let dst = fresh(
            self.vars,
            format!("v{}", self.vars.len()),
            self.span,
            Origin::Temp,
        );
        self.vars[dst].tensor = match &rhs {
            Rhs::Op(op, args) => tensor_result(self.vars, *op, args),
            Rhs::Zero(o) => o.var().is_some_and(|v| self.vars[v].tensor),
            Rhs::Index(a, index) => tensor_element(self.vars, *a, index.len()),
            _ => false,
        };
        // An element of an array of tensors is read by reference (`&ws[l]`).
        self.vars[dst].reference =
            matches!(&rhs, Rhs::Index(a, index) if tensor_element(self.vars, *a, index.len()));
        self.out.push(Stmt::Let {
            dst: Some(dst),
            rhs,
            span: self.span,
        });
        Operand::Var(dst)
    }

    /// A new location initialised to `value` (`let mut v = value;`).
    pub fn location(&mut self, name: &str, value: Operand) -> VarId {
        let dst = fresh(self.vars, name, self.span, Origin::Derivative);
        self.vars[dst].mutable = true;
        self.out.push(Stmt::Let {
            dst: Some(dst),
            rhs: Rhs::Op(Op::Id, vec![value]),
            span: self.span,
        });
        dst
    }

    pub fn assign(&mut self, dst: VarId, value: Operand) {
        self.out.push(Stmt::Assign {
            dst,
            value,
            span: self.span,
        });
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
pub(crate) fn fold(op: Op, args: &[Operand]) -> Option<Operand> {
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

/// Whether the result of `op` on `args` is a tensor (the registry's `shape` facet).
pub fn tensor_result(vars: &[Var], op: Op, args: &[Operand]) -> bool {
    let tensor = |a: &Operand| a.var().is_some_and(|v| vars[v].tensor);
    match op.row().shape {
        op::Shape::Broadcast => args.iter().any(tensor),
        op::Shape::First => tensor(&args[0]),
        op::Shape::Scalar => false,
        op::Shape::Tensor => true,
    }
}
