//! `s3-credentials-fetch`: parse the command line, fetch once.

use std::process::ExitCode;

fn main() -> ExitCode {
    s3_credentials::install_panic_hook();
    let cli: s3_credentials::cli::FetchCli = s3_credentials::cli::parse_escaped();
    s3_credentials::fetch::run(cli.options())
}
