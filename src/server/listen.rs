//! Listeners: binding every address `--host` names (or adopting
//! systemd's), the socket, IMDS's port, and the warnings and errors that
//! go with them. Accepting is `accept`'s job.

use crate::socket::{self, BoundSocket};
use crate::{log, peer, systemd, Error};
use std::io::ErrorKind;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use tokio::net::TcpListener;

/// Where the Unix socket goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SocketChoice {
    /// No socket (`--no-socket`).
    None,
    /// The default path for the port.
    Default,
    /// `--socket PATH`.
    At(PathBuf),
}

/// Bound listeners, not yet answering.
pub struct Listeners {
    pub(super) tcp: Vec<TcpListener>,
    pub(super) socket: Option<BoundSocket>,
    pub(super) imds: Option<TcpListener>,
    pub(super) container: Option<TcpListener>,
    pub(super) gateway: Option<TcpListener>,
    /// The gateway on the container endpoint's address too, for the
    /// containers that address serves (same port as on loopback).
    pub(super) gateway_container: Option<TcpListener>,
}

impl Listeners {
    /// The TCP port really bound (`--port 0`, or systemd's choice).
    pub fn port(&self) -> Option<u16> {
        self.tcp
            .first()
            .and_then(|l| l.local_addr().ok())
            .map(|a| a.port())
    }

    /// Adds IMDSv2 on 127.0.0.1:`port` (0: any free one); loopback only.
    pub(crate) async fn with_imds(mut self, port: u16) -> Result<Listeners, Error> {
        let addr = std::net::SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let listener = TcpListener::bind(addr).await.map_err(|e| match e.kind() {
            ErrorKind::AddrInUse => Error::new(format!(
                "--imds-port {port} is already in use{}; pick another",
                held_by(addr)
            )),
            _ => Error::new(format!(
                "cannot listen on 127.0.0.1 port {port} for IMDS: {e}"
            )),
        })?;
        self.imds = Some(listener);
        Ok(self)
    }

    /// Adds the container endpoint on `addr` (port 0: any free one), which
    /// must be on one of this machine's interfaces.
    pub(crate) async fn with_container(
        mut self,
        addr: std::net::SocketAddr,
    ) -> Result<Listeners, Error> {
        let ip = addr.ip();
        // Socket activation that passed this address keeps it held while
        // the server restarts: nobody else can bind it meanwhile.
        let passed = (self.tcp.iter()).position(|l| l.local_addr().is_ok_and(|a| a == addr));
        if let Some(at) = passed {
            self.container = Some(self.tcp.remove(at));
            if self.tcp.is_empty() {
                return Err(Error::new(
                    "socket activation passed only the container endpoint's socket: the \
                     .socket unit needs ListenStream=127.0.0.1:PORT too",
                ));
            }
            return Ok(self);
        }
        let listener = TcpListener::bind(addr).await.map_err(|e| match e.kind() {
            ErrorKind::AddrNotAvailable => {
                let (six, len) = if ip.is_ipv6() { ("-6 ", 128) } else { ("", 32) };
                Error::new(format!(
                    "--container-endpoint: {ip} is on no interface of this machine; add it \
                     once, as root: ip {six}addr add {ip}/{len} dev lo"
                ))
            }
            ErrorKind::AddrInUse => Error::new(format!(
                "--container-endpoint {addr} is already in use{}; pick another port",
                held_by(addr)
            )),
            _ => Error::new(format!("cannot listen on {addr} for containers: {e}")),
        })?;
        if ip.is_unspecified() || !(ip.is_loopback() || is_link_local(ip) || is_unique_local(ip)) {
            log::say(&format!(
                "Warning: the container endpoint listens on {ip}, which other machines may \
                 reach: only a scope's token guards it there"
            ));
        }
        if !container_host_accepted(ip) {
            log::say(&format!(
                "Warning: the AWS SDKs take plain http:// container credentials only from \
                 loopback, 169.254.170.2, 169.254.170.23 and fd00:ec2::23, not {ip}"
            ));
        }
        self.container = Some(listener);
        Ok(self)
    }

