//! Flood control: how fast one connection may send frames, bytes and joins.
//!
//! Plain Rust with the monotonic time ([`Tick`]) as an input, like the room core. Two levels:
//!
//! - [`Flood`] rules on the messages a connection sends. One sent faster than its [`RateLimit`]
//!   is told once (`rate_limited`) and its extra messages are dropped; one that goes on is
//!   closed.
//! - [`Wire`] rules on everything that arrives on the socket, every frame of every kind (pings,
//!   pongs, continuations, closes) and every byte. A connection over its [`WireBudget`] is not
//!   read until it has budget again, so the kernel's flow control pushes back on the sender
//!   instead of the server spending its time on it; one that keeps running out is closed.

use std::time::Duration;

use crate::time::Tick;

/// How fast a connection may send messages, as a token bucket: `burst` at once, `per_second`
/// every second after that.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Messages per second, sustained.
    pub per_second: u32,
    /// Messages that may come at once.
    pub burst: u32,
}

impl Default for RateLimit {
    fn default() -> Self {
        // A browser joining a full room sends an offer and a handful of candidates to every
        // member within a second or two: well under the burst.
        RateLimit {
            per_second: 20,
            burst: 100,
        }
    }
}

/// Joins allowed at once...
const JOIN_BURST: u64 = 10;
/// ...then one every this often.
const JOIN_EVERY: Duration = Duration::from_secs(3);
/// Dropped messages a connection may send before it is closed...
const STRIKES: u64 = 50;
/// ...where one strike is forgiven every this often.
const STRIKE_FORGIVEN_EVERY: Duration = Duration::from_millis(200);

/// A token bucket in the form of a virtual schedule (the generic cell rate algorithm): holds up
/// to `burst` tokens and earns `per_second` of them every second, with no rounding of the rate
/// to whole milliseconds, so a byte budget of 256 KiB per second is exactly that.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    /// The time one token takes to earn.
    interval: Duration,
    /// How far ahead of now the schedule may run: the burst.
    tolerance: Duration,
    /// When the bucket would be full again, given what was taken so far.
    full_at: Tick,
}

impl TokenBucket {
    /// A full bucket at `now` that holds `burst` tokens and earns `per_second` a second.
    pub fn new(per_second: u64, burst: u64, now: Tick) -> Self {
        let interval =
            Duration::from_secs(1) / u32::try_from(per_second.max(1)).unwrap_or(u32::MAX);
        TokenBucket {
            interval,
            tolerance: interval.saturating_mul(u32::try_from(burst.max(1)).unwrap_or(u32::MAX)),
            full_at: now,
        }
    }

    /// A full bucket at `now` that holds `burst` tokens and earns one every `every`.
    pub fn every(every: Duration, burst: u64, now: Tick) -> Self {
        TokenBucket {
            interval: every,
            tolerance: every.saturating_mul(u32::try_from(burst.max(1)).unwrap_or(u32::MAX)),
            full_at: now,
        }
    }

    /// Takes one token if there is one at `now`.
    pub fn take(&mut self, now: Tick) -> bool {
        let after = self.full_at.max(now) + self.interval;
        if after.since(now) > self.tolerance {
            return false;
        }
        self.full_at = after;
        true
    }

    /// Takes `count` tokens whether or not they are there: the bucket may go into debt, and
    /// [`TokenBucket::ready_in`] says how long repaying it takes.
    pub fn charge(&mut self, now: Tick, count: u64) {
        let cost = self
            .interval
            .saturating_mul(u32::try_from(count).unwrap_or(u32::MAX));
        self.full_at = self.full_at.max(now) + cost;
    }

    /// How many tokens there are at `now` (none while in debt).
    pub fn available(&self, now: Tick) -> u64 {
        let used = self.full_at.since(now);
        let free = self.tolerance.saturating_sub(used);
        let nanos = self.interval.as_nanos().max(1);
        u64::try_from(free.as_nanos() / nanos).unwrap_or(u64::MAX)
    }

    /// How long until at least one token is there: zero if one is there now.
    pub fn ready_in(&self, now: Tick) -> Duration {
        let used = self.full_at.since(now) + self.interval;
        used.saturating_sub(self.tolerance)
    }
}

