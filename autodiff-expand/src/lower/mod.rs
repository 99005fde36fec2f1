//! Pass 2: `syn::ItemFn` -> IR. Expressions become three-address statements; every `let` and
//! every assignment gets a fresh variable. Code the macro does not differentiate (integer
//! arithmetic, comparisons, calls on passive values) becomes `Opaque` statements, checked by
//! `check` once activity is known. Syntax that can never be differentiated is reported here,
//! at its span, with a sentence saying what to write instead.
use crate::ctxt::Ctxt;
use crate::ir::{
    ArgView, Binary, Call, CallArg, Function, Level, Op, Opaque, Operand, Origin, Rhs, Stmt,
    TensorOp, Unary, VarId,
};
use proc_macro2::{Delimiter, Group, Ident, Span, TokenStream, TokenTree};
use quote::{quote, ToTokens};
use std::collections::{HashMap, HashSet};

mod bind;
mod control;
mod expr;
mod hoist;
mod in_place;
mod iteration;
mod iterators;
mod matching;
mod opaque;
mod outputs;
mod syntax;
mod views;

pub use outputs::{keep_passive_output_calls, pure_form, restore};

pub(crate) use expr::vec_repeat;

pub(crate) use crate::ir::CALL_RESULT_INDEXED;

use control::*;
use iteration::*;

use syntax::*;
use views::{Chunking, Element, View};
// The type classifiers and placeholders live below every pass (`types`, `ir`); re-exported
// so the lowering code keeps calling them by their short names.
pub use crate::ir::{placeholder, placeholder_var};
pub use crate::types::{holds_tensors, is_tensor_type, kind_of, shape_of, vec_element, Kind};
pub(crate) use matching::MATCH_BINDING;
use syn::spanned::Spanned;
use syn::{BinOp, Expr, FnArg, Pat, ReturnType, Type, UnOp};

pub struct Param {
    pub ident: Ident,
    /// The type as written.
    pub ty: Type,
    pub kind: Kind,
    pub var: VarId,
}

/// A `let` at the top level of the body: what `wrt` and `stop` may name besides parameters.
pub struct TopLet {
    pub ident: Ident,
    pub var: VarId,
    pub ty: Option<Type>,
    /// Bound more than once (`let mut` with assignments, or shadowed): no single value to name.
    pub rebound: bool,
}

pub struct Lowered {
    pub f: Function,
    pub params: Vec<Param>,
    pub top_lets: Vec<TopLet>,
    /// Items declared inside the body (`const N: usize = 3;`), emitted into every generated fn.
    pub items: Vec<syn::Item>,
    /// Number of outputs written as a tuple, or `None` for a single output.
    pub tuple_outputs: Option<usize>,
    /// The type parameters, so `emit` knows whether float types are concrete.
    pub generic: bool,
}

/// Float-typed method names that are passive: their result carries no derivative (a
/// comparison or a rounding is piecewise constant), so active receivers are fine.
const PASSIVE_METHODS: &[&str] = &[
    "len",
    "is_empty",
    "is_nan",
    "is_finite",
    "is_infinite",
    "is_normal",
    "is_sign_positive",
    "is_sign_negative",
    "partial_cmp",
    "total_cmp",
    "floor",
    "ceil",
    "round",
    "trunc",
    "to_string",
    "lt",
    "le",
    "gt",
    "ge",
    "eq",
    "ne",
];

/// Iterator adaptors and consumers: a `for` loop is what the macro differentiates.
const ITERATOR_METHODS: &[&str] = &[
    "sum", "product", "fold", "map", "reduce", "min_by", "max_by", "for_each", "filter",
];

