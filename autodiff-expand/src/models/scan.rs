//! Reading the body's tokens for a struct in `wrt`: which field paths it reads and how
//! ([`collect`]), and the body with each differentiated path replaced by the hidden
//! function's parameter for it ([`rewrite`]).
//!
//! A path is a sequence of field names and element positions: `self.layers[l].w` is
//! `layers`, an element, `w`. Element positions keep their index expressions, which the
//! rewritten body moves behind the parameter (`__self__layers__at__w[l]`). A loop over a
//! `Vec` (or array) of structs, `for layer in self.layers.iter()` or `for layer in
//! &self.layers` (`.iter().enumerate()` too), becomes a loop over its indices, and
//! `layer` a name for `self.layers[index]`.
use super::struct_loops::*;
use crate::ctxt::Ctxt;
use proc_macro2::{Delimiter, Group, Ident, Literal, Spacing, Span, TokenStream, TokenTree};
use quote::{format_ident, quote, ToTokens};

/// One step of a field path.
#[derive(Clone, Debug)]
pub(super) enum Seg {
    /// `.w`, `.0`
    Field(Member),
    /// `[l]` between fields: an element of a `Vec` or array of structs.
    Elem,
}

/// A named or tuple field, as written.
#[derive(Clone, Debug)]
pub(super) struct Member {
    pub name: String,
    pub span: Span,
}

impl Member {
    pub fn tokens(&self) -> TokenTree {
        match self.name.parse::<u32>() {
            Ok(_) => {
                let mut l = Literal::u32_unsuffixed(self.name.parse().expect("digits"));
                l.set_span(self.span);
                TokenTree::Literal(l)
            }
            Err(_) => TokenTree::Ident(Ident::new(&self.name, self.span)),
        }
    }
}

pub(super) fn same_path(a: &[Seg], b: &[Seg]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| match (x, y) {
            (Seg::Field(x), Seg::Field(y)) => x.name == y.name,
            (Seg::Elem, Seg::Elem) => true,
            _ => false,
        })
}

/// `prefix` is a strict prefix of `path`.
pub(super) fn is_prefix(prefix: &[Seg], path: &[Seg]) -> bool {
    prefix.len() < path.len() && same_path(prefix, &path[..prefix.len()])
}

/// The field names of a path, elements left out (`layers.w`): what `stop` names.
pub(super) fn names(path: &[Seg]) -> Vec<String> {
    path.iter()
        .filter_map(|s| match s {
            Seg::Field(m) => Some(m.name.clone()),
            Seg::Elem => None,
        })
        .collect()
}

/// How many element positions a path has: the hidden parameter's extra array levels.
pub(super) fn depth(path: &[Seg]) -> usize {
    path.iter().filter(|s| matches!(s, Seg::Elem)).count()
}

/// A name through which the body reads a struct in `wrt`.
#[derive(Clone)]
pub(super) struct Base {
    pub ident: Ident,
    /// Which struct in `wrt`.
    pub owner: usize,
    /// The path from the struct to what this name holds: empty for the struct itself,
    /// `layers`, element, for `layer` in `for layer in self.layers.iter()`.
    pub prefix: Vec<Seg>,
    /// The index expressions of the prefix's elements (the loop's index).
    pub prefix_index: Vec<TokenStream>,
    /// The expression that reads it without a derivative: `__self`,
    /// `(__self.layers[__ad_index_layer])`.
    pub passive: TokenStream,
}

/// Evidence of what a field holds, one per read.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Use {
    /// A tensor method (`self.w.matmul(..)`), a `matmul` argument, tensor arithmetic on a
    /// borrow (`x + &self.b`).
    Tensor,
    /// Indexed, borrowed, iterated: a float array.
    Array,
    /// A range bound, an index, a repeat length, an `as` cast: an integer.
    Int,
    /// Arithmetic, a float method, bound or passed by value: a float.
    Float,
    /// A condition, a comparison, a method that is no float's (`.len()`, `.is_empty()`,
    /// `.clone()`): says nothing; passive unless other reads say float.
    Neutral,
}

/// One read of a field path.
pub(super) struct Read {
    pub owner: usize,
    pub path: Vec<Seg>,
    pub evidence: Use,
    /// Where it is (the path, with the index after it), for errors.
    pub at: TokenStream,
    /// The path is followed by `[..]` (an element of it is read).
    pub indexed: bool,
    /// `self.forward(..)`: a method of the struct called for its value (the path is empty).
    pub method: Option<Ident>,
}

