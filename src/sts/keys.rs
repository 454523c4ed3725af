//! The original's credential options: `--access-key`, `--secret-key` and
//! `--session-token`, or `-a/--auth FILE`, read as its `make_client` reads
//! them: JSON with `AccessKeyId`, `SecretAccessKey` and `SessionToken` (so
//! a server's own `GET /` answer is a valid file), or else INI, the first
//! section with an `aws_access_key_id`.

use crate::{trusted, Error};
use std::fmt;
use std::path::{Path, PathBuf};

/// Where the server's own AWS credentials come from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum KeySource {
    /// The SDK's default chain: environment, `--profile` or `AWS_PROFILE`,
    /// SSO, a container or instance role.
    #[default]
    Chain,
    /// `--access-key` and `--secret-key` (and `--session-token`).
    Keys(Keys),
    /// `--auth FILE` (`-`: standard input).
    File(PathBuf),
}

/// One set of keys given by hand.
#[derive(Clone, PartialEq, Eq)]
pub struct Keys {
    /// The access key id (not secret).
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: String,
    /// The session token, for temporary keys.
    pub session_token: Option<String>,
}

// Hand-written so that a stray `{:?}` can never print a secret.
impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keys")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

impl KeySource {
    /// The keys to use instead of the default chain, if any, each checked
    /// to be printable ASCII (the SDK panics on a control character in a
    /// header). Standard input is read on a blocking thread, so a stop
    /// signal still ends a server waiting for it.
    pub async fn keys(&self) -> Result<Option<Keys>, Error> {
        let (keys, source) = match self {
            KeySource::Chain => return Ok(None),
            KeySource::Keys(keys) => (keys.clone(), None),
            KeySource::File(path) => {
                let path = path.clone();
                let keys = tokio::task::spawn_blocking(move || read(&path))
                    .await
                    .map_err(|e| Error::new(format!("cannot read --auth: {e}")))??;
                (keys, Some(self))
            }
        };
        keys.check(source)?;
        Ok(Some(keys))
    }
}

impl Keys {
    /// Refuses a key with a character outside printable ASCII, naming
    /// where it came from (`from`: the `--auth` file; else the flags),
    /// never the value.
    fn check(&self, from: Option<&KeySource>) -> Result<(), Error> {
        let fields = [
            ("--access-key", "AccessKeyId", Some(&self.access_key_id)),
            (
                "--secret-key",
                "SecretAccessKey",
                Some(&self.secret_access_key),
            ),
            (
                "--session-token",
                "SessionToken",
                self.session_token.as_ref(),
            ),
        ];
        for (flag, field, value) in fields {
            let Some(value) = value else { continue };
            if printable(value) {
                continue;
            }
            let source = match from {
                Some(KeySource::File(path)) => format!("the {field} in --auth {}", path.display()),
                _ => flag.to_owned(),
            };
            return Err(Error::new(format!(
                "{source} holds a character that is not printable ASCII (a newline, a \
                 control character?); copy the key again"
            )));
        }
        Ok(())
    }
}

/// Whether `key` is all printable, non-space ASCII, as AWS's keys,
/// secrets and session tokens are.
pub fn printable(key: &str) -> bool {
    key.bytes().all(|b| b.is_ascii_graphic())
}

/// Reads `--auth FILE` (`-`: standard input, at most 64 KiB), the file
/// after [`trusted::open`]'s checks.
fn read(path: &Path) -> Result<Keys, Error> {
    let name = path.display();
    let bytes = match path.as_os_str() == "-" {
        true => trusted::capped(std::io::stdin().lock(), trusted::KEY_FILE_LIMIT)
            .map_err(|e| Error::new(format!("cannot read --auth -: {e}")))?,
        false => trusted::read(path, "cannot read --auth", trusted::KEY_FILE_LIMIT)?,
    };
    let text = String::from_utf8(bytes)
        .map_err(|_| Error::new(format!("--auth {name}: it is not UTF-8 text")))?;
    parse(text.trim()).map_err(|why| Error::new(format!("--auth {name}: {why}")))
}

