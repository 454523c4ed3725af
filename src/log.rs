//! Log lines on stderr: one line per event, each written whole so lines from
//! concurrent connections never interleave, and never a secret.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use time::format_description::FormatItem;
use time::macros::format_description;
use time::OffsetDateTime;

static QUIET: AtomicBool = AtomicBool::new(false);

/// Silences the access log (`--quiet`); other lines still go out.
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

/// Whether access lines are wanted.
pub fn access_enabled() -> bool {
    !QUIET.load(Ordering::Relaxed)
}

/// `2026-11-23 01:02:03 message`
pub fn line(message: &str) {
    write_line(format!("{} {message}\n", now()));
}

/// A startup or shutdown message, printed as is (the original's wording).
pub fn say(message: &str) {
    write_line(format!("{message}\n"));
}

fn now() -> String {
    const FORMAT: &[FormatItem<'_>] =
        format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    OffsetDateTime::now_utc().format(FORMAT).unwrap_or_default()
}

fn write_line(text: String) {
    // A closed stderr is no reason to stop serving.
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}
