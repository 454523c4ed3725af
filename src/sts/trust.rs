//! A role's trust policy and attribution: the actions an attributed
//! AssumeRole needs the trust policy to allow (`sts:SetSourceIdentity`,
//! `sts:TagSession`), the default role's trust policy that allows them,
//! whether a role's own does, and the one advice when it does not.

use serde_json::Value;

/// What an AssumeRole with `SourceIdentity` and session tags needs besides
/// `sts:AssumeRole` (the IAM user guide, "Passing session tags in AWS STS"
/// and "Monitor and control actions taken with assumed roles").
pub(super) const ATTRIBUTION_ACTIONS: [&str; 2] = ["sts:SetSourceIdentity", "sts:TagSession"];

/// What to change when the trust policy lacks them: one statement's
/// `Action`.
pub(super) const ADVICE: &str = "the role's trust policy must allow sts:SetSourceIdentity and \
     sts:TagSession for attribute = \"caller\": add \"Action\": [\"sts:AssumeRole\", \
     \"sts:SetSourceIdentity\", \"sts:TagSession\"] to its statement for this principal";

/// The trust policy of the role this tool makes: the account's root may
/// assume it, set a source identity and pass session tags.
pub(super) fn default_trust(account: &str) -> Value {
    let mut actions = vec!["sts:AssumeRole"];
    actions.extend(ATTRIBUTION_ACTIONS);
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"AWS": format!("arn:aws:iam::{account}:root")},
            "Action": actions,
        }],
    })
}

/// Whether an AccessDenied's `message` is STS refusing an attribution
/// action, in AWS's words: "User: ARN is not authorized to perform:
/// sts:SetSourceIdentity on resource: ROLE_ARN" (or `sts:TagSession`).
pub(super) fn refuses_attribution(message: &str) -> bool {
    ATTRIBUTION_ACTIONS
        .iter()
        .any(|action| message.contains(&format!("perform: {action}")))
}

/// The attribution actions the trust policy `document` does not allow, as
/// IAM's GetRole answers it (URL-encoded JSON; plain JSON is taken too).
/// Actions are matched as IAM matches them (case-insensitively, with
/// wildcards); a `Deny` wins; principals and conditions are not judged.
/// An error says why the document could not be read.
pub(super) fn missing(document: &str) -> Result<Vec<&'static str>, String> {
    let decoded = match document.trim_start().starts_with('{') {
        true => document.to_owned(),
        false => percent_decoded(document).ok_or("it is not URL-encoded UTF-8")?,
    };
    let policy: Value =
        serde_json::from_str(&decoded).map_err(|e| format!("it is not JSON ({e})"))?;
    let statements = match &policy["Statement"] {
        Value::Array(all) => all.iter().collect(),
        Value::Null => vec![],
        one => vec![one],
    };
    let judged = |effect: &str, action: &str| {
        statements
            .iter()
            .any(|s| s["Effect"] == effect && names(s, action))
    };
    Ok(ATTRIBUTION_ACTIONS
        .into_iter()
        .filter(|action| !judged("Allow", action) || judged("Deny", action))
        .collect())
}

/// Whether `statement` names `action` by `Action` (a string or a list),
/// or leaves it out of its `NotAction`.
fn names(statement: &Value, action: &str) -> bool {
    let listed = |field: &Value| -> Option<bool> {
        let one = |v: &Value| {
            v.as_str().is_some_and(|pattern| {
                crate::policy::iam_matches(&pattern.to_lowercase(), &action.to_lowercase())
            })
        };
        match field {
            Value::String(_) => Some(one(field)),
            Value::Array(all) => Some(all.iter().any(one)),
            _ => None,
        }
    };
    match (
        listed(&statement["Action"]),
        listed(&statement["NotAction"]),
    ) {
        (Some(named), _) => named,
        (None, Some(excluded)) => !excluded,
        (None, None) => false,
    }
}

/// `text` with its `%XX` escapes decoded (RFC 3986), `None` if one is
/// broken or the result is not UTF-8.
fn percent_decoded(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        match bytes[at] {
            b'%' => {
                let hex = bytes.get(at + 1..at + 3)?;
                if !hex.iter().all(u8::is_ascii_hexdigit) {
                    return None;
                }
                out.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
                at += 3;
            }
            b => {
                out.push(b);
                at += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests;
