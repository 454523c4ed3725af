//! Local credentials: what a scope served through the gateway hands out
//! instead of its real credential (docs/DESIGN.md, "The gateway").
//!
//! A local credential has the usual shape (AccessKeyId, secret, session
//! token, Expiration), so every transport and SDK treats it as any other,
//! but it is good only at this server's gateway, which finds it here. It
//! lives in memory only: a stopped server ends every one at once, and the
//! gateway also checks that the scope that issued it is still served by
//! the same issuer (a scope removed or changed on reload ends them too).

use crate::credential::{Ask, BoxFuture, Credential, Mint};
use crate::duration::SessionDuration;
use crate::policy::Grant;
use crate::Error;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use time::OffsetDateTime;

/// Every local AccessKeyId starts with this: recognisable in a log or an
/// environment, and never one AWS issues (theirs start AKIA or ASIA).
pub const KEY_PREFIX: &str = "S3CL";

/// Random characters after the prefix: 20 characters in all, as AWS's.
const KEY_RANDOM: usize = 16;
/// Characters in a secret (AWS's are 40).
const SECRET_CHARS: usize = 40;
/// Characters in a session token.
const TOKEN_CHARS: usize = 64;

/// One local credential, as the gateway checks it.
pub struct Issued {
    /// The secret the client signs with (SigV4's key).
    pub secret: String,
    /// The session token the client must send with it.
    pub token: String,
    /// When it stops working (the wall clock's time).
    pub expiration: OffsetDateTime,
    /// The scope that issued it.
    pub scope: String,
    /// What it reaches: the scope's grant, or the narrowing it was minted for.
    pub grant: Grant,
    /// Which minting of the scope issued it: a scope re-made on reload
    /// gets a new one, and the old credentials end.
    pub issuer: u64,
    /// Its caller's own upstream session, where the scope attributes each
    /// caller: the gateway forwards its calls with that, not the scope's.
    /// The caller's entry holds the session; once that entry is let go
    /// (the least recently used, past the bound), its credentials end
    /// rather than keep it alive: the bound holds the sessions too.
    pub via: Option<std::sync::Weak<dyn Via>>,
}

/// A caller's own upstream session (docs/GUIDE.md, "Attribution"): what
/// signs the gateway's calls for credentials minted for that caller, so
/// that CloudTrail names the program behind each one.
pub trait Via: Send + Sync {
    /// Forwards typed S3 calls, signed with the caller's session.
    fn proxy(&self) -> &Arc<s3s_aws::Proxy>;
    /// Its `RoleSessionName`, for the gateway's access line.
    fn session(&self) -> &str;
    /// Makes sure the session has a fresh credential (one AssumeRole on
    /// first use), and says when that expires: STS's error comes back
    /// here, to the client that asked for a local credential, not later to
    /// its first S3 call. Not a use: the session is renewed ahead only for
    /// the gateway's calls.
    fn ready(&self) -> BoxFuture<'_, Result<OffsetDateTime, Error>>;
}

/// Makes a caller's own upstream session for a scope served through the
/// gateway that attributes each caller.
pub trait Callers: Send + Sync {
    /// The session for `ask` (its grant, policy, session name and caller),
    /// or `None` when there can be none.
    fn via(&self, ask: Ask<'_>) -> Option<Arc<dyn Via>>;
}

/// What the book knows of an AccessKeyId.
pub enum Lookup {
    /// Issued here, and not expired.
    Valid(Arc<Issued>),
    /// Issued here, expired (and not yet forgotten).
    Expired,
    /// Never issued here (or expired and forgotten).
    Unknown,
}

/// The local credentials issued and not yet expired, by AccessKeyId.
#[derive(Default)]
pub struct KeyBook {
    keys: Mutex<HashMap<String, Arc<Issued>>>,
}

impl KeyBook {
    /// An empty book, shared by the scopes' minters and the gateway.
    pub fn new() -> Arc<KeyBook> {
        Arc::default()
    }

