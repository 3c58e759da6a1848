//! Flood control: how fast one connection may send frames and join rooms.
//!
//! Plain Rust with the time as an input, like the room core. A connection that sends faster
//! than its [`RateLimit`] is told once (`rate_limited`) and its extra frames are dropped; one
//! that goes on is closed.

/// How fast a connection may send, as a token bucket: `burst` frames at once, `per_second`
/// frames every second after that.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Frames per second, sustained.
    pub per_second: u32,
    /// Frames that may come at once.
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

/// Joins allowed at once, then one every [`JOIN_EVERY_MS`].
const JOIN_BURST: u32 = 10;
/// How often a connection may join once its join burst is spent.
const JOIN_EVERY_MS: u64 = 3_000;
/// Dropped frames a connection may send before it is closed...
const STRIKES: u32 = 50;
/// ...where one strike is forgiven every this often.
const STRIKE_FORGIVEN_EVERY_MS: u64 = 200;

/// A token bucket: holds up to `capacity` tokens and gains one every `every_ms`.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    capacity: u32,
    every_ms: u64,
    tokens: u32,
    /// When the last token was added (or the bucket was full).
    since: u64,
}

impl TokenBucket {
    /// A full bucket at time `now`.
    pub fn new(capacity: u32, every_ms: u64, now: u64) -> Self {
        TokenBucket {
            capacity,
            every_ms: every_ms.max(1),
            tokens: capacity,
            since: now,
        }
    }

    /// Takes a token if there is one at time `now`.
    pub fn take(&mut self, now: u64) -> bool {
        self.refill(now);
        if self.tokens == 0 {
            return false;
        }
        self.tokens -= 1;
        true
    }

    fn refill(&mut self, now: u64) {
        // A clock that went back adds nothing.
        let earned = now.saturating_sub(self.since) / self.every_ms;
        if earned == 0 {
            return;
        }
        let earned = u32::try_from(earned).unwrap_or(u32::MAX);
        self.tokens = self.tokens.saturating_add(earned).min(self.capacity);
        self.since = if self.tokens == self.capacity {
            now
        } else {
            self.since + u64::from(earned) * self.every_ms
        };
    }
}

/// What to do with a frame.
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

/// The flood state of one connection.
#[derive(Debug, Clone)]
pub struct Flood {
    frames: TokenBucket,
    joins: TokenBucket,
    strikes: TokenBucket,
    /// Whether the sender has been told since its last allowed frame.
    told: bool,
}

impl Flood {
    /// A connection that opened at `now`.
    pub fn new(limit: RateLimit, now: u64) -> Self {
        Flood {
            frames: TokenBucket::new(
                limit.burst.max(1),
                1000 / u64::from(limit.per_second.max(1)),
                now,
            ),
            joins: TokenBucket::new(JOIN_BURST, JOIN_EVERY_MS, now),
            strikes: TokenBucket::new(STRIKES, STRIKE_FORGIVEN_EVERY_MS, now),
            told: false,
        }
    }

    /// Rules on a frame arriving at `now`.
    pub fn check_frame(&mut self, now: u64) -> Verdict {
        if self.frames.take(now) {
            self.told = false;
            return Verdict::Allow;
        }
        self.refused(now)
    }

    /// Rules on a join request arriving at `now` (after [`Flood::check_frame`] allowed it).
    pub fn check_join(&mut self, now: u64) -> Verdict {
        if self.joins.take(now) {
            return Verdict::Allow;
        }
        // Every refused join is answered: a person clicking "join" wants to know why.
        match self.refused(now) {
            Verdict::Close => Verdict::Close,
            _ => Verdict::Refuse,
        }
    }

    fn refused(&mut self, now: u64) -> Verdict {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_gives_its_burst_then_one_token_per_period() {
        let mut bucket = TokenBucket::new(3, 100, 0);
        assert!((0..3).all(|_| bucket.take(0)));
        assert!(!bucket.take(50));
        assert!(bucket.take(100));
        assert!(!bucket.take(150));
        assert!(bucket.take(250));
        // A long pause refills it to the top, no further.
        assert!((0..3).all(|_| bucket.take(10_000)));
        assert!(!bucket.take(10_000));
    }

    #[test]
    fn a_clock_going_back_neither_panics_nor_adds_tokens() {
        let mut bucket = TokenBucket::new(1, 100, 1_000);
        assert!(bucket.take(1_000));
        assert!(!bucket.take(0));
        assert!(!bucket.take(1_050));
        assert!(bucket.take(1_100));
    }

    #[test]
    fn a_flood_is_told_once_then_dropped_then_closed() {
        let limit = RateLimit {
            per_second: 10,
            burst: 5,
        };
        let mut flood = Flood::new(limit, 0);
        let verdicts: Vec<Verdict> = (0..100).map(|_| flood.check_frame(0)).collect();
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
        let mut flood = Flood::new(limit, 0);
        assert_eq!(flood.check_frame(0), Verdict::Allow);
        assert_eq!(flood.check_frame(10), Verdict::Refuse);
        assert_eq!(flood.check_frame(20), Verdict::Drop);
        assert_eq!(flood.check_frame(100), Verdict::Allow);
        assert_eq!(flood.check_frame(110), Verdict::Refuse);
        // Sending at the sustained rate is never refused.
        assert!((2..200).all(|tick| flood.check_frame(tick * 100) == Verdict::Allow));
    }

    #[test]
    fn joins_have_their_own_slower_budget() {
        let mut flood = Flood::new(RateLimit::default(), 0);
        assert!((0..JOIN_BURST).all(|_| flood.check_join(0) == Verdict::Allow));
        assert_eq!(flood.check_join(0), Verdict::Refuse);
        assert_eq!(flood.check_join(1), Verdict::Refuse);
        assert_eq!(flood.check_join(JOIN_EVERY_MS), Verdict::Allow);
    }
}
