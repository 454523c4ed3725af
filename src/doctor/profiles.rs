//! The profiles in `~/.aws/config` and `~/.aws/credentials` (or
//! `AWS_CONFIG_FILE` and `AWS_SHARED_CREDENTIALS_FILE`) whose
//! `credential_process` names `s3-credentials-fetch` or curls loopback:
//! does a running server answer where each one asks?

use super::local::{answers, nobody_there, socket_target, tcp_target};
use super::{Check, Options};
use crate::fetch::Target;
use crate::sts::checks::Verdict;
use std::path::PathBuf;

/// Where one profile's `credential_process` asks.
#[derive(Debug, PartialEq, Eq)]
enum Asks {
    /// fetch with `--port N` (8094 without): the default socket, then TCP.
    Port(u16),
    /// fetch with `--socket PATH`.
    Socket(PathBuf),
    /// fetch with `--url URL`, or curl of a loopback URL.
    Url(String),
}

/// What `credential_process = LINE` asks, if it is ours; `None` for any
/// other program.
fn asks(line: &str) -> Option<Asks> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let program = words.first()?.rsplit('/').next()?;
    let value = |flag: &str, short: Option<&str>| {
        words.iter().enumerate().find_map(|(i, w)| {
            let inline = w.strip_prefix(&format!("{flag}=")[..]);
            let spaced = (*w == flag || Some(*w) == short)
                .then(|| words.get(i + 1).copied())
                .flatten();
            inline.or(spaced)
        })
    };
    match program {
        "s3-credentials-fetch" => Some(if let Some(path) = value("--socket", None) {
            Asks::Socket(path.into())
        } else if let Some(url) = value("--url", None) {
            Asks::Url(url.to_owned())
        } else {
            let port = value("--port", Some("-p")).and_then(|p| p.parse().ok());
            Asks::Port(port.unwrap_or(crate::socket::DEFAULT_PORT))
        }),
        "curl" => words
            .iter()
            .map(|w| w.trim_matches(['\'', '"']))
            .find(|w| {
                let rest = w.strip_prefix("http://").unwrap_or_default();
                ["localhost", "127.0.0.1", "[::1]"]
                    .iter()
                    .any(|h| rest.starts_with(h))
            })
            .map(|url| Asks::Url(url.to_owned())),
        _ => None,
    }
}

/// Each `(profile, credential_process)` of the two files.
fn processes() -> Vec<(String, String)> {
    let home = directories::BaseDirs::new()
        .map(|b| b.home_dir().to_path_buf())
        .unwrap_or_default();
    let file = |var: &str, default: &str| {
        std::env::var_os(var)
            .map(PathBuf::from)
            .unwrap_or_else(|| home.join(default))
    };
    let mut found = Vec::new();
    for (path, prefixed) in [
        (file("AWS_CONFIG_FILE", ".aws/config"), true),
        (
            file("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials"),
            false,
        ),
    ] {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let mut ini = configparser::ini::Ini::new_cs();
        let Ok(sections) = ini.read(text) else {
            continue;
        };
        for (section, keys) in sections {
            let name = match prefixed {
                true => section
                    .strip_prefix("profile ")
                    .unwrap_or(&section)
                    .trim()
                    .to_owned(),
                false => section.trim().to_owned(),
            };
            if let Some(Some(line)) = keys.get("credential_process") {
                found.push((name, line.clone()));
            }
        }
    }
    found
}

pub(super) async fn checks(options: &Options) -> Vec<Check> {
    let mut checks = Vec::new();
    let ours = processes()
        .into_iter()
        .filter(|(name, _)| options.profile.as_ref().is_none_or(|p| p == name))
        .filter_map(|(name, line)| Some((name, asks(&line)?)));
    for (name, asks) in ours {
        checks.push(Check::new(
            format!("profile {name}"),
            check(&asks, options.port).await,
        ));
    }
    if checks.is_empty() {
        let verdict = match &options.profile {
            Some(p) => Verdict::Warn(format!(
                "profile {p} has no credential_process that names s3-credentials-fetch or curls loopback"
            )),
            None => Verdict::Ok("no profile's credential_process names s3-credentials-fetch or curls loopback".into()),
        };
        checks.push(Check::new("profiles", verdict));
    }
    checks
}

/// Whether a server answers where `asks` says.
async fn check(asks: &Asks, doctor_port: u16) -> Verdict {
    let targets = match asks {
        Asks::Port(port) => vec![socket_target(*port), tcp_target(*port)],
        Asks::Socket(path) => vec![Target::Socket {
            path: path.clone(),
            default: false,
            route: "/healthz".into(),
        }],
        Asks::Url(url) => match healthz_of(url) {
            Some(target) => vec![target],
            None => {
                return Verdict::Fail(format!("credential_process asks {url}, which is not a URL"))
            }
        },
    };
    let asked: Vec<String> = targets.iter().map(Target::to_string).collect();
    let asked = asked.join(" or ");
    for target in &targets {
        match answers(target).await {
            Ok(()) => {
                return Verdict::Ok(format!(
                    "credential_process asks {target}, where a server answers"
                ))
            }
            Err(e) if nobody_there(&e) => {}
            Err(e) => return Verdict::Fail(e.to_string()),
        }
    }
    let there = match answers(&tcp_target(doctor_port)).await {
        Ok(()) => format!("; a server answers on port {doctor_port}: ask that one"),
        Err(_) => String::new(),
    };
    Verdict::Fail(format!(
        "credential_process asks {asked}, where no server answers{there}; fix the port (or \
         socket) in the profile, or start a server there"
    ))
}

/// `/healthz` on the server a URL names.
fn healthz_of(url: &str) -> Option<Target> {
    let uri: hyper::Uri = url.parse().ok()?;
    let authority = uri.authority()?;
    Some(Target::Url(
        format!("http://{authority}/healthz").parse().ok()?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_process_lines_are_read_as_fetch_and_curl_read_them() {
        assert_eq!(asks("s3-credentials-fetch"), Some(Asks::Port(8094)));
        assert_eq!(
            asks("/usr/local/bin/s3-credentials-fetch --port 9000 --scope x"),
            Some(Asks::Port(9000))
        );
        assert_eq!(asks("s3-credentials-fetch -p 9001"), Some(Asks::Port(9001)));
        assert_eq!(
            asks("s3-credentials-fetch --port=9002"),
            Some(Asks::Port(9002))
        );
        assert_eq!(
            asks("s3-credentials-fetch --socket /s.sock"),
            Some(Asks::Socket("/s.sock".into()))
        );
        assert_eq!(
            asks("curl -s http://localhost:8094/"),
            Some(Asks::Url("http://localhost:8094/".into()))
        );
        assert_eq!(
            asks("curl -s 'http://127.0.0.1:9/scope/x'"),
            Some(Asks::Url("http://127.0.0.1:9/scope/x".into()))
        );
        assert_eq!(asks("curl -s https://example.com/"), None);
        assert_eq!(asks("aws-vault exec x --json"), None);
    }
}
