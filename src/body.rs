//! The wire formats, in one place: what the server renders for each route
//! and what `s3-credentials-fetch` accepts as an answer.

use crate::credential::Credential;
use bytes::Bytes;
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::format_description::FormatItem;
use time::macros::format_description;
use time::OffsetDateTime;

mod export;

pub use export::Export;

/// `2025-12-16T12:00:00+00:00`, with `.ffffff` when STS gives sub-seconds:
/// what the original prints (Python's `isoformat()`).
pub(crate) fn format_expiration(at: OffsetDateTime) -> String {
    const WHOLE: &[FormatItem<'_>] =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]+00:00");
    const MICROS: &[FormatItem<'_>] = format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]+00:00"
    );
    let at = at.to_offset(time::UtcOffset::UTC);
    let format = if at.microsecond() == 0 { WHOLE } else { MICROS };
    at.format(format).expect("a UTC date formats")
}

/// `2025-12-16T12:00:00Z`: the container endpoint's format, which every SDK
/// parses (the Rust SDK refuses offsets there).
pub(crate) fn format_expiration_z(at: OffsetDateTime) -> String {
    const Z: &[FormatItem<'_>] =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    at.to_offset(time::UtcOffset::UTC)
        .format(Z)
        .expect("a UTC date formats")
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ProcessBody<'a> {
    version: u8,
    access_key_id: &'a str,
    secret_access_key: &'a str,
    session_token: &'a str,
    expiration: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct EcsBody<'a> {
    access_key_id: &'a str,
    secret_access_key: &'a str,
    token: &'a str,
    expiration: String,
}

pub(crate) fn render_process(c: &Credential) -> Bytes {
    let body = ProcessBody {
        version: 1,
        access_key_id: &c.access_key_id,
        secret_access_key: &c.secret_access_key,
        session_token: &c.session_token,
        expiration: format_expiration(c.expiration),
    };
    Bytes::from(serde_json::to_vec_pretty(&body).expect("strings serialise"))
}

pub(crate) fn render_ecs(c: &Credential) -> Bytes {
    let body = EcsBody {
        access_key_id: &c.access_key_id,
        secret_access_key: &c.secret_access_key,
        token: &c.session_token,
        expiration: format_expiration_z(c.expiration),
    };
    Bytes::from(serde_json::to_vec_pretty(&body).expect("strings serialise"))
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ImdsBody<'a> {
    code: &'a str,
    last_updated: String,
    #[serde(rename = "Type")]
    kind: &'a str,
    access_key_id: &'a str,
    secret_access_key: &'a str,
    token: &'a str,
    expiration: String,
}

/// EC2's instance metadata credential document, minted at `now`.
pub(crate) fn render_imds(c: &Credential, now: OffsetDateTime) -> Bytes {
    let body = ImdsBody {
        code: "Success",
        last_updated: format_expiration_z(now),
        kind: "AWS-HMAC",
        access_key_id: &c.access_key_id,
        secret_access_key: &c.secret_access_key,
        token: &c.session_token,
        expiration: format_expiration_z(c.expiration),
    };
    Bytes::from(serde_json::to_vec_pretty(&body).expect("strings serialise"))
}

/// EC2's `/latest/meta-data/iam/info`: the instance profile, named as
/// the one role IMDS lists, in `account`.
pub(crate) fn render_imds_info(account: &str, role: &str, now: OffsetDateTime) -> Bytes {
    let body = serde_json::json!({
        "Code": "Success",
        "LastUpdated": format_expiration_z(now),
        "InstanceProfileArn": format!("arn:aws:iam::{account}:instance-profile/{role}"),
        "InstanceProfileId": "AIPAS3CREDENTIALSLOCAL",
    });
    Bytes::from(serde_json::to_vec_pretty(&body).expect("values serialise"))
}

/// EC2's `/latest/dynamic/instance-identity/document`, for `region` and
/// `account` (the instance's own fields say plainly that it is local).
pub(crate) fn render_instance_identity(account: &str, region: &str) -> Bytes {
    let body = serde_json::json!({
        "accountId": account,
        "architecture": std::env::consts::ARCH,
        "availabilityZone": format!("{region}a"),
        "billingProducts": null,
        "devpayProductCodes": null,
        "marketplaceProductCodes": null,
        "imageId": "ami-00000000000000000",
        "instanceId": "i-00000000000000000",
        "instanceType": "local",
        "kernelId": null,
        "pendingTime": "1970-01-01T00:00:00Z",
        "privateIp": "127.0.0.1",
        "ramdiskId": null,
        "region": region,
        "version": "2017-09-30",
    });
    Bytes::from(serde_json::to_vec_pretty(&body).expect("values serialise"))
}

/// Checks that `body` is a `credential_process` answer: a JSON object with
/// `Version` 1, non-empty `AccessKeyId`, `SecretAccessKey` and
/// `SessionToken`, and an RFC 3339 `Expiration`. The reason never quotes
/// the body (it may hold a secret).
pub(crate) fn check_process_body(body: &[u8]) -> Result<(), String> {
    parse_process_body(body).map(drop)
}

/// The credential in a `credential_process` answer, checked as
/// [`check_process_body`] says (`exec --server` serves it again).
pub(crate) fn parse_process_body(body: &[u8]) -> Result<Credential, String> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|_| "it is not JSON".to_owned())?;
    let object = value.as_object().ok_or("it is not a JSON object")?;
    if object.get("Version").and_then(|v| v.as_u64()) != Some(1) {
        return Err("its Version is not 1".into());
    }
    let text = |key: &str| match object.get(key).and_then(|v| v.as_str()) {
        Some(text) if !text.is_empty() => Ok(text.to_owned()),
        _ => Err(format!("it has no {key}")),
    };
    let (access_key_id, secret_access_key, session_token) = (
        text("AccessKeyId")?,
        text("SecretAccessKey")?,
        text("SessionToken")?,
    );
    let expiration = object.get("Expiration").and_then(|v| v.as_str());
    match expiration.map(|at| OffsetDateTime::parse(at, &Rfc3339)) {
        Some(Ok(expiration)) => Ok(Credential {
            access_key_id,
            secret_access_key,
            session_token,
            expiration,
        }),
        _ => Err("its Expiration is not an RFC 3339 time".into()),
    }
}

