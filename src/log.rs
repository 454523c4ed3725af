//! Logging on stderr, through `tracing`: one line per event, never a secret.
//!
//! `RUST_LOG` sets the verbosity as usual (e.g. `RUST_LOG=debug`, or
//! `RUST_LOG=access=off` for no access log); by default our own events at
//! `info` and everything else (the AWS SDK, hyper) at `warn`. `--quiet`
//! turns the access log (target `access`) off. The original's startup and
//! shutdown lines are not log events: `say` prints them as they are.
//!
//! No request ever writes to stderr itself, so none can be frozen by it: a
//! line goes into a bounded queue, and one writer thread empties the queue
//! onto stderr, a batch per `write(2)`. When stderr is not being read (a
//! stalled pipe, a terminal paused with Ctrl-S) the queue fills, further
//! lines are dropped and counted, and the count is written once stderr
//! drains. `say` lines wait (a little) for room instead, so startup and
//! shutdown lines keep their order with everything before them.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::OnceLock;
use std::time::Duration;
use time::macros::format_description;
use tracing_subscriber::fmt::time::UtcTime;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

/// The default filter when `RUST_LOG` is unset.
const DEFAULT_FILTER: &str = "warn,s3_credentials=info,access=info";
/// Lines that may wait for stderr; more are dropped.
const QUEUE_LINES: usize = 2048;
/// How long `say` and `flush` wait on a stderr nobody reads.
const PATIENCE: Duration = Duration::from_secs(1);

/// What the writer thread is sent.
enum Message {
    Line(Vec<u8>),
    /// Answered once every message before it has been written.
    Flushed(SyncSender<()>),
}

static QUEUE: OnceLock<SyncSender<Message>> = OnceLock::new();
/// Lines dropped and not yet reported.
static DROPPED: AtomicU64 = AtomicU64::new(0);
/// Lines dropped since the start.
static DROPPED_TOTAL: AtomicU64 = AtomicU64::new(0);

/// Installs the stderr subscriber; `quiet` silences the access log.
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
        .with_writer(Queued)
        .try_init();
}

/// How many log lines have been dropped because stderr was not being read.
pub fn dropped_total() -> u64 {
    DROPPED_TOTAL.load(Ordering::Relaxed)
}

/// Waits (at most a second) until every line so far has reached stderr.
pub fn flush() {
    let (done, flushed) = sync_channel(1);
    if send_patiently(Message::Flushed(done)) {
        let _ = flushed.recv_timeout(PATIENCE);
    }
}

/// A startup, shutdown or error message, printed as is, after every log
/// line before it, and on stderr before this returns (unless stderr has
/// not been read for a second).
pub fn say(message: &str) {
    let mut line = message.as_bytes().to_vec();
    line.push(b'\n');
    if !send_patiently(Message::Line(line)) {
        note_dropped();
    }
    flush();
}

fn queue() -> &'static SyncSender<Message> {
    QUEUE.get_or_init(|| {
        let (queue, lines) = sync_channel(QUEUE_LINES);
        std::thread::Builder::new()
            .name("log-writer".into())
            .spawn(move || write_forever(lines))
            .expect("a thread for the log writer");
        queue
    })
}

/// A log event's line: queued, or dropped and counted if the queue is full.
fn enqueue(line: Vec<u8>) {
    if let Err(TrySendError::Full(_)) = queue().try_send(Message::Line(line)) {
        note_dropped();
    }
}

fn note_dropped() {
    DROPPED.fetch_add(1, Ordering::Relaxed);
    DROPPED_TOTAL.fetch_add(1, Ordering::Relaxed);
}

/// Queues `message`, waiting for room up to `PATIENCE`.
fn send_patiently(message: Message) -> bool {
    let mut message = message;
    let deadline = std::time::Instant::now() + PATIENCE;
    loop {
        match queue().try_send(message) {
            Ok(()) => return true,
            Err(TrySendError::Disconnected(_)) => return false,
            Err(TrySendError::Full(back)) if std::time::Instant::now() < deadline => {
                message = back;
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(TrySendError::Full(_)) => return false,
        }
    }
}

/// The writer thread: whatever is queued, in one write.
fn write_forever(lines: Receiver<Message>) {
    let mut stderr = std::io::stderr();
    let mut batch = Vec::with_capacity(64 * 1024);
    let mut waiting = Vec::new();
    while let Ok(first) = lines.recv() {
        let mut next = Some(first);
        while let Some(message) = next {
            match message {
                Message::Line(line) => batch.extend_from_slice(&line),
                Message::Flushed(done) => waiting.push(done),
            }
            next = (batch.len() < 64 * 1024)
                .then(|| lines.try_recv().ok())
                .flatten();
        }
        let dropped = DROPPED.swap(0, Ordering::Relaxed);
        if dropped > 0 {
            let note = format!("{dropped} log lines dropped: stderr is not being read\n");
            batch.extend_from_slice(note.as_bytes());
        }
        // A closed stderr is no reason to stop serving.
        let _ = stderr.write_all(&batch);
        batch.clear();
        for done in waiting.drain(..) {
            let _ = done.try_send(());
        }
    }
}

/// `MakeWriter` for the queue: tracing formats each event whole into this
/// writer, which queues it as one line when dropped.
struct Queued;

/// One event's bytes.
struct EventLine(Vec<u8>);

impl Write for EventLine {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for EventLine {
    fn drop(&mut self) {
        if !self.0.is_empty() {
            enqueue(std::mem::take(&mut self.0));
        }
    }
}

impl<'a> MakeWriter<'a> for Queued {
    type Writer = EventLine;

    fn make_writer(&'a self) -> Self::Writer {
        EventLine(Vec::with_capacity(128))
    }
}
