//! Files the server reads (`--config`, `--auth FILE`, token files), trusted
//! only where OpenSSH's `StrictModes` would trust them: each file, and
//! every directory on its resolved path, owned by the user or root and
//! writable by no one else (a sticky directory, like `/tmp`, aside).
//!
//! A symlink, anywhere on the path, is followed only when it is the
//! user's or root's, sits in such a directory, and leads to what passes
//! the same checks: dotfile managers keep working, and nobody else can
//! re-point any part of the path. Opening never blocks
//! (`O_NONBLOCK`): FIFOs and devices are refused, not read. Every read is
//! capped, so `/dev/zero` or a huge file costs nothing. Files the programs
//! write for themselves (a new token) are made private from birth here too.

use crate::Error;
use nix::unistd::geteuid;
use std::collections::VecDeque;
use std::ffi::OsString;
use std::fs::{File, Metadata, OpenOptions};
use std::io::Read;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// The most a `--config` file may hold, in bytes.
pub const CONFIG_LIMIT: u64 = 1024 * 1024;
/// The most a key or token file (`--auth`, `--auth-token-file`, `-a -`)
/// may hold, in bytes.
pub const KEY_FILE_LIMIT: u64 = 64 * 1024;
/// How many symlinks a path may pass through (Linux's own limit).
const MAX_LINKS: usize = 40;

/// An open file that passed the checks, with its `fstat`.
pub struct Opened {
    /// The file, opened without following a final symlink.
    pub file: File,
    /// Its metadata, from the open file (no window after the check).
    pub meta: Metadata,
}

/// Opens `path` if it passes the checks; `what` names it in errors
/// (`--config`). Errors are one line naming the file and the fix.
pub fn open(path: &Path, what: &str) -> Result<Opened, Error> {
    let fail = |why: String| Error::new(format!("{what} {}: {why}", path.display()));
    let real = resolve(path).map_err(fail)?;
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK)
        .open(&real)
        .map_err(|e| fail(os_reason(&e)))?;
    let meta = file.metadata().map_err(|e| fail(e.to_string()))?;
    if !meta.file_type().is_file() {
        return Err(fail(
            "it is not a regular file (a FIFO or a device is never read)".into(),
        ));
    }
    judge(&real, &meta, "").map_err(fail)?;
    Ok(Opened { file, meta })
}

/// Reads at most `limit` bytes of `path`, after [`open`]'s checks; a file
/// larger than that is refused.
pub fn read(path: &Path, what: &str, limit: u64) -> Result<Vec<u8>, Error> {
    let opened = open(path, what)?;
    let bytes = capped(opened.file, limit)
        .map_err(|e| Error::new(format!("{what} {}: {e}", path.display())))?;
    Ok(bytes)
}

/// At most `limit` bytes from `reader`; more is an error saying the limit.
pub fn capped(reader: impl Read, limit: u64) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    reader
        .take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| os_reason(&e))?;
    if bytes.len() as u64 > limit {
        return Err(format!(
            "it is larger than {} KiB; is it the right file?",
            limit / 1024
        ));
    }
    Ok(bytes)
}

/// The path with every symlink followed, walked one component at a time
/// from `/` as the kernel walks it: each directory on the way must pass,
/// and so must each symlink met anywhere on the path (its owner; the
/// directory holding it passed already), so nobody else can re-point any
/// part of it.
fn resolve(path: &Path) -> Result<PathBuf, String> {
    let mut pending: VecDeque<OsString> = parts(&absolute(path)?);
    let mut real = PathBuf::from("/");
    check_directory(&real, &std::fs::metadata(&real).map_err(|e| os_reason(&e))?)?;
    let mut links = 0;
    while let Some(part) = pending.pop_front() {
        if part == ".." {
            real.pop();
            continue;
        }
        let next = real.join(&part);
        let meta = std::fs::symlink_metadata(&next).map_err(|e| os_reason(&e))?;
        if meta.file_type().is_symlink() {
            links += 1;
            if links > MAX_LINKS {
                return Err("it passes through too many symlinks".into());
            }
            judge(&next, &meta, "the symlink ")?;
            let target = std::fs::read_link(&next).map_err(|e| os_reason(&e))?;
            if target.is_absolute() {
                real = PathBuf::from("/");
            }
            for part in parts(&target).into_iter().rev() {
                pending.push_front(part);
            }
            continue;
        }
        if pending.is_empty() {
            return Ok(next);
        }
        if !meta.is_dir() {
            return Err(format!("{} is not a directory", next.display()));
        }
        check_directory(&next, &meta)?;
        real = next;
    }
    Err("it names a directory, not a file".into())
}

/// A path's named parts (`.` and the root left out, `..` kept).
fn parts(path: &Path) -> VecDeque<OsString> {
    use std::path::Component;
    path.components()
        .filter_map(|c| match c {
            Component::Normal(name) => Some(name.to_os_string()),
            Component::ParentDir => Some("..".into()),
            _ => None,
        })
        .collect()
}

