//! What members and hosts do in a meeting besides talking: the hosts' requests (lock, list,
//! remove, co-hosts, mute, spotlight, end), checked against [`crate::hosting`], and raised
//! hands and reactions.

use crate::hosting::{Action, Role};
use crate::media::MediaCommand;
use crate::names::{PeerId, RoomName};
use crate::protocol::{ErrorCode, ErrorDetails, ServerMsg, REACTIONS, REACTION_EVERY};
use crate::time::Tick;

use super::{error, refuse, Outgoing, Rooms};

impl Rooms {
    /// The room `id` is in and its role there, if it may do `action`; otherwise the refusal.
    pub(super) fn hosting_room(
        &self,
        id: PeerId,
        action: Action,
    ) -> Result<RoomName, Vec<Outgoing>> {
        let Some(name) = self.room_of(id) else {
            return Err(error(id, ErrorCode::NotInRoom, "join a room first"));
        };
        let role = self.rooms[name].hosting.role(id);
        if role.may(action) {
            return Ok(name.clone());
        }
        let message = match action {
            Action::CoHost | Action::End if role == Role::CoHost => "only the host may do that",
            _ => "only a host may do that",
        };
        Err(error(id, ErrorCode::NotHost, message))
    }

    pub(super) fn handle_lock(&mut self, id: PeerId, locked: bool) -> Vec<Outgoing> {
        let name = match self.hosting_room(id, Action::Lock) {
            Ok(name) => name,
            Err(out) => return out,
        };
        let room = self.room_mut(&name);
        room.hosting.set_locked(locked);
        vec![Outgoing::many(
            room.members.clone(),
            ServerMsg::Locked { locked, by: id },
        )]
    }

    pub(super) fn handle_remove(&mut self, now: Tick, id: PeerId, target: &str) -> Vec<Outgoing> {
        let target = match self.lower_target(id, target, Action::Remove) {
            Ok(target) => target,
            Err(out) => return out,
        };
        let Some(name) = self.room_of(id).cloned() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        self.leave_room(target, &mut out);
        self.room_changed(now, &name, &mut out);
        let removed = ServerMsg::Removed { room: name, by: id };
        out.push(Outgoing::one(target, removed));
        self.back_to_lobby(target, &mut out);
        out
    }

    pub(super) fn handle_cohost(
        &mut self,
        id: PeerId,
        target: &str,
        cohost: bool,
    ) -> Vec<Outgoing> {
        let name = match self.hosting_room(id, Action::CoHost) {
            Ok(name) => name,
            Err(out) => return out,
        };
        let target = match self.signal_target(id, target) {
            Ok(target) => target,
            Err(out) => return out,
        };
        let room = self.room_mut(&name);
        room.hosting.set_cohost(target, cohost);
        let hosts = room.hosting.hosts();
        let mut out = vec![Outgoing::many(
            room.members.clone(),
            ServerMsg::Hosts { hosts },
        )];
        self.tell_new_hosts_who_waits(&name, &mut out);
        out
    }

    /// `target` of `id`'s room, if `id` may do `action` to it: another member, of a lower role
    /// unless `id` is the host.
    pub(super) fn lower_target(
        &self,
        id: PeerId,
        target: &str,
        action: Action,
    ) -> Result<PeerId, Vec<Outgoing>> {
        let name = self.hosting_room(id, action)?;
        let target = self.signal_target(id, target)?;
        let hosting = &self.rooms[&name].hosting;
        if hosting.role(target) >= hosting.role(id) {
            let message = match action {
                Action::Remove => "a co-host may not remove a host",
                _ => "a co-host may not mute a host",
            };
            return Err(error(id, ErrorCode::NotHost, message));
        }
        Ok(target)
    }

    pub(super) fn handle_mute(&mut self, id: PeerId, target: &str) -> Vec<Outgoing> {
        match self.lower_target(id, target, Action::Mute) {
            Ok(target) => self.mute(id, target),
            Err(out) => out,
        }
    }

    pub(super) fn handle_mute_all(&mut self, id: PeerId) -> Vec<Outgoing> {
        let name = match self.hosting_room(id, Action::Mute) {
            Ok(name) => name,
            Err(out) => return out,
        };
        let room = &self.rooms[&name];
        let members: Vec<PeerId> = room
            .members
            .iter()
            .copied()
            .filter(|member| room.hosting.role(*member) == Role::Member)
            .collect();
        members
            .into_iter()
            .flat_map(|member| self.mute(id, member))
            .collect()
    }

    /// `by` mutes `target`: it is told, its room sees its microphone off, and in SFU mode
    /// the media server stops forwarding it.
    pub(super) fn mute(&mut self, by: PeerId, target: PeerId) -> Vec<Outgoing> {
        let peer = self.peer_mut(target);
        let was_on = std::mem::replace(&mut peer.audio, false);
        let (video, screen) = (peer.video, peer.screen);
        let newly = !std::mem::replace(&mut peer.muted_by_host, true);
        if newly && peer.call.is_some() {
            self.media_commands.push(MediaCommand::Silence {
                member: target,
                silenced: true,
            });
        }
        let mut out = vec![Outgoing::one(target, ServerMsg::Muted { by })];
        if was_on {
            let media = ServerMsg::Media {
                id: target,
                audio: false,
                video,
                screen,
            };
            out.push(Outgoing::many(self.audience(target), media));
        }
        out
    }

