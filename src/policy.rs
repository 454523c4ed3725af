//! The session policy: which S3 actions a minted credential may use.
//!
//! This is the one place the policy is built. Its statements are the same
//! JSON values as the original tool's `policies.py` (0.17) for every mode,
//! with and without a prefix; `--statement` objects follow them verbatim.

use serde_json::{json, Map, Value};
use std::fmt;
use std::str::FromStr;

/// What a credential may do inside its bucket (or prefix).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Access {
    /// Get, list, put and delete.
    #[default]
    ReadWrite,
    /// Get and list only.
    ReadOnly,
    /// Put only.
    WriteOnly,
}

impl Access {
    /// From the two mutually exclusive flags (clap refuses both at once).
    pub(crate) fn from_flags(read_only: bool, write_only: bool) -> Access {
        match (read_only, write_only) {
            (true, _) => Access::ReadOnly,
            (_, true) => Access::WriteOnly,
            _ => Access::ReadWrite,
        }
    }

    /// The mode `--read-only` or `--write-only` ask a narrowing for; `None`
    /// when neither is given (the scope's own mode stays).
    pub(crate) fn narrowed_by(read_only: bool, write_only: bool) -> Option<Access> {
        (read_only || write_only).then(|| Access::from_flags(read_only, write_only))
    }

    /// The word the original uses in messages and session names.
    pub fn as_str(self) -> &'static str {
        match self {
            Access::ReadWrite => "read-write",
            Access::ReadOnly => "read-only",
            Access::WriteOnly => "write-only",
        }
    }
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One extra IAM statement from `--statement`: a JSON object with at least
/// `Effect`, `Action` and `Resource`, kept exactly as given.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement(Map<String, Value>);

impl FromStr for Statement {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let value: Value = serde_json::from_str(s).map_err(|_| "Invalid JSON string")?;
        Statement::from_value(value)
    }
}

impl Statement {
    /// Validates a parsed value (from `--statement` or a config file) as
    /// the original does, with its messages.
    pub fn from_value(value: Value) -> Result<Self, String> {
        let Value::Object(map) = value else {
            return Err("JSON must be an object".into());
        };
        let missing: Vec<&str> = ["Action", "Effect", "Resource"]
            .into_iter()
            .filter(|k| !map.contains_key(*k))
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "Statement JSON missing required keys: {}",
                missing.join(", ")
            ));
        }
        Ok(Statement(map))
    }
}

/// The most characters STS takes in AssumeRole's `Policy` (the AWS STS API
/// reference: "The plaintext that you use for both inline and managed
/// session policies can't exceed 2,048 characters"), counted on the
/// compact form.
pub(crate) const MAX_POLICY_CHARS: usize = 2048;

/// Everything that decides the session policy: what a credential may reach.
#[derive(Debug, Clone, PartialEq)]
pub struct Grant {
    /// The buckets the credential reaches (at least one).
    pub buckets: Vec<String>,
    /// Read-write, read-only or write-only.
    pub access: Access,
    /// Key prefix; `*` (the original's default) means the whole bucket.
    pub prefix: String,
    /// Extra statements, appended after the generated ones.
    pub statements: Vec<Statement>,
}

impl Grant {
    /// The session policy document as a JSON value.
    pub fn policy(&self) -> Value {
        // As the original: each bucket's statements in turn.
        let statements_for = match self.access {
            Access::ReadWrite => read_write,
            Access::ReadOnly => read_only,
            Access::WriteOnly => write_only,
        };
        let mut statements: Vec<Value> = self
            .buckets
            .iter()
            .flat_map(|bucket| statements_for(bucket, &self.prefix))
            .collect();
        statements.extend(self.statements.iter().map(|s| Value::Object(s.0.clone())));
        json!({"Version": "2012-10-17", "Statement": statements})
    }

    /// The policy as STS is sent it: compact, with no whitespace at all
    /// (Ceph's STS refuses anything else; it also packs smaller).
    pub(crate) fn policy_compact(&self) -> String {
        ensure_ascii(self.policy().to_string())
    }

