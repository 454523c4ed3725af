//! The `--config` file as written: its TOML tables, each value checked as
//! it is read, and what a refusal says (the file, the line, the key).

use super::{check_scope_name, CommandLine, Scope, Scopes, Serve, Upstream, DEFAULT_SCOPE};
use crate::duration::SessionDuration;
use crate::policy::{check_bucket_name, session_name, Access, Grant, Statement};
use serde::de::{self, Deserializer};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::Range;
use std::path::PathBuf;
use toml::Spanned;

/// Why a config file was refused: where, which key, and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// 1-based; 0 when the file as a whole is wrong.
    pub line: usize,
    /// The dotted key (`scope.prod.access`), or empty.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

impl ConfigError {
    fn toml(text: &str, key: &str, error: toml::de::Error) -> ConfigError {
        ConfigError {
            line: error.span().map_or(0, |span| line_of(text, span.start)),
            key: key.to_owned(),
            message: error.message().trim().replace('\n', " "),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "{}:", self.line)?;
        }
        if !self.key.is_empty() {
            write!(f, " {}:", self.key)?;
        }
        write!(f, " {}", self.message)
    }
}

impl std::error::Error for ConfigError {}

/// `scope.prod.buckets[0]`: the path serde took, without `Spanned`'s own
/// wrapper fields.
fn dotted(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut key = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Map { key: k } if k.starts_with("$__serde_spanned") => {}
            Segment::Map { key: k } | Segment::Enum { variant: k } => {
                if !key.is_empty() {
                    key.push('.');
                }
                key.push_str(k);
            }
            Segment::Seq { index } => key.push_str(&format!("[{index}]")),
            Segment::Unknown => {}
        }
    }
    key
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// A semantic error: where, which key, what.
type Refusal = (Range<usize>, String, String);

/// The file as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    duration: Option<FileDuration>,
    role_arn: Option<RoleArn>,
    default: Option<Spanned<String>>,
    #[serde(default)]
    scope: BTreeMap<ScopeName, Spanned<FileScope>>,
}

/// One `[scope.NAME]` table as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileScope {
    buckets: Spanned<Vec<BucketName>>,
    #[serde(default = "whole_bucket")]
    prefix: String,
    #[serde(default)]
    access: Access,
    #[serde(default)]
    statements: Vec<FileStatement>,
    duration: Option<FileDuration>,
    role_arn: Option<RoleArn>,
    #[serde(default)]
    uids: BTreeSet<u32>,
    token_file: Option<Spanned<PathBuf>>,
    serve: Option<Spanned<ServeWord>>,
    upstream: Option<Spanned<UpstreamWord>>,
    attribute: Option<AttributeWord>,
}

/// `attribute = "caller"`: the one way a scope's sessions are attributed.
#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum AttributeWord {
    Caller,
}

/// `serve = "direct" | "gateway"`.
#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum ServeWord {
    Direct,
    Gateway,
}

/// `upstream = "sts" | "keys"`.
#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum UpstreamWord {
    Sts,
    Keys,
}

fn whole_bucket() -> String {
    "*".to_owned()
}

/// The scopes `text` declares, with the command line's.
pub(super) fn parse(text: &str, cli: &CommandLine) -> Result<Scopes, ConfigError> {
    let deserializer =
        toml::Deserializer::parse(text).map_err(|e| ConfigError::toml(text, "", e))?;
    let file: File = serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let key = dotted(e.path());
        ConfigError::toml(text, &key, e.into_inner())
    })?;
    file.resolve(cli)
        .map_err(|(span, key, message)| ConfigError {
            line: line_of(text, span.start),
            key,
            message,
        })
}

impl File {
    /// Every scope with its fallbacks filled in, and the default one.
    fn resolve(self, cli: &CommandLine) -> Result<Scopes, Refusal> {
        let whole = 0..0;
        let mut by_name = BTreeMap::new();
        if let Some(scope) = cli.scope() {
            let scope = scope.map_err(|e| (whole.clone(), String::new(), e.to_string()))?;
            by_name.insert(scope.name.clone(), scope);
        }
        let fallback = Fallback {
            duration: self.duration.map(|d| d.0).or(cli.duration),
            role_arn: self.role_arn.map(|r| r.0).or_else(|| cli.role_arn.clone()),
        };
        for (name, table) in self.scope {
            if by_name.contains_key(&name.0) {
                let why = "this name is the command line's buckets' scope; rename it";
                return Err((table.span(), format!("scope.{}", name.0), why.into()));
            }
            let scope = scope_of(name.0, table, &fallback)?;
            by_name.insert(scope.name.clone(), scope);
        }
        let default = default_of(self.default, cli, &by_name)?;
        if by_name.is_empty() {
            let why = "declares no scope: add a [scope.NAME] table with buckets";
            return Err((whole, String::new(), why.into()));
        }
        Ok(Scopes { by_name, default })
    }
}

/// What the top of the file (or the command line) gives every scope.
struct Fallback {
    duration: Option<SessionDuration>,
    role_arn: Option<String>,
}

