//! Ranking metrics, computed as scikit-learn does so figures compare with the pipeline's.

/// ROC AUC: the probability that a random positive outranks a random negative, ties
/// counting half (Mann-Whitney U with average ranks). `None` without both classes.
pub fn roc_auc(scores: &[f32], labels: &[bool]) -> Option<f64> {
    let positives = labels.iter().filter(|&&l| l).count();
    let negatives = labels.len() - positives;
    if positives == 0 || negatives == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let mut positive_rank_sum = 0.0;
    let mut start = 0;
    while start < order.len() {
        let mut end = start;
        while end + 1 < order.len() && scores[order[end + 1]] == scores[order[start]] {
            end += 1;
        }
        // Ranks start..=end (1-based: +1) share their average.
        let average_rank = (start + end) as f64 / 2.0 + 1.0;
        let tied_positives = order[start..=end].iter().filter(|&&i| labels[i]).count();
        positive_rank_sum += average_rank * tied_positives as f64;
        start = end + 1;
    }
    let p = positives as f64;
    Some((positive_rank_sum - p * (p + 1.0) / 2.0) / (p * negatives as f64))
}

/// Average precision as `sklearn.metrics.average_precision_score`: sum over distinct
/// score thresholds, highest first, of (recall step) x precision. `None` without positives.
pub fn average_precision(scores: &[f32], labels: &[bool]) -> Option<f64> {
    let positives = labels.iter().filter(|&&l| l).count();
    if positives == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let (mut true_pos, mut seen, mut previous_recall, mut ap) = (0usize, 0usize, 0.0, 0.0);
    let mut start = 0;
    while start < order.len() {
        let mut end = start;
        while end + 1 < order.len() && scores[order[end + 1]] == scores[order[start]] {
            end += 1;
        }
        true_pos += order[start..=end].iter().filter(|&&i| labels[i]).count();
        seen += end - start + 1;
        let recall = true_pos as f64 / positives as f64;
        let precision = true_pos as f64 / seen as f64;
        ap += (recall - previous_recall) * precision;
        previous_recall = recall;
        start = end + 1;
    }
    Some(ap)
}

/// One bin of a reliability plot: predictions in `low..high`, their mean and the
/// observed share of positives.
#[derive(Debug, Clone, PartialEq)]
pub struct Bin {
    pub low: f64,
    pub high: f64,
    pub count: usize,
    pub predicted: f64,
    pub observed: f64,
}

/// The non-empty bins of `bins` equal-width probability bins.
pub fn reliability(scores: &[f32], labels: &[bool], bins: usize) -> Vec<Bin> {
    let mut sums = vec![(0usize, 0.0f64, 0usize); bins];
    for (score, label) in scores.iter().zip(labels) {
        let p = f64::from(*score).clamp(0.0, 1.0);
        let index = ((p * bins as f64) as usize).min(bins - 1);
        let entry = &mut sums[index];
        entry.0 += 1;
        entry.1 += p;
        entry.2 += usize::from(*label);
    }
    sums.iter()
        .enumerate()
        .filter(|(_, (count, _, _))| *count > 0)
        .map(|(i, (count, sum, positives))| Bin {
            low: i as f64 / bins as f64,
            high: (i + 1) as f64 / bins as f64,
            count: *count,
            predicted: sum / *count as f64,
            observed: *positives as f64 / *count as f64,
        })
        .collect()
}

/// Expected calibration error: the bins' |mean predicted - observed|, weighted by
/// their share of the predictions (as the pipeline's `metrics.ece`).
pub fn expected_calibration_error(scores: &[f32], labels: &[bool], bins: usize) -> f64 {
    let total = scores.len().max(1) as f64;
    reliability(scores, labels, bins)
        .iter()
        .map(|b| b.count as f64 / total * (b.predicted - b.observed).abs())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_matches_hand_computed_values() {
        let labels = [false, false, true, true];
        assert_eq!(roc_auc(&[0.1, 0.4, 0.35, 0.8], &labels), Some(0.75));
        assert_eq!(roc_auc(&[0.5; 4], &labels), Some(0.5));
        assert_eq!(roc_auc(&[0.1, 0.2], &[true, true]), None);
    }

    #[test]
    fn calibration_error_by_hand() {
        // Bin 0.1-0.2: mean 0.15, observed 0.5; bin 0.9-1.0: mean 0.975, observed 1.
        let scores = [0.1, 0.2 - 1e-6, 0.95, 1.0];
        let labels = [true, false, true, true];
        let bins = reliability(&scores, &labels, 10);
        assert_eq!(bins.len(), 2);
        assert_eq!((bins[0].count, bins[0].observed), (2, 0.5));
        let ece = expected_calibration_error(&scores, &labels, 10);
        assert!((ece - (0.5 * 0.35 + 0.5 * 0.025)).abs() < 1e-6, "{ece}");
    }

    #[test]
    fn average_precision_matches_scikit_learn() {
        // sklearn.metrics.average_precision_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
        let ap = average_precision(&[0.1, 0.4, 0.35, 0.8], &[false, false, true, true]);
        assert!((ap.expect("has positives") - 0.833_333_333_333_333_3).abs() < 1e-12);
    }
}
