// Rejected, not shrunk yet: with early `return`s on, 8 of the first 100 programs of
// `--seed 2026` were rejected with "this block has no value; end it with the expression it
// evaluates to" (6) or "return a tuple expression of 2 values, `(a, b)`" (2), although the
// README says early `return` anywhere. Each had a `return` inside an `if` nested in loops
// and branches (the simple shapes below are accepted). Switch: `early_return`; reproduce
// with `cargo run -p difftest --release -- --seed 2026 --count 100 --config all`, which
// prints the REJECTED programs (`--print I` prints one).
use autodiff::prelude::*;

// Accepted (for contrast): an early return in an `if` inside a `loop`.
#[differentiate]
pub fn f(x: f64) -> f64 {
    let mut s = x;
    let mut w = 0;
    loop {
        if w >= 3 {
            break;
        }
        w += 1;
        if s < 0.5 {
            return s * x;
        }
        s = s * x;
    }
    s
}
