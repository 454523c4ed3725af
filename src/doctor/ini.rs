//! The AWS config and credentials files read as botocore reads them
//! (`botocore/configloader.py`, on Python's `configparser.RawConfigParser`
//! with its defaults): `key = value` or `key: value`; whole-line `#` and
//! `;` comments only (a `;` or `#` later in a line is part of the value);
//! indented lines continue a value; key names lower-cased; `[DEFAULT]`'s
//! keys under every section; a repeated section or key, a key before any
//! section, or a line that is none of these refuses the whole file; an
//! indented block after an empty `key =` is a sub-section. Then botocore's
//! profile map: in the config file `[default]` and `[profile NAME]` alone
//! are profiles; in the credentials file every section is, its keys on
//! top of the config file's.

use std::collections::HashSet;

/// A value as botocore holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Value {
    /// A string (continuation lines joined with `\n`).
    Text(String),
    /// An indented block of `key = value` lines: a sub-section, not a string.
    Block,
}

/// A section's keys and values, in order.
pub(super) type Keys = Vec<(String, Value)>;

/// A file's sections (`[DEFAULT]`'s keys already under each), in order.
pub(super) type Sections = Vec<(String, Keys)>;

/// Whitespace as Python's `str.isspace` has it (Rust's, and the four
/// information separators).
fn space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// A header's name: `[` at the start, the last `]` at the end, at least
/// one character between (configparser's `\[(?P<header>.+)\]`).
fn header(value: &str) -> Option<&str> {
    let inner = value.strip_prefix('[')?;
    let end = inner.rfind(']').filter(|&end| end > 0)?;
    Some(&inner[..end])
}

/// A section's keys as read, each with its lines.
type Lines = Vec<(String, Vec<String>)>;

/// One file being read: each section's keys with their lines.
#[derive(Default)]
struct Reader {
    sections: Vec<(String, Lines)>,
    defaults: Lines,
    /// The section lines go to: `Some(None)` is `[DEFAULT]`.
    current: Option<Option<usize>>,
    /// The key continuation lines go to, in the current section.
    key: Option<usize>,
    seen: HashSet<(String, Option<String>)>,
}

impl Reader {
    fn keys(&mut self) -> Option<&mut Lines> {
        match self.current? {
            None => Some(&mut self.defaults),
            Some(at) => Some(&mut self.sections[at].1),
        }
    }

    fn section(&mut self, name: &str, line: usize) -> Result<(), String> {
        if name == "DEFAULT" {
            self.current = Some(None);
        } else if !self.seen.insert((name.to_owned(), None)) {
            return Err(format!("line {line}: section [{name}] is there twice"));
        } else {
            self.sections.push((name.to_owned(), Vec::new()));
            self.current = Some(Some(self.sections.len() - 1));
        }
        self.key = None;
        Ok(())
    }

    /// `key = value` (or `key: value`): false if the line is not one.
    fn key_line(&mut self, value: &str, line: usize) -> Result<bool, String> {
        let Some(at) = value.find(['=', ':']) else {
            return Ok(false);
        };
        let name = value[..at].trim_end_matches(space).to_lowercase();
        if name.is_empty() {
            return Ok(false);
        }
        let text = value[at + 1..].trim_matches(space).to_owned();
        let section = match self.current {
            Some(Some(at)) => self.sections[at].0.clone(),
            _ => "DEFAULT".to_owned(),
        };
        if !self.seen.insert((section.clone(), Some(name.clone()))) {
            return Err(format!("line {line}: {name} is in [{section}] twice"));
        }
        let keys = self.keys().expect("a section");
        keys.push((name, vec![text]));
        self.key = Some(keys.len() - 1);
        Ok(true)
    }
}

/// Lines as Python's text files give them: each ended by `\n`, `\r\n`
/// or `\r`.
fn lines(text: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let end = rest.find(['\n', '\r']).unwrap_or(rest.len());
        found.push(&rest[..end]);
        let ending = match rest.as_bytes()[end..] {
            [b'\r', b'\n', ..] => 2,
            [] => 0,
            _ => 1,
        };
        rest = &rest[end + ending..];
    }
    found
}

