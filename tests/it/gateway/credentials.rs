//! Whose local credential, and while when: another scope's key, a
//! narrowed key beyond its narrowing, a key whose scope was removed on
//! reload, the gateway's port from another uid; and what a refusal
//! leaves behind: its metrics and its access line.

use super::{bed, cred_from, gateway_server, scopes, Bed, Cred};
use crate::support::*;
use nix::sys::signal::Signal;
use std::time::Duration;

const TRY: &str = r#"
for i in range(0, len(ARGS), 2):
    out["put %s/%s" % (ARGS[i], ARGS[i + 1])] = code(s3.put_object, Bucket=ARGS[i], Key=ARGS[i + 1], Body=b"x")
    out["get %s/%s" % (ARGS[i], ARGS[i + 1])] = code(s3.get_object, Bucket=ARGS[i], Key=ARGS[i + 1])
"#;

/// Each `(bucket, key)` put and got with `cred`: the outcomes.
fn attempt(bed: &Bed, cred: &Cred, objects: &[(&str, &str)]) -> serde_json::Value {
    attempt_at(bed, bed.gw, cred, objects)
}

/// The same through the gateway on port `gw`.
fn attempt_at(bed: &Bed, gw: u16, cred: &Cred, objects: &[(&str, &str)]) -> serde_json::Value {
    let args: Vec<&str> = objects.iter().flat_map(|(b, k)| [*b, *k]).collect();
    bed.client_at(gw, cred, TRY, &args)
}

fn all_denied(out: &serde_json::Value, naming: &str) {
    for (name, got) in out.as_object().unwrap() {
        let got = got.as_str().unwrap_or_default();
        assert!(
            got.starts_with("AccessDenied: ") && got.contains(naming),
            "{name}: {got}"
        );
    }
}

/// Keys under `prefix` in `bucket`, as moto lists them.
fn keys(bed: &Bed, bucket: &str, prefix: &str) -> serde_json::Value {
    let script = "out['k'] = sorted(o['Key'] for o in s3.list_objects_v2(Bucket=ARGS[0], \
                  Prefix=ARGS[1]).get('Contents', []))";
    bed.owner(script, &[bucket, prefix])["k"].clone()
}

#[test]
fn another_scopes_key_does_not_reach_this_scopes_bucket() {
    let bed = bed();
    let id = unique("side");
    let inside = format!("team/{id}/k");
    let out = attempt(bed, &bed.cred("/scope/side"), &[(&bed.bucket, &inside)]);
    all_denied(&out, "scope 'side'");
    let out = attempt(bed, &bed.cred("/scope/up"), &[(&bed.other, &inside)]);
    all_denied(&out, "scope 'up'");
    assert_eq!(
        keys(bed, &bed.bucket, &format!("team/{id}")),
        serde_json::json!([])
    );
    assert_eq!(
        keys(bed, &bed.other, &format!("team/{id}")),
        serde_json::json!([])
    );
}

#[test]
fn a_narrowed_key_does_not_reach_beyond_its_narrowing() {
    let bed = bed();
    let id = unique("narrow");
    let narrowed = bed.cred(&format!("/scope/up?prefix=team%2F{id}%2Fsub%2F"));
    let (sub, other) = (format!("team/{id}/sub/k"), format!("team/{id}/other/k"));
    let out = attempt(bed, &narrowed, &[(&bed.bucket, &sub)]);
    assert_eq!(out[format!("put {}/{sub}", bed.bucket)], "ok", "{out}");
    let out = attempt(bed, &narrowed, &[(&bed.bucket, &other)]);
    all_denied(&out, &format!("prefix team/{id}/sub/*"));
    let lists = "out['up'] = code(s3.list_objects_v2, Bucket=B, Prefix=ARGS[0])";
    let out = bed.client(&narrowed, lists, &[&format!("team/{id}/")]);
    all_denied(&out, "s3:ListBucket");
    assert_eq!(
        keys(bed, &bed.bucket, &format!("team/{id}/")),
        serde_json::json!([sub])
    );
}

#[test]
fn a_key_of_a_scope_removed_on_reload_is_refused() {
    let bed = bed();
    let dir = tempfile::tempdir().unwrap();
    let (mut server, gw) = gateway_server(&bed.moto, dir.path(), &scopes(&bed.bucket, &bed.other));
    let (up, side) = (
        cred_from(&server, "/scope/up"),
        cred_from(&server, "/scope/side"),
    );
    let id = unique("gone");
    let key = format!("team/{id}/k");
    let out = attempt_at(bed, gw, &up, &[(&bed.bucket, &key)]);
    assert_eq!(out[format!("put {}/{key}", bed.bucket)], "ok", "{out}");
    let without_up = scopes(&bed.bucket, &bed.other)
        .replace("[scope.up]", "[scope.gone]\naccess = \"read-only\"");
    std::fs::write(dir.path().join("scopes.toml"), without_up).unwrap();
    signal(&server.child, Signal::SIGHUP);
    let reloaded = "serving scopes 'gone', 'side', 'wo'";
    assert!(
        server.wait_for_stderr(reloaded, Duration::from_secs(20)),
        "{:#?}",
        server.stderr_lines()
    );
    let out = attempt_at(bed, gw, &up, &[(&bed.bucket, &format!("team/{id}/after"))]);
    for (name, got) in out.as_object().unwrap() {
        assert!(
            got.as_str().unwrap().contains("no longer served"),
            "{name}: {got}"
        );
    }
    let out = attempt_at(bed, gw, &side, &[(&bed.other, &key)]);
    assert_eq!(
        out[format!("put {}/{key}", bed.other)],
        "ok",
        "side still works: {out}"
    );
    assert_eq!(
        keys(bed, &bed.bucket, &format!("team/{id}/")),
        serde_json::json!([key])
    );
    server.terminate();
}

