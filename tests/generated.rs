//! Man pages and shell completions are generated from the one clap
//! definition and committed. This test fails when they are stale;
//! `REGENERATE=1 cargo test --test generated` rewrites them.

use clap::CommandFactory;
use clap_complete::Shell;
use s3_credentials::cli::{Cli, FetchCli};
use std::collections::BTreeMap;
use std::path::Path;

fn commands() -> [clap::Command; 2] {
    [Cli::command(), FetchCli::command()]
}

/// Generates everything into `out/man` and `out/completions`.
fn generate(out: &Path) {
    let (man, completions) = (out.join("man"), out.join("completions"));
    std::fs::create_dir_all(&man).unwrap();
    std::fs::create_dir_all(&completions).unwrap();
    for cmd in commands() {
        clap_mangen::generate_to(cmd.clone(), &man).unwrap();
        let name = cmd.get_name().to_owned();
        for shell in [
            Shell::Bash,
            Shell::Zsh,
            Shell::Fish,
            Shell::Elvish,
            Shell::PowerShell,
        ] {
            clap_complete::generate_to(shell, &mut cmd.clone(), &name, &completions).unwrap();
        }
    }
}

fn files(dir: &Path) -> BTreeMap<String, String> {
    let mut found = BTreeMap::new();
    for sub in ["man", "completions"] {
        let Ok(entries) = std::fs::read_dir(dir.join(sub)) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            let name = format!("{sub}/{}", path.file_name().unwrap().to_string_lossy());
            found.insert(name, std::fs::read_to_string(&path).unwrap());
        }
    }
    found
}

#[test]
fn committed_man_pages_and_completions_are_current() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    if std::env::var_os("REGENERATE").is_some() {
        for sub in ["man", "completions"] {
            let _ = std::fs::remove_dir_all(repo.join(sub));
        }
        generate(repo);
    }
    let fresh = tempfile::tempdir().unwrap();
    generate(fresh.path());
    let (want, have) = (files(fresh.path()), files(repo));
    assert!(want.contains_key("man/s3-credentials-localserver.1"));
    assert!(want.contains_key("completions/s3-credentials-fetch.bash"));
    let stale: Vec<&String> = want
        .keys()
        .chain(have.keys())
        .filter(|name| want.get(*name) != have.get(*name))
        .collect();
    assert!(
        stale.is_empty(),
        "stale generated files {stale:?}: run REGENERATE=1 cargo test --test generated"
    );
}
