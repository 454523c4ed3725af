//! s3-credentials: short-lived, bucket-scoped AWS credentials for local
//! programs, kept fresh and served over HTTP and a private Unix socket.
//!
//! Data flows one way: [`cli`] (flags into plain option types) →
//! [`scope`]/[`policy`] → [`sts`] → [`cache`] → [`server`], wired together
//! by the composition roots [`localserver`] and [`exec`]. [`fetch`] is the
//! client; it shares only [`socket`], [`peer`] and [`body`] with the server
//! side. No module but `cli` names a clap type.
//!
//! The layers, top to bottom; a module imports only from layers below its
//! own (`tests/it/layers.rs` checks it, and that there is no circle):
//!
//! ```text
//! cli                                    clap, and nothing else does
//! localserver exec container_env doctor verify   composition roots
//! server        fetch                    listeners and routes; the client
//! gateway                                the S3 gateway: check, forward, record
//! mint                                   many scopes minted at once
//! registry                               the scopes served now
//! cache                                  one scope's credential, renewed ahead
//! sts  local                             AWS: config, buckets, role, AssumeRole;
//!                                        the gateway's local credentials
//! scope                                  named scopes and the --config file
//! narrow                                 asking for less: a scope's grant narrowed
//! body  duration                         wire formats, values
//! credential                             a credential, and what mints one
//! policy                                 the session policy: what a grant allows
//! token  trusted  socket  peer  systemd  metrics  signals  log  error  manual
//! ```

pub mod body;
pub(crate) mod cache;
pub mod cli;
pub mod container_env;
pub(crate) mod credential;
pub mod doctor;
pub mod duration;
mod error;
pub mod exec;
pub mod fetch;
pub(crate) mod gateway;
pub(crate) mod local;
pub mod localserver;
pub mod log;
pub mod manual;
pub(crate) mod metrics;
pub(crate) mod mint;
pub(crate) mod narrow;
pub mod peer;
pub mod policy;
pub(crate) mod registry;
pub mod scope;
pub mod server;
pub(crate) mod signals;
pub mod socket;
pub(crate) mod sts;
pub(crate) mod systemd;
pub(crate) mod token;
pub(crate) mod trusted;
pub mod verify;

pub use error::{install_panic_hook, report_error, Error};