/// Reads one file's text; why not is one line naming the line at fault
/// (never its text, which may hold a secret).
pub(super) fn parse(text: &str) -> Result<Sections, String> {
    let mut reader = Reader::default();
    let (mut indent_level, mut bad) = (0, None);
    for (at, line) in lines(text).into_iter().enumerate() {
        let (number, stripped) = (at + 1, line.trim_matches(space));
        let comment = stripped.starts_with(['#', ';']);
        if stripped.is_empty() || comment {
            if !comment {
                let key = reader.key;
                if let (Some(at), Some(keys)) = (key, reader.keys()) {
                    keys[at].1.push(String::new());
                }
            }
            continue;
        }
        let indent = line.chars().take_while(|&c| space(c)).count();
        if reader.current.is_some() && reader.key.is_some() && indent > indent_level {
            let at = reader.key.expect("a key");
            reader.keys().expect("a section")[at]
                .1
                .push(stripped.to_owned());
            continue;
        }
        indent_level = indent;
        if let Some(name) = header(stripped) {
            reader.section(name, number)?;
        } else if reader.current.is_none() {
            return Err(format!("line {number} comes before any [section]"));
        } else if !reader.key_line(stripped, number)? {
            bad.get_or_insert(number);
        }
    }
    if let Some(number) = bad {
        return Err(format!(
            "line {number} is not a [section], a key = value or a comment"
        ));
    }
    let joined = |lines: &Vec<String>| lines.join("\n").trim_end_matches(space).to_owned();
    let mut sections = Sections::new();
    for (name, keys) in &reader.sections {
        let mut values: Keys = Vec::new();
        let inherited = reader
            .defaults
            .iter()
            .filter(|(k, _)| !keys.iter().any(|(o, _)| o == k));
        for (key, lines) in keys.iter().chain(inherited) {
            values.push((key.clone(), block(&joined(lines), name)?));
        }
        sections.push((name.clone(), values));
    }
    Ok(sections)
}

/// A value, or botocore's sub-section when it starts on the next line:
/// each of its lines must then be `key = value`.
fn block(value: &str, section: &str) -> Result<Value, String> {
    if !value.starts_with('\n') {
        return Ok(Value::Text(value.to_owned()));
    }
    match value
        .lines()
        .map(|l| l.trim_matches(space))
        .all(|l| l.is_empty() || l.contains('='))
    {
        true => Ok(Value::Block),
        false => Err(format!(
            "an indented block in [{section}] has a line without =, which botocore refuses"
        )),
    }
}

/// One profile as botocore merges it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Profile {
    pub name: String,
    /// The config file's keys, with the credentials file's on top.
    pub keys: Keys,
    /// Whether its section in the credentials file has
    /// `aws_access_key_id` (botocore's shared-credentials provider).
    pub file_keys: bool,
}

impl Profile {
    /// Whether the profile has `key` at all.
    pub fn has(&self, key: &str) -> bool {
        self.keys.iter().any(|(k, _)| k == key)
    }

    /// `key`'s value, if it is a string.
    pub fn text(&self, key: &str) -> Option<&str> {
        self.keys.iter().find_map(|(k, v)| match v {
            Value::Text(text) if k == key => Some(text.as_str()),
            _ => None,
        })
    }
}

/// The profiles botocore knows, and the config file's sections with a
/// `credential_process` that it takes for no profile.
#[derive(Debug, Default)]
pub(super) struct Profiles {
    pub list: Vec<Profile>,
    pub not_profiles: Vec<String>,
}

impl Profiles {
    pub fn get(&self, name: &str) -> Option<&Profile> {
        self.list.iter().find(|p| p.name == name)
    }

    /// botocore's `build_profile_map` of the config file, then the
    /// credentials file's sections merged in (`session.full_config`).
    pub fn of(config: Sections, credentials: Sections) -> Profiles {
        let mut found = Profiles::default();
        for (section, keys) in config {
            let name = match section.as_str() {
                "default" => Some(section.clone()),
                s if s.starts_with("profile") => profile_name(s),
                s if s.starts_with("sso-session") || s.starts_with("services") => continue,
                _ => None,
            };
            match name {
                Some(name) => found.put(name, keys, false),
                None if keys.iter().any(|(k, _)| k == "credential_process") => {
                    found.not_profiles.push(section)
                }
                None => {}
            }
        }
        for (name, keys) in credentials {
            let file_keys = keys.iter().any(|(k, _)| k == "aws_access_key_id");
            match found.list.iter_mut().find(|p| p.name == name) {
                Some(profile) => {
                    for (key, value) in keys {
                        match profile.keys.iter_mut().find(|(k, _)| *k == key) {
                            Some(old) => old.1 = value,
                            None => profile.keys.push((key, value)),
                        }
                    }
                    profile.file_keys = file_keys;
                }
                None => found.put(name, keys, file_keys),
            }
        }
        found
    }

    /// A later section of the same name replaces an earlier one.
    fn put(&mut self, name: String, keys: Keys, file_keys: bool) {
        let profile = Profile {
            name,
            keys,
            file_keys,
        };
        match self.list.iter_mut().find(|p| p.name == profile.name) {
            Some(old) => *old = profile,
            None => self.list.push(profile),
        }
    }
}

/// `[profile NAME]`'s name: botocore splits the section's name into shell
/// words and takes the second of exactly two.
fn profile_name(section: &str) -> Option<String> {
    match super::words::split(section).ok()?.as_slice() {
        [_, name] => Some(name.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
