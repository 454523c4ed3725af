//! Socket activation: listeners that systemd opened and handed over
//! (`LISTEN_PID`, `LISTEN_FDS`, descriptors from 3), used instead of binding.

use crate::Error;
use nix::fcntl::{fcntl, FcntlArg, FdFlag};
use nix::sys::socket::{getsockname, AddressFamily, SockaddrLike, SockaddrStorage};
use std::net::TcpListener;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixListener;

/// The first passed descriptor, by the protocol (`SD_LISTEN_FDS_START`).
const FIRST_FD: i32 = 3;

/// What systemd passed: at least one TCP listener, at most one Unix one.
#[derive(Debug, Default)]
pub(crate) struct Inherited {
    /// TCP listeners (`ListenStream=127.0.0.1:8094`), non-blocking.
    pub tcp: Vec<TcpListener>,
    /// The Unix listener (`ListenStream=%t/s3-credentials/8094.sock`), non-blocking.
    pub unix: Option<UnixListener>,
}

/// Descriptors systemd passed to this process: `count` of them, from
/// `FIRST_FD`. Taken from the environment by [`take_passed`].
#[derive(Debug, PartialEq, Eq)]
pub struct Passed {
    count: i32,
}

/// Whether systemd passed sockets to this process (`LISTEN_PID` names it),
/// and how many (`LISTEN_FDS`); `LISTEN_PID`, `LISTEN_FDS` and
/// `LISTEN_FDNAMES` are removed from the environment either way. Call it
/// before any thread starts (the Rust runtime's included): changing the
/// environment is only sound while one thread runs.
pub fn take_passed() -> Result<Option<Passed>, Error> {
    let for_us = std::env::var("LISTEN_PID")
        .ok()
        .and_then(|pid| pid.parse::<u32>().ok())
        == Some(std::process::id());
    let count = std::env::var("LISTEN_FDS").ok();
    // Never passed on: the SDK spawns credential_process children, and a
    // child that inherited these would hold (and could serve) our sockets.
    for name in ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"] {
        std::env::remove_var(name);
    }
    if !for_us {
        return Ok(None);
    }
    let count: i32 = count
        .and_then(|n| n.parse().ok())
        .filter(|n| (1..=64).contains(n))
        .ok_or_else(|| Error::new("socket activation: LISTEN_FDS is not a number of sockets"))?;
    Ok(Some(Passed { count }))
}

/// The listeners systemd `passed`, adopted: marked close-on-exec and
/// non-blocking, sorted into TCP and Unix.
pub(crate) fn listeners(passed: Passed) -> Result<Inherited, Error> {
    let count = passed.count;
    let mut inherited = Inherited::default();
    for raw in FIRST_FD..FIRST_FD + count {
        // SAFETY: LISTEN_PID names this process, so systemd passed these
        // descriptors to it alone, and nothing else here has taken them.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        fcntl(&fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC))
            .map_err(|e| Error::new(format!("socket activation: descriptor {raw}: {e}")))?;
        let family = getsockname::<SockaddrStorage>(fd.as_raw_fd())
            .ok()
            .and_then(|addr| addr.family());
        let adopted = match family {
            Some(AddressFamily::Inet | AddressFamily::Inet6) => {
                let listener = TcpListener::from(fd);
                let set = listener.set_nonblocking(true);
                inherited.tcp.push(listener);
                set
            }
            Some(AddressFamily::Unix) if inherited.unix.is_none() => {
                let listener = UnixListener::from(fd);
                let set = listener.set_nonblocking(true);
                inherited.unix = Some(listener);
                set
            }
            Some(AddressFamily::Unix) => return Err(Error::new(
                "socket activation passed more than one Unix socket; the .socket unit needs one",
            )),
            _ => {
                return Err(Error::new(format!(
                    "socket activation: descriptor {raw} is not a TCP or Unix stream socket"
                )))
            }
        };
        adopted.map_err(|e| Error::new(format!("socket activation: descriptor {raw}: {e}")))?;
    }
    if inherited.tcp.is_empty() {
        return Err(Error::new(
            "socket activation passed no TCP socket: the .socket unit needs \
             ListenStream=127.0.0.1:PORT",
        ));
    }
    Ok(inherited)
}
