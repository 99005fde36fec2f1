//! One body where several generated functions compute the same thing. rustc type-checks
//! and compiles every generated body in each user's crate, so a repeated body is paid for
//! once per copy. The body goes into a hidden function marked `#[inline(always)]`, and the
//! generated functions call it: each of them compiles to the code it had with a body of its
//! own, and a constant it passes folds (`x * 1.0` is `x` exactly). Plain `#[inline]` is not
//! enough (LLVM keeps a body with a loop out of line, BENCHMARKS.md §5), and marking the
//! convention's `reverse_derivative` itself would inline it into every differentiated
//! caller; it stays out of line and calls the body too.
//!
//! - The reverse body: `reverse_body` beside the convention's functions when the convention
//!   differentiates exactly the variables of `wrt` (`Plan::through_convention`; `f_vjp`
//!   rearranges its per-parameter gradients into `wrt`'s order, `Option`s or a bare
//!   gradient), else `f__vjp_body`, `f_vjp`'s own body, when `f_grad` calls it.
//! - `f_grad` seeds the reverse body with ones when every output is a scalar float, whose
//!   seed is the literal `1.0` (`Plan::grad_calls`).
//! - The forward body: `forward_body`, called by `f_jvp` (with `NoTangent` for the
//!   parameters outside `wrt`) and by `forward_derivative`, when `through_convention`.
//!
//! Otherwise a function keeps a body of its own: `f_grad` of a tensor or array output (its
//! seed is not a literal), `f_vjp` and `f_jvp` when `wrt` names a `let` or only some of the
//! float parameters (the convention would compute gradients nobody asked for).
use super::*;
use crate::spec::WrtEntry;
use syn::GenericParam;

/// Which generated functions call a shared body instead of holding one.
#[derive(Clone, Copy, Default)]
pub struct Plan {
    /// `f_grad` calls the reverse body (`f__vjp_body`, or `reverse_body` when
    /// `through_convention`) with a seed of ones.
    pub grad_calls: bool,
    /// The convention's `reverse_body` and `forward_body` hold the bodies, which `f_vjp`,
    /// `f_jvp`, `reverse_derivative` and `forward_derivative` call.
    pub through_convention: bool,
}

/// Decides the [`Plan`] before anything is derived, so the derivatives of functions that
/// only call another are never computed.
pub fn plan(
    item: &ItemFn,
    config: &Config,
    lowered: &Lowered,
    spec: &Spec,
    convention: &Spec,
) -> Plan {
    let (mut own, mut all) = (spec.wrt_vars(), convention.wrt_vars());
    own.sort_unstable();
    all.sort_unstable();
    Plan {
        grad_calls: seeded_by_a_literal(item, lowered),
        through_convention: !config.no_convention
            && spec.wrt.iter().all(|w| w.param.is_some())
            && own == all,
    }
}

/// Every output is a scalar float whose `f_grad` seed is the constant one (not a tensor or
/// an array of ones, not `one_like` of a call's result of a type the IR does not know).
fn seeded_by_a_literal(item: &ItemFn, lowered: &Lowered) -> bool {
    let ReturnType::Type(_, ret) = &item.sig.output else {
        return false;
    };
    let types: Vec<&Type> = match (lowered.tuple_outputs, &**ret) {
        (None, ty) => vec![ty],
        (Some(n), Type::Tuple(t)) if t.elems.len() == n => t.elems.iter().collect(),
        _ => return false,
    };
    let f = &lowered.f;
    types.len() == f.outputs.len()
        && types.iter().all(|ty| is_scalar_path(ty))
        && f.outputs.iter().all(|o| match o.var() {
            Some(v) => {
                !f.vars[v].is_array() && !f.vars[v].tensor && !crate::derive::from_call(f, v)
            }
            None => true,
        })
}

/// Per `wrt` entry, whether a path connects it to an output, from the derivative that holds
/// the reverse body.
pub(super) fn connected(spec: &Spec, bodies: &Bodies, convention: &Convention) -> Vec<bool> {
    if let Some(d) = bodies.grad.or(bodies.vjp) {
        return d.derivatives.iter().map(Option::is_some).collect();
    }
    let reverse = convention
        .reverse
        .expect("f_vjp calls the convention's reverse_body only when the convention is emitted");
    spec.wrt
        .iter()
        .map(|w| {
            let j = convention.spec.wrt.iter().position(|c| c.var == w.var);
            j.is_some_and(|j| reverse.derivatives[j].is_some())
        })
        .collect()
}

