//! The media thread's sockets: one UDP socket and one ICE-TCP listener per address, and the
//! TCP connections browsers open to the listeners when UDP does not get through.
//!
//! Over TCP, STUN, DTLS and SRTP packets are framed as RFC 4571 says: each behind its length
//! in two bytes, big-endian. A connection is closed when it sends a frame that cannot be a
//! packet, stays silent too long, or falls too far behind on what it is sent.

use std::collections::{HashMap, VecDeque};
use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use mio::net::{TcpListener, TcpStream, UdpSocket};
use mio::{Interest, Registry, Token};
use str0m::net::{Protocol, TcpType};
use str0m::Candidate;

/// Tokens of the UDP sockets start here...
const UDP_TOKENS: usize = 1 << 24;
/// ...those of the TCP listeners here...
const LISTENER_TOKENS: usize = 2 << 24;
/// ...and those of the TCP connections here.
const CONNECTION_TOKENS: usize = 3 << 24;
/// The most TCP connections at once, and from one address.
/// The kernel buffers asked for each UDP socket, both ways (the kernel caps them at
/// `net.core.rmem_max` and `wmem_max`): one socket carries every member's media, and the
/// default of about 200 KiB overflows in a few milliseconds of a busy room's bursts.
const UDP_BUFFER_BYTES: usize = 4 * 1024 * 1024;
const MAX_CONNECTIONS: usize = 1024;
const MAX_CONNECTIONS_PER_ADDRESS: usize = 16;
/// A TCP connection that no member's connection took a packet from after this long is closed.
const UNBOUND_TIMEOUT: Duration = Duration::from_secs(10);
/// A TCP connection silent this long is closed (ICE checks consent every few seconds).
const SILENT_TIMEOUT: Duration = Duration::from_secs(30);
/// What may wait to be written to one TCP connection; packets past it are dropped, as UDP
/// would.
const OUTBOX_BYTES: usize = 512 * 1024;
/// The smallest frame that can be a packet: a STUN header is 20 bytes, an RTP one 12.
const MIN_FRAME: usize = 12;

/// What a socket's token says it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Source {
    /// The n-th UDP socket.
    Udp(usize),
    /// The n-th TCP listener.
    Listener(usize),
    /// The TCP connection with this key.
    Connection(usize),
}

impl Source {
    /// The socket of `token`, if it is one of these.
    pub(super) fn of(token: Token) -> Option<Source> {
        match token.0 {
            n if n >= CONNECTION_TOKENS => Some(Source::Connection(n - CONNECTION_TOKENS)),
            n if n >= LISTENER_TOKENS => Some(Source::Listener(n - LISTENER_TOKENS)),
            n if n >= UDP_TOKENS => Some(Source::Udp(n - UDP_TOKENS)),
            _ => None,
        }
    }
}

/// A packet that arrived.
#[derive(Debug)]
pub(super) struct Arrival {
    pub(super) proto: Protocol,
    pub(super) source: SocketAddr,
    pub(super) destination: SocketAddr,
    pub(super) data: Vec<u8>,
}

/// One TCP connection.
#[derive(Debug)]
struct Connection {
    stream: TcpStream,
    peer: SocketAddr,
    local: SocketAddr,
    /// Bytes read that do not make a whole frame yet.
    inbox: Vec<u8>,
    /// Framed packets waiting to be written.
    outbox: VecDeque<u8>,
    opened: Instant,
    last_read: Instant,
    /// Whether a member's connection took a packet from it.
    bound: bool,
}

/// The sockets.
#[derive(Debug)]
pub(super) struct Sockets {
    udp: Vec<(UdpSocket, SocketAddr)>,
    listeners: Vec<(TcpListener, SocketAddr)>,
    connections: HashMap<usize, Connection>,
    /// Connections by (local, remote) address, for sending.
    by_route: HashMap<(SocketAddr, SocketAddr), usize>,
    next_key: usize,
}

