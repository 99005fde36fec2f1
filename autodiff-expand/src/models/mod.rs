//! Structs as differentiable parameters (`wrt = self`, `wrt = m` with `m: &Model`): the
//! macro does not see the struct's fields, but it sees which fields the body reads. Each
//! differentiated field read (`self.w[i]`, `self.b`, `self.layer.w[j]`) becomes a parameter
//! of a hidden function (`__self__w: &[F]`, `__self__b: F`), differentiated as usual, and the
//! generated `f_grad`/`f_vjp`/`f_jvp` call it with the fields and write each field's gradient
//! into a zero copy of the struct (`Params::zeros_like`): the gradient has the struct's own
//! type, every float leaf holding its derivative. `f_jvp` takes a tangent of the struct's
//! type and reads the same fields of it.
//!
//! A field's role comes from how the body uses it: indexed (`self.w[i]`), borrowed
//! (`&self.w`) or iterated (`self.w.iter()`) is a float array; used as a range bound, an
//! index, a length or cast with `as` is passive (sizes, flags); otherwise a float scalar.
//! `stop = [self.n]` makes a field passive whatever its use.
use crate::args::{self, Config, Unconnected};
use crate::ctxt::Ctxt;
mod fields;
mod scan;
mod struct_loops;
mod through;

use fields::*;
use through::*;

