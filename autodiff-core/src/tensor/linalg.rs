//! Linear algebra: [`Tensor::matmul`] (GEMM through `matrixmultiply`), [`Tensor::transpose`],
//! [`Tensor::dot`], and [`matmul_vjp`].
//!
//! `matmul` follows NumPy's rules for 1-d and 2-d operands: a 1-d left operand is a row
//! vector, a 1-d right operand a column vector, and the added axis is removed from the result
//! (`[k] @ [k, n] -> [n]`, `[m, k] @ [k] -> [m]`, `[k] @ [k] -> []`). Batched products of
//! 3-d and higher operands are not supported yet.

use std::any::Any;

use num_traits::Float;

use super::broadcast::for_each_offset_pair;
use super::{row_major_strides, ShapeError, Tensor};

/// A matrix operand of a GEMM: a tensor's elements read with a row stride and a column
/// stride (in elements), so a transpose is a swap of strides, not a copy.
#[derive(Clone, Copy)]
struct Operand<'a, T> {
    tensor: &'a Tensor<T>,
    row_stride: usize,
    col_stride: usize,
}

impl<'a, T> Operand<'a, T> {
    /// The tensor's elements as a row-major matrix with `cols` columns.
    fn rows(tensor: &'a Tensor<T>, cols: usize) -> Self {
        Operand {
            tensor,
            row_stride: cols,
            col_stride: 1,
        }
    }

    /// The transpose of [`Operand::rows`]: element `(i, j)` is the stored `(j, i)`.
    fn transposed(tensor: &'a Tensor<T>, stored_cols: usize) -> Self {
        Operand {
            tensor,
            row_stride: 1,
            col_stride: stored_cols,
        }
    }
}

/// Panics unless every element a `rows x cols` matrix with these strides reads is inside a
/// slice of `len` elements. This is what makes the raw-pointer GEMM call sound.
fn assert_in_bounds(rows: usize, cols: usize, row_stride: usize, col_stride: usize, len: usize) {
    if rows > 0 && cols > 0 {
        let last = (rows - 1) * row_stride + (cols - 1) * col_stride;
        assert!(last < len, "internal error: GEMM operand out of bounds");
    }
}

/// Converts a stride for matrixmultiply; a stride is at most a `Vec`'s length, which is at
/// most `isize::MAX`.
fn signed(stride: usize) -> isize {
    isize::try_from(stride).expect("a stride within a Vec fits in isize")
}

/// GEMM entry points of matrixmultiply for one float type, behind a safe signature.
macro_rules! safe_gemm {
    ($name:ident, $serial:ident, $float:ty, $gemm:path) => {
        /// `c = a @ b` for a `m x k` matrix `a`, a `k x n` matrix `b` (both with any strides)
        /// and a row-major `m x n` output `c`.
        #[allow(unsafe_code)] // The GEMM call; see the SAFETY comment.
        fn $serial(
            m: usize,
            k: usize,
            n: usize,
            a: (&[$float], usize, usize),
            b: (&[$float], usize, usize),
            c: &mut [$float],
        ) {
            assert_in_bounds(m, k, a.1, a.2, a.0.len());
            assert_in_bounds(k, n, b.1, b.2, b.0.len());
            assert_eq!(
                c.len(),
                m * n,
                "internal error: GEMM output has the wrong length"
            );
            // SAFETY: the assertions above check that every element matrixmultiply reads
            // through `a` and `b` (indices `i * rs + j * cs` for `i < rows`, `j < cols`) and
            // writes through `c` (row-major `m x n`) is inside the borrowed slices; `c` is a
            // unique borrow, so it aliases neither input; beta = 0 means `c` is only written.
            unsafe {
                $gemm(
                    m,
                    k,
                    n,
                    1.0,
                    a.0.as_ptr(),
                    signed(a.1),
                    signed(a.2),
                    b.0.as_ptr(),
                    signed(b.1),
                    signed(b.2),
                    0.0,
                    c.as_mut_ptr(),
                    signed(n),
                    1,
                );
            }
        }

        /// `c = a @ b` as above; with the `rayon` feature, a product of at least
        /// `parallel::GEMM_MIN_WORK` (2^21) multiply-adds is split
        /// into blocks of rows of `c` (and `a`), one matrixmultiply call per block on rayon's
        /// pool. Every element is still one dot product in the same order, so the result is
        /// bit-identical to one thread.
        fn $name(
            m: usize,
            k: usize,
            n: usize,
            a: (&[$float], usize, usize),
            b: (&[$float], usize, usize),
            c: &mut [$float],
        ) {
            #[cfg(feature = "rayon")]
            {
                if let Some(rows) = super::parallel::gemm_rows_per_task(m, k, n) {
                    use rayon::prelude::*;
                    c.par_chunks_mut(rows * n)
                        .enumerate()
                        .for_each(|(block, c)| {
                            let first = block * rows;
                            let here = c.len() / n;
                            $serial(here, k, n, (&a.0[first * a.1..], a.1, a.2), b, c);
                        });
                    return;
                }
            }
            $serial(m, k, n, a, b, c);
        }
    };
}

