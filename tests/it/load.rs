//! Load and fault tests, bounded in count and time, on loopback only.

use crate::support::*;
use std::collections::BTreeMap;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

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
    polled("renewal to resume", Duration::from_secs(40), || {
        (sts.calls() != calls_at_kill).then_some(())
    });
    polled(
        "a fresh credential after restart",
        Duration::from_secs(10),
        || {
            let (status, _, body) = server.get("/");
            (status == 200 && key_and_life(&body).1 > time::Duration::seconds(4)).then_some(())
        },
    );
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

/// A backend that accepts connections and never answers: STS after the
/// Wi-Fi changed or a VPN dropped.
fn silent_backend() -> (std::net::TcpListener, String) {
    // Never accepted: the kernel completes the handshakes, nobody reads.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    (listener, url)
}

#[test]
fn a_backend_that_never_answers_fails_startup_within_the_timeout() {
    let (_silent, url) = silent_backend();
    let started = Instant::now();
    // The timeout is a setting: 3 s here, not the default 20 s.
    let lines = Start::at(&url, "my-bucket")
        .env("S3C_AWS_TIMEOUT", "3")
        .try_run()
        .err()
        .expect("startup fails");
    let took = started.elapsed();
    assert!(took < Duration::from_secs(8), "took {took:?}");
    assert_eq!(lines.len(), 1, "{lines:?}");
    let line = &lines[0];
    assert!(line.starts_with("Error: "), "{line}");
    // The first AWS call (GetCallerIdentity) goes to STS there.
    assert!(line.contains(&format!("STS at {url}")), "{line}");
    assert!(line.contains("within 3s"), "{line}");
}

#[test]
fn a_renewal_stalled_mid_run_is_logged_retried_and_recovers() {
    let moto = Moto::shared();
    // 25 s credentials: renewal is due after a quarter of that.
    let sts = FakeSts::start(25);
    let server = sts
        .server(moto, &moto.bucket("stall"))
        .env("S3C_AWS_TIMEOUT", "3")
        .run();
    let (status, _, body) = server.get("/");
    assert_eq!(status, 200);
    let (first, life) = key_and_life(&body);
    sts.stalled.store(true, Ordering::SeqCst);

    // The held credential expires while the renewal hangs: 503 at once.
    std::thread::sleep(life.unsigned_abs() + Duration::from_millis(100));
    let asked = Instant::now();
    let (status, _, body) = server.get("/");
    assert!(
        asked.elapsed() < Duration::from_secs(1),
        "{:?}",
        asked.elapsed()
    );
    assert_eq!(status, 503, "{body}");
    assert!(!body.contains("fakesecret") && !body.contains(&first));

    // The stalled call times out, is logged, and is retried.
    assert!(server.wait_for_stderr("renewing credentials failed", Duration::from_secs(30)));
    let failure = server
        .stderr_lines()
        .into_iter()
        .find(|l| l.contains("renewing credentials failed"))
        .unwrap();
    assert!(failure.contains("did not answer within 3s"), "{failure}");

    // The network comes back: the retry succeeds with no request needed.
    sts.stalled.store(false, Ordering::SeqCst);
    let body = polled("a renewed credential", Duration::from_secs(40), || {
        let (status, _, body) = server.get("/");
        (status == 200).then_some(body)
    });
    assert_ne!(key_and_life(&body).0, first);
}

