//! Who is at the other end of a local connection: the uid of a Unix
//! socket's peer, the uid of a loopback TCP client, and the owner of a
//! listening loopback TCP port.
//!
//! The server uses the first two to refuse other users;
//! `s3-credentials-fetch` uses the first and the last to refuse a server
//! some other user started on its socket path or its port.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use tokio::net::UnixStream;

/// Who connected to the Unix socket, as the access log names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Peer {
    /// Its uid (checked: it must be ours).
    pub uid: u32,
    /// Its pid when it connected, where the system tells (`SO_PEERCRED`).
    pub pid: Option<i32>,
    /// Its program (`/proc/PID/exe`, Linux), read as it connects, so a
    /// reused pid is unlikely (not impossible) to name another program.
    pub exe: Option<String>,
    /// A TCP client's socket inode (sock_diag's), by which its program is
    /// found when it is asked for ([`Peer::program`]).
    inode: Option<u32>,
    /// Its program's file name, found once per connection when asked.
    program: std::sync::OnceLock<String>,
    /// Its user's name, found once per connection when asked.
    user: std::sync::OnceLock<String>,
}

impl Peer {
    /// Its user's name (from the password database; the uid in digits
    /// where it has none) and its program's file name, for a scope that
    /// attributes each caller: looked up once per connection, off the
    /// async workers (a password database may be remote; a `/proc` scan is
    /// the peer's to make long), so no caller stalls another's requests.
    ///
    /// The program is the exe's last part, of the socket's peer or, on
    /// TCP, of the process of its uid holding the client's socket inode;
    /// for `s3-credentials-fetch`, which an SDK runs as its
    /// credential_process, the program that ran it (past an `sh -c`);
    /// `unknown` where nothing tells, or the search reached its limit (never
    /// left out).
    pub(crate) async fn names(&self) -> (&str, &str) {
        if let (Some(user), Some(program)) = (self.user.get(), self.program.get()) {
            return (user, program);
        }
        let (uid, pid, exe, inode) = (self.uid, self.pid, self.exe.clone(), self.inode);
        // One lookup at a time per uid: a user's many connections queue
        // behind each other, and never take every core from another's.
        let turn = program::turn(uid);
        let _turn = turn.lock().await;
        let looked_up = tokio::task::spawn_blocking(move || {
            (user_name(uid), program::name_of(uid, pid, exe, inode))
        });
        let (user, program) = looked_up
            .await
            .unwrap_or_else(|_| (uid.to_string(), "unknown".to_owned()));
        (
            self.user.get_or_init(|| user).as_str(),
            self.program.get_or_init(|| program).as_str(),
        )
    }
}

/// The peer of a Unix socket connection.
pub(crate) fn unix_peer(stream: &UnixStream) -> std::io::Result<Peer> {
    let cred = stream.peer_cred()?;
    let pid = cred.pid();
    Ok(Peer {
        uid: cred.uid(),
        pid,
        exe: pid.and_then(exe_of),
        inode: None,
        program: Default::default(),
        user: Default::default(),
    })
}

#[cfg(target_os = "linux")]
pub(super) fn exe_of(pid: i32) -> Option<String> {
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok()?;
    Some(exe.to_string_lossy().into_owned())
}

#[cfg(not(target_os = "linux"))]
pub(super) fn exe_of(_pid: i32) -> Option<String> {
    None
}

/// The uid of the process at the other end of a Unix socket
/// (`SO_PEERCRED` on Linux, `getpeereid` elsewhere, through tokio).
pub(crate) fn unix_peer_uid(stream: &UnixStream) -> std::io::Result<u32> {
    stream.peer_cred().map(|cred| cred.uid())
}

/// The uids owning the listening sockets that could take a connection to
/// `addr` (the address itself, or the wildcard on its port). `None` where
/// the system cannot tell: another OS, or nothing to read.
///
/// The kernel is asked for its listening sockets alone (`sock_diag`
/// netlink, the interface `ss` uses), which costs the same however many
/// connections the machine has; `/proc/net/tcp{,6}` lists every socket
/// (10,000 in TIME_WAIT take 40 ms to read) and is the fallback.
#[cfg(target_os = "linux")]
pub(crate) fn tcp_listener_uids(addr: SocketAddr) -> Option<Vec<u32>> {
    let listeners = diag::listeners().or_else(proc_listeners)?;
    Some(
        listeners
            .into_iter()
            .filter(|(local, _)| could_take(*local, addr))
            .map(|(_, uid)| uid)
            .collect(),
    )
}

/// A uid other than `expected` holding a listening socket that could take
/// a connection to `addr`; `None` when there is none, or the system cannot
/// tell.
pub(crate) fn other_listener_uid(addr: SocketAddr, expected: u32) -> Option<u32> {
    tcp_listener_uids(addr)?
        .into_iter()
        .find(|uid| *uid != expected)
}