safe_gemm!(dgemm, dgemm_serial, f64, matrixmultiply::dgemm);
safe_gemm!(sgemm, sgemm_serial, f32, matrixmultiply::sgemm);

/// `a @ b` for an `m x k` operand `a` and a `k x n` operand `b`, as a row-major `m x n`
/// vector. f64 and f32 go through matrixmultiply (found with `Any`, which needs no unsafe
/// code and compiles to a constant branch); other float types use a plain loop.
fn gemm<T: Float + 'static>(
    m: usize,
    k: usize,
    n: usize,
    a: Operand<'_, T>,
    b: Operand<'_, T>,
) -> Vec<T> {
    let mut out = vec![T::zero(); m * n];
    let (a_any, b_any): (&dyn Any, &dyn Any) = (a.tensor, b.tensor);
    let out_any: &mut dyn Any = &mut out;
    if let (Some(a64), Some(b64), Some(c64)) = (
        a_any.downcast_ref::<Tensor<f64>>(),
        b_any.downcast_ref::<Tensor<f64>>(),
        out_any.downcast_mut::<Vec<f64>>(),
    ) {
        dgemm(
            m,
            k,
            n,
            (a64.as_slice(), a.row_stride, a.col_stride),
            (b64.as_slice(), b.row_stride, b.col_stride),
            c64,
        );
        return out;
    }
    let out_any: &mut dyn Any = &mut out;
    if let (Some(a32), Some(b32), Some(c32)) = (
        a_any.downcast_ref::<Tensor<f32>>(),
        b_any.downcast_ref::<Tensor<f32>>(),
        out_any.downcast_mut::<Vec<f32>>(),
    ) {
        sgemm(
            m,
            k,
            n,
            (a32.as_slice(), a.row_stride, a.col_stride),
            (b32.as_slice(), b.row_stride, b.col_stride),
            c32,
        );
        return out;
    }
    naive_gemm(m, k, n, a, b, &mut out);
    out
}

/// The fallback for float types matrixmultiply does not cover: `i-l-j` loop order, so the
/// innermost loop walks a row of `b` and of the output.
fn naive_gemm<T: Float>(
    m: usize,
    k: usize,
    n: usize,
    a: Operand<'_, T>,
    b: Operand<'_, T>,
    out: &mut [T],
) {
    let (da, db) = (a.tensor.as_slice(), b.tensor.as_slice());
    for i in 0..m {
        let row = &mut out[i * n..(i + 1) * n];
        for l in 0..k {
            let x = da[i * a.row_stride + l * a.col_stride];
            for (j, o) in row.iter_mut().enumerate() {
                *o = *o + x * db[l * b.row_stride + j * b.col_stride];
            }
        }
    }
}

/// `m`, `k`, `n` and the result shape of `a @ b` under NumPy's 1-d/2-d rules.
fn matmul_dims(a: &[usize], b: &[usize]) -> Result<(usize, usize, usize, Vec<usize>), ShapeError> {
    let (m, k, n, out) = match (a, b) {
        (&[k], &[_]) => (1, k, 1, vec![]),
        (&[k], &[_, n]) => (1, k, n, vec![n]),
        (&[m, k], &[_]) => (m, k, 1, vec![m]),
        (&[m, k], &[_, n]) => (m, k, n, vec![m, n]),
        _ => return Err(ShapeError::rank("matmul", a, b)),
    };
    if b[0] != k {
        return Err(ShapeError::inner_dimension("matmul", a, b));
    }
    Ok((m, k, n, out))
}

