//! Renewal, single flight and outage paths, on paused tokio time with a
//! fake STS that counts its calls.

use super::*;
use crate::credential::BoxFuture;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// A wall clock that follows tokio's (paused) time, plus jumps: what a
/// suspend looks like, where the wall clock moves and the monotonic does not.
struct TestClock {
    wall: OffsetDateTime,
    start: tokio::time::Instant,
    jumped: std::sync::Mutex<time::Duration>,
}

impl TestClock {
    fn new() -> Arc<TestClock> {
        Arc::new(TestClock {
            wall: OffsetDateTime::now_utc(),
            start: tokio::time::Instant::now(),
            jumped: std::sync::Mutex::new(time::Duration::ZERO),
        })
    }

    fn jump(&self, by: time::Duration) {
        *self.jumped.lock().unwrap() += by;
    }
}

impl Clock for TestClock {
    fn now(&self) -> OffsetDateTime {
        self.wall + self.start.elapsed() + *self.jumped.lock().unwrap()
    }
}

struct FakeSts {
    calls: AtomicUsize,
    healthy: AtomicBool,
    /// Never answers while set: a connection that stalled.
    stalled: AtomicBool,
    lifetime: Duration,
    latency: Duration,
    clock: Arc<TestClock>,
}

impl FakeSts {
    fn new(lifetime_secs: u64, latency: Duration) -> Arc<FakeSts> {
        Arc::new(FakeSts {
            calls: AtomicUsize::new(0),
            healthy: AtomicBool::new(true),
            stalled: AtomicBool::new(false),
            lifetime: Duration::from_secs(lifetime_secs),
            latency,
            clock: TestClock::new(),
        })
    }

    /// A cache on this STS and its clock.
    fn cache(self: &Arc<Self>, secs: u64) -> Arc<Cache> {
        Cache::with_clock(Box::new(self.clone()), duration(secs), self.clock.clone())
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    fn set_healthy(&self, healthy: bool) {
        self.healthy.store(healthy, Ordering::SeqCst);
    }

    fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }
}

impl Mint for Arc<FakeSts> {
    fn mint(&self) -> BoxFuture<'_, Result<Credential, Error>> {
        Box::pin(async move {
            let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
            tokio::time::sleep(self.latency).await;
            while self.stalled.load(Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            if !self.healthy.load(Ordering::SeqCst) {
                return Err(Error::new("STS is down"));
            }
            Ok(Credential {
                access_key_id: format!("AKIAFAKE{n}"),
                secret_access_key: "secret".into(),
                session_token: "token".into(),
                expiration: self.clock.now() + self.lifetime,
            })
        })
    }
}

fn duration(secs: u64) -> SessionDuration {
    SessionDuration::from_secs(secs).unwrap()
}