fn absolute(path: &Path) -> Result<PathBuf, String> {
    std::path::absolute(path).map_err(|e| os_reason(&e))
}

/// One directory on a file's path: owned by the user or root, and
/// writable by no one else unless sticky.
fn check_directory(dir: &Path, meta: &Metadata) -> Result<(), String> {
    let sticky = meta.mode() & 0o1000 != 0;
    if !owned_well(meta) {
        return Err(format!(
            "its directory {} is owned by uid {}, not by you or root; keep the file \
             in a directory of your own",
            dir.display(),
            meta.uid()
        ));
    }
    if meta.mode() & 0o022 != 0 && !sticky {
        return Err(writable_by_others("its directory ", dir, meta));
    }
    Ok(())
}

/// The owner and write bits of one file or link; `kind` prefixes errors.
fn judge(path: &Path, meta: &Metadata, kind: &str) -> Result<(), String> {
    if !owned_well(meta) {
        return Err(format!(
            "{kind}{} is owned by uid {}, not by you or root",
            path.display(),
            meta.uid()
        ));
    }
    // A symlink's own mode bits mean nothing on Linux.
    if !meta.file_type().is_symlink() && meta.mode() & 0o022 != 0 {
        return Err(writable_by_others(kind, path, meta));
    }
    Ok(())
}

/// `{kind}PATH is writable by others (mode 0666); run chmod go-w PATH`.
fn writable_by_others(kind: &str, path: &Path, meta: &Metadata) -> String {
    let path = path.display();
    let mode = meta.mode() & 0o7777;
    format!("{kind}{path} is writable by others (mode {mode:04o}); run chmod go-w {path}")
}

fn owned_well(meta: &Metadata) -> bool {
    meta.uid() == geteuid().as_raw() || meta.uid() == 0
}

/// An I/O error's words without `(os error N)`.
fn os_reason(e: &std::io::Error) -> String {
    crate::error::root_cause(e)
}

/// Writes `bytes` to a new file at `path`, 0600 from birth: never over
/// an existing file, and never through a symlink (`O_CREAT|O_EXCL` with
/// `O_NOFOLLOW`), so nobody can point the write elsewhere or read it
/// between its creation and its mode.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(nix::libc::O_NOFOLLOW)
        .open(path)?
        .write_all(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn chmod(path: &Path, mode: u32) {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    fn refusal(path: &Path) -> String {
        match read(path, "--config", 1024) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("{} was read", path.display()),
        }
    }

    #[test]
    fn a_private_file_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s3.toml");
        std::fs::write(&path, "x = 1\n").unwrap();
        chmod(&path, 0o644);
        assert_eq!(read(&path, "--config", 1024).unwrap(), b"x = 1\n");
    }

    #[test]
    fn a_file_or_directory_others_may_write_is_refused_with_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s3.toml");
        std::fs::write(&path, "x = 1\n").unwrap();
        chmod(&path, 0o666);
        let err = refusal(&path);
        assert!(err.contains("writable by others (mode 0666)"), "{err}");
        assert!(
            err.contains(&format!("chmod go-w {}", path.display())),
            "{err}"
        );
        chmod(&path, 0o644);
        chmod(dir.path(), 0o777);
        let err = refusal(&path);
        assert!(
            err.contains("its directory") && err.contains("0777"),
            "{err}"
        );
    }

    #[test]
    fn a_symlink_is_followed_only_to_a_file_that_passes() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.toml");
        std::fs::write(&real, "x = 1\n").unwrap();
        let link = dir.path().join("link.toml");
        std::os::unix::fs::symlink("real.toml", &link).unwrap();
        assert_eq!(read(&link, "--config", 1024).unwrap(), b"x = 1\n");
        chmod(&real, 0o646);
        assert!(refusal(&link).contains("real.toml is writable by others"));
    }

    #[test]
    fn a_symlinked_directory_on_the_way_is_followed_and_judged_too() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        std::fs::create_dir(&real).unwrap();
        std::fs::write(real.join("s3.toml"), "x = 1\n").unwrap();
        std::os::unix::fs::symlink(&real, dir.path().join("via")).unwrap();
        let through = dir.path().join("via/../via/./s3.toml");
        assert_eq!(read(&through, "--config", 1024).unwrap(), b"x = 1\n");
        chmod(&real, 0o777);
        assert!(refusal(&through).contains("writable by others (mode 0777)"));
    }

    #[test]
    fn fifos_devices_and_large_files_are_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        assert!(refusal(&fifo).contains("not a regular file"));
        assert!(refusal(Path::new("/dev/zero")).contains("not a regular file"));
        let big = dir.path().join("big");
        std::fs::write(&big, vec![b'x'; 2048]).unwrap();
        assert!(refusal(&big).contains("larger than 1 KiB"));
    }
}
