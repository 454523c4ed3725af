//! The per-user Unix socket: where it lives, who may create and reach it.
//!
//! The directory is the user's own and closed to everyone else (0700), the
//! socket is 0600 from birth (umask, not chmod afterwards), and every
//! connection's peer uid must be ours, so loosened modes still leak nothing.

use crate::Error;
use nix::sys::stat::{umask, Mode};
use nix::unistd::{geteuid, Uid};
use std::io::ErrorKind;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use tokio::net::UnixListener;

/// The default TCP port, as in the original; its socket is `PORT.sock`.
pub(crate) const DEFAULT_PORT: u16 = 8094;

/// `$XDG_RUNTIME_DIR/s3-credentials/PORT.sock`, or, where there is no
/// runtime directory (unset, or naming one that is gone),
/// `$TMPDIR/s3-credentials-UID/PORT.sock` (`/tmp` without `TMPDIR`).
/// The server and `s3-credentials-fetch` both ask here, so they agree.
pub(crate) fn default_path(port: u16) -> PathBuf {
    default_dir().join(format!("{port}.sock"))
}

fn default_dir() -> PathBuf {
    match runtime_dir().filter(|dir| dir.is_dir()) {
        Some(runtime) => runtime.join("s3-credentials"),
        None => std::env::temp_dir().join(format!("s3-credentials-{}", geteuid())),
    }
}

/// `XDG_RUNTIME_DIR` (through `directories`), where it is set.
pub(crate) fn runtime_dir() -> Option<PathBuf> {
    directories::BaseDirs::new().and_then(|b| b.runtime_dir().map(Path::to_path_buf))
}

/// `XDG_RUNTIME_DIR` when it names a directory that does not exist (a
/// tmux or screen session that outlived its login): worth a warning.
pub(crate) fn missing_runtime_dir() -> Option<PathBuf> {
    runtime_dir().filter(|dir| !dir.is_dir())
}

/// A bound socket.
pub(crate) struct BoundSocket {
    /// The listener to accept on.
    pub listener: UnixListener,
    /// Its file, removed when dropped.
    pub file: SocketFile,
}

/// A socket's path; the file is removed when this is dropped, if it is
/// still the one `bind` made (its device and inode): not a file someone
/// put there since, not another server's socket, and never one systemd
/// made (socket activation).
pub(crate) struct SocketFile {
    /// Where it is.
    pub path: PathBuf,
    /// `(device, inode)` of the socket we bound; `None` when not ours.
    ours: Option<(u64, u64)>,
}

