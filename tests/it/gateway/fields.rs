//! What a call's other fields ask beyond its operation (the red team's
//! finds): ACLs, grants, tags and object lock on a write, versions, an
//! `x-amz-*` header the signature does not cover (a presigned PUT made a
//! public copy), an upload ID started for another key, and a DeleteObjects
//! over S3's 1,000 keys. Each is refused, and moto, asked with its own
//! keys, shows nothing written or deleted.

use super::bed;
use crate::support::*;

/// Keys under `prefix` of the bed's bucket, as moto lists them.
fn stored(prefix: &str) -> serde_json::Value {
    let script = "out['k'] = sorted(o['Key'] for o in s3.list_objects_v2(Bucket=B, \
                  Prefix=ARGS[0]).get('Contents', []))";
    bed().owner(script, &[prefix])["k"].clone()
}

const WRITES: &str = r#"
P = ARGS[0]
out["acl"] = code(s3.put_object, Bucket=B, Key=P + "acl", Body=b"x", ACL="public-read")
out["grant"] = code(s3.put_object, Bucket=B, Key=P + "grant", Body=b"x", GrantRead='uri="http://acs.amazonaws.com/groups/global/AllUsers"')
out["tags"] = code(s3.put_object, Bucket=B, Key=P + "tags", Body=b"x", Tagging="a=b")
out["mpu_acl"] = code(s3.create_multipart_upload, Bucket=B, Key=P + "mpu", ACL="public-read")
out["copy_tags"] = code(s3.copy_object, Bucket=B, Key=P + "copy", CopySource={"Bucket": B, "Key": P + "private"}, TaggingDirective="REPLACE", Tagging="a=b")
out["get_version"] = code(s3.get_object, Bucket=B, Key=P + "private", VersionId="v1")
out["delete_version"] = code(s3.delete_object, Bucket=B, Key=P + "private", VersionId="v1")
out["deletes_version"] = code(s3.delete_objects, Bucket=B, Delete={"Objects": [{"Key": P + "private", "VersionId": "v1"}]})
out["copy_version"] = code(s3.copy_object, Bucket=B, Key=P + "copy", CopySource={"Bucket": B, "Key": P + "private", "VersionId": "v1"})
"#;

#[test]
fn acls_grants_tags_and_versions_are_refused_and_private_is_taken() {
    let bed = bed();
    let prefix = format!("team/{}/", unique("fields"));
    let cred = bed.cred("/scope/up");
    let private = "out['private'] = code(s3.put_object, Bucket=B, Key=ARGS[0] + 'private', \
                   Body=b'x', ACL='private')";
    assert_eq!(
        bed.client(&cred, private, &[&prefix])["private"],
        "ok",
        "rclone's default ACL"
    );
    let out = bed.client(&cred, WRITES, &[&prefix]);
    for (name, needs) in [
        ("acl", "s3:PutObjectAcl"),
        ("grant", "s3:PutObjectAcl"),
        ("tags", "s3:PutObjectTagging"),
        ("mpu_acl", "s3:PutObjectAcl"),
        ("copy_tags", "s3:PutObjectTagging"),
        ("get_version", "s3:GetObjectVersion"),
        ("delete_version", "s3:DeleteObjectVersion"),
        ("deletes_version", "s3:DeleteObjectVersion"),
        ("copy_version", "s3:GetObjectVersion"),
    ] {
        let got = out[name].as_str().unwrap_or_default();
        assert!(
            got.starts_with("AccessDenied: ") && got.contains(needs),
            "{name}: {got}"
        );
    }
    assert_eq!(
        stored(&prefix),
        serde_json::json!([format!("{prefix}private")])
    );
}

