//! `exec --server`'s source of credentials: a running localserver, asked
//! over its Unix socket and checked as `s3-credentials-fetch` checks it.

use crate::body::parse_process_body;
use crate::credential::{BoxFuture, Credential, Mint};
use crate::fetch;
use crate::Error;

/// Asks a running localserver's Unix socket for its credential (a
/// scope's, narrowed as the options ask), as one `credential_process` call
/// would, with fetch's checks of who serves it.
pub(super) struct Upstream(pub(super) fetch::Options);

impl Mint for Upstream {
    fn mint(&self) -> BoxFuture<'_, Result<Credential, Error>> {
        Box::pin(fetch::ask_socket(&self.0, None, |body| {
            parse_process_body(body).map_err(|why| format!("its answer is not credentials: {why}"))
        }))
    }
}
