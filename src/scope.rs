//! Named scopes (DESIGN.md §11): what each one grants, for how long and
//! through which role, and the `--config` file that declares them.
//!
//! Parsing stops here: the rest of the program sees only checked `Scope`s.
//! A scope is an allowlist entry; nothing a request says can widen one.

use crate::body::check_scope_name;
use crate::duration::SessionDuration;
use crate::policy::{check_bucket_name, session_name, Access, Grant, Statement};
use crate::{trusted, Error};
use serde::de::{self, Deserializer};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// The name the command line's buckets are served under (`/scope/default`
/// as well as `/`), and the `scope` label of their metrics.
pub const DEFAULT_SCOPE: &str = "default";

/// One scope, ready to mint.
#[derive(Debug, Clone, PartialEq)]
pub struct Scope {
    /// Its name, served at `/scope/NAME`.
    pub name: String,
    /// What its credentials reach.
    pub grant: Grant,
    /// Each credential's life.
    pub duration: SessionDuration,
    /// The role to assume; `None`: the original's role, made if missing.
    pub role_arn: Option<String>,
    /// `RoleSessionName`: the original's for the command line's buckets,
    /// `s3c.NAME` for the file's scopes.
    pub session_name: String,
    /// Other users (`uids = [...]`) that may fetch this scope, and no
    /// other; the server's own uid and `--allow-uid`s may fetch every one.
    pub uids: BTreeSet<u32>,
    /// `token_file = "PATH"`: this scope's own token, which opens it (and
    /// nothing else) over TCP and the container endpoint; a relative path
    /// is the config file's directory's.
    pub token_file: Option<PathBuf>,
}

/// Every scope a server serves, by name, and which one `/` serves.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Scopes {
    /// By name.
    pub by_name: BTreeMap<String, Scope>,
    /// The scope `GET /` and `GET /ecs` serve, if any.
    pub default: Option<String>,
}

/// What the command line says, which the file's scopes fall back on.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CommandLine {
    /// The buckets given as arguments, with the scope flags: the default
    /// scope (`None` when no bucket was given).
    pub grant: Option<Grant>,
    /// `--duration`.
    pub duration: Option<SessionDuration>,
    /// `--role-arn`.
    pub role_arn: Option<String>,
}

impl CommandLine {
    /// The command line's own scope, named [`DEFAULT_SCOPE`].
    fn scope(&self) -> Option<Result<Scope, Error>> {
        let grant = self.grant.clone()?;
        let Some(duration) = self.duration else {
            return Some(Err(Error::new(
                "--duration is required with buckets on the command line",
            )));
        };
        Some(Ok(Scope {
            name: DEFAULT_SCOPE.to_owned(),
            session_name: grant.session_name(),
            grant,
            duration,
            role_arn: self.role_arn.clone(),
            uids: BTreeSet::new(),
            token_file: None,
        }))
    }
}

impl Scopes {
    /// The scopes of a server without `--config`: the command line's one.
    pub fn from_command_line(cli: &CommandLine) -> Result<Scopes, Error> {
        let scope = cli
            .scope()
            .unwrap_or_else(|| Err(Error::new("give a bucket, or --config FILE")))?;
        Ok(Scopes {
            default: Some(scope.name.clone()),
            by_name: BTreeMap::from([(scope.name.clone(), scope)]),
        })
    }

    /// What `--config` (if given) and the command line declare together.
    pub fn declared(config: Option<&Path>, cli: &CommandLine) -> Result<Scopes, Error> {
        match config {
            Some(path) => Scopes::load(path, cli),
            None => Scopes::from_command_line(cli),
        }
    }

