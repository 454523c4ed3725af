//! A credential and what mints one: the shapes every layer above `sts`
//! names (the cache, the registry, the wire formats, the server's tests),
//! with nothing of AWS in them. `sts` implements [`Mint`] with AssumeRole;
//! tests implement it with fakes.

use crate::policy::Grant;
use crate::Error;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use time::OffsetDateTime;

/// One set of temporary credentials, as STS's AssumeRole answers them.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    /// `AccessKeyId` (not secret).
    pub access_key_id: String,
    /// `SecretAccessKey` (secret).
    pub secret_access_key: String,
    /// `SessionToken` (secret).
    pub session_token: String,
    /// When STS says it stops working.
    pub expiration: OffsetDateTime,
}

// Hand-written so that a stray `{:?}` can never print a secret.
impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("access_key_id", &self.access_key_id)
            .field("expiration", &self.expiration)
            .finish_non_exhaustive()
    }
}

/// A boxed future, so that `Mint` can be used as a trait object.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Something that mints credentials: STS in production, a fake in tests.
pub trait Mint: Send + Sync + 'static {
    /// Mints one new credential (one STS call).
    fn mint(&self) -> BoxFuture<'_, Result<Credential, Error>>;

    /// A minter of the same kind for `grant`, a narrowing of this one's,
    /// whose session policy is `policy` (compact JSON), under
    /// `session_name`; `None` when this one cannot.
    fn narrowed(
        &self,
        _grant: &Grant,
        _policy: String,
        _session_name: String,
    ) -> Option<Box<dyn Mint>> {
        None
    }
}
