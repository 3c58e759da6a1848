//! Who is speaking, from the audio levels in the packets (RFC 6464).
//!
//! Every Opus packet a browser sends carries the level of its sound in −dBov (0 is the
//! loudest, 127 silence). Levels are gathered over windows of [`WINDOW`]: a member speaks in a
//! window when enough of its packets are louder than [`VOICE_LEVEL`], and its score is how loud
//! and how much. Scores are smoothed from window to window, so a cough is not a speech. The
//! dominant speaker changes only when another member outscores it for [`TAKE_OVER_WINDOWS`]
//! windows in a row, or it falls silent. The room hears the result when it changes, at most
//! once per window.

use std::collections::BTreeMap;
use std::time::Duration;

use room_core::time::Tick;

/// How long levels are gathered before each decision.
pub const WINDOW: Duration = Duration::from_millis(400);
/// A packet at this level or louder (in −dBov) is a voice.
pub const VOICE_LEVEL: u8 = 45;
/// The share of a window's packets that must be voice for the member to be speaking in it.
const VOICE_SHARE: f64 = 0.3;
/// How much each window's score counts against what came before.
const SMOOTHING: f64 = 0.5;
/// Below this smoothed score a member is not speaking.
const SPEAKING_SCORE: f64 = 0.05;
/// Windows in a row another member must outscore the dominant speaker to take over.
const TAKE_OVER_WINDOWS: u32 = 2;

/// One member's levels and score.
#[derive(Debug, Clone, Default)]
struct Voice {
    packets: u32,
    voiced: u32,
    /// The loudest level of the window (lowest −dBov), 127 when none.
    loudest: u8,
    score: f64,
    /// When its last window with voice ended.
    last_spoke: Option<Tick>,
}

/// Who speaks, as the room is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Speaking<K> {
    /// The members speaking now, the most of them first.
    pub speaking: Vec<K>,
    /// The one speaking most, held until someone else clearly does.
    pub dominant: Option<K>,
}

/// The speakers of one room; `K` names a member.
#[derive(Debug, Clone)]
pub struct Speakers<K> {
    voices: BTreeMap<K, Voice>,
    window_start: Tick,
    dominant: Option<K>,
    challenger: Option<(K, u32)>,
    told: Option<Speaking<K>>,
}

impl<K: Ord + Copy> Speakers<K> {
    /// A room with nobody in it, whose first window starts at `now`.
    pub fn new(now: Tick) -> Self {
        Speakers {
            voices: BTreeMap::new(),
            window_start: now,
            dominant: None,
            challenger: None,
            // The room starts out knowing that nobody speaks.
            told: Some(Speaking {
                speaking: Vec::new(),
                dominant: None,
            }),
        }
    }

    /// A packet from `member` of level `level` (−dBov).
    pub fn observe(&mut self, member: K, level: u8) {
        let voice = self.voices.entry(member).or_insert_with(|| Voice {
            loudest: 127,
            ..Voice::default()
        });
        voice.packets += 1;
        if level <= VOICE_LEVEL {
            voice.voiced += 1;
        }
        voice.loudest = voice.loudest.min(level);
    }

    /// `member` left the room.
    pub fn forget(&mut self, member: &K) {
        self.voices.remove(member);
        if self.dominant.as_ref() == Some(member) {
            self.dominant = None;
        }
        if self.challenger.as_ref().is_some_and(|(k, _)| k == member) {
            self.challenger = None;
        }
    }

    /// When `member` last spoke, if ever.
    pub fn last_spoke(&self, member: &K) -> Option<Tick> {
        self.voices.get(member)?.last_spoke
    }

    /// The dominant speaker now.
    pub fn dominant(&self) -> Option<K> {
        self.dominant
    }

    /// When the current window ends.
    pub fn next_deadline(&self) -> Tick {
        self.window_start + WINDOW
    }

    /// Ends the window if it is over at `now`; what the room should hear, if it changed.
    pub fn poll(&mut self, now: Tick) -> Option<Speaking<K>> {
        if now.since(self.window_start) < WINDOW {
            return None;
        }
        self.window_start = now;
        for voice in self.voices.values_mut() {
            let window_score = if voice.packets > 0
                && f64::from(voice.voiced) / f64::from(voice.packets) >= VOICE_SHARE
            {
                let loudness = f64::from(127 - voice.loudest.min(127)) / 127.0;
                loudness * f64::from(voice.voiced) / f64::from(voice.packets)
            } else {
                0.0
            };
            voice.score = SMOOTHING * voice.score + (1.0 - SMOOTHING) * window_score;
            if window_score > 0.0 {
                voice.last_spoke = Some(now);
            }
            voice.packets = 0;
            voice.voiced = 0;
            voice.loudest = 127;
        }
        let mut speaking: Vec<(K, f64)> = self
            .voices
            .iter()
            .filter(|(_, voice)| voice.score >= SPEAKING_SCORE)
            .map(|(member, voice)| (*member, voice.score))
            .collect();
        speaking.sort_by(|a, b| b.1.total_cmp(&a.1));
        self.choose_dominant(&speaking);
        let told = Speaking {
            speaking: speaking.into_iter().map(|(member, _)| member).collect(),
            dominant: self.dominant,
        };
        if self.told.as_ref() == Some(&told) {
            return None;
        }
        self.told = Some(told.clone());
        Some(told)
    }

