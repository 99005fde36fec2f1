//! Case 3: the ADBench Gaussian-mixture-model objective and its gradient with respect to
//! alphas, means and icf (`/work/shared/data/gmm/README.md`, ADBench's format and formula).
//!
//! Parameters are one flat vector: `[alphas (k), means (k·d), icf (k·d(d+1)/2)]`.

// The loops index `xc`, `Qxc` and `L` by row and column as ADBench's formula and C code do;
// iterator rewrites would obscure the triangular indexing that the gradient mirrors.
#![allow(clippy::needless_range_loop)]

use std::path::{Path, PathBuf};

use ad_trait::differentiable_function::{
    DerivativeMethodTrait, DifferentiableFunctionTrait, ReverseAD,
};
use ad_trait::nalgebra::ComplexField;
use ad_trait::reverse_ad::adr::adr;
use autodiff_peer::FT;
use std::ops::{Add, Mul, Sub};

use super::Ours;

/// Our row: pending until `#[differentiate]` handles loops over slices.
pub const OURS: Ours = Ours::Pending("loops pending");

/// One ADBench GMM input.
#[derive(Clone, Debug)]
pub struct Gmm {
    /// Dimension of a point.
    pub d: usize,
    /// Number of mixture components.
    pub k: usize,
    /// Number of points.
    pub n: usize,
    /// The parameters `[alphas, means, icf]`, flat.
    pub params: Vec<f64>,
    /// The points, row-major `n × d`.
    pub x: Vec<f64>,
    /// Wishart prior: gamma.
    pub gamma: f64,
    /// Wishart prior: m (an integer in the files).
    pub m: f64,
}

/// Why a GMM file could not be read.
#[derive(Debug)]
pub enum ParseError {
    /// The file could not be opened or read.
    Io(std::io::Error),
    /// A token is not a number.
    Number(String),
    /// The file ended early, or has numbers left over.
    Count(&'static str),
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParseError::Io(e) => write!(f, "cannot read the GMM file: {e}"),
            ParseError::Number(t) => write!(f, "GMM file: `{t}` is not a number"),
            ParseError::Count(what) => write!(f, "GMM file: {what}"),
        }
    }
}

impl std::error::Error for ParseError {}

/// `<repo>/../shared/data/gmm`: `shared/` is a sibling of the repository folder, both here
/// (`/work/shared` next to the worktree) and in CI's checkout.
pub fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/gmm")
}

/// The two inputs, with their ADBench reference objective values.
pub const FILES: [(&str, f64); 2] = [
    ("gmm_d2_K5.txt", -5240.590562549581),
    ("gmm_d10_K5.txt", -31302.540910910393),
];

impl Gmm {
    /// Reads a file of ADBench's GMM format.
    pub fn load(path: &Path) -> Result<Gmm, ParseError> {
        Gmm::parse(&std::fs::read_to_string(path).map_err(ParseError::Io)?)
    }