/// `self.forward(x)` at `i` (`end` after `self`): a method of the struct itself whose value
/// is a float or a tensor, with its name, its arguments and the position after the call. A
/// call whose value is an integer or a condition (`0..self.count()`, `if self.ready()`) is
/// kept as written, on the passive reference.
pub(super) fn self_call(
    toks: &[TokenTree],
    i: usize,
    end: usize,
    base: &Base,
    delim: Delimiter,
    call: Option<&str>,
) -> Option<(Ident, Group, usize)> {
    // `self.forward(x)`, or `layer.forward(h)` on an element of it (a loop's binding).
    let element = !base.prefix.is_empty() && matches!(base.prefix.last(), Some(Seg::Elem));
    if !(element || base.prefix.is_empty()) || !is_punct(toks.get(end), '.') {
        return None;
    }
    let (Some(TokenTree::Ident(m)), Some(TokenTree::Group(g))) =
        (toks.get(end + 1), toks.get(end + 2))
    else {
        return None;
    };
    if g.delimiter() != Delimiter::Parenthesis {
        return None;
    }
    match evidence(toks, i, end + 3, delim, call) {
        Use::Int | Use::Neutral => None,
        _ => Some((m.clone(), g.clone(), end + 3)),
    }
}

/// `self.head.forward(x)`, `self.layers[l].forward(x)`, `layer.sub.forward(x)` (`path` not
/// empty): a method that is no float's, tensor's or array's called on a part of a struct in
/// `wrt`, for a float or a tensor; `self.forward(x)` and `layer.forward(x)` as `self_call`.
pub(super) fn part_call(
    toks: &[TokenTree],
    i: usize,
    end: usize,
    base: &Base,
    path: &[Seg],
    delim: Delimiter,
    call: Option<&str>,
) -> Option<(Ident, Group, usize)> {
    if path.is_empty() {
        return self_call(toks, i, end, base, delim, call);
    }
    if !struct_method_at(toks, end) {
        return None;
    }
    // `struct_method_at` already excludes float, slice, tensor and passive methods.
    let (Some(TokenTree::Ident(m)), Some(TokenTree::Group(g))) =
        (toks.get(end + 1), toks.get(end + 2))
    else {
        return None;
    };
    match evidence(toks, i, end + 3, delim, call) {
        Use::Int | Use::Neutral => None,
        _ => Some((m.clone(), g.clone(), end + 3)),
    }
}

/// The name of the function through which a method `m` of a struct in `wrt` is called from
/// another: `m__needs_differentiate_wrt_self`, so that rustc's error where `m` has no
/// `#[differentiate(wrt = self)]` names the fix.
pub(super) fn through_name(m: &Ident) -> Ident {
    format_ident!(
        "{}__needs_differentiate_wrt_self",
        m.to_string(),
        span = m.span()
    )
}

/// An argument of a call: a struct of `wrt` whole (which base, its tokens), or another.
pub(super) enum Arg {
    Whole(usize, TokenStream),
    Other(TokenStream),
}

/// `f(.., m, ..)` or `f(.., &m, ..)` at the group `toks[i]`: a free function (a name not
/// after `.`, not a macro) given a struct of `wrt` whole; `f` and the arguments split at
/// their commas. `None` when no argument is such a struct.
pub(super) fn whole_struct_args(
    toks: &[TokenTree],
    i: usize,
    bases: &[Base],
) -> Option<(Ident, Vec<Arg>)> {
    let TokenTree::Group(g) = &toks[i] else {
        return None;
    };
    let Some(TokenTree::Ident(f)) = toks.get(i.checked_sub(1)?) else {
        return None;
    };
    let method = i >= 2 && is_punct(toks.get(i - 2), '.');
    let keyword =
        ["if", "while", "match", "return", "in", "for", "let"].contains(&f.to_string().as_str());
    if g.delimiter() != Delimiter::Parenthesis || method || keyword {
        return None;
    }
    let mut args: Vec<Vec<TokenTree>> = vec![Vec::new()];
    for t in g.stream() {
        if matches!(&t, TokenTree::Punct(p) if p.as_char() == ',') {
            args.push(Vec::new());
        } else {
            args.last_mut().expect("one").push(t);
        }
    }
    if args.last().is_some_and(Vec::is_empty) {
        args.pop();
    }
    let whole = |arg: &[TokenTree]| {
        let name = match arg {
            [TokenTree::Ident(b)] => b,
            [TokenTree::Punct(p), TokenTree::Ident(b)] if p.as_char() == '&' => b,
            _ => return None,
        };
        bases
            .iter()
            .rposition(|base| base.ident == *name && base.prefix.is_empty())
    };
    let mut any = false;
    let args = args
        .into_iter()
        .map(|arg| {
            let tokens: TokenStream = arg.iter().cloned().collect();
            match whole(&arg) {
                Some(b) => {
                    any = true;
                    Arg::Whole(b, tokens)
                }
                None => Arg::Other(tokens),
            }
        })
        .collect();
    any.then(|| (f.clone(), args))
}

