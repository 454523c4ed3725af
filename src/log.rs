//! Logging on stderr, through `tracing`: one line per event, never a secret.
//!
//! `RUST_LOG` sets the verbosity as usual (e.g. `RUST_LOG=debug`, or
//! `RUST_LOG=access=off` for no access log); by default our own events at
//! `info` and everything else (the AWS SDK, hyper) at `warn`. `--quiet`
//! turns the access log (target `access`) off. The original's startup and
//! shutdown lines are not log events: `say` prints them as they are.
//!
//! Every line goes through one buffer: a request appends its access line
//! under a short lock instead of making a `write(2)` of its own, and the
//! buffer reaches stderr at the latest `FLUSH_EVERY` later (or when full,
//! or with the next `say`, so the order of lines is kept).

use std::io::{BufWriter, Stderr, Write};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;
use time::macros::format_description;
use tracing_subscriber::fmt::time::UtcTime;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

/// The default filter when `RUST_LOG` is unset.
const DEFAULT_FILTER: &str = "warn,s3_credentials=info,access=info";
/// The longest a log line waits in the buffer.
pub const FLUSH_EVERY: Duration = Duration::from_millis(100);

static OUT: Mutex<Option<BufWriter<Stderr>>> = Mutex::new(None);

/// Installs the stderr subscriber and the task that flushes its buffer;
/// `quiet` silences the access log. Call it inside the tokio runtime.
pub fn init(quiet: bool) {
    let mut filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    if quiet {
        filter = filter.add_directive("access=off".parse().expect("a valid directive"));
    }
    let timer = UtcTime::new(format_description!(
        "[year]-[month]-[day] [hour]:[minute]:[second]"
    ));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_timer(timer)
        .with_target(false)
        .with_ansi(false)
        .with_writer(Buffered)
        .try_init();
    // Every FLUSH_EVERY, until the runtime stops.
    tokio::spawn(async {
        let mut tick = tokio::time::interval(FLUSH_EVERY);
        loop {
            tick.tick().await;
            flush();
        }
    });
}

/// Writes out whatever is buffered.
pub fn flush() {
    if let Some(out) = out().as_mut() {
        // A closed stderr is no reason to stop serving.
        let _ = out.flush();
    }
}

/// A startup, shutdown or error message, printed as is and at once, after
/// every log line before it.
pub fn say(message: &str) {
    let mut out = out();
    let out = out.get_or_insert_with(buffer);
    let _ = writeln!(out, "{message}").and_then(|()| out.flush());
}

fn out() -> MutexGuard<'static, Option<BufWriter<Stderr>>> {
    // A panic mid-write leaves at worst a partial line: keep logging.
    OUT.lock().unwrap_or_else(|e| e.into_inner())
}

fn buffer() -> BufWriter<Stderr> {
    BufWriter::with_capacity(64 * 1024, std::io::stderr())
}

/// `MakeWriter` for the shared buffer: each event is formatted whole by
/// tracing, then appended here in one `write`.
struct Buffered;

/// The lock on the buffer, held for one event's write.
struct BufferGuard(MutexGuard<'static, Option<BufWriter<Stderr>>>);

impl Write for BufferGuard {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.get_or_insert_with(buffer).write(bytes)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(()) // the periodic flush and `say` do it
    }
}

impl<'a> MakeWriter<'a> for Buffered {
    type Writer = BufferGuard;

    fn make_writer(&'a self) -> Self::Writer {
        BufferGuard(out())
    }
}