/// A TCP client, as the access log names it (the kernel tells its uid
/// only: no pid).
pub(crate) fn tcp_peer(uid: u32, inode: Option<u32>) -> Peer {
    Peer {
        uid,
        pid: None,
        exe: None,
        inode,
        program: Default::default(),
        user: Default::default(),
    }
}

/// The uid of the process at the other end of a TCP connection this
/// process accepted, `local` being our address and `remote` the client's:
/// the owner of the client's socket, found by that exact address pair
/// with sock_diag, one exchange with the kernel whatever the size of its
/// tables. `None` where it cannot tell: a socket already gone (a client
/// that reset), a peer on another host or in another network namespace,
/// another OS. Only where sock_diag does not answer at all is
/// `/proc/net/tcp{,6}` read instead: it lists every socket, and another
/// user can make it long.
#[cfg(target_os = "linux")]
pub fn tcp_peer_uid(local: SocketAddr, remote: SocketAddr) -> Option<u32> {
    tcp_peer_of(local, remote).map(|(uid, _)| uid)
}

/// The same, with the client's socket inode where sock_diag told it (the
/// same one exchange).
#[cfg(target_os = "linux")]
pub(crate) fn tcp_peer_of(local: SocketAddr, remote: SocketAddr) -> Option<(u32, Option<u32>)> {
    let (local, remote) = (unmapped(local), unmapped(remote));
    match diag::owner_and_inode(remote, local) {
        Ok(found) => found.map(|(uid, inode)| (uid, Some(inode))),
        Err(()) => proc_owner(remote, local).map(|uid| (uid, None)),
    }
}

/// Elsewhere the kernel is not asked: connections rely on the token.
#[cfg(not(target_os = "linux"))]
pub fn tcp_peer_uid(_local: SocketAddr, _remote: SocketAddr) -> Option<u32> {
    None
}

/// Elsewhere the kernel is not asked: connections rely on the token.
#[cfg(not(target_os = "linux"))]
pub(crate) fn tcp_peer_of(_local: SocketAddr, _remote: SocketAddr) -> Option<(u32, Option<u32>)> {
    None
}

/// An IPv4 client of a dual-stack socket, as its own (IPv4) socket has it.
fn unmapped(addr: SocketAddr) -> SocketAddr {
    match addr {
        SocketAddr::V6(v6) => match v6.ip().to_ipv4_mapped() {
            Some(v4) => SocketAddr::new(v4.into(), v6.port()),
            None => addr,
        },
        v4 => v4,
    }
}

/// Whether this system tells the uid of a loopback TCP client: asked once
/// of a connection to ourselves.
pub(crate) fn tcp_uids_known() -> bool {
    let Ok(listener) = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)) else {
        return false;
    };
    let Ok(client) = listener.local_addr().and_then(std::net::TcpStream::connect) else {
        return false;
    };
    let Ok((server_side, remote)) = listener.accept() else {
        return false;
    };
    let local = server_side.local_addr().ok();
    let known = local.and_then(|local| tcp_peer_uid(local, remote));
    drop(client);
    known == Some(nix::unistd::geteuid().as_raw())
}

/// The uid of the socket whose own address is `local` and whose peer is
/// `remote`, from `/proc/net/tcp{,6}`.
#[cfg(target_os = "linux")]
fn proc_owner(local: SocketAddr, remote: SocketAddr) -> Option<u32> {
    ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .find_map(|table| {
            let text = std::fs::read_to_string(table).ok()?;
            let found = sockets_in(&text).find(|s| s.local == local && s.remote == remote);
            found.map(|s| s.uid)
        })
}

/// Every listening TCP socket and its uid, from `/proc/net/tcp{,6}`.
#[cfg(target_os = "linux")]
fn proc_listeners() -> Option<Vec<(SocketAddr, u32)>> {
    let mut found = Vec::new();
    let mut readable = false;
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        readable = true;
        found.extend(listeners_in(&text));
    }
    readable.then_some(found)
}

/// Elsewhere the owner of a port cannot be read: fetch goes ahead.
#[cfg(not(target_os = "linux"))]
pub(crate) fn tcp_listener_uids(_addr: SocketAddr) -> Option<Vec<u32>> {
    None
}

/// One row of `/proc/net/tcp{,6}`.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
struct Row {
    local: SocketAddr,
    remote: SocketAddr,
    /// `0A` is LISTEN.
    listening: bool,
    uid: u32,
}

/// Every socket in one `/proc/net/tcp{,6}` table.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn sockets_in(table: &str) -> impl Iterator<Item = Row> + '_ {
    table.lines().skip(1).filter_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        Some(Row {
            local: parse_proc_addr(fields.get(1)?)?,
            remote: parse_proc_addr(fields.get(2)?)?,
            listening: fields.get(3) == Some(&"0A"),
            uid: fields.get(7)?.parse().ok()?,
        })
    })
}

/// `(local address, uid)` of each listening socket (state `0A`) in one
/// `/proc/net/tcp{,6}` table.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn listeners_in(table: &str) -> impl Iterator<Item = (SocketAddr, u32)> + '_ {
    sockets_in(table)
        .filter(|s| s.listening)
        .map(|s| (s.local, s.uid))
}

