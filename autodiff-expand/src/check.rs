//! Cross-cutting checks (serde's `check.rs`) once activity is known: code without a
//! derivative applied to values that carry one. Each rule is one small function that says
//! why it exists. (What `wrt` and `stop` may name is checked where they are resolved, in
//! `spec`.)
use crate::activity::Activity;
use crate::ctxt::Ctxt;
use crate::ir::{walk, Function, Rhs, Stmt, VarId};
use proc_macro2::{Ident, Span, TokenStream};
use quote::ToTokens;
use syn::Type;

/// Code without a derivative rule must not sit on a path from a `wrt` entry to an output:
/// silently treating it as a constant would return a wrong gradient. Only the first such
/// place on a path is reported; what it feeds is not a new mistake.
pub fn active_opaque(cx: &Ctxt, f: &Function, act: &Activity) {
    opaque_on_active_paths(f, act, &mut |err| cx.syn_error(err));
}

/// Whether `active_opaque` would report anything: the calling convention asks it once per
/// parameter, without collecting errors the user never sees.
pub fn reaches_opaque(f: &Function, act: &Activity) -> bool {
    let mut found = false;
    opaque_on_active_paths(f, act, &mut |_| found = true);
    found
}

/// The walk behind [`active_opaque`] and [`reaches_opaque`]: `report` gets each mistake.
fn opaque_on_active_paths(f: &Function, act: &Activity, report: &mut dyn FnMut(syn::Error)) {
    // Values computed from an already reported place.
    let mut tainted = vec![false; f.vars.len()];
    walk(&f.body, &mut |stmt| {
        let Stmt::Let {
            dst: Some(dst),
            rhs,
            span,
        } = stmt
        else {
            return;
        };
        let reads = stmt.reads();
        if reads.iter().any(|&r| tainted[r]) {
            tainted[*dst] = true;
        }
        if let Rhs::Call(call) = rhs {
            let carries = call
                .args
                .iter()
                .filter_map(|a| a.value.var())
                .any(|a| act.varied[a] && !tainted[a]);
            if carries && act.is_active(*dst) {
                check_call_has_derivative(call, report);
            }
            // The calling convention has no tangent type for nested arrays yet.
            let nested = call
                .args
                .iter()
                .filter(|a| a.view.is_none())
                .filter_map(|a| a.value.var())
                .find(|&a| f.vars[a].shape.len() > 1 && act.varied[a] && act.is_active(*dst));
            if let Some(a) = nested {
                report(syn::Error::new(
                    *span,
                    format!(
                        "`{}` is a nested array, and a differentiated call takes arrays of floats \
                         only; pass its elements flattened into one slice (row-major), or compute \
                         this part in the calling function",
                        f.vars[a].name
                    ),
                ));
            }
        }
        let Rhs::Opaque(o) = rhs else { return };
        // A method that changes a differentiated array in place, kept as written: its result
        // is unused, but the array's later reads see the change, which has no derivative.
        if o.what.ends_with(crate::ir::CHANGES_IN_PLACE) {
            if let Some(&a) = reads.iter().find(|&&r| act.is_active(r) && !tainted[r]) {
                let name = &f.vars[a].name;
                if o.what.contains("borrows with `&mut`") && !o.what.contains("mem::swap") {
                    // A call writing through `&mut`: the fix is in the callee's signature, not
                    // in how `name` is changed (the call may not change `name` at all).
                    let call = o.what.trim_end_matches(crate::ir::CHANGES_IN_PLACE);
                    report(syn::Error::new(
                        *span,
                        format!(
                            "{call}, has no derivative, and `{name}` is being differentiated: \
                             a call is differentiated through one `&mut name` argument, of a \
                             local array or float, to a function with `#[differentiate]`; \
                             pass one such argument, or have the called function return the \
                             value instead (`let out: Vec<f64> = f(..);`)"
                        ),
                    ));
                    return;
                }
                let instead = match f.vars[a].is_array() {
                    true => format!("element assignments (`{name}[i] = ..;`) in a loop"),
                    false => format!("assignments (`{name} = ..;`)"),
                };
                report(syn::Error::new(
                    *span,
                    format!(
                        "{} has no derivative, and `{name}` is being differentiated; write the \
                         change as {instead}, or move it into a function with its own derivative",
                        o.what
                    ),
                ));
            }
            return;
        }
        if o.passive_result || !act.is_active(*dst) {
            return;
        }
        let fresh = reads.iter().any(|&r| act.varied[r] && !tainted[r]);
        tainted[*dst] = true;
        if fresh && o.what == crate::lower::MATCH_BINDING {
            report(syn::Error::new(
                *span,
                "this pattern binds part of a value that is being differentiated, and a pattern's \
                 bindings carry no derivative; match on a passive value (an integer, an enum, \
                 `x.partial_cmp(&y)`) and use the float by its own name in the arm",
            ));
        } else if fresh && o.what == crate::ir::CALL_RESULT_INDEXED {
            report(syn::Error::new(
                *span,
                "this indexes what a call returned, which the macro takes for one float; write the \
                 array's type where it is bound, `let y: Vec<f64> = f(..);` (or `[f64; N]`), so its \
                 elements are differentiated"
                    .to_string(),
            ));
            // One binding is one mistake: its other indexings are not reported again.
            for r in reads {
                tainted[r] = true;
            }
        } else if fresh {
            report_opaque(f, o, *span, report);
        }
    });
}