/// What to do with a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Handle it.
    Allow,
    /// Drop it and answer with a `rate_limited` error.
    Refuse,
    /// Drop it without an answer: the sender was told already.
    Drop,
    /// Close the connection with 1008: it goes on flooding.
    Close,
}

/// The message-level flood state of one connection.
#[derive(Debug, Clone)]
pub struct Flood {
    messages: TokenBucket,
    joins: TokenBucket,
    strikes: TokenBucket,
    /// Whether the sender has been told since its last allowed message.
    told: bool,
}

impl Flood {
    /// A connection that opened at `now`.
    pub fn new(limit: RateLimit, now: Tick) -> Self {
        Flood {
            messages: TokenBucket::new(u64::from(limit.per_second), u64::from(limit.burst), now),
            joins: TokenBucket::every(JOIN_EVERY, JOIN_BURST, now),
            strikes: TokenBucket::every(STRIKE_FORGIVEN_EVERY, STRIKES, now),
            told: false,
        }
    }

    /// Rules on a message arriving at `now`.
    pub fn check_frame(&mut self, now: Tick) -> Verdict {
        if self.messages.take(now) {
            self.told = false;
            return Verdict::Allow;
        }
        self.refused(now)
    }

    /// Rules on a join request arriving at `now` (after [`Flood::check_frame`] allowed it).
    pub fn check_join(&mut self, now: Tick) -> Verdict {
        if self.joins.take(now) {
            return Verdict::Allow;
        }
        // Every refused join is answered: a person clicking "join" wants to know why.
        match self.refused(now) {
            Verdict::Close => Verdict::Close,
            _ => Verdict::Refuse,
        }
    }

    fn refused(&mut self, now: Tick) -> Verdict {
        if !self.strikes.take(now) {
            return Verdict::Close;
        }
        if std::mem::replace(&mut self.told, true) {
            Verdict::Drop
        } else {
            Verdict::Refuse
        }
    }
}

/// How much may arrive on one socket, counted on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WireBudget {
    /// Frames of any kind per second, sustained.
    pub frames_per_second: u64,
    /// Frames that may come at once.
    pub frame_burst: u64,
    /// Bytes per second, sustained.
    pub bytes_per_second: u64,
    /// Bytes that may come at once.
    pub byte_burst: u64,
}

/// The bytes a message may take on average within the wire budget: a chat of 2000 characters
/// in any script fits, and an SDP offer for a full room.
const MESSAGE_BYTES: u64 = 16 * 1024;

impl WireBudget {
    /// The budget that goes with a message rate limit: room for a pong and a continuation
    /// beside every message a client may send, each of 16 KiB on average.
    pub fn for_rate_limit(limit: RateLimit) -> Self {
        let (per_second, burst) = (u64::from(limit.per_second), u64::from(limit.burst));
        WireBudget {
            frames_per_second: 2 * per_second + 10,
            frame_burst: 2 * burst + 10,
            bytes_per_second: per_second * MESSAGE_BYTES,
            byte_burst: burst * MESSAGE_BYTES,
        }
    }
}

/// Times a connection may run out of wire budget before it is closed...
const WIRE_STRIKES: u64 = 10;
/// ...where one is forgiven every this often.
const WIRE_STRIKE_FORGIVEN_EVERY: Duration = Duration::from_secs(5);
/// The shortest pause: waking up for every few bytes would cost more than reading them.
pub const MIN_PAUSE: Duration = Duration::from_millis(20);
/// A connection so far over its budget that repaying would take longer than this (a read
/// full of empty frames, say) is closed at once.
pub const MAX_PAUSE: Duration = Duration::from_secs(2);

/// What the socket's reader may do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allowance {
    /// Read at most this many bytes.
    Read(usize),
    /// Read nothing for this long.
    Pause(Duration),
    /// The connection keeps running out: close it.
    Close,
}

/// The wire-level budget of one connection.
#[derive(Debug, Clone)]
pub struct Wire {
    frames: TokenBucket,
    bytes: TokenBucket,
    strikes: TokenBucket,
    /// Whether the last allowance was a pause, so one pause costs one strike however often the
    /// reader asks during it.
    paused: bool,
}

