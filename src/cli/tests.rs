//! The command line's own checks.

use super::values::parse_host;
use super::*;
use clap::CommandFactory;

#[test]
fn definitions_are_consistent() {
    Cli::command().debug_assert();
    FetchCli::command().debug_assert();
}

#[test]
fn read_only_and_write_only_conflict() {
    let err = Cli::try_parse_from([
        "s3-credentials",
        "policy",
        "b",
        "--read-only",
        "--write-only",
    ])
    .unwrap_err();
    assert_eq!(err.kind(), clap::error::ErrorKind::ArgumentConflict);
}

#[test]
fn attribute_needs_the_command_lines_buckets_and_goes_with_the_gateway() {
    let config = [
        "s3-credentials",
        "localserver",
        "--config",
        "s.toml",
        "--attribute",
    ];
    let err = Cli::try_parse_from(config).unwrap_err();
    assert_eq!(err.kind(), clap::error::ErrorKind::MissingRequiredArgument);
    let both = [
        "s3-credentials",
        "localserver",
        "b",
        "-d",
        "1h",
        "--attribute",
        "--gateway",
        "0",
    ];
    let Command::Localserver(args) = Cli::try_parse_from(both).unwrap().command else {
        panic!("localserver")
    };
    let options = args.options().unwrap();
    assert!(options.command_line.attribute && options.command_line.serve.through_gateway());
}

#[test]
fn duration_is_required_and_checked() {
    let err = Cli::try_parse_from(["s3-credentials", "localserver", "b"]).unwrap_err();
    assert_eq!(err.kind(), clap::error::ErrorKind::MissingRequiredArgument);
    let err = Cli::try_parse_from(["s3-credentials", "localserver", "b", "-d", "5m"]).unwrap_err();
    assert!(err
        .to_string()
        .contains("Duration must be between 15 minutes and 12 hours"));
}

#[test]
fn bad_input_is_a_usage_error_that_names_the_flag() {
    let parse = |args: &[&str]| {
        let mut all = vec!["s3-credentials", "localserver", "-d", "1h"];
        all.extend_from_slice(args);
        Cli::try_parse_from(all)
            .map(|_| ())
            .map_err(|e| e.to_string())
    };
    for (args, flag) in [
        (&["", "--port", "0"][..], "[BUCKETS]"),
        (&["b/x"], "[BUCKETS]"),
        (&["b", "--endpoint-url", "127.0.0.1:5055"], "--endpoint-url"),
        (&["b", "--endpoint-url", ""], "--endpoint-url"),
        (&["b", "--endpoint-url", "ftp://x"], "--endpoint-url"),
        (&["b", "--host", ""], "--host"),
        (&["b", "--host", "[::1"], "--host"),
        (&["b", "--region", "nowhere"], "--region"),
    ] {
        let err = parse(args).unwrap_err();
        assert!(err.contains(flag), "{args:?}: {err}");
    }
    for args in [
        &["my-bucket", "--endpoint-url", "http://127.0.0.1:5000"][..],
        &["b.c_d", "--host", "[::1]", "--region", "us-gov-west-1"],
        &[
            "b",
            "--host",
            "::1",
            "--endpoint-url",
            "https://s3.example.com/x",
        ],
    ] {
        assert_eq!(parse(args), Ok(()), "{args:?}");
    }
    let host = |h: &str| parse_host(h).unwrap();
    assert_eq!(host("[::1]"), "::1");
    assert_eq!(host("my.host-1"), "my.host-1");
}

#[test]
fn timeout_must_be_positive() {
    assert!(FetchCli::try_parse_from(["f", "--timeout", "0"]).is_err());
    assert!(FetchCli::try_parse_from(["f", "--timeout", "nan"]).is_err());
    let ok = FetchCli::try_parse_from(["f", "--timeout", "0.5"]).unwrap();
    assert_eq!(ok.timeout, std::time::Duration::from_millis(500));
}

#[test]
fn exec_server_takes_no_buckets_keys_or_duration_and_its_flags_need_it() {
    use clap::error::ErrorKind;
    let parse = |args: &[&str]| {
        let mut all = vec!["s3-credentials", "exec"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--", "true"]);
        Cli::try_parse_from(all).map(|_| ()).map_err(|e| e.kind())
    };
    assert_eq!(parse(&["--server"]), Ok(()));
    let narrowed = [
        "--server",
        "--scope",
        "prod",
        "--bucket",
        "b",
        "--prefix",
        "p/",
        "--read-only",
    ];
    assert_eq!(parse(&narrowed), Ok(()));
    assert_eq!(
        parse(&["--server", "--socket", "/s", "--region", "eu-west-1"]),
        Ok(())
    );
    for wrong in [
        &["--server", "b"][..],
        &["--server", "-d", "1h"],
        &["--server", "--config", "f.toml"],
        &["--server", "--role-arn", "arn:aws:iam::1:role/r"],
        &["--server", "--access-key", "AKIA", "--secret-key", "s"],
        &["--server", "--port", "1", "--socket", "/s"],
    ] {
        assert_eq!(parse(wrong), Err(ErrorKind::ArgumentConflict), "{wrong:?}");
    }
    for needs_server in [
        &["b", "-d", "1h", "--port", "1"][..],
        &["b", "-d", "1h", "--socket", "/s"],
    ] {
        assert_eq!(
            parse(needs_server),
            Err(ErrorKind::MissingRequiredArgument),
            "{needs_server:?}"
        );
    }
    assert_eq!(
        parse(&["--scope", "prod"]),
        Err(ErrorKind::MissingRequiredArgument)
    );
    assert_eq!(parse(&[]), Err(ErrorKind::MissingRequiredArgument));
}
