//! Element-wise maps: `exp`, `ln`, `tanh`, `sigmoid`, ... and the generic [`Tensor::map`].
//! Each takes `&self` and returns a new tensor of the same shape.
//!
//! Their derivatives are element-wise, so they need no tensor helper: the scalar rule
//! applied with [`Tensor::map`] or the arithmetic operators is the VJP.

use num_traits::Float;

use super::vmath::{map_slice, Kernel};
use super::Tensor;

impl<T: Float> Tensor<T> {
    /// `kernel` of each element through the vectorised kernels of `vmath`.
    fn map_kernel(&self, kernel: Kernel) -> Tensor<T> {
        let mut data = vec![T::zero(); self.len()];
        map_slice(kernel, self.as_slice(), &mut data);
        Tensor {
            data,
            shape: self.shape().to_vec(),
        }
    }
}

impl<T: Float> Tensor<T> {
    /// `f` applied to each element.
    ///
    /// # Panics
    /// Only if `f` panics.
    ///
    /// ```
    /// use autodiff_core::Tensor;
    ///
    /// let t = Tensor::from([[1.0, 2.0], [3.0, 4.0]]);
    /// assert_eq!(t.map(|x| 2.0 * x + 1.0), Tensor::from([[3.0, 5.0], [7.0, 9.0]]));
    /// ```
    pub fn map(&self, f: impl Fn(T) -> T) -> Tensor<T> {
        self.map_elements(|&x| f(x))
    }

    /// Each element raised to the integer power `n`.
    ///
    /// # Panics
    /// Never.
    ///
    /// ```
    /// use autodiff_core::Tensor;
    ///
    /// let t = Tensor::from([2.0, -3.0]);
    /// assert_eq!(t.powi(3).as_slice(), &[8.0, -27.0]);
    /// assert_eq!(t.powi(-1).as_slice(), &[0.5, -1.0 / 3.0]);
    /// ```
    pub fn powi(&self, n: i32) -> Tensor<T> {
        self.map_elements(|&x| x.powi(n))
    }

    /// Each element raised to the float power `p` (NaN for a negative base and a
    /// non-integer power).
    ///
    /// # Panics
    /// Never.
    ///
    /// ```
    /// use autodiff_core::Tensor;
    ///
    /// let t = Tensor::from([4.0, 9.0]);
    /// assert_eq!(t.powf(0.5).as_slice(), &[2.0, 3.0]);
    /// ```
    pub fn powf(&self, p: T) -> Tensor<T> {
        self.map_elements(|&x| x.powf(p))
    }

    /// The exponential `e^x` of each element: a vectorised kernel within 2 ulp of
    /// `f64::exp` (f32: within 1 ulp of the correctly rounded value).
    ///
    /// # Panics
    /// Never.
    ///
    /// ```
    /// use autodiff_core::Tensor;
    ///
    /// let t = Tensor::from([0.0, 1.0]);
    /// let e = t.exp();
    /// assert_eq!(e.as_slice()[0], 1.0);
    /// assert!((e.as_slice()[1] - 1.0_f64.exp()).abs() <= 2.0 * f64::EPSILON * 3.0);
    /// ```
    pub fn exp(&self) -> Tensor<T> {
        self.map_kernel(Kernel::Exp)
    }

    /// The natural logarithm of each element (NaN for negative elements, -inf for 0): a
    /// vectorised kernel within 2 ulp of `f64::ln`.
    ///
    /// # Panics
    /// Never.
    ///
    /// ```
    /// use autodiff_core::Tensor;
    ///
    /// let t = Tensor::from([1.0, std::f64::consts::E]);
    /// assert_eq!(t.ln().as_slice(), &[0.0, 1.0]);
    /// ```
    pub fn ln(&self) -> Tensor<T> {
        self.map_kernel(Kernel::Ln)
    }

    /// The square root of each element (NaN for negative elements).
    ///
    /// # Panics
    /// Never.
    ///
    /// ```
    /// use autodiff_core::Tensor;
    ///
    /// let t = Tensor::from([4.0, 9.0]);
    /// assert_eq!(t.sqrt().as_slice(), &[2.0, 3.0]);
    /// ```
    pub fn sqrt(&self) -> Tensor<T> {
        self.map(|x| x.sqrt())
    }

    /// The hyperbolic tangent of each element: a vectorised kernel within 3 ulp of
    /// `f64::tanh`.
    ///
    /// # Panics
    /// Never.
    ///
    /// ```
    /// use autodiff_core::Tensor;
    ///
    /// let t = Tensor::from([0.0, 1.0]);
    /// let h = t.tanh();
    /// assert_eq!(h.as_slice()[0], 0.0);
    /// assert!((h.as_slice()[1] - 1.0_f64.tanh()).abs() <= 3.0 * f64::EPSILON);
    /// ```
    pub fn tanh(&self) -> Tensor<T> {
        self.map_kernel(Kernel::Tanh)
    }