#[test]
fn the_gateway_port_says_nothing_to_another_uid() {
    let bed = bed();
    let addr = ([127, 0, 0, 1], bed.gw).into();
    let request = format!("GET /{} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", bed.bucket);
    let (status, _, body) = http(addr, &request);
    assert_eq!(
        status, 403,
        "its own uid is answered (unsigned: refused): {body}"
    );
    if !can_be_nobody() {
        return;
    }
    assert_eq!(
        http_as_nobody(addr, &request),
        "",
        "closed without an answer"
    );
}

#[test]
fn a_refusal_is_counted_and_its_access_line_names_scope_and_reason() {
    let bed = bed();
    let key = format!("{}/outside", unique("count"));
    let script = "out['d'] = code(s3.delete_object, Bucket=B, Key=ARGS[0])";
    let out = bed.client(&bed.cred("/scope/up"), script, &[&key]);
    assert!(
        out["d"].as_str().unwrap().starts_with("AccessDenied"),
        "{out}"
    );
    let line = format!("gateway up DeleteObject {} {key} 403 ", bed.bucket);
    let logged = super::eventually(Duration::from_secs(5), || {
        (bed.access_lines().iter()).any(|l| l.contains(&line) && l.contains(" refused=grant"))
    });
    assert!(logged, "{line}: {:#?}", bed.access_lines());
    let (status, _, metrics) = bed.server.get("/metrics");
    assert_eq!(status, 200);
    let counted = metrics.lines().any(|l| {
        l.starts_with("s3_credentials_gateway_calls_total{")
            && [
                "scope=\"up\"",
                "operation=\"DeleteObject\"",
                "outcome=\"refused\"",
            ]
            .iter()
            .all(|label| l.contains(label))
    });
    assert!(counted, "{metrics}");
}

#[test]
fn upstream_keys_scopes_make_no_sts_or_iam_call_at_startup_or_after() {
    let bed = bed();
    // A call through the gateway first, so that "after" has happened.
    let cred = bed.cred("/scope/up");
    let listed = bed.client(
        &cred,
        "out = code(lambda: s3.list_objects_v2(Bucket=B, Prefix='team/'))",
        &[],
    );
    assert_eq!(listed, "ok");
    for service in ["sts", "iam"] {
        let calls = bed.moto.signers(service);
        assert!(calls.is_empty(), "{service} was called: {calls:?}");
    }
    let s3 = bed.moto.signers("s3");
    assert!(
        s3.iter().any(|akid| akid == "testing"),
        "S3 saw the server's own key"
    );
}

#[test]
fn a_gateway_serving_no_scope_says_so_and_serves_one_added_on_reload() {
    let bed = bed();
    // Not the bed's moto: a scope served directly calls STS, which the
    // bed's must never see.
    let moto = Moto::shared();
    let (plain, late) = (moto.bucket("plain"), moto.bucket("late"));
    let dir = tempfile::tempdir().unwrap();
    let direct = format!("duration = \"15m\"\n[scope.plain]\nbuckets = [\"{plain}\"]\n");
    let (mut server, gw) = gateway_server(moto, dir.path(), &direct);
    let lines = server.stderr_lines();
    assert!(
        lines
            .iter()
            .any(|l| l.contains("serving no scope yet: add serve = \"gateway\"")),
        "{lines:#?}"
    );
    let added = format!(
        "{direct}[scope.late]\nbuckets = [\"{late}\"]\nprefix = \"team/\"\n\
         serve = \"gateway\"\nupstream = \"keys\"\n"
    );
    std::fs::write(dir.path().join("scopes.toml"), added).unwrap();
    signal(&server.child, Signal::SIGHUP);
    let reloaded = "serving scopes 'late', 'plain'";
    assert!(
        server.wait_for_stderr(reloaded, Duration::from_secs(20)),
        "{:#?}",
        server.stderr_lines()
    );
    let key = format!("team/{}/k", unique("late"));
    let out = attempt_at(
        bed,
        gw,
        &cred_from(&server, "/scope/late"),
        &[(&late, &key)],
    );
    assert_eq!(out[format!("put {late}/{key}")], "ok", "{out}");
    server.terminate();
}
