//! The edge's clocks, read for the core: a monotonic [`Tick`] since the server started, and the
//! wall clock for what people read.

use std::sync::OnceLock;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use room_core::time::{Now, Tick, UnixMillis};

/// The origin of every [`Tick`]: the first time any part of the server asked for one.
fn origin() -> Instant {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    *ORIGIN.get_or_init(Instant::now)
}

/// The monotonic clock now.
pub(crate) fn tick() -> Tick {
    Tick::after(origin().elapsed())
}

/// The wall clock now; before 1970 reads as 1970.
pub(crate) fn wall() -> UnixMillis {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis());
    UnixMillis(u64::try_from(millis).unwrap_or(u64::MAX))
}

/// Both clocks now.
pub(crate) fn now() -> Now {
    Now::new(tick(), wall())
}

/// The [`Instant`] of a tick, for the edge's timers.
pub(crate) fn instant(tick: Tick) -> Instant {
    origin() + tick.elapsed()
}
