//! Deterministic shuffled train/validation/test splits.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::DataError;

/// Fractions of rows for validation and test (train gets the rest) and the shuffle seed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SplitSpec {
    pub val_fraction: f64,
    pub test_fraction: f64,
    pub seed: u64,
}

impl Default for SplitSpec {
    fn default() -> Self {
        SplitSpec {
            val_fraction: 0.1,
            test_fraction: 0.1,
            seed: 42,
        }
    }
}

/// Row indices of each part; disjoint, together covering every row exactly once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Splits {
    pub train: Vec<usize>,
    pub val: Vec<usize>,
    pub test: Vec<usize>,
}

/// Shuffles `0..rows` with ChaCha8 seeded by `spec.seed` and cuts it into test, val and train.
/// The same rows and spec always give the same splits (ChaCha8 is a portable, specified stream).
pub fn split(rows: usize, spec: &SplitSpec) -> Result<Splits, DataError> {
    let valid = |f: f64| f.is_finite() && (0.0..1.0).contains(&f);
    if !valid(spec.val_fraction) || !valid(spec.test_fraction) {
        return Err(DataError::InvalidSplit(format!(
            "fractions must be in [0, 1): val {}, test {}",
            spec.val_fraction, spec.test_fraction
        )));
    }
    if spec.val_fraction + spec.test_fraction >= 1.0 {
        return Err(DataError::InvalidSplit(format!(
            "val {} + test {} leaves no training rows",
            spec.val_fraction, spec.test_fraction
        )));
    }
    let n_test = part_size(rows, spec.test_fraction);
    let n_val = part_size(rows, spec.val_fraction);
    if n_test + n_val >= rows {
        return Err(DataError::InvalidSplit(format!(
            "{rows} rows are too few for val {} and test {}",
            spec.val_fraction, spec.test_fraction
        )));
    }
    let mut order: Vec<usize> = (0..rows).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(spec.seed));
    let train = order.split_off(n_test + n_val);
    let val = order.split_off(n_test);
    Ok(Splits {
        train,
        val,
        test: order,
    })
}

/// A non-zero fraction always yields at least one row, so a tiny table still gets a val/test set.
fn part_size(rows: usize, fraction: f64) -> usize {
    if fraction == 0.0 {
        0
    } else {
        ((rows as f64 * fraction).round() as usize).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_split_and_parts_cover_all_rows() {
        let spec = SplitSpec {
            val_fraction: 0.1,
            test_fraction: 0.2,
            seed: 7,
        };
        let a = split(1000, &spec).unwrap();
        assert_eq!(a, split(1000, &spec).unwrap());
        assert_eq!((a.train.len(), a.val.len(), a.test.len()), (700, 100, 200));
        let mut all: Vec<usize> = a
            .train
            .iter()
            .chain(&a.val)
            .chain(&a.test)
            .copied()
            .collect();
        all.sort_unstable();
        assert_eq!(all, (0..1000).collect::<Vec<_>>());
        let b = split(1000, &SplitSpec { seed: 8, ..spec }).unwrap();
        assert_ne!(a.test, b.test);
    }

    #[test]
    fn bad_fractions_are_errors() {
        for (v, t) in [(0.5, 0.5), (-0.1, 0.1), (f64::NAN, 0.1), (0.1, 1.0)] {
            let spec = SplitSpec {
                val_fraction: v,
                test_fraction: t,
                seed: 0,
            };
            assert!(
                matches!(split(100, &spec), Err(DataError::InvalidSplit(_))),
                "{v} {t}"
            );
        }
        let spec = SplitSpec {
            val_fraction: 0.3,
            test_fraction: 0.3,
            seed: 0,
        };
        assert!(matches!(split(2, &spec), Err(DataError::InvalidSplit(_))));
    }
}
