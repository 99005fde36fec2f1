//! Pass 2: `syn::ItemFn` -> IR. Expressions become three-address statements; every `let` and
//! every assignment gets a fresh variable. Code the macro does not differentiate (integer
//! arithmetic, comparisons, calls on passive values) becomes `Opaque` statements, checked by
//! `check` once activity is known. Syntax that can never be differentiated is reported here,
//! at its span, with a sentence saying what to write instead.
use crate::ctxt::Ctxt;
use crate::ir::{
    Binary, Call, CallArg, Function, Level, Op, Opaque, Operand, Origin, Rhs, Stmt, TensorOp,
    Unary, VarId,
};
use proc_macro2::{Delimiter, Group, Ident, Span, TokenStream, TokenTree};
use quote::{quote, ToTokens};
use std::collections::{HashMap, HashSet};
use syn::spanned::Spanned;
use syn::{BinOp, Expr, FnArg, Pat, ReturnType, Type, UnOp};

/// How a parameter's type takes part in differentiation, read off its syntax.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `f32`, `f64`, a generic type parameter (assumed `Float`), or a reference to one.
    Float,
    /// Integers, `bool`, `char`: never differentiated.
    Passive,
    /// Anything else: differentiated only when named in `wrt`.
    Other,
}

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
    };
    check_signature(cx, &item.sig);
    let generic = item.sig.generics.type_params().next().is_some();
    let type_params: Vec<String> = item
        .sig
        .generics
        .type_params()
        .map(|t| t.ident.to_string())
        .collect();
    let params = lower.params(&item.sig, &type_params);
    let tuple_outputs = match &item.sig.output {
        ReturnType::Default => {
            cx.error_spanned_by(
                &item.sig.ident,
                "a function with no return value has nothing to differentiate; return the value to differentiate, e.g. `-> f64`",
            );
            None
        }
        ReturnType::Type(_, ty) => match &**ty {
            Type::Tuple(t) if !t.elems.is_empty() => Some(t.elems.len()),
            _ => None,
        },
    };
    // Without a return type there is nothing to differentiate; the body is not checked, so
    // the one mistake is reported once.
    let outputs = match item.sig.output {
        ReturnType::Default => Vec::new(),
        ReturnType::Type(..) => lower.body(&item.block, tuple_outputs),
    };
    lower.f.outputs = outputs;
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

/// The syntactic kind of a parameter type.
pub fn kind_of(ty: &Type, type_params: &[String]) -> Kind {
    match ty {
        Type::Reference(r) => kind_of(&r.elem, type_params),
        Type::Paren(p) => kind_of(&p.elem, type_params),
        Type::Slice(s) => kind_of(&s.elem, type_params),
        Type::Array(a) => kind_of(&a.elem, type_params),
        Type::Path(p) if vec_element(p).is_some() => {
            kind_of(vec_element(p).expect("checked"), type_params)
        }
        Type::Path(_) if is_tensor_type(ty) => Kind::Float,
        Type::Path(p) if p.qself.is_none() => match p.path.get_ident().map(Ident::to_string) {
            Some(name) if name == "f32" || name == "f64" || type_params.contains(&name) => {
                Kind::Float
            }
            Some(name)
                if [
                    "i8", "i16", "i32", "i64", "i128", "isize", "u8", "u16", "u32", "u64", "u128",
                    "usize", "bool", "char",
                ]
                .contains(&name.as_str()) =>
            {
                Kind::Passive
            }
            _ => Kind::Other,
        },
        _ => Kind::Other,
    }
}

/// The array levels of a type: `&[[f64; 3]]` is a dynamic array of fixed arrays.
pub fn shape_of(ty: &Type) -> Vec<Level> {
    match ty {
        Type::Reference(r) => shape_of(&r.elem),
        Type::Paren(p) => shape_of(&p.elem),
        Type::Slice(s) => std::iter::once(Level::Dynamic)
            .chain(shape_of(&s.elem))
            .collect(),
        Type::Array(a) => std::iter::once(Level::Fixed)
            .chain(shape_of(&a.elem))
            .collect(),
        Type::Path(p) => match vec_element(p) {
            Some(e) => std::iter::once(Level::Dynamic).chain(shape_of(e)).collect(),
            None => Vec::new(),
        },
        _ => Vec::new(),
    }
}

/// `Tensor<T>` (or `&Tensor<T>`, `autodiff::Tensor<f32>`).
pub fn is_tensor_type(ty: &Type) -> bool {
    match ty {
        Type::Reference(r) => is_tensor_type(&r.elem),
        Type::Path(p) => p.path.segments.last().is_some_and(|s| s.ident == "Tensor"),
        _ => false,
    }
}

/// `T` of `Vec<T>`.
pub fn vec_element(p: &syn::TypePath) -> Option<&Type> {
    let last = p.path.segments.last()?;
    if p.qself.is_some() || last.ident != "Vec" {
        return None;
    }
    match &last.arguments {
        syn::PathArguments::AngleBracketed(a) if a.args.len() == 1 => match &a.args[0] {
            syn::GenericArgument::Type(t) => Some(t),
            _ => None,
        },
        _ => None,
    }
}

/// The names assigned inside a branch or loop, and the arrays written by element anywhere.
fn assigned_in_nested(block: &syn::Block) -> HashSet<String> {
    let mut names = HashSet::new();
    for stmt in &block.stmts {
        if let Some(e) = stmt_expr(stmt) {
            collect_assignments(e, false, &mut names);
        }
    }
    names
}

fn collect_assignments(e: &Expr, nested: bool, names: &mut HashSet<String>) {
    let target = |left: &Expr, names: &mut HashSet<String>| {
        let (base, indexed) = index_base(left);
        if let Some(base) = base {
            if nested || indexed {
                names.insert(base.to_string());
            }
        }
    };
    let block = |b: &syn::Block, names: &mut HashSet<String>| {
        for s in &b.stmts {
            if let Some(e) = stmt_expr(s) {
                collect_assignments(e, true, names);
            }
        }
    };
    match e {
        Expr::Assign(a) => target(&a.left, names),
        Expr::Binary(b) if compound_op(&b.op).is_some() => target(&b.left, names),
        Expr::If(i) => {
            block(&i.then_branch, names);
            if let Some((_, e)) = &i.else_branch {
                collect_assignments(e, true, names);
            }
        }
        Expr::ForLoop(f) => block(&f.body, names),
        Expr::While(w) => block(&w.body, names),
        Expr::Loop(l) => block(&l.body, names),
        Expr::Block(b) => {
            for s in &b.block.stmts {
                if let Some(e) = stmt_expr(s) {
                    collect_assignments(e, nested, names);
                }
            }
        }
        Expr::Paren(p) => collect_assignments(&p.expr, nested, names),
        _ => {}
    }
}