    /// The logistic function `1 / (1 + e^-x)` of each element, computed without overflow
    /// for large `|x|`.
    ///
    /// # Panics
    /// Never.
    ///
    /// ```
    /// use autodiff_core::Tensor;
    ///
    /// let t = Tensor::from([0.0, -1000.0, 1000.0]);
    /// assert_eq!(t.sigmoid().as_slice(), &[0.5, 0.0, 1.0]);
    /// ```
    pub fn sigmoid(&self) -> Tensor<T> {
        self.map_kernel(Kernel::Sigmoid)
    }

    /// `max(x, 0)` of each element (NaN stays NaN).
    ///
    /// # Panics
    /// Never.
    ///
    /// ```
    /// use autodiff_core::Tensor;
    ///
    /// let t = Tensor::from([-1.0, 2.0]);
    /// assert_eq!(t.relu().as_slice(), &[0.0, 2.0]);
    /// ```
    pub fn relu(&self) -> Tensor<T> {
        self.map(|x| if x < T::zero() { T::zero() } else { x })
    }

    /// The absolute value of each element.
    ///
    /// # Panics
    /// Never.
    ///
    /// ```
    /// use autodiff_core::Tensor;
    ///
    /// let t = Tensor::from([-1.5, 2.0]);
    /// assert_eq!(t.abs().as_slice(), &[1.5, 2.0]);
    /// ```
    pub fn abs(&self) -> Tensor<T> {
        self.map(|x| x.abs())
    }

    /// The sine of each element (radians).
    ///
    /// # Panics
    /// Never.
    ///
    /// ```
    /// use autodiff_core::Tensor;
    ///
    /// let t = Tensor::from([0.0, 1.0]);
    /// assert_eq!(t.sin().as_slice(), &[0.0, 1.0_f64.sin()]);
    /// ```
    pub fn sin(&self) -> Tensor<T> {
        self.map(|x| x.sin())
    }

    /// The cosine of each element (radians).
    ///
    /// # Panics
    /// Never.
    ///
    /// ```
    /// use autodiff_core::Tensor;
    ///
    /// let t = Tensor::from([0.0, 1.0]);
    /// assert_eq!(t.cos().as_slice(), &[1.0, 1.0_f64.cos()]);
    /// ```
    pub fn cos(&self) -> Tensor<T> {
        self.map(|x| x.cos())
    }

    /// The square `x * x` of each element.
    ///
    /// # Panics
    /// Never.
    ///
    /// ```
    /// use autodiff_core::Tensor;
    ///
    /// let t = Tensor::from([-3.0, 2.0]);
    /// assert_eq!(t.square().as_slice(), &[9.0, 4.0]);
    /// ```
    pub fn square(&self) -> Tensor<T> {
        self.map(|x| x * x)
    }

    /// The reciprocal `1 / x` of each element (inf for 0).
    ///
    /// # Panics
    /// Never.
    ///
    /// ```
    /// use autodiff_core::Tensor;
    ///
    /// let t = Tensor::from([2.0, -4.0]);
    /// assert_eq!(t.recip().as_slice(), &[0.5, -0.25]);
    /// ```
    pub fn recip(&self) -> Tensor<T> {
        self.map(|x| x.recip())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_keep_the_shape() {
        let t = Tensor::from([[0.5, 1.0], [2.0, 4.0]]);
        for m in [
            t.exp(),
            t.ln(),
            t.sqrt(),
            t.tanh(),
            t.sigmoid(),
            t.relu(),
            t.abs(),
            t.sin(),
            t.cos(),
            t.square(),
            t.recip(),
            t.powi(2),
            t.powf(1.5),
        ] {
            assert_eq!(m.shape(), &[2, 2]);
        }
        assert_eq!(
            t.ln()
                .exp()
                .as_slice()
                .iter()
                .zip(t.as_slice())
                .filter(|(a, b)| (**a - **b).abs() > 1e-15)
                .count(),
            0
        );
    }

    #[test]
    fn sigmoid_is_stable_and_symmetric() {
        let t = Tensor::from([-800.0_f64, -2.0, 0.0, 2.0, 800.0]);
        let s = t.sigmoid();
        assert!(s.as_slice().iter().all(|v| v.is_finite()));
        assert_eq!(s.as_slice()[0], 0.0);
        assert_eq!(s.as_slice()[4], 1.0);
        assert!((s.as_slice()[1] + s.as_slice()[3] - 1.0).abs() < 1e-15);
        assert!((s.as_slice()[3] - 1.0 / (1.0 + (-2.0_f64).exp())).abs() < 1e-15);
    }

    #[test]
    fn relu_and_square_match_their_definitions() {
        let t = Tensor::from([-2.0_f32, 0.0, 3.0]);
        assert_eq!(t.relu().as_slice(), &[0.0, 0.0, 3.0]);
        assert_eq!(t.square(), t.powi(2));
        assert_eq!(t.map(|x| x * x), t.square());
    }
}