/// The scope a `[scope.NAME]` table declares, checked.
fn scope_of(
    name: String,
    table: Spanned<FileScope>,
    fallback: &Fallback,
) -> Result<Scope, Refusal> {
    let span = table.span();
    let table = table.into_inner();
    let key = |k: &str| format!("scope.{name}.{k}");
    if let Some(file) = (table.token_file.as_ref()).filter(|f| f.get_ref().as_os_str().is_empty()) {
        let why = "name a file, e.g. token_file = \"prod.token\" (made if missing)";
        return Err((file.span(), key("token_file"), why.into()));
    }
    let serve = serve_of(&table, &key)?;
    if table.buckets.get_ref().is_empty() {
        let why = "list at least one bucket, e.g. buckets = [\"my-bucket\"]";
        return Err((table.buckets.span(), key("buckets"), why.into()));
    }
    let Some(duration) = table.duration.map(|d| d.0).or(fallback.duration) else {
        let why = "no duration: set it here, at the top of the file, or pass --duration";
        return Err((span, key("duration"), why.into()));
    };
    let buckets = table.buckets.into_inner().into_iter().map(|b| b.0);
    Ok(Scope {
        serve,
        attribute: table.attribute == Some(AttributeWord::Caller),
        session_name: session_name(&format!("s3c.{name}")),
        grant: Grant {
            buckets: buckets.collect(),
            access: table.access,
            prefix: table.prefix,
            statements: table.statements.into_iter().map(|s| s.0).collect(),
        },
        duration,
        role_arn: table
            .role_arn
            .map(|r| r.0)
            .or_else(|| fallback.role_arn.clone()),
        uids: table.uids,
        token_file: table.token_file.map(Spanned::into_inner),
        name,
    })
}

/// `serve` and `upstream`, which only make sense together: what the
/// gateway cannot enforce (extra statements) or would not use (a role with
/// the server's own keys) is refused rather than ignored.
fn serve_of(table: &FileScope, key: &dyn Fn(&str) -> String) -> Result<Serve, Refusal> {
    let gateway = table.serve.as_ref().map(|s| *s.get_ref()) == Some(ServeWord::Gateway);
    let upstream = match (&table.upstream, gateway) {
        (None, _) => Upstream::Sts,
        (Some(u), false) => {
            let why = "the upstream is the gateway's: add serve = \"gateway\"";
            return Err((u.span(), key("upstream"), why.into()));
        }
        (Some(u), true) if *u.get_ref() == UpstreamWord::Keys => Upstream::Keys,
        (Some(_), true) => Upstream::Sts,
    };
    if !gateway {
        return Ok(Serve::Direct);
    }
    let span = || table.serve.as_ref().map_or(0..0, |s| s.span());
    if !table.statements.is_empty() {
        let why = "the gateway cannot enforce extra statements: remove them, or serve \
                   this scope directly";
        return Err((span(), key("statements"), why.into()));
    }
    if let (Upstream::Keys, Some(_)) = (upstream, &table.attribute) {
        let why = "attribute = \"caller\" names each caller's STS session, and \
                   upstream = \"keys\" has none: remove one of them";
        return Err((span(), key("attribute"), why.into()));
    }
    if let (Upstream::Keys, Some(role)) = (upstream, &table.role_arn) {
        let why = format!(
            "upstream = \"keys\" assumes no role: remove role_arn {}",
            role.0
        );
        return Err((span(), key("role_arn"), why));
    }
    Ok(Serve::Gateway(upstream))
}

/// The scope `/` serves: `default = "NAME"`, or the command line's.
fn default_of(
    named: Option<Spanned<String>>,
    cli: &CommandLine,
    by_name: &BTreeMap<String, Scope>,
) -> Result<Option<String>, Refusal> {
    match (named, cli.grant.is_some()) {
        (Some(named), true) => {
            let why = "the buckets on the command line are already the default scope; \
                       remove `default` or the buckets";
            Err((named.span(), "default".into(), why.into()))
        }
        (Some(named), false) if !by_name.contains_key(named.get_ref()) => {
            let why = format!("no scope is named '{}'", named.get_ref());
            Err((named.span(), "default".into(), why))
        }
        (Some(named), false) => Ok(Some(named.into_inner())),
        (None, true) => Ok(Some(DEFAULT_SCOPE.to_owned())),
        (None, false) => Ok(None),
    }
}

/// A `duration`: seconds as a number, or a string as `--duration` takes.
struct FileDuration(SessionDuration);

impl<'de> Deserialize<'de> for FileDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Secs(u64),
            Text(String),
        }
        let parsed = match Raw::deserialize(d)? {
            Raw::Secs(secs) => SessionDuration::from_secs(secs),
            Raw::Text(text) => text.parse(),
        };
        parsed.map(FileDuration).map_err(de::Error::custom)
    }
}

/// Builds a newtype whose `Deserialize` checks a string.
macro_rules! checked_string {
    ($(#[$doc:meta])* $name:ident, $check:expr) => {
        $(#[$doc])*
        #[derive(PartialEq, Eq, PartialOrd, Ord)]
        struct $name(String);

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                let check: fn(&str) -> Result<(), &'static str> = $check;
                check(&s).map_err(de::Error::custom)?;
                Ok($name(s))
            }
        }
    };
}

checked_string!(
    /// A `[scope.NAME]` name.
    ScopeName,
    check_scope_name
);
checked_string!(
    /// One of `buckets`.
    BucketName,
    check_bucket_name
);
checked_string!(
    /// A `role_arn`.
    RoleArn,
    |s| match s.starts_with("arn:") {
        true => Ok(()),
        false => Err("a role ARN starts with arn:, e.g. arn:aws:iam::123456789012:role/NAME"),
    }
);

/// One of `statements`: an inline table checked as `--statement` is.
struct FileStatement(Statement);

impl<'de> Deserialize<'de> for FileStatement {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(d)?;
        Statement::from_value(value)
            .map(FileStatement)
            .map_err(de::Error::custom)
    }
}