/// The message for code without a derivative on a differentiated path. Where the culprit
/// is a construct that is not supported yet (a sub-slice), the message names that
/// construct and what to write instead: telling the user that `sum` has no derivative
/// rule would blame code that works.
fn report_opaque(
    f: &Function,
    o: &crate::ir::Opaque,
    span: Span,
    report: &mut dyn FnMut(syn::Error),
) {
    if let Some(sub_slice) = find_sub_slice(o.tokens.clone()) {
        let text = display(f, sub_slice.clone());
        report(syn::Error::new_spanned(
            sub_slice,
            format!(
                "the sub-slice `{text}` is not supported yet on a value that is being \
                 differentiated; loop over the indices of the range instead and read the \
                 elements, `for i in a..b {{ .. x[i] .. }}` (the elements of `x` are \
                 differentiated)"
            ),
        ));
        return;
    }
    report(syn::Error::new(
        span,
        format!(
            "{} has no derivative rule, and it is applied to a value that is being differentiated; \
             write it with supported float operations, wrap the value in `stop_gradient(..)` if no \
             gradient should flow through it, or move it into a function with its own derivative",
            o.what
        ),
    ));
}

/// `x[a..b]`, `x[1..]`, `x[..]`: a name followed by brackets holding a range, anywhere in
/// the tokens. Returns those two tokens (for the error's span and text).
fn find_sub_slice(tokens: TokenStream) -> Option<TokenStream> {
    use proc_macro2::{Delimiter, TokenTree};
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    for pair in trees.windows(2) {
        if let (TokenTree::Ident(_), TokenTree::Group(g)) = (&pair[0], &pair[1]) {
            if g.delimiter() == Delimiter::Bracket && has_range(g.stream()) {
                return Some(pair.iter().cloned().collect());
            }
        }
    }
    trees.into_iter().find_map(|t| match t {
        TokenTree::Group(g) => find_sub_slice(g.stream()),
        _ => None,
    })
}

/// Whether tokens hold `..` outside any nested group.
fn has_range(tokens: TokenStream) -> bool {
    use proc_macro2::TokenTree;
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    trees.windows(2).any(|w| {
        matches!((&w[0], &w[1]), (TokenTree::Punct(a), TokenTree::Punct(b))
            if a.as_char() == '.' && b.as_char() == '.')
    })
}

/// Tokens as the user wrote them: placeholders back to the names they stand for, and no
/// spaces around `[`, `..` and `]`.
fn display(f: &Function, tokens: TokenStream) -> String {
    use proc_macro2::TokenTree;
    fn restore(f: &Function, tokens: TokenStream) -> TokenStream {
        tokens
            .into_iter()
            .map(|t| match t {
                TokenTree::Ident(i) => match crate::ir::placeholder_var(&i) {
                    Some(v) if v < f.vars.len() => {
                        TokenTree::Ident(Ident::new(&f.vars[v].name, i.span()))
                    }
                    _ => TokenTree::Ident(i),
                },
                TokenTree::Group(g) => TokenTree::Group(proc_macro2::Group::new(
                    g.delimiter(),
                    restore(f, g.stream()),
                )),
                other => other,
            })
            .collect()
    }
    restore(f, tokens)
        .to_string()
        .replace(" [", "[")
        .replace("[ ", "[")
        .replace(" ]", "]")
        .replace(" ..", "..")
        .replace(".. ", "..")
}

