//! Naming: each variable's identifier (the user's where it is bound once, hygienic and
//! numbered otherwise), use counts, and placeholders in code kept as written resolved to
//! those names.
use super::*;

impl<'a> Emitter<'a> {
    /// `param_idents[i]` is the user's identifier of parameter `i`.
    pub fn new(f: &'a Function, param_idents: &[Ident], concrete: bool) -> Self {
        let mut used: HashSet<String> = param_idents.iter().map(Ident::to_string).collect();
        let mut names: Vec<Option<Ident>> = vec![None; f.vars.len()];
        let mut hygienic = vec![true; f.vars.len()];
        // A user binding whose name is bound once keeps the user's own identifier, so code
        // that names it inside a string (`println!("{c}")`) still finds it. Rebound names
        // get hygienic, numbered names instead.
        let mut bound: HashMap<&str, usize> = HashMap::new();
        for var in f
            .vars
            .iter()
            .filter(|v| matches!(v.origin, Origin::Local | Origin::Param(_)))
        {
            *bound.entry(var.name.as_str()).or_default() += 1;
        }
        for (v, var) in f.vars.iter().enumerate() {
            if var.origin == Origin::Local && bound[var.name.as_str()] == 1 {
                used.insert(var.name.clone());
                names[v] = Some(Ident::new(&var.name, var.span));
                hygienic[v] = false;
            }
        }
        let fresh = |base: &str, used: &mut HashSet<String>| {
            let mut name = base.to_string();
            let mut n = 0;
            while !used.insert(name.clone()) {
                n += 1;
                name = format!("{base}_{n}");
            }
            Ident::new(&name, Span::mixed_site())
        };
        for (v, var) in f.vars.iter().enumerate() {
            match var.origin {
                Origin::Param(i) => {
                    names[v] = Some(param_idents[i].clone());
                    hygienic[v] = false;
                }
                Origin::Extra => names[v] = Some(fresh(&var.name, &mut used)),
                _ => {}
            }
        }
        // Name the rest in order of definition, so temporaries read v0, v1, ...
        let mut defined = Vec::new();
        crate::ir::walk(&f.body, &mut |s| {
            defined.extend(s.dst());
            if let Stmt::For { index, .. } = s {
                defined.push(*index);
            }
        });
        let mut temps = 0;
        for dst in defined {
            if names[dst].is_some() {
                continue;
            }
            let var = &f.vars[dst];
            let base = match var.origin {
                Origin::Local | Origin::Derivative => var.name.clone(),
                _ => {
                    temps += 1;
                    format!("v{}", temps - 1)
                }
            };
            names[dst] = Some(fresh(&base, &mut used));
        }
        let owners = viewed(f)
            .into_iter()
            .map(|v| (v, fresh(&format!("{}_owner", f.vars[v].name), &mut used)))
            .collect();
        let names = names
            .into_iter()
            .enumerate()
            .map(|(v, n)| {
                n.unwrap_or_else(|| {
                    format_ident!("__autodiff_unbound_{}", v, span = Span::mixed_site())
                })
            })
            .collect();
        let mut uses = vec![0; f.vars.len()];
        let mut blocks = Blocks {
            defined_in: vec![usize::MAX; f.vars.len()],
            used_in: vec![usize::MAX; f.vars.len()],
            next: 0,
        };
        blocks.visit(&f.body, &mut uses);
        for o in &f.outputs {
            if let Some(v) = o.var() {
                uses[v] += 1;
                blocks.used_in[v] = 0;
            }
        }
        // A read in another block than the definition (a loop body) may run many times.
        for (v, count) in uses.iter_mut().enumerate() {
            if blocks.used_in[v] != blocks.defined_in[v] {
                *count = usize::MAX;
            }
        }
        Emitter {
            f,
            names,
            hygienic,
            uses,
            concrete,
            float_type: None,
            owners,
        }
    }