    /// The policy for people to read, as the original's `policy` command
    /// prints it (four-space indent).
    pub fn policy_pretty(&self) -> String {
        use serde::Serialize;
        let mut out = Vec::new();
        let format = serde_json::ser::PrettyFormatter::with_indent(b"    ");
        let mut ser = serde_json::Serializer::with_formatter(&mut out, format);
        self.policy()
            .serialize(&mut ser)
            .expect("a Value always serialises");
        ensure_ascii(String::from_utf8(out).expect("JSON is UTF-8"))
    }

    /// The pattern the policy's object ARNs and its `s3:prefix` condition
    /// hold for keys: the prefix with the original's trailing `*`.
    pub(crate) fn key_pattern(&self) -> String {
        with_star(&self.prefix)
    }

    /// Whether the policy reaches `key` (and a list of the prefix `key`):
    /// [`iam_matches`] of [`Grant::key_pattern`], as IAM judges it.
    pub(crate) fn reaches_key(&self, key: &str) -> bool {
        iam_matches(&self.key_pattern(), key)
    }

    /// `RoleSessionName`: `s3.{access}.{bucket,bucket...}`, as the
    /// original, limited to STS's characters and length.
    pub(crate) fn session_name(&self) -> String {
        session_name(&format!("s3.{}.{}", self.access, self.buckets.join(",")))
    }
}

/// An S3 action the session policy may allow (IAM's names, as the AWS
/// Service Authorization Reference lists what each S3 call needs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `s3:ListBucket`: ListObjects (V1, V2) and HeadBucket.
    ListBucket,
    /// `s3:GetBucketLocation`.
    GetBucketLocation,
    /// `s3:GetObject`: GetObject, HeadObject, a copy's source.
    GetObject,
    /// `s3:PutObject`: PutObject, the multipart calls that write, a copy's
    /// destination.
    PutObject,
    /// `s3:DeleteObject`: DeleteObject, each key of DeleteObjects.
    DeleteObject,
    /// `s3:AbortMultipartUpload`.
    AbortMultipartUpload,
    /// `s3:ListMultipartUploadParts`: ListParts.
    ListMultipartUploadParts,
    /// `s3:ListBucketMultipartUploads`: ListMultipartUploads.
    ListBucketMultipartUploads,
}

impl Action {
    /// IAM's name for it.
    pub fn iam_name(self) -> &'static str {
        match self {
            Action::ListBucket => "s3:ListBucket",
            Action::GetBucketLocation => "s3:GetBucketLocation",
            Action::GetObject => "s3:GetObject",
            Action::PutObject => "s3:PutObject",
            Action::DeleteObject => "s3:DeleteObject",
            Action::AbortMultipartUpload => "s3:AbortMultipartUpload",
            Action::ListMultipartUploadParts => "s3:ListMultipartUploadParts",
            Action::ListBucketMultipartUploads => "s3:ListBucketMultipartUploads",
        }
    }
}

impl Grant {
    /// Whether the session policy [`Grant::policy`] builds allows `action`
    /// on `bucket` and, for object actions, the object `key`; for
    /// `ListBucket`, `key` is the request's `s3:prefix` (`None`: none
    /// given). Extra statements are not read: a scope with any is never
    /// served through the gateway, which asks this. Property-tested
    /// against an independent evaluator of the policy document.
    pub fn allows(&self, action: Action, bucket: &str, key: Option<&str>) -> bool {
        if !self.buckets.iter().any(|b| b == bucket) {
            return false;
        }
        let reads = matches!(self.access, Access::ReadWrite | Access::ReadOnly);
        let reaches = || key.is_some_and(|k| self.reaches_key(k));
        match action {
            Action::GetBucketLocation => reads,
            // Without a prefix, no condition: any `s3:prefix`, or none.
            Action::ListBucket => reads && (self.key_pattern() == "*" || reaches()),
            Action::GetObject => reads && reaches(),
            Action::PutObject => self.access != Access::ReadOnly && reaches(),
            Action::DeleteObject => self.access == Access::ReadWrite && reaches(),
            // The original's policies grant none of these.
            Action::AbortMultipartUpload
            | Action::ListMultipartUploadParts
            | Action::ListBucketMultipartUploads => false,
        }
    }
}

