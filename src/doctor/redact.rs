//! Commands, and the lines they print, as doctor shows them: with every
//! secret they may hold replaced by `<redacted>`, so that no secret is in
//! a report. Redacted: header values (`-H`/`--header`; the header's name
//! stays), the values of `-u`/`--user`, `-U`/`--proxy-user`,
//! `--oauth2-bearer`, `-E`/`--cert`, `-b`/`--cookie` and data options,
//! anything after `Authorization:`, a URL's `user:password@`, the value
//! of a `token=`, `key=`, `secret=`-like parameter, and any long run of
//! letters and digits that looks random (an access key, a token), however
//! it is passed.

use super::words;

const REDACTED: &str = "<redacted>";

/// What the next word is to curl: a header, or a value that is secret.
#[derive(Clone, Copy)]
enum Secret {
    Header,
    Value,
}

/// curl's options whose value may be a secret.
fn secret_option(option: &str) -> Option<Secret> {
    match option {
        "-H" | "--header" | "--proxy-header" => Some(Secret::Header),
        "-u" | "--user" | "-U" | "--proxy-user" | "--oauth2-bearer" | "-E" | "--cert" | "-b"
        | "--cookie" | "-d" | "--data" | "--data-raw" | "--data-binary" | "--data-urlencode"
        | "-F" | "--form" | "--form-string" | "--pass" | "--proxy-pass" => Some(Secret::Value),
        _ => None,
    }
}

/// curl's short options that take a value (the rest of the word, or the
/// next word).
const SHORT_WITH_VALUE: &str = "AbcCdDeEFHKmoPQrtTuUwxXyYz";

/// The words of a command as one line, quoted to be split again, secrets
/// redacted.
pub(super) fn command(words: &[String]) -> String {
    let mut shown = Vec::new();
    let mut next: Option<Secret> = None;
    for word in words {
        let word = match next.take() {
            Some(secret) => value(secret, word),
            None if word.starts_with("--") => {
                next = secret_option(word);
                word.clone()
            }
            None if word.starts_with('-') => short(word, &mut next),
            None => word.clone(),
        };
        shown.push(text(&word));
    }
    words::join(&shown)
}

/// A value of an option in `Secret`: a header keeps its name.
fn value(secret: Secret, word: &str) -> String {
    match (secret, word.split_once(':')) {
        (Secret::Header, Some((name, _))) => format!("{name}: {REDACTED}"),
        _ => REDACTED.to_owned(),
    }
}

/// A group of short options (`-sSH`, `-HX-Key: v`): a secret value in the
/// word is redacted, or the next word is marked as one.
fn short(word: &str, next: &mut Option<Secret>) -> String {
    for (at, c) in word.char_indices().skip(1) {
        if !SHORT_WITH_VALUE.contains(c) {
            continue;
        }
        let (head, rest) = word.split_at(at + c.len_utf8());
        let secret = secret_option(&format!("-{c}"));
        return match (secret, rest.is_empty()) {
            (Some(_), true) => {
                *next = secret;
                word.to_owned()
            }
            (Some(secret), false) => format!("{head}{}", value(secret, rest)),
            (None, _) => word.to_owned(),
        };
    }
    word.to_owned()
}

/// A line of text with its secrets redacted: after `Authorization:`, a
/// URL's user and password, a secret-named parameter's value, and long
/// random-looking runs.
pub(super) fn text(line: &str) -> String {
    let mut line = line.to_owned();
    if let Some(at) = line.to_ascii_lowercase().find("authorization:") {
        line.truncate(at + "authorization:".len());
        line.push(' ');
        line.push_str(REDACTED);
    }
    let line = userinfo(&line);
    let line = parameters(&line);
    random_runs(&line)
}

/// `scheme://USER:PASSWORD@host` as `scheme://<redacted>@host`.
fn userinfo(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(at) = rest.find("://") {
        let (head, tail) = rest.split_at(at + 3);
        out.push_str(head);
        let end = tail
            .find(['/', '?', '#', ' ', '"', '\''])
            .unwrap_or(tail.len());
        match tail[..end].rfind('@') {
            Some(user) => {
                out.push_str(REDACTED);
                rest = &tail[user..];
            }
            None => rest = tail,
        }
    }
    out + rest
}

/// `NAME=VALUE` where NAME says it is secret (`token`, `key`, `secret`,
/// `pass`, `sig`, `auth`, `credential`, `session`): its value redacted.
fn parameters(line: &str) -> String {
    const NAMES: [&str; 8] = [
        "token",
        "key",
        "secret",
        "pass",
        "sig",
        "auth",
        "credential",
        "session",
    ];
    let name_char = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    let mut out = String::new();
    let mut rest = line;
    while let Some(at) = rest.find('=') {
        let (head, tail) = rest.split_at(at + 1);
        out.push_str(head);
        let name_start = head[..at].rfind(|c| !name_char(c)).map_or(0, |i| i + 1);
        let name = head[name_start..at].to_ascii_lowercase();
        let end = tail
            .find(['&', ';', ' ', '"', '\'', ','])
            .unwrap_or(tail.len());
        match NAMES.iter().any(|n| name.contains(n)) && end > 0 {
            true => {
                out.push_str(REDACTED);
                rest = &tail[end..];
            }
            false => rest = tail,
        }
    }
    out + rest
}

