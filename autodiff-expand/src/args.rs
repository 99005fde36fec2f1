//! Pass 1: the attribute's arguments (`wrt = ..`, `stop = ..`, `unconnected = ..`) parsed into
//! a typed [`Config`]. Each key may appear once; unknown keys, duplicates and bad values are
//! reported at their own span and parsing goes on.
use crate::ctxt::Ctxt;
use proc_macro2::TokenStream;
use syn::parse::{ParseStream, Parser};
use syn::{Ident, Token};

/// Key names, in one place (serde's `symbol.rs`).
pub const WRT: &str = "wrt";
pub const STOP: &str = "stop";
pub const UNCONNECTED: &str = "unconnected";
pub const ASSOCIATED: &str = "associated";

/// What the gradient of a `wrt` entry with no path to the output is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Unconnected {
    /// A zero of the entry's type (our default: connectivity is known at compile time).
    #[default]
    Zero,
    /// Every gradient slot is an `Option`, `None` where unconnected (TensorFlow's default).
    None,
}

/// A `wrt` list: `wrt = x` (one entry, the gradient is not a tuple) or `wrt = [x, y]` (a
/// tuple, a 1-tuple for `[x]`).
#[derive(Clone, Debug)]
pub struct NameList {
    pub names: Vec<Ident>,
    /// Field paths (`self.w`, `m.layer.b`): the base name first, then each field.
    pub fields: Vec<Vec<Ident>>,
    /// `wrt = x` rather than `wrt = [x]`.
    pub bare: bool,
}

#[derive(Clone, Debug, Default)]
pub struct Config {
    /// `None`: every parameter of a differentiable type (the gradient is then a tuple).
    pub wrt: Option<NameList>,
    pub stop: Vec<Ident>,
    /// `stop = [self.embedding]`: fields of a struct in `wrt` (see `models`).
    pub stop_fields: Vec<Vec<Ident>>,
    pub unconnected: Unconnected,
    /// `unconnected = ..` was written: the user chose, so no compile-time warning is given.
    pub unconnected_explicit: bool,
    /// `associated`: the function sits in an `impl` block without a `self` parameter (a
    /// macro cannot see that); its derivatives are siblings, as a method's are.
    pub associated: bool,
    /// Set by `models` for its hidden function: no calling-convention functions (nothing
    /// calls it but the generated wrappers). Not an attribute option.
    pub no_convention: bool,
}

/// Parses the attribute's tokens; errors go to `cx`, and whatever parsed is returned.
pub fn parse(cx: &Ctxt, attr: TokenStream) -> Config {
    let mut config = Config::default();
    let mut seen: Vec<String> = Vec::new();
    let parser = syn::meta::parser(|meta| {
        let key = match meta.path.get_ident() {
            Some(ident) => ident.clone(),
            None => {
                return Err(meta.error(
                    "unknown option; #[differentiate] takes `wrt = ..`, `stop = ..`, `unconnected = ..` and `associated`",
                ))
            }
        };
        let name = key.to_string();
        if seen.contains(&name) {
            cx.error_spanned_by(
                &key,
                format!("`{name}` is given twice; merge the two into one list"),
            );
        }
        seen.push(name.clone());
        match name.as_str() {
            ASSOCIATED if !meta.input.peek(Token![=]) => config.associated = true,
            WRT => {
                let list = parse_names(meta.value()?)?;
                check_duplicates(cx, WRT, &list.names);
                config.wrt = Some(list);
            }
            STOP => {
                let list = parse_names(meta.value()?)?;
                check_duplicates(cx, STOP, &list.names);
                config.stop = list.names;
                config.stop_fields = list.fields;
            }
            UNCONNECTED => {
                config.unconnected_explicit = true;
                let value: Ident = meta.value()?.parse().map_err(|e| {
                    syn::Error::new(
                        e.span(),
                        "expected `unconnected = zero` or `unconnected = none`",
                    )
                })?;
                match value.to_string().as_str() {
                    "zero" => config.unconnected = Unconnected::Zero,
                    "none" => config.unconnected = Unconnected::None,
                    other => cx.error_spanned_by(
                        &value,
                        format!("unknown value `{other}`; write `unconnected = zero` (zero gradients, the default) or `unconnected = none` (gradients become `Option`, `None` where no path leads to the output)"),
                    ),
                }
            }
            other => {
                // Skip the value, if any, so the remaining options are still parsed.
                if meta.input.peek(Token![=]) {
                    let _: TokenStream = meta
                        .value()?
                        .parse::<syn::Expr>()
                        .map(quote::ToTokens::into_token_stream)?;
                }
                cx.error_spanned_by(
                    &key,
                    format!("unknown option `{other}`; #[differentiate] takes `wrt = [..]`, `stop = [..]`, `unconnected = zero | none` and `associated` (for a function in an `impl` block without `self`)"),
                );
            }
        }
        Ok(())
    });
    if let Err(err) = parser.parse2(attr) {
        cx.syn_error(err);
    }
    config
}

