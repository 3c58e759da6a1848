//! Caps on WebSocket connections, in total and per client address.
//!
//! An upgrade takes a [`Ticket`] before it is accepted and gives it back when its connection
//! ends, whatever way it ends, so the counts cannot drift.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// How many connections the server holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    /// In total.
    pub total: usize,
    /// From one client address.
    pub per_address: usize,
}

/// Why a connection was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Full {
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
    per_address: HashMap<IpAddr, usize>,
}

/// Admits connections up to the caps.
#[derive(Debug)]
pub struct Gate {
    caps: Caps,
    // A std mutex: nothing async happens while it is held.
    counts: Mutex<Counts>,
}

/// One admitted connection; dropping it frees its place.
#[derive(Debug)]
pub struct Ticket {
    gate: Arc<Gate>,
    address: IpAddr,
}

impl Gate {
    /// A gate with nobody in.
    pub fn new(caps: Caps) -> Arc<Gate> {
        Arc::new(Gate {
            caps,
            counts: Mutex::new(Counts {
                total: 0,
                per_address: HashMap::new(),
            }),
        })
    }

    /// Admits one connection from `address`, if the caps allow it.
    pub fn admit(self: &Arc<Self>, address: IpAddr) -> Result<Ticket, Full> {
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
    pub fn count(&self) -> usize {
        self.lock().total
    }

    fn lock(&self) -> MutexGuard<'_, Counts> {
        // The counts are changed by a few lines that cannot panic; a poisoned lock still holds
        // consistent counts.
        self.counts.lock().unwrap_or_else(PoisonError::into_inner)
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
