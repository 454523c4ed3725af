//! Which `credential_process` commands doctor runs, and the program it
//! runs for one: `s3-credentials-fetch`, or curl as `curl` allows it; the
//! program found on `PATH` as botocore's `subprocess.Popen` finds it, and
//! trusted only as the server trusts its own files (`trusted`: yours or
//! root's, and writable by no one else, along its whole resolved path).

use super::curl;
use crate::trusted;
use std::path::PathBuf;

/// What doctor does with a command's words.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Kind {
    /// One of ours: doctor runs it.
    Ours,
    /// curl, but not as doctor runs it: why.
    Refused(String),
    /// Neither: not doctor's business.
    Other,
}

/// What `words` run.
pub(super) fn kind(words: &[String]) -> Kind {
    let Some(program) = words.first() else {
        return Kind::Other;
    };
    match program.rsplit('/').next().unwrap_or_default() {
        // Its --url is judged as curl's URL is: loopback alone.
        "s3-credentials-fetch" => match fetch_url(&words[1..]).map(curl::url) {
            Some(Err(why)) => Kind::Refused(why),
            _ => Kind::Ours,
        },
        "curl" => match curl::judge(&words[1..]) {
            Ok(()) => Kind::Ours,
            Err(why) => Kind::Refused(why),
        },
        _ => Kind::Other,
    }
}

/// The `--url` an `s3-credentials-fetch` command line gives, if any.
fn fetch_url(args: &[String]) -> Option<&str> {
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if arg == "--url" {
            return args.next().map(String::as_str);
        }
        if let Some(url) = arg.strip_prefix("--url=") {
            return Some(url);
        }
    }
    None
}

/// The program `name` runs, if doctor may run it: a name with a `/` as it
/// is, else the first executable file of that name in `PATH`'s
/// directories (`/bin:/usr/bin` without `PATH`); then judged by
/// `trusted`. Why not is one line naming the path and the fix.
pub(super) fn program(name: &str) -> Result<PathBuf, String> {
    let path = match name.contains('/') {
        true => PathBuf::from(name),
        false => on_path(name).ok_or_else(|| format!("{name} is not on PATH"))?,
    };
    match trusted::open(&path, "its program") {
        Ok(_) => Ok(path),
        Err(e) => Err(format!(
            "{e}; put a copy where only you or root can write (such as /usr/local/bin), and \
             name that in the profile"
        )),
    }
}

fn on_path(name: &str) -> Option<PathBuf> {
    use nix::unistd::{access, AccessFlags};
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/bin:/usr/bin".into());
    std::env::split_paths(&path)
        .map(|dir| match dir.as_os_str().is_empty() {
            true => PathBuf::from(".").join(name),
            false => dir.join(name),
        })
        .find(|file| file.is_file() && access(file, AccessFlags::X_OK).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        line.split(' ').map(str::to_owned).collect()
    }

    #[test]
    fn fetch_and_curl_as_doctor_runs_it_are_ours() {
        assert_eq!(
            kind(&words("/usr/local/bin/s3-credentials-fetch --port 9")),
            Kind::Ours
        );
        assert_eq!(kind(&words("curl -s http://127.0.0.1:9/")), Kind::Ours);
        assert!(matches!(
            kind(&words("curl -s http://127.0.0.1.nip.io/")),
            Kind::Refused(_)
        ));
        assert_eq!(kind(&words("aws-vault exec x --json")), Kind::Other);
        // fetch's --url is judged as curl's: loopback alone.
        for ours in [
            "--url http://127.0.0.1:9/",
            "--url=http://[::1]:9/",
            "--port 9",
        ] {
            assert_eq!(
                kind(&words(&format!("s3-credentials-fetch {ours}"))),
                Kind::Ours
            );
        }
        for theirs in [
            "--url http://198.18.0.2:9/r7",
            "--url=http://localhost@198.18.0.2/",
        ] {
            let line = format!("s3-credentials-fetch {theirs}");
            assert!(matches!(kind(&words(&line)), Kind::Refused(_)), "{line}");
        }
        assert_eq!(kind(&[]), Kind::Other);
    }

    #[test]
    fn a_program_others_may_change_is_not_run() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let fetch = dir.path().join("s3-credentials-fetch");
        std::fs::write(&fetch, "#!/bin/sh\n").unwrap();
        let mode = |m| std::fs::set_permissions(&fetch, std::fs::Permissions::from_mode(m));
        mode(0o755).unwrap();
        assert_eq!(program(fetch.to_str().unwrap()), Ok(fetch.clone()));
        mode(0o757).unwrap();
        let why = program(fetch.to_str().unwrap()).unwrap_err();
        assert!(why.contains("writable by others (mode 0757)"), "{why}");
        assert!(program("sh").is_ok_and(|p| p.is_absolute()));
        assert!(program("no-such-program-here")
            .unwrap_err()
            .contains("not on PATH"));
    }
}