/// `x` or `[x, y, ..]`.
fn parse_names(input: ParseStream) -> syn::Result<NameList> {
    if input.peek(syn::token::Bracket) {
        let content;
        syn::bracketed!(content in input);
        let entries = content.parse_terminated(parse_entry, Token![,])?;
        let mut list = NameList {
            names: Vec::new(),
            fields: Vec::new(),
            bare: false,
        };
        for entry in entries {
            if entry.len() == 1 {
                list.names.extend(entry);
            } else {
                list.fields.push(entry);
            }
        }
        Ok(list)
    } else if input.peek(Ident) || input.peek(Token![self]) {
        let entry = parse_entry(input)?;
        if entry.len() == 1 {
            Ok(NameList {
                names: entry,
                fields: Vec::new(),
                bare: true,
            })
        } else {
            Ok(NameList {
                names: Vec::new(),
                fields: vec![entry],
                bare: true,
            })
        }
    } else {
        Err(input.error("expected a name or a list of names such as `[x, y]`"))
    }
}

/// `x`, `self`, or a field path `self.w`, `m.layer.b`.
fn parse_entry(input: ParseStream) -> syn::Result<Vec<Ident>> {
    let mut path = vec![if input.peek(Token![self]) {
        let token: Token![self] = input.parse()?;
        Ident::new("self", token.span)
    } else {
        Ident::parse_any_ident(input)?
    }];
    while input.peek(Token![.]) {
        let _: Token![.] = input.parse()?;
        path.push(Ident::parse_any_ident(input)?);
    }
    Ok(path)
}

trait ParseAnyIdent {
    fn parse_any_ident(input: ParseStream) -> syn::Result<Ident>;
}

impl ParseAnyIdent for Ident {
    fn parse_any_ident(input: ParseStream) -> syn::Result<Ident> {
        input.parse().map_err(|e| {
            syn::Error::new(
                e.span(),
                "expected the name of a parameter or of a `let` binding",
            )
        })
    }
}

/// A name listed twice is almost always a typo for another name.
fn check_duplicates(cx: &Ctxt, key: &str, names: &[Ident]) {
    for (i, name) in names.iter().enumerate() {
        if names[..i].contains(name) {
            cx.error_spanned_by(
                name,
                format!("`{name}` appears twice in `{key}`; list each name once"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn parse_ok(tokens: TokenStream) -> Config {
        let cx = Ctxt::new();
        let config = parse(&cx, tokens);
        cx.check().expect("no errors");
        config
    }

    fn parse_err(tokens: TokenStream) -> String {
        let cx = Ctxt::new();
        parse(&cx, tokens);
        cx.check().unwrap_err().to_string()
    }

    #[test]
    fn empty_means_defaults() {
        let c = parse_ok(quote!());
        assert!(c.wrt.is_none());
        assert!(c.stop.is_empty());
        assert_eq!(c.unconnected, Unconnected::Zero);
    }

    #[test]
    fn bare_and_list_forms() {
        let c = parse_ok(quote!(wrt = x, stop = [y], unconnected = none));
        let wrt = c.wrt.unwrap();
        assert!(wrt.bare);
        assert_eq!(wrt.names[0], "x");
        assert_eq!(c.stop[0], "y");
        assert_eq!(c.unconnected, Unconnected::None);
        let c = parse_ok(quote!(wrt = [a, b,]));
        let wrt = c.wrt.unwrap();
        assert!(!wrt.bare);
        assert_eq!(wrt.names.len(), 2);
    }

    #[test]
    fn mistakes_are_reported() {
        assert!(parse_err(quote!(wrt = [x, x])).contains("appears twice"));
        assert!(parse_err(quote!(wrt = x, wrt = y)).contains("given twice"));
        assert!(parse_err(quote!(unconnected = maybe)).contains("unknown value `maybe`"));
        assert!(parse_err(quote!(with = x)).contains("unknown option `with`"));
        assert!(parse_err(quote!(wrt = 3)).contains("expected a name"));
    }
}
