//! Tokens: the `--auth-token-file` every TCP request must carry, and each
//! scope's own `token_file`.
//!
//! The file is opened once, without following a symlink, and judged by
//! `fstat` of that open file (no window between the check and the read):
//! a regular file of ours with no group or other bits at all. A missing
//! one is made, 0600, with a random token, so the flag works first time.

use crate::trusted;
use crate::Error;
use nix::unistd::geteuid;
use std::io::ErrorKind;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use subtle::ConstantTimeEq;

/// The shortest token accepted: guessing one must be out of reach.
const MIN_LEN: usize = 16;
/// Random bytes in a token this server makes (hex-encoded: 64 characters).
const NEW_BYTES: usize = 32;

/// The token; never printed.
#[derive(Clone)]
pub struct Token(Vec<u8>);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(..)")
    }
}

impl Token {
    /// A token from bytes, for the app's tests.
    #[cfg(test)]
    pub(crate) fn for_tests(bytes: &[u8]) -> Token {
        Token(bytes.to_vec())
    }

    /// The token's bytes: for `container-env`'s answer on the Unix socket
    /// alone, which hands a scope's token to its owner.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// Whether `given` is this token, in constant time.
    pub fn matches(&self, given: &[u8]) -> bool {
        bool::from(given.ct_eq(&self.0))
    }
}

/// What `load` did.
pub enum Loaded {
    /// The file held a good token.
    Read(Token),
    /// There was no file: one was made with a new token.
    Created(Token),
}

/// Reads the token file at `path`, or makes one if there is none. The
/// file must pass [`trusted::open`]'s checks and be private to the server's
/// uid, as an ssh key is. `what` names it in errors (`--auth-token-file`,
/// `scope 'prod' token_file`).
pub fn load(path: &Path, what: &str) -> Result<Loaded, Error> {
    let fail = |why: String| Error::new(format!("{what} {}: {why}", path.display()));
    if let Err(e) = std::fs::symlink_metadata(path) {
        return match e.kind() {
            ErrorKind::NotFound => create(path).map_err(fail),
            _ => Err(fail(e.to_string())),
        };
    }
    let opened = trusted::open(path, what)?;
    read(opened, what).map(Loaded::Read).map_err(fail)
}

fn read(opened: trusted::Opened, what: &str) -> Result<Token, String> {
    let meta = opened.meta;
    if meta.uid() != geteuid().as_raw() {
        return Err(format!("it is owned by uid {}, not by you", meta.uid()));
    }
    if meta.mode() & 0o077 != 0 {
        return Err(format!(
            "group or others have access to it (mode {:04o}); run chmod 600 on it",
            meta.mode() & 0o7777
        ));
    }
    // A token file is a line; anything much longer is not one.
    let text = trusted::capped(opened.file, trusted::KEY_FILE_LIMIT)?;
    let token = parse(&text).map(|t| Token(t.to_vec()))?;
    if text.ends_with(b"\n") {
        crate::log::say(&format!(
            "Warning: the {what} ends with a newline: the server strips it, but \
             boto3, the JavaScript SDK and Rust's object_store send the file as it is and \
             fail; write it without one (printf '%s' TOKEN > FILE)"
        ));
    }
    Ok(token)
}

/// Exactly one token of at least `MIN_LEN` printable, non-space ASCII
/// characters, with at most one trailing newline (editors add one).
fn parse(text: &[u8]) -> Result<&[u8], String> {
    let token = text.strip_suffix(b"\n").unwrap_or(text);
    let token = token.strip_suffix(b"\r").unwrap_or(token);
    if token.len() < MIN_LEN || !token.iter().all(|b| b.is_ascii_graphic()) {
        return Err(format!(
            "it must hold one token of at least {MIN_LEN} printable characters, no spaces"
        ));
    }
    Ok(token)
}

/// A fresh random token (for `exec`'s ephemeral server), and its text.
pub fn random() -> Result<(Token, String), Error> {
    let text = random_hex().map_err(Error::new)?;
    Ok((Token(text.clone().into_bytes()), text))
}

/// `NEW_BYTES` random bytes in hex.
fn random_hex() -> Result<String, String> {
    let mut bytes = [0u8; NEW_BYTES];
    getrandom::fill(&mut bytes).map_err(|e| format!("no randomness for a new token: {e}"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// A new file, 0600 from birth, with a random hex token and no newline
/// (SDKs send the file's bytes as they are).
fn create(path: &Path) -> Result<Loaded, String> {
    let token = random_hex()?;
    trusted::write_private(path, token.as_bytes()).map_err(|e| format!("cannot create it: {e}"))?;
    Ok(Loaded::Created(Token(token.into_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn file(dir: &Path, text: &str, mode: u32) -> std::path::PathBuf {
        let path = dir.join("token");
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    fn refusal(path: &Path) -> String {
        match load(path, "--auth-token-file") {
            Err(e) => e.to_string(),
            Ok(_) => panic!("{} was accepted", path.display()),
        }
    }

    #[test]
    fn any_group_or_other_bit_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        for mode in [0o622, 0o640, 0o604, 0o610] {
            let err = refusal(&file(dir.path(), "0123456789abcdef", mode));
            assert!(err.contains(&format!("(mode {mode:04o})")), "{err}");
        }
    }

    #[test]
    fn a_symlink_is_followed_to_a_private_file_only() {
        let dir = tempfile::tempdir().unwrap();
        let real = file(dir.path(), "0123456789abcdef", 0o600);
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        assert!(
            matches!(load(&link, "--auth-token-file"), Ok(Loaded::Read(t)) if t.matches(b"0123456789abcdef"))
        );
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).unwrap();
        assert!(refusal(&link).contains("(mode 0640)"));
    }

    #[test]
    fn one_long_printable_token_with_one_newline_at_most() {
        assert_eq!(parse(b"0123456789abcdef\n"), Ok(&b"0123456789abcdef"[..]));
        assert_eq!(parse(b"0123456789abcdef\r\n"), Ok(&b"0123456789abcdef"[..]));
        for bad in [
            &b"short\n"[..],
            b"0123456789 abcdef",
            b"0123456789abcdef\n\n",
            b"",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_missing_file_is_made_private_with_a_random_token() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        let Ok(Loaded::Created(made)) = load(&path, "--auth-token-file") else {
            panic!("not created")
        };
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.len(), 64);
        assert!(made.matches(text.as_bytes()));
        let Ok(Loaded::Read(again)) = load(&path, "--auth-token-file") else {
            panic!("not read back")
        };
        assert!(again.matches(text.as_bytes()) && !again.matches(b"x"));
    }
}
