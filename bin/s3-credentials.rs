//! `s3-credentials`: parse the command line, run the command, say its
//! error. Every command returns `Result<ExitCode, Error>` to this one main.

use s3_credentials::cli::{Cli, Command};
use s3_credentials::Error;
use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    s3_credentials::install_panic_hook();
    match run(Cli::parse_checked().command) {
        Ok(code) => code,
        // Through the log's buffer, so it comes after every log line (its
        // whole chain before it, at debug).
        Err(e) => {
            s3_credentials::report_error(&e);
            ExitCode::FAILURE
        }
    }
}

/// Runs one command: its exit status, or the error to say.
fn run(command: Command) -> Result<ExitCode, Error> {
    use s3_credentials::{container_env, doctor, exec, localserver, verify};
    match command {
        Command::Localserver(args) => on_runtime(localserver::run(args.options()?)),
        Command::Exec(args) => on_runtime(exec::run(args.options()?)),
        Command::Policy(args) => print(&args.grant().policy_pretty()),
        Command::Doctor(args) => report(on_runtime(doctor::run(&args.options()))?),
        Command::Verify(args) => report(on_runtime(verify::run(&args.options()))?),
        Command::Generate(args) => match args.run()? {
            text if text.is_empty() => Ok(ExitCode::SUCCESS),
            text => print(text.trim_end()),
        },
        Command::ContainerEnv(args) => {
            let text = on_runtime(container_env::text(&args.options()))?;
            print(text.trim_end())
        }
    }
}

/// Runs `work` to its end on a multi-threaded runtime, then leaves at
/// once: a blocking read still waiting (`-a -` on a terminal when Ctrl+C
/// came) must not hold the exit.
fn on_runtime<T>(work: impl std::future::Future<Output = Result<T, Error>>) -> Result<T, Error> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::new(format!("cannot start: {e}")))?;
    let result = runtime.block_on(work);
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    result
}

/// A report to stdout; exit 0 when it found nothing wrong, else 1.
fn report((text, ok): (String, bool)) -> Result<ExitCode, Error> {
    print(text.trim_end())?;
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Prints to stdout; a reader that went away (`| head`) is not an error.
fn print(text: &str) -> Result<ExitCode, Error> {
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Error::new(format!("cannot write: {e}")))
        }
        _ => Ok(ExitCode::SUCCESS),
    }
}