/// Whether `text` matches the IAM pattern `pattern`, as IAM matches a
/// resource ARN and the `StringLike` condition operator (IAM User Guide,
/// "Wildcards in ARNs"): `*` any run of characters (none, and `/`, too),
/// `?` exactly one character, anything else itself, case-sensitively.
/// The one matcher for every question of what a scope reaches.
pub(crate) fn iam_matches(pattern: &str, text: &str) -> bool {
    let (pattern, text): (Vec<char>, Vec<char>) =
        (pattern.chars().collect(), text.chars().collect());
    let (mut p, mut t) = (0, 0);
    // Where the last `*` was, and the text position it was tried from.
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == '?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                // Let the last `*` take one more character, and go on.
                Some((at, from)) => {
                    star = Some((at, from + 1));
                    p = at + 1;
                    t = from + 1;
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

/// A `RoleSessionName` from `name`: STS's characters (`[\w+=,.@-]`), others
/// as `-`, cut to 64 characters.
pub(crate) fn session_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_+=,.@-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .take(64)
        .collect()
}

/// A bucket name S3 could hold: not empty, no slash or space (S3's own
/// rules, which differ by region and age, are left to S3).
pub(crate) fn check_bucket_name(s: &str) -> Result<(), &'static str> {
    if s.is_empty() {
        return Err("a bucket name cannot be empty");
    }
    if s.len() > 255
        || !s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-_".contains(&b))
    {
        return Err("a bucket name is letters, digits, '.', '-' and '_' (e.g. my-bucket)");
    }
    Ok(())
}

/// The original appends `*` to a prefix that lacks one.
fn with_star(prefix: &str) -> String {
    if prefix.ends_with('*') {
        prefix.to_owned()
    } else {
        format!("{prefix}*")
    }
}

fn bucket_arn(bucket: &str) -> String {
    format!("arn:aws:s3:::{bucket}")
}

fn objects_arn(bucket: &str, prefix: &str) -> String {
    format!("arn:aws:s3:::{bucket}/{prefix}")
}

fn read_only(bucket: &str, prefix: &str) -> Vec<Value> {
    let prefix = with_star(prefix);
    let mut statements = if prefix == "*" {
        vec![json!({
            "Effect": "Allow",
            "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
            "Resource": [bucket_arn(bucket)],
        })]
    } else {
        vec![
            json!({
                "Effect": "Allow",
                "Action": ["s3:GetBucketLocation"],
                "Resource": [bucket_arn(bucket)],
            }),
            json!({
                "Effect": "Allow",
                "Action": ["s3:ListBucket"],
                "Resource": [bucket_arn(bucket)],
                "Condition": {"StringLike": {"s3:prefix": [prefix]}},
            }),
        ]
    };
    statements.push(json!({
        "Effect": "Allow",
        "Action": [
            "s3:GetObject",
            "s3:GetObjectAcl",
            "s3:GetObjectLegalHold",
            "s3:GetObjectRetention",
            "s3:GetObjectTagging",
        ],
        "Resource": [objects_arn(bucket, &prefix)],
    }));
    statements
}

fn read_write(bucket: &str, prefix: &str) -> Vec<Value> {
    let mut statements = read_only(bucket, prefix);
    statements.push(json!({
        "Effect": "Allow",
        "Action": ["s3:PutObject", "s3:DeleteObject"],
        "Resource": [objects_arn(bucket, &with_star(prefix))],
    }));
    statements
}

fn write_only(bucket: &str, prefix: &str) -> Vec<Value> {
    vec![json!({
        "Effect": "Allow",
        "Action": ["s3:PutObject"],
        "Resource": [objects_arn(bucket, &with_star(prefix))],
    })]
}

/// JSON text with every non-ASCII character written `\uXXXX` (a
/// surrogate pair above U+FFFF), as Python's `json.dumps` does by default
/// (`ensure_ascii`): the original's output, and the only form STS takes,
/// since its `Policy` parameter allows `[\u0009\u000A\u000D\u0020-\u00FF]`
/// alone (AWS STS API reference, AssumeRole). Outside strings JSON is
/// ASCII already, so escaping the whole text is escaping the strings.
fn ensure_ascii(json: String) -> String {
    if json.is_ascii() {
        return json;
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if c.is_ascii() {
            out.push(c);
            continue;
        }
        let mut units = [0u16; 2];
        for unit in c.encode_utf16(&mut units) {
            out.push_str(&format!("\\u{unit:04x}"));
        }
    }
    out
}

#[cfg(test)]
mod tests;
