//! Which curl command lines doctor runs: exactly one URL, read as curl
//! reads it (`http://`, or no scheme, which curl takes as http) whose host
//! is `localhost`, an IPv4 loopback literal or `[::1]`, with no user name
//! (`x@host` connects to `host`) and no `{a,b}` or `[1-9]` glob (several
//! URLs); and only options doctor knows to read and write no file:
//! `-s`/`--silent`, `-S`/`--show-error`, `-f`/`--fail`,
//! `--fail-with-body`, `--no-progress-meter`, `-H`/`--header VALUE` (not
//! `@file`), `--unix-socket PATH`, `-m`/`--max-time N` and
//! `--connect-timeout N`. Anything else (`-o`, `-K`, `-d @file`,
//! `--trace`, `-D`, a second URL) and it is not run: the reason says
//! which, never the value.

use std::net::{Ipv4Addr, Ipv6Addr};

/// The options doctor runs curl with, for its messages.
pub(super) const KNOWN: &str = "-s, -S, -f, --fail-with-body, --no-progress-meter, -H, \
    --unix-socket, -m, --max-time, --connect-timeout";

/// Whether doctor may run curl with `args` (its words after the program);
/// why not.
pub(super) fn judge(args: &[String]) -> Result<(), String> {
    let mut urls = 0;
    let mut args = args.iter().map(String::as_str);
    while let Some(arg) = args.next() {
        if let Some(long) = arg.strip_prefix("--") {
            match long {
                "silent" | "show-error" | "fail" | "fail-with-body" | "no-progress-meter" => {}
                "header" => header(args.next())?,
                "unix-socket" => args.next().map(drop).ok_or("--unix-socket needs a path")?,
                "max-time" | "connect-timeout" => seconds(args.next())?,
                _ => return Err(unknown(arg)),
            }
        } else if let Some(shorts) = arg.strip_prefix('-').filter(|s| !s.is_empty()) {
            for (at, c) in shorts.char_indices() {
                let rest = &shorts[at + c.len_utf8()..];
                let value = |args: &mut dyn Iterator<Item = &str>| match rest.is_empty() {
                    true => args.next().map(str::to_owned),
                    false => Some(rest.to_owned()),
                };
                match c {
                    's' | 'S' | 'f' => continue,
                    'H' => header(value(&mut args).as_deref())?,
                    'm' => seconds(value(&mut args).as_deref())?,
                    _ => return Err(unknown(&format!("-{c}"))),
                }
                break;
            }
        } else {
            url(arg)?;
            urls += 1;
        }
    }
    match urls {
        1 => Ok(()),
        0 => Err("it names no URL".into()),
        _ => Err("it names more than one URL, and curl asks each".into()),
    }
}

/// An option doctor does not know; only a plain option name is repeated.
fn unknown(option: &str) -> String {
    let name = option.trim_start_matches('-');
    match name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') && name.len() < 32 {
        true => format!("its option {option} is not one doctor knows to read and write no file"),
        false => "it has an option doctor does not know".into(),
    }
}

fn header(value: Option<&str>) -> Result<(), String> {
    match value {
        None => Err("-H needs a value".into()),
        Some(v) if v.starts_with('@') => Err("its -H @FILE reads headers from a file".into()),
        Some(v) if v.chars().any(char::is_control) => Err("a header has a line break".into()),
        Some(_) => Ok(()),
    }
}

fn seconds(value: Option<&str>) -> Result<(), String> {
    match value.and_then(|v| v.parse::<f64>().ok()) {
        Some(n) if n.is_finite() && n >= 0.0 => Ok(()),
        _ => Err("a timeout is not a number of seconds".into()),
    }
}