pub fn function(cx: &Ctxt, item: &syn::ItemFn) -> Lowered {
    let mut lower = Lower {
        cx,
        f: Function::default(),
        scopes: vec![HashMap::new()],
        top_lets: Vec::new(),
        items: Vec::new(),
        depth: 0,
        nested: 0,
        locations: assigned_in_nested(&item.block),
        loops: Vec::new(),
        returns: None,
        body_level: false,
        output_types: Vec::new(),
        declared_mut: HashSet::new(),
        hoisted: Vec::new(),
        hoisted_arrays: HashSet::new(),
        enclosing: Vec::new(),
        hoist_limit: 0,
        call_results: HashSet::new(),
        closures: HashMap::new(),
        elements: HashSet::new(),
        collected: HashSet::new(),
        views: HashMap::new(),
    };
    check_signature(cx, &item.sig);
    // A method of `impl<T: Float> Model<T>` is generic in a type parameter the function does
    // not declare: its float output names it (`-> T`), so rule constants take its type.
    let impl_generic = matches!(&item.sig.output, ReturnType::Type(_, ty) if names_impl_float(ty));
    let generic = item.sig.generics.type_params().next().is_some() || impl_generic;
    let type_params: Vec<String> = item
        .sig
        .generics
        .type_params()
        .map(|t| t.ident.to_string())
        .collect();
    let params = lower.params(&item.sig, &type_params);
    // A `&mut` output parameter was reported, and its message says to return the value: no
    // second error for the missing return type (one mistake, one error).
    let mut_output = item.sig.inputs.iter().any(|i| {
        matches!(i, FnArg::Typed(pt) if matches!(&*pt.ty, Type::Reference(r) if r.mutability.is_some()))
    });
    let tuple_outputs = match &item.sig.output {
        ReturnType::Default if mut_output => None,
        ReturnType::Default => {
            cx.error_spanned_by(
                &item.sig.ident,
                "a function with no return value has nothing to differentiate; return the value to differentiate, e.g. `-> f64`",
            );
            None
        }
        ReturnType::Type(_, ty) => match &**ty {
            Type::Tuple(t) if !t.elems.is_empty() => {
                lower.output_types = t.elems.iter().cloned().collect();
                Some(t.elems.len())
            }
            other => {
                lower.output_types = vec![other.clone()];
                None
            }
        },
    };
    // Without a return type there is nothing to differentiate; the body is not checked, so
    // the one mistake is reported once.
    let outputs = match item.sig.output {
        ReturnType::Default => Vec::new(),
        ReturnType::Type(..) => lower.body(&item.block, tuple_outputs),
    };
    lower.f.outputs = outputs;
    if !lower.hoisted.is_empty() {
        // Every statement and the tail go through `top_level`, which places them.
        cx.error_spanned_by(
            &item.sig.ident,
            "internal error: an array created in a loop was not placed; please report this function",
        );
    }
    Lowered {
        f: lower.f,
        params,
        top_lets: lower.top_lets,
        items: lower.items,
        tuple_outputs,
        generic,
    }
}

/// `async`, `unsafe`, `extern` and variadic functions have no derivative we could write.
fn check_signature(cx: &Ctxt, sig: &syn::Signature) {
    if let Some(a) = &sig.asyncness {
        cx.error_spanned_by(a, "#[differentiate] cannot differentiate an `async fn`; differentiate a plain function and call it from the async code");
    }
    if let Some(u) = &sig.unsafety {
        cx.error_spanned_by(u, "#[differentiate] cannot differentiate an `unsafe fn`; wrap the unsafe part in a safe function with a custom derivative");
    }
    if let Some(abi) = &sig.abi {
        cx.error_spanned_by(abi, "#[differentiate] cannot differentiate an `extern` function; differentiate a plain Rust function and call it from the extern one");
    }
    if let Some(v) = &sig.variadic {
        cx.error_spanned_by(
            v,
            "#[differentiate] cannot differentiate a variadic function",
        );
    }
}

