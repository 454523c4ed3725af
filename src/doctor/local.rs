//! The checks of this machine alone: the environment's variables,
//! proxies, `FULL_URI`'s host, the runtime directory, and the installed
//! man pages and completions.

use super::{Check, Options};
use crate::socket;
use crate::sts::checks::Verdict;
use std::path::{Path, PathBuf};

/// The environment's variables, proxies, `FULL_URI`, the runtime
/// directory and the installed files, in that order.
pub(super) fn checks(options: &Options) -> Vec<Check> {
    let mut checks = environment();
    checks.push(proxy());
    checks.extend(full_uri());
    checks.push(runtime_dir(options.port));
    checks.push(installed());
    checks
}

fn set(var: &str) -> bool {
    std::env::var_os(var).is_some_and(|v| !v.is_empty())
}

/// Variables that shadow the container or process provider, or each
/// other (the SDKs' credential chains: environment keys, web identity,
/// then profiles, then the container endpoint; RELATIVE_URI before
/// FULL_URI).
fn environment() -> Vec<Check> {
    let mut found = Vec::new();
    let mut add = |v| found.push(Check::new("environment", v));
    let (keys, secret) = (set("AWS_ACCESS_KEY_ID"), set("AWS_SECRET_ACCESS_KEY"));
    let full = set("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    if keys != secret {
        let (is, not) = match keys {
            true => ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"),
            false => ("AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID"),
        };
        add(Verdict::Fail(format!(
            "{is} is set without {not}: SDKs refuse half a key; unset {is}"
        )));
    }
    if keys && full {
        add(Verdict::Fail(
            "AWS_ACCESS_KEY_ID is set, and every SDK uses it before AWS_CONTAINER_CREDENTIALS_FULL_URI, \
             which is then never asked: unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN"
                .into(),
        ));
    } else if keys {
        add(Verdict::Warn(
            "AWS_ACCESS_KEY_ID is set: SDKs use it before any profile's credential_process, the \
             container endpoint and IMDS (fine for the server's own keys; unset it for clients)"
                .into(),
        ));
    }
    if full && set("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") {
        add(Verdict::Fail(
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI is set too, and SDKs use it before FULL_URI: \
             unset AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"
                .into(),
        ));
    }
    if full && set("AWS_WEB_IDENTITY_TOKEN_FILE") {
        add(Verdict::Fail(
            "AWS_WEB_IDENTITY_TOKEN_FILE is set, and SDKs use web identity before the container \
             endpoint: unset AWS_WEB_IDENTITY_TOKEN_FILE AWS_ROLE_ARN"
                .into(),
        ));
    }
    for (old, new) in [
        ("AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID"),
        ("AWS_SECRET_KEY", "AWS_SECRET_ACCESS_KEY"),
    ] {
        if set(old) {
            add(Verdict::Warn(format!(
                "{old} is set: the Java v1 and Go v1 SDKs read it as {new}, before anything else"
            )));
        }
    }
    if found.is_empty() {
        let none = Verdict::Ok("no variable shadows the container or process providers".into());
        found.push(Check::new("environment", none));
    }
    found
}

/// The hosts a credential request goes to that a proxy must not see.
fn local_hosts() -> Vec<String> {
    let mut hosts = vec![
        "127.0.0.1".to_owned(),
        "localhost".to_owned(),
        "::1".to_owned(),
    ];
    if let Some(host) = full_uri_host().filter(|h| !hosts.contains(h)) {
        hosts.push(host);
    }
    hosts
}

