//! Evaluation metrics: loss, accuracy, macro-F1, confusion matrix; cosine agreement for embeddings.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassificationMetrics {
    pub loss: f64,
    pub accuracy: f64,
    pub macro_f1: f64,
    /// `confusion[true][predicted]` counts.
    pub confusion: Vec<Vec<u64>>,
    pub examples: u64,
}

impl ClassificationMetrics {
    /// `loss` is the mean cross-entropy the caller computed over the same examples.
    pub fn compute(predicted: &[u32], labels: &[u32], classes: usize, loss: f64) -> Self {
        let mut confusion = vec![vec![0u64; classes]; classes];
        for (&p, &t) in predicted.iter().zip(labels) {
            if (t as usize) < classes && (p as usize) < classes {
                confusion[t as usize][p as usize] += 1;
            }
        }
        let n = labels.len() as u64;
        let correct: u64 = (0..classes).map(|c| confusion[c][c]).sum();
        let mut f1_sum = 0.0;
        for (c, row) in confusion.iter().enumerate() {
            let tp = row[c] as f64;
            let predicted_c: u64 = confusion.iter().map(|r| r[c]).sum();
            let actual_c: u64 = row.iter().sum();
            let denom = predicted_c as f64 + actual_c as f64;
            // A class absent from both predictions and labels counts as perfect, as in scikit-learn
            // with zero_division=1; with labels present and never predicted it is 0.
            f1_sum += if denom == 0.0 { 1.0 } else { 2.0 * tp / denom };
        }
        ClassificationMetrics {
            loss,
            accuracy: if n == 0 {
                0.0
            } else {
                correct as f64 / n as f64
            },
            macro_f1: if classes == 0 {
                0.0
            } else {
                f1_sum / classes as f64
            },
            confusion,
            examples: n,
        }
    }

    /// Accuracy of always answering the most frequent class of `labels`.
    pub fn majority_baseline(labels: &[u32], classes: usize) -> f64 {
        let mut counts = vec![0usize; classes];
        for &l in labels {
            if let Some(c) = counts.get_mut(l as usize) {
                *c += 1;
            }
        }
        let max = counts.into_iter().max().unwrap_or(0);
        if labels.is_empty() {
            0.0
        } else {
            max as f64 / labels.len() as f64
        }
    }
}

/// Cosine similarity of two vectors (0 when either is all zeros).
pub fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let (mut dot, mut na, mut nb) = (0.0f64, 0.0f64, 0.0f64);
    for (&x, &y) in a.iter().zip(b) {
        dot += x as f64 * y as f64;
        na += x as f64 * x as f64;
        nb += y as f64 * y as f64;
    }
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na.sqrt() * nb.sqrt())
    }
}

/// Agreement of two sets of embeddings: mean and minimum pairwise cosine.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CosineAgreement {
    pub mean: f64,
    pub min: f64,
}

pub fn cosine_agreement(a: &[Vec<f32>], b: &[Vec<f32>]) -> CosineAgreement {
    let sims: Vec<f64> = a.iter().zip(b).map(|(x, y)| cosine(x, y)).collect();
    let mean = if sims.is_empty() {
        0.0
    } else {
        sims.iter().sum::<f64>() / sims.len() as f64
    };
    CosineAgreement {
        mean,
        min: sims.iter().copied().fold(f64::INFINITY, f64::min),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_match_hand_computation() {
        // true:      0 0 1 1 2
        // predicted: 0 1 1 1 0
        let m = ClassificationMetrics::compute(&[0, 1, 1, 1, 0], &[0, 0, 1, 1, 2], 3, 0.5);
        assert_eq!(
            m.confusion,
            vec![vec![1, 1, 0], vec![0, 2, 0], vec![1, 0, 0]]
        );
        assert!((m.accuracy - 0.6).abs() < 1e-12);
        // F1: class0 = 2*1/(2+2) = 0.5, class1 = 2*2/(3+2) = 0.8, class2 = 0.
        assert!((m.macro_f1 - 1.3 / 3.0).abs() < 1e-12);
        assert!(
            (ClassificationMetrics::majority_baseline(&[0, 0, 1, 1, 1], 2) - 0.6).abs() < 1e-12
        );
    }

    #[test]
    fn cosine_of_known_vectors() {
        assert!((cosine(&[1.0, 0.0], &[1.0, 1.0]) - 0.5f64.sqrt()).abs() < 1e-9);
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 1.0]), 0.0);
        let agree = cosine_agreement(
            &[vec![1.0, 0.0], vec![0.0, 1.0]],
            &[vec![1.0, 0.0], vec![1.0, 0.0]],
        );
        assert_eq!((agree.mean, agree.min), (0.5, 0.0));
    }
}
