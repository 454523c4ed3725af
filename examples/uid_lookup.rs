//! What the TCP uid check costs, measured without turning it off: the
//! server asks the kernel (one sock_diag exchange, `peer::tcp_peer_uid`)
//! who holds the other end of each new loopback connection. This times
//! that lookup on a live connection, the way `accept` makes it, and prints
//! microseconds per lookup; `scripts/bench` sets it beside a new-connection
//! request's cost.
//!
//! `cargo run --release --example uid_lookup -- [LOOKUPS]`

use std::net::{TcpListener, TcpStream};
use std::time::Instant;

fn main() {
    let lookups: u32 = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(20_000);
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let client = TcpStream::connect(listener.local_addr().unwrap()).expect("connected");
    let (server_side, remote) = listener.accept().expect("accepted");
    let local = server_side.local_addr().unwrap();
    let me = nix::unistd::geteuid().as_raw();
    assert_eq!(
        s3_credentials::peer::tcp_peer_uid(local, remote),
        Some(me),
        "the kernel names this connection's user"
    );
    let started = Instant::now();
    for _ in 0..lookups {
        std::hint::black_box(s3_credentials::peer::tcp_peer_uid(local, remote));
    }
    let each = started.elapsed().as_secs_f64() * 1e6 / f64::from(lookups);
    println!("{each:.2}");
    drop(client);
}