impl Sockets {
    /// Binds a UDP socket on `udp_port` and a TCP listener on `tcp_port` of every address.
    /// Port 0 takes a free one on the first address, and the same on the others if it can.
    pub(super) fn bind(
        registry: &Registry,
        addresses: &[IpAddr],
        udp_port: u16,
        tcp_port: u16,
    ) -> io::Result<Sockets> {
        let mut sockets = Sockets {
            udp: Vec::new(),
            listeners: Vec::new(),
            connections: HashMap::new(),
            by_route: HashMap::new(),
            next_key: 0,
        };
        let (mut udp_chosen, mut tcp_chosen) = (udp_port, tcp_port);
        for (index, ip) in addresses.iter().enumerate() {
            let mut socket = bind_either(udp_chosen, udp_port, |port| {
                UdpSocket::bind(SocketAddr::new(*ip, port))
            })?;
            let local = socket.local_addr()?;
            udp_chosen = local.port();
            let options = socket2::SockRef::from(&socket);
            options.set_recv_buffer_size(UDP_BUFFER_BYTES)?;
            options.set_send_buffer_size(UDP_BUFFER_BYTES)?;
            registry.register(&mut socket, Token(UDP_TOKENS + index), Interest::READABLE)?;
            sockets.udp.push((socket, local));
            let mut listener = bind_either(tcp_chosen, tcp_port, |port| {
                TcpListener::bind(SocketAddr::new(*ip, port))
            })?;
            let local = listener.local_addr()?;
            tcp_chosen = local.port();
            let token = Token(LISTENER_TOKENS + index);
            registry.register(&mut listener, token, Interest::READABLE)?;
            sockets.listeners.push((listener, local));
        }
        Ok(sockets)
    }

    /// The bound UDP and TCP addresses.
    pub(super) fn local_addrs(&self) -> (Vec<SocketAddr>, Vec<SocketAddr>) {
        (
            self.udp.iter().map(|(_, addr)| *addr).collect(),
            self.listeners.iter().map(|(_, addr)| *addr).collect(),
        )
    }

    /// The candidates every member's connection offers: a UDP and a passive TCP host candidate
    /// per address, then the same ports on each of `public_ips` as server reflexive ones.
    pub(super) fn candidates(&self, public_ips: &[IpAddr]) -> Vec<Candidate> {
        let mut candidates = Vec::new();
        for (_, local) in &self.udp {
            candidates.extend(Candidate::host(*local, Protocol::Udp).ok());
        }
        for (_, local) in &self.listeners {
            let tcp = Candidate::builder()
                .tcp()
                .host(*local)
                .tcptype(TcpType::Passive)
                .build();
            candidates.extend(tcp.ok());
        }
        for public in public_ips {
            for (_, base) in self
                .udp
                .iter()
                .filter(|(_, base)| base.is_ipv4() == public.is_ipv4())
            {
                let addr = SocketAddr::new(*public, base.port());
                candidates.extend(Candidate::server_reflexive(addr, *base, Protocol::Udp).ok());
            }
        }
        candidates
    }

