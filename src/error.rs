//! The one error type users see, how a cause chain becomes one line, and
//! how a failure is said (its chain at debug, then the line).
//!
//! Every message is built from `Display`, never `Debug`: the AWS SDK's
//! `Debug` output is a page of nested structs, and may echo request data.

use std::fmt;
use std::sync::Arc;

/// A failure to report to the user: one line that says what to do, no
/// secret, and the cause it came from (an SDK error, an I/O error) kept as
/// its source, so `chain` can show the rest (`debug_chain` logs it at
/// debug). Cheap to clone: the cache hands one failure to every waiting
/// request.
#[derive(Clone)]
pub struct Error {
    message: String,
    source: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

impl Error {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> Error {
        Error {
            message: message.into(),
            source: None,
        }
    }

    /// An error with this message, caused by `source`.
    pub fn caused(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Error {
        Error {
            message: message.into(),
            source: Some(Arc::new(source)),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

// Hand-written: the message only, never a source's `Debug`.
impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Error").field(&self.message).finish()
    }
}

impl PartialEq for Error {
    fn eq(&self, other: &Error) -> bool {
        self.message == other.message
    }
}

impl Eq for Error {}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// `outer: inner: innermost`, from each cause's `Display`, one line, with a
/// cause that only repeats the one before it left out.
pub(crate) fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cause = Some(err);
    while let Some(err) = cause {
        let text = one_line(&err.to_string());
        if !text.is_empty() && !parts.last().is_some_and(|last| last.contains(&text)) {
            parts.push(text);
        }
        cause = err.source();
    }
    parts.join(": ")
}

/// The first error of type `T` in `err`'s chain (`err` itself included):
/// how a typed cause (a credentials provider's, IMDS's) is found under the
/// SDK's wrappers.
pub(crate) fn find<'a, T>(err: &'a (dyn std::error::Error + 'static)) -> Option<&'a T>
where
    T: std::error::Error + 'static,
{
    let mut cause = Some(err);
    while let Some(err) = cause {
        if let Some(found) = err.downcast_ref::<T>() {
            return Some(found);
        }
        cause = err.source();
    }
    None
}

/// The innermost cause's words, as a reason in parentheses reads them:
/// `Connection refused (os error 111)` becomes `connection refused`.
pub(crate) fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut root = err;
    while let Some(next) = root.source() {
        root = next;
    }
    let text = one_line(&root.to_string());
    let text = match text.rfind(" (os error ") {
        Some(at) if text.ends_with(')') => text[..at].to_owned(),
        _ => text,
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(first) if chars.clone().next().is_some_and(char::is_lowercase) => {
            first.to_lowercase().chain(chars).collect()
        }
        _ => text,
    }
}

/// Every run of white space (newlines included) as one space.
pub(crate) fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Logs `err`'s whole chain at debug (`RUST_LOG=s3_credentials=debug`) as
/// the field `cause` of a line saying `what`: every cause under the line
/// users see, each from its `Display` as that line is, so never a secret.
pub(crate) fn debug_chain(what: &str, err: &Error) {
    tracing::debug!(cause = %chain(err), "{what}");
}

/// Says a failure that ends the program: its whole chain at debug, then
/// the one line `Error: message` after every log line before it. For the
/// binaries' `main`.
pub fn report_error(err: &Error) {
    debug_chain("failed", err);
    crate::log::error(&err.to_string());
}

/// Makes a panic one line on stderr, `Error: internal error: ...; this is
/// a bug`, and exit status 1, never a backtrace (whatever
/// `RUST_BACKTRACE` says). For the binaries' `main`.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic".into());
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let line = crate::log::escape(&one_line(&format!("{what}{at}"))).into_owned();
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "Error: internal error: {line}; this is a bug"
        );
        std::process::exit(1);
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Layer(&'static str, Option<Box<Layer>>);

    impl fmt::Display for Layer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
    }

    impl std::error::Error for Layer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_deref().map(|l| l as _)
        }
    }

    fn layers(texts: &[&'static str]) -> Layer {
        texts
            .iter()
            .rev()
            .fold(None, |inner, text| Some(Layer(text, inner.map(Box::new))))
            .unwrap()
    }

    #[test]
    fn a_chain_is_one_line_without_repeats() {
        let err = layers(&[
            "dispatch failure",
            "io error",
            "io error",
            "tcp\nconnect error",
        ]);
        assert_eq!(chain(&err), "dispatch failure: io error: tcp connect error");
    }

    #[test]
    fn an_error_keeps_its_cause_for_the_chain() {
        let io = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let err = Error::caused("asking x failed", io);
        assert_eq!(err.to_string(), "asking x failed");
        assert_eq!(chain(&err), "asking x failed: connection refused");
    }

    #[test]
    fn a_typed_cause_is_found_anywhere_in_the_chain() {
        let io = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let err = Error::caused("outer", Error::caused("middle", io));
        let found = find::<std::io::Error>(&err).map(std::io::Error::kind);
        assert_eq!(found, Some(std::io::ErrorKind::ConnectionRefused));
        assert_eq!(
            find::<Error>(&err).map(|e| e.to_string()).as_deref(),
            Some("outer")
        );
        assert!(find::<Layer>(&err).is_none());
    }

    #[test]
    fn the_root_cause_reads_as_a_reason() {
        let err = layers(&["dispatch failure", "Connection refused (os error 111)"]);
        assert_eq!(root_cause(&err), "connection refused");
        let err = layers(&["x", "DNS error"]);
        assert_eq!(root_cause(&err), "DNS error");
    }
}
