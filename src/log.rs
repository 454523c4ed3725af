//! Logging on stderr, through `tracing`: one line per event, never a secret.
//!
//! `RUST_LOG` sets the verbosity as usual (e.g. `RUST_LOG=debug`, or
//! `RUST_LOG=access=off` for no access log); by default only our own
//! events, at `info` (the AWS SDK and hyper are silent). `--quiet`
//! turns the access log (target `access`) off. The original's startup and
//! shutdown lines are not log events: `say` prints them as they are.
//!
//! No request ever writes to stderr itself, so none can be frozen by it: a
//! line is appended to a bounded buffer under a short lock, and one writer
//! thread takes the whole buffer and writes it out, a batch per `write(2)`.
//! When stderr is not being read (a stalled pipe, a terminal paused with
//! Ctrl-S) the buffer fills, further lines are dropped and counted, and the
//! count is written once stderr drains. `say` waits (a second at most) for
//! its line to be written, so startup and shutdown lines keep their order
//! with everything before them.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, Once};
use std::time::Duration;
use time::macros::format_description;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

/// The default filter when `RUST_LOG` is unset: ours only. The AWS SDK's
/// own warnings (its credential chain trying EC2's metadata service on a
/// laptop, say) are for `RUST_LOG=debug`; what matters reaches the user
/// as our one-line error.
const DEFAULT_FILTER: &str = "s3_credentials=info,access=info";
/// Bytes of log lines that may wait for stderr (about 900 access lines);
/// lines past that are dropped.
const MAX_PENDING: usize = 64 * 1024;
/// How long the writer lets lines gather after being woken: under load a
/// request appends its line and makes no system call.
const GATHER: Duration = Duration::from_millis(5);
/// How long `say` and `flush` wait on a stderr nobody reads.
const PATIENCE: Duration = Duration::from_secs(1);

/// Lines waiting for the writer.
struct Pending {
    bytes: Vec<u8>,
    /// Lines dropped and not yet reported.
    dropped: u64,
    /// Flushes asked for (`say`, `flush`), and the last one done.
    asked: u64,
    done: u64,
}

static PENDING: Mutex<Pending> = Mutex::new(Pending {
    bytes: Vec::new(),
    dropped: 0,
    asked: 0,
    done: 0,
});
/// Wakes the writer: the first line after a quiet spell, or a flush.
static WAKE: Condvar = Condvar::new();
/// Tells `flush` that the writer has written what it asked for.
static DONE: Condvar = Condvar::new();
static WRITER: Once = Once::new();
/// Lines dropped since the start.
static DROPPED_TOTAL: AtomicU64 = AtomicU64::new(0);

/// How stderr lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// `2026-11-23 20:11:20  INFO message fields`, and the startup lines as
    /// the original prints them.
    #[default]
    Text,
    /// One JSON object per line (tracing-subscriber's): `timestamp`,
    /// `level`, `message` and the event's fields at the top level, startup
    /// and shutdown lines included.
    Json,
}

/// The target of `say`'s lines in JSON, never filtered out.
const SAID: &str = "said";
static JSON: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Installs the stderr subscriber; `quiet` silences the access log.
pub fn init(quiet: bool, format: Format) {
    let mut filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    if quiet {
        filter = filter.add_directive("access=off".parse().expect("a valid directive"));
    }
    // s3s logs each request whole at debug (its signature, a presigned
    // URL's session token) and each refusal at error: whatever RUST_LOG
    // says, the gateway's own access line is its log.
    for quiet_crate in ["s3s=off", "s3s_aws=off"] {
        filter = filter.add_directive(quiet_crate.parse().expect("a valid directive"));
    }
    let builder = tracing_subscriber::fmt()
        .with_timer(SecondClock)
        .with_ansi(false)
        .with_writer(Queued);
    let installed = match format {
        Format::Text => builder
            .with_env_filter(filter)
            .with_target(false)
            .try_init(),
        Format::Json => {
            let filter =
                filter.add_directive(format!("{SAID}=info").parse().expect("a valid directive"));
            builder
                .json()
                .flatten_event(true)
                .with_current_span(false)
                .with_span_list(false)
                .with_env_filter(filter)
                .try_init()
        }
    };
    if installed.is_ok() {
        JSON.store(format == Format::Json, Ordering::Relaxed);
    }
}

/// How many log lines have been dropped because stderr was not being read.
pub(crate) fn dropped_total() -> u64 {
    DROPPED_TOTAL.load(Ordering::Relaxed)
}

/// Waits (a second at most) until every line so far has reached stderr.
pub fn flush() {
    start_writer();
    let mut pending = pending();
    pending.asked += 1;
    let asked = pending.asked;
    WAKE.notify_one();
    let _ = DONE.wait_timeout_while(pending, PATIENCE, |p| p.done < asked);
}

/// A startup, shutdown or error message, printed as is, after every log
/// line before it, and on stderr before this returns (unless stderr has
/// not been read for a second).
pub fn say(message: &str) {
    match JSON.load(Ordering::Relaxed) {
        true => tracing::info!(target: SAID, "{message}"),
        false => append(message.as_bytes(), true),
    }
    flush();
}

/// `Error: message`, as `say` prints it (level `ERROR` in JSON).
pub fn error(message: &str) {
    match JSON.load(Ordering::Relaxed) {
        true => tracing::error!(target: SAID, "Error: {message}"),
        false => append(format!("Error: {message}").as_bytes(), true),
    }
    flush();
}