/// The original's rule: JSON if it starts with `{`, else INI. Messages
/// never quote the text: it holds secrets.
fn parse(text: &str) -> Result<Keys, String> {
    let keys = match text.starts_with('{') {
        true => from_json(text)?,
        false => from_ini(text)?,
    };
    match keys {
        Some(keys) if !keys.access_key_id.is_empty() && !keys.secret_access_key.is_empty() => {
            Ok(keys)
        }
        _ => Err(
            "no credentials found: give JSON with AccessKeyId and SecretAccessKey, or an \
             INI section with aws_access_key_id and aws_secret_access_key"
                .into(),
        ),
    }
}

fn from_json(text: &str) -> Result<Option<Keys>, String> {
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| format!("not valid JSON (line {}, column {})", e.line(), e.column()))?;
    let field = |key: &str| value.get(key).and_then(|v| v.as_str()).map(str::to_owned);
    Ok(field("AccessKeyId").map(|access_key_id| Keys {
        access_key_id,
        secret_access_key: field("SecretAccessKey").unwrap_or_default(),
        session_token: field("SessionToken"),
    }))
}

fn from_ini(text: &str) -> Result<Option<Keys>, String> {
    let mut ini = configparser::ini::Ini::new();
    // The crate's messages may quote a line; only its position is kept.
    let sections = ini.read(text.to_owned()).map_err(|why| {
        let at = why.split(':').next().unwrap_or_default();
        format!("not JSON, and not INI that can be read ({at})")
    })?;
    let found = sections.values().find_map(|section| {
        let field = |key: &str| section.get(key).cloned().flatten();
        Some(Keys {
            access_key_id: field("aws_access_key_id")?,
            secret_access_key: field("aws_secret_access_key").unwrap_or_default(),
            session_token: field("aws_session_token"),
        })
    });
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_as_served_by_get_slash() {
        let served = r#"{
  "Version": 1,
  "AccessKeyId": "ASIAX",
  "SecretAccessKey": "sekrit",
  "SessionToken": "tok",
  "Expiration": "2026-11-23T22:00:00+00:00"
}"#;
        let keys = parse(served).unwrap();
        assert_eq!(keys.access_key_id, "ASIAX");
        assert_eq!(keys.secret_access_key, "sekrit");
        assert_eq!(keys.session_token.as_deref(), Some("tok"));
        assert!(!format!("{keys:?}").contains("sekrit"));
    }

    #[test]
    fn ini_takes_the_first_section_with_a_key() {
        let text = "[other]\nregion = us-east-1\n\n[default]\naws_access_key_id = AKIA1\n\
                    aws_secret_access_key = s1\n\n[second]\naws_access_key_id = AKIA2\n\
                    aws_secret_access_key = s2\n";
        let keys = parse(text).unwrap();
        assert_eq!(keys.access_key_id, "AKIA1");
        assert_eq!(keys.secret_access_key, "s1");
        assert_eq!(keys.session_token, None);
    }

    #[test]
    fn errors_never_quote_the_text() {
        for text in [
            r#"{"AccessKeyId": "AKIA", "SecretAccessKey": "sekrit""#,
            r#"{"SecretAccessKey": "sekrit"}"#,
            "[default]\naws_secret_access_key = sekrit\n",
            "sekrit",
            "",
        ] {
            let err = parse(text).unwrap_err();
            assert!(!err.contains("sekrit"), "{err}");
        }
    }

    proptest::proptest! {
        /// Any bytes at all: an answer or a one-line error, never a panic,
        /// never the text quoted, and keys that pass `check` are printable.
        #[test]
        fn any_bytes_parse_or_fail_cleanly(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
            let text = String::from_utf8_lossy(&bytes);
            match parse(text.trim()) {
                Ok(keys) => {
                    if keys.check(None).is_ok() {
                        proptest::prop_assert!(printable(&keys.access_key_id));
                        proptest::prop_assert!(printable(&keys.secret_access_key));
                    }
                }
                Err(why) => {
                    proptest::prop_assert!(!why.contains('\n'));
                    proptest::prop_assert!(text.trim().len() < 8 || !why.contains(text.trim()));
                }
            }
        }

        /// JSON shaped like GET /'s answer with any characters in its keys.
        #[test]
        fn keys_with_any_characters_are_checked_not_passed_on(id in "\\PC*", secret in ".*") {
            let json = serde_json::json!({"AccessKeyId": id, "SecretAccessKey": secret}).to_string();
            if let Ok(keys) = parse(&json) {
                let ok = printable(&keys.access_key_id) && printable(&keys.secret_access_key);
                proptest::prop_assert_eq!(keys.check(None).is_ok(), ok);
            }
        }
    }
}
