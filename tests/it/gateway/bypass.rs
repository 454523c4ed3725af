//! Ways around the scope through what a request names: a copy's source,
//! the keys of a DeleteObjects, a list's prefix, keys a store or proxy
//! may read as other keys, and operations beyond the allowlist. Each is
//! refused, and moto, asked with its own keys, shows nothing written,
//! deleted or read outside.

use super::bed;
use crate::support::*;

/// Puts each `(bucket, key)` with moto's own keys, the key as its body.
fn plant(objects: &[(&str, &str)]) {
    let script = "for i in range(0, len(ARGS), 2):\n    \
                  s3.put_object(Bucket=ARGS[i], Key=ARGS[i + 1], Body=ARGS[i + 1].encode())";
    let args: Vec<&str> = objects.iter().flat_map(|(b, k)| [*b, *k]).collect();
    bed().owner(script, &args);
}

/// Every key of both buckets that holds `needle`, as moto lists them.
fn stored(needle: &str) -> Vec<String> {
    let script = "out['keys'] = sorted(b + '/' + o['Key'] for b in (B, O) \
                  for o in s3.list_objects_v2(Bucket=b).get('Contents', []) if ARGS[0] in o['Key'])";
    let out = bed().owner(script, &[needle]);
    serde_json::from_value(out["keys"].clone()).unwrap()
}

fn denied(out: &serde_json::Value, name: &str, naming: &str) {
    let got = out[name].as_str().unwrap_or_default();
    assert!(
        got.starts_with("AccessDenied: ") && got.contains(naming),
        "{name}: {got}"
    );
}

const COPIES: &str = r#"
P, S = ARGS[0], ARGS[1]
out["other_bucket"] = code(s3.copy_object, Bucket=B, Key=P + "c1", CopySource={"Bucket": O, "Key": S})
out["outside_prefix"] = code(s3.copy_object, Bucket=B, Key=P + "c2", CopySource={"Bucket": B, "Key": S})
up = s3.create_multipart_upload(Bucket=B, Key=P + "c3")["UploadId"]
for n, src in ((1, {"Bucket": O, "Key": S}), (2, {"Bucket": B, "Key": S})):
    out["part_%d" % n] = code(s3.upload_part_copy, Bucket=B, Key=P + "c3", UploadId=up, PartNumber=n, CopySource=src)
out["upload"] = up
"#;

#[test]
fn copies_from_outside_the_scope_into_it_are_refused() {
    let bed = bed();
    let id = unique("copy");
    let (inside, secret) = (format!("team/{id}/"), format!("{id}/secret"));
    plant(&[(&bed.other, &secret), (&bed.bucket, &secret)]);
    let out = bed.client(&bed.cred("/scope/up"), COPIES, &[&inside, &secret]);
    for name in ["other_bucket", "outside_prefix", "part_1", "part_2"] {
        denied(&out, name, "does not allow s3:GetObject");
    }
    let upload = out["upload"].as_str().unwrap();
    let parts =
        "out['n'] = len(s3.list_parts(Bucket=B, Key=ARGS[0], UploadId=ARGS[1]).get('Parts', []))";
    let owner = bed.owner(parts, &[&format!("{inside}c3"), upload]);
    assert_eq!(owner["n"], 0, "no part was copied");
    let expected = [
        format!("{}/{secret}", bed.bucket),
        format!("{}/{secret}", bed.other),
    ];
    assert_eq!(stored(&id), expected, "nothing copied in");
}

const COPY_OUT: &str = r#"
P = ARGS[0]
out["copy"] = code(s3.copy_object, Bucket=B, Key=P + "dst", CopySource={"Bucket": B, "Key": P + "src"})
up = s3.create_multipart_upload(Bucket=B, Key=P + "mp")["UploadId"]
out["part"] = code(s3.upload_part_copy, Bucket=B, Key=P + "mp", UploadId=up, PartNumber=1, CopySource={"Bucket": B, "Key": P + "src"})
out["get"] = code(s3.get_object, Bucket=B, Key=P + "src")
"#;

#[test]
fn a_write_only_scope_cannot_read_by_copying_out_of_itself() {
    let bed = bed();
    let id = unique("wo");
    let prefix = format!("drop/{id}/");
    plant(&[(&bed.bucket, &format!("{prefix}src"))]);
    let out = bed.client(&bed.cred("/scope/wo"), COPY_OUT, &[&prefix]);
    for name in ["copy", "part", "get"] {
        denied(&out, name, "does not allow s3:GetObject");
    }
    assert_eq!(stored(&id), [format!("{}/{prefix}src", bed.bucket)]);
}

const DELETES: &str = r#"
keys = [{"Key": k} for k in ARGS]
out["delete"] = code(s3.delete_objects, Bucket=B, Delete={"Objects": keys})
"#;

#[test]
fn delete_objects_with_one_key_outside_deletes_nothing() {
    let bed = bed();
    let id = unique("del");
    let keys = [
        format!("team/{id}/a"),
        format!("{id}/outside"),
        format!("team/{id}/b"),
    ];
    let planted: Vec<(&str, &str)> = keys
        .iter()
        .map(|k| (bed.bucket.as_str(), k.as_str()))
        .collect();
    plant(&planted);
    let args: Vec<&str> = keys.iter().map(String::as_str).collect();
    let out = bed.client(&bed.cred("/scope/up"), DELETES, &args);
    denied(
        &out,
        "delete",
        &format!("s3:DeleteObject on {}/{id}/outside", bed.bucket),
    );
    let mut all: Vec<String> = keys.iter().map(|k| format!("{}/{k}", bed.bucket)).collect();
    all.sort();
    assert_eq!(stored(&id), all, "nothing deleted");
}

