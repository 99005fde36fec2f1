//! The fields of a struct parameter as the expansion moves them: which fields the body
//! reads and their roles (`fields_of`), the hidden function's parameter types, reading a
//! field out of the struct (`gather`) and writing its gradient back (`scatter`), and the
//! small type helpers these need.
use super::*;

/// A parameter that is not a name (already reported before the wrappers are written).
pub(super) fn unreachable_tokens() -> TokenStream {
    quote!(_: ())
}

/// The type of the field at `path` of `ty`: `<Model as FieldType<H(w)>>::Type`, through
/// the `FieldType` impls `#[derive(Params)]` writes (one per field, keyed by a hash of its
/// name; a macro cannot see the struct's declaration).
pub(super) fn field_type(ty: &TokenStream, path: &[String]) -> TokenStream {
    let private = crate::emit::private();
    let mut out = ty.clone();
    for name in path {
        let id = crate::derive_params::field_id(name);
        out = quote!(<#out as #private::FieldType<#id>>::Type);
    }
    out
}

/// A field name or a tuple index as a member token.
pub(super) fn member(name: &str) -> TokenStream {
    match name.parse::<u32>() {
        Ok(i) => syn::Index::from(i as usize).to_token_stream(),
        Err(_) => format_ident!("{}", name).to_token_stream(),
    }
}

pub(super) fn same_names(a: &[Ident], b: &[Ident]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

/// The float type of an output: `T` of `Tensor<T>`, of `[T; N]`, of `(T, T)`.
pub(super) fn output_float(ty: &Type) -> Option<TokenStream> {
    match ty {
        _ if crate::types::is_scalar_path(ty) => Some(ty.to_token_stream()),
        _ if crate::types::is_tensor_type(ty) => tensor_element(ty),
        Type::Array(a) => output_float(&a.elem),
        Type::Tuple(t) => {
            let first = output_float(t.elems.first()?)?;
            t.elems
                .iter()
                .all(|e| output_float(e).is_some_and(|f| f.to_string() == first.to_string()))
                .then_some(first)
        }
        Type::Paren(p) => output_float(&p.elem),
        _ => None,
    }
}

/// `T` of `Tensor<T>`.
pub(super) fn tensor_element(ty: &Type) -> Option<TokenStream> {
    let Type::Path(p) = ty else { return None };
    match &p.path.segments.last()?.arguments {
        syn::PathArguments::AngleBracketed(a) if a.args.len() == 1 => {
            Some(a.args.to_token_stream())
        }
        _ => None,
    }
}

/// `::<T, U>` for the function's own type parameters (none: nothing).
pub(super) fn generic_args(generics: &syn::Generics) -> TokenStream {
    let types: Vec<&Ident> = generics.type_params().map(|t| &t.ident).collect();
    if types.is_empty() || generics.lifetimes().next().is_some() {
        quote!()
    } else {
        quote!(::<#(#types),*>)
    }
}

pub(super) fn differentiated(s: &StructParam) -> impl Iterator<Item = &Field> {
    s.fields.iter().filter(|f| f.role != Role::Passive)
}

pub(super) fn passive_ident(base: &Ident) -> Ident {
    format_ident!("__{}", base.to_string(), span = base.span())
}

/// The gradient type of a plain `wrt` entry next to a struct.
pub(super) fn plain_grad_type(ty: &Type) -> Option<TokenStream> {
    if crate::types::is_scalar_path(ty) {
        return Some(ty.to_token_stream());
    }
    let inner = match ty {
        Type::Reference(r) => &*r.elem,
        ty => ty,
    };
    match inner {
        Type::Slice(s) if crate::types::is_scalar_path(&s.elem) => {
            let e = &s.elem;
            Some(quote!(::std::vec::Vec<#e>))
        }
        Type::Path(p) => {
            let last = p.path.segments.last()?;
            if last.ident != "Vec" {
                return None;
            }
            let args = &last.arguments;
            Some(quote!(::std::vec::Vec #args))
        }
        _ => None,
    }
}

/// The fields of struct `k` the body reads, each with its role (from the evidence of all
/// its reads, and `stop`).
pub(super) fn fields_of(
    cx: &Ctxt,
    s: &StructParam,
    k: usize,
    reads: &[Read],
    stopped: &[(String, Vec<String>)],
    subset: Option<&[Vec<String>]>,
) -> Vec<Field> {
    let mine: Vec<&Read> = reads
        .iter()
        .filter(|r| r.owner == k && r.method.is_none())
        .collect();
    let mut fields: Vec<Field> = Vec::new();
    let mut reported: Vec<usize> = Vec::new();
    for (n, r) in mine.iter().enumerate() {
        // A path that leads on to fields is a struct (or a collection of them): read whole
        // as a value, it has no parameter to become.
        let valued = !matches!(r.evidence, Use::Neutral | Use::Int);
        if valued && mine.iter().any(|o| is_prefix(&r.path, &o.path)) {
            if !reported.contains(&n) {
                reported.push(n);
                let shown = show(&s.base, &r.path);
                let what = if r.indexed {
                    format!("an element of `{shown}` is used whole here, which is not differentiated yet (with `{}` in `wrt` the body reads the fields of its elements); read or pass its fields instead (`{shown}[i].w`, `f(&{shown}[i].w)`)", s.base)
                } else {
                    format!("`{shown}` is a struct used whole here, which is not differentiated yet (with `{}` in `wrt` the body reads its fields); read or pass its fields instead (`{shown}.w`, `f(&{shown}.w)`)", s.base)
                };
                cx.error_spanned_by(&r.at, what);
            }
            continue;
        }
        if fields.iter().any(|f| same_path(&f.path, &r.path)) {
            continue;
        }
        let evidence: Vec<Use> = mine
            .iter()
            .filter(|o| same_path(&o.path, &r.path))
            .map(|o| o.evidence)
            .collect();
        let names = scan::names(&r.path);
        let outside = subset.is_some_and(|paths| !paths.iter().any(|p| names.starts_with(p)));
        let role = if outside
            || stopped
                .iter()
                .any(|(b, p)| s.base == b.as_str() && names.starts_with(p))
        {
            Role::Passive
        } else if evidence.contains(&Use::Tensor) {
            Role::Tensor
        } else if evidence.contains(&Use::Array) {
            Role::Array
        } else if evidence.contains(&Use::Int) {
            Role::Passive
        } else if evidence.contains(&Use::Float) {
            Role::Scalar
        } else {
            Role::Passive
        };
        let segments: Vec<String> = r
            .path
            .iter()
            .map(|seg| match seg {
                Seg::Field(m) => m.name.clone(),
                Seg::Elem => "at".to_string(),
            })
            .collect();
        let param = format_ident!(
            "__{}__{}",
            s.base.to_string(),
            segments.join("__"),
            span = s.base.span()
        );
        fields.push(Field {
            path: r.path.clone(),
            role,
            param,
        });
    }
    fields
}

/// `self.layers[..].w`, for messages.
pub(super) fn show(base: &Ident, path: &[Seg]) -> String {
    let mut out = base.to_string();
    for seg in path {
        match seg {
            Seg::Field(m) => {
                out.push('.');
                out.push_str(&m.name);
            }
            Seg::Elem => out.push_str("[l]"),
        }
    }
    out
}

/// The hidden function's parameter type for a field: `F`, `&[F]`, `&Tensor<F>` for a field
/// of the struct itself; one slice level (then `Vec`s) per element position on its path,
/// `&[Tensor<F>]` for `self.layers[l].w`.
pub(super) fn param_type(f: &Field, float: &TokenStream) -> TokenStream {
    let private = crate::emit::private();
    let levels = depth(&f.path);
    let leaf = match f.role {
        Role::Array => quote!(::std::vec::Vec<#float>),
        Role::Tensor => quote!(#private::Tensor<#float>),
        _ => quote!(#float),
    };
    if levels == 0 {
        return match f.role {
            Role::Array => quote!(&[#float]),
            Role::Tensor => quote!(&#private::Tensor<#float>),
            _ => quote!(#float),
        };
    }
    let mut ty = leaf;
    for _ in 1..levels {
        ty = quote!(::std::vec::Vec<#ty>);
    }
    quote!(&[#ty])
}

/// `root.a.b` for the fields of a path up to its first element position, and the rest.
pub(super) fn place(root: TokenStream, path: &[Seg]) -> (TokenStream, Option<&[Seg]>) {
    let mut out = root;
    for (n, seg) in path.iter().enumerate() {
        match seg {
            Seg::Field(m) => {
                let m = m.tokens();
                out = quote!(#out.#m);
            }
            Seg::Elem => return (out, Some(&path[n + 1..])),
        }
    }
    (out, None)
}

/// The argument the wrappers pass for a field of `root` (the struct, or its tangent): a
/// borrow of the field itself, or, through element positions, the fields of every element
/// gathered into `Vec`s (copies: the hidden function takes arrays of floats and tensors).
pub(super) fn gather(root: TokenStream, f: &Field) -> TokenStream {
    if depth(&f.path) == 0 {
        let (place, _) = place(root, &f.path);
        return match f.role {
            Role::Scalar => place,
            _ => quote!(&#place),
        };
    }
    let inner = gathered(root, &f.path, f.role);
    quote!(&#inner)
}

pub(super) fn gathered(root: TokenStream, path: &[Seg], role: Role) -> TokenStream {
    let (place, rest) = place(root, path);
    match rest {
        Some(rest) => {
            let e = format_ident!("__ad_e");
            let inner = gathered(quote!(#e), rest, role);
            quote!((#place).iter().map(|#e| #inner).collect::<::std::vec::Vec<_>>())
        }
        None => match role {
            Role::Array => quote!((#place).to_vec()),
            Role::Tensor => quote!(::core::clone::Clone::clone(&#place)),
            _ => place,
        },
    }
}

/// Writes the hidden function's gradient `grad` of a field into the struct gradient `root`.
pub(super) fn scatter(
    root: TokenStream,
    path: &[Seg],
    grad: TokenStream,
    role: Role,
) -> TokenStream {
    let private = crate::emit::private();
    let (place, rest) = place(root, path);
    match rest {
        Some(rest) => {
            let (e, g) = (format_ident!("__ad_e"), format_ident!("__ad_g"));
            let inner = scatter(quote!((*#e)), rest, quote!(#g), role);
            quote!(for (#e, #g) in (#place).iter_mut().zip(#grad) { #inner })
        }
        None => match role {
            Role::Array => quote!(#private::set_leaf(&mut #place, &#grad);),
            _ => quote!(#place = #grad;),
        },
    }
}

/// `tokens` with its first identifier, `root`, replaced by `by` (`(__self.layers[l])` to
/// `(__ad_tangent_self.layers[l])`); later occurrences (in indices) stay.
pub(super) fn replace_root(tokens: TokenStream, root: &Ident, by: &Ident) -> TokenStream {
    fn go(tokens: TokenStream, root: &Ident, by: &Ident, done: &mut bool) -> TokenStream {
        tokens
            .into_iter()
            .map(|t| match t {
                proc_macro2::TokenTree::Ident(i) if !*done && i == *root => {
                    *done = true;
                    proc_macro2::TokenTree::Ident(by.clone())
                }
                proc_macro2::TokenTree::Group(g) if !*done => {
                    let mut n =
                        proc_macro2::Group::new(g.delimiter(), go(g.stream(), root, by, done));
                    n.set_span(g.span());
                    proc_macro2::TokenTree::Group(n)
                }
                other => other,
            })
            .collect()
    }
    go(tokens, root, by, &mut false)
}

/// An element path `(C[i])` (its container `C` an element path itself, or a field of one)
/// written as `::core::ops::Index::index(&C, i)`, a reference to the element.
pub(super) fn indexed_by_call(tokens: TokenStream) -> TokenStream {
    use proc_macro2::{Delimiter, TokenTree};
    let toks: Vec<TokenTree> = tokens.into_iter().collect();
    // `(C[i])`: one parenthesised group ending in a bracket group.
    if let [TokenTree::Group(g)] = toks.as_slice() {
        if g.delimiter() == Delimiter::Parenthesis {
            let inner: Vec<TokenTree> = g.stream().into_iter().collect();
            if let Some((TokenTree::Group(index), container)) = inner.split_last() {
                if index.delimiter() == Delimiter::Bracket && !container.is_empty() {
                    let container = indexed_by_call(container.iter().cloned().collect());
                    let index = index.stream();
                    return quote!(::core::ops::Index::index(&#container, #index));
                }
            }
        }
    }
    // `(C[i]).layers`: the element path at the front, a field after it.
    match toks.split_first() {
        Some((TokenTree::Group(g), rest)) if g.delimiter() == Delimiter::Parenthesis => {
            let front = indexed_by_call(TokenTree::Group(g.clone()).into());
            let rest: TokenStream = rest.iter().cloned().collect();
            quote!((*#front) #rest)
        }
        _ => toks.into_iter().collect(),
    }
}

/// The part of a struct at `path` from `start` (`__self`, an element `(__self.layers[l])`),
/// the elements' indices in `index`: the expression, and a reference to it that lowering
/// keeps as written (`identity(&__self.head)`, `::core::ops::Index::index(&__self.layers,
/// l)`: a call on passive values, where a bare `&__self.head` argument would be a read).
pub(super) fn part_expr(
    start: TokenStream,
    path: &[Seg],
    index: &[TokenStream],
) -> (TokenStream, TokenStream) {
    let mut expr = start.clone();
    let mut reference = quote!(&#start);
    let mut k = 0;
    for seg in path {
        match seg {
            Seg::Field(m) => {
                let m = m.tokens();
                expr = quote!(#expr.#m);
                reference = quote!(::core::convert::identity(&#expr));
            }
            Seg::Elem => {
                let i = index.get(k).cloned().unwrap_or_default();
                k += 1;
                reference = quote!(::core::ops::Index::index(&#expr, #i));
                expr = quote!((*#reference));
            }
        }
    }
    (expr, reference)
}
