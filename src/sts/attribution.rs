//! What AWS sees of a caller: the `SourceIdentity` and the session tags an
//! attributed AssumeRole carries, each within STS's rules, so that no
//! user, program or host name can make STS refuse the call.

use crate::credential::Caller;
use aws_sdk_sts::operation::assume_role::builders::AssumeRoleFluentBuilder;
use aws_sdk_sts::types::Tag;
use std::sync::OnceLock;

/// The session tags' keys, each caller's value under it: the scope, the
/// local user, the program, this machine.
pub(super) const TAG_KEYS: [&str; 4] = ["s3c-scope", "s3c-user", "s3c-program", "s3c-host"];

/// A tag value's longest, in UTF-16 units (STS counts as Java does; never
/// more than 256 characters either): the STS API reference, `Tag`.
const MAX_TAG_VALUE: usize = 256;

/// The characters of a tag value STS takes besides letters, separators and
/// numbers (the STS API reference, `Tag`: `[\p{L}\p{Z}\p{N}_.:/=+\-@]*`).
const TAG_PUNCTUATION: &str = "_.:/=+-@";

/// This machine's host name (`gethostname`), or `unknown` where it has
/// none that is UTF-8.
pub(super) fn hostname() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// `SourceIdentity` `USER@HOST`, within STS's rules (the STS API
/// reference, `AssumeRole`): 2 to 64 characters of `[\w+=,.@-]`, others
/// as `-`, and never starting with `aws:` (reserved), which cannot happen
/// once `:` is replaced.
pub(super) fn source_identity(user: &str, host: &str) -> String {
    let mut identity = crate::policy::session_name(&format!("{user}@{host}"));
    while identity.len() < 2 {
        identity.push('-');
    }
    identity
}

/// A session tag value within STS's rules: letters (`\p{L}`), separators
/// (`\p{Z}`), numbers (`\p{N}`) and `_.:/=+-@`, others as `-`, cut to 256
/// UTF-16 units (so to 256 characters at most).
pub(super) fn tag_value(value: &str) -> String {
    let mut units = 0;
    let mut out = String::new();
    for c in value.chars() {
        let c = if tag_char(c) { c } else { '-' };
        units += c.len_utf16();
        if units > MAX_TAG_VALUE {
            break;
        }
        out.push(c);
    }
    out
}

/// Whether STS takes `c` in a tag value, by Unicode's general categories
/// (regex-syntax's tables; ASCII alone should they be missing).
fn tag_char(c: char) -> bool {
    static CLASS: OnceLock<Vec<(char, char)>> = OnceLock::new();
    let class = CLASS.get_or_init(|| {
        use regex_syntax::hir::{Class, HirKind};
        let parsed = regex_syntax::parse(r"[\p{L}\p{Z}\p{N}]").ok();
        match parsed.as_ref().map(|hir| hir.kind()) {
            Some(HirKind::Class(Class::Unicode(class))) => class
                .ranges()
                .iter()
                .map(|r| (r.start(), r.end()))
                .collect(),
            _ => vec![('0', '9'), ('A', 'Z'), ('a', 'z'), (' ', ' ')],
        }
    });
    TAG_PUNCTUATION.contains(c)
        || class
            .binary_search_by(|&(start, end)| match (c < start, c > end) {
                (true, _) => std::cmp::Ordering::Greater,
                (_, true) => std::cmp::Ordering::Less,
                _ => std::cmp::Ordering::Equal,
            })
            .is_ok()
}

/// The session tags for `caller` of `scope` on `host`, in `TAG_KEYS`'
/// order, each value made STS's.
pub(super) fn tags(scope: &str, caller: &Caller, host: &str) -> Vec<Tag> {
    let values = [scope, &caller.user, &caller.program, host];
    TAG_KEYS
        .iter()
        .zip(values)
        .filter_map(|(key, value)| {
            // `build` fails only on a missing key or value: never here.
            Tag::builder()
                .key(*key)
                .value(tag_value(value))
                .build()
                .ok()
        })
        .collect()
}

/// AssumeRole `call` for `caller` of `scope`: `SourceIdentity` and the
/// session tags. The role's trust policy must allow
/// `sts:SetSourceIdentity` and `sts:TagSession` (the IAM user guide,
/// "Passing session tags in AWS STS" and "Monitor and control actions
/// taken with assumed roles").
pub(super) fn attributed(
    call: AssumeRoleFluentBuilder,
    scope: &str,
    caller: &Caller,
) -> AssumeRoleFluentBuilder {
    let host = hostname();
    let call = call.source_identity(source_identity(&caller.user, &host));
    tags(scope, caller, &host)
        .into_iter()
        .fold(call, |call, tag| call.tags(tag))
}

#[cfg(test)]
mod tests;
