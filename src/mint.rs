//! Minting many scopes at once, `IN_FLIGHT` at a time so STS is not
//! flooded: startup's way (all, or the first error) and reload's (each
//! scope on its own).

mod upstream;

use crate::cache::Cache;
use crate::local::KeyBook;
use crate::registry::Served;
use crate::scope::{Scope, Serve, DEFAULT_SCOPE};
use crate::sts::{Aws, Minter};
use crate::Error;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use tokio::task::JoinSet;

/// How many scopes are prepared or minted at once: enough to start 100
/// scopes in seconds, few enough not to flood STS.
pub(crate) const IN_FLIGHT: usize = 8;

/// Work under way, each result with its scope's name.
type Tasks<T> = JoinSet<(String, Result<T, Error>)>;

/// Startup: every scope's buckets and role (step 2 and 3), then
/// `before_minting`, then every first credential (step 4). The first
/// failure, naming its scope, stops the rest.
pub(crate) async fn all_or_nothing(
    aws: &Arc<Aws>,
    book: &Arc<KeyBook>,
    scopes: Vec<Scope>,
    before_minting: impl FnOnce(),
) -> Result<BTreeMap<String, Arc<Served>>, Error> {
    let caches = first_error(prepare(aws, book, scopes)).await?;
    before_minting();
    first_error(prime(caches.into_iter().collect())).await
}

/// Reload: the scopes that minted, and each failure (naming its scope).
pub(crate) async fn each(
    aws: &Arc<Aws>,
    book: &Arc<KeyBook>,
    scopes: Vec<Scope>,
) -> (Vec<(String, Arc<Served>)>, Vec<(String, Error)>) {
    let (caches, mut failed) = settle(prepare(aws, book, scopes)).await;
    let (served, failed_too) = settle(prime(caches)).await;
    failed.extend(failed_too);
    (served, failed)
}

/// The server itself as a caller: its user, the program `s3-credentials`.
/// An attributed scope's own credential is minted for it at startup, so a
/// trust policy without attribution's actions fails there, not later.
fn the_server() -> crate::credential::Caller {
    crate::credential::Caller {
        user: crate::peer::user_name(nix::unistd::getuid().as_raw()),
        program: "s3-credentials".into(),
    }
}

/// `scope`'s STS minter, its buckets and role settled (startup steps 2
/// and 3), attributed to the server itself where the scope attributes
/// each caller: served directly, or behind the gateway.
async fn minter(aws: &Aws, scope: &Scope) -> Result<Minter, Error> {
    let minter = Minter::prepare(aws, scope).await?;
    Ok(match scope.attribute {
        true => minter.attributed_to(&the_server()),
        false => minter,
    })
}

/// A scope's error, naming the scope unless it is the command line's (its
/// causes kept).
pub(crate) fn named(scope: &str, error: Error) -> Error {
    match scope {
        DEFAULT_SCOPE => error,
        _ => Error::caused(format!("scope '{scope}': {error}"), error),
    }
}

/// A scope's cache, ready to prime, with what its clients may narrow, and
/// how the gateway forwards (for a scope served through it).
type Prepared = (Arc<Cache>, Scope, Option<upstream::Forwarding>);

fn prepare(aws: &Arc<Aws>, book: &Arc<KeyBook>, scopes: Vec<Scope>) -> Tasks<Prepared> {
    let (aws, book) = (aws.clone(), book.clone());
    let named_scopes = scopes.into_iter().map(|s| (s.name.clone(), s)).collect();
    bounded(named_scopes, move |scope| {
        let (aws, book) = (aws.clone(), book.clone());
        async move {
            match scope.serve {
                Serve::Direct => {
                    let minter = minter(&aws, &scope).await?;
                    Ok((Cache::new(Box::new(minter), scope.duration), scope, None))
                }
                Serve::Gateway(kind) => {
                    let (cache, forwarding) = upstream::prepare(&aws, &book, &scope, kind).await?;
                    Ok((cache, scope, Some(forwarding)))
                }
            }
        }
    })
}

fn prime(caches: Vec<(String, Prepared)>) -> Tasks<Arc<Served>> {
    bounded(caches, |(cache, scope, forwarding)| async move {
        let upstream = match forwarding {
            Some(forwarding) => Some(forwarding.prime().await?),
            None => None,
        };
        cache.prime().await?;
        Ok(match upstream {
            Some(up) => {
                Served::through_gateway(cache, &scope.name, scope.grant, up, scope.attribute)
            }
            None => Served::narrowable(cache, &scope.name, scope.grant, scope.attribute),
        })
    })
}

/// Runs `work` on each item, `IN_FLIGHT` at a time.
fn bounded<I, T, F, Fut>(items: Vec<(String, I)>, work: F) -> Tasks<T>
where
    F: Fn(I) -> Fut,
    Fut: Future<Output = Result<T, Error>> + Send + 'static,
    T: Send + 'static,
{
    let slots = Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT));
    let mut tasks = JoinSet::new();
    for (name, item) in items {
        let (job, slots) = (work(item), slots.clone());
        tasks.spawn(async move {
            let _slot = slots.acquire_owned().await;
            (name, job.await)
        });
    }
    tasks
}

/// The next result, in the order they finish.
async fn next<T: 'static>(tasks: &mut Tasks<T>) -> Option<(String, Result<T, Error>)> {
    let joined = tasks.join_next().await?;
    Some(joined.unwrap_or_else(|e| {
        (
            "?".into(),
            Err(Error::new(format!("a scope's task failed: {e}"))),
        )
    }))
}

/// All results, or the first error (dropping `tasks` cancels the rest).
async fn first_error<T: 'static>(mut tasks: Tasks<T>) -> Result<BTreeMap<String, T>, Error> {
    let mut done = BTreeMap::new();
    while let Some((name, result)) = next(&mut tasks).await {
        let value = result.map_err(|e| named(&name, e))?;
        done.insert(name, value);
    }
    Ok(done)
}

/// Every result, successes and failures apart.
async fn settle<T: 'static>(mut tasks: Tasks<T>) -> (Vec<(String, T)>, Vec<(String, Error)>) {
    let (mut done, mut failed) = (Vec::new(), Vec::new());
    while let Some((name, result)) = next(&mut tasks).await {
        match result {
            Ok(value) => done.push((name, value)),
            Err(e) => failed.push((name.clone(), named(&name, e))),
        }
    }
    (done, failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_named_scopes_error_keeps_its_causes() {
        let io = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let error = named("big", Error::caused("asking STS failed", io));
        assert_eq!(error.to_string(), "scope 'big': asking STS failed");
        assert_eq!(
            crate::error::chain(&error),
            "scope 'big': asking STS failed: connection refused"
        );
        let error = named(DEFAULT_SCOPE, Error::new("as it was"));
        assert_eq!(error.to_string(), "as it was");
    }
}