impl Shared<'_> {
    /// `f_grad` calling the reverse body with a seed of ones.
    pub(super) fn grad_caller(&self) -> TokenStream {
        let (ret, grad_ty) = (&self.ret, self.grad_ty());
        let header = self.header(
            &self.name("grad"),
            self.grad_doc(),
            &[],
            quote!((#ret, #grad_ty)),
            Role::Caller,
        );
        let ones = tuple_or_single(self.ones(), self.lowered.tuple_outputs.is_some());
        let warnings = self.unconnected_warnings();
        let call = self.reverse_call(ones);
        quote! {
            #header {
                #warnings
                #call
            }
        }
    }

    /// A one of each output's type: a literal for `f32` and `f64`, converted for a type
    /// parameter (of the function or of its `impl` block).
    fn ones(&self) -> Vec<TokenStream> {
        let p = private();
        let types: Vec<&Type> = match &self.item.sig.output {
            ReturnType::Type(_, ty) => match (self.lowered.tuple_outputs, &**ty) {
                (Some(_), Type::Tuple(t)) => t.elems.iter().collect(),
                (_, ty) => vec![ty],
            },
            ReturnType::Default => Vec::new(),
        };
        (types.into_iter())
            .map(|ty| match ty {
                Type::Path(t) if t.path.is_ident("f64") || t.path.is_ident("f32") => quote!(1.0),
                _ => quote!(#p::lit(1.0)),
            })
            .collect()
    }

    /// `f_vjp` calling the convention's `reverse_body`.
    pub(super) fn vjp_caller(&self) -> TokenStream {
        let seed = self.fresh("seed", &mut Vec::new());
        let (ret, grad_ty) = (&self.ret, self.grad_ty());
        let header = self.header(
            &self.name("vjp"),
            self.vjp_doc(),
            &[quote!(#seed: #ret)],
            quote!((#ret, #grad_ty)),
            Role::Caller,
        );
        let call = self.reverse_call(seed.to_token_stream());
        quote!(#header { #call })
    }

    /// `f_jvp` calling the convention's `forward_body`: its tangents where `wrt` has them,
    /// `NoTangent` for the other parameters.
    pub(super) fn jvp_caller(&self) -> TokenStream {
        let p = private();
        let mut taken = Vec::new();
        let names: Vec<(usize, Ident)> = (self.spec.wrt.iter())
            .filter_map(|w| {
                Some((
                    w.param?,
                    self.fresh(&format!("tangent_{}", w.ident), &mut taken),
                ))
            })
            .collect();
        let tangent = |w: &WrtEntry| {
            let found = names.iter().find(|(i, _)| w.param == Some(*i));
            found.expect("a tangent per parameter in wrt").1.clone()
        };
        let extra: Vec<TokenStream> = (names.iter().zip(self.jvp_tangent_types()))
            .map(|((_, t), ty)| quote!(#t: #ty))
            .collect();
        let tangents = self.lowered.params.iter().enumerate().map(|(i, param)| {
            let Some(w) = self.spec.wrt.iter().find(|w| w.param == Some(i)) else {
                return quote!(#p::NoTangent);
            };
            let t = tangent(w);
            // The convention takes what its callers have: a value of a scalar's type, a
            // borrowed slice.
            let reference = matches!(param.ty, Type::Reference(_));
            match tangent_kind(&param.ty) {
                Some(TangentKind::Scalar(_)) if reference => quote!(*#t),
                Some(TangentKind::Slice(_)) if !reference => quote!(&#t),
                _ => quote!(#t),
            }
        });
        let ret = &self.ret;
        let header = self.header(
            &self.name("jvp"),
            self.jvp_doc(),
            &extra,
            quote!((#ret, #ret)),
            Role::Caller,
        );
        let call = self.call(self.convention_path("forward_body"), tangents);
        quote!(#header { #call })
    }

    /// The reverse body called with `seed`: statements ending in `f_vjp`'s result.
    fn reverse_call(&self, seed: TokenStream) -> TokenStream {
        if !self.plan.through_convention {
            return self.call(self.sibling_path(&self.vjp_body_name()), [seed]);
        }
        let call = self.call(self.convention_path("reverse_body"), [seed]);
        let params = self.lowered.params.len();
        // The convention returns one gradient per parameter, in order: `f_vjp`'s own result
        // when `wrt` lists every parameter in order.
        let in_order = self.config.unconnected == Unconnected::Zero
            && !self.spec.bare
            && self.spec.wrt.len() == params
            && (self.spec.wrt.iter().enumerate()).all(|(k, w)| w.param == Some(k));
        if in_order {
            return call;
        }
        let value = Ident::new("value", Span::mixed_site());
        let gradient = |i: usize| format_ident!("gradient_{}", i, span = Span::mixed_site());
        let kept = |w: &WrtEntry, connected: bool| {
            let zero = self.config.unconnected == Unconnected::Zero;
            (zero || connected).then(|| w.param.expect("every wrt entry is a parameter"))
        };
        let wrt = || self.spec.wrt.iter().zip(self.connected.iter().copied());
        let slots = (0..params).map(|i| match wrt().any(|(w, c)| kept(w, c) == Some(i)) {
            true => gradient(i).to_token_stream(),
            false => quote!(_),
        });
        let grads = wrt()
            .map(
                |(w, connected)| match (kept(w, connected), self.config.unconnected) {
                    (Some(i), Unconnected::Zero) => gradient(i).to_token_stream(),
                    (Some(i), Unconnected::None) => {
                        let g = gradient(i);
                        quote!(::core::option::Option::Some(#g))
                    }
                    (None, _) => quote!(::core::option::Option::None),
                },
            )
            .collect();
        let grads = tuple_or_single(grads, !self.spec.bare);
        quote! {
            let (#value, (#(#slots,)*)) = #call;
            (#value, #grads)
        }
    }

    /// `path::<T, N>(params.., extra..)`: a call that passes the caller's parameters on.
    pub(super) fn call(
        &self,
        path: TokenStream,
        extra: impl IntoIterator<Item = TokenStream>,
    ) -> TokenStream {
        let (args, turbofish) = (self.arguments(), self.turbofish());
        let extra = extra.into_iter();
        quote!(#path #turbofish (#(#args,)* #(#extra),*))
    }

    /// `f__vjp_body`: `f_vjp`'s body when `f_grad` calls it too.
    pub(super) fn vjp_body_name(&self) -> Ident {
        let f = &self.item.sig.ident;
        format_ident!("{}__vjp_body", f, span = f.span())
    }

    /// `Self::name` beside a method, `name` beside a free function.
    pub(super) fn sibling_path(&self, name: &Ident) -> TokenStream {
        match self.siblings {
            true => quote!(Self::#name),
            false => name.to_token_stream(),
        }
    }

    /// A hygienic name for a parameter a caller adds, `base` or `base_1`, `base_2`, .. where
    /// the user has a parameter of that name (or `taken` has it), as the bodies' parameters
    /// are named: the signature reads unambiguously in rustdoc.
    pub(super) fn fresh(&self, base: &str, taken: &mut Vec<String>) -> Ident {
        let params: Vec<String> = (self.lowered.params.iter())
            .map(|p| p.ident.to_string())
            .collect();
        let mut name = base.to_string();
        let mut n = 0;
        while params.contains(&name) || taken.contains(&name) {
            n += 1;
            name = format!("{base}_{n}");
        }
        taken.push(name.clone());
        Ident::new(&name, Span::mixed_site())
    }

    /// What a caller passes on: its own parameters.
    fn arguments(&self) -> Vec<TokenStream> {
        self.item
            .sig
            .inputs
            .iter()
            .map(|arg| match arg {
                FnArg::Receiver(_) => quote!(self),
                // Lowering rejects parameters that are patterns.
                FnArg::Typed(pt) => match &*pt.pat {
                    Pat::Ident(pi) => pi.ident.to_token_stream(),
                    other => other.to_token_stream(),
                },
            })
            .collect()
    }

    /// `::<T, N>`: the function's type and const parameters, passed on explicitly (rustc
    /// could not infer one that appears only in a bound).
    fn turbofish(&self) -> TokenStream {
        let args: Vec<&Ident> = (self.item.sig.generics.params.iter())
            .filter_map(|p| match p {
                GenericParam::Type(t) => Some(&t.ident),
                GenericParam::Const(c) => Some(&c.ident),
                GenericParam::Lifetime(_) => None,
            })
            .collect();
        match args.is_empty() {
            true => TokenStream::new(),
            false => quote!(::<#(#args),*>),
        }
    }

    /// `f::reverse_derivative` on the hidden type, `Self::f__reverse_derivative` beside a
    /// method.
    pub(super) fn convention_path(&self, suffix: &str) -> TokenStream {
        let name = self.convention_name(suffix);
        match self.siblings {
            true => quote!(Self::#name),
            false => {
                let f = &self.item.sig.ident;
                quote!(#f::#name)
            }
        }
    }
}
