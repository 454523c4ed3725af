//! A network namespace that plays a container: a veth pair with
//! addresses from 198.18.0.0/15 (the benchmarking range: this machine's own
//! networks are 192.0.2.0/24 and loopback), a default route via the host
//! side, and `169.254.170.2` on the host's loopback, where the container
//! endpoint listens. All of it is removed on drop, a failing test included,
//! and leftovers of a killed run under the same names first.

use super::{aws_env, expect_success, run, try_run, Server, SERVER};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::process::Command;
use std::sync::Mutex;

/// How many namespaces of this process use `CONTAINER_HOST`, and whether
/// we added it (so the last one out removes it).
static HOST_USERS: Mutex<(usize, bool)> = Mutex::new((0, false));
/// Namespaces made so far by this process: each gets its own names.
static MADE: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// The container endpoint's address, as ECS gives it.
pub const CONTAINER_HOST: Ipv4Addr = Ipv4Addr::new(169, 254, 170, 2);

/// A network namespace with a route to the host.
pub struct Netns {
    /// The namespace's name (`ip netns exec NAME`).
    pub name: String,
    host_link: String,
    ns_link: String,
    id: u8,
    /// The host side's address, which the namespace reaches.
    pub host_ip: Ipv4Addr,
}

fn ip(args: &[&str]) -> bool {
    try_run(Command::new("ip").args(args)).is_ok_and(|o| o.status.success())
}

fn must(args: &[&str]) {
    let out = run(Command::new("ip").args(args));
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Netns {
    /// A new namespace, or `None` (said) where this cannot be done: not
    /// root, or no `ip`.
    pub fn create() -> Option<Netns> {
        if !nix::unistd::geteuid().is_root() || !ip(&["-V"]) {
            eprintln!("skipped: a network namespace needs root and iproute2 (CI has both)");
            return None;
        }
        let made = MADE.fetch_add(1, std::sync::atomic::Ordering::SeqCst) % 4;
        let id = std::process::id() % 50 * 4 + made + 20;
        let name = format!("s3c-test-{id}");
        let (host_link, ns_link) = (format!("s3ch{id}"), format!("s3cn{id}"));
        let host_ip = Ipv4Addr::new(198, 18, id as u8, 1);
        let ns_ip = Ipv4Addr::new(198, 18, id as u8, 2);
        let _ = ip(&["netns", "del", &name]);
        let _ = ip(&["link", "del", &host_link]);
        let netns = Netns {
            name,
            host_link,
            ns_link: ns_link.clone(),
            id: id as u8,
            host_ip,
        };
        let (n, h) = (netns.name.as_str(), netns.host_link.as_str());
        must(&["netns", "add", n]);
        must(&["link", "add", h, "type", "veth", "peer", "name", &ns_link]);
        must(&["link", "set", &ns_link, "netns", n]);
        must(&["addr", "add", &format!("{host_ip}/30"), "dev", h]);
        must(&["link", "set", h, "up"]);
        let inside = |args: &[&str]| {
            let mut all = vec!["netns", "exec", n, "ip"];
            all.extend_from_slice(args);
            must(&all);
        };
        inside(&["addr", "add", &format!("{ns_ip}/30"), "dev", &ns_link]);
        inside(&["link", "set", &ns_link, "up"]);
        inside(&["link", "set", "lo", "up"]);
        inside(&["route", "add", "default", "via", &host_ip.to_string()]);
        let mut users = HOST_USERS.lock().unwrap_or_else(|e| e.into_inner());
        if users.0 == 0 {
            let lo = run(Command::new("ip").args(["-4", "addr", "show", "dev", "lo"]));
            users.1 = !String::from_utf8_lossy(&lo.stdout).contains(&format!("{CONTAINER_HOST}/"));
            if users.1 {
                must(&["addr", "add", &format!("{CONTAINER_HOST}/32"), "dev", "lo"]);
            }
        }
        users.0 += 1;
        Some(netns)
    }

    /// `count` more addresses inside the namespace (198.19.ID.10 on), which
    /// the host routes back to it: as many containers, to the server.
    pub fn sources(&self, count: u8) -> Vec<Ipv4Addr> {
        let ns_ip = Ipv4Addr::new(198, 18, self.id, 2);
        let net = format!("198.19.{}.0/24", self.id);
        must(&[
            "route",
            "add",
            &net,
            "via",
            &ns_ip.to_string(),
            "dev",
            &self.host_link,
        ]);
        (10..10 + count)
            .map(|n| {
                let at = Ipv4Addr::new(198, 19, self.id, n);
                let (name, link) = (self.name.as_str(), self.ns_link.as_str());
                let add = format!("{at}/32");
                must(&[
                    "netns", "exec", name, "ip", "addr", "add", &add, "dev", link,
                ]);
                at
            })
            .collect()
    }

    /// `program` run inside the namespace with only `env` (and PATH).
    pub fn command(&self, env: &[(String, String)], program: &str) -> Command {
        let mut cmd = Command::new("ip");
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .envs(env.iter().map(|(k, v)| (k, v)))
            .args(["netns", "exec", &self.name, program]);
        cmd
    }

    /// Forwards `host_ip:PORT` (a port picked here) to `to` on the host's
    /// loopback, which the namespace cannot reach itself (moto, radosgw).
    pub fn forward_to(&self, to: SocketAddr) -> SocketAddr {
        let listener = TcpListener::bind((self.host_ip, 0)).unwrap();
        let at = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for inbound in listener.incoming().flatten() {
                let Ok(outbound) = TcpStream::connect(to) else {
                    continue;
                };
                let (mut a, mut b) = (inbound.try_clone().unwrap(), outbound.try_clone().unwrap());
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut a, &mut b);
                    let _ = b.shutdown(std::net::Shutdown::Write);
                });
                let (mut a, mut b) = (outbound, inbound);
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut a, &mut b);
                    let _ = b.shutdown(std::net::Shutdown::Write);
                });
            }
        });
        at
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = ip(&["netns", "del", &self.name]);
        let _ = ip(&["link", "del", &self.host_link]);
        let mut users = HOST_USERS.lock().unwrap_or_else(|e| e.into_inner());
        users.0 -= 1;
        if users.0 == 0 && users.1 {
            let _ = ip(&["addr", "del", &format!("{CONTAINER_HOST}/32"), "dev", "lo"]);
        }
    }
}

