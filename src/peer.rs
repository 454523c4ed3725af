//! Who is at the other end of a local connection: the uid of a Unix
//! socket's peer, and the owner of a listening loopback TCP port.
//!
//! The server uses the first to refuse other users; `s3-credentials-fetch`
//! uses both to refuse a server some other user started on its socket path
//! or its port.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use tokio::net::UnixStream;

/// The uid of the process at the other end of a Unix socket
/// (`SO_PEERCRED` on Linux, `getpeereid` elsewhere, through tokio).
pub fn unix_peer_uid(stream: &UnixStream) -> std::io::Result<u32> {
    stream.peer_cred().map(|cred| cred.uid())
}

/// The uids owning the listening sockets that could take a connection to
/// `addr` (the address itself, or the wildcard on its port), from
/// `/proc/net/tcp` and `/proc/net/tcp6`. `None` where the system cannot
/// tell: another OS, or no table to read.
#[cfg(target_os = "linux")]
pub fn tcp_listener_uids(addr: SocketAddr) -> Option<Vec<u32>> {
    let mut uids = Vec::new();
    let mut readable = false;
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        readable = true;
        uids.extend(
            listeners_in(&text).filter_map(|(local, uid)| could_take(local, addr).then_some(uid)),
        );
    }
    readable.then_some(uids)
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
    fn our_own_listener_is_ours() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let uids = tcp_listener_uids(listener.local_addr().unwrap()).unwrap();
        assert_eq!(uids, [nix::unistd::geteuid().as_raw()]);
    }
}
