//! The two kinds of time the core is given, kept apart by their types.
//!
//! [`Tick`] is monotonic: it only moves forward, whatever happens to the machine's clock, and it
//! measures every interval (rate limits, budgets, timeouts, how often the lobby hears of a
//! room). [`UnixMillis`] is the wall clock, for what people read (a chat message's `ts`, the
//! expiry of a TURN login): it may jump back or forth when the clock is set, so nothing is
//! measured with it.

use std::ops::Add;
use std::time::Duration;

/// A point on the monotonic clock: the time since an origin the edge chose (its start).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tick(Duration);

impl Tick {
    /// The origin itself.
    pub const ZERO: Tick = Tick(Duration::ZERO);

    /// The point `elapsed` after the origin.
    pub const fn after(elapsed: Duration) -> Self {
        Tick(elapsed)
    }

    /// The point `millis` milliseconds after the origin.
    pub const fn from_millis(millis: u64) -> Self {
        Tick(Duration::from_millis(millis))
    }

    /// How long after `earlier` this is; zero if `earlier` is later.
    pub fn since(self, earlier: Tick) -> Duration {
        self.0.saturating_sub(earlier.0)
    }

    /// The time since the origin.
    pub fn elapsed(self) -> Duration {
        self.0
    }
}

impl Add<Duration> for Tick {
    type Output = Tick;

    fn add(self, rhs: Duration) -> Tick {
        Tick(self.0.saturating_add(rhs))
    }
}

/// A wall-clock time: milliseconds since the Unix epoch, as the machine's clock says.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnixMillis(pub u64);

/// Both clocks, read once for one event.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Now {
    /// For intervals.
    pub tick: Tick,
    /// For people.
    pub wall: UnixMillis,
}

impl Now {
    /// Both clocks at once (tests and tools that drive the core by hand).
    pub const fn new(tick: Tick, wall: UnixMillis) -> Self {
        Now { tick, wall }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_measure_forward_and_never_underflow() {
        let start = Tick::from_millis(1_000);
        let later = start + Duration::from_millis(250);
        assert_eq!(later.since(start), Duration::from_millis(250));
        assert_eq!(start.since(later), Duration::ZERO);
        assert!(later > start);
        assert_eq!(Tick::ZERO.elapsed(), Duration::ZERO);
    }
}
