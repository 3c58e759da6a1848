//! Keeping a member's place through a lost connection.
//!
//! A member whose connection is lost (not closed) stays in its room, unseen as gone, for
//! [`super::Limits::resume_grace`]. A new connection that brings the member's id and resume
//! token within that time speaks for the member from then on: it gets the room as it is now
//! and the chat messages it missed, and the others are told nothing, as nothing changed for
//! them. A resume also takes the place over from a connection the server still believes
//! alive (the client knows better: a half-open TCP connection can take minutes to notice).
//! Past the grace the member leaves as if it had closed its connection.

use crate::media::MediaCommand;
use crate::names::PeerId;
use crate::protocol::{ErrorCode, ServerMsg};
use crate::time::Tick;

use super::{error, Outgoing, Rebind, Rooms};

impl Rooms {
    pub(super) fn handle_resume(
        &mut self,
        from: PeerId,
        id: &str,
        token: &str,
        last_seq: u64,
    ) -> Vec<Outgoing> {
        let here = &self.peers[&from];
        if here.room.is_some() || here.waiting_for.is_some() {
            let message = "only a connection in no room can resume another";
            return error(from, ErrorCode::ResumeFailed, message);
        }
        let member = PeerId::parse(id)
            .filter(|member| *member != from)
            .filter(|member| {
                self.peers.get(member).is_some_and(|peer| {
                    peer.room.is_some()
                        && peer
                            .resume_token
                            .as_ref()
                            .is_some_and(|secret| secret.matches(token))
                })
            });
        let Some(member) = member else {
            let message = "no member to resume with that id and token: join again";
            return error(from, ErrorCode::ResumeFailed, message);
        };
        // The new connection was only ever in the lobby: it goes without a word.
        self.lobby.remove(&from);
        self.peers.remove(&from);
        let peer = self
            .peers
            .get_mut(&member)
            .expect("checked above: the member exists");
        if let Some(until) = peer.away_until.take() {
            self.away.remove(&(until, member));
        }
        let has_call = peer.call.is_some();
        let name = peer.name.clone();
        let room = peer
            .room
            .clone()
            .expect("checked above: the member is in a room");
        self.rebinds.push(Rebind {
            connection: from,
            member,
        });
        if has_call {
            // Its media connection was kept, but what the media server said of its slots
            // while it had no connection was lost.
            self.media_commands.push(MediaCommand::Resync { member });
        }
        let state = self.room_state(member, &room, last_seq);
        let mut out = vec![Outgoing::one(
            member,
            ServerMsg::Resumed {
                id: member,
                name,
                state,
            },
        )];
        if let Some(speaking) = self.rooms[&room].speaking_msg() {
            out.push(Outgoing::one(member, speaking));
        }
        out
    }

    /// The members away since before `now` minus the grace leave their rooms.
    pub(super) fn give_up_away(&mut self, now: Tick) -> Vec<Outgoing> {
        let mut out = Vec::new();
        while let Some(&(until, member)) = self.away.first() {
            if until > now {
                break;
            }
            self.away.pop_first();
            out.extend(self.forget(now, member));
        }
        out
    }
}
