//! Narrowed entries: bounded in number and in new mints per second, each
//! share apart, no mint spent on a refusal, and not renewed once idle (a
//! fake STS with short credentials).

use super::*;
use crate::credential::{BoxFuture, Credential, Mint};
use crate::duration::SessionDuration;
use crate::policy::Access;
use crate::registry::Served;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::time::Instant;

/// Counts its mints; every narrowed minter it makes counts into `narrowed`.
struct Counting {
    mints: Arc<AtomicUsize>,
    narrowed: Arc<AtomicUsize>,
    lifetime_secs: i64,
}

impl Mint for Counting {
    fn mint(&self) -> BoxFuture<'_, Result<Credential, Error>> {
        let n = self.mints.fetch_add(1, Ordering::SeqCst);
        let lifetime = self.lifetime_secs;
        Box::pin(async move {
            Ok(Credential {
                access_key_id: format!("ASIA{n}"),
                secret_access_key: "secret".into(),
                session_token: "token".into(),
                expiration: time::OffsetDateTime::now_utc() + time::Duration::seconds(lifetime),
            })
        })
    }

    fn narrowed(&self, _: crate::credential::Ask<'_>) -> Option<Box<dyn Mint>> {
        Some(Box::new(Counting {
            mints: self.narrowed.clone(),
            narrowed: self.narrowed.clone(),
            lifetime_secs: self.lifetime_secs,
        }))
    }
}

/// A narrowable scope, and the count of narrowed mints (its own apart).
async fn scope(lifetime_secs: i64) -> (Arc<Served>, Arc<AtomicUsize>) {
    let narrowed = Arc::new(AtomicUsize::new(0));
    let source = Counting {
        mints: Arc::default(),
        narrowed: narrowed.clone(),
        lifetime_secs,
    };
    (served_from(Box::new(source)).await, narrowed)
}

/// A narrowable scope of all of bucket `a`, its own credential from `source`.
async fn served_from(source: Box<dyn Mint>) -> Arc<Served> {
    let cache = Cache::new(source, SessionDuration::from_secs(900).unwrap());
    cache.prime().await.unwrap();
    let grant = Grant {
        buckets: vec!["a".into()],
        access: Access::ReadWrite,
        prefix: "*".into(),
        statements: vec![],
    };
    Served::narrowable(cache, "s", grant, false)
}

fn prefix(i: usize) -> Narrowing {
    Narrowing {
        prefix: Some(format!("p{i}/")),
        ..Narrowing::default()
    }
}

#[tokio::test(start_paused = true)]
async fn a_thousand_narrowings_stay_bounded_and_within_the_mint_rate() {
    let (served, mints) = scope(3600).await;
    let started = Instant::now();
    let (mut granted, mut limited, mut last) = (0, 0, 0);
    for i in 0..1000 {
        match served.narrowed(&prefix(i), Share::Owner, None).await {
            Ok(_) => (granted, last) = (granted + 1, i),
            Err(NarrowFailure::Limited(wait)) => {
                limited += 1;
                assert!(wait <= Duration::from_secs(1), "{wait:?}");
            }
            Err(other) => panic!("{other:?}"),
        }
        tokio::time::advance(Duration::from_millis(100)).await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    // One mint per granted narrowing.
    assert_eq!(mints.load(Ordering::SeqCst), granted);
    assert!(
        granted as f64 <= MINT_BURST + elapsed * MINTS_PER_SECOND + 1.0,
        "{granted} in {elapsed}s"
    );
    assert!(limited > 500, "{limited} limited");
    assert_eq!(served.narrowed_summary().0, MAX_ENTRIES);
    // A held entry is a hit: no new mint, no token needed.
    let before = mints.load(Ordering::SeqCst);
    assert!(served
        .narrowed(&prefix(last), Share::Owner, None)
        .await
        .is_ok());
    assert_eq!(mints.load(Ordering::SeqCst), before);
}

#[tokio::test(start_paused = true)]
async fn the_same_narrowing_asked_again_is_one_mint() {
    let (served, mints) = scope(3600).await;
    let asked = Narrowing {
        buckets: vec!["a".into()],
        access: Some(Access::ReadOnly),
        ..Narrowing::default()
    };
    let first = served.narrowed(&asked, Share::Owner, None).await.unwrap();
    for _ in 0..100 {
        let again = served.narrowed(&asked, Share::Owner, None).await.unwrap();
        assert_eq!(again.0.access_key_id, first.0.access_key_id);
    }
    assert_eq!(mints.load(Ordering::SeqCst), 1);
    let widen = Narrowing {
        buckets: vec!["b".into()],
        ..Narrowing::default()
    };
    assert!(matches!(
        served.narrowed(&widen, Share::Owner, None).await,
        Err(NarrowFailure::Refused(_))
    ));
    assert_eq!(
        mints.load(Ordering::SeqCst),
        1,
        "a refusal made an STS call"
    );
}

/// Real time: 4-second credentials are due for renewal after one second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_entry_is_not_renewed_and_a_used_one_is() {
    let (served, mints) = scope(4).await;
    let idle = prefix(1);
    served.narrowed(&idle, Share::Owner, None).await.unwrap();
    let after_first = mints.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        mints.load(Ordering::SeqCst),
        after_first,
        "an idle entry was renewed"
    );
    let used = prefix(2);
    served.narrowed(&used, Share::Owner, None).await.unwrap();
    let before = mints.load(Ordering::SeqCst);
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        served.narrowed(&used, Share::Owner, None).await.unwrap();
    }
    assert!(
        mints.load(Ordering::SeqCst) > before,
        "a used entry was not renewed"
    );
}