    /// Adds the S3 gateway on `addr` (port 0: any free one), a loopback
    /// address: the kernel names the user of every connection there.
    pub(crate) async fn with_gateway(
        mut self,
        addr: std::net::SocketAddr,
    ) -> Result<Listeners, Error> {
        if !addr.ip().is_loopback() {
            return Err(Error::new(format!(
                "--gateway {addr}: the gateway listens on loopback only (127.0.0.1 or ::1), \
                 where the kernel names each caller's user"
            )));
        }
        let listener = bind_gateway(addr).await?;
        if let Some(container) = self.container_addr() {
            let port = listener.local_addr().map_or(addr.port(), |a| a.port());
            let at = std::net::SocketAddr::new(container.ip(), port);
            self.gateway_container = Some(bind_gateway(at).await?);
        }
        self.gateway = Some(listener);
        Ok(self)
    }

    /// Where the gateway listens for containers, if it does.
    pub(crate) fn gateway_container_addr(&self) -> Option<std::net::SocketAddr> {
        self.gateway_container.as_ref()?.local_addr().ok()
    }

    /// Where the gateway really listens, if it does.
    pub(crate) fn gateway_addr(&self) -> Option<std::net::SocketAddr> {
        self.gateway.as_ref()?.local_addr().ok()
    }

    /// Where the container endpoint really listens, if it does.
    pub(crate) fn container_addr(&self) -> Option<std::net::SocketAddr> {
        self.container.as_ref()?.local_addr().ok()
    }

    /// The IMDS port really bound, if any.
    pub fn imds_port(&self) -> Option<u16> {
        let addr = self.imds.as_ref()?.local_addr().ok()?;
        Some(addr.port())
    }
}

/// A gateway listener on `addr`, or why not, in the flag's words.
async fn bind_gateway(addr: std::net::SocketAddr) -> Result<TcpListener, Error> {
    TcpListener::bind(addr).await.map_err(|e| match e.kind() {
        ErrorKind::AddrInUse => Error::new(format!(
            "--gateway: {addr} is already in use{}; pick another port",
            held_by(addr)
        )),
        _ => Error::new(format!("cannot listen on {addr} for the gateway: {e}")),
    })
}

/// The listeners systemd `passed`, or else TCP (and the socket) bound here.
pub async fn listen(
    host: &str,
    port: u16,
    socket: SocketChoice,
    passed: Option<systemd::Passed>,
) -> Result<Listeners, Error> {
    if let Some(passed) = passed {
        return adopt(systemd::listeners(passed)?);
    }
    let tcp = bind_tcp(host, port).await?;
    let mut listeners = Listeners {
        tcp,
        socket: None,
        imds: None,
        container: None,
        gateway: None,
        gateway_container: None,
    };
    let port = listeners.port().unwrap_or(port);
    listeners.socket = match socket {
        SocketChoice::None => None,
        SocketChoice::Default => Some(socket::bind(None, port)?),
        SocketChoice::At(path) => Some(socket::bind(Some(path), port)?),
    };
    Ok(listeners)
}

/// Socket activation: serve what systemd bound.
fn adopt(inherited: systemd::Inherited) -> Result<Listeners, Error> {
    let mut tcp = Vec::new();
    for listener in inherited.tcp {
        if let Ok(addr) = listener.local_addr() {
            warn_if_exposed(addr.ip());
        }
        let listener = TcpListener::from_std(listener)
            .map_err(|e| Error::new(format!("socket activation: {e}")))?;
        tcp.push(listener);
    }
    let socket = inherited.unix.map(socket::adopt).transpose()?;
    Ok(Listeners {
        tcp,
        socket,
        imds: None,
        container: None,
        gateway: None,
        gateway_container: None,
    })
}

