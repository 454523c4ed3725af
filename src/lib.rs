//! s3-credentials: short-lived, bucket-scoped AWS credentials for local
//! programs, kept fresh and served over HTTP and a private Unix socket.
//!
//! Data flows one way: [`cli`] → [`policy`] → [`sts`] → [`cache`] →
//! [`server`]. [`fetch`] is the client; it shares only [`cli`] and
//! [`socket`]'s path rules with the server.

pub mod body;
pub mod cache;
pub mod cli;
pub mod duration;
mod error;
pub mod fetch;
pub mod localserver;
pub mod log;
pub mod manual;
pub mod peer;
pub mod policy;
pub mod server;
pub mod socket;
pub mod sts;
pub mod systemd;
pub mod token;

pub use error::Error;
