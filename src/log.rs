//! Logging on stderr, through `tracing`: one line per event, never a secret.
//!
//! `RUST_LOG` sets the verbosity as usual (e.g. `RUST_LOG=debug`, or
//! `RUST_LOG=access=off` for no access log); by default our own events at
//! `info` and everything else (the AWS SDK, hyper) at `warn`. `--quiet`
//! turns the access log (target `access`) off. The original's startup and
//! shutdown lines are not log events: `say` prints them as they are.

use std::io::Write;
use time::macros::format_description;
use tracing_subscriber::fmt::time::UtcTime;
use tracing_subscriber::EnvFilter;

/// The default filter when `RUST_LOG` is unset.
const DEFAULT_FILTER: &str = "warn,s3_credentials=info,access=info";

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
        .with_writer(std::io::stderr)
        .try_init();
}

/// A startup or shutdown message, printed as is (the original's wording).
pub fn say(message: &str) {
    // A closed stderr is no reason to stop serving.
    let _ = writeln!(std::io::stderr().lock(), "{message}");
}
