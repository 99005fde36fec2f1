//! The guard of structural refactors: expands every `#[differentiate]` and
//! `#[custom_derivative]` function of the workspace's `tests/`, `examples/` and `benches/src/`
//! through this crate and writes the pretty-printed output, one snapshot file per source file.
//!
//! ```text
//! cargo run -p autodiff-expand --example snapshot -- /tmp/before
//! # ... change the compiler's structure ...
//! cargo run -p autodiff-expand --example snapshot -- /tmp/after
//! diff -r /tmp/before /tmp/after      # empty: generated code unchanged
//! cargo run -p autodiff-expand --example snapshot -- --print f.rs   # one file, on stdout
//! ```
//! A function is found wherever syntax puts it without macros: at the top level, in inline
//! modules, in impl blocks and among the statements of function bodies (tests often nest
//! them). The attribute goes to the expander without the item, as rustc passes it.
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let out = std::env::args()
        .nth(1)
        .expect("usage: snapshot OUTDIR | --print FILE..");
    if out == "--print" {
        // `snapshot --print FILE..`: the expansion of each file's functions, on stdout.
        for file in std::env::args().skip(2) {
            let source = std::fs::read_to_string(&file).expect("readable source");
            let parsed = syn::parse_file(&source).expect("a Rust file");
            let (mut snapshot, mut count) = (String::new(), 0);
            items(&parsed.items, &mut snapshot, &mut count);
            print!("{snapshot}");
        }
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for dir in ["tests", "examples", "benches/src"] {
        collect(&root.join(dir), &mut files);
    }
    files.sort();
    let mut total = 0;
    for file in files {
        let rel = file.strip_prefix(&root).expect("under the root");
        let source = std::fs::read_to_string(&file).expect("readable source");
        let Ok(parsed) = syn::parse_file(&source) else {
            continue;
        };
        let mut snapshot = String::new();
        let mut count = 0;
        items(&parsed.items, &mut snapshot, &mut count);
        if count == 0 {
            continue;
        }
        total += count;
        let dst = Path::new(&out).join(rel);
        std::fs::create_dir_all(dst.parent().expect("a file has a parent")).expect("create dir");
        std::fs::write(&dst, snapshot).expect("write snapshot");
    }
    eprintln!("{total} functions expanded into {out}");
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
}

fn items(items: &[syn::Item], out: &mut String, count: &mut usize) {
    for item in items {
        match item {
            syn::Item::Fn(f) => function(&f.attrs, f, out, count),
            syn::Item::Mod(m) => {
                if let Some((_, content)) = &m.content {
                    self::items(content, out, count);
                }
            }
            syn::Item::Impl(i) => {
                for it in &i.items {
                    if let syn::ImplItem::Fn(m) = it {
                        let f = syn::ItemFn {
                            attrs: m.attrs.clone(),
                            vis: m.vis.clone(),
                            sig: m.sig.clone(),
                            block: Box::new(m.block.clone()),
                        };
                        function(&m.attrs, &f, out, count);
                    }
                }
            }
            _ => {}
        }
    }
}

fn function(attrs: &[syn::Attribute], f: &syn::ItemFn, out: &mut String, count: &mut usize) {
    let nested: Vec<syn::Item> = f
        .block
        .stmts
        .iter()
        .filter_map(|s| match s {
            syn::Stmt::Item(item) => Some(item.clone()),
            _ => None,
        })
        .collect();
    items(&nested, out, count);
    let Some((index, which)) = attrs.iter().enumerate().find_map(|(i, a)| {
        let last = a.path().segments.last()?.ident.to_string();
        matches!(last.as_str(), "differentiate" | "custom_derivative").then_some((i, last))
    }) else {
        return;
    };
    let attr = match &attrs[index].meta {
        syn::Meta::List(list) => list.tokens.clone(),
        _ => proc_macro2::TokenStream::new(),
    };
    let mut item = f.clone();
    item.attrs.remove(index);
    let item = quote::ToTokens::into_token_stream(item);
    let tokens = match which.as_str() {
        "differentiate" => autodiff_expand::differentiate(attr.clone(), item),
        _ => autodiff_expand::custom_derivative(attr.clone(), item),
    };
    *count += 1;
    let _ = writeln!(out, "// ===== #[{which}({attr})] fn {} =====", f.sig.ident);
    match syn::parse2::<syn::File>(tokens.clone()) {
        Ok(file) => out.push_str(&prettyplease::unparse(&file)),
        Err(_) => {
            let _ = writeln!(out, "{tokens}");
        }
    }
    out.push('\n');
}
