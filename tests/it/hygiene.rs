//! The test bed's own hygiene: a test behaves the same however the suite
//! was started (SIGINT ignored, as in a background job of a script), and
//! leaves no process behind, failing or not (`support::spawn`).

use crate::support::*;
use nix::sys::signal::Signal;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::Duration;

/// The demo and a server, run by this very test binary started with
/// SIGINT ignored, as `(cargo test &)` or `nohup … &` starts it: both
/// still stop on Ctrl+C, and the demo leaves nothing running.
#[test]
fn the_ctrl_c_tests_pass_when_the_suite_starts_with_sigint_ignored() {
    let me = std::env::current_exe().unwrap();
    let out = run(Command::new("sh")
        .args(["-c", "trap '' INT; exec \"$0\" \"$@\""])
        .arg(me)
        .args([
            "--exact",
            "localserver::the_demo_starts_serves_and_stops_on_ctrl_c",
            "localserver::sigint_shuts_down_cleanly",
        ]));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && said.contains("2 passed"),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The signal state of a process, from /proc/self/status (proc(5)).
struct SignalState {
    ignored: u64,
    blocked: u64,
    pid: String,
    group: String,
}

/// `cat /proc/self/status` started by `start`, parsed.
fn state_of_cat(start: impl FnOnce(&mut Command) -> std::process::Output) -> SignalState {
    let mut cmd = Command::new("cat");
    cmd.arg("/proc/self/status");
    // What a parent that ignores and blocks them passes on: set between
    // fork and exec, before anything `spawn` adds (pre_exec runs in order).
    // SAFETY: only sigaction and sigprocmask, both async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            use nix::sys::signal::{sigaction, sigprocmask, SaFlags, SigAction, SigHandler};
            use nix::sys::signal::{SigSet, SigmaskHow};
            let ignore = SigAction::new(SigHandler::SigIgn, SaFlags::empty(), SigSet::empty());
            for sig in TERMINAL_SIGNALS {
                sigaction(sig, &ignore)?;
            }
            let mut blocked = SigSet::empty();
            blocked.add(Signal::SIGINT);
            blocked.add(Signal::SIGTERM);
            sigprocmask(SigmaskHow::SIG_BLOCK, Some(&blocked), None)?;
            Ok(())
        });
    }
    let out = start(&mut cmd);
    let text = expect_success(&out);
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}:")))
            .unwrap_or_else(|| panic!("no {name} in {text}"))
            .trim()
            .to_owned()
    };
    let mask = |name: &str| u64::from_str_radix(&field(name), 16).unwrap();
    SignalState {
        ignored: mask("SigIgn"),
        blocked: mask("SigBlk"),
        pid: field("Pid"),
        group: field("NSpgid"),
    }
}

/// The bit of `sig` in a /proc signal mask.
fn bit(sig: Signal) -> u64 {
    1 << (sig as i32 - 1)
}

#[test]
fn a_child_starts_with_the_signals_a_terminal_gives_whatever_this_process_has() {
    let terminal: u64 = TERMINAL_SIGNALS.iter().map(|s| bit(*s)).sum();
    // Started the plain way, a child keeps what it inherited.
    let plain = state_of_cat(|cmd| cmd.stdin(Stdio::null()).output().unwrap());
    assert_eq!(plain.ignored & terminal, terminal, "{:x}", plain.ignored);
    assert_ne!(plain.blocked, 0);
    assert_ne!(plain.pid, plain.group);
    // Through the test bed: the defaults, nothing blocked, its own group.
    let ours = state_of_cat(run);
    assert_eq!(ours.ignored & terminal, 0, "{:x}", ours.ignored);
    assert_eq!(ours.blocked, 0, "{:x}", ours.blocked);
    assert_eq!(ours.pid, ours.group);
}

/// `localserver` itself acts on the signals it started ignoring (its
/// handlers replace SIG_IGN), as when a script runs it in the background:
/// bash gives a background job SIGINT and SIGQUIT ignored.
#[test]
fn a_server_started_ignoring_its_stop_signals_still_stops_on_them() {
    let moto = Moto::shared();
    let bucket = moto.bucket("ignoring");
    for sig in [Signal::SIGINT, Signal::SIGQUIT, Signal::SIGHUP] {
        let home = tempfile::tempdir().unwrap();
        let mut cmd = Command::new("sh");
        aws_env(&mut cmd, home.path());
        cmd.args(["-c", "trap '' INT QUIT HUP; exec \"$0\" \"$@\"", SERVER])
            .args(["localserver", &bucket, "--port", "0", "-d", "15m"])
            .args(["--endpoint-url", &moto.url()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut server = spawn(&mut cmd);
        let stderr = server.stderr.take().unwrap();
        let ready = wait_for_lines(stderr, &["Press Ctrl+C to stop"], Duration::from_secs(30));
        ready.unwrap_or_else(|lines| panic!("the server did not start: {lines:#?}"));
        server.signal_group(sig);
        let status = wait_timeout(&mut server, Duration::from_secs(10));
        assert!(status.is_some_and(|s| s.success()), "{sig}: {status:?}");
    }
}

/// A test that fails while the demo runs (the script, moto and the
/// server): once it has unwound, nothing of the demo's is left.
#[test]
fn a_failing_test_leaves_no_process_of_its_own_behind() {
    let home = tempfile::tempdir().unwrap();
    let mut members = Vec::new();
    let mut group = None;
    let failed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let (demo, _port, _seen) = crate::localserver::demo(home.path());
        group = Some(demo.group());
        members = live_members(demo.group());
        panic!("a test fails while the demo runs");
    }));
    assert!(failed.is_err());
    assert!(
        members.len() >= 3,
        "the script, moto, the server: {members:?}"
    );
    let group = group.unwrap();
    // Killed and reaped: not even a zombie is left in the group.
    assert_eq!(
        nix::sys::signal::killpg(group, None),
        Err(nix::errno::Errno::ESRCH),
        "{:?}",
        live_members(group)
    );
}

/// The demo, sent SIGTERM again and again as its parent dies (each of a
/// dying test process's threads sends the SIGTERM `spawn` arranges):
/// a later one does not cut its cleanup short, and it stops moto and the
/// server itself.
#[test]
fn the_demo_cleans_up_through_a_burst_of_sigterm() {
    let home = tempfile::tempdir().unwrap();
    let (mut demo, _port, _seen) = crate::localserver::demo(home.path());
    let mut status = None;
    for _ in 0..400 {
        signal(&demo, Signal::SIGTERM);
        status = wait_timeout(&mut demo, Duration::from_millis(5));
        if status.is_some() {
            break;
        }
    }
    assert!(status.is_some(), "the demo stops on SIGTERM");
    assert_eq!(live_members(demo.group()), Vec::<i32>::new());
}

/// Every process a test starts goes through `support::spawn` (`spawn`,
/// `run`), so none escapes the rules above.
#[test]
fn every_process_the_tests_start_goes_through_the_test_bed() {
    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it");
    let mut stack = vec![here.clone()];
    let mut found = Vec::new();
    while let Some(dir) = stack.pop() {
        for path in std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.path()) {
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let name = path.strip_prefix(&here).unwrap().to_string_lossy();
            // The helper itself, and this file, whose control starts `cat` plainly.
            if name == "support/spawn.rs" || name == "hygiene.rs" {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for needle in [".spawn()", ".output()", ".status()"] {
                if text.contains(needle) {
                    found.push(format!("{name}: {needle}"));
                }
            }
        }
    }
    assert_eq!(found, Vec::<String>::new());
}
