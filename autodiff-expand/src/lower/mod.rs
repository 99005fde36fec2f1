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

mod control;
mod expr;
mod in_place;
mod matching;
mod outputs;
mod views;

pub use outputs::{keep_passive_output_calls, pure_form, restore};

pub(crate) use expr::vec_repeat;

pub(crate) use crate::ir::CALL_RESULT_INDEXED;

use control::*;
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

    /// `let mut a = vec![value; n];` (or `[value; n]`) inside a branch or loop, with `a`
    /// written there: the macro differentiates arrays created once, so the creation moves
    /// before the enclosing top-level statement and, where it was, a loop fills `a` with
    /// `value` again. Each iteration still starts from a fresh array; the allocation happens
    /// once. Only where `value` and `n` read nothing computed inside that statement, and
    /// for one-level arrays; `false` (nothing lowered) otherwise.
    fn hoist_array(&mut self, ident: &Ident, expr: &Expr, ty: Option<&Type>) -> bool {
        if let Some(hoisted) = self.hoist_copy(ident, expr, ty) {
            return hoisted;
        }
        if let Some(hoisted) = self.hoist_literal(ident, expr, ty) {
            return hoisted;
        }
        let (value, len) = match strip_parens(expr) {
            Expr::Macro(m) if m.mac.path.is_ident("vec") => match vec_repeat(&m.mac) {
                Some(parts) => parts,
                None => return false,
            },
            Expr::Repeat(r) => ((*r.expr).clone(), (*r.len).clone()),
            _ => return false,
        };
        // The creation runs before the statement: it may read only values that exist then
        // and stay the same through it.
        let (_, reads) = self.rename(expr.to_token_stream());
        let nested_value = matches!(strip_parens(&value), Expr::Repeat(_) | Expr::Macro(_));
        let invariant = reads
            .iter()
            .all(|&r| r < self.hoist_limit && !self.f.vars[r].mutable);
        if nested_value || !invariant {
            return false;
        }
        let span = expr.span();
        let array = self.array_constant(expr, expr::repeat_shape(expr));
        let Some(v) = self.hoist_creation(ident, array, ty) else {
            return false;
        };
        // Where the array was created: `for k in 0..n { a[k] = value; }`, `n` the length it
        // was created with (so the reverse pass sees the fill covers the whole array).
        let fill = self.expr(&value);
        let len = self.expr(&len);
        self.push_fill(v, len, span, |_, _| (Vec::new(), fill));
        true
    }

    /// `for k in 0..end { prefix; array[k] = value; }`, `(prefix, value)` from `element(k)`.
    fn push_fill(
        &mut self,
        array: VarId,
        end: Operand,
        span: Span,
        element: impl FnOnce(&mut Self, VarId) -> (Vec<Stmt>, Operand),
    ) {
        let k = self.f.new_var("fill", span, Origin::Temp);
        let (mut body, value) = element(self, k);
        body.push(Stmt::Store {
            array,
            index: vec![Operand::Var(k)],
            value,
            accumulate: false,
            span,
        });
        self.f.body.push(Stmt::For {
            index: k,
            start: int_const(0),
            end,
            inclusive: false,
            reversed: false,
            body,
            span,
        });
    }

    /// `let mut a = x.to_vec();` (or `.to_owned()`, `.clone()`) of a one-level array `x`
    /// that exists before the enclosing top-level statement: the copy moves before it and,
    /// where it was, `for k in 0..x.len() { a[k] = x[k]; }` copies `x`'s current elements
    /// again. `None` when `expr` is not such a copy.
    fn hoist_copy(&mut self, ident: &Ident, expr: &Expr, ty: Option<&Type>) -> Option<bool> {
        let Expr::MethodCall(m) = strip_parens(expr) else {
            return None;
        };
        let copies = ["to_vec", "to_owned", "clone"].contains(&m.method.to_string().as_str());
        if !copies || !m.args.is_empty() {
            return None;
        }
        let source = self.array_var(&m.receiver)?;
        // The source must exist before the statement: made before it, or itself a creation
        // hoisted there (`let mut a = [0.0; 3]; let mut b = a.to_vec();` after an early
        // `return`), whose length is the same wherever it is made.
        let exists = source < self.hoist_limit || self.hoisted_arrays.contains(&source);
        if !exists || self.f.vars[source].shape.len() != 1 {
            return Some(false);
        }
        let span = expr.span();
        let array = self.expr(expr);
        let v = self.hoist_creation(ident, array, ty)?;
        let len = self.passive_code(
            &[&Operand::Var(source)],
            |t| {
                let x = &t[0];
                quote!(#x.len())
            },
            span,
        );
        self.push_fill(v, len, span, |l, k| {
            let element = l.f.new_var("", span, Origin::Temp);
            let read = Stmt::Let {
                dst: Some(element),
                rhs: Rhs::Index(source, vec![Operand::Var(k)]),
                span,
            };
            (vec![read], Operand::Var(element))
        });
        Some(true)
    }

    /// `let mut a = [e0, e1, e2];` of floats: an array of as many zeros (of the function's
    /// float type) is created before the enclosing top-level statement and, where the
    /// literal was, `a[0] = e0; a[1] = e1; a[2] = e2;` with the elements computed there (so
    /// they may read what the block computed, and nothing runs earlier than it did: an
    /// element such as `xs[2]` after an early `return` on `xs.len() < 3` does not panic).
    /// `None` when `expr` is not such a literal.
    fn hoist_literal(&mut self, ident: &Ident, expr: &Expr, ty: Option<&Type>) -> Option<bool> {
        let Expr::Array(literal) = strip_parens(expr) else {
            return None;
        };
        let scalars = literal.elems.iter().all(|e| {
            !matches!(
                strip_parens(e),
                Expr::Array(_) | Expr::Repeat(_) | Expr::Macro(_)
            )
        });
        if !scalars || literal.elems.is_empty() || ty.is_some_and(|t| shape_of(t).len() > 1) {
            return Some(false);
        }
        let span = expr.span();
        let zero = self.f.new_var("", span, Origin::Temp);
        self.hoisted.push(Stmt::Let {
            dst: Some(zero),
            rhs: Rhs::Zero(Operand::Lit(0.0)),
            span,
        });
        let array = self.f.new_var("", span, Origin::Temp);
        self.f.vars[array].shape = vec![Level::Fixed];
        self.f.body.push(Stmt::Let {
            dst: Some(array),
            rhs: Rhs::ArrayLit(vec![Operand::Var(zero); literal.elems.len()]),
            span,
        });
        let v = self.hoist_creation(ident, Operand::Var(array), ty)?;
        for (k, element) in literal.elems.iter().enumerate() {
            let value = self.expr(element);
            if value.var().is_some_and(|e| self.f.vars[e].is_array()) {
                self.cx.error_spanned_by(element, expr::NESTED_LITERAL);
                return Some(true);
            }
            self.f.body.push(Stmt::Store {
                array: v,
                index: vec![int_const(k)],
                value,
                accumulate: false,
                span: element.span(),
            });
        }
        Some(true)
    }

    /// Binds `ident` to the array just created (`array`, the last statement lowered) and moves
    /// that creation to the hoisted statements; the array's variable.
    fn hoist_creation(
        &mut self,
        ident: &Ident,
        array: Operand,
        ty: Option<&Type>,
    ) -> Option<VarId> {
        let v = array.var()?;
        self.hoisted_arrays.insert(v);
        self.define(ident, array, ty.cloned(), true, true);
        if let Some(at) = self.f.body.iter().rposition(|s| s.dst() == Some(v)) {
            let creation = self.f.body.remove(at);
            self.hoisted.push(creation);
        }
        Some(v)
    }

    fn local(&mut self, local: &syn::Local) {
        let Some(init) = &local.init else {
            if self.deferred(&local.pat, None) {
                return;
            }
            self.cx.error_spanned_by(
                local,
                "give the binding its value where it is declared: `let x = ..;`",
            );
            return;
        };
        if let Some((else_token, _)) = &init.diverge {
            self.cx.error_spanned_by(
                else_token,
                "`let .. else` is not supported in #[differentiate] functions; use a plain `let`",
            );
            return;
        }
        self.bind_pattern(&local.pat, &init.expr, None);
    }

    /// `let x0: f64;` assigned later (`if .. { x0 = .. } else { x0 = .. }`): a location
    /// with no value yet; rustc checks it is assigned before it is read.
    fn deferred(&mut self, pat: &Pat, ty: Option<&Type>) -> bool {
        match pat {
            Pat::Type(pt) => self.deferred(&pt.pat, Some(&pt.ty)),
            Pat::Ident(pi) if pi.subpat.is_none() && pi.by_ref.is_none() => {
                let span = pi.ident.span();
                let v = self.f.new_var(pi.ident.to_string(), span, Origin::Local);
                let info = &mut self.f.vars[v];
                info.mutable = true;
                info.ty = ty.map(ToTokens::to_token_stream);
                if let Some(ty) = ty {
                    info.shape = shape_of(ty);
                    info.tensor = holds_tensors(ty);
                }
                self.f.body.push(Stmt::Let {
                    dst: Some(v),
                    rhs: Rhs::Uninit,
                    span,
                });
                self.bind(&pi.ident, v);
                true
            }
            _ => false,
        }
    }

    /// `let pat = expr;`: names, `_`, type annotations and tuples of these.
    fn bind_pattern(&mut self, pat: &Pat, expr: &Expr, ty: Option<&Type>) {
        if let (Pat::Ident(pi), Expr::Closure(c)) = (pat, strip_parens(expr)) {
            if pi.subpat.is_none() && pi.by_ref.is_none() {
                return self.define_closure(&pi.ident, c);
            }
        }
        match pat {
            Pat::Type(pt) => self.bind_pattern(&pt.pat, expr, Some(&pt.ty)),
            Pat::Ident(pi) if pi.subpat.is_none() && pi.by_ref.is_none() => {
                let written_here = self.nested > 0
                    && pi.mutability.is_some()
                    && self.locations.contains(&pi.ident.to_string());
                if written_here && self.hoist_array(&pi.ident, expr, ty) {
                    return;
                }
                if pi.mutability.is_none() && self.bind_part(&pi.ident, expr) {
                    return;
                }
                let value = self.expr(expr);
                self.define(&pi.ident, value, ty.cloned(), pi.mutability.is_some(), true);
            }
            Pat::Wild(_) => {
                self.expr(expr);
            }
            Pat::Tuple(pt) => match strip_parens(expr) {
                Expr::Tuple(et) if et.elems.len() == pt.elems.len() => {
                    let tys: Vec<Option<&Type>> = match ty {
                        Some(Type::Tuple(tt)) if tt.elems.len() == pt.elems.len() => tt.elems.iter().map(Some).collect(),
                        _ => vec![None; pt.elems.len()],
                    };
                    // Evaluate every element before binding any, as Rust does.
                    let values: Vec<Operand> = et.elems.iter().map(|e| self.expr(e)).collect();
                    for ((p, v), t) in pt.elems.iter().zip(values).zip(tys) {
                        self.bind_value(p, v, t);
                    }
                }
                Expr::If(_) | Expr::Match(_) => self.bind_branch_tuple(pt, expr, ty),
                _ if self.bind_split(pt, expr) => {}
                _ => self.bind_call_outputs(pt, expr, ty),
            },
            Pat::Slice(ps) => self.bind_elements(ps, expr),
            other => self.cx.error_spanned_by(
                other,
                "this pattern is not supported in #[differentiate] functions; bind plain names or tuples of names",
            ),
        }
    }

    /// `let [a, b] = s;`: each name is bound to one element of the array (`s[0]`, `s[1]`).
    fn bind_elements(&mut self, ps: &syn::PatSlice, expr: &Expr) {
        if let Some(rest) = ps.elems.iter().find(|p| matches!(p, Pat::Rest(_))) {
            self.cx.error_spanned_by(
                rest,
                "`..` in an array pattern is not supported in #[differentiate] functions; name every element (`let [a, b, _] = s;`), or read them as `s[i]`",
            );
            return;
        }
        if let Expr::Array(a) = strip_parens(expr) {
            if a.elems.len() == ps.elems.len() {
                let values: Vec<Operand> = a.elems.iter().map(|e| self.expr(e)).collect();
                for (p, v) in ps.elems.iter().zip(values) {
                    self.bind_value(p, v, None);
                }
                return;
            }
        }
        let value = self.expr(expr);
        let Some(array) = value.var().filter(|&v| self.f.vars[v].shape.len() == 1) else {
            self.cx.error_spanned_by(
                expr,
                "an array pattern destructures an array: a local or parameter of type `[T; N]`, an array literal, or a call's result bound with its type (`let s: [f64; 2] = f(..);`), of floats",
            );
            return;
        };
        for (k, p) in ps.elems.iter().enumerate() {
            let v = self.f.new_var("", p.span(), Origin::Temp);
            self.f.body.push(Stmt::Let {
                dst: Some(v),
                rhs: Rhs::Index(array, vec![int_const(k)]),
                span: p.span(),
            });
            self.bind_value(p, Operand::Var(v), None);
        }
    }

    /// `let (a, b) = if c { (x, y) } else { (y, x) };` (or a `match`): one location per
    /// name, declared first and assigned at the end of each branch, as deferred
    /// initialisation (`let t0; if c { t0 = x; .. }`) is.
    fn bind_branch_tuple(&mut self, pt: &syn::PatTuple, expr: &Expr, ty: Option<&Type>) {
        let n = pt.elems.len();
        let base = self.f.vars.len();
        let names: Vec<Ident> = (0..n)
            .map(|k| Ident::new(&format!("__tuple{base}_{k}"), pt.span()))
            .collect();
        let Some(rewritten) = tuple_tails(expr, &names) else {
            self.cx.error_spanned_by(
                expr,
                format!("to destructure this value, end each of its branches in a tuple of {n} values written in place, `(a, b)`"),
            );
            return;
        };
        let tys: Vec<Option<&Type>> = match ty {
            Some(Type::Tuple(tt)) if tt.elems.len() == n => tt.elems.iter().map(Some).collect(),
            _ => vec![None; n],
        };
        for (name, t) in names.iter().zip(&tys) {
            let pat: Pat = syn::parse_quote!(#name);
            self.deferred(&pat, *t);
        }
        self.expr_stmt(&rewritten);
        for ((p, name), t) in pt.elems.iter().zip(&names).zip(tys) {
            let var = self.lookup(&name.to_string()).expect("just declared");
            let value = self.read(var, p.span());
            self.bind_value(p, value, t);
        }
    }

    /// `let (a, b) = f(x);`: each name is bound to one output of the call (`Rhs::Output`).
    fn bind_call_outputs(&mut self, pt: &syn::PatTuple, expr: &Expr, ty: Option<&Type>) {
        let is_call = matches!(strip_parens(expr), Expr::Call(_) | Expr::MethodCall(_));
        // `let (s, c) = x.sin_cos();`: `x.sin()` and `x.cos()`.
        if let Expr::MethodCall(m) = strip_parens(expr) {
            if m.method == "sin_cos" && m.args.is_empty() && pt.elems.len() == 2 {
                let x = self.expr(&m.receiver);
                let span = m.method.span();
                let sin = self.f.push_op(Op::Unary(Unary::Sin), vec![x.clone()], span);
                let cos = self.f.push_op(Op::Unary(Unary::Cos), vec![x], span);
                self.bind_value(&pt.elems[0], Operand::Var(sin), None);
                self.bind_value(&pt.elems[1], Operand::Var(cos), None);
                return;
            }
        }
        let call = is_call.then(|| self.expr(expr)).and_then(|value| {
            value.var().filter(|&c| {
                matches!(
                    self.f.body.last(),
                    Some(Stmt::Let { dst: Some(d), rhs: Rhs::Call(_), .. }) if *d == c
                )
            })
        });
        let Some(call) = call else {
            // A tuple variable (`let (d, h) = dims;`): each field as code kept as written,
            // fine for passive values (sizes); a differentiated one is reported by `check`.
            if let Expr::Path(_) = strip_parens(expr) {
                for (k, p) in pt.elems.iter().enumerate() {
                    let k = syn::Index::from(k);
                    let Ok(field) = syn::parse2::<Expr>(quote!((#expr).#k)) else {
                        return;
                    };
                    let value = self.opaque(&field, "a tuple's field", false);
                    self.bind_value(p, value, None);
                }
                return;
            }
            self.cx.error_spanned_by(
                expr,
                "destructure a tuple written in place, `let (a, b) = (x, y);`, the tuple a differentiated function returns, `let (a, b) = f(x);`, or a tuple variable",
            );
            return;
        };
        let tys: Vec<Option<&Type>> = match ty {
            Some(Type::Tuple(tt)) if tt.elems.len() == pt.elems.len() => {
                tt.elems.iter().map(Some).collect()
            }
            _ => vec![None; pt.elems.len()],
        };
        if let Some(t) = tys
            .iter()
            .flatten()
            .find(|t| !shape_of(t).is_empty() || is_tensor_type(t))
        {
            self.cx.error_spanned_by(
                t,
                "a call's tuple result is destructured into floats only; return the arrays from separate functions, or one array",
            );
            return;
        }
        for (k, (p, t)) in pt.elems.iter().zip(tys).enumerate() {
            let output = self.f.new_var("", p.span(), Origin::Temp);
            self.f.body.push(Stmt::Let {
                dst: Some(output),
                rhs: Rhs::Output(call, k),
                span: p.span(),
            });
            self.bind_value(p, Operand::Var(output), t);
        }
    }

    fn bind_value(&mut self, pat: &Pat, value: Operand, ty: Option<&Type>) {
        match pat {
            Pat::Type(pt) => self.bind_value(&pt.pat, value, Some(&pt.ty)),
            Pat::Ident(pi) if pi.subpat.is_none() && pi.by_ref.is_none() => {
                self.define(&pi.ident, value, ty.cloned(), pi.mutability.is_some(), true)
            }
            Pat::Wild(_) => {}
            other => self.cx.error_spanned_by(
                other,
                "bind plain names inside a tuple pattern, `let (a, b) = ..;`",
            ),
        }
    }

    /// Gives `value` the user's name: the statement that computed it is renamed when it is
    /// a fresh temporary, otherwise a copy is made (`let y = x;`, `let c = 2.0;`).
    /// `declared` is false for assignments, which never make a name `wrt` can refer to.
    fn define(
        &mut self,
        ident: &Ident,
        value: Operand,
        ty: Option<Type>,
        mutable: bool,
        declared: bool,
    ) {
        let location = mutable && self.locations.contains(&ident.to_string());
        // A fresh temporary just computed takes the name; a location must be a new variable,
        // unless it is an array just created (it is written in place either way).
        let value_var = value.var();
        let renamable = match (&value, self.f.body.last()) {
            (Operand::Var(v), Some(last)) => {
                last.dst() == Some(*v)
                    && self.f.vars[*v].origin == Origin::Temp
                    && (!location || self.f.vars[*v].is_array())
            }
            _ => false,
        };
        let var = match value {
            Operand::Var(v) if renamable => v,
            value => {
                let v = self.f.new_var("", ident.span(), Origin::Temp);
                self.f.vars[v].tensor = value.var().is_some_and(|x| self.f.vars[x].tensor);
                let rhs = match value.var() {
                    // A copy of an array is a new array.
                    Some(a) if self.f.vars[a].is_array() => {
                        self.f.vars[v].shape = self.f.vars[a].shape.clone();
                        Rhs::CopyArray(a)
                    }
                    _ => Rhs::Op(Op::Id, vec![value]),
                };
                self.f.body.push(Stmt::Let {
                    dst: Some(v),
                    rhs,
                    span: ident.span(),
                });
                v
            }
        };
        if value_var.is_some_and(|v| self.elements.contains(&v)) {
            self.elements.insert(var);
        }
        // `let h: Tensor<f64> = batch.x.clone();`: the value kept as written is the tensor
        // the type says (so it is cloned, not moved, where it is read again).
        if let (Some(ty), Some(x)) = (&ty, value_var) {
            if holds_tensors(ty)
                && self.f.vars[x].origin == Origin::Temp
                && !self.f.vars[x].is_array()
            {
                self.f.vars[x].tensor = true;
            }
        }
        if mutable {
            self.declared_mut.insert(var);
        }
        let info = &mut self.f.vars[var];
        info.name = ident.to_string();
        info.span = ident.span();
        info.origin = Origin::Local;
        info.mutable = location || self.collected.contains(&var);
        info.ty = ty.as_ref().map(ToTokens::to_token_stream);
        if let Some(ty) = &ty {
            if info.shape.is_empty() {
                info.shape = shape_of(ty);
            }
            info.tensor |= holds_tensors(ty);
        }
        if location && info.is_array() && self.nested > 0 && !self.hoisted_arrays.contains(&var) {
            self.cx.error_spanned_by(
                ident,
                "an array written inside a loop or branch must be created outside it, unless it is `vec![value; n]` or `[value; n]` with `value` and `n` known before the loop, a literal `[a, b, c]` of floats, or a copy `x.to_vec()` of an array that exists before it; move the `let` before the loop",
            );
        }
        if self.depth == 0 {
            // A name bound again (shadowed or assigned) no longer names one value.
            for t in self.top_lets.iter_mut().filter(|t| t.ident == *ident) {
                t.rebound = true;
            }
            if declared {
                self.top_lets.push(TopLet {
                    ident: ident.clone(),
                    var,
                    ty,
                    rebound: mutable,
                });
            }
        }
        self.bind(ident, var);
    }

    /// The value of a name: the variable, or a snapshot of a location (`let v = loc;`), so
    /// every operand names one value. Arrays are used in place.
    fn read(&mut self, var: VarId, span: Span) -> Operand {
        if self.f.vars[var].mutable && !self.f.vars[var].is_array() {
            return Operand::Var(self.f.push_op(Op::Id, vec![Operand::Var(var)], span));
        }
        Operand::Var(var)
    }

    /// Expression statements: assignments, branches and loops, or code run for its effect.
    fn expr_stmt(&mut self, e: &Expr) {
        match e {
            Expr::Assign(a) => self.assign(&a.left, None, &a.right),
            Expr::Binary(b) if compound_op(&b.op).is_some() => {
                self.assign(&b.left, compound_op(&b.op), &b.right)
            }
            Expr::Return(r) => self.early_return(r.expr.as_deref(), r),
            Expr::Macro(m) => {
                let what = format!("the macro `{}!`", path_name(&m.mac.path));
                self.effect(m.to_token_stream(), what);
            }
            Expr::If(i) => self.if_stmt(i),
            Expr::Match(m) => self.match_expr(m, None),
            Expr::ForLoop(f) => self.for_loop(f),
            Expr::While(w) => self.while_loop(w),
            Expr::Loop(l) => self.plain_loop(l),
            Expr::Break(b) => self.jump(
                b,
                b.label
                    .as_ref()
                    .map(|l| l.to_token_stream())
                    .or(b.expr.as_ref().map(|e| e.to_token_stream())),
                true,
            ),
            Expr::Continue(c) => self.jump(c, c.label.as_ref().map(|l| l.to_token_stream()), false),
            other => {
                self.expr(other);
            }
        }
    }

    /// `x = e`, `x op= e`, `a[i] = e`, `a[i] op= e`.
    fn assign(&mut self, left: &Expr, op: Option<Op>, right: &Expr) {
        if let Expr::Index(_) = strip_parens(left) {
            return self.store(left, op, right);
        }
        let Expr::Path(p) = strip_parens(left) else {
            self.cx.error_spanned_by(
                left,
                "only local names and array elements can be assigned to here",
            );
            return;
        };
        let Some(ident) = p.path.get_ident() else {
            self.cx.error_spanned_by(left, "assign to a local name");
            return;
        };
        let Some(old) = self.lookup(&ident.to_string()) else {
            self.cx
                .error_spanned_by(left, format!("cannot find the local `{ident}`"));
            return;
        };
        let rhs = self.expr(right);
        let value = match op {
            Some(op) => {
                let current = self.read(old, left.span());
                Operand::Var(self.f.push_op(op, vec![current, rhs], right.span()))
            }
            None => rhs,
        };
        // `s = step(s, h);` with `s` an array: the call returns an array of its shape.
        if let Some(v) = value.var() {
            let is_call = matches!(
                self.f.body.last(),
                Some(Stmt::Let { dst: Some(d), rhs: Rhs::Call(_), .. }) if *d == v
            );
            if is_call && self.f.vars[old].is_array() && !self.f.vars[v].is_array() {
                self.f.vars[v].shape = self.f.vars[old].shape.clone();
            }
        }
        if self.f.vars[old].mutable {
            self.f.body.push(Stmt::Assign {
                dst: old,
                value,
                span: left.span(),
            });
            return;
        }
        // A `let mut` that no branch or loop assigns (`assigned_in_nested`) is assigned only
        // at the top level as written, which is inside the block that runs when nothing
        // returned (`if !returned { .. }`) after an early `return`: it may be bound again
        // there, since the rest of the body is in that block.
        if self.nested > 0 && !self.declared_mut.contains(&old) {
            self.cx.error_spanned_by(
                left,
                format!("declare `{ident}` with `let mut` to assign it inside a branch or loop"),
            );
            return;
        }
        // Outside branches and loops an assignment is a new binding of the same name.
        self.define(ident, value, None, true, false);
        let new = self.lookup(&ident.to_string()).expect("just bound");
        self.f.vars[new].ty = self.f.vars[old].ty.clone();
    }

    /// `a[i][j] = e` or `a[i][j] op= e`.
    fn store(&mut self, left: &Expr, op: Option<Op>, right: &Expr) {
        let Some((array, index)) = self.place(left) else {
            self.cx.error_spanned_by(left, "write elements of a local array declared with `let mut`, e.g. `let mut c = [0.0; 4];`");
            return;
        };
        let value = self.expr(right);
        let span = left.span();
        let (value, accumulate) = match op {
            None => (value, false),
            Some(Op::Add) => (value, true),
            Some(Op::Sub) => (
                Operand::Var(self.f.push_op(Op::Neg, vec![value], span)),
                true,
            ),
            Some(op) => {
                let current = self.f.new_var("", span, Origin::Temp);
                self.f.body.push(Stmt::Let {
                    dst: Some(current),
                    rhs: Rhs::Index(array, index.clone()),
                    span,
                });
                let v = self.f.push_op(op, vec![Operand::Var(current), value], span);
                (Operand::Var(v), false)
            }
        };
        self.f.body.push(Stmt::Store {
            array,
            index,
            value,
            accumulate,
            span,
        });
    }

    /// `a[i][j]` on an array variable: the array and the lowered indices.
    fn place(&mut self, e: &Expr) -> Option<(VarId, Vec<Operand>)> {
        match strip_parens(e) {
            // An element of a part: of the array it is part of.
            Expr::Index(i) if self.view_named(&i.expr).is_some() => {
                let view = self.view_named(&i.expr).expect("checked");
                let at = self.expr(&i.index);
                let at = self.offset(&view.start, at, e.span());
                let mut index = view.prefix;
                index.push(at);
                Some((view.base, index))
            }
            Expr::Index(i) => {
                let (array, mut index) = self.place(&i.expr)?;
                index.push(self.expr(&i.index));
                Some((array, index))
            }
            Expr::Path(p) => {
                let v = self.lookup(&p.path.get_ident()?.to_string())?;
                self.f.vars[v].is_array().then_some((v, Vec::new()))
            }
            _ => None,
        }
    }

    /// Lowers a nested block's statements into their own list.
    fn nested_block(&mut self, f: impl FnOnce(&mut Self)) -> Vec<Stmt> {
        let outer = std::mem::take(&mut self.f.body);
        self.scopes.push(HashMap::new());
        self.depth += 1;
        self.nested += 1;
        f(self);
        self.nested -= 1;
        self.depth -= 1;
        self.scopes.pop();
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
