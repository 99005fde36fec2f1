use autodiff::prelude::*;

#[differentiate(wrt = [x, y])]
fn larger(x: f64, y: f64) -> f64 {
    match x.partial_cmp(&y) {
        Some(std::cmp::Ordering::Less) => y,
        _ => x,
    }
}

fn main() {}
