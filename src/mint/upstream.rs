//! A scope served through the gateway, prepared: the cache of local
//! credentials its clients get, and what the gateway forwards with (the
//! scope's real STS credential, kept fresh, or the server's own keys).

use crate::cache::Cache;
use crate::local::{KeyBook, LocalMint};
use crate::registry::Upstream;
use crate::scope::{self, Scope};
use crate::sts::{self, Aws, Minter};
use crate::Error;
use aws_credential_types::provider::{self, future, ProvideCredentials};
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
    aws: &Aws,
    book: &Arc<KeyBook>,
    scope: &Scope,
    kind: scope::Upstream,
) -> Result<(Arc<Cache>, Forwarding), Error> {
    let real = match kind {
        scope::Upstream::Sts => {
            let minter = Minter::prepare(aws, scope).await?;
            Some(Cache::new(Box::new(minter), scope.duration))
        }
        scope::Upstream::Keys => {
            sts::check_buckets(aws, scope).await?;
            None
        }
    };
    let provider = real
        .clone()
        .map(|cache| aws_sdk_s3::config::SharedCredentialsProvider::new(CacheCredentials(cache)));
    let client = sts::gateway_client(aws, provider);
    let local = LocalMint::new(book, &scope.name, scope.grant.clone(), scope.duration);
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
