//! Who runs a meeting: its host, the co-hosts the host named, whether it is locked, and the
//! host token that makes whoever holds it host again after a reload or a lost connection.
//!
//! The first member of an empty room is its host. A host may lock the room, remove or mute a
//! member, end the meeting for everyone and name or unname co-hosts; a co-host may do all of
//! that but end the meeting and name co-hosts. When the host leaves, hosting passes to the co-host who
//! has been there longest, or else to the member who has. Nothing here sends a frame: the
//! room state machine asks and tells its members.

use crate::entropy::Secret;
use crate::names::PeerId;

/// What a member may be asked to do, and who may.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Lock or unlock the room.
    Lock,
    /// Remove a member.
    Remove,
    /// Name or unname a co-host.
    CoHost,
    /// End the meeting for everyone.
    End,
    /// Mute someone's microphone for everyone, or ask them to unmute.
    Mute,
    /// Lower someone's raised hand.
    LowerHand,
    /// Set the password, run the waiting room, let people in or turn them away.
    Admit,
    /// Put someone on everyone's stage.
    Spotlight,
}

/// How much a member runs its room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// A member like any other.
    Member,
    /// Named by the host: may lock and remove.
    CoHost,
    /// The host: may do everything.
    Host,
}

impl Role {
    /// Whether a member of this role may do `action`.
    pub fn may(self, action: Action) -> bool {
        match action {
            Action::Lock
            | Action::Remove
            | Action::Mute
            | Action::LowerHand
            | Action::Admit
            | Action::Spotlight => self >= Role::CoHost,
            Action::CoHost | Action::End => self == Role::Host,
        }
    }
}

/// One room's hosting.
#[derive(Debug, Clone)]
pub struct Hosting {
    host: PeerId,
    /// In the order they were named.
    cohosts: Vec<PeerId>,
    locked: bool,
    /// `None` if the server's random source failed when the room was made.
    token: Option<Secret>,
}

impl Hosting {
    /// A room whose first member, `host`, holds `token`.
    pub fn new(host: PeerId, token: Option<Secret>) -> Self {
        Hosting {
            host,
            cohosts: Vec::new(),
            locked: false,
            token,
        }
    }

    /// The host.
    pub fn host(&self) -> PeerId {
        self.host
    }

    /// The host first, then the co-hosts in the order they were named.
    pub fn hosts(&self) -> Vec<PeerId> {
        std::iter::once(self.host)
            .chain(self.cohosts.iter().copied())
            .collect()
    }

    /// `member`'s role.
    pub fn role(&self, member: PeerId) -> Role {
        if member == self.host {
            Role::Host
        } else if self.cohosts.contains(&member) {
            Role::CoHost
        } else {
            Role::Member
        }
    }

    /// Whether newcomers are kept out.
    pub fn locked(&self) -> bool {
        self.locked
    }

    /// Locks or unlocks the room; whether that changed anything.
    pub fn set_locked(&mut self, locked: bool) -> bool {
        std::mem::replace(&mut self.locked, locked) != locked
    }

    /// The host's token.
    pub fn token(&self) -> Option<&Secret> {
        self.token.as_ref()
    }

    /// Whether `offered` is the host's token.
    pub fn is_token(&self, offered: &str) -> bool {
        self.token
            .as_ref()
            .is_some_and(|token| token.matches(offered))
    }

    /// Names `member` co-host or unnames it; whether that changed anything. The host is
    /// never its own co-host.
    pub fn set_cohost(&mut self, member: PeerId, cohost: bool) -> bool {
        if member == self.host {
            return false;
        }
        let named = self.cohosts.contains(&member);
        if cohost && !named {
            self.cohosts.push(member);
        } else if !cohost && named {
            self.cohosts.retain(|id| *id != member);
        }
        named != cohost
    }

    /// `member` came back with the host token: it is the host again, and whoever hosted
    /// meanwhile becomes a co-host. Whether that changed anything.
    pub fn reclaim(&mut self, member: PeerId) -> bool {
        if member == self.host {
            return false;
        }
        let stand_in = std::mem::replace(&mut self.host, member);
        self.cohosts.retain(|id| *id != member);
        self.cohosts.insert(0, stand_in);
        true
    }

