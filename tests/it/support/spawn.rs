//! How the test bed starts and stops every process it runs: as a terminal
//! starts a command, whatever this test process inherited, and never left
//! behind, a failing test included.
//!
//! A test binary started with SIGINT ignored (a background job of a
//! script: `(cargo test &)`, `nohup … &`) would pass that on across fork
//! and exec (signal(7): ignored dispositions survive execve), and a shell
//! cannot trap a signal it started ignoring (POSIX `trap`), so a script
//! under test would never see a Ctrl+C. Each child here starts instead with
//! the default action for the signals a terminal sends (INT, QUIT, HUP),
//! a stop asks for (TERM) and a closed pipe raises (PIPE), and nothing
//! blocked, as an interactive shell starts a command.
//!
//! Each child leads a process group of its own, which [`Running`] kills
//! (SIGKILL) and reaps when it is dropped, with whatever the child started
//! (the demo's moto and server). This process is a child subreaper
//! (prctl(2) `PR_SET_CHILD_SUBREAPER`), so the orphans of a killed group
//! are its own to reap. Out of this process's group, a child no longer gets
//! the Ctrl+C of the terminal that runs `cargo test`: it is sent SIGTERM
//! when this process dies instead, however it dies (prctl(2)
//! `PR_SET_PDEATHSIG`). That signal follows the thread that forked, and
//! tests run on threads that end, so one thread that lives as long as this
//! process forks every child. It comes again as each thread of a dying
//! process exits, so a script must not let a second one cut its cleanup
//! short.

use nix::sys::signal::{killpg, sigaction, sigprocmask, SaFlags, SigAction, SigHandler};
use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use nix::sys::wait::waitpid;
use nix::unistd::Pid;
use std::io::Read;
use std::ops::{Deref, DerefMut};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{mpsc, OnceLock};
use std::time::{Duration, Instant};

/// The signals a child starts with the default action for.
pub const TERMINAL_SIGNALS: [Signal; 5] = [
    Signal::SIGINT,
    Signal::SIGQUIT,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGPIPE,
];

/// A child started by [`spawn`], the leader of its own process group; it
/// derefs to its [`Child`]. Dropping it kills the group and reaps it.
pub struct Running {
    child: Child,
    group: Pid,
}

/// Starts `cmd` as the module doc says; panics naming the program if it
/// cannot be started.
pub fn spawn(cmd: &mut Command) -> Running {
    try_spawn(cmd).unwrap_or_else(|e| panic!("cannot start {:?}: {e}", cmd.get_program()))
}

/// Starts `cmd` as the module doc says; the error if it cannot be started
/// (not installed, say).
pub fn try_spawn(cmd: &mut Command) -> std::io::Result<Running> {
    as_from_a_terminal(cmd);
    dies_with_this_process(cmd);
    cmd.process_group(0);
    let child = fork_on_the_lasting_thread(cmd)?;
    let group = Pid::from_raw(child.id() as i32);
    Ok(Running { child, group })
}

/// Runs a command to completion, its stdout and stderr captured and no
/// stdin (no time limit: callers give the command one); panics naming the
/// program if it cannot be started.
pub fn run(cmd: &mut Command) -> Output {
    try_run(cmd).unwrap_or_else(|e| panic!("cannot run {:?}: {e}", cmd.get_program()))
}

/// [`run`], or the error if the program cannot be started.
pub fn try_run(cmd: &mut Command) -> std::io::Result<Output> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    Ok(try_spawn(cmd)?.wait_with_output())
}

/// Asserts that a command succeeded (else panics with its stderr); its
/// stdout.
pub fn expect_success(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Sends `sig` to the child alone (as `kill PID` does).
pub fn signal(child: &Child, sig: Signal) {
    let pid = Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, sig).unwrap();
}

/// The child's exit status, or `None` if it is still running after
/// `timeout`.
pub fn wait_timeout(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let until = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        if Instant::now() > until {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The processes of `group` still running (zombies left out), by pid, as
/// /proc says (proc(5): the fifth field of `stat` is the process group).
pub fn live_members(group: Pid) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return vec![];
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            // After the command name, which may hold spaces and parentheses.
            let fields: Vec<&str> = stat
                .rsplit_once(')')
                .map_or(vec![], |(_, rest)| rest.split_whitespace().collect());
            fields.len() > 2 && fields[0] != "Z" && fields[2] == group.to_string()
        })
        .collect()
}