/// `HTTP_PROXY` and the like without `NO_PROXY` covering loopback: SDKs
/// would send the credential request to the proxy (which the server
/// refuses with 403 anyway).
fn proxy() -> Check {
    let proxies = [
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
    ];
    let Some(proxy) = proxies.iter().find(|v| set(v)) else {
        return Check::new(
            "proxy",
            Verdict::Ok("no HTTP_PROXY, HTTPS_PROXY or ALL_PROXY".into()),
        );
    };
    // Each NO_PROXY that is set must cover them: clients differ in which
    // of the two they read (Python's prefers no_proxy, Go's NO_PROXY).
    let lists: Vec<Vec<String>> = ["NO_PROXY", "no_proxy"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .map(|v| {
            v.split(',')
                .map(|h| h.trim().trim_matches(['[', ']']).to_ascii_lowercase())
                .collect()
        })
        .collect();
    let missing: Vec<String> = local_hosts()
        .into_iter()
        .filter(|h| lists.is_empty() || lists.iter().any(|l| !l.iter().any(|c| c == "*" || c == h)))
        .collect();
    let verdict = match missing.is_empty() {
        true => Verdict::Ok(format!("{proxy} is set, and NO_PROXY covers loopback")),
        false => Verdict::Fail(format!(
            "{proxy} is set and NO_PROXY does not cover {}: SDKs would ask the proxy for \
             credentials; export NO_PROXY={}",
            missing.join(", "),
            local_hosts().join(",")
        )),
    };
    Check::new("proxy", verdict)
}

/// `AWS_CONTAINER_CREDENTIALS_FULL_URI`'s host, lower case, unbracketed.
fn full_uri_host() -> Option<String> {
    let uri: hyper::Uri = std::env::var("AWS_CONTAINER_CREDENTIALS_FULL_URI")
        .ok()?
        .parse()
        .ok()?;
    Some(uri.host()?.trim_matches(['[', ']']).to_ascii_lowercase())
}

/// A `FULL_URI` host some SDKs refuse: plain http:// is taken only from
/// loopback and ECS's and EKS's addresses (botocore's, the Go, Java and
/// JavaScript SDKs' checks), and a name or `::1` not by every SDK.
fn full_uri() -> Option<Check> {
    let text = std::env::var("AWS_CONTAINER_CREDENTIALS_FULL_URI")
        .ok()
        .filter(|t| !t.is_empty())?;
    let uri: Result<hyper::Uri, _> = text.parse();
    let scheme = uri
        .as_ref()
        .ok()
        .and_then(|u| u.scheme_str().map(str::to_owned));
    let verdict = match (uri, scheme.as_deref()) {
        (Err(_), _) | (_, None) => Verdict::Fail(
            "AWS_CONTAINER_CREDENTIALS_FULL_URI is not a URL: set it to http://127.0.0.1:8094/ecs, or unset it".into(),
        ),
        (_, Some("https")) => Verdict::Ok("an https:// FULL_URI".into()),
        (_, Some(other)) if other != "http" => Verdict::Fail(format!(
            "FULL_URI's scheme {other}:// is neither http nor https: use http://127.0.0.1:8094/ecs"
        )),
        (Ok(_), _) => {
            let host = full_uri_host().unwrap_or_default();
            match host.as_str() {
                "::1" => Verdict::Warn(
                    "FULL_URI's host is [::1], which the JavaScript SDK v2 refuses: use 127.0.0.1".into(),
                ),
                "localhost" => Verdict::Warn(
                    "FULL_URI's host is localhost, a name an SDK must resolve before it trusts it; \
                     not every SDK does: 127.0.0.1 works in all"
                        .into(),
                ),
                // An IP literal, as botocore wants it (not `127.1`, not a name).
                h if h.parse::<std::net::Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
                    || ["169.254.170.2", "169.254.170.23", "fd00:ec2::23"].contains(&h) =>
                {
                    squatted(&text).unwrap_or_else(|| {
                        Verdict::Ok(format!("FULL_URI's host {h} is one every SDK takes"))
                    })
                }
                h => Verdict::Fail(format!(
                    "FULL_URI's host {h} is refused over http:// by the SDKs (they take loopback, \
                     169.254.170.2, 169.254.170.23 and fd00:ec2::23): use http://127.0.0.1:PORT/ecs, \
                     or --container-endpoint for containers"
                )),
            }
        }
    };
    Some(Check::new("FULL_URI", verdict))
}

/// A FULL_URI whose port another user holds: whatever listens there gets
/// the token every client sends, and answers with credentials of its own
/// (a server that is down cannot keep its port).
fn squatted(full_uri: &str) -> Option<Verdict> {
    let uri: hyper::Uri = full_uri.parse().ok()?;
    let host: std::net::IpAddr = uri.host()?.trim_matches(['[', ']']).parse().ok()?;
    let addr = std::net::SocketAddr::new(host, uri.port_u16().unwrap_or(80));
    let uid = crate::peer::other_listener_uid(addr, nix::unistd::geteuid().as_raw())?;
    Some(Verdict::Fail(format!(
        "FULL_URI's port {addr} is held by uid {uid}, not by you: it would get every client's \
         token; stop that program, start the server, and keep its port (docs/SECURITY.md, \
         the container endpoint)"
    )))
}

/// `XDG_RUNTIME_DIR` missing or stale, and the socket directory's mode.
fn runtime_dir(port: u16) -> Check {
    let uid = nix::unistd::geteuid();
    let login_dir = PathBuf::from(format!("/run/user/{uid}"));
    let verdict = match socket::runtime_dir() {
        Some(dir) if !dir.is_dir() => {
            let fix = match login_dir.is_dir() {
                true => format!("export XDG_RUNTIME_DIR={}", login_dir.display()),
                false => "unset XDG_RUNTIME_DIR".to_owned(),
            };
            let what = match dir.exists() {
                true => "is not a directory",
                false => "does not exist (a value left from another session?)",
            };
            Verdict::Fail(format!(
                "XDG_RUNTIME_DIR={} {what}, so the socket falls back to {}: {fix} in every \
                 shell that runs the server or its clients",
                dir.display(),
                socket::default_path(port).display(),
            ))
        }
        None if login_dir.is_dir() => Verdict::Fail(format!(
            "XDG_RUNTIME_DIR is unset, but {0} exists: a server started in your login session \
             has its socket there; export XDG_RUNTIME_DIR={0}",
            login_dir.display()
        )),
        _ => socket_dir(port),
    };
    Check::new("runtime directory", verdict)
}

/// The default socket's directory: yours, and closed to others, if there.
fn socket_dir(port: u16) -> Verdict {
    let path = socket::default_path(port);
    let dir = path.parent().unwrap_or(Path::new("/"));
    if !dir.exists() {
        return Verdict::Ok(format!("{} (not made yet)", dir.display()));
    }
    use std::os::unix::fs::MetadataExt;
    let Err(why) = socket::check_private_dir(dir) else {
        return Verdict::Ok(format!("{} is yours and closed to others", dir.display()));
    };
    // Only a directory of ours can be mended with chmod.
    let meta = std::fs::symlink_metadata(dir);
    let ours = meta.is_ok_and(|m| m.is_dir() && m.uid() == nix::unistd::geteuid().as_raw());
    let fix = match ours {
        true => format!("run chmod 700 {}", dir.display()),
        false => format!(
            "remove it (it is not a directory of yours: rm -r {}, as its owner or root)",
            dir.display()
        ),
    };
    Verdict::Fail(format!("{}: {why}; {fix}", dir.display()))
}

/// Where `man` looks for our pages: MANPATH's directories, then the
/// system's (the Debian package's /usr/share/man) and the user's.
fn man_dirs(home: Option<&Path>) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var("MANPATH")
        .unwrap_or_default()
        .split(':')
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .collect();
    dirs.extend(["/usr/local/share/man", "/usr/share/man"].map(PathBuf::from));
    dirs.extend(home.map(|h| h.join(".local/share/man")));
    dirs
}

