//! The documentation stays honest: every `s3-credentials` or
//! `s3-credentials-fetch` command line shown in a `sh` block of README.md,
//! CONTRIBUTING.md and docs/*.md parses with the real clap definition, and
//! every relative Markdown link names a file that exists; no doc cites an
//! issue by number; README.md stays at most 250 lines.

use clap::Parser;
use s3_credentials::cli::{Cli, FetchCli};
use std::path::{Path, PathBuf};

/// The repository's root.
fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// README.md, CONTRIBUTING.md and every docs/*.md, as (path, text).
fn documents() -> Vec<(PathBuf, String)> {
    let mut paths = vec![root().join("README.md"), root().join("CONTRIBUTING.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .expect("docs/")
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
        .collect();
    docs.sort();
    paths.extend(docs);
    paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            (path, text)
        })
        .collect()
}

/// The lines inside ```sh blocks, with their 1-based line numbers.
fn shell_lines(text: &str) -> Vec<(usize, &str)> {
    let mut inside = false;
    let mut lines = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let fence = line.trim_start();
        if fence.starts_with("```") {
            inside = !inside && fence.trim_end() == "```sh";
        } else if inside {
            lines.push((index + 1, line));
        }
    }
    lines
}

/// A line split into words as a simple shell would: whitespace, with '...'
/// and "..." quotes. `None` when a quote is left open.
fn shell_words(line: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut quote: Option<char> = None;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.get_or_insert_with(String::new).push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                word.get_or_insert_with(String::new);
            }
            (None, c) if c.is_whitespace() => words.extend(word.take()),
            (None, c) => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    quote.is_none().then_some(words)
}

/// The words of a command line of ours, or `None` for a line that is not
/// one, or that this simple reading cannot parse: a `$ ` prompt and a
/// comment after ` #` stripped, leading `NAME=value` settings dropped,
/// a redirection and what follows it dropped; `...`, `<`, `$(`, pipes,
/// `&&`, `;` and a continued line skip it.
fn command_of(line: &str) -> Option<Vec<String>> {
    let line = line.trim();
    let line = line.strip_prefix("$ ").unwrap_or(line);
    let line = line.split(" #").next().unwrap_or_default().trim_end();
    let unparsable = ["...", "<", "$(", "|", "&&", ";", "`"];
    if unparsable.iter().any(|s| line.contains(s)) || line.ends_with('\\') {
        return None;
    }
    let words = shell_words(line)?;
    let words: Vec<String> = words
        .into_iter()
        .skip_while(|w| w.contains('=') && !w.starts_with('-'))
        .take_while(|w| !w.starts_with('>') && !w.starts_with("2>") && w != "&")
        .collect();
    match words.first().map(String::as_str) {
        Some("s3-credentials" | "s3-credentials-fetch") => Some(words),
        _ => None,
    }
}

/// Whether clap takes the command line (`--help` and `--version` count).
fn parses(words: &[String]) -> Result<(), String> {
    let result = if words[0] == "s3-credentials" {
        Cli::try_parse_from(words).map(drop)
    } else {
        FetchCli::try_parse_from(words).map(drop)
    };
    match result {
        Ok(()) => Ok(()),
        Err(e)
            if matches!(
                e.kind(),
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion
            ) =>
        {
            Ok(())
        }
        Err(e) => Err(e.to_string()),
    }
}

/// Every command line of ours in a doc's `sh` blocks parses; a usage error
/// fails, naming the file and the line.
#[test]
fn every_command_line_in_the_docs_parses_with_the_real_cli() {
    let mut failures = Vec::new();
    let mut checked = 0;
    for (path, text) in documents() {
        let name = path.strip_prefix(root()).unwrap().display().to_string();
        for (number, line) in shell_lines(&text) {
            let Some(words) = command_of(line) else {
                continue;
            };
            checked += 1;
            if let Err(e) = parses(&words) {
                let why = e.lines().next().unwrap_or_default().to_owned();
                failures.push(format!("{name}:{number}: {}: {why}", line.trim()));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checked >= 20, "only {checked} command lines found");
}

/// The targets of a text's Markdown links `](target)`.
fn link_targets(text: &str) -> Vec<(usize, &str)> {
    let mut targets = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let mut rest = line;
        while let Some(at) = rest.find("](") {
            rest = &rest[at + 2..];
            if let Some(end) = rest.find(')') {
                targets.push((index + 1, &rest[..end]));
                rest = &rest[end..];
            }
        }
    }
    targets
}

/// Every relative link `](path)` or `](path#anchor)` names a file that
/// exists, relative to the document that holds it.
#[test]
fn every_relative_link_in_the_docs_names_a_file_that_exists() {
    let mut broken = Vec::new();
    for (path, text) in documents() {
        let dir = path.parent().unwrap();
        for (number, target) in link_targets(&text) {
            let file = target.split('#').next().unwrap_or_default();
            if file.is_empty() || file.contains("://") || file.starts_with("mailto:") {
                continue;
            }
            if !dir.join(file).exists() {
                let name = path.strip_prefix(root()).unwrap().display();
                broken.push(format!("{name}:{number}: {target}"));
            }
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}

/// No doc cites an issue or pull request by number (`owner/repo#123`,
/// `/issues/123`, `/pull/123`).
#[test]
fn no_doc_names_an_issue_number() {
    let mut found = Vec::new();
    for (path, text) in documents() {
        for (index, line) in text.lines().enumerate() {
            let by_number = line.match_indices('#').any(|(at, _)| {
                let before = line[..at].rsplit(' ').next().unwrap_or_default();
                let after = line[at + 1..].chars().next();
                before.contains('/') && after.is_some_and(|c| c.is_ascii_digit())
            });
            if by_number || line.contains("/issues/") || line.contains("/pull/") {
                let name = path.strip_prefix(root()).unwrap().display();
                found.push(format!("{name}:{}: {line}", index + 1));
            }
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}

/// README.md stays a page a newcomer reads: at most 250 lines; the rest
/// belongs in docs/.
#[test]
fn the_readme_is_at_most_250_lines() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let lines = readme.lines().count();
    assert!(
        lines <= 250,
        "README.md has {lines} lines; move detail to docs/"
    );
}