const LISTS: &str = r#"
for p in ("", "tea", "team", "te*"):
    out["v2 %r" % p] = code(s3.list_objects_v2, Bucket=B, Prefix=p)
    out["v1 %r" % p] = code(s3.list_objects, Bucket=B, Prefix=p)
out["none"] = code(s3.list_objects_v2, Bucket=B)
out["other"] = code(s3.list_objects_v2, Bucket=O, Prefix="team/")
out["inside"] = code(s3.list_objects_v2, Bucket=B, Prefix="team/")
"#;

#[test]
fn a_list_of_a_parent_prefix_is_refused() {
    let bed = bed();
    let out = bed.client(&bed.cred("/scope/up"), LISTS, &[]);
    for (name, value) in out.as_object().unwrap() {
        match name.as_str() {
            "inside" => assert_eq!(value, "ok"),
            "other" => denied(&out, name, "does not reach bucket"),
            _ => denied(&out, name, "does not allow s3:ListBucket"),
        }
    }
}

const ODD_KEYS: &str = r#"
I = ARGS[0]
for name, key in json.loads(ARGS[1]).items():
    out["put " + name] = code(s3.put_object, Bucket=B, Key=key, Body=b"planted")
    out["get " + name] = code(s3.get_object, Bucket=B, Key=key)
out["encoded slash"] = raw("GET", "127.0.0.1:" + PORT, "/%s/team%%2F..%%2F%s" % (B, I))
out["leading slash"] = raw("GET", "127.0.0.1:" + PORT, "/%s//%s" % (B, I))
fine = "team/%s/café ☕ ü" % I
out["put fine"] = code(s3.put_object, Bucket=B, Key=fine, Body="grüße".encode())
out["get fine"] = body(fine)
"#;

#[test]
fn keys_that_mean_another_key_are_refused_and_plain_unicode_works() {
    let bed = bed();
    let id = unique("odd");
    let secret = format!("{id}/secret");
    plant(&[(&bed.bucket, &secret)]);
    let meant: serde_json::Value = serde_json::json!({
        "dotdot": format!("team/../{secret}"),
        "dotdot deep": format!("team/{id}/../../{secret}"),
        "dot": format!("team/./{id}/x"),
        "double slash": format!("team//{id}/x"),
        "trailing space": format!("team /{id}/x"),
        "space after": format!("{secret} "),
        "fullwidth": format!("ｔeam/{id}/x"),
        "division slash": format!("team\u{2215}{id}"),
        "cyrillic e": format!("t\u{435}am/{id}/x"),
        "newline": format!("team/{id}\n/../../{secret}"),
    });
    let out = bed.client(&bed.cred("/scope/up"), ODD_KEYS, &[&id, &meant.to_string()]);
    for name in meant.as_object().unwrap().keys() {
        denied(&out, &format!("put {name}"), "");
        denied(&out, &format!("get {name}"), "");
    }
    let dotdot = format!("the key \"team/../{secret}\" has a '.' or '..' segment");
    denied(&out, "put dotdot", &dotdot);
    for name in ["encoded slash", "leading slash"] {
        let (status, body) = (&out[name][0], out[name][1].as_str().unwrap());
        assert_eq!(status, 403, "{name}: {body}");
        assert!(body.contains("<Code>AccessDenied</Code>"), "{name}: {body}");
        assert!(!body.contains(&secret), "{name} read the secret: {body}");
    }
    assert_eq!(
        (&out["put fine"], &out["get fine"]),
        (&"ok".into(), &"grüße".into())
    );
    let fine = format!("{}/team/{id}/café ☕ ü", bed.bucket);
    let mut expected = [format!("{}/{secret}", bed.bucket), fine];
    expected.sort();
    assert_eq!(stored(&id), expected, "only the in-scope key was written");
}

const BEYOND: &str = r#"
K = ARGS[0]
out["PutObjectAcl"] = code(s3.put_object_acl, Bucket=B, Key=K, ACL="public-read")
out["GetBucketPolicy"] = code(s3.get_bucket_policy, Bucket=B)
policy = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"}]})
out["PutBucketPolicy"] = code(s3.put_bucket_policy, Bucket=B, Policy=policy)
out["DeleteBucket"] = code(s3.delete_bucket, Bucket=B)
"#;

#[test]
fn acl_and_bucket_policy_calls_are_refused_naming_the_operation() {
    let bed = bed();
    let key = format!("team/{}/acl", unique("acl"));
    plant(&[(&bed.bucket, &key)]);
    let out = bed.client(&bed.cred("/scope/up"), BEYOND, &[&key]);
    for op in [
        "PutObjectAcl",
        "GetBucketPolicy",
        "PutBucketPolicy",
        "DeleteBucket",
    ] {
        denied(
            &out,
            op,
            &format!("{op} is not an operation the gateway allows"),
        );
    }
    let check = "out['policy'] = code(s3.get_bucket_policy, Bucket=B)\n\
                 out['acl'] = [g['Permission'] for g in s3.get_object_acl(Bucket=B, Key=ARGS[0])['Grants']]";
    let owner = bed.owner(check, &[&key]);
    assert!(
        owner["policy"]
            .as_str()
            .unwrap()
            .starts_with("NoSuchBucketPolicy"),
        "{owner}"
    );
    assert_eq!(
        owner["acl"],
        serde_json::json!(["FULL_CONTROL"]),
        "the ACL is unchanged"
    );
}
