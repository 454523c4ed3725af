//! Man pages and shell completions are generated from the one clap
//! definition (plus `s3_credentials::manual`'s extra sections) and
//! committed. This test fails when they are stale;
//! `REGENERATE=1 cargo test --test it generated` rewrites them. Other tests
//! here render every page with groff and drive the completions in real
//! bash, zsh and fish.

use crate::support::try_run;
use clap::CommandFactory;
use clap_complete::Shell;
use s3_credentials::cli::{Cli, FetchCli};
use s3_credentials::manual;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// Every page's command, named as its page is (`s3-credentials-localserver`).
fn pages() -> Vec<clap::Command> {
    let mut top = Cli::command().disable_help_subcommand(true);
    top.build();
    let mut pages: Vec<clap::Command> = top.get_subcommands().cloned().collect();
    pages.push(top);
    let mut fetch = FetchCli::command();
    fetch.build();
    pages.push(fetch);
    pages
}

/// The page's name: `s3-credentials`, `s3-credentials-localserver`, ...
fn page_name(cmd: &clap::Command) -> String {
    cmd.get_display_name().unwrap_or(cmd.get_name()).to_owned()
}

/// One man page: clap's sections, our synopsis (with value names), and
/// the manual's extra sections.
fn man_page(cmd: &clap::Command) -> Vec<u8> {
    let name = page_name(cmd);
    let version = env!("CARGO_PKG_VERSION");
    let man = clap_mangen::Man::new(cmd.clone())
        .date(manual::DATE)
        .source(format!("s3-credentials {version}"))
        .manual("User Commands");
    let mut out = Vec::new();
    man.render_title(&mut out).unwrap();
    man.render_name_section(&mut out).unwrap();
    out.extend_from_slice(synopsis(cmd).as_bytes());
    man.render_description_section(&mut out).unwrap();
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(&mut out).unwrap();
    }
    if cmd.has_subcommands() {
        man.render_subcommands_section(&mut out).unwrap();
    }
    for (title, entries) in manual::sections(&name) {
        out.extend_from_slice(section(title, entries).as_bytes());
    }
    if cmd.get_version().is_some() {
        man.render_version_section(&mut out).unwrap();
    }
    out
}

/// roff for text: backslashes, dashes and a leading dot or quote escaped.
fn roff(text: &str) -> String {
    let text = text.replace('\\', "\\e").replace('-', "\\-");
    match text.starts_with(['.', '\'']) {
        true => format!("\\&{text}"),
        false => text,
    }
}

/// `SYNOPSIS` with every option's value name: `[--prefix PREFIX]`.
fn synopsis(cmd: &clap::Command) -> String {
    let bin = cmd.get_bin_name().unwrap_or(cmd.get_name());
    // No hyphenation, and no stretching: option names read as typed.
    let mut line = format!(".SH SYNOPSIS\n.nh\n.ad l\n\\fB{}\\fR", roff(bin));
    let shown =
        |a: &&clap::Arg| !a.is_hide_set() && !["help", "version"].contains(&a.get_id().as_str());
    for arg in cmd
        .get_arguments()
        .filter(shown)
        .filter(|a| !a.is_positional())
    {
        let mut names = Vec::new();
        if let Some(short) = arg.get_short() {
            names.push(format!("\\fB\\-{short}\\fR"));
        }
        if let Some(long) = arg.get_long() {
            names.push(format!("\\fB\\-\\-{}\\fR", roff(long)));
        }
        let mut item = names.join("|");
        if arg.get_action().takes_values() {
            let value = arg
                .get_value_names()
                .and_then(|v| v.first())
                .map_or_else(|| arg.get_id().as_str().to_uppercase(), |v| v.to_string());
            item = format!("{item} \\fI{}\\fR", roff(&value));
        }
        let repeats = matches!(arg.get_action(), clap::ArgAction::Append);
        let dots = if repeats { "..." } else { "" };
        match arg.is_required_set() {
            true => line.push_str(&format!(" {item}{dots}")),
            false => line.push_str(&format!(" [{item}]{dots}")),
        }
    }
    for arg in cmd.get_positionals().filter(shown) {
        let value = arg.get_id().as_str().to_uppercase();
        line.push_str(&format!(" \\fI{}\\fR", roff(&value)));
    }
    if cmd.has_subcommands() {
        line.push_str(" \\fICOMMAND\\fR");
    }
    line.push('\n');
    line
}