    /// Parses ADBench's GMM format: `d k n`, alphas, means, icf, points, `gamma m`.
    pub fn parse(text: &str) -> Result<Gmm, ParseError> {
        let mut tokens = text.split_whitespace();
        let mut next = |what: &'static str| -> Result<f64, ParseError> {
            let t = tokens.next().ok_or(ParseError::Count(what))?;
            t.parse::<f64>()
                .map_err(|_| ParseError::Number(t.to_string()))
        };
        let size = |v: f64| -> Result<usize, ParseError> {
            if v >= 1.0 && v.fract() == 0.0 {
                Ok(v as usize)
            } else {
                Err(ParseError::Count("d, k and n must be positive integers"))
            }
        };
        let d = size(next("missing d")?)?;
        let k = size(next("missing k")?)?;
        let n = size(next("missing n")?)?;
        let icf_sz = d * (d + 1) / 2;
        let n_params = k + k * d + k * icf_sz;
        let params = (0..n_params)
            .map(|_| next("ended inside the parameters"))
            .collect::<Result<Vec<_>, _>>()?;
        let x = (0..n * d)
            .map(|_| next("ended inside the points"))
            .collect::<Result<Vec<_>, _>>()?;
        let gamma = next("missing gamma")?;
        let m = next("missing m")?;
        if tokens.next().is_some() {
            return Err(ParseError::Count("numbers left after `gamma m`"));
        }
        Ok(Gmm {
            d,
            k,
            n,
            params,
            x,
            gamma,
            m,
        })
    }

    /// Entries of icf per component: d logs of the diagonal, then d(d-1)/2 lower entries.
    pub fn icf_size(&self) -> usize {
        self.d * (self.d + 1) / 2
    }

    /// The constant `-n·d·½·ln(2π) - k·C` of the objective (no derivative).
    pub fn constant(&self) -> f64 {
        let (d, k, n) = (self.d as f64, self.k as f64, self.n as f64);
        let big_n = d + self.m + 1.0;
        let mut lgamma_sum = 0.0;
        for j in 1..=self.d {
            lgamma_sum += libm::lgamma(0.5 * big_n + 0.5 * (1.0 - j as f64));
        }
        let c = big_n * d * (self.gamma.ln() - 0.5 * 2f64.ln())
            - (0.25 * d * (d - 1.0) * std::f64::consts::PI.ln() + lgamma_sum);
        -n * d * 0.5 * (2.0 * std::f64::consts::PI).ln() - k * c
    }

    /// The objective at `params`, for f64 and the peers' AD scalars.
    pub fn objective_generic<T: Scalar>(&self, params: &[T]) -> T {
        let (d, k) = (self.d, self.k);
        let icf_sz = self.icf_size();
        let c = T::cst;
        let (alphas, rest) = params.split_at(k);
        let (means, icf) = rest.split_at(k * d);
        let mut main = vec![c(0.0); k];
        let mut qxc = vec![c(0.0); d];
        let mut xc = vec![c(0.0); d];
        let sum_qs: Vec<T> = (0..k)
            .map(|c_| {
                icf[c_ * icf_sz..c_ * icf_sz + d]
                    .iter()
                    .fold(c(0.0), |s, &q| s + q)
            })
            .collect();
        let qdiag: Vec<T> = (0..k * d)
            .map(|i| icf[(i / d) * icf_sz + i % d].exp())
            .collect();
        let mut slse = c(0.0);
        for xi in self.x.chunks_exact(d) {
            for c_ in 0..k {
                let mu = &means[c_ * d..(c_ + 1) * d];
                let l = &icf[c_ * icf_sz + d..(c_ + 1) * icf_sz];
                for j in 0..d {
                    xc[j] = c(xi[j]) - mu[j];
                    qxc[j] = qdiag[c_ * d + j] * xc[j];
                }
                let mut li = 0;
                for a in 0..d {
                    for j in a + 1..d {
                        qxc[j] = qxc[j] + l[li] * xc[a];
                        li += 1;
                    }
                }
                let sq = qxc.iter().fold(c(0.0), |s, &q| s + q * q);
                main[c_] = alphas[c_] + sum_qs[c_] - c(0.5) * sq;
            }
            slse = slse + logsumexp(&main);
        }
        let half_g2 = c(0.5 * self.gamma * self.gamma);
        let mut prior = c(0.0);
        for c_ in 0..k {
            let comp = &icf[c_ * icf_sz..(c_ + 1) * icf_sz];
            let frob = qdiag[c_ * d..(c_ + 1) * d]
                .iter()
                .chain(&comp[d..])
                .fold(c(0.0), |s, &q| s + q * q);
            prior = prior + half_g2 * frob - c(self.m) * sum_qs[c_];
        }
        c(self.constant()) + slse - c(self.n as f64) * logsumexp(alphas) + prior
    }

    /// The objective in plain f64.
    pub fn objective(&self, params: &[f64]) -> f64 {
        self.objective_generic(params)
    }

    /// Hand-written gradient (value and gradient). One pass over the points: per point, the
    /// k values of `main`, keeping `xc` and `Q·xc` for each component, then the softmax
    /// weights `p_c` of `main` scale the adjoints
    /// `∂main_c/∂alpha_c = 1`, `∂main_c/∂mu_c = Qᵀ·Qxc`,
    /// `∂main_c/∂icf_c[j] = 1 - Qxc[j]·exp(icf_c[j])·xc[j]` (diagonal),
    /// `∂main_c/∂L_c[j,a] = -Qxc[j]·xc[a]` (lower part).
    pub fn gradient(&self, params: &[f64]) -> (f64, Vec<f64>) {
        let (d, k) = (self.d, self.k);
        let icf_sz = self.icf_size();
        let (alphas, rest) = params.split_at(k);
        let (means, icf) = rest.split_at(k * d);
        let mut grad = vec![0.0; params.len()];
        let (g_alphas, g_rest) = grad.split_at_mut(k);
        let (g_means, g_icf) = g_rest.split_at_mut(k * d);

        let sum_qs: Vec<f64> = (0..k)
            .map(|c| icf[c * icf_sz..c * icf_sz + d].iter().sum())
            .collect();
        let qdiag: Vec<f64> = (0..k * d)
            .map(|i| icf[(i / d) * icf_sz + i % d].exp())
            .collect();
        let mut main = vec![0.0; k];
        let mut xc = vec![0.0; k * d];
        let mut qxc = vec![0.0; k * d];
        let mut slse = 0.0;
        for xi in self.x.chunks_exact(d) {
            for c in 0..k {
                let mu = &means[c * d..(c + 1) * d];
                let l = &icf[c * icf_sz + d..(c + 1) * icf_sz];
                let xc = &mut xc[c * d..(c + 1) * d];
                let qxc = &mut qxc[c * d..(c + 1) * d];
                for j in 0..d {
                    xc[j] = xi[j] - mu[j];
                    qxc[j] = qdiag[c * d + j] * xc[j];
                }
                let mut li = 0;
                for a in 0..d {
                    for j in a + 1..d {
                        qxc[j] += l[li] * xc[a];
                        li += 1;
                    }
                }
                let sq: f64 = qxc.iter().map(|q| q * q).sum();
                main[c] = alphas[c] + sum_qs[c] - 0.5 * sq;
            }
            // logsumexp and its softmax weights, in place in `main`
            let mx = main.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let mut s = 0.0;
            for v in main.iter_mut() {
                *v = (*v - mx).exp();
                s += *v;
            }
            slse += mx + s.ln();
            let inv = 1.0 / s;
            for c in 0..k {
                let p = main[c] * inv;
                g_alphas[c] += p;
                let xc = &xc[c * d..(c + 1) * d];
                let qxc = &qxc[c * d..(c + 1) * d];
                let l = &icf[c * icf_sz + d..(c + 1) * icf_sz];
                let g_mu = &mut g_means[c * d..(c + 1) * d];
                let g_icf_c = &mut g_icf[c * icf_sz..(c + 1) * icf_sz];
                // d main/d Qxc = -Qxc; Qxc = diag(qdiag)·xc + L·xc
                for j in 0..d {
                    let q = qdiag[c * d + j];
                    g_mu[j] += p * q * qxc[j];
                    g_icf_c[j] += p * (1.0 - qxc[j] * q * xc[j]);
                }
                let mut li = 0;
                for a in 0..d {
                    for j in a + 1..d {
                        g_mu[a] += p * l[li] * qxc[j];
                        g_icf_c[d + li] -= p * qxc[j] * xc[a];
                        li += 1;
                    }
                }
            }
        }
        // -n · logsumexp(alphas)
        let amax = alphas.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let asum: f64 = alphas.iter().map(|a| (a - amax).exp()).sum();
        let n = self.n as f64;
        for c in 0..k {
            g_alphas[c] -= n * (alphas[c] - amax).exp() / asum;
        }
        // Wishart prior: ½γ²(Σ exp(q)² + Σ L²) - m Σ q
        let g2 = self.gamma * self.gamma;
        let mut prior = 0.0;
        for c in 0..k {
            let comp = &icf[c * icf_sz..(c + 1) * icf_sz];
            let g_comp = &mut g_icf[c * icf_sz..(c + 1) * icf_sz];
            let mut frob = 0.0;
            for j in 0..d {
                let q = qdiag[c * d + j];
                frob += q * q;
                g_comp[j] += g2 * q * q - self.m;
            }
            for li in d..icf_sz {
                frob += comp[li] * comp[li];
                g_comp[li] += g2 * comp[li];
            }
            prior += 0.5 * g2 * frob - self.m * sum_qs[c];
        }
        let value = self.constant() + slse - n * (amax + asum.ln()) + prior;
        (value, grad)
    }

    /// THE SLOT FOR OUR GRADIENT. Falls back to [`Gmm::gradient`] (hand-written) until
    /// `#[differentiate]` supports loops over slices; [`OURS`] is `Pending`, so it is never
    /// timed or reported as ours. When loops land, differentiate [`Gmm::objective`]'s body as
    /// a free function over slices, call its `_grad` here, and set [`OURS`] to
    /// `Ours::Generated`.
    pub fn ours_gradient(&self, params: &[f64]) -> (f64, Vec<f64>) {
        self.gradient(params)
    }

    /// Peer ad_trait: reverse mode on its global tape, through the generic objective.
    pub fn ad_trait_gradient(&self, params: &[f64]) -> (f64, Vec<f64>) {
        let f = AdTraitGmm { gmm: self };
        let (value, jacobian) = ReverseAD::new().derivative::<AdTraitGmm<'_>>(params, &f);
        (value[0], jacobian.iter().copied().collect())
    }

    /// Peer `autodiff` 0.7: forward mode, one pass of the generic objective per parameter.
    pub fn autodiff_peer_gradient(&self, params: &[f64]) -> (f64, Vec<f64>) {
        let g = autodiff_peer::grad(|p: &[FT<f64>]| self.objective_generic(p), params);
        (self.objective(params), g)
    }
}