/// The attack: others ask for far more narrowings than their share, long
/// enough to churn all their entries and spend their budget.
#[tokio::test(start_paused = true)]
async fn others_flooding_narrowings_leave_the_owner_its_entries_and_mints() {
    let (served, mints) = scope(3600).await;
    let own = served
        .narrowed(&prefix(0), Share::Owner, None)
        .await
        .unwrap();
    let mut limited = 0;
    for i in 1..1000 {
        if let Err(NarrowFailure::Limited(_)) =
            served.narrowed(&prefix(i), Share::Others, None).await
        {
            limited += 1;
        }
        tokio::time::advance(Duration::from_millis(100)).await;
    }
    assert!(limited > 500, "{limited} limited");
    let mut more = 1000;
    while served
        .narrowed(&prefix(more), Share::Others, None)
        .await
        .is_ok()
    {
        more += 1;
    }
    // The owner's entry is still held: no mint.
    let before = mints.load(Ordering::SeqCst);
    let again = served
        .narrowed(&prefix(0), Share::Owner, None)
        .await
        .unwrap();
    assert_eq!(again.0.access_key_id, own.0.access_key_id);
    assert_eq!(mints.load(Ordering::SeqCst), before);
    // And the owner's whole burst of new mints is its own.
    for i in 0..MINT_BURST as usize {
        let asked = prefix(10_000 + i);
        let got = served.narrowed(&asked, Share::Owner, None).await;
        assert!(got.is_ok(), "the owner's narrowing {i}: {got:?}");
    }
    assert_eq!(
        served.narrowed_summary().0,
        MAX_ENTRIES + 1 + MINT_BURST as usize
    );
}

/// The attack: narrowings refused for their policy's size, or for
/// widening, ask before the budget is looked at, and spend none of it.
#[tokio::test(start_paused = true)]
async fn refused_narrowings_spend_no_mint() {
    let (served, mints) = scope(3600).await;
    let long = "x".repeat(MAX_POLICY_CHARS);
    for i in 0..3 * MINT_BURST as usize {
        let oversize = Narrowing {
            prefix: Some(format!("{long}{i}")),
            ..Narrowing::default()
        };
        let got = served.narrowed(&oversize, Share::Owner, None).await;
        assert!(
            matches!(&got, Err(NarrowFailure::Refused(Refused::Malformed(why))) if why.contains("over STS's limit")),
            "{got:?}"
        );
        let widens = Narrowing {
            buckets: vec![format!("b{i}")],
            ..Narrowing::default()
        };
        let got = served.narrowed(&widens, Share::Owner, None).await;
        assert!(
            matches!(got, Err(NarrowFailure::Refused(Refused::Widens(_)))),
            "{got:?}"
        );
    }
    assert_eq!(mints.load(Ordering::SeqCst), 0);
    // No time passed: the whole burst is still there.
    for i in 0..MINT_BURST as usize {
        let got = served.narrowed(&prefix(i), Share::Owner, None).await;
        assert!(got.is_ok(), "narrowing {i} after the refusals: {got:?}");
    }
}