    /// Reads one datagram from the n-th UDP socket into `buf`: its length, who sent it and the
    /// address it came to. `WouldBlock` when there is none.
    pub(super) fn recv_udp(
        &self,
        index: usize,
        buf: &mut [u8],
    ) -> io::Result<(usize, SocketAddr, SocketAddr)> {
        let (socket, local) = self
            .udp
            .get(index)
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))?;
        let (len, source) = socket.recv_from(buf)?;
        Ok((len, source, *local))
    }

    /// Accepts what waits on the n-th listener, within the caps.
    pub(super) fn accept(&mut self, registry: &Registry, index: usize, now: Instant) {
        let Some((listener, local)) = self.listeners.get(index) else {
            return;
        };
        let local = *local;
        loop {
            let (mut stream, peer) = match listener.accept() {
                Ok(accepted) => accepted,
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => return,
                Err(err) => {
                    log::debug!(error:% = err; "media TCP accept failed");
                    return;
                }
            };
            let from_peer = self
                .connections
                .values()
                .filter(|connection| connection.peer.ip() == peer.ip())
                .count();
            if self.connections.len() >= MAX_CONNECTIONS || from_peer >= MAX_CONNECTIONS_PER_ADDRESS
            {
                continue;
            }
            let key = self.next_key;
            self.next_key = (self.next_key + 1) % (usize::MAX - CONNECTION_TOKENS);
            let token = Token(CONNECTION_TOKENS + key);
            if registry
                .register(&mut stream, token, Interest::READABLE | Interest::WRITABLE)
                .is_err()
            {
                continue;
            }
            let _ = stream.set_nodelay(true);
            self.by_route.insert((local, peer), key);
            self.connections.insert(
                key,
                Connection {
                    stream,
                    peer,
                    local,
                    inbox: Vec::new(),
                    outbox: VecDeque::new(),
                    opened: now,
                    last_read: now,
                    bound: false,
                },
            );
        }
    }

    /// Reads what connection `key` sent, its whole frames into `out`; closes it at the end of
    /// its stream, on an error, or on a frame that cannot be a packet.
    pub(super) fn read(
        &mut self,
        registry: &Registry,
        key: usize,
        now: Instant,
        out: &mut Vec<Arrival>,
    ) {
        let Some(connection) = self.connections.get_mut(&key) else {
            return;
        };
        let mut chunk = [0u8; 16 * 1024];
        let open = loop {
            match connection.stream.read(&mut chunk) {
                Ok(0) => break false,
                Ok(len) => {
                    connection.last_read = now;
                    connection.inbox.extend_from_slice(&chunk[..len]);
                    if !take_frames(connection, out) {
                        break false;
                    }
                }
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => break true,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break false,
            }
        };
        if !open {
            self.close(registry, key);
        }
    }

    /// Marks the connection a packet came over as a member's.
    pub(super) fn bind_route(&mut self, local: SocketAddr, peer: SocketAddr) {
        if let Some(connection) = self
            .by_route
            .get(&(local, peer))
            .and_then(|key| self.connections.get_mut(key))
        {
            connection.bound = true;
        }
    }

    /// Writes what waits for connection `key`, as far as it takes it.
    pub(super) fn flush(&mut self, registry: &Registry, key: usize) {
        let Some(connection) = self.connections.get_mut(&key) else {
            return;
        };
        if flush(connection).is_err() {
            self.close(registry, key);
        }
    }

    /// Sends `data` from `source` to `destination` over `proto`: false when it was dropped.
    pub(super) fn send(
        &mut self,
        registry: &Registry,
        proto: Protocol,
        source: SocketAddr,
        destination: SocketAddr,
        data: &[u8],
    ) -> bool {
        match proto {
            Protocol::Udp => {
                let Some((socket, _)) = self.udp.iter().find(|(_, local)| *local == source) else {
                    return false;
                };
                // A full socket buffer drops the packet, as the network would.
                socket.send_to(data, destination).is_ok()
            }
            Protocol::Tcp => {
                let Some(&key) = self.by_route.get(&(source, destination)) else {
                    return false;
                };
                let Some(connection) = self.connections.get_mut(&key) else {
                    return false;
                };
                let Ok(len) = u16::try_from(data.len()) else {
                    return false;
                };
                if connection.outbox.len() + data.len() + 2 > OUTBOX_BYTES {
                    return false;
                }
                connection.outbox.extend(len.to_be_bytes());
                connection.outbox.extend(data);
                if flush(connection).is_err() {
                    self.close(registry, key);
                    return false;
                }
                true
            }
            _ => false,
        }
    }

    /// Closes the connections that stayed silent, or that no member took up, too long.
    pub(super) fn expire(&mut self, registry: &Registry, now: Instant) {
        let expired: Vec<usize> = self
            .connections
            .iter()
            .filter(|(_, connection)| {
                now.duration_since(connection.last_read) >= SILENT_TIMEOUT
                    || (!connection.bound
                        && now.duration_since(connection.opened) >= UNBOUND_TIMEOUT)
            })
            .map(|(key, _)| *key)
            .collect();
        for key in expired {
            self.close(registry, key);
        }
    }

    fn close(&mut self, registry: &Registry, key: usize) {
        if let Some(mut connection) = self.connections.remove(&key) {
            let _ = registry.deregister(&mut connection.stream);
            self.by_route.remove(&(connection.local, connection.peer));
        }
    }
}

