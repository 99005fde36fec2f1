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
        if *s == Shape::Square {
            a += x * x;
        } else {
            a += 3.0 * x * x;
        }
    }
    a
}

fn main() {}
