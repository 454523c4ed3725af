//! Asking for less: a client may narrow its scope's grant to
//! fewer of its buckets, a prefix that extends the scope's, or a weaker
//! mode. Narrowing is arithmetic on the (buckets, prefix, access) tuple;
//! the scope's own statements are carried unchanged. Anything that would
//! widen is refused here, before any STS call.

use crate::policy::{Access, Grant};
use std::fmt;

/// What a request asks for, as given (`?bucket=B&prefix=P&access=read-only`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Narrowing {
    /// `bucket` (repeatable): some of the scope's buckets.
    pub buckets: Vec<String>,
    /// `prefix`: one that extends the scope's.
    pub prefix: Option<String>,
    /// `access`: no wider than the scope's.
    pub access: Option<Access>,
}

/// Why a narrowing was not granted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// The request is not one (an unknown parameter, an empty value): 400.
    Malformed(String),
    /// It would widen the scope, or reach outside it: 403.
    Widens(String),
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refused::Malformed(why) | Refused::Widens(why) => f.write_str(why),
        }
    }
}

impl Narrowing {
    /// Whether it asks for anything at all.
    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty() && self.prefix.is_none() && self.access.is_none()
    }

    /// From a URL's query string (`application/x-www-form-urlencoded`,
    /// decoded once). Unknown parameters, repeated `prefix` or `access`,
    /// and empty values are malformed.
    pub fn from_query(query: &str) -> Result<Narrowing, Refused> {
        let mut narrowing = Narrowing::default();
        let malformed = |why: String| Err(Refused::Malformed(why));
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            if value.is_empty() {
                return malformed(format!("{key} is empty"));
            }
            match key.as_ref() {
                "bucket" => narrowing.buckets.push(value.into_owned()),
                "prefix" if narrowing.prefix.is_some() => {
                    return malformed("one prefix at most".into())
                }
                "prefix" => narrowing.prefix = Some(value.into_owned()),
                "access" if narrowing.access.is_some() => {
                    return malformed("one access at most".into())
                }
                "access" => narrowing.access = Some(parse_access(&value)?),
                other => {
                    return malformed(format!(
                        "unknown parameter {other:?}: ask with bucket, prefix and access"
                    ))
                }
            }
        }
        Ok(narrowing)
    }

    /// The query string this narrowing is asked with (for the client).
    pub fn to_query(&self) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for bucket in &self.buckets {
            query.append_pair("bucket", bucket);
        }
        if let Some(prefix) = &self.prefix {
            query.append_pair("prefix", prefix);
        }
        if let Some(access) = self.access {
            query.append_pair("access", access.as_str());
        }
        query.finish()
    }

    /// The scope's grant narrowed to this request, or why not.
    pub fn apply(&self, scope: &Grant) -> Result<Grant, Refused> {
        let tuple = self.narrow(scope)?;
        Ok(tuple.grant(&scope.statements))
    }

    /// What the narrowed grant reaches, without its statements (which are
    /// the scope's): cheap to compare, so a cached narrowing is found with
    /// no policy built. Buckets keep the scope's order, so one narrowing
    /// has one tuple however it is asked.
    pub fn narrow(&self, scope: &Grant) -> Result<Tuple, Refused> {
        let widens = |why: String| Err(Refused::Widens(why));
        for bucket in &self.buckets {
            if !scope.buckets.contains(bucket) {
                return widens(format!("bucket {bucket:?} is not in this scope"));
            }
        }
        let buckets = match self.buckets.is_empty() {
            true => scope.buckets.clone(),
            false => (scope.buckets.iter())
                .filter(|b| self.buckets.contains(b))
                .cloned()
                .collect(),
        };
        let prefix = match &self.prefix {
            None => scope.prefix.clone(),
            Some(asked) => narrower_prefix(&scope.prefix, asked).map_err(Refused::Widens)?,
        };
        let access = match self.access {
            None => scope.access,
            Some(asked) if asked == scope.access || scope.access == Access::ReadWrite => asked,
            Some(asked) => {
                return widens(format!(
                    "access {asked} is wider than this scope's {}",
                    scope.access
                ))
            }
        };
        Ok(Tuple {
            buckets,
            prefix,
            access,
        })
    }
}

/// A narrowed grant's buckets, prefix and mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tuple {
    /// Some of the scope's buckets, in its order.
    pub buckets: Vec<String>,
    /// The scope's prefix or one extending it.
    pub prefix: String,
    /// The scope's mode or a weaker one.
    pub access: Access,
}

