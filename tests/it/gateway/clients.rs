//! Real clients through the gateway with nothing but a local credential
//! and its address: the AWS CLI (multipart, ls, sync, cp back), boto3
//! (multipart upload_file, get, a presigned GET fetched with curl), and
//! what reached moto: signed with moto's key only, never a local one.

use super::{bed, client_env, Bed};
use crate::support::*;
use std::process::Command;

/// Every request moto got so far was signed with its own key, but the
/// two that made the buckets (unsigned, as `Moto::bucket` makes them):
/// never a local key, and nothing the gateway forwarded unsigned.
fn only_moto_signed(bed: &Bed) {
    let record = std::fs::read_to_string(&bed.moto.signed).unwrap();
    let records: Vec<serde_json::Value> = (record.lines())
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert!(records.len() > 2, "moto saw the calls");
    let made = [format!("/{}", bed.bucket), format!("/{}", bed.other)];
    let others: Vec<&serde_json::Value> = (records.iter())
        .filter(|r| r["akid"] != "testing")
        .filter(|r| {
            !(r["method"] == "PUT"
                && r["akid"].is_null()
                && made.iter().any(|m| r["path"] == m.as_str()))
        })
        .collect();
    assert!(others.is_empty(), "not signed with moto's key: {others:#?}");
}

/// `aws ARGS` as a client of the gateway holding `up`'s local credential.
fn aws(bed: &Bed, home: &std::path::Path, args: &[&str]) -> String {
    let cred = bed.cred("/scope/up");
    let mut cmd = Command::new(tool("aws"));
    client_env(&mut cmd, home, &cred, bed.gw);
    let out = run(cmd.args(args));
    assert!(
        out.status.success(),
        "aws {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_aws_cli_copies_multipart_lists_syncs_and_reads_back() {
    let bed = bed();
    let home = tempfile::tempdir().unwrap();
    let pre = format!("team/{}", unique("cli"));
    let big = home.path().join("big.bin");
    let data: Vec<u8> = (0..20 << 20).map(|i: u32| (i % 251) as u8).collect();
    std::fs::write(&big, &data).unwrap();
    let target = format!("s3://{}/{pre}/big.bin", bed.bucket);
    aws(
        bed,
        home.path(),
        &["s3", "cp", big.to_str().unwrap(), &target],
    );
    let dir = home.path().join("small");
    std::fs::create_dir(&dir).unwrap();
    for (name, text) in [("a.txt", "alpha"), ("b.txt", "beta")] {
        std::fs::write(dir.join(name), text).unwrap();
    }
    let synced = format!("s3://{}/{pre}/dir/", bed.bucket);
    aws(
        bed,
        home.path(),
        &["s3", "sync", dir.to_str().unwrap(), &synced],
    );
    let listing = aws(
        bed,
        home.path(),
        &[
            "s3",
            "ls",
            "--recursive",
            &format!("s3://{}/{pre}/", bed.bucket),
        ],
    );
    for key in ["big.bin", "dir/a.txt", "dir/b.txt"] {
        assert!(listing.contains(&format!("{pre}/{key}")), "{listing}");
    }
    let back = home.path().join("back.bin");
    aws(
        bed,
        home.path(),
        &["s3", "cp", &target, back.to_str().unwrap()],
    );
    assert!(
        std::fs::read(&back).unwrap() == data,
        "the object came back whole"
    );
    let parts = (bed.access_lines().iter())
        .filter(|l| l.contains(&format!("UploadPart {} {pre}/big.bin 200", bed.bucket)))
        .count();
    assert!(parts >= 2, "a multipart upload: {:#?}", bed.access_lines());
    let seen = bed.owner("out['a'] = body(ARGS[0])", &[&format!("{pre}/dir/a.txt")]);
    assert_eq!(seen["a"], "alpha", "moto has what was synced");
    only_moto_signed(bed);
}

const BOTO3: &str = r#"
from boto3.s3.transfer import TransferConfig
path = ARGS[1]
with open(path, "wb") as f:
    f.write(bytes(i % 251 for i in range(12 << 20)))
small = TransferConfig(multipart_threshold=5 << 20, multipart_chunksize=5 << 20)
s3.upload_file(path, B, ARGS[0], Config=small)
got = s3.get_object(Bucket=B, Key=ARGS[0])["Body"].read()
out["same"] = got == open(path, "rb").read()
out["url"] = s3.generate_presigned_url("get_object", Params={"Bucket": B, "Key": ARGS[0]}, ExpiresIn=300)
"#;

#[test]
fn boto3_uploads_multipart_reads_back_and_presigns_for_curl() {
    let bed = bed();
    let home = tempfile::tempdir().unwrap();
    let key = format!("team/{}/boto3.bin", unique("py"));
    let path = home.path().join("up.bin");
    let cred = bed.cred("/scope/up");
    let out = bed.client(&cred, BOTO3, &[&key, path.to_str().unwrap()]);
    assert_eq!(out["same"], true, "{out}");
    let parts = (bed.access_lines().iter())
        .filter(|l| l.contains(&format!("UploadPart {} {key} 200", bed.bucket)))
        .count();
    assert_eq!(parts, 3, "12 MiB in 5 MiB parts: {:#?}", bed.access_lines());
    let url = out["url"].as_str().unwrap();
    assert!(url.contains("X-Amz-Signature="), "SigV4 presigned: {url}");
    let mut curl = Command::new("curl");
    client_env(&mut curl, home.path(), &cred, bed.gw);
    let fetched = run(curl.args(["-s", "-f", "-o", "-", url]));
    let fetched_body = fetched.stdout.clone();
    expect_success(&fetched);
    assert!(
        fetched_body == std::fs::read(&path).unwrap(),
        "curl got the object through the presigned URL"
    );
    only_moto_signed(bed);
}