    /// `member` left; `stayers` are the members still there, longest first. Whether the
    /// hosts changed (a co-host left, or the host did and someone took over).
    pub fn left(&mut self, member: PeerId, stayers: &[PeerId]) -> bool {
        if member != self.host {
            let before = self.cohosts.len();
            self.cohosts.retain(|id| *id != member);
            return self.cohosts.len() != before;
        }
        let next = stayers
            .iter()
            .copied()
            .find(|id| self.cohosts.contains(id))
            .or_else(|| stayers.first().copied());
        if let Some(next) = next {
            self.host = next;
            self.cohosts.retain(|id| *id != next);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u64) -> PeerId {
        PeerId::new(n)
    }

    fn hosting() -> Hosting {
        Hosting::new(id(1), Some(Secret::from_random([7; 16])))
    }

    #[test]
    fn the_host_may_do_everything_a_cohost_all_but_end_and_name_and_a_member_nothing() {
        for action in [
            Action::Lock,
            Action::Remove,
            Action::CoHost,
            Action::End,
            Action::Mute,
        ] {
            assert!(Role::Host.may(action), "{action:?}");
            assert!(!Role::Member.may(action), "{action:?}");
        }
        assert!(Role::CoHost.may(Action::Lock));
        assert!(Role::CoHost.may(Action::Remove));
        assert!(Role::CoHost.may(Action::Mute));
        assert!(!Role::CoHost.may(Action::End));
        assert!(!Role::CoHost.may(Action::CoHost));
    }

    #[test]
    fn hosting_passes_to_the_longest_cohost_then_to_the_longest_member() {
        let mut hosting = hosting();
        assert!(hosting.set_cohost(id(4), true));
        assert!(hosting.set_cohost(id(3), true));
        assert!(!hosting.set_cohost(id(3), true));
        // p3 has been there longer than p4, though named later.
        assert!(hosting.left(id(1), &[id(2), id(3), id(4)]));
        assert_eq!(hosting.hosts(), vec![id(3), id(4)]);
        assert!(hosting.left(id(3), &[id(2), id(4)]));
        assert_eq!(hosting.hosts(), vec![id(4)]);
        assert!(hosting.left(id(4), &[id(2)]));
        assert_eq!(hosting.hosts(), vec![id(2)]);
        assert!(!hosting.left(id(9), &[id(2)]));
    }

    #[test]
    fn a_cohost_leaving_or_unnamed_is_no_longer_a_host() {
        let mut hosting = hosting();
        hosting.set_cohost(id(2), true);
        assert_eq!(hosting.role(id(2)), Role::CoHost);
        assert!(hosting.left(id(2), &[id(1)]));
        assert_eq!(hosting.role(id(2)), Role::Member);
        hosting.set_cohost(id(3), true);
        assert!(hosting.set_cohost(id(3), false));
        assert_eq!(hosting.hosts(), vec![id(1)]);
        assert!(
            !hosting.set_cohost(id(1), true),
            "the host is not its own co-host"
        );
    }

    #[test]
    fn the_token_holder_is_host_again_and_the_stand_in_a_cohost() {
        let mut hosting = hosting();
        hosting.left(id(1), &[id(2), id(3)]);
        assert_eq!(hosting.host(), id(2));
        assert!(hosting.reclaim(id(5)));
        assert_eq!(hosting.hosts(), vec![id(5), id(2)]);
        assert!(!hosting.reclaim(id(5)));
    }

    #[test]
    fn only_the_token_makes_one_host() {
        let token = Secret::from_random([0xab; 16]);
        let hosting = Hosting::new(id(1), Some(token));
        assert!(hosting.is_token(&"ab".repeat(16)));
        assert!(
            !Hosting::new(id(1), None).is_token(""),
            "no token matches nothing"
        );
    }

    #[test]
    fn locking_says_whether_it_changed_anything() {
        let mut hosting = hosting();
        assert!(!hosting.locked());
        assert!(hosting.set_locked(true));
        assert!(!hosting.set_locked(true));
        assert!(hosting.locked());
        assert!(hosting.set_locked(false));
    }
}
