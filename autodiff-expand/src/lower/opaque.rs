//! Code the macro keeps as written (`Opaque`): comparisons, integer arithmetic, calls on
//! passive values, array constants; its local names renamed to the IR's variables, and the
//! variables it reads recorded, so `check` can tell when it reads a differentiated value.
use super::*;
use expr::is_constant;

impl Lower<'_> {
    /// Code kept as written; `passive_result` when its value never carries a derivative.
    pub(super) fn opaque(&mut self, e: &Expr, what: &str, passive_result: bool) -> Operand {
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
    pub(super) fn array_constant(&mut self, e: &Expr, shape: Vec<Level>) -> Operand {
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

    /// Replaces each local name in `tokens` by a placeholder `emit` resolves, and lists the
    /// variables read. A name is a local when it is bound and not a field, method, path
    /// segment, macro or function name.
    pub(super) fn rename(&self, tokens: TokenStream) -> (TokenStream, Vec<VarId>) {
        let mut reads = Vec::new();
        let out = self.rename_into(tokens, &mut reads);
        reads.sort_unstable();
        reads.dedup();
        (out, reads)
    }

    pub(super) fn rename_into(&self, tokens: TokenStream, reads: &mut Vec<VarId>) -> TokenStream {
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
                    let name = ident.to_string();
                    if !after_dot_or_path
                        && self.lookup(&name).is_none()
                        && self.closures.contains_key(&name)
                    {
                        self.cx.error_spanned_by(
                            ident,
                            format!("the closure `{name}` is inlined where it is called, so it can only be called by name here (`{name}(x)`); write the calls out, or the loop with `for`"),
                        );
                    }
                    match self.lookup(&name) {
                        Some(v)
                            if !after_dot_or_path
                                && !before_path_or_call
                                && self.views.contains_key(&v) =>
                        {
                            let (tokens, read) = self.views[&v].tokens(ident.span());
                            reads.extend(read);
                            out.extend(tokens);
                        }
                        Some(v) if !after_dot_or_path && !before_path_or_call => {
                            reads.push(v);
                            out.push(TokenTree::Ident(placeholder(v, ident.span())));
                        }
                        _ => out.push(tree.clone()),
                    }
                }
                // `*v` on an element: the element is a value here.
                TokenTree::Punct(p) if p.as_char() == '*' && unary_at(&trees, i) => {
                    let j = (i..trees.len())
                        .find(|&j| !matches!(&trees[j], TokenTree::Punct(q) if q.as_char() == '*'))
                        .unwrap_or(trees.len());
                    let element = match trees.get(j) {
                        Some(TokenTree::Ident(id)) => self
                            .lookup(&id.to_string())
                            .is_some_and(|v| self.elements.contains(&v)),
                        _ => false,
                    };
                    if !element {
                        out.push(tree.clone());
                    }
                }
                other => out.push(other.clone()),
            }
        }
        out.into_iter().collect()
    }
}

/// Whether the `*` at `i` is a dereference: nothing before it, or an operator.
pub(super) fn unary_at(trees: &[TokenTree], i: usize) -> bool {
    match i.checked_sub(1).map(|j| &trees[j]) {
        None => true,
        Some(TokenTree::Punct(p)) => p.as_char() != '\'',
        Some(_) => false,
    }
}

/// Code whose evaluation can be repeated: casts, literals, paths, arithmetic and comparisons
/// of such, `.len()`. Calls and macros may have effects or differ between runs.
pub(super) fn is_pure(e: &Expr) -> bool {
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
