//! Who is at the other end of a local connection: the uid of a Unix
//! socket's peer, and the owner of a listening loopback TCP port.
//!
//! The server uses the first to refuse other users; `s3-credentials-fetch`
//! uses both to refuse a server some other user started on its socket path
//! or its port.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use tokio::net::UnixStream;

/// Who connected to the Unix socket, as the access log names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    /// Its uid (checked: it must be ours).
    pub uid: u32,
    /// Its pid when it connected, where the system tells (`SO_PEERCRED`).
    pub pid: Option<i32>,
    /// Its program (`/proc/PID/exe`, Linux), read as it connects, so a
    /// reused pid is unlikely (not impossible) to name another program.
    pub exe: Option<String>,
}

/// The peer of a Unix socket connection.
pub fn unix_peer(stream: &UnixStream) -> std::io::Result<Peer> {
    let cred = stream.peer_cred()?;
    let pid = cred.pid();
    Ok(Peer {
        uid: cred.uid(),
        pid,
        exe: pid.and_then(exe_of),
    })
}

#[cfg(target_os = "linux")]
fn exe_of(pid: i32) -> Option<String> {
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok()?;
    Some(exe.to_string_lossy().into_owned())
}

#[cfg(not(target_os = "linux"))]
fn exe_of(_pid: i32) -> Option<String> {
    None
}

/// The uid of the process at the other end of a Unix socket
/// (`SO_PEERCRED` on Linux, `getpeereid` elsewhere, through tokio).
pub fn unix_peer_uid(stream: &UnixStream) -> std::io::Result<u32> {
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
pub fn tcp_listener_uids(addr: SocketAddr) -> Option<Vec<u32>> {
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
pub fn other_listener_uid(addr: SocketAddr, expected: u32) -> Option<u32> {
    tcp_listener_uids(addr)?
        .into_iter()
        .find(|uid| *uid != expected)
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
pub fn tcp_listener_uids(_addr: SocketAddr) -> Option<Vec<u32>> {
    None
}

/// `(local address, uid)` of each listening socket (state `0A`) in one
/// `/proc/net/tcp{,6}` table.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn listeners_in(table: &str) -> impl Iterator<Item = (SocketAddr, u32)> + '_ {
    table.lines().skip(1).filter_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.get(3) != Some(&"0A") {
            return None;
        }
        let local = parse_proc_addr(fields.get(1)?)?;
        let uid = fields.get(7)?.parse().ok()?;
        Some((local, uid))
    })
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

/// The kernel's `sock_diag` netlink interface, asked for listening TCP
/// sockets only (`struct inet_diag_req_v2` in, `struct inet_diag_msg` out).
#[cfg(target_os = "linux")]
mod diag {
    use nix::sys::socket::{
        recv, sendto, socket, AddressFamily, MsgFlags, NetlinkAddr, SockFlag, SockProtocol,
        SockType,
    };
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
    use std::os::fd::AsRawFd;

    const SOCK_DIAG_BY_FAMILY: u16 = 20;
    const NLM_F_REQUEST_DUMP: u16 = 0x1 | 0x300;
    const NLMSG_ERROR: u16 = 2;
    const NLMSG_DONE: u16 = 3;
    const TCP_LISTEN: u32 = 10;
    const HEADER: usize = 16;
    const REQUEST: usize = 56;
    const MESSAGE: usize = 72;

    /// Every listening TCP socket (IPv4 and IPv6) and its uid.
    pub(super) fn listeners() -> Option<Vec<(SocketAddr, u32)>> {
        let mut found = Vec::new();
        for family in [nix::libc::AF_INET, nix::libc::AF_INET6] {
            found.extend(dump(family as u8)?);
        }
        Some(found)
    }

    fn dump(family: u8) -> Option<Vec<(SocketAddr, u32)>> {
        let fd = socket(
            AddressFamily::Netlink,
            SockType::Datagram,
            SockFlag::SOCK_CLOEXEC,
            SockProtocol::NetlinkSockDiag,
        )
        .ok()?;
        let kernel = NetlinkAddr::new(0, 0);
        sendto(fd.as_raw_fd(), &request(family), &kernel, MsgFlags::empty()).ok()?;
        let mut found = Vec::new();
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            let n = recv(fd.as_raw_fd(), &mut buf, MsgFlags::empty()).ok()?;
            let mut rest = buf.get(..n)?;
            while rest.len() >= HEADER {
                let len = u32::from_ne_bytes(rest[0..4].try_into().ok()?) as usize;
                let kind = u16::from_ne_bytes(rest[4..6].try_into().ok()?);
                match kind {
                    NLMSG_DONE => return Some(found),
                    NLMSG_ERROR => return None,
                    _ => found.push(socket_of(rest.get(HEADER..len)?)?),
                }
                // Each message is padded to 4 bytes.
                rest = rest.get(((len + 3) & !3).min(rest.len())..)?;
            }
        }
    }

    /// `nlmsghdr` and `inet_diag_req_v2`: dump `family`'s TCP sockets in
    /// state LISTEN.
    fn request(family: u8) -> [u8; HEADER + REQUEST] {
        let mut req = [0u8; HEADER + REQUEST];
        req[0..4].copy_from_slice(&((HEADER + REQUEST) as u32).to_ne_bytes());
        req[4..6].copy_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
        req[6..8].copy_from_slice(&NLM_F_REQUEST_DUMP.to_ne_bytes());
        req[HEADER] = family;
        req[HEADER + 1] = nix::libc::IPPROTO_TCP as u8;
        req[HEADER + 4..HEADER + 8].copy_from_slice(&(1u32 << TCP_LISTEN).to_ne_bytes());
        req
    }

    /// The local address and uid of one `inet_diag_msg`.
    fn socket_of(msg: &[u8]) -> Option<(SocketAddr, u32)> {
        if msg.len() < MESSAGE {
            return None;
        }
        let port = u16::from_be_bytes(msg[4..6].try_into().ok()?);
        let ip: IpAddr = match i32::from(msg[0]) {
            nix::libc::AF_INET => Ipv4Addr::from(<[u8; 4]>::try_from(&msg[8..12]).ok()?).into(),
            _ => Ipv6Addr::from(<[u8; 16]>::try_from(&msg[8..24]).ok()?).into(),
        };
        let uid = u32::from_ne_bytes(msg[64..68].try_into().ok()?);
        Some((SocketAddr::new(ip, port), uid))
    }
}

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

    #[cfg(target_os = "linux")]
    #[test]
    fn our_own_listener_is_ours() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let uids = tcp_listener_uids(listener.local_addr().unwrap()).unwrap();
        assert_eq!(uids, [nix::unistd::geteuid().as_raw()]);
    }
}