    fn choose_dominant(&mut self, speaking: &[(K, f64)]) {
        let Some(&(loudest, _)) = speaking.first() else {
            // Silence keeps the last dominant speaker on the stage.
            self.challenger = None;
            return;
        };
        let current_speaks = self
            .dominant
            .is_some_and(|dominant| speaking.iter().any(|(member, _)| *member == dominant));
        if !current_speaks || self.dominant == Some(loudest) {
            if !current_speaks {
                self.dominant = Some(loudest);
            }
            self.challenger = None;
            return;
        }
        let windows = match self.challenger {
            Some((member, windows)) if member == loudest => windows + 1,
            _ => 1,
        };
        if windows >= TAKE_OVER_WINDOWS {
            self.dominant = Some(loudest);
            self.challenger = None;
        } else {
            self.challenger = Some((loudest, windows));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds a window of 20 packets for each (member, level), then ends it.
    fn window(
        speakers: &mut Speakers<u32>,
        at: &mut Tick,
        levels: &[(u32, u8)],
    ) -> Option<Speaking<u32>> {
        for _ in 0..20 {
            for &(member, level) in levels {
                speakers.observe(member, level);
            }
        }
        *at = *at + WINDOW;
        speakers.poll(*at)
    }

    #[test]
    fn silence_speaks_for_no_one_and_the_room_is_told_only_when_that_ends() {
        let mut at = Tick::ZERO;
        let mut speakers = Speakers::new(at);
        // A new room knows nobody speaks: silence tells it nothing.
        assert_eq!(window(&mut speakers, &mut at, &[(1, 127), (2, 100)]), None);
        assert_eq!(window(&mut speakers, &mut at, &[(1, 127), (2, 100)]), None);
        let told = window(&mut speakers, &mut at, &[(1, 20), (2, 100)]).unwrap();
        assert_eq!(told.speaking, [1]);
        let quiet = (0..10).find_map(|_| window(&mut speakers, &mut at, &[(1, 127), (2, 127)]));
        assert_eq!(
            quiet,
            Some(Speaking {
                speaking: vec![],
                dominant: Some(1)
            }),
            "the last speaker stays dominant after they stop"
        );
    }

    #[test]
    fn a_voice_becomes_dominant_and_a_cough_does_not_take_over() {
        let mut at = Tick::ZERO;
        let mut speakers = Speakers::new(at);
        let told = window(&mut speakers, &mut at, &[(1, 20), (2, 127)]).unwrap();
        assert_eq!(told.dominant, Some(1));
        assert_eq!(told.speaking, [1]);
        assert_eq!(speakers.last_spoke(&1), Some(at));
        // Member 2 coughs, louder than 1 for a window: both speak, 1 stays dominant.
        let told = window(&mut speakers, &mut at, &[(1, 40), (2, 5)]).unwrap();
        assert_eq!(told.dominant, Some(1));
        assert_eq!(told.speaking.len(), 2);
        window(&mut speakers, &mut at, &[(1, 40), (2, 127)]);
        assert_eq!(speakers.dominant(), Some(1));
        // Member 2 goes on louder: once its score is higher for two windows, it takes over.
        let mut windows = 0;
        while speakers.dominant() == Some(1) {
            window(&mut speakers, &mut at, &[(1, 40), (2, 5)]);
            windows += 1;
            assert!(windows < 10, "2 never took over");
        }
        assert_eq!(speakers.dominant(), Some(2));
        assert!(windows >= TAKE_OVER_WINDOWS);
    }

    #[test]
    fn the_dominant_speaker_stays_through_silence_and_a_new_voice_takes_over_from_none() {
        let mut at = Tick::ZERO;
        let mut speakers = Speakers::new(at);
        window(&mut speakers, &mut at, &[(1, 10)]);
        for _ in 0..5 {
            window(&mut speakers, &mut at, &[(1, 127)]);
        }
        assert_eq!(speakers.dominant(), Some(1));
        let told = window(&mut speakers, &mut at, &[(1, 127), (3, 10)]).unwrap();
        assert_eq!(
            told.dominant,
            Some(3),
            "1 no longer speaks: 3 takes the stage at once"
        );
        speakers.forget(&3);
        assert_eq!(speakers.dominant(), None);
    }

    #[test]
    fn windows_end_only_when_their_time_is_up() {
        let mut speakers: Speakers<u32> = Speakers::new(Tick::ZERO);
        speakers.observe(1, 10);
        assert_eq!(speakers.poll(Tick::from_millis(399)), None);
        assert_eq!(speakers.next_deadline(), Tick::from_millis(400));
        assert!(speakers.poll(Tick::from_millis(400)).is_some());
    }
}
