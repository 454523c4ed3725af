//! `s3-credentials`: parse the command line, run, map errors to exit codes.

use s3_credentials::cli::{Cli, Command};
use s3_credentials::localserver::Stopped;
use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    s3_credentials::install_panic_hook();
    let result = match Cli::parse_checked().command {
        Command::Exec(args) => {
            let code = args
                .options()
                .and_then(|options| on_runtime(s3_credentials::exec::run(options)));
            return match code {
                Ok(code) => ExitCode::from(code),
                Err(e) => fail(&e),
            };
        }
        Command::Policy(args) => print(&args.grant().policy_pretty()).map(|()| Stopped::Cleanly),
        Command::Doctor(args) => {
            let options = args.options();
            return report(on_runtime(async move {
                s3_credentials::doctor::run(&options).await
            }));
        }
        Command::Verify(args) => {
            let options = args.options();
            return report(on_runtime(async move {
                s3_credentials::verify::run(&options).await
            }));
        }
        Command::ContainerEnv(args) => {
            let options = args.options();
            on_runtime(async move { s3_credentials::container_env::text(&options).await })
                .and_then(|text| print(text.trim_end()))
                .map(|()| Stopped::Cleanly)
        }
        Command::Localserver(args) => args
            .options()
            .and_then(|options| on_runtime(s3_credentials::localserver::run(options))),
    };
    match result {
        Ok(Stopped::Cleanly) => ExitCode::SUCCESS,
        // As a shell reports a process a signal ended.
        Ok(Stopped::Forced { signal }) => ExitCode::from((128 + signal) as u8),
        Err(e) => fail(&e),
    }
}

/// Runs `work` to its end on a multi-threaded runtime, then leaves at
/// once: a blocking read still waiting (`-a -` on a terminal when Ctrl+C
/// came) must not hold the exit.
fn on_runtime<T>(
    work: impl std::future::Future<Output = Result<T, s3_credentials::Error>>,
) -> Result<T, s3_credentials::Error> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| s3_credentials::Error::new(format!("cannot start: {e}")))?;
    let result = runtime.block_on(work);
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    result
}

/// `Error: ...` through the log's buffer, so it comes after every log line
/// (its whole chain before it, at debug).
fn fail(e: &s3_credentials::Error) -> ExitCode {
    s3_credentials::report_error(e);
    ExitCode::FAILURE
}

/// A report to stdout; exit 0 when it found nothing wrong, else 1.
fn report(result: Result<(String, bool), s3_credentials::Error>) -> ExitCode {
    match result.and_then(|(text, ok)| print(text.trim_end()).map(|()| ok)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => fail(&e),
    }
}

/// Prints to stdout; a reader that went away (`| head`) is not an error.
fn print(text: &str) -> Result<(), s3_credentials::Error> {
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(s3_credentials::Error::new(format!("cannot write: {e}")))
        }
        _ => Ok(()),
    }
}
