use autodiff::prelude::*;

#[differentiate(wrt = x)]
fn f(x: f64) -> f64 {
    let y = my_max!(x, 1.0);
    y * 2.0
}

macro_rules! my_max {
    ($a:expr, $b:expr) => {
        $a.max($b)
    };
}
use my_max;

fn main() {}