    pub(super) fn handle_ask_unmute(&mut self, id: PeerId, target: &str) -> Vec<Outgoing> {
        match self.lower_target(id, target, Action::Mute) {
            Ok(target) => vec![Outgoing::one(target, ServerMsg::UnmuteAsked { by: id })],
            Err(out) => out,
        }
    }

    pub(super) fn handle_hand(&mut self, id: PeerId, raised: bool) -> Vec<Outgoing> {
        let Some(name) = self.room_of(id).cloned() else {
            return error(id, ErrorCode::NotInRoom, "join a room first");
        };
        self.set_hand(&name, id, raised)
    }

    pub(super) fn handle_lower_hand(&mut self, id: PeerId, target: &str) -> Vec<Outgoing> {
        let name = match self.hosting_room(id, Action::LowerHand) {
            Ok(name) => name,
            Err(out) => return out,
        };
        match self.member_of(id, &name, target) {
            Ok(target) => self.set_hand(&name, target, false),
            Err(out) => out,
        }
    }

    /// The member of `name`, the sender `id` included, that `raw` names; else the refusal.
    fn member_of(&self, id: PeerId, name: &RoomName, raw: &str) -> Result<PeerId, Vec<Outgoing>> {
        PeerId::parse(raw)
            .filter(|target| self.room_of(*target) == Some(name))
            .ok_or_else(|| {
                let message = format!("no member {raw:?} in this room");
                refuse(id, ErrorCode::UnknownPeer, message, ErrorDetails::peer(raw))
            })
    }

    /// Raises or lowers `id`'s hand in `name`; every member hears the hands as they are.
    pub(super) fn set_hand(&mut self, name: &RoomName, id: PeerId, raised: bool) -> Vec<Outgoing> {
        let room = self.room_mut(name);
        let up = room.hands.contains(&id);
        if raised && !up {
            room.hands.push(id);
        } else if !raised && up {
            room.hands.retain(|hand| *hand != id);
        }
        let hands = room.hands.clone();
        vec![Outgoing::many(
            room.members.clone(),
            ServerMsg::Hands { hands },
        )]
    }

    pub(super) fn handle_react(&mut self, now: Tick, id: PeerId, emoji: String) -> Vec<Outgoing> {
        let Some(name) = self.room_of(id).cloned() else {
            return error(id, ErrorCode::NotInRoom, "join a room first");
        };
        if !REACTIONS.contains(&emoji.as_str()) {
            let message = format!("a reaction is one of {}", REACTIONS.join(" "));
            return error(id, ErrorCode::InvalidReaction, message);
        }
        let peer = self.peer_mut(id);
        if peer
            .reacted_at
            .is_some_and(|at| now.since(at) < REACTION_EVERY)
        {
            let every = REACTION_EVERY.as_millis();
            let message = format!("one reaction every {every} ms: this one was dropped");
            return error(id, ErrorCode::TooManyReactions, message);
        }
        peer.reacted_at = Some(now);
        let members = self.room_mut(&name).members.clone();
        vec![Outgoing::many(
            members,
            ServerMsg::Reaction { from: id, emoji },
        )]
    }

    pub(super) fn handle_end(&mut self, now: Tick, id: PeerId) -> Vec<Outgoing> {
        let name = match self.hosting_room(id, Action::End) {
            Ok(name) => name,
            Err(out) => return out,
        };
        let members = self.room_mut(&name).members.clone();
        for member in &members {
            // What the members would be told of each other leaving is for nobody: they all go.
            self.leave_room(*member, &mut Vec::new());
        }
        let mut out = Vec::new();
        self.room_changed(now, &name, &mut out);
        for member in members {
            let ended = ServerMsg::Ended {
                room: name.clone(),
                by: id,
            };
            out.push(Outgoing::one(member, ended));
            self.back_to_lobby(member, &mut out);
        }
        out
    }

    pub(super) fn handle_spotlight(&mut self, id: PeerId, target: Option<&str>) -> Vec<Outgoing> {
        let name = match self.hosting_room(id, Action::Spotlight) {
            Ok(name) => name,
            Err(out) => return out,
        };
        let target = match target.map(|raw| self.member_of(id, &name, raw)).transpose() {
            Ok(target) => target,
            Err(out) => return out,
        };
        let room = self.room_mut(&name);
        room.spotlight = target;
        let msg = ServerMsg::SpotlightSet {
            id: target,
            by: Some(id),
        };
        vec![Outgoing::many(room.members.clone(), msg)]
    }

    pub(super) fn handle_list(&mut self, now: Tick, id: PeerId, listed: bool) -> Vec<Outgoing> {
        let name = match self.hosting_room(id, Action::Lock) {
            Ok(name) => name,
            Err(out) => return out,
        };
        let mut out = Vec::new();
        let changed = if listed {
            self.unlisted.remove(&name)
        } else {
            self.unlisted.insert(name.clone())
        };
        if changed {
            // Listed, the lobby hears of the room; unlisted, it hears the room is gone.
            self.announce(now, &name, &mut out);
        }
        let members = self.room_mut(&name).members.clone();
        out.push(Outgoing::many(
            members,
            ServerMsg::Listed { listed, by: id },
        ));
        out
    }
}
