//! The client compatibility matrix: rclone, restic, pyarrow,
//! polars (object_store alone), s3fs, the JavaScript SDK v2 and boto3,
//! each through every transport it supports, each putting, listing and
//! getting, with the strict relay checking that every S3 request was
//! signed with the key the server served. `tests/clients/matrix.py` runs
//! the cells; its table is docs/GUIDE.md's "Which client reads what".

use crate::support::*;
use std::path::Path;
use std::process::Command;

#[test]
fn every_client_reaches_the_bucket_through_every_transport_it_supports() {
    let moto = Moto::shared();
    let bucket = moto.bucket("matrix");
    let imds = Start::new(moto, &bucket).args(&["--imds-port", "0"]).run();
    let imds_port: String = imds
        .stderr_lines()
        .iter()
        .find_map(|l| {
            l.strip_prefix("IMDSv2: http://127.0.0.1:")?
                .split(' ')
                .next()
                .map(str::to_owned)
        })
        .expect("the IMDS line");
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    let tokened = Start::new(moto, &bucket)
        .args(&[
            "--no-socket",
            "--auth-token-file",
            token_file.to_str().unwrap(),
        ])
        .run();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/matrix.py");
    let home = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(tool("python3"));
    aws_env(&mut cmd, home.path());
    cmd.arg(&script)
        .args([
            "--relay",
            &moto.url(),
            "--bucket",
            &bucket,
            "--s3c",
            SERVER,
            "--fetch",
            FETCH,
        ])
        .arg("--signed")
        .arg(&moto.signed)
        .args(["--port", &imds.port.to_string(), "--imds-port", &imds_port])
        .args(["--token-port", &tokened.port.to_string()])
        .arg("--token-file")
        .arg(&token_file);
    let out = run(&mut cmd);
    let table = String::from_utf8_lossy(&out.stdout);
    println!("{table}");
    assert!(
        out.status.success(),
        "{table}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for client in [
        "rclone", "restic", "pyarrow", "polars", "s3fs", "js_v2", "boto3",
    ] {
        let ok = table
            .lines()
            .filter(|l| l.starts_with(&format!("| {client} |")) && l.ends_with("| ok |"))
            .count();
        assert!(ok >= 4, "{client}: {ok} cells ok\n{table}");
    }
    assert!(!table.contains("FAIL"), "{table}");
    // The narrowed cell passes only where the client kept the query.
    let narrowed = table
        .lines()
        .filter(|l| l.contains("FULL_URI narrowed") && l.ends_with("| ok |"))
        .count();
    assert_eq!(narrowed, 7, "{table}");
}