impl Running {
    /// Its process group (the child's pid).
    pub fn group(&self) -> Pid {
        self.group
    }

    /// Sends `sig` to its whole group, as a terminal sends Ctrl+C (INT),
    /// Ctrl+\ (QUIT) or a hangup (HUP) to its foreground job.
    pub fn signal_group(&self, sig: Signal) {
        killpg(self.group, sig).unwrap();
    }

    /// Closes its stdin, reads its piped stdout and stderr to the end and
    /// waits for it (then the rest of its group is killed, as on drop).
    pub fn wait_with_output(mut self) -> Output {
        drop(self.child.stdin.take());
        let stderr = self.child.stderr.take();
        let stderr = std::thread::spawn(move || read_to_end(stderr));
        let stdout = read_to_end(self.child.stdout.take());
        let stderr = stderr.join().unwrap();
        let status = self.child.wait().unwrap();
        Output {
            status,
            stdout,
            stderr,
        }
    }
}

/// Everything a pipe gives until it closes (nothing if there is none).
fn read_to_end(pipe: Option<impl Read>) -> Vec<u8> {
    let mut bytes = Vec::new();
    if let Some(mut pipe) = pipe {
        let _ = pipe.read_to_end(&mut bytes);
    }
    bytes
}

impl Deref for Running {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.child
    }
}

impl DerefMut for Running {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.child
    }
}

impl Drop for Running {
    /// Kills the group, then reaps the leader and the group's orphans, which
    /// this process (a subreaper) inherits, until none is left. Killed
    /// first: while the leader or any member is unreaped, the group's
    /// number cannot be another process's.
    fn drop(&mut self) {
        let _ = killpg(self.group, Signal::SIGKILL);
        let _ = self.child.wait();
        let everyone = Pid::from_raw(-self.group.as_raw());
        // Until ECHILD: no process of the group is left.
        while let Ok(_) | Err(nix::errno::Errno::EINTR) = waitpid(everyone, None) {}
    }
}

/// Between fork and exec: the default action for [`TERMINAL_SIGNALS`] and
/// an empty signal mask, whatever this process has.
fn as_from_a_terminal(cmd: &mut Command) {
    let default = SigAction::new(SigHandler::SigDfl, SaFlags::empty(), SigSet::empty());
    let nothing = SigSet::empty();
    // SAFETY: only sigaction and sigprocmask, both async-signal-safe, run
    // between fork and exec, on values made before the fork.
    unsafe {
        cmd.pre_exec(move || {
            for sig in TERMINAL_SIGNALS {
                sigaction(sig, &default)?;
            }
            sigprocmask(SigmaskHow::SIG_SETMASK, Some(&nothing), None)?;
            Ok(())
        });
    }
}

/// Between fork and exec: SIGTERM when this process dies.
fn dies_with_this_process(cmd: &mut Command) {
    let parent = std::process::id() as i32;
    // SAFETY: only prctl, getppid and _exit, all async-signal-safe, run
    // between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            nix::sys::prctl::set_pdeathsig(Signal::SIGTERM)?;
            // This process may have died before the prctl took hold.
            if nix::libc::getppid() != parent {
                nix::libc::_exit(1);
            }
            Ok(())
        });
    }
}

/// A command to fork, and where to send it back with what it started.
type Fork = (Command, mpsc::Sender<(Command, std::io::Result<Child>)>);

/// Spawns `cmd` on the one thread that lasts as long as this process (see
/// the module doc); `cmd` is the caller's again afterwards.
fn fork_on_the_lasting_thread(cmd: &mut Command) -> std::io::Result<Child> {
    static FORKER: OnceLock<mpsc::Sender<Fork>> = OnceLock::new();
    let forker = FORKER.get_or_init(|| {
        nix::sys::prctl::set_child_subreaper(true).expect("PR_SET_CHILD_SUBREAPER");
        let (tx, rx) = mpsc::channel::<Fork>();
        std::thread::Builder::new()
            .name("forker".into())
            .spawn(move || {
                for (mut cmd, back) in rx {
                    let child = cmd.spawn();
                    let _ = back.send((cmd, child));
                }
            })
            .expect("the forking thread starts");
        tx
    });
    let (back, answer) = mpsc::channel();
    let program = cmd.get_program().to_owned();
    let taken = std::mem::replace(cmd, Command::new(program));
    forker.send((taken, back)).expect("the forking thread runs");
    let (cmd_back, child) = answer.recv().expect("the forking thread answers");
    *cmd = cmd_back;
    child
}
