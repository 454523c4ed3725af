//! `s3-credentials-fetch`: parse the command line, fetch once.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    s3_credentials::install_panic_hook();
    s3_credentials::fetch::run(s3_credentials::cli::FetchCli::parse().options())
}
