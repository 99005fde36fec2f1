//! Lowering of `match` and `if let`: the IR's `if` / `else` chain, one branch per arm. The
//! scrutinee and each arm's test (`matches!(s, pat if guard)`) are passive code kept as
//! written; each name a pattern binds is one more passive value, read out of the scrutinee
//! by code kept as written (`match s { pat => k, _ => unreachable!() }`). The derivative
//! follows the arm actually taken, as it follows the branch of an `if`.
use super::opaque::is_pure;
use super::*;

/// What `check` calls a value a pattern binds: reported when it carries a derivative.
pub(crate) const MATCH_BINDING: &str = "a value bound by a `match` or `if let` pattern";

/// One arm: its pattern (none for an `else`), guard and body.
pub(super) struct Arm<'a> {
    pub(super) pat: Option<&'a Pat>,
    pub(super) guard: Option<&'a Expr>,
    pub(super) body: ArmBody<'a>,
}

#[derive(Clone, Copy)]
pub(super) enum ArmBody<'a> {
    Expr(&'a Expr),
    Block(&'a syn::Block),
    /// An `if let` without `else`.
    Empty,
}

impl Lower<'_> {
    /// `match` as a statement (`result` none) or as a value assigned to `result`.
    pub(super) fn match_expr(&mut self, m: &syn::ExprMatch, result: Option<VarId>) {
        let arms: Vec<Arm> = m
            .arms
            .iter()
            .map(|a| Arm {
                pat: Some(&a.pat),
                guard: a.guard.as_ref().map(|(_, g)| &**g),
                body: ArmBody::Expr(&a.body),
            })
            .collect();
        if arms.is_empty() {
            self.cx.error_spanned_by(
                m,
                "a `match` without arms is not supported in #[differentiate] functions",
            );
            return;
        }
        self.arms(&m.expr, &arms, result, m.match_token.span);
    }

    /// `if let pat = e { .. } else ..` as a statement or a value.
    pub(super) fn if_let(&mut self, i: &syn::ExprIf, l: &syn::ExprLet, result: Option<VarId>) {
        let otherwise = match &i.else_branch {
            Some((_, e)) => ArmBody::Expr(e),
            None if result.is_some() => {
                self.cx
                    .error_spanned_by(i, "an `if let` used as a value needs an `else` branch");
                return;
            }
            None => ArmBody::Empty,
        };
        let arms = [
            Arm {
                pat: Some(&l.pat),
                guard: None,
                body: ArmBody::Block(&i.then_branch),
            },
            Arm {
                pat: None,
                guard: None,
                body: otherwise,
            },
        ];
        self.arms(&l.expr, &arms, result, i.if_token.span);
    }

    fn arms(&mut self, scrutinee: &Expr, arms: &[Arm], result: Option<VarId>, span: Span) {
        // A place (`k`, `self.kind`, `(a, b)`, `&opt`) is named again in every test; anything
        // else (`x.partial_cmp(&y)`, `it.next()`) is evaluated once, into a passive value.
        let (tokens, reads) = if is_place(scrutinee) {
            self.rename(scrutinee.to_token_stream())
        } else {
            let (tokens, reads) = self.rename(scrutinee.to_token_stream());
            let v = self.f.new_var("scrutinee", scrutinee.span(), Origin::Temp);
            self.f.body.push(Stmt::Let {
                dst: Some(v),
                rhs: Rhs::Opaque(Opaque {
                    tokens,
                    reads,
                    passive_result: true,
                    pure: is_pure(scrutinee),
                    what: "a `match` scrutinee".into(),
                }),
                span: scrutinee.span(),
            });
            let ph = placeholder(v, scrutinee.span());
            (quote!(#ph), vec![v])
        };
        self.arm_chain(&tokens, &reads, arms, result, span);
    }

    fn arm_chain(
        &mut self,
        scrutinee: &TokenStream,
        reads: &[VarId],
        arms: &[Arm],
        result: Option<VarId>,
        span: Span,
    ) {
        let arm = &arms[0];
        // The last arm, or one that matches anything, needs no test (the function as written
        // is checked by rustc, so its `match` is exhaustive).
        let catch_all = arm.guard.is_none() && arm.pat.is_none_or(irrefutable);
        if arms.len() == 1 || catch_all {
            self.arm_body(scrutinee, reads, arm, result, span);
            return;
        }
        let pat = arm.pat.expect("only the last arm has no pattern");
        let names = bound_names(pat);
        let vars = self.binding_vars(&names);
        self.scopes
            .push(names.iter().cloned().zip(vars.iter().copied()).collect());
        let (pat_tokens, mut cond_reads) = self.rename(pat.to_token_stream());
        let guard = arm.guard.map(|g| {
            let (tokens, r) = self.rename(g.to_token_stream());
            cond_reads.extend(r);
            quote!(if #tokens)
        });
        self.scopes.pop();
        cond_reads.retain(|r| !vars.contains(r));
        cond_reads.extend_from_slice(reads);
        cond_reads.sort_unstable();
        cond_reads.dedup();
        let cond = self.f.new_var("", pat.span(), Origin::Temp);
        self.f.body.push(Stmt::Let {
            dst: Some(cond),
            rhs: Rhs::Opaque(Opaque {
                tokens: quote!(::core::matches!(#scrutinee, #pat_tokens #guard)),
                reads: cond_reads,
                passive_result: true,
                pure: true,
                what: "a `match` arm's test".into(),
            }),
            span: pat.span(),
        });
        let then = self.nested_block(|l| l.arm_body(scrutinee, reads, arm, result, span));
        let otherwise =
            self.nested_block(|l| l.arm_chain(scrutinee, reads, &arms[1..], result, span));
        self.f.body.push(Stmt::If {
            cond: Operand::Var(cond),
            then,
            otherwise,
            span,
        });
    }

    /// Fresh variables for the names a pattern binds.
    fn binding_vars(&mut self, names: &[String]) -> Vec<VarId> {
        names
            .iter()
            .map(|_| self.f.new_var("", Span::call_site(), Origin::Temp))
            .collect()
    }

    /// The bindings of an arm's pattern, then its body.
    fn arm_body(
        &mut self,
        scrutinee: &TokenStream,
        reads: &[VarId],
        arm: &Arm,
        result: Option<VarId>,
        span: Span,
    ) {
        if let Some(pat) = arm.pat {
            let idents = bound_idents(pat);
            let names: Vec<String> = idents.iter().map(ToString::to_string).collect();
            let vars = self.binding_vars(&names);
            self.scopes
                .push(names.iter().cloned().zip(vars.iter().copied()).collect());
            let (pat_tokens, mut pat_reads) = self.rename(pat.to_token_stream());
            self.scopes.pop();
            pat_reads.retain(|r| !vars.contains(r));
            pat_reads.extend_from_slice(reads);
            pat_reads.sort_unstable();
            pat_reads.dedup();
            for (ident, &v) in idents.iter().zip(&vars) {
                let ph = placeholder(v, ident.span());
                self.f.body.push(Stmt::Let {
                    dst: Some(v),
                    rhs: Rhs::Opaque(Opaque {
                        tokens: match irrefutable(pat) {
                            true => quote!(match #scrutinee { #pat_tokens => #ph }),
                            false => quote! {
                                match #scrutinee { #pat_tokens => #ph, _ => ::core::unreachable!() }
                            },
                        },
                        reads: pat_reads.clone(),
                        passive_result: false,
                        pure: true,
                        what: MATCH_BINDING.into(),
                    }),
                    span: ident.span(),
                });
                let info = &mut self.f.vars[v];
                info.name = ident.to_string();
                info.span = ident.span();
                info.origin = Origin::Local;
                self.bind(ident, v);
            }
        }
        match (arm.body, result) {
            (ArmBody::Empty, _) => {}
            (ArmBody::Block(b), None) => self.stmts(&b.stmts),
            (ArmBody::Block(b), Some(dst)) => {
                let value = self.block_value(b);
                self.assign_result(dst, value, span);
            }
            (ArmBody::Expr(e), None) => match strip_parens(e) {
                Expr::Block(b) if b.label.is_none() => self.stmts(&b.block.stmts),
                other => self.expr_stmt(other),
            },
            (ArmBody::Expr(e), Some(dst)) => {
                let value = self.expr(e);
                self.assign_result(dst, value, span);
            }
        }
    }
}

/// A scrutinee that can be named again without evaluating anything.
fn is_place(e: &Expr) -> bool {
    match e {
        Expr::Path(_) | Expr::Lit(_) => true,
        Expr::Field(f) => is_place(&f.base),
        Expr::Paren(p) => is_place(&p.expr),
        Expr::Reference(r) => r.mutability.is_none() && is_place(&r.expr),
        Expr::Tuple(t) => t.elems.iter().all(is_place),
        _ => false,
    }
}

/// `_` or a plain name: matches anything.
fn irrefutable(p: &Pat) -> bool {
    match p {
        Pat::Wild(_) => true,
        Pat::Ident(i) => i.subpat.is_none() && !starts_upper(&i.ident),
        Pat::Paren(p) => irrefutable(&p.pat),
        Pat::Type(t) => irrefutable(&t.pat),
        Pat::Tuple(t) => t.elems.iter().all(irrefutable),
        _ => false,
    }
}

/// `None`, `Less`: an identifier pattern that names a constant or a unit variant.
fn starts_upper(i: &Ident) -> bool {
    i.to_string().chars().next().is_some_and(char::is_uppercase)
}

fn bound_names(p: &Pat) -> Vec<String> {
    bound_idents(p).iter().map(ToString::to_string).collect()
}

/// The names a pattern binds (of an or-pattern, its first alternative's, which rustc checks
/// are the others' too), by syn's `Visit`: not inside the types, paths and expressions
/// (constants, ranges) a pattern holds, which bind nothing.
fn bound_idents(p: &Pat) -> Vec<Ident> {
    struct Bound(Vec<Ident>);
    impl<'ast> syn::visit::Visit<'ast> for Bound {
        fn visit_pat_ident(&mut self, i: &'ast syn::PatIdent) {
            if !starts_upper(&i.ident) {
                self.0.push(i.ident.clone());
            }
            syn::visit::visit_pat_ident(self, i);
        }
        fn visit_pat_or(&mut self, o: &'ast syn::PatOr) {
            if let Some(first) = o.cases.first() {
                self.visit_pat(first);
            }
        }
        fn visit_type(&mut self, _: &'ast syn::Type) {}
        fn visit_expr(&mut self, _: &'ast Expr) {}
        fn visit_expr_const(&mut self, _: &'ast syn::ExprConst) {}
        fn visit_macro(&mut self, _: &'ast syn::Macro) {}
    }
    let mut bound = Bound(Vec::new());
    syn::visit::Visit::visit_pat(&mut bound, p);
    bound.0
}

impl Lower<'_> {
    /// `let act = |z: f64| z.tanh() * w;`: kept, not lowered; each call `act(x)` is the
    /// closure's body with its parameters bound to the arguments (see [`Lower::inline`]).
    pub(super) fn define_closure(&mut self, ident: &Ident, c: &syn::ExprClosure) {
        if c.asyncness.is_some() || c.constness.is_some() {
            self.cx.error_spanned_by(
                c,
                "this closure is not supported in #[differentiate] functions",
            );
            return;
        }
        let name = ident.to_string();
        // A name bound before as a variable is shadowed by the closure.
        if let Some(scope) = self.scopes.last_mut() {
            scope.remove(&name);
        }
        let closure = Closure {
            closure: c.clone(),
            scopes: self.scopes.clone(),
            closures: self.closures.clone(),
        };
        self.closures.insert(name, closure);
    }

    /// The closure bound to the name called here, if any (and not shadowed since).
    pub(super) fn closure_called(&self, func: &Expr) -> Option<String> {
        let Expr::Path(p) = strip_parens(func) else {
            return None;
        };
        let name = p.path.get_ident()?.to_string();
        (self.lookup(&name).is_none() && self.closures.contains_key(&name)).then_some(name)
    }

    /// A call of a closure bound in the body: its body, lowered where the call is, with the
    /// parameters bound to the arguments and the other names as the definition saw them.
    pub(super) fn inline(&mut self, name: &str, c: &syn::ExprCall) -> Operand {
        let closure = self.closures[name].clone();
        let (body, inputs) = (closure.closure.body, closure.closure.inputs);
        let scopes = closure.scopes;
        if inputs.len() != c.args.len() {
            return self.unsupported(
                c,
                "this call gives the closure a different number of arguments than it takes",
            );
        }
        if super::syntax::returns_anywhere(&body) {
            return self.unsupported(
                &body,
                "`return` inside a closure is not supported in #[differentiate] functions; end the closure with its value",
            );
        }
        let args: Vec<Operand> = c.args.iter().map(|a| self.expr(a)).collect();
        let outer = std::mem::replace(&mut self.scopes, scopes);
        let outer_closures = std::mem::replace(&mut self.closures, closure.closures);
        self.scopes.push(HashMap::new());
        self.depth += 1;
        for (p, v) in inputs.iter().zip(args) {
            let p = match p {
                Pat::Reference(r) => &*r.pat,
                other => other,
            };
            self.bind_value(p, v, None);
        }
        let value = self.expr(&body);
        self.depth -= 1;
        self.scopes = outer;
        self.closures = outer_closures;
        value
    }
}