/// The port the server printed for its container endpoint.
pub fn container_port(server: &Server) -> u16 {
    container_port_at(server, &CONTAINER_HOST.to_string())
}

/// The same, for a container endpoint on `host`.
pub fn container_port_at(server: &Server, host: &str) -> u16 {
    let prefix = format!("Container endpoint: http://{host}:");
    let line = (server.stderr_lines().into_iter())
        .find(|l| l.starts_with(&prefix))
        .expect("the container endpoint line");
    line[prefix.len()..]
        .split('/')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// `container-env --scope NAME --format FORMAT` against `server`.
pub fn container_env(server: &Server, scope: &str, format: &str) -> String {
    let mut cmd = Command::new(SERVER);
    aws_env(&mut cmd, server.home.path());
    cmd.args([
        "container-env",
        "--scope",
        scope,
        "--format",
        format,
        "--socket",
    ])
    .arg(server.socket());
    expect_success(&run(&mut cmd))
}

/// `docker run --env-file`'s reading of `text`: `VAR=value` lines.
pub fn env_file(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (k, v) = l.split_once('=').expect("VAR=value");
            (k.to_owned(), v.to_owned())
        })
        .collect()
}

/// What a container holds for `scope`: `container-env`'s docker lines, as
/// `docker run --env-file` reads them, and nothing of this host's AWS
/// setup (its own `home`, no profile files, no IMDS).
pub fn container_client_env(
    server: &Server,
    scope: &str,
    home: &std::path::Path,
) -> Vec<(String, String)> {
    let mut env = env_file(&container_env(server, scope, "docker"));
    std::fs::create_dir_all(home).unwrap();
    for (k, v) in [
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("HOME", home.to_str().unwrap()),
        ("AWS_CONFIG_FILE", "/dev/null"),
        ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
    ] {
        env.push((k.into(), v.into()));
    }
    env
}
