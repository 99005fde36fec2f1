// A method that cannot be differentiated (one error, at `rem_euclid`): its stand-ins keep
// `&self`, so `self.loss_grad(..)` is not told to "use `Model::loss_grad`", and a
// differentiated method calling `self.loss(..)` finds `loss__reverse_derivative`.
use autodiff::prelude::*;

struct Model {
    k: f64,
}

impl Model {
    #[differentiate(wrt = w)]
    fn loss(&self, w: &[f64], b: [f64; 2]) -> (f64, f64) {
        (w[0].rem_euclid(2.0) * self.k, b[1] * w[1])
    }

    #[differentiate(wrt = w)]
    fn total(&self, w: &[f64]) -> f64 {
        let (a, b) = self.loss(w, [1.0, 2.0]);
        a + b
    }

    fn train(&self) -> f64 {
        let (v, g) = self.loss_grad(&[1.0, 2.0], [1.0, 2.0]);
        let (_, s) = self.loss_vjp(&[1.0, 2.0], [1.0, 2.0], (1.0, 0.0));
        let (_, t) = self.loss_jvp(&[1.0, 2.0], [1.0, 2.0], &[1.0, 0.0]);
        v.0 + g[0] + s[1] + t.1
    }
}

fn main() {
    let _ = Model { k: 2.0 }.train();
}
