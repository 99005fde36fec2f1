//! `#[derive(Params)]`: a struct whose fields are parameter collections is a collection whose
//! leaves are its fields' leaves, in declaration order.
//!
//! For
//!
//! ```ignore
//! #[derive(Params)]
//! struct Model { w: [f64; 3], b: f64 }
//! ```
//!
//! it writes
//!
//! ```ignore
//! impl<__AdFloat: ::autodiff::__private::Float> ::autodiff::Params<__AdFloat> for Model
//! where [f64; 3]: ::autodiff::Params<__AdFloat>, f64: ::autodiff::Params<__AdFloat>
//! {
//!     fn visit<'__ad>(&'__ad self, f: &mut dyn FnMut(&'__ad [__AdFloat])) {
//!         ::autodiff::Params::<__AdFloat>::visit(&self.w, f);
//!         ::autodiff::Params::<__AdFloat>::visit(&self.b, f);
//!     }
//!     // visit_mut alike; zeros_like builds `Model { w: .., b: .. }` from the fields' zeros.
//!     fn visit_named<'__ad>(&'__ad self, path: &mut String, f: &mut dyn FnMut(&str, &'__ad [__AdFloat])) {
//!         let len = ::autodiff::params::push_segment(path, "w");
//!         ::autodiff::Params::<__AdFloat>::visit_named(&self.w, path, f);
//!         path.truncate(len);
//!         // .. and "b": each leaf's path is the field names leading to it, `layers.0.w`.
//!     }
//! }
//! ```
//!
//! Fields that hold no parameters are skipped: by type, integers, `bool`, `char`, `String`,
//! `&str`, `PhantomData` and `Vec`s, arrays, `Option`s and tuples of them (sizes, flags,
//! names); any other field with `#[params(skip)]` (an enum, a configuration struct). A
//! skipped field has no leaves, and `zeros_like` clones it, so a gradient keeps the model's
//! sizes and names. Skipping by type reads the type's syntax: a type alias of `usize` is not
//! seen through (mark the field `#[params(skip)]`).
//!
//! The float type is a fresh generic parameter bounded through the fields, so one derive
//! serves concrete structs (`f64` fields) and generic ones (`struct Model<T> { w: Vec<T> }`)
//! alike: rustc picks the float type from the fields.
use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields, GenericParam, Index, Member};

/// Expands `#[derive(Params)]` on `input`; on error, returns the `compile_error!`s.
pub fn derive_params(input: TokenStream) -> TokenStream {
    match syn::parse2::<DeriveInput>(input).and_then(|input| expand(&input)) {
        Ok(tokens) => tokens,
        Err(err) => err.to_compile_error(),
    }
}