/// One extra section: `.TP` entries, or examples (`$ command`) shown as
/// indented, unfilled lines under their text.
fn section(title: &str, entries: &[(&str, &str)]) -> String {
    let mut out = format!(".SH \"{title}\"\n");
    for (term, text) in entries {
        if let Some(command) = term.strip_prefix("$ ") {
            out.push_str(&format!(
                ".PP\n{}\n.RS 4\n.nf\n{}\n.fi\n.RE\n",
                roff(text),
                roff(command)
            ));
        } else if term.is_empty() {
            out.push_str(&format!(".PP\n{}\n", roff(text)));
        } else {
            out.push_str(&format!(".TP\n\\fB{}\\fR\n{}\n", roff(term), roff(text)));
        }
    }
    out
}

/// Generates everything into `out/man` and `out/completions`.
fn generate(out: &Path) {
    let (man, completions) = (out.join("man"), out.join("completions"));
    std::fs::create_dir_all(&man).unwrap();
    std::fs::create_dir_all(&completions).unwrap();
    for cmd in pages() {
        let file = man.join(format!("{}.1", page_name(&cmd)));
        std::fs::write(file, man_page(&cmd)).unwrap();
    }
    for mut cmd in [Cli::command(), FetchCli::command()] {
        let name = cmd.get_name().to_owned();
        for shell in [
            Shell::Bash,
            Shell::Zsh,
            Shell::Fish,
            Shell::Elvish,
            Shell::PowerShell,
        ] {
            let path = clap_complete::generate_to(shell, &mut cmd, &name, &completions).unwrap();
            let text = std::fs::read_to_string(&path).unwrap();
            std::fs::write(&path, mend(shell, &name, &text)).unwrap();
        }
    }
}