/// `0100007F:1F96` (IPv4) or 32 hex digits and a port (IPv6): each 32-bit
/// word in the kernel's byte order, which on Linux is the host's.
fn parse_proc_addr(text: &str) -> Option<SocketAddr> {
    let (ip, port) = text.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let words: Vec<u32> = (0..ip.len() / 8)
        .map(|i| u32::from_str_radix(ip.get(i * 8..i * 8 + 8)?, 16).ok())
        .collect::<Option<_>>()?;
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_ne_bytes()).collect();
    let ip: IpAddr = match bytes.len() {
        4 => Ipv4Addr::from(<[u8; 4]>::try_from(bytes).ok()?).into(),
        16 => Ipv6Addr::from(<[u8; 16]>::try_from(bytes).ok()?).into(),
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

/// Whether a socket listening on `local` may take a connection to `target`:
/// the same port, and the same address, the wildcard, or (IPv6 sockets
/// take IPv4 too unless V6ONLY, which the table does not show) its mapped form.
fn could_take(local: SocketAddr, target: SocketAddr) -> bool {
    if local.port() != target.port() {
        return false;
    }
    let v4_in_v6 = |ip: Ipv6Addr| ip.to_ipv4_mapped().map(IpAddr::V4);
    match local.ip() {
        ip if ip == target.ip() || ip.is_unspecified() => true,
        IpAddr::V6(v6) => v4_in_v6(v6) == Some(target.ip()),
        IpAddr::V4(_) => false,
    }
}

#[cfg(target_os = "linux")]
mod diag;
mod program;

pub(crate) use program::user_name;

#[cfg(test)]
mod tests {
    use super::*;

    const TCP: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F96 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 1 1 0000000000000000 100 0 0 10 0
   1: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 0000000000000000 100 0 0 10 0
   2: 0100007F:1F96 0100007F:D4A2 01 00000000:00000000 00:00000000 00000000 65534        0 3 1 0000000000000000 20 4 30 10 -1
";
    const TCP6: &str = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:1F96 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000 65534        0 4 1 0000000000000000 100 0 0 10 0
";

    #[test]
    fn listening_sockets_and_their_owners_are_read() {
        let v4: Vec<_> = listeners_in(TCP).collect();
        assert_eq!(
            v4,
            [
                ("127.0.0.1:8086".parse().unwrap(), 1000),
                ("0.0.0.0:22".parse().unwrap(), 0)
            ]
        );
        let v6: Vec<_> = listeners_in(TCP6).collect();
        assert_eq!(v6, [("[::1]:8086".parse().unwrap(), 65534)]);
    }

    #[test]
    fn a_listener_takes_its_address_the_wildcard_or_the_mapped_form() {
        let target: SocketAddr = "127.0.0.1:8094".parse().unwrap();
        for local in [
            "127.0.0.1:8094",
            "0.0.0.0:8094",
            "[::]:8094",
            "[::ffff:127.0.0.1]:8094",
        ] {
            assert!(could_take(local.parse().unwrap(), target), "{local}");
        }
        for local in ["127.0.0.1:8095", "127.0.0.2:8094", "[::1]:8094"] {
            assert!(!could_take(local.parse().unwrap(), target), "{local}");
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_kernel_and_proc_agree_on_listeners() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let me = nix::unistd::geteuid().as_raw();
        let from_kernel = diag::listeners().expect("sock_diag answers");
        assert!(from_kernel.contains(&(addr, me)), "{from_kernel:?}");
        assert!(proc_listeners().unwrap().contains(&(addr, me)));
    }

    #[test]
    fn a_connection_is_found_by_its_address_pair_in_proc() {
        let rows: Vec<_> = sockets_in(TCP).filter(|s| !s.listening).collect();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].local, "127.0.0.1:8086".parse().unwrap());
        assert_eq!(rows[0].remote, "127.0.0.1:54434".parse().unwrap());
        assert_eq!(rows[0].uid, 65534);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_kernel_names_the_uid_of_a_loopback_client() {
        assert!(tcp_uids_known());
        let listener = std::net::TcpListener::bind("[::1]:0");
        let Ok(listener) = listener else { return }; // no IPv6 here
        let _client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (accepted, remote) = listener.accept().unwrap();
        let local = accepted.local_addr().unwrap();
        let me = nix::unistd::geteuid().as_raw();
        assert_eq!(tcp_peer_uid(local, remote), Some(me));
        assert_eq!(proc_owner(remote, local), Some(me));
        // Reversed, the pair names our own accepted socket: still ours,
        // but a pair nobody holds names no one.
        let nobody: SocketAddr = "[::1]:1".parse().unwrap();
        assert_eq!(tcp_peer_uid(local, nobody), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn our_own_listener_is_ours() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let uids = tcp_listener_uids(listener.local_addr().unwrap()).unwrap();
        assert_eq!(uids, [nix::unistd::geteuid().as_raw()]);
    }
}
