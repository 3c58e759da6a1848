//! The simulcast layers a camera is sent in, and which one fits a tile.
//!
//! A browser sends its camera three times: at a quarter, half and full size (`rid` `q`, `h`
//! and `f`), so the server can forward each receiver the one its tile needs. A screen share is
//! sent once, at full size.

use std::fmt;

/// One simulcast layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Layer {
    /// A quarter of the size (`q`).
    Low,
    /// Half the size (`h`).
    Mid,
    /// Full size (`f`); also a source sent without simulcast.
    High,
}

impl Layer {
    /// Every layer, smallest first.
    pub const ALL: [Layer; 3] = [Layer::Low, Layer::Mid, Layer::High];

    /// The `rid` a browser sends it under.
    pub fn rid(self) -> &'static str {
        match self {
            Layer::Low => "q",
            Layer::Mid => "h",
            Layer::High => "f",
        }
    }

    /// The layer of a `rid`; `None` for one Room does not ask for.
    pub fn from_rid(rid: &str) -> Option<Layer> {
        match rid {
            "q" => Some(Layer::Low),
            "h" => Some(Layer::Mid),
            "f" => Some(Layer::High),
            _ => None,
        }
    }

    /// Its index, 0 for the smallest.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The next smaller layer, if there is one.
    pub fn below(self) -> Option<Layer> {
        match self {
            Layer::Low => None,
            Layer::Mid => Some(Layer::Low),
            Layer::High => Some(Layer::Mid),
        }
    }

    /// The next larger layer, if there is one.
    pub fn above(self) -> Option<Layer> {
        match self {
            Layer::Low => Some(Layer::Mid),
            Layer::Mid => Some(Layer::High),
            Layer::High => None,
        }
    }

    /// What the layer usually costs, in bits per second, before its real rate is measured:
    /// the targets browsers use for a 1280x720 camera sent in three layers.
    pub fn nominal_bitrate(self) -> u64 {
        match self {
            Layer::Low => 150_000,
            Layer::Mid => 500_000,
            Layer::High => 1_500_000,
        }
    }

    /// Its height in pixels when a 1280x720 camera is sent, before a keyframe says.
    pub fn nominal_height(self) -> u32 {
        match self {
            Layer::Low => 180,
            Layer::Mid => 360,
            Layer::High => 720,
        }
    }
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.rid())
    }
}

/// A tile may be drawn this much larger than its picture before the next layer is worth it:
/// a tile of 400 px shows a 360 px picture well enough.
const SCALE_UP_TOLERANCE: f64 = 1.15;

/// The smallest layer that fills a tile `height` pixels tall, given each layer's height (0
/// where it is not known yet: then its usual height counts).
pub fn layer_for_height(height: u32, heights: [u32; 3]) -> Layer {
    for layer in Layer::ALL {
        let known = heights[layer.index()];
        let picture = if known > 0 {
            known
        } else {
            layer.nominal_height()
        };
        if f64::from(picture) * SCALE_UP_TOLERANCE >= f64::from(height) {
            return layer;
        }
    }
    Layer::High
}

/// The size of a VP8 keyframe's picture, from the start of its payload (after the RTP
/// payload descriptor): the frame tag, the start code and the two dimensions (RFC 6386
/// section 9.1). `None` for anything else.
pub fn vp8_keyframe_size(frame: &[u8]) -> Option<(u32, u32)> {
    let bytes = frame.get(..10)?;
    let keyframe = bytes[0] & 0x01 == 0;
    if !keyframe || bytes[3..6] != [0x9d, 0x01, 0x2a] {
        return None;
    }
    let width = u32::from(u16::from_le_bytes([bytes[6], bytes[7]]) & 0x3fff);
    let height = u32::from(u16::from_le_bytes([bytes[8], bytes[9]]) & 0x3fff);
    Some((width, height))
}

/// Where a VP8 frame starts in an RTP payload: the length of its payload descriptor (RFC 7741
/// section 4.2), or `None` when the payload ends within or right after it.
pub fn vp8_descriptor_len(payload: &[u8]) -> Option<usize> {
    let first = *payload.first()?;
    let mut len = 1;
    if first & 0x80 != 0 {
        let extension = *payload.get(1)?;
        len = 2;
        if extension & 0x80 != 0 {
            let picture_id = *payload.get(len)?;
            len += if picture_id & 0x80 != 0 { 2 } else { 1 };
        }
        if extension & 0x40 != 0 {
            len += 1;
        }
        if extension & 0x30 != 0 {
            len += 1;
        }
    }
    (len < payload.len()).then_some(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rids_name_the_layers_both_ways() {
        for layer in Layer::ALL {
            assert_eq!(Layer::from_rid(layer.rid()), Some(layer));
        }
        assert_eq!(Layer::from_rid("x"), None);
        assert_eq!(Layer::Low.above(), Some(Layer::Mid));
        assert_eq!(Layer::Low.below(), None);
        assert_eq!(Layer::High.above(), None);
    }

    #[test]
    fn a_tile_gets_the_smallest_layer_that_fills_it() {
        let unknown = [0; 3];
        assert_eq!(layer_for_height(120, unknown), Layer::Low);
        assert_eq!(layer_for_height(200, unknown), Layer::Low);
        assert_eq!(layer_for_height(240, unknown), Layer::Mid);
        assert_eq!(layer_for_height(400, unknown), Layer::Mid);
        assert_eq!(layer_for_height(500, unknown), Layer::High);
        assert_eq!(layer_for_height(2000, unknown), Layer::High);
        // A camera sent at 640x480 has smaller layers than the usual ones.
        let small = [120, 240, 480];
        assert_eq!(layer_for_height(180, small), Layer::Mid);
        assert_eq!(layer_for_height(300, small), Layer::High);
    }

    #[test]
    fn keyframe_sizes_come_from_the_frame_header() {
        // A keyframe tag (P=0), the start code, 1280 and 720 with the scaling bits set.
        let mut key = vec![0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a];
        key.extend_from_slice(&(1280u16 | 0x4000).to_le_bytes());
        key.extend_from_slice(&(720u16 | 0x8000).to_le_bytes());
        assert_eq!(vp8_keyframe_size(&key), Some((1280, 720)));
        let mut inter = key.clone();
        inter[0] |= 0x01;
        assert_eq!(vp8_keyframe_size(&inter), None);
        assert_eq!(vp8_keyframe_size(&key[..8]), None);
    }

    #[test]
    fn descriptors_are_skipped_whatever_fields_they_carry() {
        // No extension: one byte.
        assert_eq!(vp8_descriptor_len(&[0x10, 0xaa]), Some(1));
        // Chrome's: X, a 15-bit picture id, TL0PICIDX and TID/KEYIDX.
        assert_eq!(
            vp8_descriptor_len(&[0x90, 0xe0, 0x81, 0x23, 0x05, 0x40, 0xaa]),
            Some(6)
        );
        // A 7-bit picture id only.
        assert_eq!(vp8_descriptor_len(&[0x90, 0x80, 0x05, 0xaa]), Some(3));
        // Cut short, or nothing after it.
        assert_eq!(vp8_descriptor_len(&[0x90, 0xe0, 0x81]), None);
        assert_eq!(vp8_descriptor_len(&[0x10]), None);
        assert_eq!(vp8_descriptor_len(&[]), None);
    }
}
