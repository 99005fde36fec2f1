//! Operations: the tokens of an operation on operands (float methods, runtime helpers,
//! tensor operations), operands and constants typed from a witness, and when a tensor
//! temporary may be consumed.
use super::*;

impl<'a> Emitter<'a> {
    /// The operation's tokens. A rule constant is typed by the first variable operand.
    pub(super) fn op(&self, op: Op, args: &[Operand]) -> TokenStream {
        let witness = args.iter().find(|a| matches!(a, Operand::Var(_)));
        let tensor = args
            .iter()
            .any(|a| a.var().is_some_and(|v| self.f.vars[v].tensor));
        if tensor {
            if let Some(tokens) = self.tensor_op(op, args, witness) {
                return tokens;
            }
        }
        let a: Vec<TokenStream> = args.iter().map(|x| self.operand(x, witness)).collect();
        let p = private();
        match op {
            Op::Id | Op::Stop => a[0].clone(),
            Op::Neg => {
                let x = &a[0];
                quote!(-#x)
            }
            Op::Add | Op::Sub | Op::Mul | Op::Div => {
                let (l, r) = (&a[0], &a[1]);
                match op {
                    Op::Add => quote!(#l + #r),
                    Op::Sub => quote!(#l - #r),
                    Op::Mul => quote!(#l * #r),
                    _ => quote!(#l / #r),
                }
            }
            Op::Unary(u) => {
                let (x, m) = (&a[0], Ident::new(u.method(), Span::call_site()));
                quote!(#x.#m())
            }
            Op::Binary(b) => {
                let (x, y, m) = (&a[0], &a[1], Ident::new(b.method(), Span::call_site()));
                quote!(#x.#m(#y))
            }
            Op::Powi => {
                let (x, n) = (&a[0], &a[1]);
                quote!(#x.powi(#n))
            }
            Op::MulAdd => {
                let (x, m, c) = (&a[0], &a[1], &a[2]);
                quote!(#x.mul_add(#m, #c))
            }
            Op::Select(cmp) => {
                let (l, r, t, f) = (&a[0], &a[1], &a[2], &a[3]);
                let cmp = match cmp {
                    Cmp::Ge => quote!(>=),
                    Cmp::Le => quote!(<=),
                    Cmp::Gt => quote!(>),
                };
                quote!(if #l #cmp #r { #t } else { #f })
            }
            Op::LnOrZero => {
                let x = self.borrowed(&args[0], witness);
                quote!(#p::ln_or_zero(#x))
            }
            Op::Sign => {
                let x = self.borrowed(&args[0], witness);
                quote!(#p::sign(#x))
            }
            Op::CastLike => {
                let (x, n) = (self.borrowed(&args[0], witness), &a[1]);
                quote!(#p::cast_like(#x, #n))
            }
            Op::ReduceTo | Op::Tensor(_) | Op::Rule(_) => self.runtime_op(op, args, witness),
        }
    }

    /// Tensor methods, tensor derivative rules and unbroadcasts: calls of the runtime with
    /// borrowed operands, whatever the operands' types.
    pub(super) fn runtime_op(
        &self,
        op: Op,
        args: &[Operand],
        witness: Option<&Operand>,
    ) -> TokenStream {
        let p = private();
        let b: Vec<TokenStream> = args.iter().map(|x| self.borrowed(x, witness)).collect();
        let a0 = self.operand(&args[0], witness);
        match op {
            Op::ReduceTo => {
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
            Op::Tensor(t) => {
                let m = Ident::new(t.method(), Span::call_site());
                let rest = args[1..].iter().map(|x| match x {
                    Operand::Var(v) if self.f.vars[*v].tensor => self.borrowed(x, witness),
                    other => self.operand(other, witness),
                });
                quote!(#a0.#m(#(#rest),*))
            }
            // The helpers take tensors and the cotangent (last, a tensor or a scalar) by
            // reference, and an axis by value.
            Op::Rule(r) => {
                let f = Ident::new(r.name, Span::call_site());
                let last = args.len().saturating_sub(1);
                let all = args.iter().enumerate().map(|(i, x)| match x {
                    Operand::Const { .. } => self.operand(x, witness),
                    Operand::Var(v) if i < last && !self.f.vars[*v].tensor => {
                        self.operand(x, witness)
                    }
                    _ => self.borrowed(x, witness),
                });
                quote!(#p::tensor_rules::#f(#(#all),*))
            }
            // `op` and `tensor_op` send only the three operations above here.
            other => {
                let message = format!("autodiff internal error: {other:?} is not a runtime call");
                quote!(::core::compile_error!(#message))
            }
        }
    }

    /// An operation with a tensor operand: operands are borrowed (tensors are not `Copy`),
    /// arithmetic goes through the runtime's broadcasting helpers, and constants take the
    /// tensor's element type.
    pub(super) fn tensor_op(
        &self,
        op: Op,
        args: &[Operand],
        witness: Option<&Operand>,
    ) -> Option<TokenStream> {
        let p = private();
        let b: Vec<TokenStream> = args.iter().map(|x| self.borrowed(x, witness)).collect();
        Some(match op {
            Op::Id | Op::Stop => {
                let x = &b[0];
                quote!(::core::clone::Clone::clone(#x))
            }
            Op::Neg => {
                let x = &b[0];
                quote!(#p::neg(#x))
            }
            Op::Add | Op::Sub | Op::Mul | Op::Div => {
                let f = Ident::new(
                    match op {
                        Op::Add => "add",
                        Op::Sub => "sub",
                        Op::Mul => "mul",
                        _ => "div",
                    },
                    Span::call_site(),
                );
                let (l, r) = (&b[0], &b[1]);
                // A temporary tensor read only here is consumed: its buffer holds the result.
                let both_tensors = args
                    .iter()
                    .all(|a| a.var().is_some_and(|v| self.f.vars[v].tensor));
                if let Some(v) = args[0]
                    .var()
                    .filter(|&v| both_tensors && self.consumable(v))
                {
                    let name = &self.names[v];
                    let operator = match op {
                        Op::Add => quote!(+),
                        Op::Sub => quote!(-),
                        Op::Mul => quote!(*),
                        _ => quote!(/),
                    };
                    return Some(quote!(#name #operator #r));
                }
                quote!(#p::#f(#l, #r))
            }
            Op::ReduceTo | Op::Tensor(_) | Op::Rule(_) => self.runtime_op(op, args, witness),
            Op::Sign | Op::LnOrZero | Op::CastLike | Op::Unary(_) | Op::Powi => return None,
            Op::Binary(_) | Op::MulAdd | Op::Select(_) => return None,
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
