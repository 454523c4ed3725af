//! s3-credentials: short-lived, bucket-scoped AWS credentials for local
//! programs, kept fresh and served over HTTP and a private Unix socket.
//!
//! Data flows one way: [`cli`] (flags into plain option types) →
//! [`policy`] → [`sts`] → [`cache`] → [`server`], wired together by the
//! composition root [`localserver`]. [`fetch`] is the client; it shares
//! only [`socket`], [`peer`] and [`body`] with the server side. No module
//! but `cli` names a clap type.

pub mod body;
pub mod cache;
pub mod cli;
pub mod credential;
pub mod duration;
mod error;
pub mod exec;
pub mod fetch;
pub mod localserver;
pub mod log;
pub mod manual;
pub mod metrics;
pub mod peer;
pub mod policy;
pub mod registry;
pub mod scope;
pub mod server;
pub mod socket;
pub mod sts;
pub mod systemd;
pub mod token;
pub mod trusted;

pub use error::{install_panic_hook, Error};