/// Crates of special functions on floats (`libm::erf`), which have no derivative the macro
/// could find and cannot be annotated (`libm::sin(x)` is lowered as `x.sin()` before this;
/// `std::` and `core::` paths are opaque code, reported with their own message): a call into them on a differentiated value is
/// reported here with the fix, instead of as rustc's resolution error. Other paths with
/// `::` may name annotated functions of other crates (`physics::energy(x)` works), so they
/// are left to the calling convention.
const NO_DERIVATIVE_CRATES: &[&str] = &[
    "libm",
    "num_traits",
    "special",
    "statrs",
    "puruspe",
    "spfunc",
];

/// A call on a differentiated value goes through the callee's calling convention. Two
/// callees can never have one, and rustc's resolution error would advise annotating them,
/// which cannot be done: generated derivatives (`f_grad`, `f_vjp`, `f_jvp`), and functions
/// of math crates such as `libm`.
fn check_call_has_derivative(call: &crate::ir::Call, report: &mut dyn FnMut(syn::Error)) {
    let Ok(path) = syn::parse2::<syn::Path>(call.path.clone()) else {
        return;
    };
    let (Some(first), Some(last)) = (path.segments.first(), path.segments.last()) else {
        return;
    };
    let name = last.ident.to_string();
    if let Some(suffix) = ["_grad", "_vjp", "_jvp"]
        .into_iter()
        .find(|s| name.ends_with(s) && name.len() > s.len())
    {
        let base = &name[..name.len() - suffix.len()];
        report(syn::Error::new_spanned(
            &last.ident,
            format!(
                "derivatives of generated derivatives (second order) are not supported yet: \
                 `{name}` is generated by #[differentiate] on `{base}`, and a differentiated \
                 function cannot call it on a value that is being differentiated; compute the \
                 second derivative by hand in a function with `#[custom_derivative]`, or wrap \
                 the argument in `stop_gradient(..)` if no gradient should flow through it (a \
                 function of your own whose name ends in `{suffix}` is taken for a generated \
                 one: rename it)"
            ),
        ));
        return;
    }
    let krate = first.ident.to_string();
    if path.segments.len() >= 2 && NO_DERIVATIVE_CRATES.contains(&krate.as_str()) {
        let written = display(&Function::default(), call.path.clone()).replace(" :: ", "::");
        report(syn::Error::new_spanned(
            &path,
            format!(
                "`{written}` has no derivative, and a function of another crate cannot be \
                 annotated; wrap it in a function of your own with a hand-written derivative, \
                 and call that:\n\
                 \n    #[custom_derivative(forward = {name}_forward, reverse = {name}_reverse)]\
                 \n    fn {name}(x: f64) -> f64 {{ {written}(x) }}\
                 \n    fn {name}_forward(x: f64, dx: f64) -> (f64, f64) {{ ({name}(x), {name}_derivative(x) * dx) }}\
                 \n    fn {name}_reverse(x: f64, seed: f64) -> (f64, (f64,)) {{ ({name}(x), (seed * {name}_derivative(x),)) }}\
                 \n\nwhere `{name}_derivative(x)` computes the derivative of `{written}`"
            ),
        ));
    }
}

