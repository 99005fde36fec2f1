//! Operations: the tokens of an operation on operands (float methods, runtime helpers,
//! tensor operations), operands and constants typed from a witness, and when a tensor
//! temporary may be consumed.
use super::*;
use crate::ir::op::{Form, Pass};

impl<'a> Emitter<'a> {
    /// The operation's tokens, as the registry's `form` facet says. A rule constant is typed
    /// by the first variable operand, or where there is none by a constant of the user's
    /// code (`T::zero() - 1.0` does not compile in a generic function: the partial of
    /// `x.powf(T::zero())`).
    pub(super) fn op(&self, op: Op, args: &[Operand]) -> TokenStream {
        let witness = args
            .iter()
            .find(|a| matches!(a, Operand::Var(_)))
            .or_else(|| args.iter().find(|a| matches!(a, Operand::Const { .. })));
        let tensor = args
            .iter()
            .any(|a| a.var().is_some_and(|v| self.f.vars[v].tensor));
        let form = op.row().form;
        if tensor {
            if let Some(tokens) = self.tensor_op(form, args, witness) {
                return tokens;
            }
        }
        let a: Vec<TokenStream> = args.iter().map(|x| self.operand(x, witness)).collect();
        match form {
            Form::Copy => a[0].clone(),
            Form::Prefix { operator, .. } => {
                let (operator, x) = (operator(), &a[0]);
                quote!(#operator #x)
            }
            Form::Infix { operator, .. } => {
                let (operator, l, r) = (operator(), &a[0], &a[1]);
                quote!(#l #operator #r)
            }
            Form::Method(method) => {
                let (x, m, rest) = (&a[0], Ident::new(method, Span::call_site()), &a[1..]);
                quote!(#x.#m(#(#rest),*))
            }
            Form::Select(cmp) => {
                let (l, r, t, f) = (&a[0], &a[1], &a[2], &a[3]);
                let cmp: TokenStream = Cmp::tokens(cmp);
                quote!(if #l #cmp #r { #t } else { #f })
            }
            // The first operand borrowed, the others by value.
            Form::Helper(path) => {
                let (path, x, rest) = (path(), self.borrowed(&args[0], witness), &a[1..]);
                quote!(#path(#x #(, #rest)*))
            }
            Form::Reduce | Form::TensorMethod(_) | Form::Rule(_) => {
                self.runtime_op(form, args, witness)
            }
            Form::Call(r) => {
                let path = r.path();
                let all = args.iter().zip(r.passing()).map(|(x, pass)| {
                    let x = self.operand(x, witness);
                    match pass {
                        Pass::Mut => quote!(&mut #x),
                        Pass::Slice => quote!(&#x[..]),
                        Pass::MutSlice => quote!(&mut #x[..]),
                    }
                });
                quote!(#path(#(#all),*))
            }
        }
    }

    /// Tensor methods, tensor derivative rules and unbroadcasts: calls of the runtime with
    /// borrowed operands, whatever the operands' types.
    pub(super) fn runtime_op(
        &self,
        form: Form,
        args: &[Operand],
        witness: Option<&Operand>,
    ) -> TokenStream {
        let p = private();
        let b: Vec<TokenStream> = args.iter().map(|x| self.borrowed(x, witness)).collect();
        let a0 = self.operand(&args[0], witness);
        match form {
            Form::Reduce => {
                let (x, g) = (&b[0], &b[1]);
                match args[1].var().filter(|&v| self.consumable(v)) {
                    // A cotangent read only here is moved: no copy when shapes match.
                    Some(v) => {
                        let g = &self.names[v];
                        quote!(#p::reduce_owned(#x, #g))
                    }
                    None => quote!(#p::reduce_to(#x, #g)),
                }
            }
            // A tensor operand is borrowed; a passive one (an axis, `usize`) is passed by value,
            // a variable (`x.sum_axis(axis)`) as well as a literal.
            Form::TensorMethod(method) => {
                let m = Ident::new(method, Span::call_site());
                let rest = args[1..].iter().map(|x| match x {
                    Operand::Var(v) if self.f.vars[*v].tensor => self.borrowed(x, witness),
                    other => self.operand(other, witness),
                });
                quote!(#a0.#m(#(#rest),*))
            }
            // The helpers take tensors and the cotangent (last, a tensor or a scalar) by
            // reference, and an axis by value. A cotangent that is a constant is borrowed
            // too (`0.1 * w.square().sum()`: the sum's cotangent in `_grad` is the constant
            // 0.1). A diagonal rule that can take its cotangent by value is handed a
            // temporary read only here: it writes the result into the cotangent's buffer.
            Form::Rule(r) => {
                let path = r.path();
                let last = args.len().saturating_sub(1);
                let all = args.iter().enumerate().map(|(i, x)| match x {
                    Operand::Const { .. } if i < last => self.operand(x, witness),
                    Operand::Var(v) if i < last && !self.f.vars[*v].tensor => {
                        self.operand(x, witness)
                    }
                    Operand::Var(v) if i == last && r.takes_owned() && self.consumable(*v) => {
                        self.operand(x, witness)
                    }
                    _ => self.borrowed(x, witness),
                });
                quote!(#path(#(#all),*))
            }
            // `op` and `tensor_op` send only the three forms above here.
            other => {
                let message = format!("autodiff internal error: {other:?} is not a runtime call");
                quote!(::core::compile_error!(#message))
            }
        }
    }

    /// An operation with a tensor operand: operands are borrowed (tensors are not `Copy`),
    /// arithmetic goes through the runtime's broadcasting helpers, and constants take the
    /// tensor's element type. `None` for the forms that are the same on tensors (float
    /// methods, selects, scalar helpers).
    pub(super) fn tensor_op(
        &self,
        form: Form,
        args: &[Operand],
        witness: Option<&Operand>,
    ) -> Option<TokenStream> {
        let b: Vec<TokenStream> = args.iter().map(|x| self.borrowed(x, witness)).collect();
        Some(match form {
            Form::Copy => {
                let x = &b[0];
                quote!(::core::clone::Clone::clone(#x))
            }
            Form::Prefix { helper, .. } => {
                let (helper, x) = (helper(), &b[0]);
                quote!(#helper(#x))
            }
            Form::Infix { operator, helper } => {
                let (l, r) = (&b[0], &b[1]);
                // A temporary tensor read only here is consumed: its buffer holds the result.
                let both_tensors = args
                    .iter()
                    .all(|a| a.var().is_some_and(|v| self.f.vars[v].tensor));
                if let Some(v) = args[0]
                    .var()
                    .filter(|&v| both_tensors && self.consumable(v))
                {
                    let (name, operator) = (&self.names[v], operator());
                    return Some(quote!(#name #operator #r));
                }
                let helper = helper();
                // An operand read only here whose type the IR does not record as a tensor
                // (an adjoint taken out of its accumulator, `let v = adj_w;`, to add to it):
                // moved into the helper's owned form, which adds in its buffer when the
                // result has its shape (a scalar one is combined as before).
                if let Some(v) = args[0].var().filter(|&v| self.consumable(v)) {
                    let (helper, name) = (owned_helper(&helper, "_owned"), &self.names[v]);
                    return Some(quote!(#helper(#name, #r)));
                }
                if let Some(v) = args[1].var().filter(|&v| self.consumable(v)) {
                    let (helper, name) = (owned_helper(&helper, "_owned_rhs"), &self.names[v]);
                    return Some(quote!(#helper(#l, #name)));
                }
                quote!(#helper(#l, #r))
            }
            Form::Reduce | Form::TensorMethod(_) | Form::Rule(_) => {
                self.runtime_op(form, args, witness)
            }
            Form::Method(_) | Form::Select(_) | Form::Helper(_) | Form::Call(_) => return None,
        })
    }

    /// A tensor the macro made (not a user's binding, not a location) that is read once.
    pub(super) fn consumable(&self, v: VarId) -> bool {
        let var = &self.f.vars[v];
        self.uses[v] == 1
            && !var.mutable
            && !var.reference
            && matches!(var.origin, Origin::Temp | Origin::Derivative)
    }

    /// `&x`, or `x` where it already is a reference; a constant as a reference to a value of
    /// the witness's element type.
    pub(super) fn borrowed(&self, o: &Operand, witness: Option<&Operand>) -> TokenStream {
        let p = private();
        match o {
            Operand::Var(v) if self.f.vars[*v].reference => self.names[*v].to_token_stream(),
            Operand::Var(v) => {
                let name = &self.names[*v];
                quote!(&#name)
            }
            Operand::Lit(c) => {
                let lit = Literal::f64_unsuffixed(c.abs());
                let lit = if c.is_sign_negative() {
                    quote!((-#lit))
                } else {
                    quote!(#lit)
                };
                match witness {
                    Some(w) => {
                        let w = self.borrowed(w, None);
                        quote!(&#p::lit_like(#w, #lit))
                    }
                    None => quote!(&#lit),
                }
            }
            Operand::Const { .. } => {
                let c = self.operand(o, witness);
                quote!(&#c)
            }
        }
    }

    /// An operand; a rule constant takes its float type from `witness`.
    pub fn operand(&self, o: &Operand, witness: Option<&Operand>) -> TokenStream {
        match o {
            Operand::Var(v) => self.names[*v].to_token_stream(),
            Operand::Const { tokens, .. } => {
                let tokens = self.resolve_placeholders(tokens.clone());
                if tokens.clone().into_iter().count() > 1 {
                    quote!((#tokens))
                } else {
                    tokens
                }
            }
            Operand::Lit(c) => self.constant(*c, witness),
        }
    }

    /// A rule constant: a literal where rustc can infer its type, else converted to the
    /// witness's type at run time (free after inlining).
    pub fn constant(&self, c: f64, witness: Option<&Operand>) -> TokenStream {
        let lit = Literal::f64_unsuffixed(c.abs());
        let lit = if c.is_sign_negative() {
            quote!((-#lit))
        } else {
            quote!(#lit)
        };
        match witness {
            Some(w) if !self.concrete => {
                let w = self.operand(w, None);
                let p = private();
                quote!(#p::lit_like(&#w, #lit))
            }
            _ => lit,
        }
    }
}

/// The owned form of a broadcasting helper (`::autodiff::__private::add` to `add_owned` or
/// `add_owned_rhs`): the path with `suffix` on its last segment.
fn owned_helper(helper: &TokenStream, suffix: &str) -> TokenStream {
    let mut trees: Vec<TokenTree> = helper.clone().into_iter().collect();
    if let Some(TokenTree::Ident(last)) = trees.last_mut() {
        *last = Ident::new(&format!("{last}{suffix}"), last.span());
    }
    trees.into_iter().collect()
}