/// A laptop's suspend and clock jumps, with moto and the server under one
/// libfaketime clock file and their monotonic clocks left real.
#[test]
fn after_a_suspend_the_server_serves_and_renews_by_the_wall_clock() {
    let dir = tempfile::tempdir().unwrap();
    let clock = dir.path().join("clock");
    let set = |offset: i64| std::fs::write(&clock, format!("{offset:+}\n")).unwrap();
    set(0);
    let faked = faketime_env(&clock);
    let moto = Moto::start_with(&faked);
    let bucket = moto.bucket("suspend");
    let mut start = Start::new(&moto, &bucket);
    start.env = faked.clone();
    // The renewer looks at the wall clock every second, not every 20.
    let server = start.env("S3C_WAKE_EVERY", "1").run();
    let margin = time::Duration::seconds(450); // of --duration 15m
    let (first, _) = key_and_life(&server.get("/").2);
    let fake_now = |offset: i64| time::OffsetDateTime::now_utc() + time::Duration::seconds(offset);
    let expiration = |body: &str| {
        let value: serde_json::Value = serde_json::from_str(body).unwrap();
        let at = value["Expiration"].as_str().unwrap().to_owned();
        time::OffsetDateTime::parse(&at, &time::format_description::well_known::Rfc3339).unwrap()
    };

    // Two hours asleep: the next request gets a fresh credential, at once.
    set(7200);
    let asked = Instant::now();
    let (status, _, body) = server.get("/");
    assert!(
        asked.elapsed() < Duration::from_secs(1),
        "{:?}",
        asked.elapsed()
    );
    assert_eq!(status, 200, "{body}");
    assert_ne!(key_and_life(&body).0, first);
    assert!(expiration(&body) - fake_now(7200) >= margin, "{body}");
    let (status, _, health) = server.get("/healthz");
    assert_eq!(status, 200, "{health}");
    let health: serde_json::Value = serde_json::from_str(&health).unwrap();
    assert!(health["expires_in"].as_i64().unwrap() >= 450, "{health}");

    // Two more hours, and no request: the renewer sees it on its own.
    let calls = moto.assume_role_calls(&bucket);
    assert_eq!(calls, 2);
    set(14400);
    polled("a renewal with no request", Duration::from_secs(30), || {
        (moto.assume_role_calls(&bucket) == 3).then_some(())
    });

    // The clock set back an hour: no renewal over the renewer's next
    // five looks at the clock, and the credential held is served all along.
    set(10800);
    let held = key_and_life(&server.get("/").2).0;
    let until = Instant::now() + Duration::from_secs(5);
    while Instant::now() < until {
        let (status, _, body) = server.get("/");
        assert_eq!((status, key_and_life(&body).0), (200, held.clone()));
        std::thread::sleep(Duration::from_millis(250));
    }
    assert_eq!(moto.assume_role_calls(&bucket), 3);
}

#[test]
fn a_stderr_nobody_reads_never_blocks_a_request() {
    let moto = Moto::shared();
    let server = Start::new(moto, &moto.bucket("stalledlog")).run();
    // From here on the pipe fills (64 KiB: a few hundred access lines).
    server.stderr_paused.store(true, Ordering::SeqCst);
    let mut tcp = KeepAlive::new(std::net::TcpStream::connect(server.addr()).unwrap());
    let mut unix = KeepAlive::new(UnixStream::connect(server.socket()).unwrap());
    for i in 0..5000 {
        let client: &mut dyn FnMut() -> std::io::Result<(u16, String)> = if i % 2 == 0 {
            &mut || tcp.get("/")
        } else {
            &mut || unix.get("/")
        };
        let (status, _) = client().unwrap_or_else(|e| panic!("request {i}: {e}"));
        assert_eq!(status, 200, "request {i}");
    }
    // Both listeners still answer at once, on new connections too.
    let asked = Instant::now();
    assert_eq!(server.get("/healthz").0, 200);
    let mut fresh = KeepAlive::new(UnixStream::connect(server.socket()).unwrap());
    assert_eq!(fresh.get("/healthz").unwrap().0, 200);
    assert!(
        asked.elapsed() < Duration::from_secs(1),
        "{:?}",
        asked.elapsed()
    );
    // stderr drains: the lines that could not wait are counted.
    server.stderr_paused.store(false, Ordering::SeqCst);
    assert_eq!(server.get("/healthz").0, 200); // one more line, after the count
    assert!(server.wait_for_stderr(
        "log lines dropped: stderr is not being read",
        Duration::from_secs(5)
    ));
}
