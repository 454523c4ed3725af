//! A load client for the gateway's benchmark (`scripts/bench-gateway`):
//! one process, aws-sdk-s3 on tokio, many requests in flight, so that the
//! client is not what limits small requests (boto3 makes about 41 GETs of
//! 1 KiB a second). The same client runs straight to the backend and
//! through the gateway; only the endpoint and the credential change.
//!
//! `cargo run --release --example s3load -- ENDPOINT BUCKET OP SIZE CONCURRENCY LIMIT`
//!
//! - OP: `put` writes SIZE bytes to `s3load/SIZE`; `get` reads that key
//!   (put it first) and checks it is SIZE bytes long.
//! - SIZE: bytes, or with a `K`, `M` or `G` suffix (KiB, MiB, GiB).
//! - CONCURRENCY: requests in flight, each on its own task.
//! - LIMIT: `Ns` runs for N seconds (requests started before the end are
//!   finished and counted); a bare number makes that many requests.
//!
//! Credentials come from `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and
//! `AWS_SESSION_TOKEN` (optional), the region from `AWS_REGION` (else
//! us-east-1). Path-style addressing; no retries, so a failure is counted,
//! not hidden. The SDK's defaults otherwise: a signed payload (SHA-256)
//! and a CRC32 checksum on PUT, as any aws-sdk-s3 program sends them.
//!
//! Prints one JSON line: op, size, concurrency, requests, errors (the
//! first error's text, if any), seconds, requests per second, MiB/s, and
//! the client's own CPU time in clock ticks (utime + stime, proc(5)), so
//! that a run on a shared machine says what the client itself took.

use aws_credential_types::Credentials;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::{BehaviorVersion, Region};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;
use bytes::Bytes;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// When the run ends: after a time, or after a number of requests.
#[derive(Clone, Copy)]
enum Limit {
    For(Duration),
    Count(u64),
}

/// What one run is asked to do, from the command line.
struct Args {
    endpoint: String,
    bucket: String,
    put: bool,
    size: u64,
    concurrency: usize,
    limit: Limit,
}

/// What the tasks count together.
#[derive(Default)]
struct Tally {
    started: AtomicU64,
    done: AtomicU64,
    errors: AtomicU64,
    first_error: Mutex<Option<String>>,
}

const USAGE: &str = "usage: s3load ENDPOINT BUCKET get|put SIZE[K|M|G] CONCURRENCY SECONDSs|COUNT";

fn parse_size(s: &str) -> Option<u64> {
    let (digits, unit) = match s.char_indices().last()? {
        (i, 'K' | 'k') => (&s[..i], 1 << 10),
        (i, 'M' | 'm') => (&s[..i], 1 << 20),
        (i, 'G' | 'g') => (&s[..i], 1 << 30),
        _ => (s, 1),
    };
    digits.parse::<u64>().ok()?.checked_mul(unit)
}

fn parse_args() -> Result<Args, String> {
    let v: Vec<String> = std::env::args().skip(1).collect();
    let [endpoint, bucket, op, size, concurrency, limit] = v.as_slice() else {
        return Err(USAGE.into());
    };
    let put = match op.as_str() {
        "put" => true,
        "get" => false,
        _ => return Err(format!("OP must be get or put, not {op:?}; {USAGE}")),
    };
    let size = parse_size(size).ok_or_else(|| format!("bad SIZE {size:?}; {USAGE}"))?;
    let concurrency = concurrency
        .parse()
        .ok()
        .filter(|&c| c > 0)
        .ok_or_else(|| format!("bad CONCURRENCY {concurrency:?}; {USAGE}"))?;
    let limit = match limit.strip_suffix('s') {
        Some(secs) => secs
            .parse()
            .ok()
            .map(Duration::from_secs_f64)
            .map(Limit::For),
        None => limit.parse().ok().map(Limit::Count),
    }
    .ok_or_else(|| format!("bad LIMIT {limit:?}; {USAGE}"))?;
    Ok(Args {
        endpoint: endpoint.clone(),
        bucket: bucket.clone(),
        put,
        size,
        concurrency,
        limit,
    })
}

