//! The generator's one clock, and the stamps frames carry so that a receiver can tell how long
//! a frame took: `t=<nanoseconds since the clock's epoch>` (and `n=<counter>` where the frame
//! has no `seq` of its own), space-separated at the start of a chat text, SDP or candidate.
//!
//! Senders and receivers run in the same process, so one monotonic epoch serves both ends.

use std::time::{Duration, Instant};

/// Nanoseconds since the start of the run, on a monotonic clock.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    epoch: Instant,
}

impl Clock {
    /// A clock whose epoch is now.
    pub(crate) fn start() -> Self {
        Clock {
            epoch: Instant::now(),
        }
    }

    /// Nanoseconds since the epoch (u64 lasts 584 years).
    pub(crate) fn now(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64
    }

    /// The instant `nanos` after the epoch, for timers.
    pub(crate) fn instant(&self, nanos: u64) -> Instant {
        self.epoch + Duration::from_nanos(nanos)
    }
}

/// Nanoseconds in a second, as a float for rates.
pub(crate) const NANOS_PER_SEC: f64 = 1e9;

/// Converts seconds (from the command line) to nanoseconds.
pub(crate) fn nanos(seconds: f64) -> u64 {
    (seconds.max(0.0) * NANOS_PER_SEC) as u64
}

/// The number after `key=` among the space-separated words of `text`, if there is one.
pub(crate) fn stamp_field(text: &str, key: &str) -> Option<u64> {
    text.split(' ').find_map(|word| {
        let value = word.strip_prefix(key)?.strip_prefix('=')?;
        value.parse().ok()
    })
}

/// Appends `number` in decimal, as `format!` would, without the formatting machinery.
pub(crate) fn write_decimal(out: &mut Vec<u8>, mut number: u64) {
    let mut digits = [0; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (number % 10) as u8;
        number /= 10;
        if number == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_are_found_among_other_words() {
        assert_eq!(stamp_field("t=42 xxxx", "t"), Some(42));
        assert_eq!(stamp_field("n=7 t=42", "t"), Some(42));
        assert_eq!(stamp_field("n=7 t=42", "n"), Some(7));
        assert_eq!(stamp_field("tt=1 t=x", "t"), None);
    }

    #[test]
    fn decimals_are_written_as_format_would() {
        for number in [0, 7, 10, 1_234_567_890, u64::MAX] {
            let mut out = b"t=".to_vec();
            write_decimal(&mut out, number);
            assert_eq!(out, format!("t={number}").into_bytes());
        }
    }
}
