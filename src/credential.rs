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

/// Who a credential is minted for, when its scope gives each caller its
/// own session (`attribute = "caller"`; docs/GUIDE.md, "Attribution"):
/// the local user and the program, as the kernel named them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Caller {
    /// The user's name (the uid's, from the password database; the uid
    /// in digits where it has none).
    pub user: String,
    /// The program's file name (`/proc/PID/exe`'s last part), or
    /// `unknown` where it cannot be known: never left out.
    pub program: String,
}

/// What a minter of a narrower (or attributed) credential is asked for.
pub struct Ask<'a> {
    /// The grant, a narrowing of the minter's (or the same).
    pub grant: &'a Grant,
    /// Its session policy (compact JSON).
    pub policy: String,
    /// The `RoleSessionName` to mint under.
    pub session_name: String,
    /// The caller it is for, when the scope attributes each caller.
    pub caller: Option<&'a Caller>,
}

/// A boxed future, so that `Mint` can be used as a trait object.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Something that mints credentials: STS in production, a fake in tests.
pub trait Mint: Send + Sync + 'static {
    /// Mints one new credential (one STS call).
    fn mint(&self) -> BoxFuture<'_, Result<Credential, Error>>;

    /// A minter of the same kind for what `ask` says: a narrowing of this
    /// one's grant, its session policy and name, and for whom; `None` when
    /// this one cannot.
    fn narrowed(&self, _ask: Ask<'_>) -> Option<Box<dyn Mint>> {
        None
    }

    /// Whether what it mints lives the duration asked for, so that one far
    /// shorter means a clock is off (STS's do; a local credential cut to
    /// its caller's session need not).
    fn lives_as_asked(&self) -> bool {
        true
    }
}
