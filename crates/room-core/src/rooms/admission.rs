//! Who may come in: a meeting's password and its waiting room, as its hosts set them.
//!
//! A `join` of a room with a password must bring it (a returning host's token will do
//! instead); a `join` of a room whose waiting room is on does not enter it but waits, in no
//! room, until a host admits it (and it enters as any `join` would) or denies it. The hosts
//! hear who waits whenever that changes.

use crate::hosting::Action;
use crate::names::{PeerId, RoomName};
use crate::protocol::{ErrorCode, PeerInfo, ServerMsg, PASSWORD_MAX_CHARS};
use crate::time::Tick;

use super::{error, peer_info, Outgoing, Room, Rooms};

impl Rooms {
    pub(super) fn handle_password(
        &mut self,
        id: PeerId,
        password: Option<String>,
    ) -> Vec<Outgoing> {
        let name = match self.hosting_room(id, Action::Admit) {
            Ok(name) => name,
            Err(out) => return out,
        };
        let password = password.filter(|password| !password.is_empty());
        if let Some(password) = &password {
            if password.chars().count() > PASSWORD_MAX_CHARS
                || password.chars().any(char::is_control)
            {
                let message =
                    format!("a password has at most {PASSWORD_MAX_CHARS} characters, none of them control characters");
                return error(id, ErrorCode::InvalidPassword, message);
            }
        }
        let room = self.room_mut(&name);
        room.password = password;
        let protected = room.password.is_some();
        vec![Outgoing::many(
            room.members.clone(),
            ServerMsg::Protected { protected, by: id },
        )]
    }

    pub(super) fn handle_waiting_room(&mut self, now: Tick, id: PeerId, on: bool) -> Vec<Outgoing> {
        let name = match self.hosting_room(id, Action::Admit) {
            Ok(name) => name,
            Err(out) => return out,
        };
        let room = self.room_mut(&name);
        room.waiting_room = on;
        let mut out = vec![Outgoing::many(
            room.members.clone(),
            ServerMsg::WaitingRoomSet { on, by: id },
        )];
        if !on {
            // Without a waiting room, those who wait come in, as they would have.
            let waiting = room.waiting.clone();
            for member in waiting {
                out.extend(self.admit(now, &name, member));
            }
        }
        out
    }

    pub(super) fn handle_admit(&mut self, now: Tick, id: PeerId, target: &str) -> Vec<Outgoing> {
        match self.waiting_target(id, target) {
            Ok((name, target)) => self.admit(now, &name, target),
            Err(out) => out,
        }
    }

    pub(super) fn handle_deny(&mut self, id: PeerId, target: &str) -> Vec<Outgoing> {
        let (name, target) = match self.waiting_target(id, target) {
            Ok(found) => found,
            Err(out) => return out,
        };
        let mut out = Vec::new();
        self.stop_waiting(target, &mut out);
        out.push(Outgoing::one(
            target,
            ServerMsg::Denied {
                room: name,
                by: Some(id),
            },
        ));
        out
    }

    /// `id` asked to join `name`, whose waiting room is on: it leaves the room it is in, if
    /// any, and waits.
    pub(super) fn knock(&mut self, now: Tick, id: PeerId, name: RoomName) -> Vec<Outgoing> {
        let mut out = Vec::new();
        self.stop_waiting(id, &mut out);
        if let Some(old) = self.leave_room(id, &mut out) {
            self.room_changed(now, &old, &mut out);
            out.push(Outgoing::one(id, ServerMsg::Left { room: old }));
            self.enter_lobby(id);
        }
        self.peer_mut(id).waiting_for = Some(name.clone());
        self.room_mut(&name).waiting.push(id);
        out.push(Outgoing::one(id, ServerMsg::Waiting { room: name.clone() }));
        self.tell_hosts_who_waits(&name, &mut out);
        out
    }

    /// `id` no longer waits (it went elsewhere, left, was let in or turned away, or is gone);
    /// the hosts hear of it. Returns the room it waited for.
    pub(super) fn stop_waiting(&mut self, id: PeerId, out: &mut Vec<Outgoing>) -> Option<RoomName> {
        let name = self.peers.get_mut(&id)?.waiting_for.take()?;
        if let Some(room) = self.rooms.get_mut(&name) {
            room.waiting.retain(|waiting| *waiting != id);
            self.tell_hosts_who_waits(&name, out);
        }
        Some(name)
    }

    /// Tells the hosts of `name` who waits, if anyone does: hosting changed hands.
    pub(super) fn tell_new_hosts_who_waits(&self, name: &RoomName, out: &mut Vec<Outgoing>) {
        if self
            .rooms
            .get(name)
            .is_some_and(|room| !room.waiting.is_empty())
        {
            self.tell_hosts_who_waits(name, out);
        }
    }

    /// Tells the hosts of `name` who waits now.
    pub(super) fn tell_hosts_who_waits(&self, name: &RoomName, out: &mut Vec<Outgoing>) {
        let Some(room) = self.rooms.get(name) else {
            return;
        };
        let waiting = self.waiting_infos(room);
        out.push(Outgoing::many(
            room.hosting.hosts(),
            ServerMsg::Knocking { waiting },
        ));
    }

    /// Who waits to come into `room`.
    pub(super) fn waiting_infos(&self, room: &Room) -> Vec<PeerInfo> {
        room.waiting
            .iter()
            .filter_map(|id| Some(peer_info(*id, self.peers.get(id)?)))
            .collect()
    }

    /// Lets `target`, who waits, into `name`; a room that filled up meanwhile refuses it, and
    /// it stays out.
    fn admit(&mut self, now: Tick, name: &RoomName, target: PeerId) -> Vec<Outgoing> {
        let size = self.rooms.get(name).map_or(0, |room| room.members.len());
        if size >= self.limits.max_room_size {
            let mut out = Vec::new();
            self.stop_waiting(target, &mut out);
            let max = self.limits.max_room_size;
            out.extend(error(
                target,
                ErrorCode::RoomFull,
                format!("room is full ({max} members)"),
            ));
            return out;
        }
        self.enter(now, target, name.clone(), None, false)
    }

    /// The room of host `id` and the one waiting to come in that `target` names.
    fn waiting_target(
        &self,
        id: PeerId,
        target: &str,
    ) -> Result<(RoomName, PeerId), Vec<Outgoing>> {
        let name = self.hosting_room(id, Action::Admit)?;
        PeerId::parse(target)
            .filter(|target| self.rooms[&name].waiting.contains(target))
            .map(|target| (name, target))
            .ok_or_else(|| {
                error(
                    id,
                    ErrorCode::NotWaiting,
                    format!("nobody {target:?} waits to come in"),
                )
            })
    }
}