/// A slice, array or `Vec` parameter of values other than numbers (`shapes: &[Shape]`)
/// iterated by a `for` loop or zipped into an iterator chain: the lowering binds its
/// elements by value as it does floats' (with the type `T` in a generic function), so the
/// user's `*s` no longer type-checks and rustc reports a cascade of errors inside generated
/// code. One error at the array's
/// name in the loop says what to write instead (indexing, `shapes[i]`, works). Reported
/// once per parameter. Found on the tokens: the IR no longer tells a loop's element from
/// an indexing the user wrote.
pub fn non_float_elements(cx: &Ctxt, function: &syn::ItemFn) {
    const NUMBERS: &[&str] = &[
        "f32", "f64", "i8", "i16", "i32", "i64", "i128", "isize", "u8", "u16", "u32", "u64",
        "u128", "usize", "bool", "char",
    ];
    let type_params: Vec<String> = function
        .sig
        .generics
        .type_params()
        .map(|t| t.ident.to_string())
        .collect();
    let arrays: Vec<(String, TokenStream)> = function
        .sig
        .inputs
        .iter()
        .filter_map(|input| match input {
            syn::FnArg::Typed(pt) => match (&*pt.pat, crate::types::element_type(&pt.ty)) {
                (syn::Pat::Ident(pi), Some(elem @ Type::Path(p))) => {
                    let name = p.path.get_ident()?.to_string();
                    let number = NUMBERS.contains(&name.as_str()) || type_params.contains(&name);
                    (!number).then(|| (pi.ident.to_string(), elem.to_token_stream()))
                }
                _ => None,
            },
            syn::FnArg::Receiver(_) => None,
        })
        .collect();
    if arrays.is_empty() {
        return;
    }
    let mut reported = Vec::new();
    let body = function.block.to_token_stream();
    // In a generic function the elements are bound with the float type `T`; otherwise by
    // value, which works (`p.x`, `s == Shape::Square`) except where they are dereferenced.
    let generic = !type_params.is_empty();
    for (name, derefs) in iterated_names(body) {
        let Some((_, elem)) = arrays.iter().find(|(a, _)| name == a.as_str()) else {
            continue;
        };
        if !generic && !derefs {
            continue;
        }
        if reported.contains(&name.to_string()) {
            continue;
        }
        reported.push(name.to_string());
        cx.error_spanned_by(
            &name,
            format!(
                "`{name}` holds `{elem}` values, not numbers, and iterating over it is not \
                 supported yet in a differentiated function; loop over its indices and read \
                 the elements by indexing, `for i in 0..{name}.len() {{ let s = {name}[i]; .. }}` \
                 (code on passive values is kept as written)"
            ),
        );
    }
}

/// Whether tokens hold `*name` (a dereference of a name, not a multiplication: the `*`
/// follows no value).
fn derefs_a_name(tokens: TokenStream) -> bool {
    use proc_macro2::TokenTree;
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    trees.iter().enumerate().any(|(k, t)| match t {
        TokenTree::Punct(p) if p.as_char() == '*' => {
            let after_value =
                k.checked_sub(1)
                    .and_then(|j| trees.get(j))
                    .is_some_and(|prev| match prev {
                        TokenTree::Ident(i) => !["return", "in", "if", "match", "let"]
                            .contains(&i.to_string().as_str()),
                        TokenTree::Literal(_) => true,
                        TokenTree::Group(g) => g.delimiter() != proc_macro2::Delimiter::Brace,
                        TokenTree::Punct(_) => false,
                    });
            !after_value && matches!(trees.get(k + 1), Some(TokenTree::Ident(_)))
        }
        TokenTree::Group(g) => derefs_a_name(g.stream()),
        _ => false,
    })
}