/// Binds on `chosen`, the port taken on an earlier address; where that one is taken and any
/// port was `asked` for (0), on any free one.
fn bind_either<S>(chosen: u16, asked: u16, bind: impl Fn(u16) -> io::Result<S>) -> io::Result<S> {
    match bind(chosen) {
        Err(err) if asked == 0 && chosen != 0 && err.kind() == io::ErrorKind::AddrInUse => bind(0),
        bound => bound,
    }
}

/// Moves the whole frames of `connection`'s inbox into `out`; false on a frame that cannot be
/// a packet.
fn take_frames(connection: &mut Connection, out: &mut Vec<Arrival>) -> bool {
    let mut start = 0;
    let inbox = &connection.inbox;
    while let Some(header) = inbox.get(start..start + 2) {
        let len = usize::from(u16::from_be_bytes([header[0], header[1]]));
        if len < MIN_FRAME {
            return false;
        }
        let Some(frame) = inbox.get(start + 2..start + 2 + len) else {
            break;
        };
        out.push(Arrival {
            proto: Protocol::Tcp,
            source: connection.peer,
            destination: connection.local,
            data: frame.to_vec(),
        });
        start += 2 + len;
    }
    connection.inbox.drain(..start);
    true
}

/// Writes as much of the outbox as the socket takes.
fn flush(connection: &mut Connection) -> io::Result<()> {
    while !connection.outbox.is_empty() {
        let (front, _) = connection.outbox.as_slices();
        match connection.stream.write(front) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(written) => {
                connection.outbox.drain(..written);
            }
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connection_with(inbox: &[u8]) -> (Connection, TcpListener) {
        let listener = TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let local = listener.local_addr().unwrap();
        let stream = TcpStream::connect(local).unwrap();
        let peer = stream.local_addr().unwrap();
        let now = Instant::now();
        let connection = Connection {
            stream,
            peer,
            local,
            inbox: inbox.to_vec(),
            outbox: VecDeque::new(),
            opened: now,
            last_read: now,
            bound: false,
        };
        (connection, listener)
    }

    #[test]
    fn whole_frames_are_taken_and_a_partial_one_waits() {
        let mut bytes = Vec::new();
        bytes.extend(20u16.to_be_bytes());
        bytes.extend([1u8; 20]);
        bytes.extend(12u16.to_be_bytes());
        bytes.extend([2u8; 12]);
        bytes.extend(30u16.to_be_bytes());
        bytes.extend([3u8; 5]);
        let (mut connection, _listener) = connection_with(&bytes);
        let mut out = Vec::new();
        assert!(take_frames(&mut connection, &mut out));
        let frames: Vec<Vec<u8>> = out.into_iter().map(|arrival| arrival.data).collect();
        assert_eq!(frames, [vec![1u8; 20], vec![2u8; 12]]);
        assert_eq!(connection.inbox.len(), 2 + 5, "the partial frame waits");
    }

    #[test]
    fn a_frame_too_short_for_a_packet_closes_the_connection() {
        let (mut connection, _listener) = connection_with(&[0, 3, 1, 2, 3]);
        assert!(!take_frames(&mut connection, &mut Vec::new()));
    }

    #[test]
    fn tokens_name_their_sockets() {
        assert_eq!(Source::of(Token(UDP_TOKENS + 2)), Some(Source::Udp(2)));
        assert_eq!(
            Source::of(Token(LISTENER_TOKENS)),
            Some(Source::Listener(0))
        );
        assert_eq!(
            Source::of(Token(CONNECTION_TOKENS + 7)),
            Some(Source::Connection(7))
        );
        assert_eq!(Source::of(Token(0)), None);
    }
}