/// The expression of an expression statement or of a `let`'s value.
fn stmt_expr(s: &syn::Stmt) -> Option<&Expr> {
    match s {
        syn::Stmt::Expr(e, _) => Some(e),
        syn::Stmt::Local(l) => l.init.as_ref().map(|i| &*i.expr),
        _ => None,
    }
}

/// The variable under `x`, `x[i]`, `x[i][j]`, and whether it is indexed.
fn index_base(e: &Expr) -> (Option<&Ident>, bool) {
    match strip_parens(e) {
        Expr::Path(p) => (p.path.get_ident(), false),
        Expr::Index(i) => (index_base(&i.expr).0, true),
        _ => (None, false),
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
                                "`&mut` parameters (outputs written through a reference) are not supported; return the value instead",
                            );
                        }
                    }
                    let var = self
                        .f
                        .new_var(ident.to_string(), ident.span(), Origin::Param(index));
                    self.f.vars[var].shape = shape_of(&pt.ty);
                    self.f.vars[var].tensor = is_tensor_type(&pt.ty);
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
        self.outputs(tail, tuple_outputs)
    }

    /// A body with a `return` before its end: each output goes to a location, `returned`
    /// guards what follows a statement that may return, and the tail is one more return.
    fn body_with_early_returns(
        &mut self,
        block: &syn::Block,
        tuple_outputs: Option<usize>,
    ) -> Vec<Operand> {
        let span = block.brace_token.span.join();
        let results: Vec<VarId> = (0..tuple_outputs.unwrap_or(1))
            .map(|k| {
                let v = self.f.new_var(format!("result_{k}"), span, Origin::Temp);
                self.f.vars[v].mutable = true;
                // Initialised, because rustc cannot see that a flag guards every path.
                self.f.body.push(Stmt::Let {
                    dst: Some(v),
                    rhs: Rhs::Zero(Operand::Lit(0.0)),
                    span,
                });
                v
            })
            .collect();
        let returned = self.passive_location("returned", bool_const(false), span);
        self.returns = Some(Returns {
            results: results.clone(),
            returned,
        });
        self.stmts(&block.stmts);
        self.returns = None;
        results.into_iter().map(|r| self.read(r, span)).collect()
    }

    /// `return e` (or the tail of a body with early returns): the outputs are assigned,
    /// `returned` is set, and every enclosing loop stops.
    fn early_return(&mut self, value: Option<&Expr>, token: impl ToTokens) {
        let Some(returns) = self.returns.clone() else {
            self.cx.error_spanned_by(
                token,
                "`return` is supported at the end of the body and inside branches and loops",
            );
            return;
        };
        let Some(value) = value else {
            self.cx
                .error_spanned_by(token, "return the value to differentiate, e.g. `return y;`");
            return;
        };
        let values = match (strip_parens(value), returns.results.len()) {
            (Expr::Tuple(t), n) if n > 1 && t.elems.len() == n => {
                t.elems.iter().map(|e| self.expr(e)).collect()
            }
            (_, 1) => vec![self.expr(value)],
            (_, n) => {
                self.cx.error_spanned_by(
                    value,
                    format!("return a tuple expression of {n} values, `(a, b)`"),
                );
                return;
            }
        };
        let span = value.span();
        for (result, v) in returns.results.iter().zip(values) {
            self.f.body.push(Stmt::Assign {
                dst: *result,
                value: v,
                span,
            });
        }
        self.set_flag(returns.returned, true, span);
        for flags in self.loops.clone() {
            if let Some(running) = flags.running {
                self.set_flag(running, false, span);
            }
            if let Some(skip) = flags.skip {
                self.set_flag(skip, true, span);
            }
        }
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
        match stmt {
            syn::Stmt::Local(local) => self.local(local),
            syn::Stmt::Item(item) => self.items.push(item.clone()),
            syn::Stmt::Expr(e, _) => self.expr_stmt(e),
            syn::Stmt::Macro(m) => {
                let what = format!("the macro `{}!`", path_name(&m.mac.path));
                self.effect(m.to_token_stream(), what);
            }
        }
    }

    fn local(&mut self, local: &syn::Local) {
        let Some(init) = &local.init else {
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

    /// `let pat = expr;`: names, `_`, type annotations and tuples of these.
    fn bind_pattern(&mut self, pat: &Pat, expr: &Expr, ty: Option<&Type>) {
        match pat {
            Pat::Type(pt) => self.bind_pattern(&pt.pat, expr, Some(&pt.ty)),
            Pat::Ident(pi) if pi.subpat.is_none() && pi.by_ref.is_none() => {
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
                _ => self.cx.error_spanned_by(
                    expr,
                    "destructure a tuple expression written in place, `let (a, b) = (x, y);`; a tuple-valued call cannot be destructured yet",
                ),
            },
            other => self.cx.error_spanned_by(
                other,
                "this pattern is not supported in #[differentiate] functions; bind plain names or tuples of names",
            ),
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
        let info = &mut self.f.vars[var];
        info.name = ident.to_string();
        info.span = ident.span();
        info.origin = Origin::Local;
        info.mutable = location;
        info.ty = ty.as_ref().map(ToTokens::to_token_stream);
        if let Some(ty) = &ty {
            if info.shape.is_empty() {
                info.shape = shape_of(ty);
            }
            info.tensor |= is_tensor_type(ty);
        }
        if location && info.is_array() && self.nested > 0 {
            self.cx.error_spanned_by(
                ident,
                "an array written inside a loop or branch must be created outside it; move the `let` before the loop",
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

    /// `break` or `continue` of the innermost loop.
    fn jump(&mut self, token: impl ToTokens, extra: Option<TokenStream>, is_break: bool) {
        if let Some(extra) = extra {
            self.cx.error_spanned_by(extra, "loop labels and `break` with a value are not supported; use a plain `break` and a `let mut` declared before the loop");
            return;
        }
        let Some(flags) = self.loops.last().copied() else {
            self.cx
                .error_spanned_by(token, "`break` and `continue` belong inside a loop");
            return;
        };
        let span = token
            .into_token_stream()
            .into_iter()
            .next()
            .map_or_else(Span::call_site, |t| t.span());
        if is_break {
            let running = flags
                .running
                .expect("a loop with `break` has a running flag");
            self.set_flag(running, false, span);
        }
        let skip = flags
            .skip
            .expect("a loop with `break` or `continue` has a skip flag");
        self.set_flag(skip, true, span);
    }

    fn set_flag(&mut self, flag: VarId, value: bool, span: Span) {
        self.f.body.push(Stmt::Assign {
            dst: flag,
            value: bool_const(value),
            span,
        });
    }

    /// A passive location: a flag or a counter.
    fn passive_location(&mut self, name: &str, init: Operand, span: Span) -> VarId {
        let v = self.f.new_var(name, span, Origin::Temp);
        self.f.vars[v].mutable = true;
        self.f.body.push(Stmt::Let {
            dst: Some(v),
            rhs: Rhs::Op(Op::Id, vec![init]),
            span,
        });
        v
    }

    /// `v = v + 1;`
    fn increment(&mut self, v: VarId, span: Span) {
        let current = self.read(v, span);
        let one = Operand::Const {
            tokens: quote!(1),
            value: Some(1.0),
        };
        let next = self.f.push_op(Op::Add, vec![current, one], span);
        self.f.body.push(Stmt::Assign {
            dst: v,
            value: Operand::Var(next),
            span,
        });
    }

    /// Passive code combining operands (`running && i < n`), kept as written.
    fn passive_code(
        &mut self,
        parts: &[&Operand],
        combine: impl Fn(&[TokenStream]) -> TokenStream,
        span: Span,
    ) -> Operand {
        let tokens: Vec<TokenStream> = parts
            .iter()
            .map(|o| match o {
                Operand::Var(v) => placeholder(*v, span).into_token_stream(),
                Operand::Const { tokens, .. } => quote!((#tokens)),
                Operand::Lit(c) => {
                    let lit = proc_macro2::Literal::f64_unsuffixed(*c);
                    quote!(#lit)
                }
            })
            .collect();
        let v = self.f.new_var("", span, Origin::Temp);
        self.f.body.push(Stmt::Let {
            dst: Some(v),
            rhs: Rhs::Opaque(Opaque {
                tokens: combine(&tokens),
                reads: parts.iter().filter_map(|o| o.var()).collect(),
                passive_result: true,
                pure: true,
                what: "a loop condition".into(),
            }),
            span,
        });
        Operand::Var(v)
    }

    /// Flags for a loop body with `break` / `continue`.
    fn loop_flags(&mut self, body: &[syn::Stmt], span: Span) -> LoopFlags {
        let (has_break, has_continue) = jumps(body);
        LoopFlags {
            running: has_break.then(|| self.passive_location("running", bool_const(true), span)),
            skip: (has_break || has_continue)
                .then(|| self.passive_location("skip", bool_const(false), span)),
        }
    }

    /// The body of a loop: flags reset, statements (the rest of the iteration guarded after a
    /// `break` or `continue`), then `after` (index and trip-count updates).
    fn loop_body(
        &mut self,
        flags: LoopFlags,
        stmts: &[syn::Stmt],
        before: impl FnOnce(&mut Self),
        after: impl FnOnce(&mut Self),
    ) -> Vec<Stmt> {
        self.nested_block(|l| {
            before(l);
            if let Some(skip) = flags.skip {
                l.set_flag(skip, false, Span::call_site());
            }
            l.loops.push(flags);
            l.stmts(stmts);
            l.loops.pop();
            after(l);
        })
    }

    /// A `while` loop in the IR: the header, the body, and the trip count after it.
    fn push_while(
        &mut self,
        header: Vec<Stmt>,
        cond: Operand,
        body: Vec<Stmt>,
        count: VarId,
        span: Span,
    ) {
        let trips = self.f.new_var("trips", span, Origin::Temp);
        self.f.body.push(Stmt::While {
            header,
            cond,
            body,
            trips,
            span,
        });
        self.f.body.push(Stmt::Let {
            dst: Some(trips),
            rhs: Rhs::Op(Op::Id, vec![Operand::Var(count)]),
            span,
        });
    }

    /// `while cond { body }`.
    fn while_loop(&mut self, w: &syn::ExprWhile) {
        if let Some(label) = &w.label {
            self.cx
                .error_spanned_by(label, "loop labels are not supported");
        }
        let span = w.while_token.span;
        let flags = self.loop_flags(&w.body.stmts, span);
        let count = self.passive_location("count", int_const(0), span);
        let mut cond = Operand::Lit(0.0);
        let header = self.nested_block(|l| {
            let c = l.expr(&w.cond);
            cond = match flags.running {
                Some(running) => {
                    let r = l.read(running, span);
                    l.passive_code(
                        &[&r, &c],
                        |t| {
                            let (r, c) = (&t[0], &t[1]);
                            quote!(#r && #c)
                        },
                        span,
                    )
                }
                None => c,
            };
        });
        let body = self.loop_body(flags, &w.body.stmts, |_| {}, |l| l.increment(count, span));
        self.push_while(header, cond, body, count, span);
    }

    /// `loop { .. break; .. }`.
    fn plain_loop(&mut self, lp: &syn::ExprLoop) {
        let span = lp.loop_token.span;
        if let Some(label) = &lp.label {
            self.cx
                .error_spanned_by(label, "loop labels are not supported");
        }
        let flags = self.loop_flags(&lp.body.stmts, span);
        let Some(running) = flags.running else {
            self.cx.error_spanned_by(lp.loop_token, "this `loop` has no `break`, so the function never returns; add `if done { break; }`");
            return;
        };
        let count = self.passive_location("count", int_const(0), span);
        let mut cond = Operand::Lit(0.0);
        let header = self.nested_block(|l| cond = l.read(running, span));
        let body = self.loop_body(flags, &lp.body.stmts, |_| {}, |l| l.increment(count, span));
        self.push_while(header, cond, body, count, span);
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
        if self.f.vars[old].mutable {
            self.f.body.push(Stmt::Assign {
                dst: old,
                value,
                span: left.span(),
            });
            return;
        }
        if self.nested > 0 {
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

    /// `if` as a statement; `else if` chains nest.
    fn if_stmt(&mut self, i: &syn::ExprIf) {
        let cond = self.expr(&i.cond);
        let then = self.nested_block(|l| l.stmts(&i.then_branch.stmts));
        let otherwise = match &i.else_branch {
            None => Vec::new(),
            Some((_, e)) => self.nested_block(|l| match &**e {
                Expr::Block(b) => l.stmts(&b.block.stmts),
                other => l.expr_stmt(other),
            }),
        };
        self.f.body.push(Stmt::If {
            cond,
            then,
            otherwise,
            span: i.if_token.span,
        });
    }

    fn stmts(&mut self, stmts: &[syn::Stmt]) {
        for (k, s) in stmts.iter().enumerate() {
            let is_tail = k + 1 == stmts.len();
            match s {
                // The tail of a body with early returns is one more return.
                syn::Stmt::Expr(e, None)
                    if self.returns.is_some()
                        && self.loops.is_empty()
                        && is_tail
                        && !is_control_flow(e) =>
                {
                    self.early_return(Some(e), e)
                }
                syn::Stmt::Expr(e, None) => self.expr_stmt(e),
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
                let span = s.span();
                let flag = self.read(skip, span);
                let cond = self.passive_code(
                    &[&flag],
                    |t| {
                        let f = &t[0];
                        quote!(!#f)
                    },
                    span,
                );
                let then = self.nested_block(|l| l.stmts(&stmts[k + 1..]));
                self.f.body.push(Stmt::If {
                    cond,
                    then,
                    otherwise: Vec::new(),
                    span,
                });
                return;
            }
        }
    }

    /// `if` as an expression: each branch assigns its value to a location read after it.
    fn if_expr(&mut self, i: &syn::ExprIf) -> Operand {
        let span = i.if_token.span;
        let result = self.f.new_var("branch", span, Origin::Temp);
        self.f.vars[result].mutable = true;
        self.f.body.push(Stmt::Let {
            dst: Some(result),
            rhs: Rhs::Uninit,
            span,
        });
        let cond = self.expr(&i.cond);
        let then = self.nested_block(|l| {
            let v = l.block_value(&i.then_branch);
            l.f.body.push(Stmt::Assign {
                dst: result,
                value: v,
                span,
            });
        });
        let otherwise = match &i.else_branch {
            Some((_, e)) => self.nested_block(|l| {
                let v = l.expr(e);
                l.f.body.push(Stmt::Assign {
                    dst: result,
                    value: v,
                    span,
                });
            }),
            None => {
                self.cx
                    .error_spanned_by(i, "an `if` used as a value needs an `else` branch");
                Vec::new()
            }
        };
        self.f.body.push(Stmt::If {
            cond,
            then,
            otherwise,
            span,
        });
        self.read(result, span)
    }

    /// The statements of a block and the value of its tail expression.
    fn block_value(&mut self, block: &syn::Block) -> Operand {
        let mut result = None;
        for (i, stmt) in block.stmts.iter().enumerate() {
            match stmt {
                syn::Stmt::Expr(e, None) if i + 1 == block.stmts.len() => {
                    result = Some(self.expr(e))
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

    /// `for i in a..b`, `for v in x.iter()` / `&x`, `.iter().enumerate()`,
    /// `.iter().zip(y.iter())`: a loop over an index range.
    fn for_loop(&mut self, f: &syn::ExprForLoop) {
        if let Some(label) = &f.label {
            self.cx.error_spanned_by(
                label,
                "loop labels are not supported; `break` and `continue` apply to the innermost loop (use a flag to leave outer loops)",
            );
        }
        let span = f.for_token.span;
        let Some(iteration) = self.iteration(&f.expr) else {
            self.cx.error_spanned_by(
                &f.expr,
                "loop over a range (`for i in 0..n`, `a..=b`) or over an array (`x.iter()`, `&x`, `.iter().enumerate()`, `.iter().zip(y.iter())`)",
            );
            return;
        };
        let flags = self.loop_flags(&f.body.stmts, span);
        if flags.running.is_none() {
            let index = self.f.new_var("i", span, Origin::Temp);
            let body = self.loop_body(
                flags,
                &f.body.stmts,
                |l| l.bind_iteration(&f.pat, &iteration, index),
                |_| {},
            );
            self.f.body.push(Stmt::For {
                index,
                start: iteration.start,
                end: iteration.end,
                inclusive: iteration.inclusive,
                reversed: false,
                body,
                span,
            });
            return;
        }
        // With `break`: a `while` over an index location, so the trip count is known.
        let running = flags.running.expect("checked");
        let next = self.passive_location("index", iteration.start.clone(), span);
        let count = self.passive_location("count", int_const(0), span);
        let mut cond = Operand::Lit(0.0);
        let header = self.nested_block(|l| {
            let r = l.read(running, span);
            let k = l.read(next, span);
            let less = if iteration.inclusive {
                quote!(<=)
            } else {
                quote!(<)
            };
            cond = l.passive_code(
                &[&r, &k, &iteration.end],
                |t| {
                    let (r, k, end) = (&t[0], &t[1], &t[2]);
                    quote!(#r && #k #less #end)
                },
                span,
            );
        });
        let body = self.loop_body(
            flags,
            &f.body.stmts,
            |l| {
                let index = l.read(next, span).var().expect("a snapshot");
                l.bind_iteration(&f.pat, &iteration, index);
            },
            |l| {
                l.increment(next, span);
                l.increment(count, span);
            },
        );
        self.push_while(header, cond, body, count, span);
    }

    /// What a `for` loop iterates over.
    fn iteration(&mut self, e: &Expr) -> Option<Iteration> {
        let zero = || Operand::Const {
            tokens: quote!(0),
            value: Some(0.0),
        };
        match strip_parens(e) {
            Expr::Range(r) => {
                let start = match &r.start {
                    Some(s) => self.expr(s),
                    None => zero(),
                };
                let end = self.expr(r.end.as_deref()?);
                let inclusive = matches!(r.limits, syn::RangeLimits::Closed(_));
                Some(Iteration {
                    start,
                    end,
                    inclusive,
                    arrays: Vec::new(),
                    enumerate: false,
                })
            }
            Expr::Reference(r) => self.array_iteration(&r.expr, Vec::new(), false),
            Expr::Path(_) => self.array_iteration(e, Vec::new(), false),
            Expr::MethodCall(m) => {
                let name = m.method.to_string();
                match (name.as_str(), m.args.len()) {
                    ("iter", 0) => self.array_iteration(&m.receiver, Vec::new(), false),
                    ("enumerate", 0) => {
                        let mut it = self.iteration(&m.receiver)?;
                        it.enumerate = true;
                        Some(it)
                    }
                    ("zip", 1) => {
                        let first = *self.iteration(&m.receiver)?.arrays.first()?;
                        let other = match strip_parens(&m.args[0]) {
                            Expr::MethodCall(o) if o.method == "iter" && o.args.is_empty() => {
                                &o.receiver
                            }
                            Expr::Reference(r) => &r.expr,
                            other => other,
                        };
                        let second = self.array_var(other)?;
                        self.array_iteration(&m.receiver, vec![first, second], false)
                    }
                    _ => None,
                }
            }
            _ => None,
        }
    }

    fn array_var(&mut self, e: &Expr) -> Option<VarId> {
        match strip_parens(e) {
            Expr::Path(p) => self
                .lookup(&p.path.get_ident()?.to_string())
                .filter(|&v| self.f.vars[v].is_array()),
            _ => None,
        }
    }

    /// `0..len` over one array, or over the shortest of several (`zip`).
    fn array_iteration(
        &mut self,
        e: &Expr,
        arrays: Vec<VarId>,
        enumerate: bool,
    ) -> Option<Iteration> {
        let arrays = if arrays.is_empty() {
            vec![self.array_var(e)?]
        } else {
            arrays
        };
        let lens: Vec<TokenStream> = arrays
            .iter()
            .map(|&a| {
                let p = placeholder(a, Span::call_site());
                quote!(#p.len())
            })
            .collect();
        let (first, rest) = lens.split_first()?;
        let len = quote!(#first #(.min(#rest))*);
        let end = self.f.new_var("len", e.span(), Origin::Temp);
        self.f.body.push(Stmt::Let {
            dst: Some(end),
            rhs: Rhs::Opaque(Opaque {
                tokens: len,
                reads: arrays.clone(),
                passive_result: true,
                pure: true,
                what: "the length of an array".into(),
            }),
            span: e.span(),
        });
        Some(Iteration {
            start: Operand::Const {
                tokens: quote!(0),
                value: Some(0.0),
            },
            end: Operand::Var(end),
            inclusive: false,
            arrays,
            enumerate,
        })
    }

    /// Binds the loop pattern at the top of the body: the index, or the elements.
    fn bind_iteration(&mut self, pat: &Pat, it: &Iteration, index: VarId) {
        let element = |l: &mut Self, array: VarId, pat: &Pat| {
            let v = l.f.new_var("", pat.span(), Origin::Temp);
            l.f.body.push(Stmt::Let {
                dst: Some(v),
                rhs: Rhs::Index(array, vec![Operand::Var(index)]),
                span: pat.span(),
            });
            l.bind_loop_pattern(pat, Operand::Var(v));
        };
        match (it.arrays.len(), it.enumerate, strip_pat(pat)) {
            (0, _, p) => self.bind_loop_pattern(p, Operand::Var(index)),
            (1, false, p) => element(self, it.arrays[0], p),
            (1, true, Pat::Tuple(t)) if t.elems.len() == 2 => {
                self.bind_loop_pattern(&t.elems[0], Operand::Var(index));
                element(self, it.arrays[0], &t.elems[1]);
            }
            (2, false, Pat::Tuple(t)) if t.elems.len() == 2 => {
                element(self, it.arrays[0], &t.elems[0]);
                element(self, it.arrays[1], &t.elems[1]);
            }
            (_, _, p) => self.cx.error_spanned_by(
                p,
                "bind the loop variable with a name, `_`, or a pair `(i, v)` / `(a, b)`",
            ),
        }
    }

    fn bind_loop_pattern(&mut self, pat: &Pat, value: Operand) {
        match strip_pat(pat) {
            Pat::Ident(pi) if pi.subpat.is_none() => {
                let v = value.var().expect("loop values are variables");
                let info = &mut self.f.vars[v];
                info.name = pi.ident.to_string();
                info.span = pi.ident.span();
                info.origin = Origin::Local;
                self.bind(&pi.ident, v);
            }
            Pat::Wild(_) => {}
            other => self
                .cx
                .error_spanned_by(other, "bind the loop variable with a name or `_`"),
        }
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

    /// Lowers an expression to an operand, appending the statements that compute it.
    fn expr(&mut self, e: &Expr) -> Operand {
        let span = e.span();
        match e {
            Expr::Lit(l) => literal(&l.lit),
            Expr::Paren(p) => self.expr(&p.expr),
            Expr::Group(g) => self.expr(&g.expr),
            Expr::Path(p) if p.qself.is_none() => match p.path.get_ident().and_then(|i| self.lookup(&i.to_string())) {
                Some(v) => self.read(v, span),
                None => self.opaque(e, "a path", true),
            },
            Expr::Unary(u) => match u.op {
                UnOp::Neg(_) => {
                    let x = self.expr(&u.expr);
                    if let Some(c) = x.constant() {
                        if let Operand::Const { tokens, .. } = &x {
                            return Operand::Const {
                                tokens: quote!(-#tokens),
                                value: Some(-c),
                            };
                        }
                    }
                    Operand::Var(self.f.push_op(Op::Neg, vec![x], span))
                }
                // `*x` on a `&f64` parameter: the value behind the reference.
                UnOp::Deref(_) => self.expr(&u.expr),
                _ => self.opaque(e, "the `!` operator", true),
            },
            Expr::Binary(b) => self.binary(e, b),
            Expr::MethodCall(m) => self.method_call(e, m),
            Expr::Call(c) => self.call(e, c),
            Expr::Block(b) if b.label.is_none() => self.block(&b.block),
            Expr::Cast(_) => self.opaque(e, "an `as` cast", false),
            Expr::Closure(c) => self.unsupported(c, "closures are not supported in #[differentiate] functions; write the computation inline, or move it into a separate #[differentiate] function"),
            Expr::Unsafe(u) => self.unsupported(u.unsafe_token, "`unsafe` blocks are not supported in #[differentiate] functions; move the unsafe code into a separate function with a custom derivative"),
            Expr::Async(a) => self.unsupported(a, "`async` blocks are not supported in #[differentiate] functions"),
            Expr::Await(a) => self.unsupported(a, "`.await` is not supported in #[differentiate] functions"),
                        Expr::Return(r) => self.unsupported(r, "`return` inside an expression is not supported; write `return ..;` as a statement (in a branch or loop is fine)"),
            Expr::Tuple(t) => self.unsupported(t, "tuples can only be returned or destructured in place (`let (a, b) = (x, y);`)"),
            Expr::Macro(m) if m.mac.path.is_ident("vec") => self.vec_macro(e, m),
            Expr::Macro(m) => {
                let what = format!("the macro `{}!`", path_name(&m.mac.path));
                self.opaque(e, &what, false)
            }
            Expr::If(i) => self.if_expr(i),
            Expr::Match(_) => self.opaque(e, "a `match` expression", false),
                        Expr::Loop(l) if !jumps(&l.body.stmts).0 => {
                self.plain_loop(l);
                Operand::Lit(0.0)
            }
            Expr::ForLoop(_) | Expr::While(_) | Expr::Loop(_) => {
                self.unsupported(e, "a loop has no value here; write it as a statement and assign the result to a `let mut` declared before it")
            }
            Expr::Index(_) => match self.place(e) {
                Some((array, index)) => {
                    let v = self.f.new_var("", span, Origin::Temp);
                    self.f.body.push(Stmt::Let {
                        dst: Some(v),
                        rhs: Rhs::Index(array, index),
                        span,
                    });
                    Operand::Var(v)
                }
                None => self.opaque(e, "indexing", false),
            },
            Expr::Array(a) => {
                let elements: Vec<Operand> = a.elems.iter().map(|x| self.expr(x)).collect();
                let nested = elements.iter().any(|x| x.var().is_some_and(|v| self.f.vars[v].is_array()));
                if nested {
                    return self.unsupported(a, "nested array literals are not supported; build the inner arrays with `[0.0; n]` and write their elements");
                }
                let v = self.f.new_var("", span, Origin::Temp);
                self.f.vars[v].shape = vec![Level::Fixed];
                self.f.body.push(Stmt::Let {
                    dst: Some(v),
                    rhs: Rhs::ArrayLit(elements),
                    span,
                });
                Operand::Var(v)
            }
            Expr::Repeat(r) => {
                let shape = std::iter::once(Level::Fixed).chain(repeat_shape(&r.expr)).collect();
                self.array_constant(e, shape)
            }
            Expr::Field(_) => self.opaque(e, "a field access", false),
            Expr::Reference(r) => self.expr(&r.expr),
            _ => self.opaque(e, "this expression", false),
        }
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
                    result = Some(self.expr(e))
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

    fn binary(&mut self, e: &Expr, b: &syn::ExprBinary) -> Operand {
        let op = match b.op {
            BinOp::Add(_) => Op::Add,
            BinOp::Sub(_) => Op::Sub,
            BinOp::Mul(_) => Op::Mul,
            BinOp::Div(_) => Op::Div,
            BinOp::Lt(_)
            | BinOp::Le(_)
            | BinOp::Gt(_)
            | BinOp::Ge(_)
            | BinOp::Eq(_)
            | BinOp::Ne(_)
            | BinOp::And(_)
            | BinOp::Or(_) => return self.opaque(e, "a comparison", true),
            _ => {
                return self.opaque(
                    e,
                    &format!("the `{}` operator", b.op.to_token_stream()),
                    false,
                )
            }
        };
        let l = self.expr(&b.left);
        let r = self.expr(&b.right);
        Operand::Var(self.f.push_op(op, vec![l, r], e.span()))
    }

    fn method_call(&mut self, e: &Expr, m: &syn::ExprMethodCall) -> Operand {
        let name = m.method.to_string();
        // Tensor methods: `x.matmul(w)`, `x.sum_axis(1)`, `x.relu()`, ..
        if let Some(op) = TensorOp::from_method(&name, m.args.len()) {
            if self.is_tensor_expr(&m.receiver) {
                let mut args = vec![self.expr(&m.receiver)];
                args.extend(m.args.iter().map(|a| self.call_arg(a).value));
                return Operand::Var(self.f.push_op(Op::Tensor(op), args, m.method.span()));
            }
        }
        if m.turbofish.is_none() {
            if let Some(op) = float_op(&name, m.args.len()) {
                let mut args = vec![self.expr(&m.receiver)];
                args.extend(m.args.iter().map(|a| self.expr(a)));
                return Operand::Var(self.f.push_op(op, args, m.method.span()));
            }
            if ["clone", "to_vec", "to_owned"].contains(&name.as_str()) && m.args.is_empty() {
                let x = self.expr(&m.receiver);
                let span = m.method.span();
                return match x.var().filter(|&a| self.f.vars[a].is_array()) {
                    Some(a) => {
                        let v = self.f.new_var("", span, Origin::Temp);
                        let mut shape = self.f.vars[a].shape.clone();
                        if name == "to_vec" {
                            shape[0] = Level::Dynamic;
                        }
                        self.f.vars[v].shape = shape;
                        self.f.body.push(Stmt::Let {
                            dst: Some(v),
                            rhs: Rhs::CopyArray(a),
                            span,
                        });
                        Operand::Var(v)
                    }
                    None => Operand::Var(self.f.push_op(Op::Id, vec![x], span)),
                };
            }
        }
        if PASSIVE_METHODS.contains(&name.as_str()) {
            return self.opaque(e, &format!("the method `{name}`"), true);
        }
        // `self.other(x)`: another method of the same type.
        if let Expr::Path(p) = strip_parens(&m.receiver) {
            if p.path.is_ident("self") && m.turbofish.is_none() {
                let args = m.args.iter().map(|a| self.call_arg(a)).collect();
                let receiver = m.receiver.to_token_stream();
                return self.push_call(
                    TokenStream::new(),
                    Some((receiver, m.method.clone())),
                    args,
                    m.method.span(),
                );
            }
        }
        if ITERATOR_METHODS.contains(&name.as_str()) {
            let what = format!("the iterator method `{name}` (iterator chains are not differentiated: write a `for v in x.iter()` loop)");
            return self.opaque(e, &what, false);
        }
        self.opaque(e, &format!("the method `{name}`"), false)
    }

    fn call(&mut self, e: &Expr, c: &syn::ExprCall) -> Operand {
        if let Expr::Path(p) = &*c.func {
            let segments: Vec<String> = p
                .path
                .segments
                .iter()
                .map(|s| s.ident.to_string())
                .collect();
            let last = segments.last().map(String::as_str).unwrap_or("");
            if last == "stop_gradient" && c.args.len() == 1 {
                let x = self.expr(&c.args[0]);
                return Operand::Var(self.f.push_op(Op::Stop, vec![x], e.span()));
            }
            // `f64::sin(x)`, `T::powf(x, y)`, `Float::max(a, b)`: the method in path form.
            if segments.len() >= 2 && !c.args.is_empty() {
                if let Some(op) = float_op(last, c.args.len() - 1) {
                    let args = c.args.iter().map(|a| self.expr(a)).collect();
                    return Operand::Var(self.f.push_op(op, args, e.span()));
                }
            }
            // A call of a function: differentiated through the calling convention when an
            // argument carries a derivative (the callee must be #[differentiate]d or have a
            // hand-written derivative; rustc reports the missing convention items otherwise).
            let library = segments
                .first()
                .is_some_and(|s| ["std", "core", "alloc"].contains(&s.as_str()));
            let type_path = segments
                .iter()
                .any(|s| s != "Self" && s.starts_with(|c: char| c.is_uppercase()));
            if !library && !type_path && p.qself.is_none() {
                let args = c.args.iter().map(|a| self.call_arg(a)).collect();
                return self.push_call(p.path.to_token_stream(), None, args, e.span());
            }
            let what = format!("the function `{}`", segments.join("::"));
            return self.opaque(e, &what, false);
        }
        self.opaque(e, "this call", false)
    }

    /// Whether an expression names or computes a tensor (a tensor variable, or a method
    /// chain or arithmetic on one), decided before it is lowered.
    fn is_tensor_expr(&self, e: &Expr) -> bool {
        match strip_parens(e) {
            Expr::Path(p) => p
                .path
                .get_ident()
                .and_then(|i| self.lookup(&i.to_string()))
                .is_some_and(|v| self.f.vars[v].tensor),
            Expr::Reference(r) => self.is_tensor_expr(&r.expr),
            Expr::MethodCall(m) => {
                let scalar = TensorOp::from_method(&m.method.to_string(), m.args.len())
                    .is_some_and(|t| t.scalar_result());
                !scalar && self.is_tensor_expr(&m.receiver)
            }
            Expr::Binary(b) => self.is_tensor_expr(&b.left) || self.is_tensor_expr(&b.right),
            Expr::Unary(u) => self.is_tensor_expr(&u.expr),
            _ => false,
        }
    }

    fn call_arg(&mut self, a: &Expr) -> CallArg {
        match strip_parens(a) {
            Expr::Reference(r) if r.mutability.is_none() => CallArg {
                value: self.expr(&r.expr),
                by_ref: true,
            },
            other => CallArg {
                value: self.expr(other),
                by_ref: false,
            },
        }
    }

    fn push_call(
        &mut self,
        path: TokenStream,
        method: Option<(TokenStream, Ident)>,
        args: Vec<CallArg>,
        span: Span,
    ) -> Operand {
        let v = self.f.new_var("", span, Origin::Temp);
        self.f.body.push(Stmt::Let {
            dst: Some(v),
            rhs: Rhs::Call(Call { path, method, args }),
            span,
        });
        Operand::Var(v)
    }

    /// Code kept as written; `passive_result` when its value never carries a derivative.
    fn opaque(&mut self, e: &Expr, what: &str, passive_result: bool) -> Operand {
        let (tokens, reads) = self.rename(e.to_token_stream());
        if reads.is_empty() && passive_result || reads.is_empty() && is_constant(e) {
            return Operand::Const {
                tokens,
                value: None,
            };
        }
        let dst = self
            .f
            .new_var(format!("v{}", self.f.vars.len()), e.span(), Origin::Temp);
        self.f.body.push(Stmt::Let {
            dst: Some(dst),
            rhs: Rhs::Opaque(Opaque {
                tokens,
                reads,
                passive_result,
                pure: is_pure(e),
                what: what.to_string(),
            }),
            span: e.span(),
        });
        // `Tensor::from_vec(..)` and friends: a passive tensor.
        self.f.vars[dst].tensor = e
            .to_token_stream()
            .into_iter()
            .next()
            .is_some_and(|t| t.to_string() == "Tensor");
        Operand::Var(dst)
    }

    /// `[0.0; n]`, `vec![0.0; n]`: a passive array the function then writes.
    fn array_constant(&mut self, e: &Expr, shape: Vec<Level>) -> Operand {
        let (tokens, reads) = self.rename(e.to_token_stream());
        let v = self.f.new_var("", e.span(), Origin::Temp);
        self.f.vars[v].shape = shape;
        self.f.body.push(Stmt::Let {
            dst: Some(v),
            rhs: Rhs::Opaque(Opaque {
                tokens,
                reads,
                passive_result: true,
                pure: true,
                what: "an array".into(),
            }),
            span: e.span(),
        });
        Operand::Var(v)
    }

    /// `vec![value; n]` is an array; other `vec!` forms are opaque.
    fn vec_macro(&mut self, e: &Expr, m: &syn::ExprMacro) -> Operand {
        let repeat = m.mac.parse_body_with(|input: syn::parse::ParseStream| {
            let value: Expr = input.parse()?;
            let _: syn::Token![;] = input.parse()?;
            let _: Expr = input.parse()?;
            Ok(value)
        });
        match repeat {
            Ok(value) => {
                let shape = std::iter::once(Level::Dynamic)
                    .chain(repeat_shape(&value))
                    .collect();
                self.array_constant(e, shape)
            }
            Err(_) => self.opaque(e, "the macro `vec!`", false),
        }
    }

    /// Replaces each local name in `tokens` by a placeholder `emit` resolves, and lists the
    /// variables read. A name is a local when it is bound and not a field, method, path
    /// segment, macro or function name.
    fn rename(&self, tokens: TokenStream) -> (TokenStream, Vec<VarId>) {
        let mut reads = Vec::new();
        let out = self.rename_into(tokens, &mut reads);
        reads.sort_unstable();
        reads.dedup();
        (out, reads)
    }

    fn rename_into(&self, tokens: TokenStream, reads: &mut Vec<VarId>) -> TokenStream {
        let trees: Vec<TokenTree> = tokens.into_iter().collect();
        let mut out = Vec::with_capacity(trees.len());
        for (i, tree) in trees.iter().enumerate() {
            match tree {
                TokenTree::Group(g) => {
                    let inner = self.rename_into(g.stream(), reads);
                    let mut group = Group::new(g.delimiter(), inner);
                    group.set_span(g.span());
                    out.push(TokenTree::Group(group));
                }
                TokenTree::Ident(ident) => {
                    let prev = i.checked_sub(1).map(|j| &trees[j]);
                    let next = trees.get(i + 1);
                    let after_dot_or_path = matches!(prev, Some(TokenTree::Punct(p)) if p.as_char() == '.' || p.as_char() == ':');
                    let before_path_or_call = match next {
                        Some(TokenTree::Punct(p)) => p.as_char() == ':' || p.as_char() == '!',
                        Some(TokenTree::Group(g)) => g.delimiter() == Delimiter::Parenthesis,
                        _ => false,
                    };
                    match self.lookup(&ident.to_string()) {
                        Some(v) if !after_dot_or_path && !before_path_or_call => {
                            reads.push(v);
                            out.push(TokenTree::Ident(placeholder(v, ident.span())));
                        }
                        _ => out.push(tree.clone()),
                    }
                }
                other => out.push(other.clone()),
            }
        }
        out.into_iter().collect()
    }
}

/// Whether these statements `break` / `continue` the innermost loop around them (jumps in
/// nested loops belong to those).
fn jumps(stmts: &[syn::Stmt]) -> (bool, bool) {
    let mut found = (false, false);
    for s in stmts {
        if let Some(e) = stmt_expr(s) {
            expr_jumps(e, &mut found);
        }
    }
    found
}

fn expr_jumps(e: &Expr, found: &mut (bool, bool)) {
    match e {
        Expr::Break(_) | Expr::Return(_) => found.0 = true,
        Expr::Continue(_) => found.1 = true,
        // A `return` inside a nested loop leaves this loop too.
        Expr::ForLoop(_) | Expr::While(_) | Expr::Loop(_) => found.0 |= expr_contains_return(e),
        Expr::If(i) => {
            let (b, c) = jumps(&i.then_branch.stmts);
            found.0 |= b;
            found.1 |= c;
            if let Some((_, e)) = &i.else_branch {
                expr_jumps(e, found);
            }
        }
        Expr::Block(b) => {
            let (b, c) = jumps(&b.block.stmts);
            found.0 |= b;
            found.1 |= c;
        }
        Expr::Paren(p) => expr_jumps(&p.expr, found),
        _ => {}
    }
}

/// Whether a statement contains a `return` (closures aside).
fn contains_return(s: &syn::Stmt) -> bool {
    stmt_expr(s).is_some_and(expr_contains_return)
}

fn expr_contains_return(e: &Expr) -> bool {
    let in_block = |b: &syn::Block| b.stmts.iter().any(contains_return);
    match e {
        Expr::Return(_) => true,
        Expr::If(i) => {
            in_block(&i.then_branch)
                || i.else_branch
                    .as_ref()
                    .is_some_and(|(_, e)| expr_contains_return(e))
        }
        Expr::Block(b) => in_block(&b.block),
        Expr::ForLoop(f) => in_block(&f.body),
        Expr::While(w) => in_block(&w.body),
        Expr::Loop(l) => in_block(&l.body),
        Expr::Paren(p) => expr_contains_return(&p.expr),
        _ => false,
    }
}

/// Loops, `return`, and branches that return: statements even in tail position (an `if`
/// without returns in the tail is the function's value).
fn is_control_flow(e: &Expr) -> bool {
    match e {
        Expr::If(_) => expr_contains_return(e),
        other => matches!(
            other,
            Expr::ForLoop(_) | Expr::While(_) | Expr::Loop(_) | Expr::Return(_)
        ),
    }
}

fn bool_const(value: bool) -> Operand {
    Operand::Const {
        tokens: quote!(#value),
        value: Some(if value { 1.0 } else { 0.0 }),
    }
}

fn int_const(value: usize) -> Operand {
    let lit = proc_macro2::Literal::usize_unsuffixed(value);
    Operand::Const {
        tokens: quote!(#lit),
        value: Some(value as f64),
    }
}

/// What a `for` loop runs over: an index range, and the arrays whose elements the pattern
/// binds (none for a plain range).
struct Iteration {
    start: Operand,
    end: Operand,
    inclusive: bool,
    arrays: Vec<VarId>,
    enumerate: bool,
}

fn strip_pat(p: &Pat) -> &Pat {
    match p {
        Pat::Reference(r) => strip_pat(&r.pat),
        Pat::Paren(p) => strip_pat(&p.pat),
        other => other,
    }
}

/// The identifier opaque tokens carry for variable `v` until `emit` names it.
pub fn placeholder(v: VarId, span: Span) -> Ident {
    Ident::new(&format!("__autodiff_var_{v}"), span)
}

/// The variable a placeholder stands for.
pub fn placeholder_var(ident: &Ident) -> Option<VarId> {
    ident
        .to_string()
        .strip_prefix("__autodiff_var_")?
        .parse()
        .ok()
}

fn float_op(name: &str, extra_args: usize) -> Option<Op> {
    match extra_args {
        0 => Unary::from_method(name).map(Op::Unary),
        1 if name == "powi" => Some(Op::Powi),
        1 => Binary::from_method(name).map(Op::Binary),
        2 if name == "mul_add" => Some(Op::MulAdd),
        _ => None,
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

fn literal(lit: &syn::Lit) -> Operand {
    let value = match lit {
        syn::Lit::Float(f) => f.base10_parse::<f64>().ok(),
        syn::Lit::Int(i) => i.base10_parse::<f64>().ok(),
        _ => None,
    };
    Operand::Const {
        tokens: lit.to_token_stream(),
        value,
    }
}

/// Paths and calls without local names are constants (`T::one()`, `f64::consts::PI`).
fn is_constant(e: &Expr) -> bool {
    matches!(
        e,
        Expr::Path(_) | Expr::Call(_) | Expr::MethodCall(_) | Expr::Cast(_) | Expr::Lit(_)
    )
}

/// Code whose evaluation can be repeated: casts, literals, paths, arithmetic and comparisons
/// of such, `.len()`. Calls and macros may have effects or differ between runs.
fn is_pure(e: &Expr) -> bool {
    match e {
        Expr::Lit(_) | Expr::Path(_) => true,
        Expr::Cast(c) => is_pure(&c.expr),
        Expr::Paren(p) => is_pure(&p.expr),
        Expr::Unary(u) => is_pure(&u.expr),
        Expr::Binary(b) => is_pure(&b.left) && is_pure(&b.right),
        Expr::MethodCall(m) => {
            PASSIVE_METHODS.contains(&m.method.to_string().as_str()) && is_pure(&m.receiver)
        }
        Expr::Repeat(r) => is_pure(&r.expr),
        Expr::Index(i) => is_pure(&i.expr) && is_pure(&i.index),
        _ => false,
    }
}

/// The array levels inside a repeated value: `[[0.0; 3]; 2]` has one more inside.
fn repeat_shape(e: &Expr) -> Vec<Level> {
    match strip_parens(e) {
        Expr::Repeat(r) => std::iter::once(Level::Fixed)
            .chain(repeat_shape(&r.expr))
            .collect(),
        Expr::Macro(m) if m.mac.path.is_ident("vec") => {
            let inner = m.mac.parse_body_with(|input: syn::parse::ParseStream| {
                let value: Expr = input.parse()?;
                let _: TokenStream = input.parse()?;
                Ok(value)
            });
            match inner {
                Ok(value) => std::iter::once(Level::Dynamic)
                    .chain(repeat_shape(&value))
                    .collect(),
                Err(_) => Vec::new(),
            }
        }
        _ => Vec::new(),
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