impl Drop for SocketFile {
    fn drop(&mut self) {
        let still_ours = std::fs::symlink_metadata(&self.path)
            .is_ok_and(|meta| Some((meta.dev(), meta.ino())) == self.ours);
        if still_ours {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Serves a socket systemd bound and passed (socket activation).
pub(crate) fn adopt(listener: std::os::unix::net::UnixListener) -> Result<BoundSocket, Error> {
    let path = listener
        .local_addr()
        .ok()
        .and_then(|addr| addr.as_pathname().map(Path::to_path_buf))
        .ok_or_else(|| Error::new("socket activation: the Unix socket has no path"))?;
    let listener = UnixListener::from_std(listener)
        .map_err(|e| Error::new(format!("socket activation: {}: {e}", path.display())))?;
    Ok(BoundSocket {
        listener,
        file: SocketFile { path, ours: None },
    })
}

/// Binds the socket at `path` (the default one when `None`). A stale
/// socket is replaced; a live one is an error.
pub(crate) fn bind(path: Option<PathBuf>, port: u16) -> Result<BoundSocket, Error> {
    let path = match path {
        Some(path) => path,
        None => {
            if let Some(gone) = missing_runtime_dir() {
                tracing::warn!(
                    "XDG_RUNTIME_DIR names {}, which does not exist (a session that ended?): \
                     the socket goes in {} instead",
                    gone.display(),
                    default_dir().display()
                );
            }
            let path = default_path(port);
            ensure_private_dir(path.parent().expect("the default path has a directory"))?;
            path
        }
    };
    clear_stale(&path)?;
    // Created 0600 from the start: there is no moment where it is open.
    let old = umask(Mode::from_bits_truncate(0o177));
    let bound = UnixListener::bind(&path);
    umask(old);
    let listener = bound.map_err(|e| {
        Error::new(format!(
            "could not create socket {}: {e}; pass another --socket PATH, or --no-socket",
            path.display()
        ))
    })?;
    let ours = std::fs::symlink_metadata(&path)
        .map(|meta| (meta.dev(), meta.ino()))
        .ok();
    Ok(BoundSocket {
        listener,
        file: SocketFile { path, ours },
    })
}

/// Creates `dir` 0700, or checks that an existing one is ours and private.
pub fn ensure_private_dir(dir: &Path) -> Result<(), Error> {
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        // Exactly 0700, whatever umask another thread has set for a moment
        // (binding the socket does): created no wider, then made usable.
        Ok(()) => {
            return std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(
                |e| Error::new(format!("could not set the mode of {}: {e}", dir.display())),
            )
        }
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
        Err(e) => {
            return Err(Error::new(format!(
                "could not create socket directory {}: {e}; pass --socket PATH or --no-socket",
                dir.display()
            )))
        }
    }
    check_private_dir(dir).map_err(|why| {
        Error::new(format!(
            "refusing socket directory {}: {why}; remove it or pass --socket PATH",
            dir.display()
        ))
    })
}

/// Why `dir` is not a private directory of ours (a real directory, not a
/// symlink, owned by us, closed to group and others), if it is not.
pub(crate) fn check_private_dir(dir: &Path) -> Result<(), String> {
    let meta = std::fs::symlink_metadata(dir).map_err(|e| e.to_string())?;
    if meta.file_type().is_symlink() {
        return Err("it is a symlink".into());
    }
    if !meta.file_type().is_dir() {
        return Err("it is not a directory".into());
    }
    if Uid::from_raw(meta.uid()) != geteuid() {
        return Err(format!("it is owned by uid {}, not by you", meta.uid()));
    }
    if meta.mode() & 0o077 != 0 {
        return Err(format!(
            "its mode is {:04o}; others may reach it (want 0700)",
            meta.mode() & 0o7777
        ));
    }
    Ok(())
}

/// Removes a socket nobody listens on (connecting is refused); refuses to
/// touch a live one, a symlink, or a file that is not a socket.
fn clear_stale(path: &Path) -> Result<(), Error> {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return Ok(());
    };
    use std::os::unix::fs::FileTypeExt;
    if meta.file_type().is_symlink() {
        return Err(Error::new(format!(
            "{} is a symlink; remove it or pass another --socket",
            path.display()
        )));
    }
    if !meta.file_type().is_socket() {
        return Err(Error::new(format!(
            "{} exists and is not a socket; remove it or pass another --socket",
            path.display()
        )));
    }
    match std::os::unix::net::UnixStream::connect(path) {
        Ok(_) => Err(Error::new(format!(
            "another localserver is already serving on {}",
            path.display()
        ))),
        Err(e) if e.kind() != ErrorKind::ConnectionRefused => Err(Error::new(format!(
            "cannot tell whether {} is in use ({e}); remove it or pass another --socket",
            path.display()
        ))),
        Err(_) => std::fs::remove_file(path).map_err(|e| {
            Error::new(format!(
                "could not remove stale socket {}: {e}",
                path.display()
            ))
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_dir_is_created_0700_and_checked() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("s");
        ensure_private_dir(&dir).unwrap();
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        ensure_private_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let err = ensure_private_dir(&dir).unwrap_err().to_string();
        assert!(err.contains("its mode is 0755"), "{err}");
    }

    #[test]
    fn a_symlink_is_not_a_private_dir() {
        let tmp = tempfile::tempdir().unwrap();
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(tmp.path(), &link).unwrap();
        let err = ensure_private_dir(&link).unwrap_err().to_string();
        assert!(err.contains("it is a symlink"), "{err}");
    }

    #[test]
    fn a_symlink_at_the_socket_path_is_never_followed() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("target.sock");
        drop(std::os::unix::net::UnixListener::bind(&target).unwrap());
        let link = tmp.path().join("x.sock");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let err = clear_stale(&link).unwrap_err().to_string();
        assert!(err.contains("is a symlink"), "{err}");
        assert!(target.exists() && link.exists());
    }

    #[tokio::test]
    async fn only_the_socket_we_bound_is_removed() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("x.sock");
        let bound = bind(Some(path.clone()), 0).unwrap();
        // Someone replaced it after startup: theirs stays.
        std::fs::remove_file(&path).unwrap();
        std::fs::write(&path, "user data").unwrap();
        drop(bound);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "user data");
        std::fs::remove_file(&path).unwrap();
        drop(bind(Some(path.clone()), 0).unwrap());
        assert!(!path.exists(), "our own socket is removed");
    }

    #[test]
    fn a_regular_file_is_never_removed() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("x.sock");
        std::fs::write(&file, "data").unwrap();
        assert!(clear_stale(&file)
            .unwrap_err()
            .to_string()
            .contains("not a socket"));
        assert!(file.exists());
    }
}
