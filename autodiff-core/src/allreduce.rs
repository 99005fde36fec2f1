//! All-reduce of gradients over [`Params`] leaves, for data-parallel training: each worker
//! (a thread with a shard of the batch, or an MPI rank) computes the gradient of its shard,
//! and the gradients are summed leaf by leaf.
//!
//! The sum is taken in a fixed order (shard 0, then 1, ...), element by element, so the
//! result does not depend on which worker finished first or on the number of threads:
//! the same shards give the same bits. `examples/data_parallel.rs` uses [`sum_in_order`]
//! across rayon tasks; with the `mpi` feature, [`mpi::allreduce_sum`] does the same across
//! MPI ranks (`examples/mpi_allreduce.rs`).

use num_traits::Float;

use crate::params::{leaves, leaves_mut, Params, ParamsError, ParamsErrorKind};

/// The leaf-by-leaf sum `shards[0] + shards[1] + ...`, added in that order, or a
/// [`ParamsError`] (kind `GradientsMismatch`) if a shard's leaves differ from the first's.
/// `None` for no shards.
///
/// ```
/// use autodiff_core::allreduce::sum_in_order;
///
/// let shards = vec![(1.0_f64, vec![1.0, 2.0]), (0.5, vec![3.0, 4.0])];
/// assert_eq!(sum_in_order(&shards).unwrap(), Some((1.5, vec![4.0, 6.0])));
/// ```
///
/// # Errors
/// If the shards do not all have the first shard's leaf lengths.
pub fn sum_in_order<T: Float, P: Params<T>>(shards: &[P]) -> Result<Option<P>, ParamsError> {
    let Some(first) = shards.first() else {
        return Ok(None);
    };
    let mut total = first.zeros_like();
    for shard in shards {
        add_into(&mut total, shard)?;
    }
    Ok(Some(total))
}

/// `total += shard`, leaf by leaf, or a [`ParamsError`] if their leaves differ.
///
/// ```
/// use autodiff_core::allreduce::add_into;
///
/// let mut total = [1.0_f64, 2.0];
/// add_into(&mut total, &[0.5, 0.5]).unwrap();
/// assert_eq!(total, [1.5, 2.5]);
/// assert!(add_into(&mut total, &vec![1.0]).is_err());
/// ```
///
/// # Errors
/// If `shard`'s leaf lengths differ from `total`'s.
pub fn add_into<T: Float, P: Params<T> + ?Sized, Q: Params<T> + ?Sized>(
    total: &mut P,
    shard: &Q,
) -> Result<(), ParamsError> {
    let (expected, found) = (total.leaf_lengths(), shard.leaf_lengths());
    if expected != found {
        return Err(ParamsError::new(
            ParamsErrorKind::GradientsMismatch,
            expected,
            found,
        ));
    }
    for (acc, leaf) in leaves_mut(total).into_iter().zip(leaves(shard)) {
        for (a, &g) in acc.iter_mut().zip(leaf) {
            *a = *a + g;
        }
    }
    Ok(())
}

/// Every leaf multiplied by `factor` (e.g. `1 / shards` to turn a sum of shard means into
/// the mean over the batch).
///
/// ```
/// use autodiff_core::allreduce::scale;
///
/// let mut g = (2.0_f64, vec![4.0, 6.0]);
/// scale(&mut g, 0.5);
/// assert_eq!(g, (1.0, vec![2.0, 3.0]));
/// ```
pub fn scale<T: Float, P: Params<T> + ?Sized>(params: &mut P, factor: T) {
    params.visit_mut(&mut |leaf| leaf.iter_mut().for_each(|v| *v = *v * factor));
}

/// The all-reduce across MPI ranks (feature `mpi`, needs an MPI library such as OpenMPI:
/// `scripts/mpi.sh`).
#[cfg(feature = "mpi")]
pub mod mpi {
    use ::mpi::datatype::Equivalence;
    use ::mpi::traits::Communicator;
    use ::mpi::traits::CommunicatorCollectives;
    use num_traits::Float;

    use crate::params::{leaves, leaves_mut, Params};

    /// Replaces `grads` on every rank of `comm` with the leaf-by-leaf sum over the ranks,
    /// added in rank order (rank 0 first), so every rank gets the same bits, equal to
    /// [`sum_in_order`](super::sum_in_order) of the ranks' gradients. Collective: every rank
    /// calls it with gradients of the same leaf lengths.
    ///
    /// The leaves are flattened into one buffer and gathered from every rank
    /// (`MPI_Allgather`), then summed locally: unlike `MPI_Allreduce`, whose order of
    /// summation is the MPI library's choice, the result is reproducible.
    ///
    /// # Panics
    /// If the ranks' gradients differ in total length (an MPI error aborts the job).
    pub fn allreduce_sum<T, P, C>(comm: &C, grads: &mut P)
    where
        T: Float + Equivalence,
        P: Params<T> + ?Sized,
        C: Communicator,
    {
        let local: Vec<T> = leaves(grads).concat();
        let ranks = usize::try_from(comm.size()).expect("a communicator has a positive size");
        let mut all = vec![T::zero(); local.len() * ranks];
        comm.all_gather_into(&local[..], &mut all[..]);
        let mut offset = 0;
        for leaf in leaves_mut(grads) {
            for (i, v) in leaf.iter_mut().enumerate() {
                let mut sum = T::zero();
                for rank in 0..ranks {
                    sum = sum + all[rank * local.len() + offset + i];
                }
                *v = sum;
            }
            offset += leaf.len();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Tensor;

    #[test]
    fn sums_leaf_by_leaf_in_shard_order() {
        let shards: Vec<(Tensor<f64>, [f64; 2])> = (0..3)
            .map(|s| {
                let s = f64::from(s);
                (Tensor::from([[s, 1.0], [2.0, -s]]), [s * 0.5, 1e16])
            })
            .collect();
        let total = sum_in_order(&shards).unwrap().unwrap();
        assert_eq!(total.0, Tensor::from([[3.0, 3.0], [6.0, -3.0]]));
        assert_eq!(total.1, [1.5, 3e16]);
        assert_eq!(sum_in_order::<f64, [f64; 2]>(&[]).unwrap(), None);
    }

    #[test]
    fn the_order_is_fixed_even_where_float_addition_is_not_associative() {
        // (1 + 1e16) - 1e16 = 0 but (1e16 - 1e16) + 1 = 1: the result is the
        // left-to-right sum in shard order.
        let shards = vec![vec![1.0_f64], vec![1e16], vec![-1e16]];
        assert_eq!(sum_in_order(&shards).unwrap(), Some(vec![0.0]));
        let shards = vec![vec![1e16], vec![-1e16], vec![1.0_f64]];
        assert_eq!(sum_in_order(&shards).unwrap(), Some(vec![1.0]));
    }

    #[test]
    fn mismatched_shards_are_an_error() {
        let shards = vec![vec![1.0_f64, 2.0], vec![1.0]];
        let err = sum_in_order(&shards).unwrap_err();
        assert_eq!(err.kind(), ParamsErrorKind::GradientsMismatch);
        assert_eq!(err.expected(), &[2]);
        assert_eq!(err.found(), &[1]);
    }

    #[test]
    fn scale_multiplies_every_leaf() {
        let mut g = (Tensor::from([2.0_f32, 4.0]), 8.0_f32);
        scale(&mut g, 0.25);
        assert_eq!(g, (Tensor::from([0.5, 1.0]), 2.0));
    }
}
