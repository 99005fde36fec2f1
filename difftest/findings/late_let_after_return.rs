// Does not compile: "cannot find value `a96` in this scope" in the generated code (difftest
// --seed 31337, program 2346, not shrunk yet): `let mut a96` declared after an early
// `return`, copied (`let a97 = a96;`), then assigned twice in a `zip` loop whose body reads
// it in an `if` expression. A simpler shape of the same (a96 assigned in an `iter` loop after
// an early return) works. Not yet isolated into a generator switch.
use autodiff::prelude::*;

#[differentiate(wrt = [x0])]
pub fn f0(x0: f64, k: i32) -> f64 {
    if ((x0 - x0) + x0) < x0 {
        if (x0 * (-0.88)).atan2((x0.signum().powi(2) + 0.3)) < f64::max(x0, ((x0 * x0) + 0.5).log(((x0 * x0) + 2.0))) {
            let mut a1 = (f64::acosh(((-x0).powi(2) + 1.2)) - (-x0).tanh().sinh());
            let mut a2 = x0.powi(2);
            a1 *= a2.tanh();
        } else {
            let mut w3 = 0;
            loop {
                if w3 >= 1 {
                    break;
                }
                w3 += 1;
                if x0 < ((-x0) + (-0.84)) {
                    let mut a4 = x0;
                    if k > 1 {
                        a4 += (-1.57).tanh();
                        let a5 = (a4 + a4.max(a4.tanh().tan()));
                        a4 -= (f64::sin(((a4 * a4) + 0.4).ln()) * a5);
                    }
                } else {
                    let a6 = ((if (x0 * x0).abs() < ((x0 * x0) + 1.2).acosh() { x0 } else { x0 }).powi(2) + 1.2).acosh().tanh().sinh();
                    let mut a7 = a6;
                }
                let a8 = (0.9 * (((x0 * x0) + 0.6).powi(0) - x0).tanh()).acos();
                let a9 = x0;
            }
            let a10 = x0;
            let mut a11 = a10.abs();
        }
        if (-(x0 / ((x0 * x0) + 0.5))) < (x0 + x0).abs() {
            let mut z12 = vec![0.0; 3];
            let mut a13 = x0;
        }
    }
    let a14 = (stop_gradient(x0.atan()) + x0);
    let mut a15 = (a14.min(x0) + a14).abs();
    a15 += (-1.13);
    let mut z16 = vec![0.0; 3];
    let mut a17 = (z16[0].atan2(((a15 * a15) + 0.3)).mul_add(f64::atanh((0.9 * a14.tanh())), (-a14)) - a15);
    a15 = (-0.59);
    for i18 in (0..3).rev() {
        let mut w19 = 0;
        loop {
            if w19 >= 1 {
                break;
            }
            w19 += 1;
            a17 -= (a15 + z16[0]).atan();
        }
        a15 -= z16[i18].tanh();
    }
    (((stop_gradient(z16[2]) + x0) + a17) + a15)
}
#[differentiate]
pub fn f1(k: i32, x0: f64, xs: &[f64]) -> (f64, f64) {
    for (i20, v21) in xs.iter().copied().enumerate() {
        let mut a22 = (0.9 * (((v21 * v21) + 0.6).powi(k).powi(2) + 0.6).powi(-1).tanh()).acos();
        let mut z23 = vec![(-0.1); 3];
        let mut z24 = xs.to_vec();
        if (a22 + v21).atan2(((x0 * x0) + 0.3)) < (-0.49) {
            z24[i20] = a22;
            return ((((a22 / ((z24[2] * z24[2]) + 0.5)).max(((v21 * v21) + 0.6).powi(k)) + a22) + v21), (((v21 + x0).min(a22) + x0) + x0));
        }
    }
    let mut z25 = vec![0.0; 3];
    let mut w26 = 0;
    while w26 < 1 {
        w26 += 1;
        if ((-x0) * z25.iter().copied().fold(z25[0].min(xs[2]), |acc81, c80| c80.tanh())) < (if (x0 / ((xs[1] * xs[1]) + 0.5)) < x0.mul_add(xs[2], 0.58).min((0.55 - xs[0])) { x0 } else { ((x0 * x0) + 0.5).log(((x0 * x0) + 2.0)) }) {
            continue;
        }
        let mut w27 = 0;
        while w27 < 1 {
            w27 += 1;
            let mut a28 = ((if (-1.12).signum() < xs.iter().copied().map(|c29| ((x0 * x0) + 0.6).powi(k).tanh()).product::<f64>() { x0.tanh().exp_m1() } else { (x0 * x0) }) * (if k > 1 { x0.tanh().cosh() } else { ((x0 * x0) + 0.5).powf((2.0 * x0.tanh())) }));
            let mut a30 = ((if (a28.mul_add(a28, 1.73) * ((a28 * a28) + 1.2).acosh()) < z25[2] { a28.signum() } else { xs[2].mul_add(x0, x0) }).powi(2) + 0.5).powf((2.0 * (-f64::asinh(a28)).tanh()));
        }
        if ((x0 * x0) + 1.2).acosh() < ((z25[2] / (((-0.45) * (-0.45)) + 0.5)) * ((x0 * x0) + 0.5).recip()) {
            let a33 = z25.iter().copied().fold(f0(x0, k), |acc32, c31| (0.9 * c31.mul_add(x0, x0).tanh()).atanh().tanh());
            z25[0] = a33;
            let mut a34 = a33;
            let mut a35 = (1.67.tanh().cosh().mul_add(xs.iter().copied().fold(xs[0].mul_add(z25[2], xs[2]), |acc37, c36| x0.tanh()), (0.9 * (-1.36).tanh()).acos()).powi(2) + 1.1).cbrt();
        } else {
            if (0.9 * (x0 + x0).tanh()).asin() < (if (-z25.iter().copied().map(|c38| 1.58).sum::<f64>()) < (stop_gradient(xs[1]) / ((if (if x0 < (-((z25[0] * z25[0]) + 0.6).powi(0)) { z25.iter().zip(xs.iter()).map(|(rc40, rc39)| (*rc39)).sum::<f64>() } else { (0.9 * x0.tanh()).atanh() }) < xs[0].signum() { z25[2] } else { x0 }).powi(2) + 0.5)) { (if f0(x0, 2) < (if k > 1 { ((z25[1] * z25[1]) + 0.9).log10() } else { x0 }) { x0 } else { xs[0] }) } else { (x0 * x0) }) {
                let mut w41 = 0;
                while w41 < 1 {
                    w41 += 1;
                    z25[2] = ((0.9 * 1.57.tanh()).acos().powi(2) + 0.5).log(((x0 + x0).powi(2) + 2.0)).abs();
                    if xs[1] < z25.iter().copied().map(|c42| z25.iter().copied().fold(((-0.24) * x0), |acc44, c43| 0.24.tanh())).sum::<f64>() {
                        let mut a45 = x0;
                        a45 = 0.37;
                        return (((stop_gradient(z25[1].signum()) + a45) + x0), (((x0 * (if f0((z25.iter().zip(z25.iter()).map(|(rc47, rc46)| 1.16).sum::<f64>().powi(2) + 0.5).powf((2.0 * (z25[2] * x0).tanh())), k) < (x0 * x0).min((a45 - a45)) { x0 } else { a45 })) + x0) + x0));
                    }
                    if ((z25[1] - x0).powi(2) + 0.6).ln() < stop_gradient(x0.signum()) {
                        if x0 < xs[0].mul_add(x0, x0).tanh().tan() {
                            let a48 = (if (-1.4).mul_add(x0, (((-1.7) * (-1.7)) + 0.5).powf((2.0 * 1.62.tanh()))) < ((if z25.iter().copied().fold(stop_gradient(x0), |acc50, c49| 0.29.tanh()).mul_add(x0, ((x0 * x0) + 0.3).ln()) < ((z25[2] * z25[2]) + 0.3).hypot(x0).min(z25.iter().zip(xs.iter()).map(|(rc52, rc51)| x0).sum::<f64>()) { (-1.09) } else { z25[0] }) - z25[0]) { x0 } else { (((-0.45) - xs[2]) / (x0.mul_add(z25[2], x0).powi(2) + 0.5)) });
                            let mut a53 = (-f64::asinh((-a48)));
                            a53 += f0(xs[2].tanh(), 2).sin();
                        } else {
                            let a54 = (z25.iter().copied().fold(z25.iter().copied().map(|c57| x0.tanh()).product::<f64>(), |acc56, c55| ((x0 * x0) + 0.6).powi(-1).tanh()).powi(2) + 0.5).recip();
                            let mut a58 = (if (if k > 1 { ((z25[1] * z25[1]) + 1.2).acosh() } else { a54 }) < f0(x0, 2) { xs.iter().copied().fold(xs[0], |acc60, c59| xs[0].tanh()) } else { (1.22 * x0) }).atan();
                            let mut z61 = [(-0.25); 3];
                        }
                        let a62 = (-(0.81 * 1.66).tanh().exp2());
                        let mut a63 = x0;
                    } else {
                        let mut a64 = (0.9 * x0.tanh().cosh().tanh()).atanh().asinh();
                        let a65 = a64;
                        let mut a66 = z25[0];
                    }
                }
                let mut a67 = f64::sqrt((f0(((x0 * x0) + 0.6).powi(k), 1).min(((x0 * x0) + 0.4).log10()).powi(2) + 0.8));
            } else {
                if f64::max(x0, x0).powi(3) < ((xs[1] + x0) * f64::acos((0.9 * z25[1].tanh()))) {
                    let a68 = f0(f0(((x0 + x0) + x0), k), k);
                    for (ru69, rv70) in z25.iter().zip(xs.iter()).rev() {
                        let mut a71 = z25[1];
                        let a72 = stop_gradient((a71 * xs[2])).powi(2);
                        let mut a73 = (*ru69);
                    }
                }
                let mut a74 = f0(xs[0], k);
            }
            if k > 1 {
                let a77 = xs.iter().copied().fold(1.53.mul_add(z25[0], x0), |acc76, c75| acc76.tanh()).tanh().sinh().sin();
                z25[2] += a77;
            } else {
                let a78 = x0;
            }
            let mut a79 = xs[0];
        }
    }
    z25.swap(0, 2);
    let mut w82 = 0;
    loop {
        if w82 >= 2 {
            break;
        }
        w82 += 1;
        let a83 = (z25.iter().copied().map(|c84| c84.mul_add(c84, 0.96)).sum::<f64>().powi(2) + 1.2).acosh();
    }
    let a85 = z25.iter().copied().fold(f64::sqrt(((x0 * x0) + 1.1)), |acc87, c86| f64::sin(c86.hypot(((x0 * x0) + 0.3))).tanh());
    let mut a88 = f0((((xs[1] * xs[1]) + 0.5).powf((2.0 * z25[2].tanh())) * (0.69 * xs[1])), k).powi(1);
    a88 = (a85 + (((-1.38) * (-1.38)) + 0.8).sqrt().asinh());
    (((xs[2].asinh() + x0) + x0), (((xs[0] + (-0.74)).atan() + a88) + a85))
}
#[differentiate]
pub fn f2(x0: f64, k: i32, xs: &[f64]) -> f64 {
    let z89 = [((xs[2] * xs[2]) + 0.9).log10(), (xs.iter().copied().fold(((x0 * x0) + 0.5).log2(), |acc91, c90| c90.tanh()).powi(2) + 0.6).powi(k), ((xs[2] + x0).powi(2) + 1.2).acosh()];
    if ((if (f0(x0.tanh().exp2().sin(), 1).powi(2) + 0.7).cbrt() < 0.15 { x0 } else { xs[2] }) - ((-1.43) / ((xs[1] * xs[1]) + 0.5))) < f0(((xs[2] + 0.86) - stop_gradient(x0)), 1) {
        let mut z92 = [0.27; 3];
    }
    if xs.iter().copied().fold(((z89[2] * z89[2]) + 0.5).powf((2.0 * x0.tanh())), |acc94, c93| acc94.powi(2).tanh()) < x0 {
        let a95 = z89[1];
        return ((x0 + a95) + a95);
    }
    let mut a96 = (0.9 * f0(xs[1], 2).tanh()).atanh();
    let a97 = a96;
    for (ru98, rv99) in xs.iter().zip(z89.iter()) {
        a96 = xs[2];
        a96 = (if x0 < ((a96 * z89[2]) + z89[1]) { xs.iter().copied().map(|c100| z89[2]).sum::<f64>().max((*ru98)) } else { ((a96 / ((xs[2] * xs[2]) + 0.5)) - ((*ru98) + z89[0])) }).sin();
        let z101 = [(f64::abs(a96).powi(2) + 0.3).atan2(f0(((x0 / ((a96 * a96) + 0.5)) / (f0((((a96 * a96) + 0.8).recip() + z89.iter().zip(z89.iter()).map(|(rc103, rc102)| a96).sum::<f64>()), 1).powi(2) + 0.5)), k)), a96.abs(), x0];
        let a104 = f0(z89.iter().copied().fold(((z101[2] * z101[2]) + 1.0).log2(), |acc106, c105| a96.abs().tanh()), 2);
    }
    ((x0 + x0) + a96)
}

