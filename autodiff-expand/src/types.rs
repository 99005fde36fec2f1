//! Type classification, read off syntax (the macro does not know types): which parameter
//! types are floats, their array levels, tensors, the gradient's type and how a tangent is
//! passed through the calling convention. Below every pass: lowering, resolution of `wrt`,
//! checks and code generation all ask these questions the same way.
use crate::ir::Level;
use proc_macro2::{Ident, TokenStream};
use quote::ToTokens;
use syn::Type;

/// How a parameter's type takes part in differentiation, read off its syntax.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `f32`, `f64`, a generic type parameter (assumed `Float`), or a reference to one.
    Float,
    /// Integers, `bool`, `char`: never differentiated.
    Passive,
    /// Anything else: differentiated only when named in `wrt`.
    Other,
}

/// The syntactic kind of a parameter type.
pub fn kind_of(ty: &Type, type_params: &[String]) -> Kind {
    match ty {
        Type::Reference(r) => kind_of(&r.elem, type_params),
        Type::Paren(p) => kind_of(&p.elem, type_params),
        Type::Slice(s) => kind_of(&s.elem, type_params),
        Type::Array(a) => kind_of(&a.elem, type_params),
        Type::Path(p) if vec_element(p).is_some() => {
            kind_of(vec_element(p).expect("checked"), type_params)
        }
        Type::Path(_) if is_tensor_type(ty) => Kind::Float,
        Type::Path(p) if p.qself.is_none() => match p.path.get_ident().map(Ident::to_string) {
            Some(name) if name == "f32" || name == "f64" || type_params.contains(&name) => {
                Kind::Float
            }
            Some(name)
                if [
                    "i8", "i16", "i32", "i64", "i128", "isize", "u8", "u16", "u32", "u64", "u128",
                    "usize", "bool", "char",
                ]
                .contains(&name.as_str()) =>
            {
                Kind::Passive
            }
            _ => Kind::Other,
        },
        _ => Kind::Other,
    }
}

/// The array levels of a type: `&[[f64; 3]]` is a dynamic array of fixed arrays.
pub fn shape_of(ty: &Type) -> Vec<Level> {
    match ty {
        Type::Reference(r) => shape_of(&r.elem),
        Type::Paren(p) => shape_of(&p.elem),
        Type::Slice(s) => std::iter::once(Level::Dynamic)
            .chain(shape_of(&s.elem))
            .collect(),
        Type::Array(a) => std::iter::once(Level::Fixed)
            .chain(shape_of(&a.elem))
            .collect(),
        Type::Path(p) => match vec_element(p) {
            Some(e) => std::iter::once(Level::Dynamic).chain(shape_of(e)).collect(),
            None => Vec::new(),
        },
        _ => Vec::new(),
    }
}

/// `Tensor<T>` (or `&Tensor<T>`, `autodiff::Tensor<f32>`).
pub fn is_tensor_type(ty: &Type) -> bool {
    match ty {
        Type::Reference(r) => is_tensor_type(&r.elem),
        Type::Path(p) => p.path.segments.last().is_some_and(|s| s.ident == "Tensor"),
        _ => false,
    }
}

/// A tensor or an array of them (`&[Tensor<T>]`, `Vec<Tensor<T>>`, `[Tensor<T>; 2]`): the
/// variable's `tensor` flag, which for an array means its elements are tensors.
pub fn holds_tensors(ty: &Type) -> bool {
    is_tensor_type(ty) || element_type(ty).is_some_and(holds_tensors)
}

/// `T` of `Vec<T>`.
pub fn vec_element(p: &syn::TypePath) -> Option<&Type> {
    let last = p.path.segments.last()?;
    if p.qself.is_some() || last.ident != "Vec" {
        return None;
    }
    match &last.arguments {
        syn::PathArguments::AngleBracketed(a) if a.args.len() == 1 => match &a.args[0] {
            syn::GenericArgument::Type(t) => Some(t),
            _ => None,
        },
        _ => None,
    }
}

/// The gradient's type for a parameter's type: references dropped, slices become `Vec`s,
/// fixed arrays stay fixed (`&[[f64; 3]]` -> `Vec<[f64; 3]>`).
pub fn gradient_type(ty: &Type) -> TokenStream {
    match strip_reference(ty) {
        Type::Slice(s) => {
            let e = gradient_type(&s.elem);
            quote::quote!(::std::vec::Vec<#e>)
        }
        Type::Array(a) => {
            let (e, len) = (gradient_type(&a.elem), &a.len);
            quote::quote!([#e; #len])
        }
        Type::Path(p) if vec_element(p).is_some() => {
            let e = gradient_type(vec_element(p).expect("checked"));
            quote::quote!(::std::vec::Vec<#e>)
        }
        other => other.to_token_stream(),
    }
}

fn strip_reference(ty: &Type) -> &Type {
    match ty {
        Type::Reference(r) => strip_reference(&r.elem),
        Type::Paren(p) => strip_reference(&p.elem),
        other => other,
    }
}

/// The element type of a slice, array or `Vec` type (through references).
pub fn element_type(ty: &Type) -> Option<&Type> {
    match strip_reference(ty) {
        Type::Slice(s) => Some(&s.elem),
        Type::Array(a) => Some(&a.elem),
        Type::Path(p) => vec_element(p),
        _ => None,
    }
}

/// `f64`, `f32`, `T`: a single-identifier path type.
pub fn is_scalar_path(ty: &Type) -> bool {
    matches!(ty, Type::Path(p) if p.qself.is_none() && p.path.get_ident().is_some())
}

/// How a parameter's tangent is passed through the calling convention.
pub enum TangentKind {
    /// `f64`, `T`, `&f64`: the type itself.
    Scalar(TokenStream),
    /// `&[T]`, `&Vec<T>`: a slice of the element type.
    Slice(TokenStream),
    /// `[T; N]`, `&[T; N]`: an array of the element type and length.
    Array(TokenStream, TokenStream),
    /// `&Tensor<T>`, `Tensor<T>`: a tensor of the element type.
    Tensor(TokenStream),
}

pub fn tangent_kind(ty: &Type) -> Option<TangentKind> {
    let ty = match ty {
        Type::Reference(r) => &*r.elem,
        other => other,
    };
    match ty {
        Type::Slice(s) if is_scalar_path(&s.elem) => {
            Some(TangentKind::Slice(s.elem.to_token_stream()))
        }
        Type::Array(a) if is_scalar_path(&a.elem) => Some(TangentKind::Array(
            a.elem.to_token_stream(),
            a.len.to_token_stream(),
        )),
        Type::Path(p) if is_tensor_type(ty) => {
            let last = p.path.segments.last()?;
            match &last.arguments {
                syn::PathArguments::AngleBracketed(a) if a.args.len() == 1 => {
                    Some(TangentKind::Tensor(a.args.to_token_stream()))
                }
                _ => None,
            }
        }
        Type::Path(p) => match vec_element(p) {
            Some(elem) if is_scalar_path(elem) => Some(TangentKind::Slice(elem.to_token_stream())),
            Some(_) => None,
            None if is_scalar_path(ty) => Some(TangentKind::Scalar(ty.to_token_stream())),
            None => None,
        },
        _ => None,
    }
}