impl<T: Float + 'static> Tensor<T> {
    /// Matrix product with NumPy's rules for 1-d and 2-d operands, or a [`ShapeError`].
    ///
    /// # Errors
    /// [`ErrorKind::InnerDimensionMismatch`](super::ErrorKind::InnerDimensionMismatch) if the
    /// last axis of `self` differs from the first axis of `rhs`;
    /// [`ErrorKind::UnsupportedRank`](super::ErrorKind::UnsupportedRank) if an operand is 0-d
    /// or has more than 2 axes.
    ///
    /// ```
    /// use autodiff_core::tensor::{ErrorKind, Tensor};
    ///
    /// let a = Tensor::<f64>::ones(&[2, 3]);
    /// assert_eq!(a.try_matmul(&Tensor::ones(&[3, 4])).unwrap().shape(), &[2, 4]);
    /// assert_eq!(a.try_matmul(&a).unwrap_err().kind(), ErrorKind::InnerDimensionMismatch);
    /// ```
    pub fn try_matmul(&self, rhs: &Tensor<T>) -> Result<Tensor<T>, ShapeError> {
        let (m, k, n, shape) = matmul_dims(self.shape(), rhs.shape())?;
        let data = gemm(m, k, n, Operand::rows(self, k), Operand::rows(rhs, n));
        Ok(Tensor { data, shape })
    }

    /// Matrix product of 2-d tensors; a 1-d operand is a row vector on the left and a column
    /// vector on the right, and its axis is removed from the result, as in NumPy:
    /// `[m, k] @ [k, n] -> [m, n]`, `[k] @ [k, n] -> [n]`, `[m, k] @ [k] -> [m]`,
    /// `[k] @ [k] -> []`.
    ///
    /// f32 and f64 use `matrixmultiply`'s GEMM.
    ///
    /// # Panics
    /// If the inner dimensions differ or an operand is not 1-d or 2-d, with a message naming
    /// both shapes; [`Tensor::try_matmul`] returns a [`ShapeError`] instead.
    ///
    /// ```
    /// use autodiff_core::Tensor;
    ///
    /// let a = Tensor::from([[1.0, 2.0], [3.0, 4.0]]);
    /// let b = Tensor::from([[5.0], [6.0]]);
    /// assert_eq!(a.matmul(&b), Tensor::from([[17.0], [39.0]]));
    /// assert_eq!(Tensor::from([1.0, 1.0]).matmul(&a), Tensor::from([4.0, 6.0]));
    /// ```
    #[track_caller]
    pub fn matmul(&self, rhs: &Tensor<T>) -> Tensor<T> {
        self.try_matmul(rhs).unwrap_or_else(|err| panic!("{err}"))
    }
}

impl<T: Float> Tensor<T> {
    /// The tensor with its axes reversed: `[m, n]` becomes `[n, m]`, and in general element
    /// `[i0, .., ik]` moves to `[ik, .., i0]` (NumPy's `.T`). A copy.
    ///
    /// # Panics
    /// Never.
    ///
    /// ```
    /// use autodiff_core::Tensor;
    ///
    /// let t = Tensor::from([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]);
    /// assert_eq!(t.transpose(), Tensor::from([[1.0, 4.0], [2.0, 5.0], [3.0, 6.0]]));
    /// ```
    pub fn transpose(&self) -> Tensor<T> {
        if self.ndim() < 2 {
            return self.clone();
        }
        let shape: Vec<usize> = self.shape().iter().rev().copied().collect();
        let strides: Vec<usize> = row_major_strides(self.shape()).into_iter().rev().collect();
        let src = self.as_slice();
        let mut data = Vec::with_capacity(self.len());
        for_each_offset_pair(&shape, &strides, &strides, |i, _| data.push(src[i]));
        Tensor { data, shape }
    }

