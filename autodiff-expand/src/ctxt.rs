//! Error collection (serde_derive's `Ctxt` pattern): every pass records `syn::Error`s here and
//! keeps going, so the user sees every mistake at once, each at its own span. Dropping a
//! `Ctxt` whose errors nobody took with `check` panics in debug builds, so forgetting to
//! report is a failing test rather than a silently accepted function.
use std::cell::RefCell;
use std::fmt::Display;

/// Collects errors; `check` merges them into one `syn::Error` (rustc shows each part at its
/// own span).
#[derive(Default)]
pub struct Ctxt {
    errors: RefCell<Option<Vec<syn::Error>>>,
}

impl Ctxt {
    pub fn new() -> Self {
        Ctxt {
            errors: RefCell::new(Some(Vec::new())),
        }
    }

    /// Records an error at the span of `tokens`.
    pub fn error_spanned_by<A: quote::ToTokens, T: Display>(&self, tokens: A, msg: T) {
        self.syn_error(syn::Error::new_spanned(tokens.into_token_stream(), msg));
    }

    /// Records an error at `span`.
    pub fn error_at<T: Display>(&self, span: proc_macro2::Span, msg: T) {
        self.syn_error(syn::Error::new(span, msg));
    }

    pub fn syn_error(&self, err: syn::Error) {
        if let Some(errors) = self.errors.borrow_mut().as_mut() {
            errors.push(err);
        }
    }

    pub fn has_errors(&self) -> bool {
        self.errors.borrow().as_ref().is_some_and(|e| !e.is_empty())
    }

    /// All recorded errors merged into one, or `Ok` if there were none.
    pub fn check(self) -> syn::Result<()> {
        let errors = self.errors.borrow_mut().take().unwrap_or_default();
        let mut iter = errors.into_iter();
        match iter.next() {
            None => Ok(()),
            Some(mut first) => {
                for rest in iter {
                    first.combine(rest);
                }
                Err(first)
            }
        }
    }
}

impl Drop for Ctxt {
    fn drop(&mut self) {
        // Not while unwinding: `differentiate` catches a pass's panic and reports it, and a
        // second panic here would abort the compiler instead.
        if cfg!(debug_assertions) && !std::thread::panicking() && self.errors.get_mut().is_some() {
            panic!("a Ctxt was dropped without `check()`: its errors would be lost");
        }
    }
}