/// Binds every address `host` names on `port`; `localhost` is 127.0.0.1
/// and, where the machine has IPv6, ::1. A busy port fails fast.
async fn bind_tcp(host: &str, port: u16) -> Result<Vec<TcpListener>, Error> {
    let localhost = host.eq_ignore_ascii_case("localhost");
    let addrs: Vec<IpAddr> = if localhost {
        vec![Ipv4Addr::LOCALHOST.into(), Ipv6Addr::LOCALHOST.into()]
    } else if let Ok(ip) = host.trim_start_matches('[').trim_end_matches(']').parse() {
        vec![ip]
    } else {
        let found = tokio::net::lookup_host((host, port))
            .await
            .map_err(|e| Error::new(format!("cannot resolve --host {host}: {e}")))?;
        let mut ips: Vec<IpAddr> = found.map(|a| a.ip()).collect();
        ips.dedup();
        ips
    };
    let mut listeners = Vec::new();
    let mut port = port;
    for ip in addrs {
        match TcpListener::bind((ip, port)).await {
            Ok(listener) => {
                port = listener.local_addr().map(|a| a.port()).unwrap_or(port);
                warn_if_exposed(ip);
                listeners.push(listener);
            }
            Err(e) if e.kind() == ErrorKind::AddrInUse => {
                return Err(Error::new(format!(
                    "port {port} is already in use on {ip}{}; is another localserver running? \
                     Pick another port with --port",
                    held_by((ip, port).into())
                )))
            }
            // No IPv6 on this machine: 127.0.0.1 alone is still localhost.
            Err(_) if localhost && ip.is_ipv6() => {}
            Err(e) => {
                return Err(Error::new(format!(
                    "cannot listen on {ip} port {port}: {e}"
                )))
            }
        }
    }
    if listeners.is_empty() {
        return Err(Error::new(format!(
            "--host {host} names no address to listen on"
        )));
    }
    Ok(listeners)
}

/// ` (held by uid N)` when another user's socket holds the port, where the
/// system can tell.
fn held_by(addr: std::net::SocketAddr) -> String {
    peer::other_listener_uid(addr, nix::unistd::geteuid().as_raw())
        .map(|uid| format!(" (held by uid {uid})"))
        .unwrap_or_default()
}

/// Whether every AWS SDK takes `http://IP` as a container credentials
/// `FULL_URI` host: loopback, ECS's and EKS Pod Identity's addresses
/// (botocore's `ContainerMetadataFetcher`, the Go and Java SDKs' checks).
fn container_host_accepted(ip: IpAddr) -> bool {
    const ECS: Ipv4Addr = Ipv4Addr::new(169, 254, 170, 2);
    const EKS: Ipv4Addr = Ipv4Addr::new(169, 254, 170, 23);
    const EKS_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x23);
    ip.is_loopback() || ip == IpAddr::V4(ECS) || ip == IpAddr::V4(EKS) || ip == IpAddr::V6(EKS_V6)
}

fn is_link_local(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) == 0xfe80,
    }
}

/// fd00::/8 and fc00::/8, where EKS's fd00:ec2::23 lives.
fn is_unique_local(ip: IpAddr) -> bool {
    matches!(ip, IpAddr::V6(v6) if (v6.segments()[0] & 0xfe00) == 0xfc00)
}

fn warn_if_exposed(ip: IpAddr) {
    if let Some(warning) = exposure_warning(ip) {
        log::say(&warning);
    }
}

/// The warning for a listener other machines can reach.
fn exposure_warning(ip: IpAddr) -> Option<String> {
    (!ip.is_loopback()).then(|| {
        format!(
            "Warning: listening on {ip}, not loopback: other machines can fetch these \
             credentials. Use --auth-token-file FILE, or --host localhost."
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_non_loopback_listeners_warn() {
        assert!(exposure_warning("127.0.0.1".parse().unwrap()).is_none());
        assert!(exposure_warning("::1".parse().unwrap()).is_none());
        for ip in ["0.0.0.0", "::", "192.168.1.5"] {
            let warning = exposure_warning(ip.parse().unwrap()).unwrap();
            assert!(warning.contains("other machines can fetch"), "{warning}");
            assert!(warning.contains("--auth-token-file"), "{warning}");
        }
    }
}