/// The name of the function through which a free function `f` with a struct in `wrt` is
/// called by a function that passes it a struct of its own `wrt` whole (`f(m, x)`):
/// `f__needs_differentiate_wrt_its_struct`, so that rustc's error where `f` has no
/// `#[differentiate(wrt = m)]` names the fix.
pub(super) fn free_through_name(f: &Ident) -> Ident {
    format_ident!(
        "{}__needs_differentiate_wrt_its_struct",
        f.to_string(),
        span = f.span()
    )
}

pub(super) fn is_punct(t: Option<&TokenTree>, c: char) -> bool {
    matches!(t, Some(TokenTree::Punct(p)) if p.as_char() == c)
}

pub(super) fn is_ident(t: Option<&TokenTree>, name: &str) -> bool {
    matches!(t, Some(TokenTree::Ident(i)) if i == name)
}

pub(super) fn is_group(t: Option<&TokenTree>, d: Delimiter) -> bool {
    matches!(t, Some(TokenTree::Group(g)) if g.delimiter() == d)
}

/// A field after a `.` at `k`: `w`, `0`, and `0.1` (one literal for two tuple fields).
pub(super) fn members_at(toks: &[TokenTree], k: usize) -> Option<Vec<Member>> {
    let dot = matches!(toks.get(k), Some(TokenTree::Punct(p)) if p.as_char() == '.' && p.spacing() == Spacing::Alone);
    if !dot {
        return None;
    }
    let members = match toks.get(k + 1) {
        Some(TokenTree::Ident(id)) => vec![Member {
            name: id.to_string(),
            span: id.span(),
        }],
        Some(TokenTree::Literal(l)) => {
            let text = l.to_string();
            if text.is_empty() || !text.chars().all(|c| c.is_ascii_digit() || c == '.') {
                return None;
            }
            text.split('.')
                .map(|n| Member {
                    name: n.to_string(),
                    span: l.span(),
                })
                .collect()
        }
        _ => return None,
    };
    // A method call (`.len()`, `.iter()`, `.exp()`, `::<..>`) is not a field.
    if is_group(toks.get(k + 2), Delimiter::Parenthesis) || is_punct(toks.get(k + 2), ':') {
        return None;
    }
    Some(members)
}

/// A read of `base` at `i`: the path after it, the index groups of its elements, and the
/// position after it; `None` if `base` is not read there (a field named like it, a path
/// segment).
pub(super) fn occurrence(
    toks: &[TokenTree],
    i: usize,
    base: &Ident,
) -> Option<(Vec<Seg>, Vec<TokenStream>, usize)> {
    match &toks[i] {
        TokenTree::Ident(id) if id == base => {}
        _ => return None,
    }
    let range = i > 1
        && matches!(toks.get(i - 2), Some(TokenTree::Punct(p)) if p.as_char() == '.' && p.spacing() == Spacing::Joint);
    if i > 0 && ((is_punct(toks.get(i - 1), '.') && !range) || is_punct(toks.get(i - 1), ':')) {
        return None;
    }
    let mut path = Vec::new();
    let mut index = Vec::new();
    let mut k = i + 1;
    loop {
        if let Some(members) = members_at(toks, k) {
            path.extend(members.into_iter().map(Seg::Field));
            k += 2;
            continue;
        }
        // `[l]` followed by a field or a struct's method: an element of a collection of
        // structs.
        if let Some(TokenTree::Group(g)) = toks.get(k) {
            if g.delimiter() == Delimiter::Bracket
                && !path.is_empty()
                && (members_at(toks, k + 1).is_some()
                    || (!is_range(&g.stream()) && struct_method_at(toks, k + 1)))
            {
                path.push(Seg::Elem);
                index.push(g.stream());
                k += 1;
                continue;
            }
        }
        break;
    }
    Some((path, index, k))
}

