//! Latency histograms and sequence checks.

use std::cell::{RefCell, RefMut};

use hdrhistogram::Histogram;
use serde::Serialize;

/// The longest latency the histogram tells apart: one hour, in microseconds.
const MAX_MICROS: u64 = 3_600_000_000;

/// Latencies of one measured window, shared by every receiving task (all on one thread).
#[derive(Debug)]
pub(crate) struct Latencies {
    histogram: RefCell<Histogram<u64>>,
}

impl Latencies {
    /// An empty histogram from 1 µs to an hour, to three significant figures.
    pub(crate) fn new() -> Self {
        let histogram = Histogram::new_with_bounds(1, MAX_MICROS, 3)
            // Constant bounds that hdrhistogram accepts (low >= 1, high >= 2 * low).
            .expect("valid histogram bounds");
        Latencies {
            histogram: RefCell::new(histogram),
        }
    }

    /// Records one latency.
    pub(crate) fn record_nanos(&self, nanos: u64) {
        let micros = (nanos / 1000).max(1);
        self.lock().saturating_record(micros);
    }

    /// Percentiles of what was recorded.
    pub(crate) fn summary(&self) -> LatencySummary {
        let histogram = self.lock();
        let millis = |micros: u64| micros as f64 / 1000.0;
        if histogram.is_empty() {
            return LatencySummary::default();
        }
        LatencySummary {
            samples: histogram.len(),
            p50_ms: millis(histogram.value_at_quantile(0.50)),
            p90_ms: millis(histogram.value_at_quantile(0.90)),
            p99_ms: millis(histogram.value_at_quantile(0.99)),
            p999_ms: millis(histogram.value_at_quantile(0.999)),
            max_ms: millis(histogram.max()),
            mean_ms: histogram.mean() / 1000.0,
        }
    }

    fn lock(&self) -> RefMut<'_, Histogram<u64>> {
        self.histogram.borrow_mut()
    }
}

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct LatencySummary {
    /// How many latencies were recorded.
    pub(crate) samples: u64,
    /// Median.
    pub(crate) p50_ms: f64,
    /// 90th percentile.
    pub(crate) p90_ms: f64,
    /// 99th percentile.
    pub(crate) p99_ms: f64,
    /// 99.9th percentile.
    pub(crate) p999_ms: f64,
    /// Largest.
    pub(crate) max_ms: f64,
    /// Mean.
    pub(crate) mean_ms: f64,
}

impl LatencySummary {
    /// `p50 … p99 … p99.9 … max …` for the human summary.
    pub(crate) fn line(&self) -> String {
        format!(
            "p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.2} ms ({} samples)",
            self.p50_ms, self.p99_ms, self.p999_ms, self.max_ms, self.samples
        )
    }
}

/// Checks that one receiver's numbered frames (a room's chat `seq`, a sender's `n`) come
/// without gaps and in order.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sequence {
    next: u64,
    /// Numbers skipped over.
    pub(crate) lost: u64,
    /// Numbers that came again or after a later one.
    pub(crate) out_of_order: u64,
}

impl Sequence {
    /// Expects `next` first.
    pub(crate) fn expecting(next: u64) -> Self {
        Sequence {
            next,
            lost: 0,
            out_of_order: 0,
        }
    }

    /// Takes the next number received.
    pub(crate) fn observe(&mut self, number: u64) {
        if number < self.next {
            self.out_of_order += 1;
            return;
        }
        self.lost += number - self.next;
        self.next = number + 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_count_as_lost_and_repeats_as_out_of_order() {
        let mut sequence = Sequence::expecting(1);
        for seq in [1, 2, 4, 4, 3, 5] {
            sequence.observe(seq);
        }
        assert_eq!((sequence.lost, sequence.out_of_order), (1, 2));
    }

    #[test]
    fn percentiles_come_out_in_milliseconds() {
        let latencies = Latencies::new();
        for millis in 1..=100 {
            latencies.record_nanos(millis * 1_000_000);
        }
        let summary = latencies.summary();
        assert_eq!(summary.samples, 100);
        assert!((summary.p50_ms - 50.0).abs() < 0.1, "{summary:?}");
        assert!((summary.max_ms - 100.0).abs() < 0.1, "{summary:?}");
    }
}
