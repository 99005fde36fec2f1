use autodiff::prelude::*;

#[derive(Clone, Copy, PartialEq)]
enum Shape {
    Square,
    Circle,
}

#[differentiate(wrt = x)]
fn area(x: f64, shapes: &[Shape]) -> f64 {
    let mut a = 0.0;
    for s in shapes.iter() {
        match s {
            Shape::Square => a += x * x,
            Shape::Circle => a += 3.0 * x * x,
        }
    }
    a
}

fn main() {}
