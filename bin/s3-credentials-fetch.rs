//! `s3-credentials-fetch`: parse the command line, fetch once.

use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    s3_credentials::install_panic_hook();
    let cli: s3_credentials::cli::FetchCli = s3_credentials::cli::parse_escaped();
    match s3_credentials::fetch::run(cli.options()) {
        Ok(code) => code,
        // One line, escaped, named as the SDK shows a credential_process's
        // stderr.
        Err(e) => {
            let why = e.to_string();
            let why = s3_credentials::log::escape(&why);
            let _ = writeln!(std::io::stderr(), "s3-credentials-fetch: {why}");
            ExitCode::FAILURE
        }
    }
}