use proc_macro2::{Delimiter, Ident, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use scan::{depth, is_prefix, same_path, Base, Read, Replacement, Seg, Use};
use syn::{FnArg, ItemFn, Pat, ReturnType, Type};

/// One struct in `wrt`.
struct StructParam {
    /// `self` or the parameter's name.
    base: Ident,
    /// Position among the inputs.
    index: usize,
    /// The struct's type (`Self`, `Model<T>`), without `&`.
    ty: TokenStream,
    /// The parameter is a reference (`&self`, `m: &Model`).
    by_ref: bool,
    /// Differentiated fields, in order of first use.
    fields: Vec<Field>,
    /// The body calls methods of it (`self.forward(x)`): the hidden function then takes
    /// `__ad_unit` (a zero in `wrt`, which makes each such call a differentiated one), the
    /// sink its callees add their gradients of `self` to, and the tangent of `self`.
    calls: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Role {
    /// A float: the hidden parameter is `F` (`&[F]` for the fields of elements).
    Scalar,
    /// A float array (`Vec<F>`, `[F; N]`): `&[F]`.
    Array,
    /// A tensor: `&Tensor<F>`.
    Tensor,
    /// Read as written, without a derivative: sizes, flags, names, stopped fields.
    Passive,
}

struct Field {
    /// `w`; `layer`, `w`; `layers`, element, `w`.
    path: Vec<Seg>,
    role: Role,
    /// The hidden function's parameter for it: `__self__w`, `__self__layers__at__w`.
    param: Ident,
}

/// Whether `wrt` names a struct (`self`, or a parameter of a struct type); `None`: the
/// ordinary pipeline handles the function.
pub fn applies(config: &Config, function: &ItemFn) -> bool {
    let Some(wrt) = &config.wrt else {
        return !config.stop_fields.is_empty();
    };
    if !wrt.fields.is_empty() || !config.stop_fields.is_empty() {
        return true;
    }
    wrt.names
        .iter()
        .any(|name| name == "self" || struct_param(function, name).is_some())
}

/// The parameter named `name` if its type (by value or `&`) is a struct type.
fn struct_param<'a>(function: &'a ItemFn, name: &Ident) -> Option<(usize, &'a Type)> {
    function
        .sig
        .inputs
        .iter()
        .enumerate()
        .find_map(|(i, arg)| match arg {
            FnArg::Typed(pt) => match &*pt.pat {
                Pat::Ident(pi) if pi.ident == *name && is_struct_type(function, &pt.ty) => {
                    Some((i, &*pt.ty))
                }
                _ => None,
            },
            FnArg::Receiver(_) => None,
        })
}

/// `Model`, `Model<T>`, `crate::Model`, `Self` (or `&` of them); not floats (`f64`, `T`),
/// arrays, slices, `Vec`s or tensors.
fn is_struct_type(function: &ItemFn, ty: &Type) -> bool {
    let ty = match ty {
        Type::Reference(r) => &*r.elem,
        ty => ty,
    };
    let Type::Path(p) = ty else { return false };
    if p.qself.is_some() {
        return false;
    }
    let Some(last) = p.path.segments.last() else {
        return false;
    };
    let name = last.ident.to_string();
    if ["f32", "f64", "Vec", "Tensor", "Box", "Option", "Rc", "Arc"].contains(&name.as_str()) {
        return false;
    }
    // Primitives (`i32`, `usize`, `bool`) are lowercase; the ordinary checks report them.
    if name.starts_with(|c: char| c.is_ascii_lowercase()) {
        return false;
    }
    if name == "Self" || p.path.segments.len() > 1 || !last.arguments.is_empty() {
        return true;
    }
    let generic = function
        .sig
        .generics
        .type_params()
        .any(|t| t.ident == last.ident);
    // `T`, `F`, `T1`: type parameters of an enclosing `impl`, floats by convention.
    let short_upper = name.len() <= 2
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    !generic && !short_upper
}

/// Expands a function with a struct in `wrt`.
pub fn expand(function: &ItemFn, config: &Config) -> syn::Result<TokenStream> {
    let cx = Ctxt::new();
    let mut wrt = config.wrt.clone().unwrap_or(args::NameList {
        names: Vec::new(),
        fields: Vec::new(),
        bare: false,
    });
    // `wrt = [self.w, self.layer.b]`: TensorFlow's `var_list`, a subset of the struct's
    // variables; the struct is differentiated with respect to those fields only, and the
    // gradient is one value of each field's type.
    let mut subset: Option<Vec<Vec<String>>> = None;
    if !wrt.fields.is_empty() {
        let base = wrt.fields[0][0].clone();
        if let Some(name) = wrt.names.first() {
            cx.error_spanned_by(
                name,
                format!("`wrt` lists fields of `{base}`; list only fields (`wrt = [{base}.w, {base}.b]`) or only whole parameters (`wrt = [{base}, {name}]`)"),
            );
        }
        for path in &wrt.fields {
            if path[0] != base {
                cx.error_spanned_by(
                    &path[0],
                    format!("`wrt` lists fields of `{base}` and of `{}`; list fields of one struct, or the structs whole", path[0]),
                );
            }
        }
        subset = Some(
            wrt.fields
                .iter()
                .map(|p| p[1..].iter().map(ToString::to_string).collect())
                .collect(),
        );
        wrt = args::NameList {
            names: vec![base],
            fields: Vec::new(),
            bare: wrt.bare,
        };
    }
    if config.unconnected == Unconnected::None {
        cx.error_spanned_by(
            &function.sig.ident,
            "`unconnected = none` is not supported with a struct in `wrt`: the gradient is a struct, zero where nothing connects",
        );
    }
    // The output: a float, or a tensor (whose `f_grad` seeds ones, and whose `f_vjp` takes a
    // tensor seed); `float` is the float type either way.
    let (float, out) = match &function.sig.output {
        ReturnType::Type(_, ty) if crate::types::is_scalar_path(ty) => {
            (ty.to_token_stream(), ty.to_token_stream())
        }
        ReturnType::Type(_, ty) if output_float(ty).is_some() => {
            (output_float(ty).expect("checked"), ty.to_token_stream())
        }
        ReturnType::Type(_, ty) => {
            cx.error_spanned_by(
                ty,
                "a gradient with respect to a struct needs a float output, or a tensor, an array or a tuple of floats (`-> f64`, `-> T`, `-> Tensor<f64>`, `-> [f64; 3]`, `-> (f64, f64)`)",
            );
            (quote!(f64), quote!(f64))
        }
        ReturnType::Default => {
            cx.error_spanned_by(
                &function.sig,
                "a gradient with respect to a struct needs a float output, or a tensor, an array or a tuple of floats (`-> f64`, `-> T`, `-> Tensor<f64>`, `-> [f64; 3]`, `-> (f64, f64)`)",
            );
            (quote!(f64), quote!(f64))
        }
    };
    // The structs in `wrt`, and the other entries.
    let mut structs: Vec<StructParam> = Vec::new();
    for name in &wrt.names {
        if name == "self" {
            match function.sig.inputs.first() {
                Some(FnArg::Receiver(r)) if r.mutability.is_none() || r.reference.is_none() => {
                    structs.push(StructParam {
                        base: name.clone(),
                        index: 0,
                        ty: quote!(Self),
                        by_ref: r.reference.is_some(),
                        fields: Vec::new(),
        calls: false,
                    })
                }
                Some(FnArg::Receiver(r)) => cx.error_spanned_by(
                    r,
                    "`wrt = self` differentiates `&self` or `self`; `&mut self` is not differentiated",
                ),
                _ => cx.error_spanned_by(
                    name,
                    "`wrt = self` needs a method (`fn f(&self, ..)`); this function has no `self`",
                ),
            }
        } else if let Some((index, ty)) = struct_param(function, name) {
            let (ty, by_ref) = match ty {
                Type::Reference(r) if r.mutability.is_none() => (r.elem.to_token_stream(), true),
                Type::Reference(r) => {
                    cx.error_spanned_by(
                        r,
                        "a struct in `wrt` is taken by value or by `&`, not by `&mut`",
                    );
                    (r.elem.to_token_stream(), true)
                }
                ty => (ty.to_token_stream(), false),
            };
            structs.push(StructParam {
                base: name.clone(),
                index,
                ty,
                by_ref,
                fields: Vec::new(),
                calls: false,
            });
        }
    }
    // Fields named in `stop`.
    let mut stopped: Vec<(String, Vec<String>)> = Vec::new();
    for path in &config.stop_fields {
        if !structs.iter().any(|s| s.base == path[0]) {
            cx.error_spanned_by(
                &path[0],
                format!(
                    "`stop` names a field of `{}`, which is not a struct in `wrt`",
                    path[0]
                ),
            );
        }
        stopped.push((
            path[0].to_string(),
            path[1..].iter().map(ToString::to_string).collect(),
        ));
    }
    let body = function.block.to_token_stream();
    let bases: Vec<Base> = structs
        .iter()
        .enumerate()
        .map(|(k, s)| Base {
            ident: s.base.clone(),
            owner: k,
            prefix: Vec::new(),
            prefix_index: Vec::new(),
            passive: passive_ident(&s.base).to_token_stream(),
        })
        .collect();
    let mut reads: Vec<Read> = Vec::new();
    scan::collect(&cx, body.clone(), &bases, Delimiter::None, None, &mut reads);
    for (k, s) in structs.iter_mut().enumerate() {
        s.fields = fields_of(&cx, s, k, &reads, &stopped, subset.as_deref());
        s.calls = reads.iter().any(|r| r.owner == k && r.method.is_some());
    }
    cx.check()?;
    let cx = Ctxt::new();

    // The hidden function: each struct becomes `__self: &Self` (passive reads) and one
    // parameter per differentiated field.
    let name = &function.sig.ident;
    let inner_name = format_ident!("__{}__fields", name);
    let mut inner_inputs: Vec<TokenStream> = Vec::new();
    let mut plain_names: Vec<Ident> = Vec::new();
    for (i, arg) in function.sig.inputs.iter().enumerate() {
        if let Some(s) = structs.iter().find(|s| s.index == i) {
            let passive = passive_ident(&s.base);
            let ty = &s.ty;
            inner_inputs.push(quote!(#passive: &#ty));
            for f in differentiated(s) {
                let (p, ty) = (&f.param, param_type(f, &float));
                inner_inputs.push(quote!(#p: #ty));
            }
            if s.calls {
                let (unit, sink, tangent) = call_idents();
                inner_inputs.push(quote!(#unit: #float));
                let private = crate::emit::private();
                inner_inputs.push(quote!(#sink: &dyn #private::Sink<#float>));
                inner_inputs.push(quote!(#tangent: &#ty));
            }
            continue;
        }
        match arg {
            FnArg::Receiver(r) => {
                // `self` not in `wrt`: a passive `&Self`, read as it is.
                cx.error_spanned_by(
                    r,
                    "with a struct in `wrt`, list `self` in `wrt` too (or make this a free function)",
                );
            }
            FnArg::Typed(pt) => match &*pt.pat {
                Pat::Ident(pi) => {
                    let (ident, ty) = (&pi.ident, &pt.ty);
                    plain_names.push(ident.clone());
                    let m = pi.mutability;
                    inner_inputs.push(quote!(#m #ident: #ty));
                }
                other => cx.error_spanned_by(
                    other,
                    "with a struct in `wrt`, every parameter is a name (`x: &[f64]`)",
                ),
            },
        }
    }
    // The gradient of each entry of `wrt`, in order.
    let mut inner_wrt: Vec<Ident> = Vec::new();
    let mut grad_types: Vec<TokenStream> = Vec::new();
    for entry in &wrt.names {
        if let Some(s) = structs.iter().find(|s| s.base == *entry) {
            inner_wrt.extend(differentiated(s).map(|f| f.param.clone()));
            if s.calls {
                inner_wrt.push(call_idents().0);
            }
            match &subset {
                Some(paths) => grad_types.extend(paths.iter().map(|p| field_type(&s.ty, p))),
                None => grad_types.push(s.ty.clone()),
            }
        } else {
            let ty = function.sig.inputs.iter().find_map(|arg| match arg {
                FnArg::Typed(pt) => match &*pt.pat {
                    Pat::Ident(pi) if pi.ident == *entry => Some(&*pt.ty),
                    _ => None,
                },
                FnArg::Receiver(_) => None,
            });
            match ty.and_then(plain_grad_type) {
                Some(g) => grad_types.push(g),
                None => cx.error_spanned_by(
                    entry,
                    format!("next to a struct, `wrt` lists parameters of float, slice or `Vec` type; `{entry}` is not one"),
                ),
            }
            inner_wrt.push(entry.clone());
        }
    }
    cx.check()?;
    let replace = |owner: usize, path: &[Seg]| {
        let f = differentiated(&structs[owner]).find(|f| same_path(&f.path, path))?;
        Some(Replacement {
            param: f.param.clone(),
            drop_borrow: depth(&f.path) == 0 && f.role != Role::Scalar,
        })
    };
    // A method call's receiver and leading arguments: on the struct itself, its unit, sink
    // and tangent; on an element of it (`layer.forward(h)`), the element, the part of the
    // sink its leaves are and the same element of the tangent.
    let calls = |base: &Base, path: &[Seg], index: &[TokenStream]| {
        let (unit, sink, tangent) = call_idents();
        let passive = passive_ident(&structs[base.owner].base);
        if base.prefix.is_empty() && path.is_empty() {
            return (quote!(#passive), quote!(#unit, #sink, #tangent,));
        }
        let private = crate::emit::private();
        // `&(__self.layers[l])` as a call argument would be lowered as a read of the element
        // (a move); `Index::index(&__self.layers, l)` is a call on passive values, kept.
        let (element, element_ref) = if path.is_empty() {
            (base.passive.clone(), indexed_by_call(base.passive.clone()))
        } else {
            part_expr(base.passive.clone(), path, index)
        };
        let tangent_ref = replace_root(element_ref.clone(), &passive, &tangent);
        (
            quote!(#element),
            quote!(#unit, #private::element_sink(#sink, #passive, #element_ref), #tangent_ref,),
        )
    };
    let rewritten = scan::rewrite(body, &bases, &replace, &calls);
    let block: syn::Block = syn::parse2(rewritten)?;
    let generics = &function.sig.generics;
    let where_clause = &generics.where_clause;
    let output = &function.sig.output;
    // A hidden function that calls methods of a struct passes it to their `__through`
    // functions, which need its `Params` bound.
    let call_bounds: Vec<TokenStream> = structs
        .iter()
        .filter(|s| s.calls)
        .map(|s| {
            let ty = &s.ty;
            let private = crate::emit::private();
            quote!(#ty: #private::StructParams<#float>)
        })
        .chain(float_param_bound(&float, structs.iter().any(|s| s.calls)))
        .collect();
    let inner_where = match (where_clause, call_bounds.is_empty()) {
        (w, true) => quote!(#w),
        (Some(w), false) => {
            let preds = &w.predicates;
            quote!(where #preds, #(#call_bounds),*)
        }
        (None, false) => quote!(where #(#call_bounds),*),
    };
    let inner: ItemFn = syn::parse2(quote! {
        #[doc(hidden)]
        #[allow(non_snake_case, clippy::all)]
        fn #inner_name #generics (#(#inner_inputs),*) #output #inner_where #block
    })?;
    let stop = &config.stop;
    let receiver = matches!(function.sig.inputs.first(), Some(FnArg::Receiver(_)));
    let associated = if receiver || config.associated {
        quote!(, associated)
    } else {
        quote!()
    };
    let inner_attr =
        quote!(wrt = [#(#inner_wrt),*], stop = [#(#stop),*], unconnected = zero #associated);
    let inner_tokens = crate::expand_inner(inner_attr, &inner, true)?;

    // The wrappers.
    let call_path = |suffix: &str| {
        let f = format_ident!("{}_{}", inner_name, suffix);
        if receiver || config.associated {
            quote!(Self::#f)
        } else {
            quote!(#f)
        }
    };
    let private = crate::emit::private();
    let mut args: Vec<TokenStream> = Vec::new();
    let mut forward_args: Vec<TokenStream> = Vec::new();
    let mut tangent_args: Vec<TokenStream> = Vec::new();
    let mut tangent_inputs: Vec<TokenStream> = Vec::new();
    let mut tangent_setup: Vec<TokenStream> = Vec::new();
    let mut outer_inputs: Vec<TokenStream> = Vec::new();
    for (i, arg) in function.sig.inputs.iter().enumerate() {
        outer_inputs.push(match arg {
            FnArg::Receiver(r) => {
                let (amp, lt) = (&r.reference.as_ref().map(|_| quote!(&)), r.lifetime());
                quote!(#amp #lt self)
            }
            FnArg::Typed(pt) => match &*pt.pat {
                Pat::Ident(pi) => {
                    let (ident, ty) = (&pi.ident, &pt.ty);
                    quote!(#ident: #ty)
                }
                _ => unreachable_tokens(),
            },
        });
        if let Some(s) = structs.iter().find(|s| s.index == i) {
            let base = &s.base;
            let source = if s.by_ref {
                quote!(#base)
            } else {
                quote!(&#base)
            };
            args.push(source.clone());
            forward_args.push(source.clone());
            for f in differentiated(s) {
                args.push(gather(quote!(#base), f));
                forward_args.push(gather(quote!(#base), f));
            }
            if s.calls {
                // The unit (zero), the sink, and the tangent of the struct: the struct
                // itself in reverse mode, where it is not read.
                let sink = call_idents().1;
                let zero = quote!(#private::zero::<#float>());
                let tangent = format_ident!("tangent_{}", base.to_string());
                args.extend([zero.clone(), quote!(&#sink), source]);
                forward_args.extend([zero, quote!(&#sink), quote!(#tangent)]);
            }
        } else if let FnArg::Typed(pt) = arg {
            if let Pat::Ident(pi) = &*pt.pat {
                let ident = &pi.ident;
                args.push(quote!(#ident));
                forward_args.push(quote!(#ident));
            }
        }
    }
    // Tangents, in the order of `wrt` (the hidden function's order).
    for entry in &wrt.names {
        let tangent = format_ident!("tangent_{}", entry.to_string());
        if let Some(s) = structs.iter().find(|s| s.base == *entry) {
            let ty = &s.ty;
            match &subset {
                // One tangent per field; the struct's tangent is put together from them.
                Some(paths) => {
                    let base = &s.base;
                    let source = if s.by_ref {
                        quote!(#base)
                    } else {
                        quote!(&#base)
                    };
                    let mut sets = Vec::new();
                    for p in paths {
                        let t = format_ident!("tangent_{}", p.join("_"));
                        let fty = field_type(ty, p);
                        tangent_inputs.push(quote!(#t: &#fty));
                        let members = p.iter().map(|m| member(m));
                        sets.push(
                            quote!(#tangent #(.#members)* = ::core::clone::Clone::clone(#t);),
                        );
                    }
                    tangent_setup.push(quote! {
                        let mut #tangent = #private::struct_zeros::<#float, _>(#source);
                        #(#sets)*
                        let #tangent = &#tangent;
                    });
                }
                None => tangent_inputs.push(quote!(#tangent: &#ty)),
            }
            for f in differentiated(s) {
                tangent_args.push(gather(quote!(#tangent), f));
            }
            if s.calls {
                tangent_args.push(quote!(#private::zero::<#float>()));
            }
        } else if let Some(ty) = function.sig.inputs.iter().find_map(|arg| match arg {
            FnArg::Typed(pt) => match &*pt.pat {
                Pat::Ident(pi) if pi.ident == *entry => Some(&pt.ty),
                _ => None,
            },
            FnArg::Receiver(_) => None,
        }) {
            tangent_inputs.push(quote!(#tangent: #ty));
            tangent_args.push(quote!(#tangent));
        }
    }
    // Pack the hidden function's gradients: one struct per struct entry.
    let mut grads: Vec<Ident> = Vec::new();
    let mut pack: Vec<TokenStream> = Vec::new();
    let mut results: Vec<TokenStream> = Vec::new();
    let mut next = 0usize;
    for entry in &wrt.names {
        if let Some(s) = structs.iter().find(|s| s.base == *entry) {
            let base = &s.base;
            let g = format_ident!("__grad_{}", base.to_string());
            let span = base.span();
            let source = if s.by_ref {
                quote!(#base)
            } else {
                quote!(&#base)
            };
            pack.push(quote_spanned! {span=>
                let mut #g = #private::struct_zeros::<#float, _>(#source);
            });
            for f in differentiated(s) {
                let gi = format_ident!("__g{}", next);
                next += 1;
                grads.push(gi.clone());
                pack.push(scatter(quote!(#g), &f.path, quote!(#gi), f.role));
            }
            if s.calls {
                // The unit's gradient is dropped; the callees' gradients of `self` are in
                // the sink.
                grads.push(format_ident!("_"));
                let sink = call_idents().1;
                pack.push(quote!(#private::add_struct::<#float, _>(&mut #g, &#sink.into_inner());));
            }
            match &subset {
                Some(paths) => results.extend(paths.iter().map(|p| {
                    let members = p.iter().map(|m| member(m));
                    quote!(#g #(.#members)*)
                })),
                None => results.push(quote!(#g)),
            }
        } else {
            let gi = format_ident!("__g{}", next);
            next += 1;
            grads.push(gi.clone());
            results.push(quote!(#gi));
        }
    }
    let grad_ty = if wrt.bare {
        quote!(#(#grad_types)*)
    } else {
        quote!((#(#grad_types,)*))
    };
    let result = if wrt.bare {
        quote!(#(#results)*)
    } else {
        quote!((#(#results,)*))
    };
    let vis = &function.vis;
    let (grad_name, vjp_name, jvp_name) = (
        format_ident!("{}_grad", name),
        format_ident!("{}_vjp", name),
        format_ident!("{}_jvp", name),
    );
    let (inner_grad, inner_vjp, inner_jvp) =
        (call_path("grad"), call_path("vjp"), call_path("jvp"));
    let wrt_doc = wrt
        .names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let grad_doc = format!("Value and gradient of [`{name}`] with respect to {wrt_doc}; a struct's gradient is a struct of its type, each float leaf holding its derivative. Generated by `#[differentiate]`.");
    let vjp_doc = format!("Value of [`{name}`] and its vector-Jacobian product with `seed`, with respect to {wrt_doc} (structs as in `{name}_grad`). Generated by `#[differentiate]`.");
    let jvp_doc = format!("Value of [`{name}`] and its directional derivative along one tangent per `wrt` entry (a struct's tangent has its type). Generated by `#[differentiate]`.");
    let params = &generics.params;
    let generics_decl = if params.is_empty() {
        quote!()
    } else {
        quote!(<#params>)
    };
    let turbofish = generic_args(generics);
    // Each struct's gradient is a zero copy of it: its type must be `Params` (the bound
    // sits on the wrappers, so that the user's function itself needs none).
    let bounds: Vec<TokenStream> = structs
        .iter()
        .map(|s| {
            let ty = &s.ty;
            let span = s.base.span();
            quote_spanned!(span=> #ty: #private::StructParams<#float>)
        })
        .chain(float_param_bound(&float, structs.iter().any(|s| s.calls)))
        .collect();
    let where_clause = match where_clause {
        Some(w) => {
            let preds = &w.predicates;
            quote!(where #preds, #(#bounds),*)
        }
        None => quote!(where #(#bounds),*),
    };
    let sinks: Vec<TokenStream> = structs
        .iter()
        .filter(|s| s.calls)
        .map(|s| {
            let (base, sink) = (&s.base, call_idents().1);
            let source = if s.by_ref {
                quote!(#base)
            } else {
                quote!(&#base)
            };
            quote!(let #sink = ::core::cell::RefCell::new(#private::struct_zeros::<#float, _>(#source));)
        })
        .collect();
    let through = match structs.as_slice() {
        [s] if receiver && s.base == "self" && s.by_ref => through_functions(
            function,
            None,
            config,
            s,
            (&inner, &inner_wrt),
            (&float, &out),
            (&generics_decl, &turbofish, &where_clause),
        )?,
        // A free function with one struct by reference: callers that pass it a struct of
        // their own `wrt` whole (`predict(m, x)`) call it through these. Where they cannot
        // be made, only such callers fail (rustc cannot find the function).
        [s] if !receiver && !config.associated && s.by_ref => through_functions(
            function,
            Some(&function.vis),
            config,
            s,
            (&inner, &inner_wrt),
            (&float, &out),
            (&generics_decl, &turbofish, &where_clause),
        )
        .unwrap_or_default(),
        _ => TokenStream::new(),
    };
    let item = function;
    Ok(quote! {
        #[allow(dead_code)]
        #item
        #inner_tokens
        #through
        #[doc = #grad_doc]
        #[allow(dead_code, clippy::all)]
        #vis fn #grad_name #generics_decl (#(#outer_inputs),*) -> (#out, #grad_ty) #where_clause {
            #(#sinks)*
            let (__value, (#(#grads,)*)) = #inner_grad #turbofish (#(#args),*);
            #(#pack)*
            (__value, #result)
        }
        #[doc = #vjp_doc]
        #[allow(dead_code, clippy::all)]
        #vis fn #vjp_name #generics_decl (#(#outer_inputs,)* seed: #out) -> (#out, #grad_ty) #where_clause {
            #(#sinks)*
            let (__value, (#(#grads,)*)) = #inner_vjp #turbofish (#(#args,)* seed);
            #(#pack)*
            (__value, #result)
        }
        #[doc = #jvp_doc]
        #[allow(dead_code, clippy::all)]
        #vis fn #jvp_name #generics_decl (#(#outer_inputs,)* #(#tangent_inputs),*) -> (#out, #out) #where_clause {
            #(#tangent_setup)*
            #(#sinks)*
            #inner_jvp #turbofish (#(#forward_args,)* #(#tangent_args),*)
        }
    })
}

/// Where the float type is a type parameter (`impl<T: Float> Mlp<T>`) and the body calls
/// methods of parts (`layer.forward(h)` with `layer: &Dense<T>`), those parts' `Params`
/// impls need `T: Params<T>` (what `#[derive(Params)]` asks of a field of type `T`), which
/// `T: Float` does not give; `f64` and `f32` have it, so the bound costs callers nothing.
fn float_param_bound(float: &TokenStream, calls: bool) -> Option<TokenStream> {
    let concrete = ["f32", "f64"].contains(&float.to_string().as_str());
    (calls && !concrete).then(|| quote!(#float: ::autodiff::Params<#float>))
}

#[cfg(test)]
mod tests;
