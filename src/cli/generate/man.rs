//! One man page per command: clap's sections, a synopsis that shows every
//! option's value name, and the manual's extra sections (examples, exit
//! status, environment, files, see also), in roff.

use super::super::{Cli, FetchCli};
use crate::manual;
use clap::CommandFactory;

/// Every page's command, named as its page is (`s3-credentials-localserver`).
pub(super) fn pages() -> Vec<clap::Command> {
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
pub(super) fn page_name(cmd: &clap::Command) -> String {
    cmd.get_display_name().unwrap_or(cmd.get_name()).to_owned()
}

/// One man page (rendering into a `Vec` cannot fail): clap's sections, our synopsis (with value names), and
/// the manual's extra sections.
pub(super) fn page(cmd: &clap::Command) -> Vec<u8> {
    let name = page_name(cmd);
    let version = env!("CARGO_PKG_VERSION");
    let man = clap_mangen::Man::new(cmd.clone())
        .date(manual::DATE)
        .source(format!("s3-credentials {version}"))
        .manual("User Commands");
    let mut out = Vec::new();
    let _ = man.render_title(&mut out);
    let _ = man.render_name_section(&mut out);
    out.extend_from_slice(synopsis(cmd).as_bytes());
    let _ = man.render_description_section(&mut out);
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        let _ = man.render_options_section(&mut out);
    }
    if cmd.has_subcommands() {
        let _ = man.render_subcommands_section(&mut out);
    }
    for (title, entries) in manual::sections(&name) {
        out.extend_from_slice(section(title, entries).as_bytes());
    }
    if cmd.get_version().is_some() {
        let _ = man.render_version_section(&mut out);
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
    // As the options show them: optional in brackets, repeatable with dots.
    for arg in cmd.get_positionals().filter(shown) {
        let value = format!("\\fI{}\\fR", roff(&arg.get_id().as_str().to_uppercase()));
        let many = arg.get_num_args().is_some_and(|n| n.max_values() > 1);
        let dots = if many { "..." } else { "" };
        match arg.is_required_set() {
            true => line.push_str(&format!(" {value}{dots}")),
            false => line.push_str(&format!(" [{value}]{dots}")),
        }
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
