//! Measurements, not tests: `scripts/bench` runs them (`--ignored`) and
//! quotes what they print. They assert only that the run was whole.

use crate::support::*;
use std::time::{Duration, Instant};

/// The most of `times` that fall in any one second.
fn most_in_a_second(times: &[Instant]) -> usize {
    let mut sorted = times.to_vec();
    sorted.sort();
    let mut most = 0;
    let mut start = 0;
    for end in 0..sorted.len() {
        while sorted[end] - sorted[start] >= Duration::from_secs(1) {
            start += 1;
        }
        most = most.max(end - start + 1);
    }
    most
}

/// 100 scopes from one file against the fake STS, whose credentials live
/// 5 minutes: how their AssumeRole calls fall at startup (8 in flight, all
/// at once by design) and over the first renewal round (spread).
#[test]
#[ignore = "a measurement: scripts/bench runs it"]
fn bench_scope_renewals_are_spread() {
    let scopes: usize = std::env::var("SCOPES").map_or(100, |n| n.parse().unwrap());
    let moto = Moto::shared();
    let sts = FakeSts::start(300);
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::new();
    for i in 0..scopes {
        let bucket = moto.bucket(&format!("spread{i:03}"));
        text.push_str(&format!("[scope.s{i:03}]\nbuckets = [\"{bucket}\"]\n"));
    }
    let path = dir.path().join("scopes.toml");
    std::fs::write(&path, text).unwrap();
    let server = sts
        .server(moto, "")
        .args(&["--config", path.to_str().unwrap(), "--quiet"])
        .run();
    polled("every scope renewed once", Duration::from_secs(180), || {
        (sts.calls() >= 2 * scopes).then_some(())
    });
    let times = sts.times.lock().unwrap().clone();
    let (startup, renewals) = times.split_at(scopes);
    let renewals = &renewals[..scopes.min(renewals.len())];
    let span = |t: &[Instant]| (*t.iter().max().unwrap() - *t.iter().min().unwrap()).as_secs_f64();
    println!("| {scopes} scopes, 5-minute credentials | AssumeRole calls | spread over | most in any one second |");
    println!("| --- | ---: | ---: | ---: |");
    println!(
        "| startup (8 in flight) | {} | {:.1} s | {} |",
        startup.len(),
        span(startup),
        most_in_a_second(startup)
    );
    println!(
        "| first renewal round | {} | {:.1} s | {} |",
        renewals.len(),
        span(renewals),
        most_in_a_second(renewals)
    );
    drop(server);
}
