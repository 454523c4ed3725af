//! `generate`: the man pages and shell completions, made by the binary
//! itself from the one clap definition (plus `manual`'s extra sections),
//! as ripgrep does, so a package never ships stale copies. The committed
//! `man/` and `completions/` are checked against this output by the tests.

mod man;

use super::{Cli, FetchCli};
use crate::Error;
use clap::{Args, CommandFactory, Subcommand, ValueEnum};
use clap_complete::Shell;
use std::path::{Path, PathBuf};

/// Options of `generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// What to generate.
    #[command(subcommand)]
    pub what: Generated,
}

/// What `generate` makes.
#[derive(Debug, Subcommand)]
pub enum Generated {
    /// Write every man page (s3-credentials.1, s3-credentials-localserver.1,
    /// ..., s3-credentials-fetch.1) into DIR.
    Man {
        /// Where to write them [default: the current directory].
        #[arg(value_name = "DIR", value_hint = clap::ValueHint::DirPath)]
        dir: Option<PathBuf>,
    },
    /// Print a shell's completion script for one program.
    Completions {
        /// The shell: bash, zsh, fish, powershell or elvish.
        #[arg(value_name = "SHELL")]
        shell: Shell,
        /// The program to complete.
        #[arg(long = "for", value_name = "PROGRAM", default_value = "s3-credentials")]
        program: Program,
    },
}

/// The programs this package installs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Program {
    /// `s3-credentials`.
    #[value(name = "s3-credentials")]
    Main,
    /// `s3-credentials-fetch`.
    #[value(name = "s3-credentials-fetch")]
    Fetch,
}

impl GenerateArgs {
    /// Writes the man pages (nothing to print), or gives the completion
    /// script to print.
    pub fn run(&self) -> Result<String, Error> {
        match &self.what {
            Generated::Man { dir } => {
                write_man_pages(dir.as_deref().unwrap_or(Path::new(".")))?;
                Ok(String::new())
            }
            Generated::Completions { shell, program } => Ok(completions(*shell, *program)),
        }
    }
}

/// Every page into `dir` (made if missing), each named as `man` looks it
/// up (`s3-credentials-localserver.1`).
fn write_man_pages(dir: &Path) -> Result<(), Error> {
    let fail = |e: std::io::Error| Error::new(format!("cannot write into {}: {e}", dir.display()));
    std::fs::create_dir_all(dir).map_err(fail)?;
    for cmd in man::pages() {
        let path = dir.join(format!("{}.1", man::page_name(&cmd)));
        std::fs::write(&path, man::page(&cmd)).map_err(fail)?;
    }
    Ok(())
}

/// `program`'s completion script for `shell`, mended where clap_complete
/// goes wrong for a name with a hyphen.
pub fn completions(shell: Shell, program: Program) -> String {
    let mut cmd = match program {
        Program::Main => Cli::command(),
        Program::Fetch => FetchCli::command(),
    };
    let name = cmd.get_name().to_owned();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, &name, &mut out);
    mend(shell, &name, &String::from_utf8_lossy(&out))
}

/// Mends what clap_complete gets wrong for a program whose name has a
/// hyphen: bash's case labels spell the name one way and its lookup
/// another; fish's `help` offers files once `help` is typed; zsh's `*::`
/// for the buckets stops options being completed after a bucket.
fn mend(shell: Shell, name: &str, text: &str) -> String {
    match shell {
        Shell::Bash => {
            let wrong = name.replace('-', "__subcmd__");
            let right = name.replace('-', "__");
            text.replace(&wrong, &right)
        }
        Shell::Fish => mend_fish(name, text),
        // `*:` lets options follow the buckets, as the parser does.
        Shell::Zsh => text.replace("'*::buckets", "'*:buckets"),
        _ => text.to_owned(),
    }
}

/// fish: `help` completes subcommand names only right after `help` (the
/// words so far are the program and `help`).
fn mend_fish(name: &str, text: &str) -> String {
    let func = name.replace('-', "_");
    let help = format!("__fish_{func}_using_subcommand help; and not __fish_seen_subcommand_from");
    text.lines()
        .map(|line| match line.find(&help) {
            Some(at) => {
                let end = line[at..].find('"').map_or(line.len(), |e| at + e);
                format!(
                    "{}__fish_{func}_using_subcommand help; and test (count (commandline -opc)) -eq 2{}",
                    &line[..at],
                    &line[end..]
                )
            }
            None => line.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}