impl Tuple {
    /// The grant, with the scope's `statements` carried unchanged.
    pub fn grant(self, statements: &[crate::policy::Statement]) -> Grant {
        Grant {
            buckets: self.buckets,
            access: self.access,
            prefix: self.prefix,
            statements: statements.to_vec(),
        }
    }
}

/// The `RoleSessionName` of scope `scope`'s credential narrowed to
/// `policy` (the compact session policy sent): `s3c.SCOPE.n` and 8 hex
/// digits of the policy's 32-bit FNV-1a hash, so CloudTrail shows that it
/// was narrowed and tells narrowings apart. The same narrowing has the same
/// name wherever it is minted (the server, `exec`) and on every build.
/// STS's characters (`[\w+=,.@-]`, `policy::session_name`); the scope's name
/// is cut so the whole fits STS's 64 characters.
pub fn session_name(scope: &str, policy: &str) -> String {
    let tag = format!(".n{:08x}", fnv(policy));
    let head = crate::policy::session_name(&format!("s3c.{scope}"));
    let head: String = head.chars().take(64 - tag.len()).collect();
    format!("{head}{tag}")
}

/// The `RoleSessionName` of `caller`'s own session of scope `scope`:
/// `s3c.SCOPE.USER.PROGRAM` in STS's characters (others as `-`), and, for
/// a narrowing (`narrowed`: its compact policy), `.n` and its hash as
/// [`session_name`] adds. Cut to STS's 64 characters with a short hash of
/// the whole when too long, so that names stay apart.
pub fn caller_session_name(
    scope: &str,
    caller: &crate::credential::Caller,
    narrowed: Option<&str>,
) -> String {
    let whole = format!("s3c.{scope}.{}.{}", caller.user, caller.program);
    let tag = narrowed.map_or(String::new(), |policy| format!(".n{:08x}", fnv(policy)));
    let name = crate::policy::session_name(&format!("{whole}{tag}"));
    // Kept as it is only where it names one caller alone: not cut, no
    // character replaced (`pr og` and `pr-og` would meet), and no `.` in
    // the user's name (user `a.b` of program `c` would meet user `a` of
    // program `b.c`).
    if name.len() <= 64 && name == format!("{whole}{tag}") && !caller.user.contains('.') {
        return name;
    }
    let cut = format!(".h{:08x}", fnv(&format!("{whole}{tag}")));
    let head: String = crate::policy::session_name(&whole)
        .chars()
        .take(64 - cut.len() - tag.len())
        .collect();
    format!("{head}{tag}{cut}")
}

/// The 32-bit FNV-1a hash of `text`.
fn fnv(text: &str) -> u32 {
    (text.bytes()).fold(0x811c_9dc5_u32, |hash, byte| {
        (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
    })
}

fn parse_access(value: &str) -> Result<Access, Refused> {
    match value {
        "read-write" => Ok(Access::ReadWrite),
        "read-only" => Ok(Access::ReadOnly),
        "write-only" => Ok(Access::WriteOnly),
        other => Err(Refused::Malformed(format!(
            "access {other:?} is none of read-write, read-only, write-only"
        ))),
    }
}

/// `asked` if it extends the scope's prefix. The policy appends `*` to a
/// prefix (as the original does), so the scope reaches every key starting
/// with its prefix less that star; an asked prefix starting with that
/// reaches a subset. Refused: a prefix outside it, any character IAM reads
/// as a wildcard or a variable (`*`, `?`, `$`), a `%` (a second encoding),
/// a `..` segment, a control character; and any narrowing of a scope whose
/// own prefix holds a wildcard (containment is then not plain arithmetic).
fn narrower_prefix(scope: &str, asked: &str) -> Result<String, String> {
    let base = scope.strip_suffix('*').unwrap_or(scope);
    if base.contains(['*', '?']) {
        return Err(format!(
            "this scope's prefix {scope:?} has a wildcard; it cannot be narrowed by prefix"
        ));
    }
    if asked.contains(['*', '?', '$', '%']) || asked.chars().any(char::is_control) {
        return Err(format!(
            "prefix {asked:?} holds a wildcard, a policy variable, an encoding or a control \
             character"
        ));
    }
    if asked.split('/').any(|segment| segment == "..") {
        return Err(format!("prefix {asked:?} has a '..' segment"));
    }
    if !asked.starts_with(base) {
        return Err(format!(
            "prefix {asked:?} does not extend this scope's prefix {base:?}"
        ));
    }
    Ok(asked.to_owned())
}

#[cfg(test)]
mod tests;
