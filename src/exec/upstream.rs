//! `exec --server`'s source of credentials: a running localserver, asked
//! over its Unix socket and checked as `s3-credentials-fetch` checks it.

use crate::body::parse_process_body;
use crate::credential::{BoxFuture, Credential, Mint};
use crate::fetch::{self, Target};
use crate::Error;
use std::time::Duration;

/// Asks a running localserver for its credential (a scope's, narrowed as
/// the options ask), as one `credential_process` call would.
pub(super) struct Upstream {
    targets: Vec<Target>,
    /// Who the server must run as: exec's own uid.
    server_uid: u32,
    /// How long one answer may take.
    timeout: Duration,
}

impl Upstream {
    /// The server's Unix socket for `options` (`--socket`, else the
    /// default socket for `--port`); never TCP, whose port may want a token.
    pub(super) fn new(options: &fetch::Options) -> Result<Upstream, Error> {
        Ok(Upstream {
            targets: fetch::socket_targets(options)?,
            server_uid: options
                .server_uid
                .unwrap_or_else(|| nix::unistd::geteuid().as_raw()),
            timeout: options.timeout,
        })
    }
}

impl Mint for Upstream {
    fn mint(&self) -> BoxFuture<'_, Result<Credential, Error>> {
        Box::pin(async move {
            let body = fetch::fetch_first(&self.targets, self.server_uid, self.timeout).await?;
            parse_process_body(&body)
                .map_err(|why| Error::new(format!("the server's answer is not credentials: {why}")))
        })
    }
}