/// Where bash-completion, zsh and fish find `s3-credentials`'s
/// completions: the user's places the guide names, and the system's,
/// where the Debian package puts them (bash-completion's
/// `completions/NAME`, zsh's `vendor-completions`, fish's
/// `vendor_completions.d`).
fn completion_paths(home: Option<&Path>) -> Vec<PathBuf> {
    let user = [
        ".local/share/bash-completion/completions/s3-credentials.bash",
        ".local/share/bash-completion/completions/s3-credentials",
        ".zfunc/_s3-credentials",
        ".config/fish/completions/s3-credentials.fish",
    ];
    let system = [
        "/usr/share/bash-completion/completions/s3-credentials",
        "/usr/local/share/zsh/site-functions/_s3-credentials",
        "/usr/share/zsh/vendor-completions/_s3-credentials",
        "/usr/share/fish/vendor_completions.d/s3-credentials.fish",
    ];
    let mut paths: Vec<PathBuf> = home
        .map(|h| user.iter().map(|p| h.join(p)).collect())
        .unwrap_or_default();
    paths.extend(system.map(PathBuf::from));
    paths
}

/// Installed man pages and completions (warn only).
fn installed() -> Check {
    let home = directories::BaseDirs::new().map(|b| b.home_dir().to_path_buf());
    let man = man_dirs(home.as_deref())
        .iter()
        .map(|d| d.join("man1"))
        .any(|d| d.join("s3-credentials.1").exists() || d.join("s3-credentials.1.gz").exists());
    let completions = completion_paths(home.as_deref()).iter().any(|p| p.exists());
    let verdict = match (man, completions) {
        (true, true) => Verdict::Ok("man pages and completions are installed".into()),
        _ => Verdict::Warn(format!(
            "{}{} installed: copy them from man/ and completions/ (docs/GUIDE.md: Man pages and shell completions)",
            if man { "" } else { "no man page" },
            match (man, completions) {
                (false, false) => " and no completions",
                (true, false) => "no completions",
                _ => "",
            }
        )),
    };
    Check::new("installed", verdict)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where the Debian package installs `s3-credentials`'s man page and
    /// completions (Cargo.toml's `[package.metadata.deb]` assets; the man
    /// pages by a glob, so the page is named here).
    fn packaged() -> Vec<PathBuf> {
        let manifest: toml::Table = toml::from_str(include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/Cargo.toml"
        )))
        .unwrap();
        let assets = manifest["package"]["metadata"]["deb"]["assets"]
            .as_array()
            .unwrap();
        let mut found = Vec::new();
        for asset in assets {
            let [source, dest, _] = &asset.as_array().unwrap()[..] else {
                panic!("{asset}");
            };
            let (source, dest) = (source.as_str().unwrap(), dest.as_str().unwrap());
            let name = match source.rsplit_once('/') {
                Some(("man", "*.1")) => "s3-credentials.1",
                Some((_, name)) => name,
                None => source,
            };
            let ours = name.trim_start_matches('_').split('.').next() == Some("s3-credentials");
            if ours && (source.starts_with("completions/") || source.starts_with("man/")) {
                found.push(match dest.strip_suffix('/') {
                    Some(dir) => PathBuf::from(format!("/{dir}/{name}")),
                    None => PathBuf::from(format!("/{dest}")),
                });
            }
        }
        found
    }

    #[test]
    fn doctor_looks_where_the_package_installs() {
        let packaged = packaged();
        assert_eq!(packaged.len(), 4, "a man page and 3 shells: {packaged:?}");
        let completions = completion_paths(None);
        let man = man_dirs(None);
        for path in packaged {
            let found = match path.strip_prefix("/usr/share/man/man1") {
                Ok(_) => man.contains(&PathBuf::from("/usr/share/man")),
                Err(_) => completions.contains(&path),
            };
            assert!(found, "doctor does not look for {}", path.display());
        }
    }
}
