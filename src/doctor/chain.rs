//! Where botocore takes a profile's credentials from
//! (`botocore/credentials.py`, `create_credential_resolver`): a profile
//! with `role_arn` (and no `web_identity_token_file`) assumes that role
//! with its `source_profile`'s credentials, before anything of its own; a
//! source profile with keys, or without `role_arn`, gives its own, and one
//! with `role_arn` chains on. A profile's own come from the first of web
//! identity, SSO, keys in the credentials file, a login session,
//! `credential_process`, keys in the config file.

use super::ini::{Profile, Profiles, Value};

/// Where a profile's credentials come from.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Source<'a> {
    /// `holder`'s `credential_process` runs: the profile's own, or that of
    /// the profile its `source_profile` chain ends at.
    Process { holder: &'a str, line: &'a str },
    /// Something else comes first: what.
    Other(String),
    /// botocore refuses the profile: why.
    Broken(String),
}

fn assumes_role(profile: &Profile) -> bool {
    profile.has("role_arn") && !profile.has("web_identity_token_file")
}

fn has_keys(profile: &Profile) -> bool {
    profile.has("aws_access_key_id") || profile.has("aws_secret_access_key")
}

/// Where botocore takes `name`'s credentials from.
pub(super) fn source<'a>(profiles: &'a Profiles, name: &str) -> Source<'a> {
    let Some(mut current) = profiles.get(name) else {
        return Source::Broken(format!("there is no profile {name}"));
    };
    let mut visited = vec![current.name.as_str()];
    loop {
        if !assumes_role(current) {
            return own(current, visited.len() > 1);
        }
        let source = current.text("source_profile");
        let here = &current.name;
        let next = match (current.has("credential_source"), source) {
            (true, Some(_)) => {
                return Source::Broken(format!(
                    "{here} has both source_profile and credential_source"
                ))
            }
            (true, None) => {
                let what = format!("{here} assumes role_arn with credential_source");
                return Source::Other(what);
            }
            (false, None) => {
                return Source::Broken(format!("{here} has role_arn but no source_profile"))
            }
            (false, Some(source)) => source,
        };
        let Some(next_profile) = profiles.get(next) else {
            return Source::Broken(format!("{here}'s source_profile {next} does not exist"));
        };
        // A profile may name itself, to take its own keys.
        if visited.contains(&next) && (next != here || !has_keys(next_profile)) {
            return Source::Broken(format!("{here}'s source_profile {next} makes a loop"));
        }
        visited.push(next);
        if has_keys(next_profile) || !assumes_role(next_profile) {
            return own(next_profile, true);
        }
        current = next_profile;
    }
}

/// A profile's own credentials, in botocore's order; `source`: whether
/// another profile asked for them (it must then have some).
fn own(profile: &Profile, source: bool) -> Source<'_> {
    let other = |what: &str| Source::Other(format!("in profile {}, {what}", profile.name));
    if profile.has("web_identity_token_file") {
        return other("web identity (web_identity_token_file) comes first");
    }
    if profile.has("sso_role_name") || profile.has("sso_account_id") {
        return other("SSO (sso_role_name, sso_account_id) comes first");
    }
    if profile.file_keys {
        return other("the keys in the credentials file come first");
    }
    if profile.has("login_session") {
        return other("login_session comes first");
    }
    match profile.keys.iter().find(|(k, _)| k == "credential_process") {
        Some((_, Value::Text(line))) => {
            return Source::Process {
                holder: &profile.name,
                line,
            }
        }
        Some((_, Value::Block)) => {
            return Source::Broken(format!(
                "{}'s credential_process is an indented block, which botocore reads as \
                 settings, not a command: put the command on the credential_process line",
                profile.name
            ))
        }
        None => {}
    }
    match (has_keys(profile), source) {
        (true, _) => other("there are keys and no credential_process"),
        (false, true) => Source::Broken(format!(
            "source profile {} has no credentials",
            profile.name
        )),
        (false, false) => other("there is neither a credential_process nor keys"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::ini::{parse, Profiles};

    fn profiles(config: &str, credentials: &str) -> Profiles {
        Profiles::of(parse(config).unwrap(), parse(credentials).unwrap())
    }

    #[test]
    fn a_chain_ends_where_botocore_ends_it() {
        let all = profiles(
            "[profile src]\ncredential_process = fetch --port 1\n\n\
             [profile chained]\nrole_arn = r\nsource_profile = src\n\n\
             [profile twice]\nrole_arn = r\nsource_profile = chained\n\n\
             [profile over]\nrole_arn = r\nsource_profile = keys\ncredential_process = fetch\n\n\
             [profile keys]\naws_access_key_id = a\naws_secret_access_key = b\n\
             credential_process = fetch --port 2\n\n\
             [profile filekeys]\ncredential_process = fetch --port 3\n\n\
             [profile missing]\nrole_arn = r\nsource_profile = nobody\n\n\
             [profile loop1]\nrole_arn = r\nsource_profile = loop2\n\n\
             [profile loop2]\nrole_arn = r\nsource_profile = loop1\n\n\
             [profile self]\nrole_arn = r\nsource_profile = self\n\n\
             [profile both]\nrole_arn = r\nsource_profile = src\ncredential_source = Environment\n\n\
             [profile empty]\nregion = x\n\n\
             [profile nokeys]\nrole_arn = r\nsource_profile = empty\n\n\
             [profile sso]\nsso_account_id = 1\ncredential_process = fetch\n",
            "[filekeys]\naws_access_key_id = a\naws_secret_access_key = b\n",
        );
        let process = |holder, line| Source::Process { holder, line };
        assert_eq!(source(&all, "src"), process("src", "fetch --port 1"));
        assert_eq!(source(&all, "chained"), process("src", "fetch --port 1"));
        assert_eq!(source(&all, "twice"), process("src", "fetch --port 1"));
        // Keys in the config file come after credential_process.
        assert_eq!(source(&all, "over"), process("keys", "fetch --port 2"));
        let broken = |name: &str| matches!(source(&all, name), Source::Broken(_));
        for name in ["missing", "loop1", "self", "both", "nokeys", "nobody"] {
            assert!(broken(name), "{name}: {:?}", source(&all, name));
        }
        let other = |name: &str| matches!(source(&all, name), Source::Other(_));
        for name in ["filekeys", "sso", "empty"] {
            assert!(other(name), "{name}: {:?}", source(&all, name));
        }
    }
}
