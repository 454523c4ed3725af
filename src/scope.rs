//! Named scopes: what each one grants, for how long and
//! through which role, and the `--config` file that declares them.
//!
//! Parsing stops here: the rest of the program sees only checked `Scope`s.
//! A scope is an allowlist entry; nothing a request says can widen one.

use crate::duration::SessionDuration;
use crate::policy::Grant;
use crate::{trusted, Error};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

mod file;
mod name;
pub use file::ConfigError;
pub use name::check_scope_name;

/// The name the command line's buckets are served under (`/scope/default`
/// as well as `/`), and the `scope` label of their metrics.
pub(crate) const DEFAULT_SCOPE: &str = "default";

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
    /// How its credentials reach S3: handed out, or kept behind the gateway.
    pub serve: Serve,
    /// `attribute = "caller"`: each caller (local user and program) gets
    /// its own STS session, named for it (docs/GUIDE.md, "Attribution").
    pub attribute: bool,
}

/// How a scope's credentials reach S3 (docs/DESIGN.md, "The gateway").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Serve {
    /// Its clients get the STS credential itself (the original's way).
    #[default]
    Direct,
    /// Its clients get local credentials, good only at this server's
    /// gateway (`serve = "gateway"`, `--gateway`), which checks each S3
    /// call against the grant and signs it upstream with the real one.
    Gateway(Upstream),
}

/// What the gateway signs a scope's calls upstream with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Upstream {
    /// The scope's own STS credential (AssumeRole with its session
    /// policy): S3 enforces the scope too, so two layers hold.
    #[default]
    Sts,
    /// The server's own keys, for a store without STS (`upstream =
    /// "keys"`): no STS or IAM call at all, and the gateway is the only
    /// layer.
    Keys,
}

impl Serve {
    /// Whether it is served through the gateway.
    pub fn through_gateway(self) -> bool {
        matches!(self, Serve::Gateway(_))
    }
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
    /// `--gateway`: the command line's scope is served through it.
    pub serve: Serve,
    /// `--attribute`: the command line's scope gives each caller its own
    /// session.
    pub attribute: bool,
}

impl CommandLine {
    /// The command line's own scope, named [`DEFAULT_SCOPE`].
    pub(crate) fn scope(&self) -> Option<Result<Scope, Error>> {
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
            serve: self.serve,
            attribute: self.attribute,
        }))
    }
}

impl Scopes {
    /// The scopes of a server without `--config`: the command line's one.
    pub(crate) fn from_command_line(cli: &CommandLine) -> Result<Scopes, Error> {
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
        file::parse(text, cli)
    }

    /// Whether some scope is served through the gateway.
    pub fn any_through_gateway(&self) -> bool {
        self.by_name.values().any(|s| s.serve.through_gateway())
    }

    /// Whether some scope needs STS (all but `upstream = "keys"` ones).
    pub fn any_needs_sts(&self) -> bool {
        (self.by_name.values()).any(|s| s.serve != Serve::Gateway(Upstream::Keys))
    }

    /// The scope `/` serves.
    pub(crate) fn default_scope(&self) -> Option<&Scope> {
        self.by_name.get(self.default.as_deref()?)
    }
}

#[cfg(test)]
mod tests;
