//! Load and fault tests, bounded in count and time, on loopback only.

mod support;

use std::collections::BTreeMap;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::*;

/// Status, body, and when it arrived.
type Served = (u16, String, time::OffsetDateTime);

/// `conns` connections (half TCP, half Unix socket), each doing requests
/// until `stop` or `per_conn` done; returns every (status, body).
fn hammer(
    server: &Server,
    conns: usize,
    per_conn: usize,
    stop: Arc<AtomicBool>,
) -> Vec<std::thread::JoinHandle<Vec<std::io::Result<Served>>>> {
    (0..conns)
        .map(|i| {
            let (addr, socket, stop) = (server.addr(), server.socket(), stop.clone());
            std::thread::spawn(move || {
                let mut results = Vec::new();
                let mut get: Box<dyn FnMut() -> std::io::Result<Served>> = if i % 2 == 0 {
                    let mut c = KeepAlive::new(std::net::TcpStream::connect(addr).unwrap());
                    Box::new(move || stamp(c.get("/")))
                } else {
                    let mut c = KeepAlive::new(UnixStream::connect(&socket).unwrap());
                    Box::new(move || stamp(c.get("/")))
                };
                while results.len() < per_conn && !stop.load(Ordering::SeqCst) {
                    let result = get();
                    let broken = result.is_err();
                    results.push(result);
                    if broken {
                        break;
                    }
                }
                results
            })
        })
        .collect()
}

fn stamp(result: std::io::Result<(u16, String)>) -> std::io::Result<Served> {
    result.map(|(status, body)| (status, body, time::OffsetDateTime::now_utc()))
}

/// How long the credential in `body` had left when it arrived.
fn life_at(body: &str, at: time::OffsetDateTime) -> (String, time::Duration) {
    let (key, life_now) = key_and_life(body);
    (key, life_now + (time::OffsetDateTime::now_utc() - at))
}

fn collect(
    threads: Vec<std::thread::JoinHandle<Vec<std::io::Result<Served>>>>,
) -> Vec<std::io::Result<Served>> {
    threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect()
}

#[test]
fn twenty_thousand_requests_over_tcp_and_the_socket_get_one_credential() {
    let moto = Moto::shared();
    let bucket = moto.bucket("load");
    let server = Start::new(moto, &bucket).arg("--quiet").run();
    let results = collect(hammer(&server, 128, 157, Arc::default()));
    assert!(results.len() >= 20_000, "{}", results.len());
    let mut keys = BTreeMap::new();
    for result in results {
        let (status, body, _) = result.expect("no connection broke");
        assert_eq!(status, 200);
        *keys.entry(key_and_life(&body).0).or_insert(0) += 1;
    }
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert_eq!(moto.assume_role_calls(&bucket), 1);
}

#[test]
fn renewal_under_load_is_seamless_and_one_call_each() {
    let moto = Moto::shared();
    // 8 s credentials: renewed every 2 s (a quarter of their life, since
    // they are shorter than the margin), under constant load.
    let sts = FakeSts::start(8);
    let server = sts.server(moto, &moto.bucket("renew")).arg("--quiet").run();
    let stop = Arc::new(AtomicBool::new(false));
    let threads = hammer(&server, 16, usize::MAX, stop.clone());
    std::thread::sleep(Duration::from_secs(7));
    stop.store(true, Ordering::SeqCst);
    let results = collect(threads);
    let calls = sts.calls();

    let mut served = BTreeMap::new();
    for result in &results {
        let (status, body, at) = result.as_ref().expect("no connection broke");
        assert_eq!(*status, 200, "{body}");
        let (key, life) = life_at(body, *at);
        assert!(
            life >= time::Duration::seconds(4),
            "{key} served with {life} left"
        );
        served.insert(key, ());
    }
    // Renewals happened, each exactly one STS call, and every minted
    // credential but perhaps the newest was served.
    assert!(calls >= 3, "{calls} calls");
    assert!(
        served.len() == calls || served.len() + 1 == calls,
        "{} served, {calls} calls",
        served.len()
    );
}

#[test]
fn sts_killed_mid_run_then_restarted() {
    let moto = Moto::shared();
    let sts = FakeSts::start(6);
    let server = sts.server(moto, &moto.bucket("kill")).arg("--quiet").run();
    let stop = Arc::new(AtomicBool::new(false));
    let threads = hammer(&server, 8, usize::MAX, stop.clone());

    // Killed after the first renewal is due: the held credential (6 s) is
    // still valid for a while, and every request meanwhile succeeds.
    std::thread::sleep(Duration::from_millis(1600));
    sts.kill();
    let killed_at = Instant::now();
    let calls_at_kill = sts.calls();
    std::thread::sleep(Duration::from_millis(2500));
    stop.store(true, Ordering::SeqCst);
    let during = collect(threads);
    assert!(killed_at.elapsed() < Duration::from_secs(4));
    assert!(!during.is_empty());
    for result in &during {
        let (status, body, at) = result.as_ref().expect("no connection broke");
        assert_eq!(*status, 200, "{body}");
        assert!(
            life_at(body, *at).1 > time::Duration::ZERO,
            "an expired credential"
        );
    }
    assert!(server.wait_for_stderr("renewing credentials failed", Duration::from_secs(10)));

    // Back on the same port: renewal resumes by itself, no request needed.
    sts.restart();
    let until = Instant::now() + Duration::from_secs(40);
    while sts.calls() == calls_at_kill {
        assert!(Instant::now() < until, "renewal never resumed");
        std::thread::sleep(Duration::from_millis(50));
    }
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, _, body) = server.get("/");
        if status == 200 && key_and_life(&body).1 > time::Duration::seconds(4) {
            break;
        }
        assert!(
            Instant::now() < until,
            "no fresh credential after restart: {status} {body}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn sigterm_during_load_finishes_requests_and_cleans_up() {
    let moto = Moto::shared();
    let mut server = Start::new(moto, &moto.bucket("termload"))
        .arg("--quiet")
        .run();
    let socket = server.socket();
    let stop = Arc::new(AtomicBool::new(false));
    let threads = hammer(&server, 32, usize::MAX, stop.clone());
    std::thread::sleep(Duration::from_millis(500));
    let status = server.terminate();
    stop.store(true, Ordering::SeqCst);
    assert!(status.success(), "{status}");
    assert!(!socket.exists(), "socket removed");
    let results = collect(threads);
    let ok = results
        .iter()
        .filter(|r| matches!(r, Ok((200, _, _))))
        .count();
    assert!(ok > 100, "{ok} requests served before the signal");
    for result in results.iter() {
        match result {
            Ok((status, body, _)) => {
                assert_eq!(*status, 200);
                key_and_life(body); // a whole, parseable credential
            }
            // Closed between requests is fine; a response cut short is not.
            Err(e) => assert!(
                matches!(
                    e.kind(),
                    std::io::ErrorKind::UnexpectedEof
                        | std::io::ErrorKind::ConnectionReset
                        | std::io::ErrorKind::BrokenPipe
                ),
                "{e}"
            ),
        }
    }
}