fn client(endpoint: &str) -> Result<Client, String> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let (Some(id), Some(secret)) = (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY")) else {
        return Err("set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY".into());
    };
    let credentials = Credentials::new(id, secret, env("AWS_SESSION_TOKEN"), None, "s3load");
    let region = env("AWS_REGION").unwrap_or_else(|| "us-east-1".into());
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region))
        .credentials_provider(credentials)
        .endpoint_url(endpoint)
        .force_path_style(true)
        .retry_config(RetryConfig::disabled())
        .build();
    Ok(Client::from_conf(config))
}

/// One request; the bytes moved, or the error's text.
async fn one(client: &Client, args: &Args, key: &str, body: &Bytes) -> Result<u64, String> {
    if args.put {
        client
            .put_object()
            .bucket(&args.bucket)
            .key(key)
            .body(ByteStream::from(body.clone()))
            .send()
            .await
            .map_err(|e| format!("{}", aws_sdk_s3::error::DisplayErrorContext(e)))?;
        return Ok(args.size);
    }
    let out = client
        .get_object()
        .bucket(&args.bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| format!("{}", aws_sdk_s3::error::DisplayErrorContext(e)))?;
    let mut stream = out.body;
    let mut got = 0u64;
    while let Some(chunk) = stream.try_next().await.map_err(|e| e.to_string())? {
        got += chunk.len() as u64;
    }
    if got != args.size {
        return Err(format!("got {got} bytes, expected {}", args.size));
    }
    Ok(got)
}

/// One task: requests one after another until the limit.
async fn worker(
    client: Client,
    args: Arc<Args>,
    body: Bytes,
    tally: Arc<Tally>,
    ends: Option<Instant>,
) {
    let key = format!("s3load/{}", args.size);
    loop {
        match (args.limit, ends) {
            (Limit::Count(n), _) if tally.started.fetch_add(1, Ordering::Relaxed) >= n => return,
            (Limit::For(_), Some(end)) if Instant::now() >= end => return,
            _ => {}
        }
        match one(&client, &args, &key, &body).await {
            Ok(_) => tally.done.fetch_add(1, Ordering::Relaxed),
            Err(e) => {
                tally.first_error.lock().unwrap().get_or_insert(e);
                tally.errors.fetch_add(1, Ordering::Relaxed)
            }
        };
    }
}

/// This process's CPU time so far, in clock ticks (`getconf CLK_TCK`):
/// utime + stime, fields 14 and 15 of `/proc/self/stat` (proc(5)); 0
/// where there is no such file.
fn cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command name, which is in parentheses, start
    // at field 3.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let field = |n: usize| fields.get(n - 3).and_then(|v| v.parse::<u64>().ok());
    field(14).unwrap_or(0) + field(15).unwrap_or(0)
}

#[tokio::main]
async fn main() {
    let args = match parse_args() {
        Ok(args) => Arc::new(args),
        Err(e) => {
            eprintln!("s3load: {e}");
            std::process::exit(2);
        }
    };
    let client = match client(&args.endpoint) {
        Ok(client) => client,
        Err(e) => {
            eprintln!("s3load: {e}");
            std::process::exit(2);
        }
    };
    let body = Bytes::from(vec![b'x'; if args.put { args.size as usize } else { 0 }]);
    let tally = Arc::new(Tally::default());
    let started = Instant::now();
    let ends = match args.limit {
        Limit::For(d) => Some(started + d),
        Limit::Count(_) => None,
    };
    let tasks: Vec<_> = (0..args.concurrency)
        .map(|_| {
            let task = worker(
                client.clone(),
                args.clone(),
                body.clone(),
                tally.clone(),
                ends,
            );
            tokio::spawn(task)
        })
        .collect();
    for task in tasks {
        let _ = task.await;
    }
    let seconds = started.elapsed().as_secs_f64();
    let done = tally.done.load(Ordering::Relaxed);
    let errors = tally.errors.load(Ordering::Relaxed);
    let line = serde_json::json!({
        "op": if args.put { "put" } else { "get" },
        "size": args.size,
        "concurrency": args.concurrency,
        "requests": done,
        "errors": errors,
        "first_error": tally.first_error.lock().unwrap().clone(),
        "seconds": seconds,
        "requests_per_sec": done as f64 / seconds,
        "mib_per_sec": (done * args.size) as f64 / seconds / f64::from(1 << 20),
        "client_ticks": cpu_ticks(),
    });
    println!("{line}");
    if errors > 0 {
        std::process::exit(1);
    }
}
