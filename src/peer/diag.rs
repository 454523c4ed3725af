//! The kernel's `sock_diag` netlink interface (the one `ss` uses):
//! `struct inet_diag_req_v2` in, `struct inet_diag_msg` out
//! (`linux/inet_diag.h`). Asked either for every listening TCP socket, or
//! for the one socket with an exact address pair.

use nix::sys::socket::{
    recv, sendto, socket, AddressFamily, MsgFlags, NetlinkAddr, SockFlag, SockProtocol, SockType,
};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsRawFd, OwnedFd};

const SOCK_DIAG_BY_FAMILY: u16 = 20;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_DUMP: u16 = 0x300;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const TCP_LISTEN: u32 = 10;
const HEADER: usize = 16;
const REQUEST: usize = 56;
const MESSAGE: usize = 72;
/// `INET_DIAG_NOCOOKIE`: find the socket by its addresses alone.
const NO_COOKIE: u32 = !0;

/// Every listening TCP socket (IPv4 and IPv6) and its uid.
pub(super) fn listeners() -> Option<Vec<(SocketAddr, u32)>> {
    let mut found = Vec::new();
    for family in [nix::libc::AF_INET, nix::libc::AF_INET6] {
        let mut req = request(family as u8, NLM_F_REQUEST | NLM_F_DUMP);
        req[HEADER + 4..HEADER + 8].copy_from_slice(&(1u32 << TCP_LISTEN).to_ne_bytes());
        found.extend(ask(&req)?);
    }
    Some(found)
}

/// The uid owning the TCP socket whose own address is `local` and whose
/// peer is `remote`: for a connection a server accepted, pass the
/// client's address as `local` to learn the client's uid. `Ok(None)` when
/// the kernel has no such socket (a client already gone); `Err` when
/// sock_diag does not answer at all.
/// With it, the socket's inode (which the process holding it has open as
/// `socket:[INODE]`): the same one exchange with the kernel.
pub(super) fn owner_and_inode(
    local: SocketAddr,
    remote: SocketAddr,
) -> Result<Option<(u32, u32)>, ()> {
    let family = match local {
        SocketAddr::V4(_) => nix::libc::AF_INET,
        SocketAddr::V6(_) => nix::libc::AF_INET6,
    };
    let mut req = request(family as u8, NLM_F_REQUEST);
    let id = HEADER + 8;
    req[HEADER + 4..id].copy_from_slice(&u32::MAX.to_ne_bytes()); // any state
    req[id..id + 2].copy_from_slice(&local.port().to_be_bytes());
    req[id + 2..id + 4].copy_from_slice(&remote.port().to_be_bytes());
    put_ip(&mut req[id + 4..id + 20], local.ip());
    put_ip(&mut req[id + 20..id + 36], remote.ip());
    req[id + 40..id + 44].copy_from_slice(&NO_COOKIE.to_ne_bytes());
    req[id + 44..id + 48].copy_from_slice(&NO_COOKIE.to_ne_bytes());
    ask_one(&mut req)
}

thread_local! {
    /// Each thread's netlink socket for exact lookups, kept open: a lookup
    /// per accepted connection must cost two system calls, not four.
    static ONE: std::cell::RefCell<Option<OwnedFd>> = const { std::cell::RefCell::new(None) };
    /// The sequence number of this thread's last exact lookup.
    static SEQ: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// An exact lookup on this thread's kept socket: the uid of the one
/// socket the kernel answers with. The kernel answers during `sendto`, so
/// the non-blocking `recv` finds the answer at once; an answer with
/// another sequence number (one a failed lookup left behind) is skipped.
fn ask_one(req: &mut [u8]) -> Result<Option<(u32, u32)>, ()> {
    let seq = SEQ.with(|s| {
        s.set(s.get().wrapping_add(1));
        s.get()
    });
    req[8..12].copy_from_slice(&seq.to_ne_bytes());
    ONE.with_borrow_mut(|slot| {
        let fd = match slot {
            Some(fd) => fd,
            None => slot.insert(open(SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK).ok_or(())?),
        };
        let answer = exchange_one(fd, req, seq);
        if answer.is_none() {
            *slot = None; // start clean next time
        }
        answer.ok_or(())
    })
}

/// `Some(None)`: the kernel has no such socket; `None`: the socket failed.
fn exchange_one(fd: &OwnedFd, req: &[u8], seq: u32) -> Option<Option<(u32, u32)>> {
    let kernel = NetlinkAddr::new(0, 0);
    sendto(fd.as_raw_fd(), req, &kernel, MsgFlags::empty()).ok()?;
    let mut buf = [0u8; 1024];
    loop {
        let n = recv(fd.as_raw_fd(), &mut buf, MsgFlags::empty()).ok()?;
        let msg = buf.get(..n)?;
        if msg.len() < HEADER || u32::from_ne_bytes(msg[8..12].try_into().ok()?) != seq {
            continue;
        }
        let len = (u32::from_ne_bytes(msg[0..4].try_into().ok()?) as usize).min(n);
        return match u16::from_ne_bytes(msg[4..6].try_into().ok()?) {
            NLMSG_ERROR | NLMSG_DONE => Some(None),
            _ => Some(uid_and_inode(msg.get(HEADER..len)?)),
        };
    }
}

fn open(flags: SockFlag) -> Option<OwnedFd> {
    socket(
        AddressFamily::Netlink,
        SockType::Datagram,
        flags,
        SockProtocol::NetlinkSockDiag,
    )
    .ok()
}

/// An address as `idiag_src`/`idiag_dst` hold it: network byte order,
/// IPv4 in the first word.
fn put_ip(slot: &mut [u8], ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => slot[..4].copy_from_slice(&v4.octets()),
        IpAddr::V6(v6) => slot.copy_from_slice(&v6.octets()),
    }
}

/// `nlmsghdr` and a zeroed `inet_diag_req_v2` for TCP in `family`.
fn request(family: u8, flags: u16) -> [u8; HEADER + REQUEST] {
    let mut req = [0u8; HEADER + REQUEST];
    req[0..4].copy_from_slice(&((HEADER + REQUEST) as u32).to_ne_bytes());
    req[4..6].copy_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    req[6..8].copy_from_slice(&flags.to_ne_bytes());
    req[HEADER] = family;
    req[HEADER + 1] = nix::libc::IPPROTO_TCP as u8;
    req
}

/// Sends a dump request on a socket of its own and gathers the sockets
/// the kernel answers with, until `NLMSG_DONE`. An error message is `None`.
fn ask(req: &[u8]) -> Option<Vec<(SocketAddr, u32)>> {
    let fd = open(SockFlag::SOCK_CLOEXEC)?;
    let kernel = NetlinkAddr::new(0, 0);
    sendto(fd.as_raw_fd(), req, &kernel, MsgFlags::empty()).ok()?;
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

/// The uid and inode of one `inet_diag_msg` (`idiag_uid`, `idiag_inode`).
fn uid_and_inode(msg: &[u8]) -> Option<(u32, u32)> {
    let uid = u32::from_ne_bytes(msg.get(64..68)?.try_into().ok()?);
    let inode = u32::from_ne_bytes(msg.get(68..72)?.try_into().ok()?);
    Some((uid, inode))
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
