//! The budget of new narrowings, end to end: another uid flooding a
//! scope's narrowings cannot take the owner's share (its own entries and
//! mint budget), and a refused narrowing spends no mint.

use crate::support::*;

/// A server (STS: `sts`) of scope `prod`, read-write on `reports/`, whose
/// `uids` let `NOBODY` in.
fn guest_server(moto: &Moto, sts: &FakeSts) -> (Server, tempfile::TempDir) {
    let bucket = moto.bucket("shares");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("scopes.toml");
    let text = format!(
        "[scope.prod]\nbuckets = [\"{bucket}\"]\nprefix = \"reports/\"\nuids = [{NOBODY}]\n"
    );
    std::fs::write(&config, text).unwrap();
    let server = sts
        .server(moto, "")
        .arg("--config")
        .arg(config.to_str().unwrap())
        .run();
    (server, dir)
}

/// Asks each of `paths` in turn, one connection each, as fast as one
/// process can.
const ASK_EACH: &str = r#"
import socket, sys
host, port = sys.argv[1].rsplit(":", 1)
for path in sys.argv[2:]:
    s = socket.create_connection((host, int(port)), timeout=5)
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode())
    print(s.recv(12)[9:12].decode(), flush=True)
    s.close()
"#;

/// The status of `GET` of each of `paths`, asked as `NOBODY`.
fn statuses_as_nobody(server: &Server, paths: &[String]) -> Vec<u16> {
    use std::os::unix::process::CommandExt;
    let out = run(std::process::Command::new("python3")
        .args(["-c", ASK_EACH, &server.addr().to_string()])
        .args(paths)
        .uid(NOBODY)
        .gid(NOBODY));
    let stdout = String::from_utf8_lossy(&out.stdout);
    stdout.lines().map(|l| l.parse().unwrap_or(0)).collect()
}

#[test]
fn a_guest_flooding_narrowings_leaves_the_owner_its_entries_and_mints() {
    if !can_be_nobody() {
        return;
    }
    let moto = Moto::shared();
    let sts = FakeSts::start(3600);
    let (server, _dir) = guest_server(moto, &sts);
    let own = "/scope/prod?prefix=reports%2Fown%2F";
    let (status, _, first) = server.get(own);
    assert_eq!(status, 200, "{first}");
    // The guest spends its whole share, and is told to wait.
    let paths: Vec<String> = (0..20)
        .map(|i| format!("/scope/prod?prefix=reports%2Fg{i}%2F"))
        .collect();
    let statuses = statuses_as_nobody(&server, &paths);
    assert_eq!(statuses.len(), 20, "{statuses:?}");
    assert!(statuses.contains(&429), "{statuses:?}");
    assert!(
        statuses.iter().all(|s| [200, 429].contains(s)),
        "{statuses:?}"
    );
    // The owner's entry is still held (no STS call), and its new ones mint.
    let calls = sts.calls();
    assert_eq!(key_and_life(&server.get(own).2).0, key_and_life(&first).0);
    assert_eq!(sts.calls(), calls);
    for i in 0..5 {
        let (status, _, body) = server.get(&format!("/scope/prod?prefix=reports%2Fo{i}%2F"));
        assert_eq!(status, 200, "the owner's narrowing {i}: {body}");
    }
}

#[test]
fn refused_narrowings_spend_no_mint() {
    let moto = Moto::shared();
    let sts = FakeSts::start(3600);
    let (server, _dir) = guest_server(moto, &sts);
    let calls = sts.calls();
    let long = "x".repeat(1800);
    for i in 0..12 {
        let (status, _, body) = server.get(&format!("/scope/prod?prefix=reports%2F{long}{i}"));
        assert_eq!(status, 400, "{body}");
        assert!(body.contains("over STS's limit"), "{body}");
        let (status, _, body) = server.get(&format!("/scope/prod?prefix=drafts%2F{i}"));
        assert_eq!(status, 403, "{body}");
    }
    assert_eq!(sts.calls(), calls, "a refused narrowing called STS");
    let (status, _, body) = server.get("/scope/prod?prefix=reports%2Fvalid%2F");
    assert_eq!(status, 200, "a valid narrowing after refusals: {body}");
}