impl Wire {
    /// A connection that opened at `now`.
    pub fn new(budget: WireBudget, now: Tick) -> Self {
        Wire {
            frames: TokenBucket::new(budget.frames_per_second, budget.frame_burst, now),
            bytes: TokenBucket::new(budget.bytes_per_second, budget.byte_burst, now),
            strikes: TokenBucket::every(WIRE_STRIKE_FORGIVEN_EVERY, WIRE_STRIKES, now),
            paused: false,
        }
    }

    /// How much the reader may read at `now`.
    pub fn allowance(&mut self, now: Tick) -> Allowance {
        let wait = self.frames.ready_in(now).max(self.bytes.ready_in(now));
        if wait.is_zero() {
            self.paused = false;
            let bytes = self.bytes.available(now).max(1);
            return Allowance::Read(usize::try_from(bytes).unwrap_or(usize::MAX));
        }
        if wait > MAX_PAUSE {
            return Allowance::Close;
        }
        if !std::mem::replace(&mut self.paused, true) && !self.strikes.take(now) {
            return Allowance::Close;
        }
        Allowance::Pause(wait.max(MIN_PAUSE))
    }

    /// Counts what was read at `now`.
    pub fn charge(&mut self, now: Tick, bytes: usize, frames: u64) {
        self.bytes
            .charge(now, u64::try_from(bytes).unwrap_or(u64::MAX));
        self.frames.charge(now, frames);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(millis: u64) -> Tick {
        Tick::from_millis(millis)
    }

    #[test]
    fn a_bucket_gives_its_burst_then_one_token_per_period() {
        let mut bucket = TokenBucket::every(Duration::from_millis(100), 3, ms(0));
        assert!((0..3).all(|_| bucket.take(ms(0))));
        assert!(!bucket.take(ms(50)));
        assert!(bucket.take(ms(100)));
        assert!(!bucket.take(ms(150)));
        assert!(bucket.take(ms(250)));
        // A long pause refills it to the top, no further.
        assert!((0..3).all(|_| bucket.take(ms(10_000))));
        assert!(!bucket.take(ms(10_000)));
    }

    #[test]
    fn rates_need_not_divide_a_second_into_whole_milliseconds() {
        // 250,000 bytes a second: one every 4 µs.
        let mut bytes = TokenBucket::new(250_000, 1_000, ms(0));
        assert_eq!(bytes.available(ms(0)), 1_000);
        bytes.charge(ms(0), 1_000 + 250_000);
        assert_eq!(bytes.available(ms(0)), 0);
        assert_eq!(bytes.ready_in(ms(0)), Duration::from_micros(1_000_004));
        assert_eq!(bytes.available(ms(1_002)), 500);
    }

    #[test]
    fn a_charged_bucket_is_in_debt_until_repaid() {
        let mut bucket = TokenBucket::new(10, 5, ms(0));
        bucket.charge(ms(0), 15);
        assert_eq!(bucket.available(ms(0)), 0);
        assert_eq!(bucket.ready_in(ms(0)), Duration::from_millis(1_100));
        assert_eq!(bucket.ready_in(ms(1_100)), Duration::ZERO);
        assert!(bucket.take(ms(1_100)));
        assert!(!bucket.take(ms(1_100)));
    }

    #[test]
    fn a_flood_is_told_once_then_dropped_then_closed() {
        let limit = RateLimit {
            per_second: 10,
            burst: 5,
        };
        let mut flood = Flood::new(limit, ms(0));
        let verdicts: Vec<Verdict> = (0..100).map(|_| flood.check_frame(ms(0))).collect();
        assert!(verdicts[..5].iter().all(|v| *v == Verdict::Allow));
        assert_eq!(verdicts[5], Verdict::Refuse);
        let dropped = verdicts.iter().filter(|v| **v == Verdict::Drop).count();
        assert_eq!(dropped, STRIKES as usize - 1);
        assert_eq!(verdicts[5 + STRIKES as usize], Verdict::Close);
    }

    #[test]
    fn a_sender_that_slows_down_is_served_again_and_told_again() {
        let limit = RateLimit {
            per_second: 10,
            burst: 1,
        };
        let mut flood = Flood::new(limit, ms(0));
        assert_eq!(flood.check_frame(ms(0)), Verdict::Allow);
        assert_eq!(flood.check_frame(ms(10)), Verdict::Refuse);
        assert_eq!(flood.check_frame(ms(20)), Verdict::Drop);
        assert_eq!(flood.check_frame(ms(100)), Verdict::Allow);
        assert_eq!(flood.check_frame(ms(110)), Verdict::Refuse);
        // Sending at the sustained rate is never refused.
        assert!((2..200).all(|tick| flood.check_frame(ms(tick * 100)) == Verdict::Allow));
    }

    #[test]
    fn joins_have_their_own_slower_budget() {
        let mut flood = Flood::new(RateLimit::default(), ms(0));
        assert!((0..JOIN_BURST).all(|_| flood.check_join(ms(0)) == Verdict::Allow));
        assert_eq!(flood.check_join(ms(0)), Verdict::Refuse);
        assert_eq!(flood.check_join(ms(1)), Verdict::Refuse);
        let later = ms(JOIN_EVERY.as_millis() as u64);
        assert_eq!(flood.check_join(later), Verdict::Allow);
    }

    fn small_wire() -> WireBudget {
        WireBudget {
            frames_per_second: 10,
            frame_burst: 10,
            bytes_per_second: 1000,
            byte_burst: 1000,
        }
    }

    #[test]
    fn the_wire_allows_its_burst_of_bytes_then_pauses_until_repaid() {
        let mut wire = Wire::new(small_wire(), ms(0));
        assert_eq!(wire.allowance(ms(0)), Allowance::Read(1000));
        wire.charge(ms(0), 600, 1);
        assert_eq!(wire.allowance(ms(0)), Allowance::Read(400));
        wire.charge(ms(0), 1400, 1);
        // 1000 bytes of debt at 1000 a second, and one byte more to read anything.
        assert_eq!(
            wire.allowance(ms(0)),
            Allowance::Pause(Duration::from_millis(1_001))
        );
        assert_eq!(wire.allowance(ms(1_001)), Allowance::Read(1));
    }

    #[test]
    fn every_frame_counts_however_small() {
        let mut wire = Wire::new(small_wire(), ms(0));
        // Fifteen empty frames in six bytes each: few bytes, many frames.
        wire.charge(ms(0), 90, 15);
        assert!(matches!(wire.allowance(ms(0)), Allowance::Pause(_)));
        assert!(matches!(wire.allowance(ms(700)), Allowance::Read(_)));
    }

    #[test]
    fn a_connection_that_keeps_running_out_is_closed() {
        let mut wire = Wire::new(small_wire(), ms(0));
        let mut now = ms(0);
        let mut pauses = 0;
        loop {
            match wire.allowance(now) {
                // Each read a little over what it may: a sender that never slows down.
                Allowance::Read(_) => wire.charge(now, 10, 12),
                Allowance::Pause(wait) => {
                    pauses += 1;
                    now = now + wait;
                }
                Allowance::Close => break,
            }
            assert!(pauses <= 2 * WIRE_STRIKES, "never closed");
        }
        assert!(pauses >= WIRE_STRIKES, "closed after {pauses} pauses");
    }

    #[test]
    fn a_connection_deep_in_debt_is_closed_at_once() {
        let mut wire = Wire::new(small_wire(), ms(0));
        // A read full of empty frames: 600 frames at 10 a second is a minute to repay.
        wire.charge(ms(0), 3600, 600);
        assert_eq!(wire.allowance(ms(0)), Allowance::Close);
    }

    #[test]
    fn one_pause_costs_one_strike_however_often_asked() {
        let mut wire = Wire::new(small_wire(), ms(0));
        // Three times as many pauses as strikes, spread out enough to be forgiven: never closed,
        // though the reader asks a hundred times during each.
        for round in 0..WIRE_STRIKES * 3 {
            let start = ms(round * 10_000);
            wire.charge(start, 1500, 1);
            for step in 0..100 {
                let asked = wire.allowance(start + Duration::from_millis(step));
                assert!(
                    matches!(asked, Allowance::Pause(_)),
                    "round {round}: {asked:?}"
                );
            }
            let after = wire.allowance(start + Duration::from_secs(2));
            assert!(
                matches!(after, Allowance::Read(_)),
                "round {round}: {after:?}"
            );
        }
    }
}