/// The names iterated in `for pat in <tokens> { .. }` headers and zipped in `.zip(<tokens>)`,
/// anywhere in the tokens, each with whether the code that uses the elements (the loop's
/// body, the rest of the chain) dereferences a name (`*s`), which an element bound by value
/// does not allow.
fn iterated_names(tokens: TokenStream) -> Vec<(Ident, bool)> {
    use proc_macro2::{Delimiter, TokenTree};
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    let mut names = Vec::new();
    let idents = |tokens: &[TokenTree], names: &mut Vec<Ident>| {
        // Every name but one whose length is taken (`0..shapes.len()` iterates indices).
        fn all(tokens: TokenStream, names: &mut Vec<Ident>) {
            let trees: Vec<TokenTree> = tokens.into_iter().collect();
            for (k, t) in trees.iter().enumerate() {
                match t {
                    TokenTree::Ident(i) => {
                        let len = matches!(
                            (trees.get(k + 1), trees.get(k + 2)),
                            (Some(TokenTree::Punct(p)), Some(TokenTree::Ident(m)))
                                if p.as_char() == '.' && m == "len"
                        );
                        if !len {
                            names.push(i.clone());
                        }
                    }
                    TokenTree::Group(g) => all(g.stream(), names),
                    _ => {}
                }
            }
        }
        all(tokens.iter().cloned().collect(), names);
    };
    let mut k = 0;
    while k < trees.len() {
        match &trees[k] {
            TokenTree::Ident(i) if i == "for" => {
                // The iterable: after `in`, up to the loop's body.
                let start = (k..trees.len())
                    .find(|&j| matches!(&trees[j], TokenTree::Ident(i) if i == "in"));
                if let Some(start) = start {
                    let end = (start..trees.len())
                        .find(|&j| {
                            matches!(&trees[j], TokenTree::Group(g) if g.delimiter() == Delimiter::Brace)
                        })
                        .unwrap_or(trees.len());
                    let mut found = Vec::new();
                    idents(&trees[start + 1..end], &mut found);
                    let derefs = derefs_a_name(trees.get(end).cloned().into_iter().collect());
                    names.extend(found.into_iter().map(|n| (n, derefs)));
                }
            }
            TokenTree::Ident(i) if i == "zip" => {
                if let Some(TokenTree::Group(g)) = trees.get(k + 1) {
                    let mut found = Vec::new();
                    idents(&[TokenTree::Group(g.clone())], &mut found);
                    let derefs = derefs_a_name(trees[k + 2..].iter().cloned().collect());
                    names.extend(found.into_iter().map(|n| (n, derefs)));
                }
            }
            TokenTree::Group(g) => names.extend(iterated_names(g.stream())),
            _ => {}
        }
        k += 1;
    }
    names
}

/// A sub-slice passed to a call (`g(&x[1..])`) is not supported yet: the call takes its
/// argument's elements one array at a time. Passive or not, the generated code would bind
/// the unsized `x[1..]` to a variable, and rustc's "the size for values of type `[f64]`
/// cannot be known" would point at the attribute.
pub fn sub_slice_arguments(cx: &Ctxt, f: &Function) {
    let mut sub_slices: Vec<(VarId, TokenStream)> = Vec::new();
    let mut ranges: Vec<(VarId, TokenStream)> = Vec::new();
    walk(&f.body, &mut |stmt| {
        let Stmt::Let {
            dst: Some(dst),
            rhs,
            span,
        } = stmt
        else {
            return;
        };
        match rhs {
            // `x[1..]` as a value: lowered as an indexing by a range, which the generated code
            // would bind to a variable of the unsized type `[f64]`.
            Rhs::Index(array, index) => {
                let range = index.iter().find_map(|i| match i {
                    crate::ir::Operand::Const { tokens, .. } if has_range(tokens.clone()) => {
                        Some(tokens.clone())
                    }
                    crate::ir::Operand::Var(v) => ranges
                        .iter()
                        .find(|(r, _)| r == v)
                        .map(|(_, tokens)| tokens.clone()),
                    _ => None,
                });
                if let Some(range) = range {
                    let text = format!("{}[{}]", f.vars[*array].name, display(f, range));
                    cx.error_at(
                        *span,
                        format!(
                            "the sub-slice `{text}` is not supported yet in a differentiated \
                             function; pass the whole array with the bounds of the range and \
                             index inside the called function, or loop over the indices of \
                             the range, `for i in a..b {{ .. x[i] .. }}`"
                        ),
                    );
                }
            }
            // `a..b` as an index: the range an indexing above reads.
            Rhs::Opaque(o) if has_range(o.tokens.clone()) => {
                ranges.push((*dst, o.tokens.clone()));
            }
            // Only a value that is the sub-slice itself: one inside a larger expression
            // (`x[1..].iter().sum()`) is reported by `active_opaque`.
            Rhs::Opaque(o) if o.tokens.clone().into_iter().count() == 2 => {
                if let Some(s) = find_sub_slice(o.tokens.clone()) {
                    sub_slices.push((*dst, s));
                }
            }
            Rhs::Call(call) => {
                for arg in &call.args {
                    let Some(v) = arg.value.var() else { continue };
                    let Some((_, s)) = sub_slices.iter().find(|(d, _)| *d == v) else {
                        continue;
                    };
                    let text = display(f, s.clone());
                    cx.error_spanned_by(
                        s,
                        format!(
                            "a sub-slice (`{text}`) passed to a call is not supported yet; pass \
                             the whole array with the bounds of the range, and index inside the \
                             called function"
                        ),
                    );
                }
            }
            _ => {}
        }
    });
}