/// Mends what clap_complete gets wrong for a program whose name has a
/// hyphen (clap-rs/clap#6421): bash's case labels spell the name one way
/// and its lookup another; fish's `help` offers files once `help` is typed;
/// zsh's `*::` for the buckets stops options being completed after a bucket.
fn mend(shell: Shell, name: &str, text: &str) -> String {
    match shell {
        Shell::Bash => {
            let wrong = name.replace('-', "__subcmd__");
            let right = name.replace('-', "__");
            text.replace(&wrong, &right)
        }
        Shell::Fish => {
            let func = name.replace('-', "_");
            let help =
                format!("__fish_{func}_using_subcommand help; and not __fish_seen_subcommand_from");
            text.lines()
                .map(|line| match line.find(&help) {
                    // Only right after `help`: the words so far are the
                    // program and `help`.
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
        // `*:` lets options follow the buckets, as the parser does.
        Shell::Zsh => text.replace("'*::buckets", "'*:buckets"),
        _ => text.to_owned(),
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

/// Rewrites the committed files, each replaced whole by a rename, so the
/// completion tests running beside this one never read half a file.
fn regenerate() {
    let staging = tempfile::tempdir_in(repo()).unwrap();
    generate(staging.path());
    let fresh = files(staging.path());
    for name in files(repo()).keys().filter(|n| !fresh.contains_key(*n)) {
        std::fs::remove_file(repo().join(name)).unwrap();
    }
    for name in fresh.keys() {
        std::fs::rename(staging.path().join(name), repo().join(name)).unwrap();
    }
}

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn committed_man_pages_and_completions_are_current() {
    if std::env::var_os("REGENERATE").is_some() {
        regenerate();
    }
    let fresh = tempfile::tempdir().unwrap();
    generate(fresh.path());
    let (want, have) = (files(fresh.path()), files(repo()));
    assert!(want.contains_key("man/s3-credentials-localserver.1"));
    assert!(want.contains_key("completions/s3-credentials-fetch.bash"));
    let stale: Vec<&String> = want
        .keys()
        .chain(have.keys())
        .filter(|name| want.get(*name) != have.get(*name))
        .collect();
    assert!(
        stale.is_empty(),
        "stale generated files {stale:?}: run REGENERATE=1 cargo test --test it generated"
    );
}

#[test]
fn every_man_page_renders_cleanly_with_the_sections_of_a_manual() {
    for page in [
        "s3-credentials",
        "s3-credentials-localserver",
        "s3-credentials-policy",
        "s3-credentials-fetch",
    ] {
        let path = repo().join(format!("man/{page}.1"));
        let out = try_run(
            Command::new("groff")
                .args(["-man", "-Tutf8", "-ww", "-z"])
                .arg(&path),
        )
        .expect("groff runs (scripts/test installs it)");
        let warnings = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && warnings.is_empty(),
            "{page}: {warnings}"
        );
        let text = std::fs::read_to_string(&path).unwrap();
        for section in [
            "NAME",
            "SYNOPSIS",
            "DESCRIPTION",
            "OPTIONS",
            "\"EXAMPLES\"",
            "\"EXIT STATUS\"",
            "\"ENVIRONMENT\"",
            "\"FILES\"",
            "\"SEE ALSO\"",
        ] {
            assert!(
                text.contains(&format!(".SH {section}\n")),
                "{page}: no {section}"
            );
        }
        assert!(text.contains(manual::DATE), "{page}: no date");
        assert!(!text.contains('`'), "{page}: a stray backtick");
    }
    let localserver =
        std::fs::read_to_string(repo().join("man/s3-credentials-localserver.1")).unwrap();
    assert!(
        localserver.contains("[\\fB\\-\\-prefix\\fR \\fIPREFIX\\fR]"),
        "value names in SYNOPSIS"
    );
}

/// Runs `script` in `shell` with the completion files at hand; its stdout.
fn in_shell(shell: &str, script: &str) -> String {
    let out = try_run(
        Command::new(shell)
            .arg("-c")
            .arg(script)
            .env("COMPLETIONS", repo().join("completions"))
            .env("HOME", std::env::temp_dir()),
    )
    .unwrap_or_else(|e| panic!("{shell} runs (scripts/test installs it): {e}"));
    assert!(
        out.status.success(),
        "{shell}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn words(text: &str) -> Vec<String> {
    let mut found: Vec<String> = text.split_whitespace().map(str::to_owned).collect();
    found.sort();
    found.dedup();
    found
}

fn has_all(got: &[String], want: &[&str], what: &str) {
    for w in want {
        assert!(got.iter().any(|g| g == w), "{what}: no {w} in {got:?}");
    }
}

/// Candidates bash offers for the command line `line` (cursor at its end).
fn bash(line: &str) -> Vec<String> {
    let script = format!(
        r#"source /usr/share/bash-completion/bash_completion
        for f in "$COMPLETIONS"/*.bash; do source "$f"; done
        COMP_LINE='{line}'; COMP_POINT=${{#COMP_LINE}}
        read -ra COMP_WORDS <<< "$COMP_LINE"
        [[ "$COMP_LINE" == *" " ]] && COMP_WORDS+=("")
        COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
        func=$(complete -p "${{COMP_WORDS[0]}}" | sed 's/.*-F \([^ ]*\) .*/\1/')
        "$func" "${{COMP_WORDS[0]}}" "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
        printf '%s\n' "${{COMPREPLY[@]}}""#
    );
    words(&in_shell("bash", &script))
}

/// Candidates fish offers (`complete -C`).
fn fish(line: &str) -> Vec<String> {
    let script = format!(
        "for f in $COMPLETIONS/*.fish; source $f; end; complete -C '{line}' | string replace -r '\\t.*' ''; true"
    );
    words(&in_shell("fish", &script))
}

/// Candidates zsh offers: a real zsh in a pseudo-terminal (zpty) with
/// compinit, our files on fpath, and `compadd` wrapped to print them.
fn zsh(line: &str) -> Vec<String> {
    let script = format!(
        r#"zmodload zsh/zpty
        zpty z zsh -f -i
        zpty -w z 'PROMPT=; fpath=($COMPLETIONS $fpath); autoload -U compinit; compinit -u'
        zpty -w z 'compadd () {{ builtin compadd -O got "$@"; print -l -- "<<$got>>" >> $OUT; builtin compadd "$@" }}'
        zpty -w z 'zstyle ":completion:*" list-prompt ""; zstyle ":completion:*" select-prompt ""'
        zpty -w z 'print ready >> $OUT'
        while [[ ! -s $OUT ]]; do sleep 0.05; done
        zpty -w -n z '{line}'$'\t'
        # zle finishes the completion before it reads the next keys, so
        # "done" lands after every candidate.
        zpty -w z $'\C-u''print done >> $OUT'
        for i in {{1..100}}; do grep -q '^done$' $OUT && break; sleep 0.05; done
        zpty -d z
        sed -n 's/^<<\(.*\)>>$/\1/p' $OUT"#
    );
    let out = tempfile::NamedTempFile::new().unwrap();
    let output = try_run(
        Command::new("zsh")
            .arg("-fc")
            .arg(script)
            .env("COMPLETIONS", repo().join("completions"))
            .env("OUT", out.path())
            .env("HOME", std::env::temp_dir()),
    )
    .expect("zsh runs (scripts/test installs it)");
    assert!(
        output.status.success(),
        "zsh: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    words(&String::from_utf8_lossy(&output.stdout))
}

/// What every shell must offer.
fn expectations() -> Vec<(&'static str, Vec<&'static str>)> {
    vec![
        ("s3-credentials ", vec!["localserver", "policy", "help"]),
        (
            "s3-credentials localserver --",
            vec!["--duration", "--read-only", "--socket", "--endpoint-url"],
        ),
        (
            "s3-credentials policy --",
            vec!["--read-only", "--prefix", "--statement"],
        ),
        ("s3-credentials help ", vec!["localserver", "policy"]),
        (
            "s3-credentials-fetch --",
            vec!["--port", "--socket", "--url", "--server-uid", "--timeout"],
        ),
        (
            "s3-credentials localserver b --duration ",
            vec!["15m", "1h", "12h"],
        ),
    ]
}

#[test]
fn completions_work_in_bash() {
    for (line, want) in expectations() {
        has_all(&bash(line), &want, &format!("bash {line:?}"));
    }
    // No file names for a free-text value.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("prefix-file"), "").unwrap();
    let got = bash("s3-credentials localserver b --prefix ");
    assert!(got.iter().all(|g| !g.contains("prefix-file")), "{got:?}");
}

#[test]
fn completions_work_in_fish() {
    for (line, want) in expectations() {
        has_all(&fish(line), &want, &format!("fish {line:?}"));
    }
    let after_help = fish("s3-credentials help ");
    assert!(
        !after_help.iter().any(|g| g.contains('/')),
        "files after help: {after_help:?}"
    );
}

#[test]
fn completions_work_in_zsh() {
    for (line, want) in expectations() {
        has_all(&zsh(line), &want, &format!("zsh {line:?}"));
    }
    // Exclusive both ways.
    let got = zsh("s3-credentials localserver b --write-only --r");
    assert!(!got.iter().any(|g| g == "--read-only"), "{got:?}");
    let got = zsh("s3-credentials localserver b --no-socket --so");
    assert!(!got.iter().any(|g| g == "--socket"), "{got:?}");
}