fn pending() -> MutexGuard<'static, Pending> {
    // A panic mid-append leaves at worst a partial line: keep logging.
    PENDING.lock().unwrap_or_else(|e| e.into_inner())
}

fn start_writer() {
    WRITER.call_once(|| {
        std::thread::Builder::new()
            .name("log-writer".into())
            .spawn(write_forever)
            .expect("a thread for the log writer");
    });
}

/// Appends one line (`newline`: add the `\n`), or drops and counts it.
/// Every line passes through here, so this is where text from outside
/// (config keys, file names, error causes) is made harmless: a control
/// character inside it cannot start a forged line or move the cursor.
fn append(line: &[u8], newline: bool) {
    let (body, end) = match line.strip_suffix(b"\n") {
        Some(body) if !newline => (body, true),
        _ => (line, newline),
    };
    let text = String::from_utf8_lossy(body);
    let escaped = escape(&text);
    push(escaped.as_bytes(), end);
}

/// `text` with every control character written as an escape (`\n`,
/// `\x1b`, `\u{9b}`), and the invisible bidirectional overrides too, so it
/// shows on a terminal as the bytes it is. Unchanged (no copy) when there
/// is none, as in nearly every line.
pub fn escape(text: &str) -> std::borrow::Cow<'_, str> {
    let unsafe_char =
        |c: char| c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    if !text.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if unsafe_char(c) && (c as u32) < 0x80 => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if unsafe_char(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Queues one line's bytes (`newline`: add the `\n`), or drops and
/// counts it.
fn push(line: &[u8], newline: bool) {
    start_writer();
    let mut pending = pending();
    if pending.bytes.len() + line.len() + 1 > MAX_PENDING {
        pending.dropped += 1;
        DROPPED_TOTAL.fetch_add(1, Ordering::Relaxed);
        return;
    }
    let was_empty = pending.bytes.is_empty();
    pending.bytes.extend_from_slice(line);
    if newline {
        pending.bytes.push(b'\n');
    }
    if was_empty {
        WAKE.notify_one();
    }
}

/// The writer thread: sleeps until there is something, lets more gather,
/// then writes it all at once.
fn write_forever() {
    let mut stderr = std::io::stderr();
    let mut batch = Vec::with_capacity(MAX_PENDING);
    loop {
        let mut pending = pending();
        while pending.bytes.is_empty() && pending.dropped == 0 && pending.asked == pending.done {
            pending = WAKE.wait(pending).unwrap_or_else(|e| e.into_inner());
        }
        if pending.asked == pending.done {
            drop(pending);
            std::thread::sleep(GATHER);
            pending = self::pending();
        }
        std::mem::swap(&mut batch, &mut pending.bytes);
        let dropped = std::mem::take(&mut pending.dropped);
        let asked = pending.asked;
        drop(pending);
        if dropped > 0 {
            let note = format!("{dropped} log lines dropped: stderr is not being read\n");
            batch.extend_from_slice(note.as_bytes());
        }
        // A closed stderr is no reason to stop serving.
        let _ = stderr.write_all(&batch);
        batch.clear();
        self::pending().done = asked;
        DONE.notify_all();
    }
}

/// `MakeWriter` for the buffer: tracing formats each event whole into this
/// writer, which appends it as one line when dropped.
struct Queued;

/// `2026-11-23 20:11:20` (UTC), formatted once a second per thread rather
/// than for every access line.
struct SecondClock;

impl FormatTime for SecondClock {
    fn format_time(&self, w: &mut Writer<'_>) -> std::fmt::Result {
        thread_local! {
            static STAMP: std::cell::RefCell<(i64, String)> = const {
                std::cell::RefCell::new((i64::MIN, String::new()))
            };
        }
        let now = time::OffsetDateTime::now_utc();
        STAMP.with_borrow_mut(|(second, text)| {
            if *second != now.unix_timestamp() {
                let format = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
                *text = now.format(format).unwrap_or_default();
                *second = now.unix_timestamp();
            }
            w.write_str(text)
        })
    }
}

thread_local! {
    /// The event being formatted on this thread (no allocation per event).
    static LINE: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(Vec::with_capacity(256));
}

/// One event's bytes, gathered in `LINE` and appended when dropped.
struct EventLine;

impl Write for EventLine {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        LINE.with_borrow_mut(|line| line.extend_from_slice(bytes));
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for EventLine {
    fn drop(&mut self) {
        LINE.with_borrow_mut(|line| {
            if !line.is_empty() {
                append(line, false);
                line.clear();
            }
        });
    }
}

impl<'a> MakeWriter<'a> for Queued {
    type Writer = EventLine;

    fn make_writer(&'a self) -> Self::Writer {
        EventLine
    }
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn control_characters_and_bidi_overrides_are_escaped() {
        assert_eq!(escape("plain text: ok"), "plain text: ok");
        assert_eq!(
            escape("a\nFAKE INFO\r\x1b[31mred\x7f\u{9b}\u{202e}"),
            "a\\nFAKE INFO\\r\\x1b[31mred\\x7f\\u{9b}\\u{202e}"
        );
        assert_eq!(escape("レポート/\ttab"), "レポート/\\ttab");
    }
}
