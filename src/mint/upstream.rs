//! A scope served through the gateway, prepared: the cache of local
//! credentials its clients get, and what the gateway forwards with (the
//! scope's real STS credential, kept fresh, or the server's own keys).

use crate::cache::{Cache, Renewer};
use crate::credential::{Ask, BoxFuture};
use crate::local::{Callers, KeyBook, LocalMint, Via};
use crate::registry::Upstream;
use crate::scope::{self, Scope};
use crate::sts::{self, Aws};
use crate::Error;
use aws_credential_types::provider::{self, future, ProvideCredentials};
use aws_sdk_s3::config::SharedCredentialsProvider;
use std::sync::Arc;

/// A gateway scope before its first credentials.
pub(super) struct Forwarding {
    /// Which minting of local credentials this is.
    issuer: u64,
    /// Signs upstream.
    client: aws_sdk_s3::Client,
    /// The real credential (STS); `None`: the server's own keys.
    real: Option<Arc<Cache>>,
}

/// Startup steps 2 and 3 for a scope served through the gateway: its
/// buckets and role as any scope's (STS), or its buckets alone, with the
/// server's own keys and no STS call (`upstream = "keys"`). Returns the
/// cache of local credentials, and how to forward.
pub(super) async fn prepare(
    aws: &Arc<Aws>,
    book: &Arc<KeyBook>,
    scope: &Scope,
    kind: scope::Upstream,
) -> Result<(Arc<Cache>, Forwarding), Error> {
    let real = match kind {
        scope::Upstream::Sts => {
            let minter = super::minter(aws, scope).await?;
            Some(Cache::new(Box::new(minter), scope.duration))
        }
        scope::Upstream::Keys => {
            sts::check_buckets(aws, scope).await?;
            None
        }
    };
    let provider =
        (real.clone()).map(|cache| SharedCredentialsProvider::new(CacheCredentials(cache)));
    let client = sts::gateway_client(aws, provider);
    let mut local = LocalMint::new(book, &scope.name, scope.grant.clone(), scope.duration);
    if let (true, Some(real)) = (scope.attribute, &real) {
        let callers = Sessions {
            aws: aws.clone(),
            scope: real.clone(),
        };
        local = local.for_callers(Arc::new(callers));
    }
    let forwarding = Forwarding {
        issuer: local.issuer(),
        client,
        real,
    };
    Ok((Cache::new(Box::new(local), scope.duration), forwarding))
}

impl Forwarding {
    /// The first real credential (STS's errors fail the scope here), then
    /// the forwarding the registry keeps.
    pub(super) async fn prime(self) -> Result<Upstream, Error> {
        if let Some(real) = &self.real {
            real.prime().await?;
        }
        let proxy = s3s_aws::Proxy::from(self.client);
        Ok(Upstream::new(self.issuer, proxy, self.real.as_ref()))
    }
}

/// Makes each caller's own upstream session of an attributed scope: a
/// narrowing of the scope's real minter, named for the caller, in a cache
/// of its own renewed ahead while the gateway uses it.
struct Sessions {
    aws: Arc<Aws>,
    /// The scope's own real credential, whose minter is narrowed.
    scope: Arc<Cache>,
}

impl Callers for Sessions {
    fn via(&self, ask: Ask<'_>) -> Option<Arc<dyn Via>> {
        let session = ask.session_name.clone();
        let real = Cache::on_demand(self.scope.narrowed_source(ask)?, self.scope.duration());
        Some(Arc::new(CallerSession {
            aws: self.aws.clone(),
            proxy: std::sync::OnceLock::new(),
            session,
            real,
            renewer: Renewer::default(),
        }))
    }
}

/// One caller's upstream session. Made before the narrowing's budget is
/// asked (which may refuse it), so it costs little until used: its
/// renewer starts when it is first readied, and its S3 client on the
/// gateway's first call; the renewer stops with it.
struct CallerSession {
    aws: Arc<Aws>,
    proxy: std::sync::OnceLock<Arc<s3s_aws::Proxy>>,
    session: String,
    real: Arc<Cache>,
    /// Renews while the gateway uses the session; started again whenever
    /// the session is readied after it stopped (an idle spell), or the
    /// last renewal's failure would stand for good.
    renewer: Renewer,
}

impl Via for CallerSession {
    fn proxy(&self) -> &Arc<s3s_aws::Proxy> {
        self.proxy.get_or_init(|| {
            let provider = SharedCredentialsProvider::new(CacheCredentials(self.real.clone()));
            let client = sts::gateway_client(&self.aws, Some(provider));
            Arc::new(s3s_aws::Proxy::from(client))
        })
    }

    fn session(&self) -> &str {
        &self.session
    }

    fn ready(&self) -> BoxFuture<'_, Result<time::OffsetDateTime, Error>> {
        let real = &self.real;
        self.renewer.keep_going(real);
        Box::pin(async move {
            let mut held = real.get_retrying().await?;
            // Due for renewal, it is renewed now (single flight) for the
            // local credential minted on it, which would be cut short with
            // it; if STS fails, the one held still serves.
            if real.due() {
                held = real.prime().await.unwrap_or(held);
            }
            Ok(held.credential().expiration)
        })
    }
}

