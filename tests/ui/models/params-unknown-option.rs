use autodiff::prelude::*;

#[derive(Params, Clone)]
struct Model {
    w: Vec<f64>,
    #[params(skipped)]
    label: Label,
}

#[derive(Clone)]
enum Label {
    Cat,
}

fn main() {}
