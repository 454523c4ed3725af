//! s3-credentials: short-lived, bucket-scoped AWS credentials for local
//! programs, kept fresh and served over HTTP and a private Unix socket.
//!
//! Data flows one way: [`cli`] → [`policy`] → [`sts`] → [`cache`] →
//! [`server`]. [`fetch`] is the client; it shares only [`cli`] and
//! [`socket`]'s path rules with the server.

pub mod cache;
pub mod cli;
pub mod duration;
pub mod fetch;
pub mod log;
pub mod policy;
pub mod server;
pub mod socket;
pub mod sts;
pub mod systemd;

use std::fmt;

/// A failure to report to the user: one line, saying what to do, no secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(String);

impl Error {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> Error {
        Error(message.into())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}