struct Lower<'a> {
    cx: &'a Ctxt,
    f: Function,
    /// Name -> current variable, innermost scope last.
    scopes: Vec<HashMap<String, VarId>>,
    top_lets: Vec<TopLet>,
    items: Vec<syn::Item>,
    /// 0 at the top level of the body.
    depth: usize,
    /// How many branches and loops enclose the code being lowered.
    nested: usize,
    /// Names assigned inside a branch or loop, and arrays written by element: their `let mut`
    /// bindings become locations.
    locations: HashSet<String>,
    /// The loops being lowered, innermost last, with the flags `break` and `continue` set.
    loops: Vec<LoopFlags>,
    /// Where `return` puts the outputs, in a body that returns before its end.
    returns: Option<Returns>,
    /// The statements being lowered are the function body's own (or the rest of it after an
    /// early `return`), whose tail is the function's value; not a branch's or loop's.
    body_level: bool,
    /// The declared type of each output (of each element of a returned tuple).
    output_types: Vec<Type>,
    /// The variables bound by a `let mut`.
    declared_mut: HashSet<VarId>,
    /// Arrays created inside a branch or loop, and written there, whose creation moves
    /// before the enclosing top-level statement (see [`Lower::hoist_array`]).
    hoisted: Vec<Stmt>,
    hoisted_arrays: HashSet<VarId>,
    /// The statements of the blocks enclosing the one being lowered, innermost last.
    enclosing: Vec<Vec<Stmt>>,
    /// The variables that exist before the top-level statement being lowered: what a hoisted
    /// creation may read.
    hoist_limit: VarId,
    /// Values calls returned: one float each, unless the binding's type says an array.
    call_results: HashSet<VarId>,
    /// Closures bound in the body (`let act = |z: f64| z.tanh() * w;`), inlined at each
    /// call with the names their definition saw.
    closures: HashMap<String, Closure>,
    /// Elements bound by a loop or an iterator's closure (`for v in x.iter()`): references
    /// in Rust, values here, so a `*v` kept as written loses its `*`.
    elements: HashSet<VarId>,
    /// Arrays made by `collect` and written element by element: locations whatever their
    /// binding says.
    collected: HashSet<VarId>,
    /// Names bound to part of an array (`let t = &x[a..b];`, a row, a window): each read
    /// is an element of the array.
    views: HashMap<VarId, View>,
}

#[derive(Clone)]
struct Closure {
    closure: syn::ExprClosure,
    scopes: Vec<HashMap<String, VarId>>,
    /// The closures its definition saw (not itself: a closure cannot call itself, and
    /// `let act = |z| act(z) + 1.0;` calls the `act` before it).
    closures: HashMap<String, Closure>,
}

#[derive(Clone)]
struct Returns {
    results: Vec<VarId>,
    returned: VarId,
}

/// `break` clears `running`; `break` and `continue` set `skip`, which guards the rest of the
/// iteration. A loop without `break` has no `running`, one without either has no `skip`.
#[derive(Clone, Copy)]
struct LoopFlags {
    running: Option<VarId>,
    skip: Option<VarId>,
}

