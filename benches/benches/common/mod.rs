//! Short criterion settings shared by every bench: the machine has 2 cores shared with
//! other builds, so runs are kept to a few seconds per benchmark.

use std::time::Duration;

use criterion::Criterion;

/// warm-up 1 s, measurement 2.5 s, 20 samples.
pub fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_millis(2500))
        .sample_size(20)
}