    /// The credential `access_key_id` names, and whether it still works.
    pub fn lookup(&self, access_key_id: &str) -> Lookup {
        match self.lock().get(access_key_id).cloned() {
            None => Lookup::Unknown,
            Some(issued) if issued.expiration > OffsetDateTime::now_utc() => Lookup::Valid(issued),
            Some(_) => Lookup::Expired,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Issued>>> {
        // A panic cannot leave a half-written entry behind: ignore poisoning.
        self.keys.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Issues a new credential for `mint`, good until `until` at the latest
    /// (its caller's upstream session's end), and forgets the expired ones.
    fn issue(&self, mint: &LocalMint, until: Option<OffsetDateTime>) -> Result<Credential, Error> {
        let now = OffsetDateTime::now_utc();
        let full = now + time::Duration::seconds(mint.duration.secs().into());
        let access_key_id = format!("{KEY_PREFIX}{}", random(KEY_RANDOM, UPPER)?);
        let issued = Issued {
            secret: random(SECRET_CHARS, MIXED)?,
            token: random(TOKEN_CHARS, MIXED)?,
            expiration: until.map_or(full, |until| until.min(full)),
            scope: mint.scope.clone(),
            grant: mint.grant.clone(),
            issuer: mint.issuer,
            via: mint.via.as_ref().map(Arc::downgrade),
        };
        let credential = Credential {
            access_key_id: access_key_id.clone(),
            secret_access_key: issued.secret.clone(),
            session_token: issued.token.clone(),
            expiration: issued.expiration,
        };
        let mut keys = self.lock();
        keys.retain(|_, issued| issued.expiration > now);
        keys.insert(access_key_id, Arc::new(issued));
        Ok(credential)
    }
}

/// Mints local credentials for one scope (or one narrowing of it).
pub struct LocalMint {
    book: Arc<KeyBook>,
    scope: String,
    grant: Grant,
    issuer: u64,
    duration: SessionDuration,
    /// Where the scope attributes each caller: makes each one's session.
    callers: Option<Arc<dyn Callers>>,
    /// The caller's session its credentials forward with, if attributed.
    via: Option<Arc<dyn Via>>,
}

impl LocalMint {
    /// A minter for the scope `scope` granting `grant`, with a new issuer.
    pub fn new(book: &Arc<KeyBook>, scope: &str, grant: Grant, duration: SessionDuration) -> Self {
        static ISSUERS: AtomicU64 = AtomicU64::new(1);
        LocalMint {
            book: book.clone(),
            scope: scope.to_owned(),
            grant,
            issuer: ISSUERS.fetch_add(1, Ordering::Relaxed),
            duration,
            callers: None,
            via: None,
        }
    }

    /// The same, giving each caller its own upstream session from `callers`
    /// (`attribute = "caller"`): a narrowing for a caller then mints
    /// credentials that forward with it.
    pub fn for_callers(self, callers: Arc<dyn Callers>) -> Self {
        LocalMint {
            callers: Some(callers),
            ..self
        }
    }

    /// Which minting of the scope this is.
    pub fn issuer(&self) -> u64 {
        self.issuer
    }
}

impl Mint for LocalMint {
    fn mint(&self) -> BoxFuture<'_, Result<Credential, Error>> {
        // A local credential never outlives the session its calls go out
        // in: a client refetches then, and hears why there is none.
        Box::pin(async move {
            let until = match &self.via {
                Some(via) => Some(via.ready().await?),
                None => None,
            };
            self.book.issue(self, until)
        })
    }

    /// Cut to its caller's session, where it has one.
    fn lives_as_asked(&self) -> bool {
        self.via.is_none()
    }

    /// The same scope and issuer, reaching only `grant`: the gateway
    /// enforces the narrowing itself (the policy is STS's form of it). For
    /// a caller, its credentials forward with the caller's own session;
    /// a scope that cannot make one refuses rather than share its own.
    fn narrowed(&self, ask: Ask<'_>) -> Option<Box<dyn Mint>> {
        let grant = ask.grant.clone();
        let via = match (ask.caller, &self.callers) {
            (None, _) => None,
            (Some(_), Some(callers)) => Some(callers.via(ask)?),
            (Some(_), None) => return None,
        };
        Some(Box::new(LocalMint {
            book: self.book.clone(),
            scope: self.scope.clone(),
            grant,
            issuer: self.issuer,
            duration: self.duration,
            callers: None,
            via,
        }))
    }
}

const UPPER: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const MIXED: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// `chars` characters of `alphabet` from the OS's randomness (each byte
/// taken modulo the alphabet's length: 32 and 62 letters, so at most a
/// slight bias for the 62, with 40 or more characters of it).
fn random(chars: usize, alphabet: &[u8]) -> Result<String, Error> {
    let mut bytes = vec![0u8; chars];
    getrandom::fill(&mut bytes)
        .map_err(|e| Error::new(format!("no randomness for a local credential: {e}")))?;
    let pick = |b: &u8| alphabet[usize::from(*b) % alphabet.len()] as char;
    Ok(bytes.iter().map(pick).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Access;

    fn grant() -> Grant {
        Grant {
            buckets: vec!["b".into()],
            access: Access::ReadOnly,
            prefix: "p/".into(),
            statements: vec![],
        }
    }

    #[tokio::test]
    async fn a_local_credential_is_found_by_its_key_and_names_its_scope_and_grant() {
        let book = KeyBook::new();
        let duration = SessionDuration::from_secs(900).unwrap();
        let mint = LocalMint::new(&book, "s", grant(), duration);
        let one = mint.mint().await.unwrap();
        let two = mint.mint().await.unwrap();
        assert!(one.access_key_id.starts_with(KEY_PREFIX) && one.access_key_id.len() == 20);
        assert_ne!(one.access_key_id, two.access_key_id);
        assert_ne!(one.secret_access_key, two.secret_access_key);
        let Lookup::Valid(issued) = book.lookup(&one.access_key_id) else {
            panic!("not found")
        };
        assert_eq!(issued.secret, one.secret_access_key);
        assert_eq!(issued.token, one.session_token);
        assert_eq!((issued.scope.as_str(), issued.issuer), ("s", mint.issuer()));
        assert!(matches!(
            book.lookup("S3CLNOTISSUED0000000"),
            Lookup::Unknown
        ));
    }

    #[tokio::test]
    async fn a_narrowed_minter_keeps_the_issuer_and_reaches_only_its_grant() {
        let book = KeyBook::new();
        let duration = SessionDuration::from_secs(900).unwrap();
        let mint = LocalMint::new(&book, "s", grant(), duration);
        let narrower = Grant {
            prefix: "p/q/".into(),
            ..grant()
        };
        let ask = Ask {
            grant: &narrower,
            policy: String::new(),
            session_name: String::new(),
            caller: None,
        };
        let narrowed = mint.narrowed(ask).unwrap();
        let credential = narrowed.mint().await.unwrap();
        let Lookup::Valid(issued) = book.lookup(&credential.access_key_id) else {
            panic!("not found")
        };
        assert_eq!(
            (issued.grant.prefix.as_str(), issued.issuer),
            ("p/q/", mint.issuer())
        );
        let other = LocalMint::new(&book, "s", grant(), duration);
        assert_ne!(other.issuer(), mint.issuer());
    }

    /// A caller's session that is ready, or fails as STS would.
    struct Session(Arc<s3s_aws::Proxy>, bool);

    impl Via for Session {
        fn proxy(&self) -> &Arc<s3s_aws::Proxy> {
            &self.0
        }
        fn session(&self) -> &str {
            "s3c.s.alice.curl"
        }
        fn ready(&self) -> BoxFuture<'_, Result<OffsetDateTime, Error>> {
            let until = OffsetDateTime::now_utc() + time::Duration::minutes(20);
            let ready = self.1.then_some(until).ok_or(Error::new("AccessDenied"));
            Box::pin(std::future::ready(ready))
        }
    }

    struct Sessions(bool);

    impl Callers for Sessions {
        fn via(&self, _ask: Ask<'_>) -> Option<Arc<dyn Via>> {
            let config = aws_sdk_s3::Config::builder()
                .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
                .build();
            let proxy = s3s_aws::Proxy::from(aws_sdk_s3::Client::from_conf(config));
            Some(Arc::new(Session(Arc::new(proxy), self.0)))
        }
    }

    #[tokio::test]
    async fn a_callers_credential_carries_its_session_and_none_is_shared_silently() {
        let book = KeyBook::new();
        let duration = SessionDuration::from_secs(900).unwrap();
        let (g, caller) = (
            grant(),
            crate::credential::Caller {
                user: "alice".into(),
                program: "curl".into(),
            },
        );
        let ask = || Ask {
            grant: &g,
            policy: String::new(),
            session_name: String::new(),
            caller: Some(&caller),
        };
        let unattributed = LocalMint::new(&book, "s", grant(), duration);
        assert!(unattributed.narrowed(ask()).is_none(), "no shared session");
        let attributed = LocalMint::new(&book, "s", grant(), duration);
        let narrowed = (attributed
            .for_callers(Arc::new(Sessions(true)))
            .narrowed(ask()))
        .unwrap();
        let credential = narrowed.mint().await.unwrap();
        let Lookup::Valid(issued) = book.lookup(&credential.access_key_id) else {
            panic!("not found")
        };
        let via = issued
            .via
            .as_ref()
            .and_then(std::sync::Weak::upgrade)
            .unwrap();
        assert_eq!(via.session(), "s3c.s.alice.curl");
        let left = issued.expiration - OffsetDateTime::now_utc();
        assert!(
            left <= time::Duration::minutes(20),
            "not past its session: {left}"
        );
        let refused = LocalMint::new(&book, "s", grant(), duration);
        let narrowed = (refused
            .for_callers(Arc::new(Sessions(false)))
            .narrowed(ask()))
        .unwrap();
        let error = narrowed.mint().await.unwrap_err();
        assert_eq!(
            error.to_string(),
            "AccessDenied",
            "STS's refusal, not a credential"
        );
    }
}