/// `max + ln Σ exp(v - max)`; the shift is the element of largest value.
fn logsumexp<T: Scalar>(v: &[T]) -> T {
    let mx = v
        .iter()
        .copied()
        .reduce(|a, b| if b.value() > a.value() { b } else { a })
        .expect("logsumexp of an empty slice");
    mx + v.iter().fold(T::cst(0.0), |s, &x| s + (x - mx).exp()).ln()
}

/// The scalar operations the objective uses, implemented for f64 and the peers' AD types
/// (ad_trait's `adr` does not implement `num_traits::Float`, so the objective cannot be
/// written against that).
pub trait Scalar: Copy + Add<Output = Self> + Sub<Output = Self> + Mul<Output = Self> {
    /// A constant.
    fn cst(v: f64) -> Self;
    /// The primal value.
    fn value(self) -> f64;
    /// `e^self`.
    fn exp(self) -> Self;
    /// Natural logarithm.
    fn ln(self) -> Self;
}

impl Scalar for f64 {
    fn cst(v: f64) -> Self {
        v
    }
    fn value(self) -> f64 {
        self
    }
    fn exp(self) -> Self {
        f64::exp(self)
    }
    fn ln(self) -> Self {
        f64::ln(self)
    }
}

impl Scalar for adr {
    fn cst(v: f64) -> Self {
        <adr as ad_trait::AD>::constant(v)
    }
    fn value(self) -> f64 {
        adr::value(&self)
    }
    fn exp(self) -> Self {
        ComplexField::exp(self)
    }
    fn ln(self) -> Self {
        ComplexField::ln(self)
    }
}

impl Scalar for FT<f64> {
    fn cst(v: f64) -> Self {
        FT::cst(v)
    }
    fn value(self) -> f64 {
        FT::value(&self)
    }
    fn exp(self) -> Self {
        num_traits::Float::exp(self)
    }
    fn ln(self) -> Self {
        num_traits::Float::ln(self)
    }
}

/// The GMM objective as an ad_trait function of the flat parameters (data borrowed).
pub struct AdTraitGmm<'a> {
    /// The input.
    pub gmm: &'a Gmm,
}

impl DifferentiableFunctionTrait<adr> for AdTraitGmm<'_> {
    const NAME: &'static str = "gmm";

    fn call(&self, params: &[adr], _freeze: bool) -> Vec<adr> {
        vec![self.gmm.objective_generic(params)]
    }

    fn num_inputs(&self) -> usize {
        self.gmm.params.len()
    }

    fn num_outputs(&self) -> usize {
        1
    }
}
