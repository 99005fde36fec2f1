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
mod scan;

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
                inner_inputs.push(quote!(#sink: &::core::cell::RefCell<#ty>));
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
    let calls = |owner: usize, _method: &Ident| {
        let (unit, sink, tangent) = call_idents();
        let passive = passive_ident(&structs[owner].base);
        quote!(#unit, #sink, #tangent, #passive,)
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
            config,
            s,
            (&inner, &inner_wrt),
            (&float, &out),
            (&generics_decl, &turbofish, &where_clause),
        )?,
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

/// The hidden function's parameters for calls of the struct's methods: the unit (a zero
/// in `wrt`), the sink of the callees' gradients, the struct's tangent.
fn call_idents() -> (Ident, Ident, Ident) {
    (
        format_ident!("__ad_unit"),
        format_ident!("__ad_sink"),
        format_ident!("__ad_tangent_self"),
    )
}

/// For a method with `wrt = self`, what lets other differentiated methods of the type call
/// it (`self.forward(x)` in their bodies): `forward__needs_differentiate_wrt_self` with its
/// calling convention (see `autodiff-macros`), whose parameters are the unit, the sink, the
/// tangent of `self`, `self`, then the method's own. Its reverse derivative adds the
/// gradient of `self` to the sink and returns those of the arguments; its forward
/// derivative reads the tangent of `self`. Both run a second hidden function, `__f__all`,
/// differentiated with respect to the fields and every float parameter (the caller's
/// arguments may carry derivatives that the method's own `wrt` leaves out).
fn through_functions(
    function: &ItemFn,
    config: &Config,
    s: &StructParam,
    (inner, inner_wrt): (&ItemFn, &[Ident]),
    (float, out): (&TokenStream, &TokenStream),
    (generics_decl, turbofish, where_clause): (&TokenStream, &TokenStream, &TokenStream),
) -> syn::Result<TokenStream> {
    use crate::types::{gradient_type, kind_of, tangent_kind, Kind, TangentKind};
    let private = crate::emit::private();
    let name = &function.sig.ident;
    let mut type_params: Vec<String> = function
        .sig
        .generics
        .type_params()
        .map(|t| t.ident.to_string())
        .collect();
    type_params.push(float.to_string());
    // The method's own parameters, and which of them are differentiated.
    let mut plain: Vec<(Ident, Type, Option<TangentKind>)> = Vec::new();
    for arg in function.sig.inputs.iter().skip(1) {
        if let FnArg::Typed(pt) = arg {
            if let Pat::Ident(pi) = &*pt.pat {
                let ty = (*pt.ty).clone();
                let kind = (kind_of(&ty, &type_params) == Kind::Float)
                    .then(|| tangent_kind(&ty))
                    .flatten();
                plain.push((pi.ident.clone(), ty, kind));
            }
        }
    }
    let (unit, sink, _) = call_idents();
    let mut fields_wrt: Vec<Ident> = differentiated(s).map(|f| f.param.clone()).collect();
    if s.calls {
        fields_wrt.push(unit.clone());
    }
    let mut all = inner.clone();
    all.sig.ident = format_ident!("__{}__all", name);
    let stop = &config.stop;
    let all_wrt = |plain: &[(Ident, Type, Option<TangentKind>)]| {
        let mut all_wrt = fields_wrt.clone();
        all_wrt.extend(plain.iter().filter(|p| p.2.is_some()).map(|p| p.0.clone()));
        all_wrt
    };
    let expand = |plain: &[(Ident, Type, Option<TangentKind>)]| {
        let all_wrt = all_wrt(plain);
        // Differentiated with respect to what the method's own hidden function is (no
        // float arguments besides `self`, or only those of its `wrt`, in their order):
        // that function serves, and nothing is expanded twice.
        if same_names(&all_wrt, inner_wrt) {
            return Ok(None);
        }
        let attr =
            quote!(wrt = [#(#all_wrt),*], stop = [#(#stop),*], unconnected = zero, associated);
        crate::expand_inner(attr, &all, true).map(Some)
    };
    // The method's body may differentiate with respect to its fields but not its arguments
    // (`ys.len() as f64` with `ys` differentiated is an error): then its arguments take no
    // derivative through the call, and a caller that passes one a differentiated value gets
    // a type error at the call (a gradient `()`, a tangent `NoTangent`), never a silent zero.
    let all_tokens = match expand(&plain) {
        Ok(tokens) => tokens,
        Err(_) => {
            for p in plain.iter_mut() {
                p.2 = None;
            }
            expand(&plain)?
        }
    };
    let hidden = match &all_tokens {
        Some(_) => format!("__{}__all", name),
        None => format!("__{}__fields", name),
    };
    let all_tokens = all_tokens.unwrap_or_default();
    let (all_vjp, all_jvp) = (
        format_ident!("{}_vjp", hidden),
        format_ident!("{}_jvp", hidden),
    );
    let (ad_self, ad_tangent) = (format_ident!("__ad_self"), format_ident!("__ad_tangent"));
    let zero = quote!(#private::zero::<#float>());
    // The hidden function's arguments: `self`, its fields, the unit, sink and tangent of
    // `self` if it calls methods in turn, the method's own.
    let mut args: Vec<TokenStream> = vec![quote!(#ad_self)];
    args.extend(differentiated(s).map(|f| gather(quote!(#ad_self), f)));
    if s.calls {
        args.extend([zero.clone(), quote!(#sink), quote!(#ad_tangent)]);
    }
    let names: Vec<&Ident> = plain.iter().map(|p| &p.0).collect();
    args.extend(names.iter().map(|n| quote!(#n)));
    let params: Vec<TokenStream> = plain.iter().map(|(n, ty, _)| quote!(#n: #ty)).collect();
    let through = scan::through_name(name);
    let header = quote! {
        #[doc(hidden)]
        #[allow(dead_code, non_snake_case, unused_variables, clippy::all)]
    };
    let leading = quote!(#unit: #float, #sink: &::core::cell::RefCell<Self>, #ad_tangent: &Self, #ad_self: &Self);
    // Reverse: the gradients of the fields go to the sink, those of the arguments back.
    let mut gs: Vec<Ident> = Vec::new();
    let mut scatter_fields: Vec<TokenStream> = Vec::new();
    let g = format_ident!("__ad_grad");
    for (k, f) in differentiated(s).enumerate() {
        let gi = format_ident!("__ad_g{}", k);
        scatter_fields.push(scatter(quote!(#g), &f.path, quote!(#gi), f.role));
        gs.push(gi);
    }
    if s.calls {
        gs.push(format_ident!("_"));
    }
    let mut returned: Vec<TokenStream> = vec![zero.clone(), quote!(()), quote!(()), quote!(())];
    let mut returned_types: Vec<TokenStream> =
        vec![quote!(#float), quote!(()), quote!(()), quote!(())];
    for (k, (_, ty, kind)) in plain.iter().enumerate() {
        if kind.is_some() {
            let pi = format_ident!("__ad_p{}", k);
            gs.push(pi.clone());
            returned.push(quote!(#pi));
            returned_types.push(gradient_type(ty));
        } else {
            returned.push(quote!(()));
            returned_types.push(quote!(()));
        }
    }
    // Forward: the tangents of the arguments, in the forms the calling convention takes.
    let mut tangent_params: Vec<TokenStream> = (0..4_usize)
        .map(|k| {
            let t = format_ident!("__ad_t{}", k);
            quote!(#t: impl ::core::marker::Sized)
        })
        .collect();
    let mut bind: Vec<TokenStream> = Vec::new();
    let mut tangents: Vec<TokenStream> = differentiated(s)
        .map(|f| gather(quote!(#ad_tangent), f))
        .collect();
    if s.calls {
        tangents.push(zero.clone());
    }
    for (k, (x, ty, kind)) in plain.iter().enumerate() {
        let arg = format_ident!("__ad_d{}", k);
        let t = format_ident!("__ad_dt{}", k);
        let by_ref = matches!(ty, Type::Reference(_));
        let owned = |t: &Ident| {
            if by_ref {
                quote!(&*#t)
            } else {
                quote!(#t.into_owned())
            }
        };
        match kind {
            None => tangent_params.push(quote!(#arg: #private::NoTangent)),
            Some(TangentKind::Scalar(sty)) => {
                tangent_params.push(quote!(#arg: impl #private::ScalarTangent<#sty>));
                bind.push(quote!(let #t = #private::ScalarTangent::into_tangent(#arg);));
                tangents.push(quote!(#t));
            }
            Some(TangentKind::Slice(elem)) => {
                tangent_params
                    .push(quote!(#arg: impl #private::SliceTangent<'autodiff_tangent, #elem>));
                bind.push(quote!(let #t = #private::SliceTangent::into_tangent(#arg, #x.len());));
                tangents.push(owned(&t));
            }
            Some(TangentKind::Array(elem, len)) => {
                tangent_params.push(quote!(#arg: impl #private::ArrayTangent<#elem, { #len }>));
                bind.push(quote!(let #t = #private::ArrayTangent::into_tangent(#arg);));
                tangents.push(if by_ref { quote!(&#t) } else { quote!(#t) });
            }
            Some(TangentKind::Tensor(elem)) => {
                tangent_params
                    .push(quote!(#arg: impl #private::TensorTangent<'autodiff_tangent, #elem>));
                bind.push(quote!(let #t = #private::TensorTangent::into_tangent(#arg, &#x);));
                tangents.push(owned(&t));
            }
        }
    }
    let (reverse, forward) = (
        format_ident!("{}__reverse_derivative", through),
        format_ident!("{}__forward_derivative", through),
    );
    let lifetime_decl = if generics_decl.is_empty() {
        quote!(<'autodiff_tangent>)
    } else {
        let inner: TokenStream = generics_decl
            .clone()
            .into_iter()
            .skip(1)
            .collect::<Vec<_>>()
            .split_last()
            .map(|(_, rest)| rest.iter().cloned().collect())
            .unwrap_or_default();
        quote!(<'autodiff_tangent, #inner>)
    };
    // A float type parameter of the `impl` outlives the tangents' borrows.
    let outlives = if ["f32", "f64"].contains(&float.to_string().as_str()) {
        quote!()
    } else {
        quote!(, #float: 'autodiff_tangent)
    };
    Ok(quote! {
        #all_tokens
        #header
        fn #through #generics_decl (#leading, #(#params),*) -> #out #where_clause {
            #ad_self.#name(#(#names),*)
        }
        #header
        fn #reverse #generics_decl (#leading, #(#params,)* seed: #out) -> (#out, (#(#returned_types,)*)) #where_clause {
            let (__ad_value, (#(#gs,)*)) = Self::#all_vjp #turbofish (#(#args,)* seed);
            let mut #g = #private::struct_zeros::<#float, _>(#ad_self);
            #(#scatter_fields)*
            #private::add_struct::<#float, _>(&mut *#sink.borrow_mut(), &#g);
            (__ad_value, (#(#returned,)*))
        }
        #header
        fn #forward #lifetime_decl (#leading, #(#params,)* #(#tangent_params),*) -> (#out, #out) #where_clause #outlives {
            #(#bind)*
            Self::#all_jvp #turbofish (#(#args,)* #(#tangents),*)
        }
    })
}

/// A parameter that is not a name (already reported before the wrappers are written).
fn unreachable_tokens() -> TokenStream {
    quote!(_: ())
}

/// The type of the field at `path` of `ty`: `<Model as FieldType<H(w)>>::Type`, through
/// the `FieldType` impls `#[derive(Params)]` writes (one per field, keyed by a hash of its
/// name; a macro cannot see the struct's declaration).
fn field_type(ty: &TokenStream, path: &[String]) -> TokenStream {
    let private = crate::emit::private();
    let mut out = ty.clone();
    for name in path {
        let id = crate::derive_params::field_id(name);
        out = quote!(<#out as #private::FieldType<#id>>::Type);
    }
    out
}

/// A field name or a tuple index as a member token.
fn member(name: &str) -> TokenStream {
    match name.parse::<u32>() {
        Ok(i) => syn::Index::from(i as usize).to_token_stream(),
        Err(_) => format_ident!("{}", name).to_token_stream(),
    }
}

fn same_names(a: &[Ident], b: &[Ident]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

/// The float type of an output: `T` of `Tensor<T>`, of `[T; N]`, of `(T, T)`.
fn output_float(ty: &Type) -> Option<TokenStream> {
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
fn tensor_element(ty: &Type) -> Option<TokenStream> {
    let Type::Path(p) = ty else { return None };
    match &p.path.segments.last()?.arguments {
        syn::PathArguments::AngleBracketed(a) if a.args.len() == 1 => {
            Some(a.args.to_token_stream())
        }
        _ => None,
    }
}

/// `::<T, U>` for the function's own type parameters (none: nothing).
fn generic_args(generics: &syn::Generics) -> TokenStream {
    let types: Vec<&Ident> = generics.type_params().map(|t| &t.ident).collect();
    if types.is_empty() || generics.lifetimes().next().is_some() {
        quote!()
    } else {
        quote!(::<#(#types),*>)
    }
}

fn differentiated(s: &StructParam) -> impl Iterator<Item = &Field> {
    s.fields.iter().filter(|f| f.role != Role::Passive)
}

fn passive_ident(base: &Ident) -> Ident {
    format_ident!("__{}", base.to_string(), span = base.span())
}

/// The gradient type of a plain `wrt` entry next to a struct.
fn plain_grad_type(ty: &Type) -> Option<TokenStream> {
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
fn fields_of(
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
fn show(base: &Ident, path: &[Seg]) -> String {
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
fn param_type(f: &Field, float: &TokenStream) -> TokenStream {
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
fn place(root: TokenStream, path: &[Seg]) -> (TokenStream, Option<&[Seg]>) {
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
fn gather(root: TokenStream, f: &Field) -> TokenStream {
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

fn gathered(root: TokenStream, path: &[Seg], role: Role) -> TokenStream {
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
fn scatter(root: TokenStream, path: &[Seg], grad: TokenStream, role: Role) -> TokenStream {
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
#[cfg(test)]
mod tests {
    /// The expansion's text (errors become `compile_error!`s in it).
    fn expand(attr: &str, function: &str) -> String {
        crate::differentiate(attr.parse().unwrap(), function.parse().unwrap()).to_string()
    }

    #[test]
    fn mistakes_are_errors_at_their_span() {
        let cases = [
            (
                "wrt = self",
                "fn f(x: f64) -> f64 { x }",
                "this function has no `self`",
            ),
            (
                "wrt = self",
                "fn f(&mut self) -> f64 { self.b }",
                "`&mut self` is not differentiated",
            ),
            ("wrt = self", "fn f(&self) -> f64 { g(self) }", "used whole"),
            (
                "wrt = self",
                "fn f(&self) -> f64 { let mut s = 0.0; for layer in self.layers.iter() { s += layer.w[0] * layer.g(); } s }",
                "a method of `layer` is called here",
            ),
            (
                "wrt = [self.w, x]",
                "fn f(&self, x: f64) -> f64 { self.w[0] * x }",
                "list only fields",
            ),
            (
                "wrt = self, stop = [q.w]",
                "fn f(&self) -> f64 { self.b }",
                "not a struct in `wrt`",
            ),
            (
                "wrt = self",
                "fn f(&self) -> Vec<f64> { vec![self.b] }",
                "needs a float output",
            ),
            (
                "wrt = self, unconnected = none",
                "fn f(&self) -> f64 { self.b }",
                "`unconnected = none`",
            ),
            (
                "wrt = m",
                "fn f(m: &Mlp) -> f64 { g(&m.layers[0]) + m.layers[0].w[1] }",
                "an element of `m.layers` is used whole",
            ),
        ];
        for (attr, function, message) in cases {
            let out = expand(attr, function);
            assert!(out.contains("compile_error"), "{attr} {function}: {out}");
            assert!(out.contains(message), "{attr} {function}: {out}");
        }
    }

    #[test]
    fn field_roles_come_from_their_uses() {
        let out = expand(
            "wrt = self",
            "fn f(&self, x: &[f64]) -> f64 { let mut s = self.b; for i in 0..self.n { s += self.w[i] * x[i] * (self.k as f64); } s + dot(&self.v, x) }",
        );
        assert!(!out.contains("compile_error"), "{out}");
        // Arrays and scalars become parameters of the hidden function; sizes stay passive.
        for param in [
            "__self__w : & [f64]",
            "__self__v : & [f64]",
            "__self__b : f64",
            "__self . n",
            "__self . k",
        ] {
            assert!(out.contains(param), "{param}: {out}");
        }
        assert!(!out.contains("__self__n"), "{out}");
        assert!(!out.contains("__self__k"), "{out}");
    }
}
