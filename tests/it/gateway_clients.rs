//! The client matrix through the S3 gateway: rclone, restic, pyarrow,
//! polars (object_store), s3fs, the JavaScript SDK v3 and boto3 each put,
//! list and get with nothing but the server's local credential and the
//! gateway's URL (`tests/clients/matrix.py --gateway`), while the strict
//! relay checks that what reached S3 was signed with the real one. Its
//! table is docs/GUIDE.md's "Which client reads what", gateway column.

use crate::support::*;
use std::path::Path;
use std::process::Command;

/// The gateway's URL, from the startup line `S3 gateway: URL (for ...`.
fn gateway_url(server: &Server) -> String {
    server
        .stderr_lines()
        .iter()
        .find_map(|l| {
            Some(
                l.strip_prefix("S3 gateway: ")?
                    .split(' ')
                    .next()?
                    .to_owned(),
            )
        })
        .expect("the gateway's startup line")
}

#[test]
fn every_client_puts_lists_and_gets_through_the_gateway() {
    let moto = Moto::shared();
    let bucket = moto.bucket("matrix-gw");
    let server = Start::new(moto, &bucket).args(&["--gateway", "0"]).run();
    let gateway = gateway_url(&server);
    // From here on (its startup checked the bucket with its own key).
    let started = std::fs::metadata(&moto.signed).unwrap().len() as usize;
    assert!(gateway.starts_with("http://127.0.0.1:"), "{gateway}");
    // What the server hands out is a local credential, not its real one.
    let served: serde_json::Value = serde_json::from_str(&server.get("/").2).unwrap();
    assert!(
        served["AccessKeyId"].as_str().unwrap().starts_with("S3CL"),
        "{served}"
    );
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/matrix.py");
    let home = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(tool("python3"));
    aws_env(&mut cmd, home.path());
    // The clients' environment is built from this one: no AWS key in it.
    for key in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
    ] {
        cmd.env_remove(key);
    }
    cmd.arg(&script)
        .args(["--gateway", &gateway, "--bucket", &bucket])
        .args(["--s3c", SERVER, "--fetch", FETCH])
        .arg("--signed")
        .arg(&moto.signed)
        .args(["--port", &server.port.to_string()]);
    let held: Vec<_> = cmd
        .get_envs()
        .filter(|(k, v)| k.to_str().is_some_and(|k| k.starts_with("AWS_")) && v.is_some())
        .map(|(k, _)| k.to_string_lossy().into_owned())
        .filter(|k| k.contains("KEY") || k.contains("TOKEN"))
        .collect();
    assert!(held.is_empty(), "the clients' environment holds {held:?}");
    let out = run(&mut cmd);
    let table = String::from_utf8_lossy(&out.stdout);
    println!("{table}");
    assert!(
        out.status.success(),
        "{table}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!table.contains("FAIL"), "{table}");
    for client in [
        "rclone", "restic", "pyarrow", "polars", "s3fs", "js_v3", "boto3",
    ] {
        let ok = table
            .lines()
            .filter(|l| l.starts_with(&format!("| {client} |")) && l.ends_with("| ok |"))
            .count();
        assert!(ok >= 1, "{client}: no cell ok\n{table}");
    }
    // Every S3 request that reached moto for this bucket was signed by an
    // STS session credential: never the local one, never unsigned.
    let signed = std::fs::read(&moto.signed).unwrap();
    let signers: Vec<String> = String::from_utf8_lossy(&signed[started..])
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|r| r["service"] == "s3")
        .filter(|r| r["path"].as_str().and_then(|p| p.split('/').nth(1)) == Some(&bucket))
        .map(|r| r["akid"].as_str().unwrap_or("unsigned").to_owned())
        .collect();
    assert!(!signers.is_empty());
    let bad: Vec<_> = signers.iter().filter(|k| !k.starts_with("ASIA")).collect();
    assert!(bad.is_empty(), "S3 saw {bad:?}");
    // The gateway wrote an access line for each client's calls.
    let lines = server.stderr_lines();
    let calls = lines
        .iter()
        .filter(|l| l.contains("gateway default "))
        .count();
    assert!(calls >= 7 * 3, "{calls} access lines");
}