/// One URL curl would ask: http to loopback, one of it.
pub(super) fn url(text: &str) -> Result<(), String> {
    let rest = match text.split_once("://") {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => rest,
        Some(_) => return Err("its URL's scheme is not http://".into()),
        None => text,
    };
    let (authority, path) = rest.split_at(rest.find(['/', '?', '#']).unwrap_or(rest.len()));
    if authority.contains('@') {
        return Err(
            "its URL has a user name (USER@HOST), and curl connects to the host after the @".into(),
        );
    }
    if path.contains(['{', '}', '[', ']']) {
        return Err("its URL has a {..} or [..] glob, which curl makes into several URLs".into());
    }
    if text.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err("its URL has a space or a control character".into());
    }
    let (host, port, bracketed) = match authority.strip_prefix('[') {
        Some(inner) => {
            let (host, after) = inner
                .split_once(']')
                .ok_or("its URL's [host] is not closed")?;
            (host, after, true)
        }
        None => match authority.rfind(':') {
            Some(at) => (&authority[..at], &authority[at..], false),
            None => (authority, "", false),
        },
    };
    let port_ok = match port.strip_prefix(':') {
        None => port.is_empty(),
        Some(digits) => digits.is_empty() || digits.parse::<u16>().is_ok_and(|p| p > 0),
    };
    if !port_ok {
        return Err("its URL's port is not a number".into());
    }
    let loopback = match bracketed {
        true => host.parse::<Ipv6Addr>().is_ok_and(|ip| ip.is_loopback()),
        false => {
            host.eq_ignore_ascii_case("localhost")
                || host.parse::<Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
        }
    };
    match loopback {
        true => Ok(()),
        false => Err(format!(
            "its URL's host {host} is not loopback (localhost, 127.0.0.1 or [::1])"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn judged(line: &str) -> Result<(), String> {
        let words: Vec<String> = line.split(' ').map(str::to_owned).collect();
        judge(&words)
    }

    #[test]
    fn one_loopback_url_with_known_options_is_run() {
        for line in [
            "-s http://127.0.0.1:8094/",
            "-s localhost:9005",
            "-sSf -H X-A:b --max-time 3 -m3 --connect-timeout 1.5 http://localhost/",
            "-sH X-A:b -mN http://[::1]:80/",
            "--silent --show-error --fail --fail-with-body --no-progress-meter HTTP://127.0.0.2",
            "-s --unix-socket /run/user/1/s3-credentials/8094.sock http://localhost/",
            "-s http://127.0.0.1:/scope/x?y=1#z",
        ] {
            let judged = judged(line);
            match line.contains("-mN") {
                true => assert!(judged.unwrap_err().contains("not a number")),
                false => assert_eq!(judged, Ok(()), "{line}"),
            }
        }
    }

    #[test]
    fn anything_else_is_not_run_and_says_why() {
        for (line, why) in [
            (
                "-s http://localhost.attacker.example/",
                "host localhost.attacker.example is not loopback",
            ),
            ("-s http://127.0.0.1.nip.io:9/", "is not loopback"),
            ("-s http://127.1/", "host 127.1 is not loopback"),
            ("-s localhost@198.18.5.5", "user name"),
            ("-s http://x:y@127.0.0.1/", "user name"),
            (
                "-s http://127.0.0.1/ http://198.18.5.5/",
                "host 198.18.5.5 is not loopback",
            ),
            ("-s http://127.0.0.1/ localhost:9", "more than one URL"),
            ("-s", "no URL"),
            ("-s https://127.0.0.1/", "scheme"),
            ("-s http://127.0.0.1/{a,b}", "glob"),
            ("-s http://127.0.0.1/[1-9]", "glob"),
            ("-s http://[::ffff:127.0.0.1]/", "not loopback"),
            ("-s http://127.0.0.1:99999/", "port"),
            ("-s -o /tmp/x http://127.0.0.1/", "option -o"),
            ("-sD /tmp/x http://127.0.0.1/", "option -D"),
            ("-s -K /tmp/cfg http://127.0.0.1/", "option -K"),
            ("-s --config /tmp/cfg http://127.0.0.1/", "option --config"),
            ("-s -H @/etc/passwd http://127.0.0.1/", "-H @FILE"),
            ("-s -d @/etc/passwd http://127.0.0.1/", "option -d"),
            (
                "-s --trace-ascii /tmp/x http://127.0.0.1/",
                "option --trace-ascii",
            ),
            ("-s -w @/tmp/x http://127.0.0.1/", "option -w"),
            ("-s -L http://127.0.0.1/", "option -L"),
            ("-s --url http://127.0.0.1/", "option --url"),
            ("-s -- http://127.0.0.1/", "option --"),
            ("-s -H", "needs a value"),
            (
                "-s --user=me:secret http://127.0.0.1/",
                "an option doctor does not know",
            ),
        ] {
            let said = judged(line).expect_err(line);
            assert!(said.contains(why), "{line}: {said}");
            assert!(!said.contains("secret"), "{said}");
        }
    }
}
