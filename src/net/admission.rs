//! Caps on connections, in total and per client address.
//!
//! Two gates use them: the listener's, on every TCP connection from the moment it is accepted,
//! and the WebSocket route's, on upgrades. A connection takes a [`Ticket`] before it is served
//! and gives it back when it ends, whatever way it ends, so the counts cannot drift. Addresses
//! are counted by [`AddressKey`]: an IPv6 client usually holds a whole /64, so it counts as one.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// The part of a client's address that names the client: an IPv4 address (an IPv4-mapped IPv6
/// one included), or the /64 network of an IPv6 address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct AddressKey(IpAddr);

impl From<IpAddr> for AddressKey {
    fn from(address: IpAddr) -> Self {
        match address {
            IpAddr::V4(v4) => AddressKey(IpAddr::V4(v4)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => AddressKey(IpAddr::V4(v4)),
                None => {
                    let network = u128::from(v6) & !u128::from(u64::MAX);
                    AddressKey(IpAddr::V6(Ipv6Addr::from(network)))
                }
            },
        }
    }
}

impl fmt::Display for AddressKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            IpAddr::V4(v4) => write!(f, "{v4}"),
            IpAddr::V6(v6) => write!(f, "{v6}/64"),
        }
    }
}

/// How many connections the server holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Caps {
    /// In total.
    pub(crate) total: usize,
    /// From one client address.
    pub(crate) per_address: usize,
}

/// Why a connection was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Full {
    /// The server holds as many connections as it may.
    #[error("the server is full ({0} connections)")]
    Server(usize),
    /// This address holds as many connections as it may.
    #[error("too many connections from one address ({0})")]
    Address(usize),
}

/// The counts behind the caps.
#[derive(Debug)]
struct Counts {
    total: usize,
    per_address: HashMap<AddressKey, usize>,
}

/// Admits connections up to the caps.
#[derive(Debug)]
pub(crate) struct Gate {
    caps: Caps,
    // A std mutex: nothing async happens while it is held.
    counts: Mutex<Counts>,
}

/// One admitted connection; dropping it frees its place.
#[derive(Debug)]
pub(crate) struct Ticket {
    gate: Arc<Gate>,
    address: AddressKey,
}

impl Gate {
    /// A gate with nobody in.
    pub(crate) fn new(caps: Caps) -> Arc<Gate> {
        Arc::new(Gate {
            caps,
            counts: Mutex::new(Counts {
                total: 0,
                per_address: HashMap::new(),
            }),
        })
    }

    /// Admits one connection from `address`, if the caps allow it.
    pub(crate) fn admit(self: &Arc<Self>, address: IpAddr) -> Result<Ticket, Full> {
        let address = AddressKey::from(address);
        let mut counts = self.lock();
        if counts.total >= self.caps.total {
            return Err(Full::Server(self.caps.total));
        }
        let from_address = counts.per_address.entry(address).or_default();
        if *from_address >= self.caps.per_address {
            return Err(Full::Address(self.caps.per_address));
        }
        *from_address += 1;
        counts.total += 1;
        Ok(Ticket {
            gate: self.clone(),
            address,
        })
    }

    /// How many connections are in.
    pub(crate) fn count(&self) -> usize {
        self.lock().total
    }

    fn lock(&self) -> MutexGuard<'_, Counts> {
        // The counts are changed by a few lines that cannot panic; a poisoned lock still holds
        // consistent counts.
        self.counts.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A connection's [`Ticket`], shared by the requests it carries, for the one that turns the
/// connection into a WebSocket to keep for as long as the socket lives.
#[derive(Debug, Clone)]
pub(crate) struct TicketSlot(Arc<Mutex<Option<Ticket>>>);

impl TicketSlot {
    /// A slot holding `ticket`.
    pub(crate) fn new(ticket: Ticket) -> Self {
        TicketSlot(Arc::new(Mutex::new(Some(ticket))))
    }

    /// Takes the ticket out; `None` if it was taken already.
    pub(crate) fn take(&self) -> Option<Ticket> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).take()
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut counts = self.gate.lock();
        counts.total -= 1;
        if let Some(from_address) = counts.per_address.get_mut(&self.address) {
            *from_address -= 1;
            if *from_address == 0 {
                // Forget addresses with no connection, so the map does not grow forever.
                counts.per_address.remove(&self.address);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([192, 0, 2, last])
    }

    #[test]
    fn each_address_gets_its_share_and_tickets_give_places_back() {
        let gate = Gate::new(Caps {
            total: 10,
            per_address: 2,
        });
        let first = gate.admit(ip(1)).unwrap();
        let _second = gate.admit(ip(1)).unwrap();
        assert_eq!(gate.admit(ip(1)).unwrap_err(), Full::Address(2));
        let _other = gate.admit(ip(2)).unwrap();
        drop(first);
        let _again = gate.admit(ip(1)).unwrap();
        assert_eq!(gate.count(), 3);
    }

    #[test]
    fn an_ipv6_client_is_counted_by_its_64_network() {
        let gate = Gate::new(Caps {
            total: 10,
            per_address: 2,
        });
        let host = |last: u16| IpAddr::from([0x2001, 0xdb8, 0, 7, 0, 0, 0, last]);
        let _one = gate.admit(host(1)).unwrap();
        let _two = gate.admit(host(0xffff)).unwrap();
        assert_eq!(gate.admit(host(3)).unwrap_err(), Full::Address(2));
        let neighbour = IpAddr::from([0x2001, 0xdb8, 0, 8, 0, 0, 0, 1]);
        assert!(gate.admit(neighbour).is_ok());
        assert_eq!(AddressKey::from(host(9)).to_string(), "2001:db8:0:7::/64");
        // An IPv4 client reaching an IPv6 socket is still the IPv4 client.
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        assert_eq!(AddressKey::from(mapped), AddressKey::from(ip(1)));
    }

    #[test]
    fn the_total_cap_holds_across_addresses_and_empties_to_zero() {
        let gate = Gate::new(Caps {
            total: 3,
            per_address: 3,
        });
        let tickets: Vec<Ticket> = (1..=3).map(|n| gate.admit(ip(n)).unwrap()).collect();
        assert_eq!(gate.admit(ip(4)).unwrap_err(), Full::Server(3));
        drop(tickets);
        assert_eq!(gate.count(), 0);
        assert!(gate.lock().per_address.is_empty());
    }
}