/// Its own credential is good (`own`); every narrowed mint fails, counted.
struct FailingNarrowed {
    fails: Arc<AtomicUsize>,
    own: bool,
}

impl Mint for FailingNarrowed {
    fn mint(&self) -> BoxFuture<'_, Result<Credential, Error>> {
        if self.own {
            return Box::pin(std::future::ready(Ok(Credential {
                access_key_id: "ASIAOWN".into(),
                secret_access_key: "secret".into(),
                session_token: "token".into(),
                expiration: time::OffsetDateTime::now_utc() + time::Duration::hours(1),
            })));
        }
        self.fails.fetch_add(1, Ordering::SeqCst);
        Box::pin(std::future::ready(Err(Error::new("AccessDenied"))))
    }

    fn narrowed(&self, _: crate::credential::Ask<'_>) -> Option<Box<dyn Mint>> {
        Some(Box::new(FailingNarrowed {
            fails: self.fails.clone(),
            own: false,
        }))
    }
}

/// The attack: a caller asks once for what STS refuses, and goes away.
#[tokio::test(start_paused = true)]
async fn a_narrowing_sts_refuses_is_not_retried_for_nobody() {
    let fails = Arc::new(AtomicUsize::new(0));
    let source = FailingNarrowed {
        fails: fails.clone(),
        own: true,
    };
    let served = served_from(Box::new(source)).await;
    let refused = served.narrowed(&prefix(1), Share::Owner, None).await;
    assert!(matches!(refused, Err(NarrowFailure::Unavailable(_))));
    let after_ask = fails.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(600)).await;
    assert_eq!(
        fails.load(Ordering::SeqCst),
        after_ask,
        "retried for nobody"
    );
    assert_eq!(served.narrowed_summary().0, 0, "no entry left behind");
}

/// The attack: others churn new entries while a caller works through the
/// gateway without fetching again; its entry is in use, so it stays.
#[tokio::test(start_paused = true)]
async fn an_entry_the_gateway_uses_is_not_the_one_let_go() {
    let (served, mints) = scope(3600).await;
    let (_, working) = served
        .narrowed(&prefix(0), Share::Owner, None)
        .await
        .unwrap();
    for i in 1..=MAX_ENTRIES {
        tokio::time::advance(Duration::from_secs(1)).await;
        served.used_by_gateway(&working);
        served
            .narrowed(&prefix(i), Share::Owner, None)
            .await
            .unwrap();
    }
    let before = mints.load(Ordering::SeqCst);
    served
        .narrowed(&prefix(0), Share::Owner, None)
        .await
        .unwrap();
    assert_eq!(
        mints.load(Ordering::SeqCst),
        before,
        "the working entry was let go"
    );
    // Without the gateway's use, the oldest goes: prefix 1 is minted anew.
    served
        .narrowed(&prefix(1), Share::Owner, None)
        .await
        .unwrap();
    assert_eq!(mints.load(Ordering::SeqCst), before + 1);
}

/// The attack: one guest uid spends its budget and churns its entries;
/// another guest's first narrowing is served at once, from its own share.
#[tokio::test(start_paused = true)]
async fn one_guest_flooding_leaves_another_guest_its_entries_and_mints() {
    let (served, mints) = scope(3600).await;
    let (flooder, other) = (Share::Guest(65534), Share::Guest(65533));
    served.narrowed(&prefix(9999), other, None).await.unwrap();
    let mut limited = 0;
    // 40 s: about 90 new entries, past the 64 a share holds.
    for i in 0..400 {
        if let Err(NarrowFailure::Limited(_)) = served.narrowed(&prefix(i), flooder, None).await {
            limited += 1;
        }
        tokio::time::advance(Duration::from_millis(100)).await;
    }
    assert!(limited > 200, "the flooder was limited: {limited}");
    let before = mints.load(Ordering::SeqCst);
    served.narrowed(&prefix(9999), other, None).await.unwrap();
    assert_eq!(mints.load(Ordering::SeqCst), before, "its entry stayed");
    assert!(
        served.narrowed(&prefix(1), other, None).await.is_ok(),
        "its own budget"
    );
}