/// What a paren group is the arguments of: the method or function name before it.
pub(super) fn call_name(toks: &[TokenTree], i: usize) -> Option<String> {
    match toks.get(i.checked_sub(1)?) {
        Some(TokenTree::Ident(id)) => Some(id.to_string()),
        _ => None,
    }
}

const TENSOR_METHODS: &[&str] = &[
    "matmul",
    "transpose",
    "sum",
    "mean",
    "sum_axis",
    "mean_axis",
    "max_axis",
    "logsumexp_axis",
    "softmax",
    "log_softmax",
    "relu",
    "sigmoid",
    "square",
    "shape",
];

/// Methods that read no float of a field: `self.name.len()`, `self.kind.is_relu()`-style
/// queries are not known, but these are (a field read only through them is passive).
const PASSIVE_METHODS: &[&str] = &[
    "len",
    "is_empty",
    "as_str",
    "to_string",
    "chars",
    "bytes",
    "eq",
    "ne",
    "cmp",
    "partial_cmp",
    "contains",
    "starts_with",
    "ends_with",
    "is_some",
    "is_none",
    "capacity",
    "ndim",
];

pub(super) fn arithmetic(t: Option<&TokenTree>) -> bool {
    matches!(t, Some(TokenTree::Punct(p)) if "+-*/".contains(p.as_char()) && p.spacing() == Spacing::Alone)
}

pub(super) fn punct(t: Option<&TokenTree>) -> Option<(char, Spacing)> {
    match t {
        Some(TokenTree::Punct(p)) => Some((p.as_char(), p.spacing())),
        _ => None,
    }
}

/// A comparison or logical operator ends just before `k` (`==`, `<=`, `<`, `&&`), not an
/// assignment (`=`, `+=`).
pub(super) fn comparison_before(toks: &[TokenTree], k: usize) -> bool {
    let last = k.checked_sub(1).and_then(|j| punct(toks.get(j)));
    let prior = k.checked_sub(2).and_then(|j| punct(toks.get(j)));
    match (prior, last) {
        (Some((p, Spacing::Joint)), Some(('=', _))) => "=!<>".contains(p),
        (Some(('&', Spacing::Joint)), Some(('&', _)))
        | (Some(('|', Spacing::Joint)), Some(('|', _))) => true,
        (_, Some(('<' | '>', Spacing::Alone))) => !matches!(prior, Some(('-', Spacing::Joint))),
        _ => false,
    }
}

/// A comparison or logical operator starts at `k`.
pub(super) fn comparison_at(toks: &[TokenTree], k: usize) -> bool {
    match (punct(toks.get(k)), punct(toks.get(k + 1))) {
        (Some((c, Spacing::Joint)), Some(('=', _))) => "=!<>".contains(c),
        (Some(('&', Spacing::Joint)), Some(('&', _)))
        | (Some(('|', Spacing::Joint)), Some(('|', _))) => true,
        (Some(('<' | '>', Spacing::Alone)), _) => true,
        _ => false,
    }
}