/// Whether a run looks random rather than like a word or a name: 12
/// letters and digits or more (punctuation aside), changing between lower
/// case, upper case and digits at least every third one (a base64 or hex
/// secret does, `s3-credentials-fetch` and `X-Api-Key` do not), or an AWS
/// access key id.
fn random(piece: &str) -> bool {
    let class = |c: &char| match c {
        'a'..='z' => 0,
        'A'..='Z' => 1,
        _ => 2,
    };
    let chars: Vec<char> = piece.chars().filter(char::is_ascii_alphanumeric).collect();
    let changes = chars
        .windows(2)
        .filter(|w| class(&w[0]) != class(&w[1]))
        .count();
    let key_id = (piece.starts_with("AKIA") || piece.starts_with("ASIA"))
        && piece.len() == 20
        && piece
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    key_id || (chars.len() >= 12 && changes * 3 >= chars.len())
}

/// Each random-looking run redacted. Runs are of letters, digits and
/// `+/=_~-`; a run that starts with `/` (a path) is judged a segment at a
/// time, any other (a base64 secret may hold a `/`) is redacted whole if
/// one of its segments looks random.
fn random_runs(line: &str) -> String {
    let run_char = |c: char| c.is_ascii_alphanumeric() || "+/=_~-".contains(c);
    let mut out = String::new();
    let mut rest = line;
    while !rest.is_empty() {
        let start = rest.find(run_char).unwrap_or(rest.len());
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        let end = rest.find(|c| !run_char(c)).unwrap_or(rest.len());
        let run = &rest[..end];
        let pieces: Vec<&str> = run.split('/').collect();
        match run.starts_with('/') {
            true => {
                let shown: Vec<&str> = pieces
                    .iter()
                    .map(|p| if random(p) { REDACTED } else { p })
                    .collect();
                out.push_str(&shown.join("/"));
            }
            false if pieces.iter().any(|p| random(p)) => out.push_str(REDACTED),
            false => out.push_str(run),
        }
        rest = &rest[end..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "Zq8xT3vK9mW2pL7rB4nC6yD1";

    fn shown(line: &str) -> String {
        command(&words::split(line).unwrap())
    }

    #[test]
    fn secrets_in_a_command_are_redacted_however_they_are_passed() {
        for (line, expected) in [
            (
                format!("curl -s -H \"Authorization: Bearer {TOKEN}\" http://127.0.0.1:9/"),
                "curl -s -H \"Authorization: <redacted>\" http://127.0.0.1:9/".to_owned(),
            ),
            (
                "curl -sH 'X-Api-Key: hunter2' http://localhost/".into(),
                "curl -sH \"X-Api-Key: <redacted>\" http://localhost/".into(),
            ),
            (
                "curl -sH\"X-Api-Key: hunter2\" http://localhost/".into(),
                "curl \"-sHX-Api-Key: <redacted>\" http://localhost/".into(),
            ),
            (
                "curl --header hunter2 -u me:hunter2 x".into(),
                "curl --header <redacted> -u <redacted> x".into(),
            ),
            (
                "curl -ume:hunter2 --oauth2-bearer hunter2 x".into(),
                "curl -u<redacted> --oauth2-bearer <redacted> x".into(),
            ),
            (
                "curl http://me:hunter2@127.0.0.1/".into(),
                "curl http://<redacted>@127.0.0.1/".into(),
            ),
            (
                "curl http://127.0.0.1/?token=hunter2&x=1".into(),
                "curl \"http://127.0.0.1/?token=<redacted>&x=1\"".into(),
            ),
            (
                format!("curl http://127.0.0.1/?x={TOKEN}"),
                "curl \"http://127.0.0.1/?<redacted>\"".into(),
            ),
            (
                format!("fetch --scope {TOKEN}"),
                "fetch --scope <redacted>".into(),
            ),
            (
                "fetch AKIAIOSFODNN7EXAMPLE wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
                "fetch <redacted> <redacted>".into(),
            ),
        ] {
            assert_eq!(shown(&line), expected, "{line}");
        }
    }

    #[test]
    fn names_paths_and_addresses_are_shown_as_they_are() {
        for line in [
            "/usr/local/bin/s3-credentials-fetch --port 9000 --scope reports-2026",
            "curl -s --unix-socket /run/user/1000/s3-credentials/8094.sock http://localhost/",
            "/tmp/.tmpi1ds3K/curl -s -m 3 http://192.168.100.200:8094/scope/x",
            "target/debug/s3-credentials-fetch --url http://127.0.0.1:8094/",
            "curl -s https://sts.us-east-1.amazonaws.com/ 0123456789",
        ] {
            assert_eq!(shown(line), line);
        }
        assert_eq!(
            text(&format!(
                "curl: (22) The requested URL returned error: 403 {TOKEN}"
            )),
            "curl: (22) The requested URL returned error: 403 <redacted>"
        );
        assert_eq!(
            text("Authorization: Bearer x y z"),
            "Authorization: <redacted>"
        );
    }
}