impl Lower<'_> {
    fn params(&mut self, sig: &syn::Signature, type_params: &[String]) -> Vec<Param> {
        let mut params = Vec::new();
        let typed = sig.inputs.iter().filter(|i| matches!(i, FnArg::Typed(_)));
        let receiver = sig
            .inputs
            .iter()
            .filter(|i| matches!(i, FnArg::Receiver(_)));
        for (index, input) in typed.enumerate().chain(receiver.map(|r| (usize::MAX, r))) {
            match input {
                // `&self` and its fields are passive: constants of the derivative.
                FnArg::Receiver(r) => {
                    if r.mutability.is_some() && r.reference.is_some() {
                        self.cx.error_spanned_by(r, "`&mut self` methods cannot be differentiated; take `&self` and return the new value");
                    }
                }
                FnArg::Typed(pt) => {
                    let ident = match &*pt.pat {
                        Pat::Ident(pi) if pi.subpat.is_none() && pi.by_ref.is_none() => {
                            pi.ident.clone()
                        }
                        other => {
                            self.cx.error_spanned_by(
                                other,
                                "#[differentiate] needs a plain name here; destructure the parameter inside the body instead",
                            );
                            continue;
                        }
                    };
                    if let Type::Reference(r) = &*pt.ty {
                        if let Some(m) = &r.mutability {
                            self.cx.error_spanned_by(
                                m,
                                "a `&mut` output parameter is supported in a function that has no return value and no other `&mut` parameter (`fn forces(q: &[f64], f: &mut [f64])`), of a float or a one-level array of floats; return the value instead, or move the rest into another function",
                            );
                        }
                    }
                    let var = self
                        .f
                        .new_var(ident.to_string(), ident.span(), Origin::Param(index));
                    self.f.vars[var].shape = shape_of(&pt.ty);
                    self.f.vars[var].tensor = holds_tensors(&pt.ty);
                    self.f.vars[var].reference = matches!(&*pt.ty, Type::Reference(_));
                    self.f.params.push(var);
                    self.bind(&ident, var);
                    if matches!(&*pt.pat, Pat::Ident(pi) if pi.mutability.is_some())
                        && self.locations.contains(&ident.to_string())
                    {
                        // `mut x` assigned in a loop: a location holding the argument.
                        self.define(&ident, Operand::Var(var), None, true, false);
                    }
                    params.push(Param {
                        kind: kind_of(&pt.ty, type_params),
                        ident,
                        ty: (*pt.ty).clone(),
                        var,
                    });
                }
            }
        }
        params
    }

    fn bind(&mut self, ident: &Ident, var: VarId) {
        let scope = self
            .scopes
            .last_mut()
            .expect("the function scope is never popped");
        scope.insert(ident.to_string(), var);
    }

    fn lookup(&self, name: &str) -> Option<VarId> {
        self.scopes.iter().rev().find_map(|s| s.get(name).copied())
    }

    /// Lowers the function body and returns its outputs.
    fn body(&mut self, block: &syn::Block, tuple_outputs: Option<usize>) -> Vec<Operand> {
        let Some((last, init)) = block.stmts.split_last() else {
            self.cx.error_spanned_by(
                block,
                "the body is empty; return the value to differentiate",
            );
            return Vec::new();
        };
        if init.iter().any(contains_return) {
            return self.body_with_early_returns(block, tuple_outputs);
        }
        for stmt in init {
            self.stmt(stmt);
        }
        let tail = match last {
            syn::Stmt::Expr(e, None) => e,
            syn::Stmt::Expr(Expr::Return(r), Some(_)) => match &r.expr {
                Some(e) => e,
                None => {
                    self.cx
                        .error_spanned_by(r, "return the value to differentiate, e.g. `return y;`");
                    return Vec::new();
                }
            },
            other => {
                self.stmt(other);
                self.cx.error_spanned_by(
                    other,
                    "the function must end with the value it returns (a tail expression or `return ..;`)",
                );
                return Vec::new();
            }
        };
        let tail = match tail {
            Expr::Return(r) => match &r.expr {
                Some(e) => &**e,
                None => tail,
            },
            other => other,
        };
        let mut outputs = Vec::new();
        self.top_level(|l| outputs = l.outputs(tail, tuple_outputs));
        outputs
    }

    fn outputs(&mut self, tail: &Expr, tuple_outputs: Option<usize>) -> Vec<Operand> {
        match (strip_parens(tail), tuple_outputs) {
            (Expr::Tuple(t), Some(n)) if t.elems.len() == n => {
                t.elems.iter().map(|e| self.expr(e)).collect()
            }
            (_, Some(n)) => {
                self.cx.error_spanned_by(
                    tail,
                    format!("the function returns a tuple of {n}: end it with a tuple expression such as `(a, b)` so each output can be differentiated"),
                );
                Vec::new()
            }
            (e, None) => vec![self.expr(e)],
        }
    }

    fn stmt(&mut self, stmt: &syn::Stmt) {
        self.top_level(|l| match stmt {
            syn::Stmt::Local(local) => l.local(local),
            syn::Stmt::Item(item) => l.items.push(item.clone()),
            syn::Stmt::Expr(e, _) => l.expr_stmt(e),
            syn::Stmt::Macro(m) => {
                let what = format!("the macro `{}!`", path_name(&m.mac.path));
                l.effect(m.to_token_stream(), what);
            }
        })
    }

    /// Lowers one statement; at the top level of the body, the array creations hoisted out
    /// of its branches and loops go right before it.
    fn top_level(&mut self, f: impl FnOnce(&mut Self)) {
        if self.nested > 0 {
            return f(self);
        }
        let at = self.f.body.len();
        self.hoist_limit = self.f.vars.len();
        f(self);
        let hoisted = std::mem::take(&mut self.hoisted);
        self.f.body.splice(at..at, hoisted);
    }

    /// Lowers a nested block's statements into their own list.
    fn nested_block(&mut self, f: impl FnOnce(&mut Self)) -> Vec<Stmt> {
        let outer = std::mem::take(&mut self.f.body);
        self.enclosing.push(outer);
        self.scopes.push(HashMap::new());
        self.depth += 1;
        self.nested += 1;
        f(self);
        self.nested -= 1;
        self.depth -= 1;
        self.scopes.pop();
        let outer = self.enclosing.pop().expect("pushed above");
        std::mem::replace(&mut self.f.body, outer)
    }

    fn stmts(&mut self, stmts: &[syn::Stmt]) {
        // Statements after a `return`, `break` or `continue` of the block itself never run
        // (rustc warns of them): they are not lowered.
        let reachable = stmts
            .iter()
            .position(|s| {
                matches!(
                    s,
                    syn::Stmt::Expr(Expr::Return(_) | Expr::Break(_) | Expr::Continue(_), _)
                )
            })
            .map_or(stmts.len(), |jump| jump + 1);
        let stmts = &stmts[..reachable];
        let body_level = std::mem::replace(&mut self.body_level, false);
        for (k, s) in stmts.iter().enumerate() {
            let is_tail = k + 1 == stmts.len();
            match s {
                // The tail of a body with early returns is one more return.
                syn::Stmt::Expr(e, None)
                    if self.returns.is_some() && body_level && is_tail && !is_control_flow(e) =>
                {
                    self.top_level(|l| l.early_return(Some(e), e))
                }
                syn::Stmt::Expr(e, None) => self.top_level(|l| l.expr_stmt(e)),
                other => self.stmt(other),
            }
            // After a statement that may `break`, `continue` or `return`, the rest of the
            // iteration (or of the body) runs only if it did not.
            let may_jump = jumps(std::slice::from_ref(s)) != (false, false) || contains_return(s);
            let skip = match self.loops.last() {
                Some(flags) => flags.skip,
                None if contains_return(s) => self.returns.as_ref().map(|r| r.returned),
                None => None,
            };
            if let (Some(skip), true) = (skip, !is_tail && may_jump) {
                self.top_level(|l| {
                    let span = s.span();
                    let flag = l.read(skip, span);
                    let cond = l.passive_code(
                        &[&flag],
                        |t| {
                            let f = &t[0];
                            quote!(!#f)
                        },
                        span,
                    );
                    let then = l.nested_block(|l| {
                        l.body_level = body_level;
                        l.stmts(&stmts[k + 1..]);
                    });
                    l.f.body.push(Stmt::If {
                        cond,
                        then,
                        otherwise: Vec::new(),
                        span,
                    });
                });
                return;
            }
        }
    }

    /// The statements of a block and the value of its tail expression.
    fn block_value(&mut self, block: &syn::Block) -> Operand {
        let mut result = None;
        for (i, stmt) in block.stmts.iter().enumerate() {
            match stmt {
                syn::Stmt::Expr(e, None) if i + 1 == block.stmts.len() => {
                    self.top_level(|l| result = Some(l.expr(e)))
                }
                other => self.stmt(other),
            }
        }
        result.unwrap_or_else(|| {
            self.cx.error_spanned_by(
                block,
                "this block has no value; end it with the expression it evaluates to",
            );
            Operand::Lit(0.0)
        })
    }

    /// Code kept as written for its effect (`println!`, `assert!`).
    fn effect(&mut self, tokens: TokenStream, what: String) {
        let (tokens, reads) = self.rename(tokens);
        self.f.body.push(Stmt::Let {
            dst: None,
            rhs: Rhs::Opaque(Opaque {
                tokens,
                reads,
                passive_result: true,
                pure: false,
                what,
            }),
            span: Span::call_site(),
        });
    }

    fn unsupported(&mut self, tokens: impl ToTokens, msg: &str) -> Operand {
        self.cx.error_spanned_by(tokens, msg);
        Operand::Lit(0.0)
    }

    fn block(&mut self, block: &syn::Block) -> Operand {
        self.scopes.push(HashMap::new());
        self.depth += 1;
        let mut result = None;
        for (i, stmt) in block.stmts.iter().enumerate() {
            match stmt {
                syn::Stmt::Expr(e, None) if i + 1 == block.stmts.len() => {
                    self.top_level(|l| result = Some(l.expr(e)))
                }
                other => self.stmt(other),
            }
        }
        self.depth -= 1;
        self.scopes.pop();
        result.unwrap_or_else(|| {
            self.cx.error_spanned_by(
                block,
                "this block has no value; end it with the expression it evaluates to",
            );
            Operand::Lit(0.0)
        })
    }
}