fn key(held: &Held) -> &str {
    &held.access_key_id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_first_requests_make_one_sts_call() {
    let sts = FakeSts::new(3600, Duration::from_millis(50));
    let cache = sts.cache(3600);
    let tasks: Vec<_> = (0..1000)
        .map(|_| {
            let cache = cache.clone();
            tokio::spawn(async move { cache.get().await.map(|h| key(&h).to_owned()) })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap(), "AKIAFAKE1");
    }
    assert_eq!(sts.calls(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_failures_are_shared_too() {
    let sts = FakeSts::new(3600, Duration::from_millis(50));
    sts.set_healthy(false);
    let cache = sts.cache(3600);
    let tasks: Vec<_> = (0..200)
        .map(|_| {
            let cache = cache.clone();
            tokio::spawn(async move { cache.get().await.err().map(|e| e.to_string()) })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().as_deref(), Some("STS is down"));
    }
    assert_eq!(sts.calls(), 1);
}

#[test]
fn margin_is_half_the_duration_up_to_fifteen_minutes() {
    assert_eq!(renew_margin(duration(900)), Duration::from_secs(450));
    assert_eq!(renew_margin(duration(1800)), Duration::from_secs(900));
    assert_eq!(renew_margin(duration(43200)), Duration::from_secs(900));
}

#[tokio::test(start_paused = true)]
async fn served_credentials_always_keep_the_margin_while_sts_is_healthy() {
    for secs in [900, 3600] {
        let sts = FakeSts::new(secs, Duration::from_millis(200));
        let cache = sts.cache(secs);
        let margin = renew_margin(duration(secs));
        cache.prime().await.unwrap();
        let renewer = cache.spawn_renewer();
        let mut keys = std::collections::BTreeSet::new();
        // Three whole lifetimes, asking every 5 seconds.
        for _ in 0..(3 * secs / 5) {
            tokio::time::sleep(Duration::from_secs(5)).await;
            let held = cache.get().await.unwrap();
            let left = held.expires_in(sts.now());
            assert!(left >= margin, "{secs}s: {left:?} left");
            keys.insert(key(&held).to_owned());
        }
        // A renewal that began just before the last look (its STS call
        // takes 200 ms) is served by one more look after it ends; without
        // it, the spread's random draw now and then left it unseen.
        tokio::time::sleep(Duration::from_secs(1)).await;
        keys.insert(key(&cache.get().await.unwrap()).to_owned());
        renewer.abort();
        // Each credential is used for lifetime - margin - lead, so a few
        // renewals happened, each exactly one STS call.
        // (up to RENEW_SPREAD sooner at random).
        let used = (secs - margin.as_secs() - RENEW_LEAD.as_secs()) as f64;
        let fewest = (3 * secs) as f64 / used;
        let most = (3 * secs) as f64 / (used * (1.0 - RENEW_SPREAD)) + 1.0;
        let calls = sts.calls() as f64;
        assert!(
            fewest.floor() <= calls && calls <= most,
            "{secs}s: {calls} calls, expected {fewest:.1}..={most:.1}"
        );
        assert_eq!(
            keys.len(),
            sts.calls(),
            "every minted credential was served"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn an_outage_serves_the_held_credential_then_503_then_recovers() {
    let sts = FakeSts::new(900, Duration::from_millis(100));
    let cache = sts.cache(900);
    let first = cache.prime().await.unwrap();
    sts.set_healthy(false);
    let renewer = cache.spawn_renewer();

    // Until it expires, the held credential is served though STS fails.
    while first.expires_in(sts.now()) > Duration::from_secs(1) {
        let held = cache.get().await.expect("held credential is still valid");
        assert_eq!(key(&held), "AKIAFAKE1");
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let calls_during_outage = sts.calls();
    assert!(calls_during_outage > 2, "the renewer kept retrying");

    // Expired and STS down: every request is refused without an STS call.
    for _ in 0..100 {
        assert_eq!(cache.get().await.unwrap_err().to_string(), "STS is down");
    }
    assert!(cache.expires_in().is_err());
    assert!(
        sts.calls() <= calls_during_outage + 1,
        "requests do not call STS"
    );

    // STS comes back: the renewer recovers by itself within the backoff cap.
    sts.set_healthy(true);
    tokio::time::sleep(BACKOFF_CAP + Duration::from_secs(1)).await;
    cache.expires_in().expect("recovered without a request");
    assert_ne!(key(&cache.get().await.unwrap()), "AKIAFAKE1");
    renewer.abort();
}

#[tokio::test(start_paused = true)]
async fn backoff_is_capped_exponential() {
    let sts = FakeSts::new(900, Duration::from_millis(1));
    let cache = sts.cache(900);
    cache.prime().await.unwrap();
    sts.set_healthy(false);
    let renewer = cache.spawn_renewer();
    // Renewal is due after 420 s; then retries at ~1, 2, 4, 8, 16, 30, 30...
    tokio::time::sleep(Duration::from_secs(420 + 600)).await;
    renewer.abort();
    let retries = sts.calls() - 1;
    // 600 s of retrying: at least 5 + 540/30, at most 5 + 540/15 + 1.
    assert!((20..=45).contains(&retries), "{retries} retries");
}

#[tokio::test(start_paused = true)]
async fn an_already_expired_credential_does_not_make_the_renewer_spin() {
    // A clock far ahead of STS's: every credential looks expired on arrival.
    let sts = FakeSts::new(0, Duration::ZERO);
    let cache = sts.cache(900);
    cache.prime().await.unwrap();
    let renewer = cache.spawn_renewer();
    tokio::time::sleep(Duration::from_secs(10)).await;
    renewer.abort();
    assert!(sts.calls() <= 12, "{} STS calls in 10 s", sts.calls());
}

/// A cache with a renewer on a healthy STS, primed: `(sts, cache, renewer)`.
async fn serving(secs: u64) -> (Arc<FakeSts>, Arc<Cache>, tokio::task::JoinHandle<()>) {
    let sts = FakeSts::new(secs, Duration::from_millis(100));
    let cache = sts.cache(secs);
    cache.prime().await.unwrap();
    let renewer = cache.spawn_renewer();
    (sts, cache, renewer)
}

#[tokio::test(start_paused = true)]
async fn after_a_suspend_past_expiry_the_next_request_gets_a_fresh_credential() {
    let (sts, cache, renewer) = serving(3600).await;
    let margin = renew_margin(duration(3600));
    // Two hours of sleep: the wall clock moves, tokio's does not.
    sts.clock.jump(time::Duration::hours(2));
    assert!(cache.expires_in().is_err(), "not valid by the wall clock");
    let asked = tokio::time::Instant::now();
    let held = cache.get().await.unwrap();
    assert!(asked.elapsed() <= Duration::from_secs(1));
    assert_eq!(key(&held), "AKIAFAKE2");
    assert!(held.expires_in(sts.now()) >= margin);
    assert!(cache.expires_in().unwrap() >= margin, "/healthz agrees");
    assert_eq!(sts.calls(), 2);
    renewer.abort();
}

#[tokio::test(start_paused = true)]
async fn a_suspend_into_the_margin_renews_instead_of_serving_a_short_credential() {
    let (sts, cache, renewer) = serving(3600).await;
    let margin = renew_margin(duration(3600));
    // 50 minutes asleep: still valid, with 10 minutes (less than the margin) left.
    sts.clock.jump(time::Duration::minutes(50));
    let held = cache.get().await.unwrap();
    assert_eq!(key(&held), "AKIAFAKE2");
    assert!(held.expires_in(sts.now()) >= margin);
    renewer.abort();
}

#[tokio::test(start_paused = true)]
async fn the_renewer_notices_a_forward_jump_within_30_seconds_on_its_own() {
    let (sts, cache, renewer) = serving(3600).await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    sts.clock.jump(time::Duration::hours(2));
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert_eq!(sts.calls(), 2, "renewed without a request");
    let left = cache.expires_in().expect("a valid credential is held");
    assert!(left >= renew_margin(duration(3600)), "{left:?}");
    renewer.abort();
}

#[tokio::test(start_paused = true)]
async fn a_backward_jump_causes_no_renewal_and_no_early_expiry() {
    let (sts, cache, renewer) = serving(900).await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    sts.clock.jump(-time::Duration::hours(1));
    for _ in 0..60 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(key(&cache.get().await.unwrap()), "AKIAFAKE1");
    }
    assert_eq!(sts.calls(), 1, "no renewal storm");
    renewer.abort();
}

#[tokio::test(start_paused = true)]
async fn a_stalled_sts_never_holds_a_request_longer_than_a_second() {
    let (sts, cache, renewer) = serving(900).await;
    sts.stalled.store(true, Ordering::SeqCst);
    // Past expiry, with the renewal call hanging on a dead connection.
    sts.clock.jump(time::Duration::minutes(20));
    let asked = tokio::time::Instant::now();
    let waits: Vec<_> = (0..100)
        .map(|_| {
            let cache = cache.clone();
            tokio::spawn(async move { cache.get().await.err().map(|e| e.to_string()) })
        })
        .collect();
    for wait in waits {
        assert_eq!(
            wait.await.unwrap().as_deref(),
            Some("STS has not answered yet")
        );
    }
    assert!(asked.elapsed() <= Duration::from_secs(1));
    assert_eq!(sts.calls(), 2, "one call in flight for everyone");
    // The connection comes back: the call in flight answers, and requests
    // are served again.
    sts.stalled.store(false, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(key(&cache.get().await.unwrap()), "AKIAFAKE2");
    renewer.abort();
}

#[test]
fn renewals_minted_together_are_spread_out() {
    let now = OffsetDateTime::now_utc();
    let credential = Credential {
        access_key_id: "AKIAFAKE".into(),
        secret_access_key: "s".into(),
        session_token: "t".into(),
        expiration: now + time::Duration::hours(1),
    };
    let margin = renew_margin(duration(3600));
    let at: Vec<OffsetDateTime> = (0..100)
        .map(|_| Held::new(&credential, margin, now).renew_at)
        .collect();
    let latest = now + time::Duration::seconds(3600 - 900 - 30);
    let (first, last) = (at.iter().min().unwrap(), at.iter().max().unwrap());
    assert!(*last <= latest, "never later than the margin allows");
    // 100 draws over 534 s: at least a minute apart, with near certainty.
    assert!(
        *last - *first > time::Duration::minutes(1),
        "{first} .. {last}"
    );
}