    /// The inner product of two 1-d tensors of the same length, or a [`ShapeError`].
    ///
    /// # Errors
    /// [`ErrorKind::UnsupportedRank`](super::ErrorKind::UnsupportedRank) if an operand is not
    /// 1-d; [`ErrorKind::InnerDimensionMismatch`](super::ErrorKind::InnerDimensionMismatch)
    /// if the lengths differ.
    ///
    /// ```
    /// use autodiff_core::Tensor;
    ///
    /// let a = Tensor::from([1.0, 2.0]);
    /// assert_eq!(a.try_dot(&Tensor::from([3.0, 4.0])), Ok(11.0));
    /// assert!(a.try_dot(&Tensor::from([3.0])).is_err());
    /// ```
    pub fn try_dot(&self, rhs: &Tensor<T>) -> Result<T, ShapeError> {
        match (self.shape(), rhs.shape()) {
            (&[p], &[q]) if p == q => Ok(self
                .as_slice()
                .iter()
                .zip(rhs.as_slice())
                .fold(T::zero(), |acc, (&x, &y)| acc + x * y)),
            (&[_], &[_]) => Err(ShapeError::inner_dimension(
                "dot",
                self.shape(),
                rhs.shape(),
            )),
            _ => Err(ShapeError::rank("dot", self.shape(), rhs.shape())),
        }
    }

    /// The inner product of two 1-d tensors of the same length.
    ///
    /// # Panics
    /// If an operand is not 1-d or the lengths differ, with a message naming both shapes;
    /// [`Tensor::try_dot`] returns a [`ShapeError`] instead.
    ///
    /// ```
    /// use autodiff_core::Tensor;
    ///
    /// assert_eq!(Tensor::from([1.0, 2.0, 3.0]).dot(&Tensor::from([4.0, 5.0, 6.0])), 32.0);
    /// ```
    #[track_caller]
    pub fn dot(&self, rhs: &Tensor<T>) -> T {
        self.try_dot(rhs).unwrap_or_else(|err| panic!("{err}"))
    }
}

/// `aᵀ @ g` for 2-d `a` (`[m, k]`) and `g` (`[m, n]`), reading `a` through transposed
/// strides (no copy of the transpose): the cotangent of `b` in `a.matmul(b)`.
pub(crate) fn transposed_lhs_matmul<T: Float + 'static>(a: &Tensor<T>, g: &Tensor<T>) -> Tensor<T> {
    let (m, k, n) = (a.shape()[0], a.shape()[1], g.shape()[1]);
    assert_eq!(
        g.shape()[0],
        m,
        "internal error: aᵀ @ g with mismatched rows"
    );
    Tensor {
        data: gemm(k, m, n, Operand::transposed(a, k), Operand::rows(g, n)),
        shape: vec![k, n],
    }
}

/// `g @ bᵀ` for 2-d `g` (`[m, n]`) and `b` (`[k, n]`), reading `b` through transposed
/// strides: the cotangent of `a` in `a.matmul(b)`.
pub(crate) fn transposed_rhs_matmul<T: Float + 'static>(g: &Tensor<T>, b: &Tensor<T>) -> Tensor<T> {
    let (m, n, k) = (g.shape()[0], g.shape()[1], b.shape()[0]);
    assert_eq!(
        b.shape()[1],
        n,
        "internal error: g @ bᵀ with mismatched columns"
    );
    Tensor {
        data: gemm(m, n, k, Operand::rows(g, n), Operand::transposed(b, n)),
        shape: vec![m, k],
    }
}