/// JSON as the original's Python writes it (`json.dumps`): one line, with
/// `", "` and `": "` between items. Used for every answer but the
/// credential bodies, which are pretty-printed as the original's.
pub(crate) fn python_json(value: &serde_json::Value) -> String {
    struct Spaced;
    /// `", "` before every item but the first.
    fn separator<W: ?Sized + std::io::Write>(w: &mut W, first: bool) -> std::io::Result<()> {
        if first {
            Ok(())
        } else {
            w.write_all(b", ")
        }
    }
    impl serde_json::ser::Formatter for Spaced {
        fn begin_array_value<W: ?Sized + std::io::Write>(
            &mut self,
            w: &mut W,
            first: bool,
        ) -> std::io::Result<()> {
            separator(w, first)
        }
        fn begin_object_key<W: ?Sized + std::io::Write>(
            &mut self,
            w: &mut W,
            first: bool,
        ) -> std::io::Result<()> {
            separator(w, first)
        }
        fn begin_object_value<W: ?Sized + std::io::Write>(
            &mut self,
            w: &mut W,
        ) -> std::io::Result<()> {
            w.write_all(b": ")
        }
    }
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut out, Spaced);
    value
        .serialize(&mut ser)
        .expect("a Value always serialises");
    String::from_utf8(out).expect("JSON is UTF-8")
}

/// Where a named scope is served: `/scope/NAME` (and `/scope/NAME/ecs`).
pub(crate) const SCOPE_PATH: &str = "/scope/";

/// The owner's `/about` route of `scope` (`None`: the default one), which
/// `verify` and `exec --server` ask (docs/HTTP-API.md).
pub(crate) fn about_path(scope: Option<&str>) -> String {
    match scope {
        Some(name) => format!("{SCOPE_PATH}{name}/about"),
        None => "/about".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credential() -> Credential {
        Credential {
            access_key_id: "AKIA".into(),
            secret_access_key: "s\"e".into(),
            session_token: "t".into(),
            expiration: time::macros::datetime!(2025-12-16 12:00:00 UTC),
        }
    }

    #[test]
    fn expiration_formats_like_python_isoformat() {
        let at = time::macros::datetime!(2025-12-16 12:00:00 UTC);
        assert_eq!(format_expiration(at), "2025-12-16T12:00:00+00:00");
        let at = time::macros::datetime!(2026-11-23 00:10:35.681965 UTC);
        assert_eq!(format_expiration(at), "2026-11-23T00:10:35.681965+00:00");
        let at = time::macros::datetime!(2025-12-16 14:00:00 +02:00);
        assert_eq!(format_expiration(at), "2025-12-16T12:00:00+00:00");
        assert_eq!(format_expiration_z(at), "2025-12-16T12:00:00Z");
    }

    #[test]
    fn bodies_have_the_documented_keys_in_order() {
        let c = credential();
        assert_eq!(
            std::str::from_utf8(&render_process(&c)).unwrap(),
            "{\n  \"Version\": 1,\n  \"AccessKeyId\": \"AKIA\",\n  \"SecretAccessKey\": \"s\\\"e\",\n  \
             \"SessionToken\": \"t\",\n  \"Expiration\": \"2025-12-16T12:00:00+00:00\"\n}"
        );
        let ecs: serde_json::Value = serde_json::from_slice(&render_ecs(&c)).unwrap();
        let keys: Vec<_> = ecs.as_object().unwrap().keys().cloned().collect();
        assert_eq!(
            keys,
            ["AccessKeyId", "SecretAccessKey", "Token", "Expiration"]
        );
    }

    #[test]
    fn what_we_serve_passes_the_check_and_forgeries_do_not() {
        assert_eq!(check_process_body(&render_process(&credential())), Ok(()));
        for (body, why) in [
            ("<html>hello</html>", "it is not JSON"),
            ("[1]", "it is not a JSON object"),
            (r#"{"Version": 2}"#, "its Version is not 1"),
            (
                r#"{"Version": 1, "AccessKeyId": ""}"#,
                "it has no AccessKeyId",
            ),
            (
                r#"{"Version": 1, "AccessKeyId": "A", "SecretAccessKey": "S", "SessionToken": "T", "Expiration": "soon"}"#,
                "its Expiration is not an RFC 3339 time",
            ),
        ] {
            assert_eq!(
                check_process_body(body.as_bytes()),
                Err(why.into()),
                "{body}"
            );
        }
    }
}