const PRESIGNED_COPY: &str = r#"
P = ARGS[0]
url = s3.generate_presigned_url("put_object", Params={"Bucket": B, "Key": P + "f3"}, ExpiresIn=300)
r = urllib.request.Request(url, data=b"", method="PUT", headers={"x-amz-copy-source": B + "/" + P + "private", "x-amz-acl": "public-read"})
try:
    with urllib.request.urlopen(r) as resp:
        out["copy"] = [resp.status, resp.read().decode()]
except urllib.error.HTTPError as e:
    out["copy"] = [e.code, e.read().decode()]
"#;

#[test]
fn an_x_amz_header_the_signature_does_not_cover_is_refused() {
    let bed = bed();
    let prefix = format!("team/{}/", unique("unsigned"));
    let cred = bed.cred("/scope/up");
    let plant = "s3.put_object(Bucket=B, Key=ARGS[0] + 'private', Body=b'secret')";
    bed.owner(plant, &[&prefix]);
    let out = bed.client(&cred, PRESIGNED_COPY, &[&prefix]);
    assert_eq!(out["copy"][0], 403, "{out}");
    let said = out["copy"][1].as_str().unwrap_or_default();
    assert!(
        said.contains("headers present in the request which were not signed"),
        "{said}"
    );
    assert_eq!(
        stored(&prefix),
        serde_json::json!([format!("{prefix}private")])
    );
}

const FOREIGN_UPLOAD: &str = r#"
P, UP = ARGS[0], ARGS[1]
out["part"] = code(s3.upload_part, Bucket=B, Key=P + "mine", UploadId=UP, PartNumber=1, Body=b"via-gateway")
out["complete"] = code(s3.complete_multipart_upload, Bucket=B, Key=P + "mine", UploadId=UP, MultipartUpload={"Parts": [{"ETag": '"x"', "PartNumber": 1}]})
out["many"] = code(s3.delete_objects, Bucket=B, Delete={"Objects": [{"Key": P + str(i)} for i in range(1001)]})
"#;

#[test]
fn an_upload_started_for_another_key_and_too_many_deletes_are_refused() {
    let bed = bed();
    let prefix = format!("team/{}/", unique("upload"));
    let outside = format!("private/{}", unique("upload"));
    let start = "out['id'] = s3.create_multipart_upload(Bucket=B, Key=ARGS[0])['UploadId']";
    let id = bed.owner(start, &[&outside])["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = bed.client(&bed.cred("/scope/up"), FOREIGN_UPLOAD, &[&prefix, &id]);
    for name in ["part", "complete"] {
        let got = out[name].as_str().unwrap_or_default();
        assert!(
            got.starts_with("AccessDenied: ")
                && got.contains("was not started through this gateway"),
            "{name}: {got}"
        );
    }
    assert!(
        out["many"]
            .as_str()
            .unwrap_or_default()
            .starts_with("MalformedXML"),
        "{out}"
    );
    let gone = "out['k'] = [o['Key'] for o in s3.list_objects_v2(Bucket=B, Prefix=ARGS[0]).get('Contents', [])]";
    assert_eq!(
        bed.owner(gone, &[&outside])["k"],
        serde_json::json!([]),
        "nothing written outside"
    );
}

const LONG_PRESIGN: &str = r#"
url = s3.generate_presigned_url("get_object", Params={"Bucket": B, "Key": ARGS[0]}, ExpiresIn=8 * 86400)
try:
    with urllib.request.urlopen(url) as resp:
        out["long"] = [resp.status, ""]
except urllib.error.HTTPError as e:
    out["long"] = [e.code, e.read().decode()]
"#;

#[test]
fn a_presigned_url_for_longer_than_a_week_is_refused_as_s3_refuses_it() {
    let bed = bed();
    let key = format!("team/{}/k", unique("long"));
    let out = bed.client(&bed.cred("/scope/up"), LONG_PRESIGN, &[&key]);
    assert_eq!(out["long"][0], 400, "{out}");
    let said = out["long"][1].as_str().unwrap_or_default();
    assert!(said.contains("AuthorizationQueryParametersError"), "{said}");
}