    pub(super) fn resolve_placeholders(&self, tokens: TokenStream) -> TokenStream {
        tokens
            .into_iter()
            .map(|tree| match tree {
                TokenTree::Ident(ident) => match placeholder_var(&ident) {
                    Some(v) => {
                        let mut name = self.names[v].clone();
                        if self.hygienic[v] {
                            // Hygienic like its binding, but errors point at the user's token.
                            name.set_span(Span::mixed_site().located_at(ident.span()));
                        }
                        TokenTree::Ident(name)
                    }
                    None => TokenTree::Ident(ident),
                },
                TokenTree::Group(g) => {
                    let mut group =
                        Group::new(g.delimiter(), self.resolve_placeholders(g.stream()));
                    group.set_span(g.span());
                    TokenTree::Group(group)
                }
                other => other,
            })
            .collect()
    }
}

/// Which block (numbered in visiting order, 0 the body) defines and reads each variable.
pub(super) struct Blocks {
    defined_in: Vec<usize>,
    used_in: Vec<usize>,
    next: usize,
}

impl Blocks {
    pub(super) fn visit(&mut self, block: &[Stmt], uses: &mut [usize]) {
        let id = self.next;
        self.next += 1;
        for stmt in block {
            for r in stmt.reads() {
                uses[r] += 1;
                self.used_in[r] = id;
            }
            if let Some(d) = stmt.dst() {
                self.defined_in[d] = id;
            }
            for inner in stmt.blocks() {
                self.visit(inner, uses);
            }
        }
    }
}

/// The name of a hidden function of the calling convention, e.g. `f__reverse_derivative`.
/// A free function `f` keeps them as associated functions of a hidden type `f` (so `use
/// m::f;` brings them along); a method `self.f(..)` or `Self::f(..)` as sibling methods
/// `f__forward_derivative`.
impl Emitter<'_> {
    /// `call` with the local names in its receiver (`(__self.layers[__ad_index_layer])`)
    /// resolved to the generated ones.
    pub fn resolved_receiver(&self, call: &crate::ir::Call) -> crate::ir::Call {
        let mut call = call.clone();
        if let Some((receiver, _)) = &mut call.method {
            *receiver = self.resolve_placeholders(receiver.clone());
        }
        call
    }
}

pub fn convention(call: &crate::ir::Call, suffix: &str) -> TokenStream {
    let self_path = call.path.to_string().starts_with("Self");
    match &call.method {
        None if !self_path => {
            let Ok(mut path) = syn::parse2::<syn::Path>(call.path.clone()) else {
                return call.path.clone();
            };
            let Some(last) = path.segments.last_mut() else {
                return call.path.clone();
            };
            // Explicit generics would clash with the convention's own; rustc infers them.
            last.arguments = syn::PathArguments::None;
            // The callee is imported under a name that is the error message where it has
            // no derivative: rustc then reports "function
            // `f__has_no_derivative__annotate_it_with_differentiate_or_custom_derivative`
            // is not a crate or module" at the call. A derivative's hidden type comes
            // along with the function (`use` imports both namespaces).
            let alias = quote::format_ident!(
                "{}__has_no_derivative__annotate_it_with_differentiate_or_custom_derivative",
                last.ident,
                span = Span::mixed_site().located_at(last.ident.span())
            );
            let suffix = Ident::new(suffix, Span::call_site());
            quote::quote!({
                #[allow(unused_imports)]
                use #path as #alias;
                #alias::#suffix
            })
        }
        Some((receiver, name)) => {
            let name = quote::format_ident!("{}__{}", name, suffix, span = name.span());
            quote::quote!(#receiver.#name)
        }
        None => {
            let Ok(mut path) = syn::parse2::<syn::Path>(call.path.clone()) else {
                return call.path.clone();
            };
            if let Some(last) = path.segments.last_mut() {
                last.ident =
                    quote::format_ident!("{}__{}", last.ident, suffix, span = last.ident.span());
                // Explicit generics would clash with the convention's own; rustc infers them.
                last.arguments = syn::PathArguments::None;
            }
            quote::ToTokens::to_token_stream(&path)
        }
    }
}
