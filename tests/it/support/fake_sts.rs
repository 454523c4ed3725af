//! A scriptable STS: short credentials, outages, stalls and refusals.
#![allow(unused_imports)]
use super::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// A scriptable STS on loopback: answers `AssumeRole` with credentials that
/// live `lifetime_secs`, 503 while not `healthy`, and can be killed (its
/// port closed: connection refused) and restarted on the same port. S3
/// stays on moto (`AWS_ENDPOINT_URL_STS` points only STS here), and
/// `--role-arn` spares the IAM calls. Tests see expiry and renewal in seconds.
pub struct FakeSts {
    pub port: u16,
    pub calls: Arc<AtomicUsize>,
    /// Requests of any action read in full (before a stall holds them).
    pub received: Arc<AtomicUsize>,
    /// When each AssumeRole arrived.
    pub times: Arc<Mutex<Vec<Instant>>>,
    pub healthy: Arc<std::sync::atomic::AtomicBool>,
    /// While set, requests are read and never answered: a stalled network.
    pub stalled: Arc<std::sync::atomic::AtomicBool>,
    /// The caller's ARN that GetCallerIdentity answers.
    pub caller_arn: Arc<Mutex<String>>,
    /// An error the named action (`*`: every action) gets while set:
    /// (action, status, code, message).
    pub refusal: Arc<Mutex<Option<Refusal>>>,
    pub lifetime_secs: Arc<std::sync::atomic::AtomicI64>,
    alive: Arc<std::sync::atomic::AtomicBool>,
    accepting: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl FakeSts {
    pub fn start(lifetime_secs: i64) -> FakeSts {
        let listener = listen_reusable(0);
        let sts = FakeSts {
            port: listener.local_addr().unwrap().port(),
            calls: Arc::default(),
            received: Arc::default(),
            times: Arc::default(),
            healthy: Arc::new(true.into()),
            stalled: Arc::default(),
            caller_arn: Arc::new(Mutex::new("arn:aws:iam::123456789012:user/test".into())),
            refusal: Arc::default(),
            lifetime_secs: Arc::new(lifetime_secs.into()),
            alive: Arc::new(true.into()),
            accepting: Mutex::new(None),
        };
        sts.accept_on(listener);
        sts
    }

    fn accept_on(&self, listener: TcpListener) {
        listener.set_nonblocking(true).unwrap();
        let (calls, healthy, lifetime, alive, stalled) = (
            self.calls.clone(),
            self.healthy.clone(),
            self.lifetime_secs.clone(),
            self.alive.clone(),
            self.stalled.clone(),
        );
        let (caller_arn, refusal) = (self.caller_arn.clone(), self.refusal.clone());
        let times = self.times.clone();
        let received = self.received.clone();
        let thread = std::thread::spawn(move || {
            while alive.load(Ordering::SeqCst) {
                let Ok((stream, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                };
                let sts = Answering {
                    calls: calls.clone(),
                    received: received.clone(),
                    times: times.clone(),
                    healthy: healthy.clone(),
                    lifetime: lifetime.clone(),
                    alive: alive.clone(),
                    stalled: stalled.clone(),
                    caller_arn: caller_arn.clone(),
                    refusal: refusal.clone(),
                };
                std::thread::spawn(move || {
                    let _ = answer_sts(stream, &sts);
                });
            }
        });
        *self.accepting.lock().unwrap() = Some(thread);
    }

    /// Closes the port and every open connection, as a dead process would.
    pub fn kill(&self) {
        self.alive.store(false, Ordering::SeqCst);
        if let Some(thread) = self.accepting.lock().unwrap().take() {
            thread.join().unwrap();
        }
    }

    /// Listens again on the same port.
    pub fn restart(&self) {
        self.alive.store(true, Ordering::SeqCst);
        self.accept_on(listen_reusable(self.port));
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// Requests read so far, stalled ones included.
    pub fn received(&self) -> usize {
        self.received.load(Ordering::SeqCst)
    }

    pub fn set_healthy(&self, healthy: bool) {
        self.healthy.store(healthy, Ordering::SeqCst);
    }

    /// Server arguments that send STS here, S3 to moto, and skip IAM.
    pub fn server(&self, moto: &Moto, bucket: &str) -> Start {
        let mut start = Start::new(moto, bucket)
            .arg("--role-arn")
            .arg("arn:aws:iam::123456789012:role/test")
            .env("AWS_ENDPOINT_URL", &moto.url())
            .env("AWS_ENDPOINT_URL_STS", &self.url());
        start.endpoint_flag = false;
        start
    }
}

/// A listener on 127.0.0.1:port with SO_REUSEADDR, so a restart can take
/// the port back while old connections sit in TIME_WAIT.
fn listen_reusable(port: u16) -> TcpListener {
    use nix::sys::socket::{self, sockopt, Backlog, SockaddrIn};
    let fd = ipv4_stream();
    socket::setsockopt(&fd, sockopt::ReuseAddr, &true).unwrap();
    let addr = SockaddrIn::new(127, 0, 0, 1, port);
    use std::os::fd::AsRawFd;
    socket::bind(fd.as_raw_fd(), &addr).unwrap();
    socket::listen(&fd, Backlog::new(128).unwrap()).unwrap();
    TcpListener::from(fd)
}

/// What one connection of the fake STS shares with the test.
struct Answering {
    calls: Arc<AtomicUsize>,
    received: Arc<AtomicUsize>,
    times: Arc<Mutex<Vec<Instant>>>,
    healthy: Arc<std::sync::atomic::AtomicBool>,
    lifetime: Arc<std::sync::atomic::AtomicI64>,
    alive: Arc<std::sync::atomic::AtomicBool>,
    stalled: Arc<std::sync::atomic::AtomicBool>,
    caller_arn: Arc<Mutex<String>>,
    refusal: Arc<Mutex<Option<Refusal>>>,
}

/// What the fake STS answers instead: (action, status, code, message).
pub type Refusal = (String, u16, String, String);

fn answer_sts(stream: TcpStream, sts: &Answering) -> std::io::Result<()> {
    let Answering {
        calls,
        received,
        times,
        healthy,
        lifetime,
        alive,
        stalled,
        caller_arn,
        refusal,
    } = sts;
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_millis(20)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    loop {
        let mut length = 0;
        let mut line = String::new();
        // Idle between requests: wake up now and then to die with the port.
        loop {
            match reader.read_line(&mut line) {
                Ok(0) => return Ok(()),
                Ok(_) => break,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
                Err(e) => return Err(e),
            }
            if !alive.load(Ordering::SeqCst) {
                return Ok(());
            }
        }
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        loop {
            line.clear();
            reader.read_line(&mut line)?;
            if let Some((k, v)) = line.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            if line == "\r\n" || line.is_empty() {
                break;
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        received.fetch_add(1, Ordering::SeqCst);
        while stalled.load(Ordering::SeqCst) && alive.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(20));
        }
        let request = String::from_utf8_lossy(&body);
        let refused =
            refusal.lock().unwrap().clone().filter(|(action, ..)| {
                action == "*" || request.contains(&format!("Action={action}&"))
            });
        let (status, xml) = if let Some((_, code_status, code, message)) = refused {
            calls.fetch_add(1, Ordering::SeqCst);
            (
                format!("{code_status} Refused"),
                format!(
                    "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code>\
                 <Message>{message}</Message></Error><RequestId>no</RequestId></ErrorResponse>"
                ),
            )
        } else if request.contains("Action=GetCallerIdentity") {
            let arn = caller_arn.lock().unwrap().clone();
            (
                "200 OK".to_owned(),
                format!(
                "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\
                 <GetCallerIdentityResult><Arn>{arn}</Arn><UserId>AIDAFAKE</UserId>\
                 <Account>123456789012</Account></GetCallerIdentityResult>\
                 <ResponseMetadata><RequestId>who</RequestId></ResponseMetadata>\
                 </GetCallerIdentityResponse>"
            ),
            )
        } else {
            times.lock().unwrap().push(Instant::now());
            answer_assume_role(calls, healthy, lifetime)
        };
        let mut out = reader.get_ref();
        write!(
            out,
            "HTTP/1.1 {status}\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n{xml}",
            xml.len()
        )?;
        stream.set_read_timeout(Some(Duration::from_millis(20)))?;
    }
}

/// AssumeRole's answer: credentials, or 503 while STS is "down".
fn answer_assume_role(
    calls: &AtomicUsize,
    healthy: &std::sync::atomic::AtomicBool,
    lifetime: &std::sync::atomic::AtomicI64,
) -> (String, String) {
    {
        let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
        let (status, xml) = if healthy.load(Ordering::SeqCst) {
            let expires = time::OffsetDateTime::now_utc()
                + time::Duration::seconds(lifetime.load(Ordering::SeqCst));
            let expires = expires
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap();
            ("200 OK", format!(
                "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\
                 <AssumeRoleResult><Credentials><AccessKeyId>ASIAFAKE{n}</AccessKeyId>\
                 <SecretAccessKey>fakesecret{n}</SecretAccessKey><SessionToken>faketoken{n}</SessionToken>\
                 <Expiration>{expires}</Expiration></Credentials>\
                 <AssumedRoleUser><AssumedRoleId>AROAFAKE:s</AssumedRoleId>\
                 <Arn>arn:aws:sts::123456789012:assumed-role/test/s</Arn></AssumedRoleUser>\
                 </AssumeRoleResult><ResponseMetadata><RequestId>r{n}</RequestId></ResponseMetadata>\
                 </AssumeRoleResponse>"
            ))
        } else {
            (
                "503 Service Unavailable",
                "<ErrorResponse><Error><Type>Receiver</Type>\
              <Code>ServiceUnavailable</Code><Message>fake STS is down</Message></Error>\
              <RequestId>down</RequestId></ErrorResponse>"
                    .to_owned(),
            )
        };
        (status.to_owned(), xml)
    }
}
