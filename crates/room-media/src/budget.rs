//! How a receiver's bandwidth is shared among its video slots.
//!
//! Each slot wants the layer its tile needs; the receiver's bandwidth estimate says how much
//! it can take. Every slot first gets its smallest layer, in order of priority (a screen share
//! before the dominant speaker before everyone else, then the larger tile first); what is left
//! then raises the slots in the same order, each as far as it wants before the next. A slot
//! that cannot even have its smallest layer gets nothing. So when bandwidth is short, screens
//! keep their picture and small tiles give way first.

use crate::layers::Layer;

/// What one video slot asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Want {
    /// Higher goes first: a screen share, then the dominant speaker, then the rest.
    pub priority: u8,
    /// The tile's area in pixels, which orders slots of the same priority.
    pub area: u64,
    /// The layer the tile needs.
    pub wanted: Layer,
    /// What each layer of the source costs now, in bits per second.
    pub rates: [u64; 3],
    /// Which layers of the source are arriving.
    pub arriving: [bool; 3],
}

impl Want {
    /// The largest layer worth giving: the one wanted, or the largest arriving below it.
    fn ceiling(&self) -> Option<Layer> {
        let wanted = Layer::ALL
            .into_iter()
            .rev()
            .find(|layer| *layer <= self.wanted && self.arriving[layer.index()]);
        // A source sending only layers above what the tile needs still gets its smallest.
        wanted.or_else(|| self.floor())
    }

    /// The smallest layer arriving.
    fn floor(&self) -> Option<Layer> {
        Layer::ALL
            .into_iter()
            .find(|layer| self.arriving[layer.index()])
    }

    /// The next arriving layer above `layer` up to the ceiling.
    fn step_up(&self, layer: Layer) -> Option<Layer> {
        let ceiling = self.ceiling()?;
        Layer::ALL
            .into_iter()
            .find(|next| *next > layer && *next <= ceiling && self.arriving[next.index()])
    }
}

/// The layer each slot gets (in the order of `wants`) within `estimate` bits per second;
/// `None` where there is not enough for even the smallest.
pub fn allocate(estimate: u64, wants: &[Want]) -> Vec<Option<Layer>> {
    let mut order: Vec<usize> = (0..wants.len()).collect();
    order.sort_by(|a, b| {
        let (a, b) = (&wants[*a], &wants[*b]);
        b.priority.cmp(&a.priority).then(b.area.cmp(&a.area))
    });
    let mut given: Vec<Option<Layer>> = vec![None; wants.len()];
    let mut left = estimate;
    for &index in &order {
        let want = &wants[index];
        if let Some(floor) = want.floor() {
            let cost = want.rates[floor.index()];
            if cost <= left {
                left -= cost;
                given[index] = Some(floor);
            }
        }
    }
    for &index in &order {
        let want = &wants[index];
        while let Some(current) = given[index] {
            let Some(next) = want.step_up(current) else {
                break;
            };
            // The step costs the difference: the smaller layer is no longer sent.
            let extra = want.rates[next.index()].saturating_sub(want.rates[current.index()]);
            if extra > left {
                break;
            }
            left -= extra;
            given[index] = Some(next);
        }
    }
    given
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATES: [u64; 3] = [150_000, 500_000, 1_500_000];
    const ALL: [bool; 3] = [true, true, true];

    fn want(priority: u8, area: u64, wanted: Layer) -> Want {
        Want {
            priority,
            area,
            wanted,
            rates: RATES,
            arriving: ALL,
        }
    }

    #[test]
    fn with_room_enough_every_slot_gets_what_it_wants() {
        let wants = [want(0, 100, Layer::High), want(0, 50, Layer::Low)];
        assert_eq!(
            allocate(10_000_000, &wants),
            [Some(Layer::High), Some(Layer::Low)]
        );
    }

    #[test]
    fn short_of_bandwidth_the_screen_and_the_large_tile_keep_their_picture() {
        let wants = [
            want(0, 10, Layer::High),
            want(2, 5, Layer::High),
            want(0, 100, Layer::High),
        ];
        // 2 Mbit/s: three smallest layers (450k), then the screen to f (+1.35M), then the
        // large tile to h (+350k): 2.15M is over, so it stays at q.
        assert_eq!(
            allocate(2_000_000, &wants),
            [Some(Layer::Low), Some(Layer::High), Some(Layer::Low)]
        );
        // 3.2 Mbit/s: the large tile goes all the way to f before the small one moves.
        assert_eq!(
            allocate(3_200_000, &wants),
            [Some(Layer::Low), Some(Layer::High), Some(Layer::High)]
        );
        // 2.5 Mbit/s: the large tile reaches h, f does not fit, and what is left lifts the
        // small one to h.
        assert_eq!(
            allocate(2_500_000, &wants),
            [Some(Layer::Mid), Some(Layer::High), Some(Layer::Mid)]
        );
        // Not even the smallest for everyone: the lowest priority goes without.
        assert_eq!(
            allocate(300_000, &wants),
            [None, Some(Layer::Low), Some(Layer::Low)]
        );
    }

    #[test]
    fn a_layer_that_does_not_arrive_is_never_given() {
        let mut no_full = want(0, 100, Layer::High);
        no_full.arriving = [true, true, false];
        assert_eq!(allocate(10_000_000, &[no_full]), [Some(Layer::Mid)]);
        let mut only_full = want(0, 100, Layer::Low);
        only_full.arriving = [false, false, true];
        assert_eq!(allocate(10_000_000, &[only_full]), [Some(Layer::High)]);
        let mut nothing = want(0, 100, Layer::Low);
        nothing.arriving = [false; 3];
        assert_eq!(allocate(10_000_000, &[nothing]), [None]);
    }
}
