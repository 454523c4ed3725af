//! `GET /metrics`, end to end: counted requests and STS calls, read with
//! the Prometheus project's own Python parser.

use crate::support::*;
use std::collections::BTreeMap;
use std::process::Command;

/// Every sample of a scrape, `name{label="v",...}` (labels sorted) ->
/// value, as `prometheus_client`'s text parser reads it.
fn parse(text: &str) -> BTreeMap<String, f64> {
    let script = r#"
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = {}
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        labels = ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()))
        out[f"{s.name}{{{labels}}}"] = s.value
print(json.dumps(out))
"#;
    let mut child = spawn(
        Command::new(tool("python3"))
            .args(["-c", script])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped()),
    );
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output();
    assert!(
        out.status.success(),
        "{}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn sample(samples: &BTreeMap<String, f64>, key: &str) -> f64 {
    *samples
        .get(key)
        .unwrap_or_else(|| panic!("no {key} in {samples:#?}"))
}

#[test]
fn metrics_count_what_was_asked_over_each_transport() {
    let moto = Moto::shared();
    let server = Start::new(moto, &moto.bucket("metrics")).run();
    for _ in 0..3 {
        assert_eq!(server.get("/").0, 200);
    }
    assert_eq!(server.get("/healthz").0, 200);
    assert_eq!(server.get("/scope/nope").0, 404);
    assert_eq!(server.get("/nope").0, 404);
    let stream = std::os::unix::net::UnixStream::connect(server.socket()).unwrap();
    let mut conn = KeepAlive::new(stream);
    for _ in 0..2 {
        assert_eq!(conn.get("/ecs").unwrap().0, 200);
    }
    let (status, headers, body) = server.get("/metrics");
    assert_eq!(status, 200);
    assert_eq!(
        header(&headers, "content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let samples = parse(&body);
    let requests = |route: &str, transport: &str, status: u16| {
        let key = format!(
            r#"s3_credentials_requests_total{{route="{route}",status="{status}",transport="{transport}"}}"#
        );
        samples.get(&key).copied().unwrap_or(0.0)
    };
    assert_eq!(requests("/", "tcp", 200), 3.0);
    assert_eq!(requests("/healthz", "tcp", 200), 1.0);
    assert_eq!(requests("/scope/{name}", "tcp", 404), 1.0);
    assert_eq!(requests("other", "tcp", 404), 1.0);
    assert_eq!(requests("/ecs", "unix", 200), 2.0);
    assert_eq!(
        requests("/metrics", "tcp", 200),
        0.0,
        "counted after it answers"
    );
    assert_eq!(
        sample(
            &samples,
            r#"s3_credentials_sts_calls_total{result="ok",scope="default"}"#
        ),
        1.0
    );
    assert_eq!(
        sample(&samples, r#"s3_credentials_sts_call_seconds_count{}"#),
        1.0
    );
    let expiry = sample(
        &samples,
        r#"s3_credentials_credential_expiry_seconds{scope="default"}"#,
    );
    assert!((800.0..=900.0).contains(&expiry), "{expiry}");
    assert_eq!(
        sample(&samples, r#"s3_credentials_log_lines_dropped_total{}"#),
        0.0
    );
    // Behind the same guards as every route.
    let (status, _, _) = http(
        server.addr(),
        &format!(
            "GET /metrics HTTP/1.1\r\nHost: evil.example:{}\r\n\r\n",
            server.port
        ),
    );
    assert_eq!(status, 403);
    // And the second scrape counts the first.
    let again = parse(&server.get("/metrics").2);
    assert_eq!(
        sample(
            &again,
            r#"s3_credentials_requests_total{route="/metrics",status="200",transport="tcp"}"#
        ),
        1.0
    );
}

#[test]
fn an_sts_failure_shows_in_the_sts_counter_and_a_renewal_in_its_own() {
    let moto = Moto::shared();
    let sts = FakeSts::start(20);
    let server = sts.server(moto, &moto.bucket("metricsfail")).run();
    sts.set_healthy(false);
    let samples = polled(
        "a failed renewal to be counted",
        std::time::Duration::from_secs(30),
        || {
            let samples = parse(&server.get("/metrics").2);
            let key = r#"s3_credentials_sts_calls_total{result="error",scope="default"}"#;
            (samples.get(key).copied().unwrap_or(0.0) >= 1.0).then_some(samples)
        },
    );
    assert_eq!(
        sample(
            &samples,
            r#"s3_credentials_sts_calls_total{result="ok",scope="default"}"#
        ),
        1.0
    );
}
