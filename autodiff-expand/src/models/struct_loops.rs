//! Loops over a `Vec` (or array) of structs in a body with a struct in `wrt`: `for layer in
//! self.layers.iter()` (or `&self.layers`, `.iter().enumerate()`) becomes a loop over the
//! indices, and `layer` a name for `self.layers[index]`, so its field reads are paths of
//! the struct like any other (`scan` finds and rewrites them).
use super::scan::*;
use proc_macro2::{Delimiter, Group, Ident, TokenStream, TokenTree};
use quote::{format_ident, quote, ToTokens};

/// A `for` loop over a collection of structs at `i`: (the element's name, the index's name
/// if the loop enumerates, the base and path of the collection, its index groups, the body).
pub(super) struct StructLoop {
    pub alias: Ident,
    pub enumerated: Option<Ident>,
    pub base: usize,
    pub path: Vec<Seg>,
    pub index: Vec<TokenStream>,
    pub body: Group,
    /// The position after the body.
    pub end: usize,
}

pub(super) fn struct_loop(toks: &[TokenTree], i: usize, bases: &[Base]) -> Option<StructLoop> {
    if !is_ident(toks.get(i), "for") || !is_ident(toks.get(i + 2), "in") {
        return None;
    }
    let (alias, enumerated) = match toks.get(i + 1) {
        Some(TokenTree::Ident(a)) => (a.clone(), None),
        Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Parenthesis => {
            let inner: Vec<TokenTree> = g.stream().into_iter().collect();
            match inner.as_slice() {
                [TokenTree::Ident(l), TokenTree::Punct(c), TokenTree::Ident(a)]
                    if c.as_char() == ',' =>
                {
                    (a.clone(), Some(l.clone()))
                }
                _ => return None,
            }
        }
        _ => return None,
    };
    let j = (i + 3..toks.len()).find(|&j| is_group(toks.get(j), Delimiter::Brace))?;
    let header = &toks[i + 3..j];
    let (start, tail): (usize, &[&str]) = if is_punct(header.first(), '&') {
        (1, &[])
    } else if enumerated.is_some() {
        (0, &["iter", "enumerate"])
    } else {
        (0, &["iter"])
    };
    let calls = 3 * tail.len();
    if header.len() < start + 1 + calls {
        return None;
    }
    if enumerated.is_some() && start == 1 {
        return None;
    }
    for (n, name) in tail.iter().enumerate() {
        let k = header.len() - calls + 3 * n;
        let empty = matches!(header.get(k + 2), Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Parenthesis && g.stream().is_empty());
        if !is_punct(header.get(k), '.') || !is_ident(header.get(k + 1), name) || !empty {
            return None;
        }
    }
    let collection = &header[start..header.len() - calls];
    let (b, (path, index, end)) = bases
        .iter()
        .enumerate()
        .rev()
        .find_map(|(b, base)| occurrence(collection, 0, &base.ident).map(|o| (b, o)))?;
    if end != collection.len() || path.is_empty() {
        return None;
    }
    let TokenTree::Group(body) = &toks[j] else {
        return None;
    };
    // A loop over floats (`for v in self.w.iter()`) reads `v` itself; a loop over structs
    // reads its fields.
    if !reads_fields(body.stream(), &alias) {
        return None;
    }
    Some(StructLoop {
        alias,
        enumerated,
        base: b,
        path,
        index,
        body: body.clone(),
        end: j + 1,
    })
}

pub(super) fn reads_fields(tokens: TokenStream, alias: &Ident) -> bool {
    let toks: Vec<TokenTree> = tokens.into_iter().collect();
    (0..toks.len()).any(|i| match &toks[i] {
        TokenTree::Group(g) => reads_fields(g.stream(), alias),
        _ => occurrence(&toks, i, alias)
            .is_some_and(|(p, _, end)| !p.is_empty() || struct_method_at(&toks, end)),
    })
}

/// The base a struct loop's element name stands for.
pub(super) fn loop_base(
    l: &StructLoop,
    bases: &[Base],
    index: &Ident,
    rewritten_index: Vec<TokenStream>,
) -> Base {
    let outer = &bases[l.base];
    let mut prefix = outer.prefix.clone();
    prefix.extend(l.path.iter().cloned());
    prefix.push(Seg::Elem);
    let mut prefix_index = outer.prefix_index.clone();
    prefix_index.extend(rewritten_index);
    prefix_index.push(index.to_token_stream());
    let passive = collection_tokens(outer, &l.path, &l.index);
    Base {
        ident: l.alias.clone(),
        owner: outer.owner,
        prefix,
        prefix_index,
        passive: quote!((#passive[#index])),
    }
}

/// `__self.layers`, the collection a struct loop runs over, read without a derivative.
pub(super) fn collection_tokens(base: &Base, path: &[Seg], index: &[TokenStream]) -> TokenStream {
    let mut out = base.passive.clone();
    let mut groups = index.iter();
    for s in path {
        match s {
            Seg::Field(m) => {
                let m = m.tokens();
                out.extend(quote!(.#m));
            }
            Seg::Elem => {
                let g = groups.next().expect("one index per element");
                out.extend(quote!([#g]));
            }
        }
    }
    out
}

pub(super) fn loop_index(l: &StructLoop) -> Ident {
    match &l.enumerated {
        Some(i) => i.clone(),
        None => format_ident!("__ad_index_{}", l.alias.to_string(), span = l.alias.span()),
    }
}
