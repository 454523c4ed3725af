//! A caller's names, for a scope that attributes each caller: its user's,
//! and which program holds a TCP client's socket: the process of the
//! client's uid with `socket:[INODE]` among its open files
//! (`/proc/PID/fd`, Linux), as `ss -p` finds it. Read once per connection;
//! a process of another uid is not looked into.

use std::os::unix::fs::MetadataExt;

/// `uid`'s user name, from the password database; the uid in digits
/// where it has none.
pub(crate) fn user_name(uid: u32) -> String {
    let found = nix::unistd::User::from_uid(uid.into()).ok().flatten();
    found.map_or_else(|| uid.to_string(), |user| user.name)
}

/// The program (`/proc/PID/exe`) of a process of `uid` holding the socket
/// `inode`; `None` where none is found (it exited, or may not be read).
#[cfg(target_os = "linux")]
pub(super) fn holder(uid: u32, inode: u32) -> Option<String> {
    let wanted = format!("socket:[{inode}]");
    let pids = std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .filter_map(|entry| {
            let pid: i32 = entry.file_name().to_str()?.parse().ok()?;
            (entry.metadata().ok()?.uid() == uid).then_some(pid)
        });
    for pid in pids {
        let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
            continue;
        };
        let holds = fds.flatten().any(|fd| {
            std::fs::read_link(fd.path()).is_ok_and(|to| to.as_os_str() == wanted.as_str())
        });
        if holds {
            return super::exe_of(pid);
        }
    }
    None
}

/// The parent of process `pid` (`/proc/PID/stat`'s fourth field, after
/// the command name in parentheses, which may itself hold any character).
#[cfg(target_os = "linux")]
pub(super) fn parent_of(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(1)?.parse().ok()
}

/// Elsewhere: not known.
#[cfg(not(target_os = "linux"))]
pub(super) fn parent_of(_pid: i32) -> Option<i32> {
    None
}

/// Elsewhere: not known.
#[cfg(not(target_os = "linux"))]
pub(super) fn holder(_uid: u32, _inode: u32) -> Option<String> {
    None
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_parent_of_this_process_is_its_parent() {
        let parent = std::os::unix::process::parent_id() as i32;
        assert_eq!(super::parent_of(std::process::id() as i32), Some(parent));
    }

    #[test]
    fn the_holder_of_a_tcp_client_socket_is_this_test() {
        let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (_server, remote) = listener.accept().unwrap();
        let local = client.peer_addr().unwrap();
        let (uid, inode) = super::super::tcp_peer_of(local, remote).unwrap();
        let found = super::holder(uid, inode.unwrap()).unwrap();
        assert_eq!(Some(found), super::super::exe_of(std::process::id() as i32));
    }
}
