//! The budget of new narrowings, end to end: a refused narrowing spends
//! no mint.

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