/// The SDK's view of a cache: each call gets the cache's current credential.
struct CacheCredentials(Arc<Cache>);

impl std::fmt::Debug for CacheCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CacheCredentials")
    }
}

impl ProvideCredentials for CacheCredentials {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(async move {
            let held =
                (self.0.get().await).map_err(provider::error::CredentialsError::not_loaded)?;
            let c = held.credential();
            Ok(aws_credential_types::Credentials::new(
                &c.access_key_id,
                &c.secret_access_key,
                Some(c.session_token.clone()),
                Some(c.expiration.into()),
                "s3-credentials scope",
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credential::{Credential, Mint};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    /// Counts its mints, each a 4-second credential (due for renewal
    /// after about a second).
    struct Counting(Arc<AtomicUsize>);

    impl Mint for Counting {
        fn mint(&self) -> BoxFuture<'_, Result<Credential, Error>> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Box::pin(std::future::ready(Ok(Credential {
                access_key_id: "ASIACALLER".into(),
                secret_access_key: "secret".into(),
                session_token: "token".into(),
                expiration: time::OffsetDateTime::now_utc() + time::Duration::seconds(4),
            })))
        }
    }

    fn session(aws: &Arc<Aws>, mints: &Arc<AtomicUsize>) -> CallerSession {
        let duration = crate::duration::SessionDuration::from_secs(900).unwrap();
        CallerSession {
            aws: aws.clone(),
            proxy: std::sync::OnceLock::new(),
            session: "s3c.s.alice.curl".into(),
            real: Cache::on_demand(Box::new(Counting(mints.clone())), duration),
            renewer: Renewer::default(),
        }
    }

    /// Mints 1-second credentials, failing where `fails` says (in order).
    struct Scripted(
        std::sync::Mutex<std::collections::VecDeque<bool>>,
        Arc<AtomicUsize>,
    );

    impl Mint for Scripted {
        fn mint(&self) -> BoxFuture<'_, Result<Credential, Error>> {
            self.1.fetch_add(1, Ordering::SeqCst);
            let fail = self.0.lock().unwrap().pop_front().unwrap_or(false);
            Box::pin(std::future::ready(match fail {
                true => Err(Error::new("could not reach STS")),
                false => Ok(Credential {
                    access_key_id: "ASIACALLER".into(),
                    secret_access_key: "secret".into(),
                    session_token: "token".into(),
                    expiration: time::OffsetDateTime::now_utc() + time::Duration::seconds(1),
                }),
            }))
        }
    }

    /// Real time: an idle caller's session expires, its one renewal fails
    /// (STS unreachable a moment); readied again, it is tried again.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_session_whose_renewal_failed_while_idle_is_tried_again_when_readied() {
        let aws = Arc::new(Aws::at("http://127.0.0.1:9").await);
        let mints = Arc::new(AtomicUsize::new(0));
        let mut caller = session(&aws, &mints);
        let script = [false, true].into_iter().collect();
        let scripted = Scripted(std::sync::Mutex::new(script), mints.clone());
        let duration = crate::duration::SessionDuration::from_secs(900).unwrap();
        caller.real = Cache::on_demand(Box::new(scripted), duration);
        caller.ready().await.unwrap();
        tokio::time::sleep(Duration::from_millis(1500)).await; // expired, unused
        assert!(caller.ready().await.is_err(), "STS unreachable");
        caller.ready().await.expect("STS back: tried again");
        assert_eq!(mints.load(Ordering::SeqCst), 3);
    }

    /// Real time: readied when its session is due for renewal (a client
    /// fetching again), the session is renewed then, so the local
    /// credential minted on it is not cut short.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_session_due_for_renewal_is_renewed_when_readied() {
        let aws = Arc::new(Aws::at("http://127.0.0.1:9").await);
        let mints = Arc::default();
        let caller = session(&aws, &mints);
        let first = caller.ready().await.unwrap();
        assert!(!caller.real.due());
        tokio::time::sleep(Duration::from_millis(1200)).await; // due after about 1 s
        let second = caller.ready().await.unwrap();
        assert_eq!(mints.load(Ordering::SeqCst), 2);
        assert!(second > first, "{second} after {first}");
    }

    /// Real time: a caller that fetched once and never used the gateway
    /// costs one AssumeRole; one whose calls went through is renewed.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_callers_session_is_renewed_only_for_the_gateways_calls() {
        let aws = Arc::new(Aws::at("http://127.0.0.1:9").await);
        let (idle, used) = (Arc::default(), Arc::default());
        let (idle_session, used_session) = (session(&aws, &idle), session(&aws, &used));
        let until = idle_session.ready().await.unwrap();
        assert!(until > time::OffsetDateTime::now_utc(), "its expiry");
        used_session.ready().await.unwrap();
        for _ in 0..10 {
            tokio::time::sleep(Duration::from_millis(250)).await;
            used_session.real.get().await.unwrap(); // as the gateway's client asks
        }
        assert_eq!(idle.load(Ordering::SeqCst), 1, "renewed for nobody");
        assert!(used.load(Ordering::SeqCst) > 1, "not renewed while used");
    }
}
