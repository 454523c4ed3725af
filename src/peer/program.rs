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

/// The lock a lookup of `uid`'s names holds (one per uid that has
/// connected: the server admits a handful).
pub(super) fn turn(uid: u32) -> std::sync::Arc<tokio::sync::Mutex<()>> {
    static TURNS: std::sync::OnceLock<std::sync::Mutex<std::collections::HashMap<u32, Turn>>> =
        std::sync::OnceLock::new();
    let turns = TURNS.get_or_init(Default::default);
    let mut turns = turns.lock().unwrap_or_else(|e| e.into_inner());
    turns.entry(uid).or_default().clone()
}

/// One uid's turn at looking up names.
type Turn = std::sync::Arc<tokio::sync::Mutex<()>>;

/// How many open files the search for a TCP client's process reads at
/// most: the peer's own processes and open files decide its cost, so it is
/// cut short (the program is then `unknown`). Counted in work, not time,
/// so that a busy machine makes a search slower, never wrong. About half a
/// second of one core; a desktop has a few thousand.
const SEARCH_FILES: usize = 200_000;

/// The program's file name of a peer (see `Peer::names`): `exe` (with its
/// `pid`), or on TCP the holder of the socket `inode`; `unknown` where
/// neither tells.
pub(super) fn name_of(
    uid: u32,
    pid: Option<i32>,
    exe: Option<String>,
    inode: Option<u32>,
) -> String {
    let (exe, pid) = match exe {
        Some(exe) => (Some(exe), pid),
        None => {
            let holder = inode.and_then(|i| holder(uid, i));
            (holder.and_then(super::exe_of), holder)
        }
    };
    let exe = match (exe, pid) {
        (Some(exe), Some(pid)) if exe.ends_with("/s3-credentials-fetch") => {
            runner_of(pid).and_then(super::exe_of).or(Some(exe))
        }
        (exe, _) => exe,
    };
    let name = exe.as_deref().and_then(|e| e.rsplit('/').next());
    name.filter(|n| !n.is_empty())
        .unwrap_or("unknown")
        .to_owned()
}

/// A process of `uid` holding the socket `inode`; `None` where none is
/// found (it exited, may not be read, or the search reached its limit).
#[cfg(target_os = "linux")]
pub(super) fn holder(uid: u32, inode: u32) -> Option<i32> {
    holder_within(uid, inode, SEARCH_FILES)
}

/// [`holder`], reading `budget` open files at most.
#[cfg(target_os = "linux")]
fn holder_within(uid: u32, inode: u32, budget: usize) -> Option<i32> {
    let mut left = budget;
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
        for fd in fds.flatten() {
            left = left.checked_sub(1)?;
            let to = std::fs::read_link(fd.path());
            if to.is_ok_and(|to| to.as_os_str() == wanted.as_str()) {
                return Some(pid);
            }
        }
    }
    None
}

/// The parent of process `pid` (`/proc/PID/stat`'s fourth field, after
/// the command name in parentheses, which may itself hold any character).
#[cfg(target_os = "linux")]
fn parent_of(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(1)?.parse().ok()
}

/// Shells that SDKs run a `credential_process` with (`sh -c COMMAND`, as
/// the Go and JavaScript SDKs do), by their exe's file name.
#[cfg(target_os = "linux")]
const SHELLS: &[&str] = &["sh", "dash", "bash", "zsh", "ash", "ksh", "mksh", "busybox"];

/// How many shells deep [`runner_of`] looks past.
#[cfg(target_os = "linux")]
const SHELLS_DEEP: usize = 3;

/// The process that ran `pid` as a command: its parent, or where that is a
/// shell running a command string (`sh -c`), whoever ran the shell (at most
/// `SHELLS_DEEP` shells up). An interactive shell is a program in its own
/// right, and is named.
#[cfg(target_os = "linux")]
pub(super) fn runner_of(pid: i32) -> Option<i32> {
    let mut runner = parent_of(pid)?;
    for _ in 0..SHELLS_DEEP {
        match parent_of(runner) {
            Some(up) if up > 1 && runs_a_command_string(runner) => runner = up,
            _ => break,
        }
    }
    Some(runner)
}

/// Whether `pid` is a shell given its command as a string (`-c`, maybe in
/// a cluster such as `-ec`), from `/proc/PID/cmdline`.
#[cfg(target_os = "linux")]
fn runs_a_command_string(pid: i32) -> bool {
    let exe = super::exe_of(pid).unwrap_or_default();
    let name = exe.rsplit('/').next().unwrap_or_default();
    if !SHELLS.contains(&name) {
        return false;
    }
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let args = cmdline.split(|b| *b == 0).skip(1).take(4);
    let option = |a: &[u8]| a.first() == Some(&b'-') && !a.starts_with(b"--");
    args.take_while(|a| option(a)).any(|a| a.contains(&b'c'))
}

/// Elsewhere: not known.
#[cfg(not(target_os = "linux"))]
pub(super) fn runner_of(_pid: i32) -> Option<i32> {
    None
}

/// Elsewhere: not known.
#[cfg(not(target_os = "linux"))]
pub(super) fn holder(_uid: u32, _inode: u32) -> Option<i32> {
    None
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_parent_of_this_process_is_its_parent() {
        let parent = std::os::unix::process::parent_id() as i32;
        assert_eq!(super::parent_of(std::process::id() as i32), Some(parent));
    }

    /// The pid of `shell`'s only child, once it has one.
    fn child_of(shell: u32) -> i32 {
        let children = format!("/proc/{shell}/task/{shell}/children");
        for _ in 0..500 {
            let text = std::fs::read_to_string(&children).unwrap_or_default();
            if let Some(pid) = text.split_whitespace().next() {
                return pid.parse().unwrap();
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!("{shell} started no child");
    }

    #[test]
    fn a_command_run_by_sh_c_was_run_by_whoever_ran_the_shell() {
        use nix::sys::signal::{kill, Signal};
        use std::io::Write;
        use std::process::{Command, Stdio};
        // `; :` keeps the shell from replacing itself with sleep.
        let mut by_string = Command::new("sh")
            .args(["-ec", "sleep 30; :"])
            .spawn()
            .unwrap();
        let mut reading = (Command::new("sh").arg("-s").stdin(Stdio::piped()).spawn()).unwrap();
        let fed = reading.stdin.as_mut().unwrap().write_all(b"sleep 30; :\n");
        let sleeps = [child_of(by_string.id()), child_of(reading.id())];
        let found = sleeps.map(super::runner_of);
        for pid in sleeps {
            let _ = kill(nix::unistd::Pid::from_raw(pid), Signal::SIGKILL);
        }
        for shell in [&mut by_string, &mut reading] {
            let _ = shell.kill();
            let _ = shell.wait();
        }
        fed.unwrap();
        let me = std::process::id() as i32;
        assert_eq!(found[0], Some(me), "past sh -c, to this test");
        assert_eq!(
            found[1],
            Some(reading.id() as i32),
            "a shell reading commands is named"
        );
    }

    #[test]
    fn the_holder_of_a_tcp_client_socket_is_this_test() {
        let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (_server, remote) = listener.accept().unwrap();
        let local = client.peer_addr().unwrap();
        let (uid, inode) = super::super::tcp_peer_of(local, remote).unwrap();
        let found = super::holder(uid, inode.unwrap());
        assert_eq!(found, Some(std::process::id() as i32));
        // Allowed to read no open file: not found.
        let rushed = super::holder_within(uid, inode.unwrap(), 0);
        assert_eq!(rushed, None, "the search keeps to its budget");
    }
}
