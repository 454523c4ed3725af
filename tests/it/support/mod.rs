//! The integration test bed: a real moto server on 127.0.0.1, the real
//! binaries started against it, and a raw HTTP client for exact requests.
#![allow(dead_code)] // each test module uses its own part of the bed

mod aws_cli;
mod clock;
mod fake_sts;
mod http;
mod moto;
mod netns;
mod server;
mod spawn;
mod sshd;
mod strangers;

pub use aws_cli::*;
pub use clock::*;
pub use fake_sts::*;
pub use http::*;
pub use moto::*;
pub use netns::*;
pub use server::*;
pub use spawn::*;
pub use sshd::*;
pub use strangers::*;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

pub const SERVER: &str = env!("CARGO_BIN_EXE_s3-credentials");
pub const FETCH: &str = env!("CARGO_BIN_EXE_s3-credentials-fetch");

/// A tool from the test venv (`scripts/test` makes it), else from PATH.
pub fn tool(name: &str) -> PathBuf {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(".venv/bin")
        .join(name);
    if venv.exists() {
        venv
    } else {
        PathBuf::from(name)
    }
}

/// A fresh IPv4 stream socket (close-on-exec), for tests that must set an
/// option before they bind or connect.
pub fn ipv4_stream() -> std::os::fd::OwnedFd {
    use nix::sys::socket::{socket, AddressFamily, SockFlag, SockType};
    socket(
        AddressFamily::Inet,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .unwrap()
}

/// A name no other test in this run uses (buckets, files).
pub fn unique(prefix: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

/// A free TCP port on 127.0.0.1 (for programs that cannot take port 0).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