    /// Reads `--config FILE`, with the command line's buckets (if any) as
    /// the default scope. Errors name the file, the line and the key.
    pub fn load(path: &Path, cli: &CommandLine) -> Result<Scopes, Error> {
        let bytes = trusted::read(path, "cannot read --config", trusted::CONFIG_LIMIT)?;
        let text = String::from_utf8(bytes).map_err(|e| {
            let at = e.utf8_error().valid_up_to();
            Error::new(format!(
                "cannot read --config {}: it is not UTF-8 text (byte {at})",
                path.display()
            ))
        })?;
        let mut scopes =
            Scopes::parse(&text, cli).map_err(|e| Error::new(format!("{}:{e}", path.display())))?;
        let dir = path.parent().unwrap_or(Path::new(""));
        for token_file in scopes
            .by_name
            .values_mut()
            .filter_map(|s| s.token_file.as_mut())
        {
            *token_file = dir.join(&*token_file);
        }
        Ok(scopes)
    }

    /// The same, from the file's text.
    pub fn parse(text: &str, cli: &CommandLine) -> Result<Scopes, ConfigError> {
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

    /// The scope `/` serves.
    pub fn default_scope(&self) -> Option<&Scope> {
        self.by_name.get(self.default.as_deref()?)
    }
}

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
}

fn whole_bucket() -> String {
    "*".to_owned()
}

impl File {
    fn resolve(self, cli: &CommandLine) -> Result<Scopes, Refusal> {
        let whole = 0..0;
        let mut by_name = BTreeMap::new();
        if let Some(scope) = cli.scope() {
            let scope = scope.map_err(|e| (whole.clone(), String::new(), e.to_string()))?;
            by_name.insert(scope.name.clone(), scope);
        }
        let duration = self.duration.map(|d| d.0).or(cli.duration);
        let role_arn = self.role_arn.map(|r| r.0).or_else(|| cli.role_arn.clone());
        for (name, table) in self.scope {
            let span = table.span();
            let (name, table) = (name.0, table.into_inner());
            let key = |k: &str| format!("scope.{name}.{k}");
            if by_name.contains_key(&name) {
                let why = "this name is the command line's buckets' scope; rename it";
                return Err((span, format!("scope.{name}"), why.into()));
            }
            if let Some(file) = table
                .token_file
                .as_ref()
                .filter(|f| f.get_ref().as_os_str().is_empty())
            {
                let why = "name a file, e.g. token_file = \"prod.token\" (made if missing)";
                return Err((file.span(), key("token_file"), why.into()));
            }
            if table.buckets.get_ref().is_empty() {
                let why = "list at least one bucket, e.g. buckets = [\"my-bucket\"]";
                return Err((table.buckets.span(), key("buckets"), why.into()));
            }
            let Some(duration) = table.duration.map(|d| d.0).or(duration) else {
                let why = "no duration: set it here, at the top of the file, or pass --duration";
                return Err((span, key("duration"), why.into()));
            };
            let scope = Scope {
                session_name: session_name(&format!("s3c.{name}")),
                grant: Grant {
                    buckets: table
                        .buckets
                        .into_inner()
                        .into_iter()
                        .map(|b| b.0)
                        .collect(),
                    access: table.access,
                    prefix: table.prefix,
                    statements: table.statements.into_iter().map(|s| s.0).collect(),
                },
                duration,
                role_arn: table.role_arn.map(|r| r.0).or_else(|| role_arn.clone()),
                uids: table.uids,
                token_file: table.token_file.map(Spanned::into_inner),
                name: name.clone(),
            };
            by_name.insert(name, scope);
        }
        let default = match (self.default, cli.grant.is_some()) {
            (Some(named), true) => {
                let why = "the buckets on the command line are already the default scope; \
                           remove `default` or the buckets";
                return Err((named.span(), "default".into(), why.into()));
            }
            (Some(named), false) if !by_name.contains_key(named.get_ref()) => {
                let why = format!("no scope is named '{}'", named.get_ref());
                return Err((named.span(), "default".into(), why));
            }
            (Some(named), false) => Some(named.into_inner()),
            (None, true) => Some(DEFAULT_SCOPE.to_owned()),
            (None, false) => None,
        };
        if by_name.is_empty() {
            let why = "declares no scope: add a [scope.NAME] table with buckets";
            return Err((whole, String::new(), why.into()));
        }
        Ok(Scopes { by_name, default })
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

#[cfg(test)]
mod tests;