fn expand(input: &DeriveInput) -> syn::Result<TokenStream> {
    let all = struct_fields(input)?;
    let mut skipped = Vec::new();
    for field in &all {
        skipped.push(skip_attribute(field)? || holds_no_parameters(&field.ty));
    }
    let float = format_ident!("__AdFloat");
    let lifetime = syn::Lifetime::new("'__ad", Span::call_site());
    let name = &input.ident;

    let mut impl_generics = input.generics.clone();
    impl_generics.params.push(GenericParam::Type(
        syn::parse_quote!(#float: ::autodiff::__private::Float),
    ));
    let where_clause = impl_generics.make_where_clause();
    for field in all
        .iter()
        .zip(&skipped)
        .filter(|(_, &s)| !s)
        .map(|(f, _)| f)
    {
        let ty = &field.ty;
        where_clause
            .predicates
            .push(syn::parse_quote_spanned!(ty.span()=> #ty: ::autodiff::Params<#float>));
    }
    let (impl_generics, _, where_clause) = impl_generics.split_for_impl();
    let (_, ty_generics, _) = input.generics.split_for_impl();

    let every: Vec<Member> = all
        .iter()
        .enumerate()
        .map(|(i, field)| match &field.ident {
            Some(ident) => Member::Named(ident.clone()),
            None => Member::Unnamed(Index::from(i)),
        })
        .collect();
    let members: Vec<Member> = every
        .iter()
        .zip(&skipped)
        .filter(|(_, &s)| !s)
        .map(|(m, _)| m.clone())
        .collect();
    let visit = members
        .iter()
        .map(|m| quote_spanned!(m.span()=> ::autodiff::Params::<#float>::visit(&self.#m, __ad_f);));
    let visit_mut = members.iter().map(|m| {
        quote_spanned!(m.span()=> ::autodiff::Params::<#float>::visit_mut(&mut self.#m, __ad_f);)
    });
    let visit_named = members.iter().map(|m| {
        let segment = match m {
            Member::Named(ident) => ident.unraw().to_string(),
            Member::Unnamed(index) => index.index.to_string(),
        };
        quote_spanned! {m.span()=>
            let __ad_len = ::autodiff::params::push_segment(__ad_path, #segment);
            ::autodiff::Params::<#float>::visit_named(&self.#m, __ad_path, __ad_f);
            __ad_path.truncate(__ad_len);
        }
    });
    let zeros = every.iter().zip(&skipped).map(|(m, &skip)| {
        if skip {
            quote_spanned!(m.span()=> #m: ::core::clone::Clone::clone(&self.#m),)
        } else {
            quote_spanned!(m.span()=> #m: ::autodiff::Params::<#float>::zeros_like(&self.#m),)
        }
    });

    // `<Model as FieldType<ID>>::Type`: each field's type, for `wrt = [self.w]` (whose
    // gradient has the field's type, which the attribute cannot see).
    let (field_impl_generics, _, field_where) = input.generics.split_for_impl();
    // A private field of a public struct only where its type is made of names known to be
    // public (floats, `Vec`, arrays, `Tensor`, the struct's type parameters): its type may
    // otherwise be private, which an associated type of a public impl cannot name (E0446).
    let private_struct = matches!(input.vis, syn::Visibility::Inherited);
    let type_params: Vec<String> = input
        .generics
        .type_params()
        .map(|t| t.ident.to_string())
        .collect();
    let named = all.iter().map(|f| {
        private_struct
            || !matches!(f.vis, syn::Visibility::Inherited)
            || public_type(&f.ty, &type_params)
    });
    let field_types = every.iter().zip(&all).zip(named).filter(|(_, n)| *n).map(|((m, field), _)| {
        let segment = match m {
            Member::Named(ident) => ident.unraw().to_string(),
            Member::Unnamed(index) => index.index.to_string(),
        };
        let (id, ty) = (field_id(&segment), &field.ty);
        quote! {
            #[automatically_derived]
            impl #field_impl_generics ::autodiff::__private::FieldType<#id> for #name #ty_generics #field_where {
                type Type = #ty;
            }
        }
    });

    Ok(quote! {
        #(#field_types)*
        #[automatically_derived]
        impl #impl_generics ::autodiff::Params<#float> for #name #ty_generics #where_clause {
            fn visit<#lifetime>(
                &#lifetime self,
                __ad_f: &mut dyn ::core::ops::FnMut(&#lifetime [#float]),
            ) {
                #(#visit)*
            }

            fn visit_mut<#lifetime>(
                &#lifetime mut self,
                __ad_f: &mut dyn ::core::ops::FnMut(&#lifetime mut [#float]),
            ) {
                #(#visit_mut)*
            }

            fn zeros_like(&self) -> Self {
                Self { #(#zeros)* }
            }

            fn visit_named<#lifetime>(
                &#lifetime self,
                __ad_path: &mut ::std::string::String,
                __ad_f: &mut dyn ::core::ops::FnMut(&str, &#lifetime [#float]),
            ) {
                #(#visit_named)*
            }
        }
    })
}

/// Whether every name in `ty` is one known to be public wherever the struct is: the
/// primitive types, `Vec`, `Option`, `Box`, `Tensor` (by any path ending so) and the
/// struct's own type parameters. Arrays, tuples and references of those too.
fn public_type(ty: &syn::Type, type_params: &[String]) -> bool {
    const PUBLIC: &[&str] = &[
        "f32", "f64", "i8", "i16", "i32", "i64", "i128", "isize", "u8", "u16", "u32", "u64",
        "u128", "usize", "bool", "char", "String", "Vec", "Option", "Box", "Tensor",
    ];
    fn names(tokens: proc_macro2::TokenStream, ok: &mut bool, allowed: &dyn Fn(&str) -> bool) {
        for t in tokens {
            match t {
                proc_macro2::TokenTree::Ident(i) => *ok &= allowed(&i.to_string()),
                proc_macro2::TokenTree::Group(g) => names(g.stream(), ok, allowed),
                _ => {}
            }
        }
    }
    // Path prefixes (`autodiff::Tensor`, `std::vec::Vec`) are module names, public where
    // the type they lead to is.
    let modules = [
        "autodiff", "std", "core", "alloc", "vec", "boxed", "option", "string",
    ];
    let allowed = |name: &str| {
        PUBLIC.contains(&name) || modules.contains(&name) || type_params.iter().any(|p| p == name)
    };
    let mut ok = true;
    names(quote::ToTokens::to_token_stream(ty), &mut ok, &allowed);
    ok
}

/// The key of a field's `FieldType` impl: the 64-bit FNV-1a hash of its name, as a
/// `u64` literal (`#[derive(Params)]` and `#[differentiate(wrt = [self.w])]` agree on it).
pub fn field_id(name: &str) -> proc_macro2::Literal {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    proc_macro2::Literal::u64_suffixed(h)
}

/// `#[params(skip)]` on a field; another `#[params(..)]` key is an error at it.
fn skip_attribute(field: &syn::Field) -> syn::Result<bool> {
    let mut skip = false;
    for attr in field.attrs.iter().filter(|a| a.path().is_ident("params")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("skip") {
                skip = true;
                Ok(())
            } else {
                Err(meta.error(
                    "unknown `params` option; `#[params(skip)]` leaves a field that holds no parameters out of the collection",
                ))
            }
        })?;
    }
    Ok(skip)
}

/// Types that hold no float parameters, read off their syntax: integers, `bool`, `char`,
/// `String`, `str`, `PhantomData`, and references, `Vec`s, arrays, slices, `Option`s and
/// tuples of them.
fn holds_no_parameters(ty: &syn::Type) -> bool {
    use syn::{GenericArgument, PathArguments, Type};
    match ty {
        Type::Reference(r) => holds_no_parameters(&r.elem),
        Type::Paren(p) => holds_no_parameters(&p.elem),
        Type::Array(a) => holds_no_parameters(&a.elem),
        Type::Slice(s) => holds_no_parameters(&s.elem),
        Type::Tuple(t) => !t.elems.is_empty() && t.elems.iter().all(holds_no_parameters),
        Type::Path(p) if p.qself.is_none() => {
            let Some(last) = p.path.segments.last() else {
                return false;
            };
            let name = last.ident.to_string();
            let passive = [
                "i8",
                "i16",
                "i32",
                "i64",
                "i128",
                "isize",
                "u8",
                "u16",
                "u32",
                "u64",
                "u128",
                "usize",
                "bool",
                "char",
                "String",
                "str",
                "PhantomData",
            ];
            if passive.contains(&name.as_str()) {
                return true;
            }
            if name == "Vec" || name == "Option" || name == "Box" {
                return match &last.arguments {
                    PathArguments::AngleBracketed(a) => a.args.iter().all(|g| match g {
                        GenericArgument::Type(t) => holds_no_parameters(t),
                        _ => true,
                    }),
                    _ => false,
                };
            }
            false
        }
        _ => false,
    }
}

/// The fields of a struct (named, tuple or unit); enums and unions are errors at their
/// keyword.
fn struct_fields(input: &DeriveInput) -> syn::Result<Vec<&syn::Field>> {
    match &input.data {
        Data::Struct(data) => Ok(match &data.fields {
            Fields::Named(fields) => fields.named.iter().collect(),
            Fields::Unnamed(fields) => fields.unnamed.iter().collect(),
            Fields::Unit => Vec::new(),
        }),
        Data::Enum(data) => Err(syn::Error::new(
            data.enum_token.span(),
            "#[derive(Params)] needs a struct: an enum's variants hold different parameters, \
             so optimizers could not keep their slots; use a struct with one field per \
             parameter collection",
        )),
        Data::Union(data) => Err(syn::Error::new(
            data.union_token.span(),
            "#[derive(Params)] needs a struct: a union's fields overlap; use a struct with one \
             field per parameter collection",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand_str(src: &str) -> String {
        let input: TokenStream = src.parse().expect("test input is valid Rust");
        derive_params(input).to_string()
    }

    #[test]
    fn named_struct_visits_fields_in_order() {
        let out = expand_str("struct Model { w: [f64; 3], b: f64 }");
        let w = out.find("visit (& self . w").expect("visits w");
        let b = out.find("visit (& self . b").expect("visits b");
        assert!(w < b, "{out}");
        assert!(
            out.contains(":: autodiff :: Params < __AdFloat > for Model"),
            "{out}"
        );
        assert!(
            out.contains("[f64 ; 3] : :: autodiff :: Params < __AdFloat >"),
            "{out}"
        );
    }

    #[test]
    fn named_visit_pushes_each_field_name_then_restores_the_path() {
        let out = expand_str("struct Model { r#type: f64, layers: Vec<f64> }");
        let t = out
            .find("push_segment (__ad_path , \"type\")")
            .expect("names type");
        let l = out
            .find("push_segment (__ad_path , \"layers\")")
            .expect("names layers");
        assert!(t < l, "{out}");
        assert!(
            out.contains("visit_named (& self . layers , __ad_path , __ad_f)"),
            "{out}"
        );
        assert_eq!(
            out.matches("__ad_path . truncate (__ad_len)").count(),
            2,
            "{out}"
        );
        let out = expand_str("struct Pair(f64, f64);");
        assert!(out.contains("push_segment (__ad_path , \"1\")"), "{out}");
    }

    #[test]
    fn generic_struct_keeps_its_generics() {
        let out = expand_str("struct Model<'a, T: Copy> where T: Default { w: Vec<T>, n: &'a () }");
        assert!(out.contains("for Model < 'a , T >"), "{out}");
        assert!(out.contains("T : Default"), "{out}");
    }

    #[test]
    fn tuple_struct_uses_indices() {
        let out = expand_str("struct Pair(f64, [f64; 2]);");
        assert!(out.contains("visit_mut (& mut self . 1"), "{out}");
        assert!(out.contains("Self { 0 :"), "{out}");
    }

    #[test]
    fn fields_without_parameters_are_skipped_and_cloned() {
        let out = expand_str(
            "struct M { w: Vec<f64>, n: usize, name: String, sizes: Vec<usize>, #[params(skip)] kind: Kind, b: f64 }",
        );
        for visited in ["visit (& self . w", "visit (& self . b"] {
            assert!(out.contains(visited), "{out}");
        }
        for skipped in ["self . n ,", "self . name", "self . sizes", "self . kind"] {
            assert!(!out.contains(&format!("visit ({skipped}")), "{out}");
            assert!(!out.contains(&format!("visit (& {skipped}")), "{out}");
        }
        assert!(
            out.contains("n : :: core :: clone :: Clone :: clone (& self . n)"),
            "{out}"
        );
        assert!(
            out.contains("kind : :: core :: clone :: Clone :: clone (& self . kind)"),
            "{out}"
        );
        assert!(!out.contains("Kind : :: autodiff :: Params"), "{out}");
        let out = expand_str("struct M { #[params(skp)] kind: Kind }");
        assert!(out.contains("unknown `params` option"), "{out}");
    }

    #[test]
    fn each_field_type_is_named_by_a_hash_of_its_name() {
        let out = expand_str("struct M { w: Vec<f64>, b: f64 }");
        let w = format!("FieldType < {} > for M", field_id("w"));
        assert!(out.contains(&w), "{out}");
        assert!(out.contains("type Type = Vec < f64 >"), "{out}");
        assert_ne!(field_id("w").to_string(), field_id("b").to_string());
        // A private field of a public struct: named where its type is made of public names
        // (`Vec<f64>`, `[T; 2]`), not where it may be private (`Vec<Layer>`, E0446).
        let out =
            expand_str("pub struct M<T> { w: Vec<f64>, pub b: f64, c: [T; 2], l: Vec<Layer> }");
        for named in ["w", "b", "c"] {
            let id = format!("FieldType < {} >", field_id(named));
            assert!(out.contains(&id), "{named}: {out}");
        }
        assert!(
            !out.contains(&format!("FieldType < {} >", field_id("l"))),
            "{out}"
        );
    }

    #[test]
    fn enum_is_an_error_that_says_what_to_do() {
        let out = expand_str("enum E { A(f64) }");
        assert!(out.contains("compile_error"), "{out}");
        assert!(
            out.contains("use a struct with one field per parameter collection"),
            "{out}"
        );
    }

    #[test]
    fn union_is_an_error() {
        let out = expand_str("union U { a: f64, b: f32 }");
        assert!(out.contains("a union's fields overlap"), "{out}");
    }
}