/// Records every read of a struct in `wrt` in `tokens`, with its evidence.
pub(super) fn collect(
    cx: &Ctxt,
    tokens: TokenStream,
    bases: &[Base],
    delim: Delimiter,
    call: Option<&str>,
    reads: &mut Vec<Read>,
) {
    let toks: Vec<TokenTree> = tokens.into_iter().collect();
    let mut i = 0;
    while i < toks.len() {
        if let Some(l) = struct_loop(&toks, i, bases) {
            for g in &l.index {
                collect(cx, g.clone(), bases, Delimiter::Bracket, None, reads);
            }
            let index = loop_index(&l);
            let mut inner = bases.to_vec();
            inner.push(loop_base(&l, bases, &index, l.index.clone()));
            collect(cx, l.body.stream(), &inner, Delimiter::Brace, None, reads);
            i = l.end;
            continue;
        }
        if let TokenTree::Group(g) = &toks[i] {
            let name = if g.delimiter() == Delimiter::Parenthesis {
                call_name(&toks, i)
            } else {
                None
            };
            let mut stream = g.stream();
            if let Some((f, args)) = whole_struct_args(&toks, i, bases) {
                // `f(m, x)`: a call through `f`'s hidden functions (like a method's); the
                // other arguments are read as usual.
                let mut rest = Vec::new();
                for arg in args {
                    match arg {
                        Arg::Whole(b, at) => reads.push(Read {
                            owner: bases[b].owner,
                            path: Vec::new(),
                            evidence: Use::Neutral,
                            at,
                            indexed: false,
                            method: Some(f.clone()),
                        }),
                        Arg::Other(t) => rest.push(t),
                    }
                }
                stream = quote!(#(#rest),*);
            }
            collect(cx, stream, bases, g.delimiter(), name.as_deref(), reads);
            i += 1;
            continue;
        }
        let Some((b, (path, index, end))) = bases
            .iter()
            .enumerate()
            .rev()
            .find_map(|(b, base)| occurrence(&toks, i, &base.ident).map(|o| (b, o)))
        else {
            i += 1;
            continue;
        };
        let base = &bases[b];
        for g in &index {
            collect(cx, g.clone(), bases, Delimiter::Bracket, None, reads);
        }
        if let Some((method, _, _)) = part_call(&toks, i, end, base, &path, delim, call) {
            reads.push(Read {
                owner: base.owner,
                path: Vec::new(),
                evidence: Use::Neutral,
                at: toks[i].to_token_stream(),
                indexed: false,
                method: Some(method),
            });
            i = end;
            continue;
        }
        if path.is_empty() {
            let method_call =
                is_punct(toks.get(end), '.') && is_group(toks.get(end + 2), Delimiter::Parenthesis);
            let element = matches!(base.prefix.last(), Some(Seg::Elem));
            if method_call && (element || base.prefix.is_empty()) {
                // Called for an integer or a condition: read as written.
                i = end;
                continue;
            }
            let what = if is_punct(toks.get(end), '.') {
                format!("a method of `{0}` is called here, which is not differentiated yet (with `{0}` in `wrt` the body reads `{0}` through its fields, and calls methods of `self` and of elements of its collections of structs, `layer.forward(h)`); write the method's body here, or call a differentiated function with the fields (`f(&{0}.w)`)", base.ident)
            } else {
                format!("`{0}` is used whole here; with `{0}` in `wrt` the body reads it through its fields (`{0}.w[i]`, `{0}.b`), or passes it whole to a free function with `#[differentiate(wrt = ..)]` of its own (`f(&{0}, x)`), not yet otherwise (bound, returned, passed to a method or a macro)", base.ident)
            };
            cx.error_spanned_by(&toks[i], what);
            i = end;
            continue;
        }
        let evidence = evidence(&toks, i, end, delim, call);
        let mut full = base.prefix.clone();
        full.extend(path);
        reads.push(Read {
            owner: base.owner,
            path: full,
            evidence,
            at: toks[i..(end + usize::from(is_group(toks.get(end), Delimiter::Bracket)))
                .min(toks.len())]
                .iter()
                .cloned()
                .collect(),
            indexed: is_group(toks.get(end), Delimiter::Bracket),
            method: None,
        });
        i = end;
    }
}

/// What the tokens around a read (`toks[i..end]`) say about the field's type.
pub(super) fn evidence(
    toks: &[TokenTree],
    i: usize,
    end: usize,
    delim: Delimiter,
    call: Option<&str>,
) -> Use {
    let after = toks.get(end);
    let indexed = is_group(after, Delimiter::Bracket);
    let method = if is_punct(after, '.') {
        match toks.get(end + 1) {
            Some(TokenTree::Ident(m)) if is_group(toks.get(end + 2), Delimiter::Parenthesis) => {
                Some(m.to_string())
            }
            _ => None,
        }
    } else {
        None
    };
    let borrowed = i > 0
        && is_punct(toks.get(i - 1), '&')
        && !(i > 1
            && matches!(toks.get(i - 2), Some(TokenTree::Punct(p)) if p.as_char() == '&' && p.spacing() == Spacing::Joint));
    let before = if borrowed {
        i.checked_sub(2)
    } else {
        i.checked_sub(1)
    }
    .and_then(|k| toks.get(k));
    let range_before = i > 1 && is_punct(toks.get(i - 1), '.') && is_punct(toks.get(i - 2), '.');
    let range_before_eq = i > 2 && is_punct(toks.get(i - 1), '=') && is_punct(toks.get(i - 2), '.');
    let range_after = is_punct(after, '.') && is_punct(toks.get(end + 1), '.');
    let repeat_len = delim == Delimiter::Bracket && i > 0 && is_punct(toks.get(i - 1), ';');
    let sole_index = delim == Delimiter::Bracket && i == 0 && end == toks.len();
    let sole_argument =
        delim == Delimiter::Parenthesis && (i == 0 || (borrowed && i == 1)) && end == toks.len();
    // `let w: &Tensor<f64> = &self.w;`: the type written says (a tensor field that the body
    // only passes to calls cannot be told from an array by its uses).
    if method.is_none() && !indexed && end == toks.len() || is_punct(after, ';') {
        if let Some(annotated) = annotated_use(toks, first_index(borrowed, i)) {
            return annotated;
        }
    }
    if let Some(m) = method.as_deref() {
        if TENSOR_METHODS.contains(&m) {
            return Use::Tensor;
        }
        if ["iter", "to_vec", "first", "last"].contains(&m) {
            return Use::Array;
        }
        // Methods that read no float: lengths, names, flags, comparisons.
        if PASSIVE_METHODS.contains(&m) {
            return Use::Neutral;
        }
        // A float method, a copy (`.clone()`), or a method the macro does not know: the
        // field carries a derivative, so an unknown method on it is the macro's error
        // rather than a silent zero (a field that carries none goes in `stop`).
        return Use::Float;
    }
    if call == Some("matmul") && sole_argument {
        return Use::Tensor;
    }
    if borrowed && (arithmetic(before) || arithmetic(after)) {
        return Use::Tensor;
    }
    // `self.sizes[0] as f64`, `let m: usize = self.sizes[k];`, `0..self.sizes[l]`: an
    // integer array.
    let integer_element = indexed && {
        let next = toks.get(end + 1);
        is_ident(next, "as")
            || (is_punct(next, '.') && is_punct(toks.get(end + 2), '.'))
            || typed_integer(toks, first_index(borrowed, i))
            || range_before
            || range_before_eq
            || sole_index
    };
    if integer_element {
        return Use::Int;
    }
    if indexed || borrowed {
        return Use::Array;
    }
    let typed_integer = typed_integer(toks, first_index(borrowed, i));
    if range_before
        || range_before_eq
        || range_after
        || is_ident(after, "as")
        || repeat_len
        || sole_index
        || typed_integer
    {
        return Use::Int;
    }
    let condition = is_ident(before, "if")
        || is_ident(before, "while")
        || is_ident(before, "match")
        || is_punct(before, '!')
        || is_group(after, Delimiter::Brace);
    let first = first_index(borrowed, i);
    if condition || comparison_before(toks, first) || comparison_at(toks, end) {
        return Use::Neutral;
    }
    Use::Float
}

const INTEGERS: &[&str] = &[
    "i8", "i16", "i32", "i64", "i128", "isize", "u8", "u16", "u32", "u64", "u128", "usize", "bool",
    "char",
];

/// `let k: usize = ` ends just before `first`.
pub(super) fn typed_integer(toks: &[TokenTree], first: usize) -> bool {
    first > 2
        && is_punct(toks.get(first - 1), '=')
        && matches!(toks.get(first - 2), Some(TokenTree::Ident(t)) if INTEGERS.contains(&t.to_string().as_str()))
        && is_punct(toks.get(first - 3), ':')
}

/// `let name: TYPE = ` before `first`: a tensor if `TYPE` names `Tensor`, an array if it is a
/// slice, an array or a `Vec`; `None` without such a binding (or for other types).
fn annotated_use(toks: &[TokenTree], first: usize) -> Option<Use> {
    if first == 0 || !is_punct(toks.get(first - 1), '=') {
        return None;
    }
    let colon = (0..first - 1).rev().find(|&k| {
        is_punct(toks.get(k), ':')
            && !is_punct(toks.get(k + 1), ':')
            && (k == 0 || !is_punct(toks.get(k - 1), ':'))
    })?;
    let named = colon >= 2
        && matches!(toks.get(colon - 1), Some(TokenTree::Ident(_)))
        && (is_ident(toks.get(colon - 2), "let")
            || (is_ident(toks.get(colon - 2), "mut")
                && colon >= 3
                && is_ident(toks.get(colon - 3), "let")));
    if !named {
        return None;
    }
    let ty = &toks[colon + 1..first - 1];
    let names = |name: &str| {
        ty.iter()
            .any(|t| matches!(t, TokenTree::Ident(i) if i == name))
    };
    if names("Tensor") {
        Some(Use::Tensor)
    } else if names("Vec")
        || ty
            .iter()
            .any(|t| matches!(t, TokenTree::Group(g) if g.delimiter() == Delimiter::Bracket))
    {
        Some(Use::Array)
    } else {
        None
    }
}

/// Where a read starts: at its borrow, if it has one.
pub(super) fn first_index(borrowed: bool, i: usize) -> usize {
    if borrowed {
        i - 1
    } else {
        i
    }
}

/// A method call's receiver and leading arguments, for the base, the path after it and the
/// path's element indices.
pub(super) type Calls<'a> =
    dyn Fn(&Base, &[Seg], &[TokenStream]) -> (TokenStream, TokenStream) + 'a;

/// How the rewritten body reads a differentiated field: its parameter, and whether a
/// borrow written before the read is dropped (the parameter already is a reference).
pub(super) struct Replacement {
    pub param: Ident,
    pub drop_borrow: bool,
}

/// The body with each differentiated field path replaced by its parameter (element indices
/// moved behind it), every other read of a struct by its passive reference, and each loop
/// over a collection of structs by a loop over its indices.
pub(super) fn rewrite(
    tokens: TokenStream,
    bases: &[Base],
    replace: &dyn Fn(usize, &[Seg]) -> Option<Replacement>,
    calls: &Calls<'_>,
) -> TokenStream {
    rewrite_in(tokens, bases, replace, calls, Delimiter::None, None)
}

fn rewrite_in(
    tokens: TokenStream,
    bases: &[Base],
    replace: &dyn Fn(usize, &[Seg]) -> Option<Replacement>,
    calls: &Calls<'_>,
    delim: Delimiter,
    call: Option<&str>,
) -> TokenStream {
    let rewrite = |t: TokenStream, b: &[Base], d: Delimiter, c: Option<&str>| {
        rewrite_in(t, b, replace, calls, d, c)
    };
    let toks: Vec<TokenTree> = tokens.into_iter().collect();
    let mut out: Vec<TokenTree> = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        if let Some(l) = struct_loop(&toks, i, bases) {
            let index = loop_index(&l);
            let rewritten: Vec<TokenStream> = l
                .index
                .iter()
                .map(|g| rewrite(g.clone(), bases, Delimiter::Bracket, None))
                .collect();
            let collection = collection_tokens(&bases[l.base], &l.path, &rewritten);
            let mut inner = bases.to_vec();
            inner.push(loop_base(&l, bases, &index, rewritten));
            let body = rewrite(l.body.stream(), &inner, Delimiter::Brace, None);
            let mut body = Group::new(Delimiter::Brace, body);
            body.set_span(l.body.span());
            let for_token = &toks[i];
            out.extend(quote!(#for_token #index in 0..(#collection).len() #body));
            i = l.end;
            continue;
        }
        if let TokenTree::Group(g) = &toks[i] {
            let name = if g.delimiter() == Delimiter::Parenthesis {
                call_name(&toks, i)
            } else {
                None
            };
            if let Some((f, args)) = whole_struct_args(&toks, i, bases) {
                // `f(m, x)` becomes `f__needs_..(__m, __ad_unit, __ad_sink, __ad_tangent_self, x)`.
                out.pop();
                out.push(TokenTree::Ident(free_through_name(&f)));
                let args: Vec<TokenStream> = args
                    .into_iter()
                    .map(|arg| match arg {
                        Arg::Whole(b, _) => {
                            let (receiver, leading) = calls(&bases[b], &[], &[]);
                            let mut leading: Vec<TokenTree> = leading.into_iter().collect();
                            if is_punct(leading.last(), ',') {
                                leading.pop();
                            }
                            quote!(#receiver, #(#leading)*)
                        }
                        Arg::Other(t) => rewrite(t, bases, Delimiter::Parenthesis, name.as_deref()),
                    })
                    .collect();
                let mut ng = Group::new(Delimiter::Parenthesis, quote!(#(#args),*));
                ng.set_span(g.span());
                out.push(TokenTree::Group(ng));
                i += 1;
                continue;
            }
            let mut ng = Group::new(
                g.delimiter(),
                rewrite(g.stream(), bases, g.delimiter(), name.as_deref()),
            );
            ng.set_span(g.span());
            out.push(TokenTree::Group(ng));
            i += 1;
            continue;
        }
        let found = bases
            .iter()
            .enumerate()
            .rev()
            .find_map(|(b, base)| occurrence(&toks, i, &base.ident).map(|o| (b, o)));
        let Some((b, (path, index, end))) = found else {
            out.push(toks[i].clone());
            i += 1;
            continue;
        };
        let base = &bases[b];
        if let Some((method, args, after)) = part_call(&toks, i, end, base, &path, delim, call) {
            let index: Vec<TokenStream> = index
                .iter()
                .map(|g| rewrite(g.clone(), bases, Delimiter::Bracket, None))
                .collect();
            let (receiver, mut leading) = calls(base, &path, &index);
            leading.extend(rewrite(args.stream(), bases, Delimiter::Parenthesis, None));
            let through = through_name(&method);
            let mut group = Group::new(Delimiter::Parenthesis, leading);
            group.set_span(args.span());
            out.extend(quote!((#receiver).#through));
            out.push(TokenTree::Group(group));
            i = after;
            continue;
        }
        let mut full = base.prefix.clone();
        full.extend(path.iter().cloned());
        match replace(base.owner, &full) {
            Some(r) => {
                let borrowed = i > 0
                    && is_punct(toks.get(i - 1), '&')
                    && !(i > 1
                        && matches!(toks.get(i - 2), Some(TokenTree::Punct(p)) if p.as_char() == '&' && p.spacing() == Spacing::Joint));
                // `&self.w` is the parameter itself; `&self.w[1..]` borrows a part of it.
                if borrowed && r.drop_borrow && !is_group(toks.get(end), Delimiter::Bracket) {
                    out.pop();
                }
                let mut p = r.param.clone();
                p.set_span(toks[i].span());
                out.push(TokenTree::Ident(p));
                let groups = base.prefix_index.iter().cloned().chain(
                    index
                        .iter()
                        .map(|g| rewrite(g.clone(), bases, Delimiter::Bracket, None)),
                );
                for g in groups {
                    out.push(TokenTree::Group(Group::new(Delimiter::Bracket, g)));
                }
                i = end;
            }
            None => {
                // Read as written, through the passive reference; the indices inside are
                // rewritten as the scan reaches their groups.
                let passive = base.passive.clone();
                out.extend(quote!(#passive));
                i += 1;
            }
        }
    }
    out.into_iter().collect()
}

/// `.forward(..)` at `k`: a method that is no float's (`v.tanh()` on an element of a float
/// array is), so the element it is called on is a struct (`layer.forward(h)`).
/// Whether an index expression is a range (`2..`, `a..b`, `..=n`): a sub-slice, not an
/// element.
fn is_range(index: &TokenStream) -> bool {
    let toks: Vec<TokenTree> = index.clone().into_iter().collect();
    toks.windows(2)
        .any(|w| is_punct(w.first(), '.') && is_punct(w.get(1), '.'))
}

pub(super) fn struct_method_at(toks: &[TokenTree], k: usize) -> bool {
    use crate::ir::op::{Binary, Unary};
    let name = match (toks.get(k), toks.get(k + 1), toks.get(k + 2)) {
        (Some(TokenTree::Punct(p)), Some(TokenTree::Ident(m)), Some(TokenTree::Group(g)))
            if p.as_char() == '.' && g.delimiter() == Delimiter::Parenthesis =>
        {
            m.to_string()
        }
        _ => return false,
    };
    let float = Unary::from_method(&name).is_some()
        || Binary::from_method(&name).is_some()
        || FLOAT_METHODS.contains(&name.as_str());
    let other = SLICE_METHODS.contains(&name.as_str())
        || TENSOR_METHODS.contains(&name.as_str())
        || PASSIVE_METHODS.contains(&name.as_str());
    !float && !other
}

/// Methods of slices, `Vec`s and arrays (and their iterators) a body calls on a field.
const SLICE_METHODS: &[&str] = &[
    "iter",
    "iter_mut",
    "to_vec",
    "to_owned",
    "len",
    "is_empty",
    "first",
    "last",
    "get",
    "windows",
    "chunks",
    "chunks_exact",
    "split_at",
    "copied",
    "cloned",
    "fill",
    "swap",
    "contains",
    "sum",
    "product",
    "fold",
    "map",
    "zip",
    "enumerate",
    "rev",
    "skip",
    "take",
    "step_by",
    "filter",
    "max_by",
    "min_by",
    "copy_from_slice",
    "as_slice",
];

/// Methods of floats and references to them that are not rows of the registry.
const FLOAT_METHODS: &[&str] = &[
    "powi",
    "powf",
    "mul_add",
    "max",
    "min",
    "clamp",
    "sin_cos",
    "abs",
    "signum",
    "clone",
    "to_owned",
    "partial_cmp",
    "total_cmp",
    "is_nan",
    "is_finite",
    "is_sign_negative",
    "is_sign_positive",
    "to_string",
    "into",
];
