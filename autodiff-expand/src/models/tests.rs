//! The expansion's errors and the field roles it infers, on small functions.
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
        (
            "wrt = self",
            "fn f(&self) -> f64 { let s = self; g(s) }",
            "used whole",
        ),
        // Whole to a method of something else: not a free function's call.
        (
            "wrt = self",
            "fn f(&self) -> f64 { h.g(self) }",
            "used whole",
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
fn a_struct_passed_whole_to_a_free_function_goes_through_its_hidden_function() {
    let out = expand(
        "wrt = m",
        "fn f(m: &Lin, x: f64) -> f64 { g(m, x) + g(&m, x) }",
    );
    assert!(!out.contains("compile_error"), "{out}");
    assert!(
        out.contains("g__needs_differentiate_wrt_its_struct (__m , __ad_unit"),
        "{out}"
    );
    // And a free function with a struct by reference writes that hidden function.
    let out = expand("wrt = m", "fn g(m: &Lin, x: f64) -> f64 { m.b * x }");
    assert!(
        out.contains("fn g__needs_differentiate_wrt_its_struct"),
        "{out}"
    );
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