fn compound_op(op: &BinOp) -> Option<Op> {
    match op {
        BinOp::AddAssign(_) => Some(Op::Add),
        BinOp::SubAssign(_) => Some(Op::Sub),
        BinOp::MulAssign(_) => Some(Op::Mul),
        BinOp::DivAssign(_) => Some(Op::Div),
        _ => None,
    }
}

/// A branching value whose every branch ends in a tuple, with each tuple replaced by the
/// assignment of its elements to `names`: a statement.
fn tuple_tails(e: &Expr, names: &[Ident]) -> Option<Expr> {
    let block = |b: &syn::Block| -> Option<syn::Block> {
        let mut b = b.clone();
        match b.stmts.pop() {
            Some(syn::Stmt::Expr(tail, None)) => {
                match strip_parens(&tail) {
                    Expr::Tuple(t) if t.elems.len() == names.len() => {
                        for (name, e) in names.iter().zip(&t.elems) {
                            b.stmts.push(syn::parse_quote!(#name = #e;));
                        }
                    }
                    _ => {
                        let tail = tuple_tails(&tail, names)?;
                        b.stmts.push(syn::Stmt::Expr(tail, None));
                    }
                }
                Some(b)
            }
            _ => None,
        }
    };
    match e {
        Expr::Paren(p) => tuple_tails(&p.expr, names),
        Expr::Tuple(t) if t.elems.len() == names.len() => {
            let elems = t.elems.iter();
            Some(syn::parse_quote!({ #(#names = #elems;)* }))
        }
        Expr::Block(b) if b.label.is_none() => {
            let mut b = b.clone();
            b.block = block(&b.block)?;
            Some(Expr::Block(b))
        }
        Expr::If(i) => {
            let mut i = i.clone();
            i.then_branch = block(&i.then_branch)?;
            let (else_token, otherwise) = i.else_branch.take()?;
            i.else_branch = Some((else_token, Box::new(tuple_tails(&otherwise, names)?)));
            Some(Expr::If(i))
        }
        Expr::Match(m) => {
            let mut m = m.clone();
            for arm in &mut m.arms {
                *arm.body = tuple_tails(&arm.body, names)?;
                arm.comma.get_or_insert_with(Default::default);
            }
            Some(Expr::Match(m))
        }
        _ => None,
    }
}

fn strip_parens(e: &Expr) -> &Expr {
    match e {
        Expr::Paren(p) => strip_parens(&p.expr),
        Expr::Group(g) => strip_parens(&g.expr),
        other => other,
    }
}

fn path_name(path: &syn::Path) -> String {
    path.segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect::<Vec<_>>()
        .join("::")
}

/// `T`, `[T; 3]`, `(T, T)`: an output whose float type is a type parameter the function does
/// not declare (one of an enclosing `impl<T: Float>`).
fn names_impl_float(ty: &Type) -> bool {
    match ty {
        Type::Path(p) if p.qself.is_none() => p.path.get_ident().is_some_and(|i| {
            i != "f32"
                && i != "f64"
                && i != "Self"
                && i.to_string().starts_with(|c: char| c.is_ascii_uppercase())
        }),
        Type::Array(a) => names_impl_float(&a.elem),
        Type::Tuple(t) => t.elems.first().is_some_and(names_impl_float),
        Type::Paren(p) => names_impl_float(&p.elem),
        _ => false,
    }
}