/// The VJP of [`Tensor::matmul`]: given `a`, `b` and the cotangent `g` of `a.matmul(b)`,
/// returns `(g @ bᵀ, aᵀ @ g)` shaped like `a` and `b`, for every 1-d/2-d case `matmul`
/// accepts (a 1-d operand is treated as the row or column it stands for).
///
/// The transposes are GEMM strides, not copies.
///
/// # Panics
/// If `a.matmul(b)` would panic, or `g` does not have the shape of `a.matmul(b)`, with a
/// message naming the shapes.
///
/// ```
/// use autodiff_core::Tensor;
/// use autodiff_core::tensor::matmul_vjp;
///
/// let a = Tensor::from([[1.0, 2.0]]);
/// let b = Tensor::from([[3.0], [4.0]]);
/// let (da, db) = matmul_vjp(&a, &b, &Tensor::from([[1.0]]));
/// assert_eq!(da, Tensor::from([[3.0, 4.0]]));
/// assert_eq!(db, Tensor::from([[1.0], [2.0]]));
/// ```
#[track_caller]
pub fn matmul_vjp<T: Float + 'static>(
    a: &Tensor<T>,
    b: &Tensor<T>,
    g: &Tensor<T>,
) -> (Tensor<T>, Tensor<T>) {
    let (m, k, n, out_shape) =
        matmul_dims(a.shape(), b.shape()).unwrap_or_else(|err| panic!("{err}"));
    assert!(
        g.shape() == out_shape.as_slice(),
        "Tensor matmul_vjp: the cotangent has shape {:?}, but {:?} @ {:?} has shape {out_shape:?}",
        g.shape(),
        a.shape(),
        b.shape()
    );
    // g is [m, n]; a is [m, k]; b is [k, n] (1-d operands read as rows or columns).
    let da = gemm(m, n, k, Operand::rows(g, n), Operand::transposed(b, n));
    let db = gemm(k, m, n, Operand::transposed(a, k), Operand::rows(g, n));
    (
        Tensor {
            data: da,
            shape: a.shape().to_vec(),
        },
        Tensor {
            data: db,
            shape: b.shape().to_vec(),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(shape: &[usize], seed: usize) -> Tensor<f64> {
        let n = shape.iter().product::<usize>();
        Tensor::from_vec(
            (0..n)
                .map(|i| (((i + seed) * 13 + 5) % 17) as f64 * 0.25 - 2.0)
                .collect(),
            shape,
        )
    }

    /// The textbook triple loop over 2-d operands.
    fn reference_matmul(a: &Tensor<f64>, b: &Tensor<f64>) -> Tensor<f64> {
        let (m, k, n) = (a.shape()[0], a.shape()[1], b.shape()[1]);
        let mut out = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                for l in 0..k {
                    out[i * n + j] += a.as_slice()[i * k + l] * b.as_slice()[l * n + j];
                }
            }
        }
        Tensor::from_vec(out, &[m, n])
    }

    fn assert_close(x: &Tensor<f64>, y: &Tensor<f64>) {
        assert_eq!(x.shape(), y.shape());
        for (p, q) in x.as_slice().iter().zip(y.as_slice()) {
            assert!((p - q).abs() < 1e-10, "{x} != {y}");
        }
    }

    #[test]
    fn matmul_matches_the_triple_loop() {
        for (m, k, n) in [
            (1, 1, 1),
            (2, 3, 4),
            (5, 1, 3),
            (7, 9, 2),
            (17, 33, 9),
            (0, 3, 2),
            (3, 0, 2),
        ] {
            let (a, b) = (sample(&[m, k], 1), sample(&[k, n], 2));
            assert_close(&a.matmul(&b), &reference_matmul(&a, &b));
        }
    }

    /// A product large enough to be split across threads (feature `rayon`) gives the bits of
    /// one thread, for f64 and f32 and with a transposed left operand.
    #[cfg(feature = "rayon")]
    #[test]
    fn threaded_gemm_is_bit_identical_to_one_thread() {
        let (m, k, n) = (200, 130, 90);
        assert!(super::super::parallel::GEMM_MIN_WORK <= m * k * n);
        let (a, at, b) = (sample(&[m, k], 1), sample(&[k, m], 3), sample(&[k, n], 2));
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                let plain = a.matmul(&b);
                let transposed = gemm(m, k, n, Operand::transposed(&at, m), Operand::rows(&b, n));
                let a32 = a.map_elements(|&v| v as f32);
                let b32 = b.map_elements(|&v| v as f32);
                (plain, transposed, a32.matmul(&b32))
            })
        };
        let (one, two) = (run(1), run(2));
        assert_eq!(one.0, two.0);
        assert_eq!(one.1, two.1);
        assert_eq!(one.2, two.2);
        assert_close(
            &Tensor::from_vec(one.1, &[m, n]),
            &reference_matmul(&at.transpose(), &b),
        );
    }

    #[test]
    fn transposed_products_read_strides_and_match_copied_transposes() {
        for (m, k, n) in [(1, 1, 1), (7, 9, 2), (33, 17, 9), (128, 20, 10)] {
            let (a, g) = (sample(&[m, k], 1), sample(&[m, n], 2));
            assert_close(
                &transposed_lhs_matmul(&a, &g),
                &reference_matmul(&a.transpose(), &g),
            );
            let b = sample(&[k, n], 3);
            let g2 = sample(&[m, n], 4);
            assert_close(
                &transposed_rhs_matmul(&g2, &b),
                &reference_matmul(&g2, &b.transpose()),
            );
            assert_eq!(transposed_rhs_matmul(&g2, &b).shape(), &[m, k]);
        }
    }

    #[test]
    fn naive_fallback_matches_gemm() {
        let (a, b) = (sample(&[4, 3], 0), sample(&[3, 5], 1));
        let mut out = vec![0.0; 20];
        naive_gemm(
            4,
            3,
            5,
            Operand::rows(&a, 3),
            Operand::rows(&b, 5),
            &mut out,
        );
        assert_close(&Tensor::from_vec(out, &[4, 5]), &a.matmul(&b));
    }

    #[test]
    fn transpose_reverses_axes_of_any_rank() {
        let t = Tensor::from_vec((0..24).map(f64::from).collect(), &[2, 3, 4]);
        let tt = t.transpose();
        assert_eq!(tt.shape(), &[4, 3, 2]);
        assert_eq!(tt.get(&[3, 1, 0]), t.get(&[0, 1, 3]));
        assert_eq!(tt.get(&[2, 2, 1]), t.get(&[1, 2, 2]));
        assert_eq!(tt.transpose(), t);
        assert_eq!(
            Tensor::from([1.0, 2.0]).transpose(),
            Tensor::from([1.0, 2.0])
        );
    }

    #[test]
    fn matmul_vjp_matches_finite_differences_for_all_ranks() {
        let cases: [(&[usize], &[usize]); 4] = [
            (&[2, 3], &[3, 4]),
            (&[3], &[3, 2]),
            (&[2, 3], &[3]),
            (&[3], &[3]),
        ];
        for (sa, sb) in cases {
            let (a, b) = (sample(sa, 3), sample(sb, 4));
            let g = sample(a.matmul(&b).shape(), 5);
            let (da, db) = matmul_vjp(&a, &b, &g);
            let f = |a: &Tensor<f64>, b: &Tensor<f64>| (a.matmul(b) * &g).sum();
            let h = 1e-6;
            for i in 0..a.len() {
                let (mut p, mut q) = (a.clone(), a.clone());
                p.as_mut_slice()[i] += h;
                q.as_mut_slice()[i] -= h;
                let numeric = (f(&p, &b) - f(&q, &b)) / (2.0 * h);
                assert!(
                    (numeric - da.as_slice()[i]).abs() < 1e-6,
                    "{sa:?}@{sb:?} da[{i}]"
                );
            }
            for i in 0..b.len() {
                let (mut p, mut q) = (b.clone(), b.clone());
                p.as_mut_slice()[i] += h;
                q.as_mut_slice()[i] -= h;
                let numeric = (f(&a, &p) - f(&a, &q)) / (2.0 * h);
                assert!(
                    (numeric - db.as_slice()[i]).abs() < 1e-6,
                    "{sa:?}@{sb:?} db[{i}]"
                );
            }
        }
    }

    #[test]
    #[should_panic(
        expected = "Tensor matmul_vjp: the cotangent has shape [2], but [2, 3] @ [3, 4] has shape [2, 4]"
    )]
    fn matmul_vjp_checks_the_cotangent() {
        let _ = matmul_vjp(&sample(&[2, 3], 0), &sample(&[3, 4], 0), &sample(&[2], 0));
    }
}
