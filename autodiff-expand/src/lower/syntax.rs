//! Syntactic scans the lowering needs before it lowers a block: the names a block assigns
//! inside nested blocks (a `let mut` that a loop or branch writes is a location), whether it
//! returns early, breaks or continues.
use super::*;
use syn::visit::Visit;

/// The names assigned inside a branch or loop, and the arrays written by element anywhere.
pub(super) fn assigned_in_nested(block: &syn::Block) -> HashSet<String> {
    let mut assignments = Assignments {
        nested: false,
        names: HashSet::new(),
    };
    for stmt in &block.stmts {
        assignments.visit_stmt(stmt);
    }
    assignments.names
}

/// The names a function body writes (syn's `Visit`, so no position is missed): a plain name
/// assigned in a branch, loop or closure, an array written by element (`x[i] = ..`)
/// anywhere, a receiver of a method that changes it in place (`z.swap(i, j)`), and what
/// `&mut name` borrows (`helper(&mut z)`, also inside a macro's tokens). A plain name
/// assigned at the top level is not one: lowering renames it.
pub(super) struct Assignments {
    /// Inside a branch, loop or closure, which may run other than once.
    nested: bool,
    names: HashSet<String>,
}

impl Assignments {
    fn target(&mut self, left: &Expr) {
        let (base, indexed) = index_base(left);
        if let Some(base) = base {
            if self.nested || indexed {
                self.names.insert(base.to_string());
            }
        }
    }

    fn nested(&mut self, visit: impl FnOnce(&mut Self)) {
        let outer = std::mem::replace(&mut self.nested, true);
        visit(self);
        self.nested = outer;
    }
}

/// Whether a `return` is anywhere in `e`, in nested closures and blocks too (syn's `Visit`;
/// inside a macro's tokens, as a token): in a closure body it would leave the closure, where
/// the loop the macro writes in its place would leave the function. `expr_contains_return`
/// follows only the statement positions the lowering of early returns handles.
pub(super) fn returns_anywhere(e: &Expr) -> bool {
    struct Returns(bool);
    impl<'ast> Visit<'ast> for Returns {
        fn visit_expr_return(&mut self, _: &'ast syn::ExprReturn) {
            self.0 = true;
        }
        fn visit_macro(&mut self, m: &'ast syn::Macro) {
            fn any_return(tokens: TokenStream) -> bool {
                tokens.into_iter().any(|t| match t {
                    proc_macro2::TokenTree::Ident(i) => i == "return",
                    proc_macro2::TokenTree::Group(g) => any_return(g.stream()),
                    _ => false,
                })
            }
            self.0 |= any_return(m.tokens.clone());
        }
    }
    let mut returns = Returns(false);
    returns.visit_expr(e);
    returns.0
}

/// The expression of an expression statement or of a `let`'s value.
pub(super) fn stmt_expr(s: &syn::Stmt) -> Option<&Expr> {
    match s {
        syn::Stmt::Expr(e, _) => Some(e),
        syn::Stmt::Local(l) => l.init.as_ref().map(|i| &*i.expr),
        _ => None,
    }
}

/// The variable under `x`, `x[i]`, `x[i][j]`, and whether it is indexed.
pub(super) fn index_base(e: &Expr) -> (Option<&Ident>, bool) {
    match strip_parens(e) {
        Expr::Path(p) => (p.path.get_ident(), false),
        Expr::Index(i) => (index_base(&i.expr).0, true),
        _ => (None, false),
    }
}

/// Whether these statements `break` / `continue` the innermost loop around them (jumps in
/// nested loops belong to those).
pub(super) fn jumps(stmts: &[syn::Stmt]) -> (bool, bool) {
    let mut found = (false, false);
    for s in stmts {
        if let Some(e) = stmt_expr(s) {
            expr_jumps(e, &mut found);
        }
    }
    found
}

pub(super) fn expr_jumps(e: &Expr, found: &mut (bool, bool)) {
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
        Expr::Match(m) => m.arms.iter().for_each(|a| expr_jumps(&a.body, found)),
        Expr::Paren(p) => expr_jumps(&p.expr, found),
        _ => {}
    }
}

/// Whether a statement contains a `return` (closures aside).
pub(super) fn contains_return(s: &syn::Stmt) -> bool {
    stmt_expr(s).is_some_and(expr_contains_return)
}

pub(super) fn expr_contains_return(e: &Expr) -> bool {
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
        Expr::Match(m) => m.arms.iter().any(|a| expr_contains_return(&a.body)),
        Expr::ForLoop(f) => in_block(&f.body),
        Expr::While(w) => in_block(&w.body),
        Expr::Loop(l) => in_block(&l.body),
        Expr::Paren(p) => expr_contains_return(&p.expr),
        _ => false,
    }
}

/// Loops, `return`, and branches that return: statements even in tail position (an `if`
/// without returns in the tail is the function's value).
pub(super) fn is_control_flow(e: &Expr) -> bool {
    match e {
        Expr::If(_) | Expr::Match(_) => expr_contains_return(e),
        other => matches!(
            other,
            Expr::ForLoop(_) | Expr::While(_) | Expr::Loop(_) | Expr::Return(_)
        ),
    }
}

impl<'ast> Visit<'ast> for Assignments {
    fn visit_expr(&mut self, e: &'ast Expr) {
        if let Some(receiver) = in_place::changed_receiver(e) {
            self.names.insert(receiver.to_string());
        }
        syn::visit::visit_expr(self, e);
    }

    fn visit_expr_assign(&mut self, a: &'ast syn::ExprAssign) {
        self.target(&a.left);
        syn::visit::visit_expr_assign(self, a);
    }

    fn visit_expr_binary(&mut self, b: &'ast syn::ExprBinary) {
        if compound_op(&b.op).is_some() {
            self.target(&b.left);
        }
        syn::visit::visit_expr_binary(self, b);
    }

    fn visit_expr_reference(&mut self, r: &'ast syn::ExprReference) {
        if r.mutability.is_some() {
            self.names
                .extend(in_place::borrowed_base(&r.expr).map(ToString::to_string));
        }
        syn::visit::visit_expr_reference(self, r);
    }

    fn visit_expr_if(&mut self, i: &'ast syn::ExprIf) {
        self.visit_expr(&i.cond);
        self.nested(|v| {
            v.visit_block(&i.then_branch);
            if let Some((_, e)) = &i.else_branch {
                v.visit_expr(e);
            }
        });
    }

    fn visit_expr_match(&mut self, m: &'ast syn::ExprMatch) {
        self.visit_expr(&m.expr);
        self.nested(|v| m.arms.iter().for_each(|a| v.visit_arm(a)));
    }

    fn visit_expr_for_loop(&mut self, f: &'ast syn::ExprForLoop) {
        self.visit_expr(&f.expr);
        self.nested(|v| v.visit_block(&f.body));
    }

    fn visit_expr_while(&mut self, w: &'ast syn::ExprWhile) {
        self.nested(|v| syn::visit::visit_expr_while(v, w));
    }

    fn visit_expr_loop(&mut self, l: &'ast syn::ExprLoop) {
        self.nested(|v| syn::visit::visit_expr_loop(v, l));
    }

    fn visit_expr_closure(&mut self, c: &'ast syn::ExprClosure) {
        self.nested(|v| syn::visit::visit_expr_closure(v, c));
    }

    /// syn does not parse a macro's tokens: `&mut name` is found in them as tokens.
    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        in_place::borrowed_mut_tokens(m.tokens.clone(), &mut self.names);
    }

    /// A nested `fn` or other item does not see the function's bindings.
    fn visit_item(&mut self, _: &'ast syn::Item) {}
}
