//! Where fetch asks: `--socket`, `--url`, or the default socket and then
//! loopback TCP for `--port`, each with the route for the scope asked.

use super::Options;
use crate::body::SCOPE_PATH;
use crate::{socket, Error};
use hyper::Uri;
use std::fmt;
use std::path::PathBuf;

/// Where to ask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// A Unix socket path; `default` when it is the default one, whose
    /// directory must then be ours and closed to others.
    Socket {
        /// Where it is.
        path: PathBuf,
        /// The default socket for a port (not `--socket`).
        default: bool,
        /// The path to ask for: `/`, or `/scope/NAME`.
        route: String,
    },
    /// An `http://` URL.
    Url(Uri),
}

impl Target {
    /// The server port it stands for: a URL's, or the default socket's (a
    /// default socket is named for its port, `PORT.sock`).
    pub(crate) fn port(&self) -> Option<u16> {
        match self {
            Target::Url(uri) => uri.port_u16(),
            Target::Socket {
                path,
                default: true,
                ..
            } => path.file_stem()?.to_str()?.parse().ok(),
            Target::Socket { .. } => None,
        }
    }

    /// Whether it asks for a named scope (`/scope/NAME...`), not `/`'s.
    pub(crate) fn asks_a_scope(&self) -> bool {
        let path = match self {
            Target::Socket { route, .. } => route.as_str(),
            Target::Url(uri) => uri.path(),
        };
        path.starts_with("/scope/")
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Socket { path, .. } => write!(f, "{}", path.display()),
            Target::Url(uri) => write!(f, "{uri}"),
        }
    }
}

/// What to try, in order: `--socket`, or `--url`, or else the default
/// socket for `--port`, then `127.0.0.1:PORT`, then `[::1]:PORT` (literal
/// addresses: no name is resolved, so nothing can redirect `localhost`).
pub fn targets(cli: &Options) -> Result<Vec<Target>, Error> {
    let mut route = match &cli.scope {
        Some(name) => format!("{SCOPE_PATH}{name}"),
        None => "/".to_owned(),
    };
    if !cli.query.is_empty() {
        route = format!("{route}?{}", cli.query);
    }
    if let Some(path) = &cli.socket {
        let path = path.clone();
        return Ok(vec![Target::Socket {
            path,
            default: false,
            route,
        }]);
    }
    if let Some(url) = &cli.url {
        let url = match (cli.query.is_empty(), url.contains('?')) {
            (false, false) => format!("{url}?{}", cli.query),
            (false, true) => format!("{url}&{}", cli.query),
            (true, _) => url.clone(),
        };
        return Ok(vec![Target::Url(parse_url(&url)?)]);
    }
    let port = cli.port;
    Ok(vec![
        Target::Socket {
            path: socket::default_path(port),
            default: true,
            route: route.clone(),
        },
        Target::Url(parse_url(&format!("http://127.0.0.1:{port}{route}"))?),
        Target::Url(parse_url(&format!("http://[::1]:{port}{route}"))?),
    ])
}

/// The Unix socket targets alone (`--socket`, or the default socket for
/// `--port`), for `ask_socket`.
pub(super) fn socket_targets(cli: &Options) -> Result<Vec<Target>, Error> {
    let mut targets = targets(&Options {
        url: None,
        ..cli.clone()
    })?;
    targets.retain(|t| matches!(t, Target::Socket { .. }));
    Ok(targets)
}

fn parse_url(url: &str) -> Result<Uri, Error> {
    let uri: Uri = url
        .parse()
        .map_err(|_| Error::new(format!("--url {url} is not a URL")))?;
    if uri.scheme_str() != Some("http") || uri.host().is_none() {
        return Err(Error::new(format!(
            "--url {url} must be an http:// URL, e.g. http://127.0.0.1:8094/"
        )));
    }
    Ok(uri)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_target_stands_for_its_port_where_it_names_one() {
        let socket = |path: &str, default| Target::Socket {
            path: path.into(),
            default,
            route: "/".into(),
        };
        assert_eq!(
            socket("/run/user/1/s3-credentials/9001.sock", true).port(),
            Some(9001)
        );
        assert_eq!(socket("/tmp/mine.sock", false).port(), None);
        let url = Target::Url("http://127.0.0.1:9002/".parse().unwrap());
        assert_eq!(url.port(), Some(9002));
        assert!(crate::fetch::start_one(Some(9001)).ends_with("--duration 1h --port 9001"));
        assert!(crate::fetch::start_one(Some(8094)).ends_with("--duration 1h"));
        assert!(!socket("/x.sock", false).asks_a_scope());
        let scoped = Target::Url("http://127.0.0.1:1/scope/a/about".parse().unwrap());
        assert!(scoped.asks_a_scope());
    }
}
