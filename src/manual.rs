//! The manual's words that clap's help does not hold: examples, exit
//! status, environment, files and see-also, for each man page. The pages
//! are rendered from the clap definition plus these (`tests/generated.rs`,
//! `REGENERATE=1 cargo test --test it generated`), so they are written once.

/// The date printed on every page: when their words last changed.
pub const DATE: &str = "2026-11-23";

/// One section: its title, then `(term, text)` entries. A term that starts
/// with `$ ` is a command to show as is, with its text above it.
pub(crate) type Section = (&'static str, &'static [(&'static str, &'static str)]);

const EXIT_STATUS: Section = (
    "EXIT STATUS",
    &[
        ("0", "Success; for localserver, a stop by SIGINT, SIGTERM, SIGHUP or SIGQUIT after a clean shutdown."),
        ("1", "A failure, said in one line on standard error (no AWS credentials, a missing bucket, a busy port, ...)."),
        ("2", "A usage error: a missing or invalid option."),
        ("128+N", "localserver stopped by a second signal N during its shutdown, without waiting for open connections (130 for a second Ctrl+C)."),
    ],
);

const SERVER_ENVIRONMENT: Section = (
    "ENVIRONMENT",
    &[
        ("AWS_PROFILE", "The AWS profile for the server's own credentials, as --profile."),
        ("AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN", "The server's own credentials; they need sts:AssumeRole (and, without --role-arn, iam:GetRole, iam:CreateRole and iam:AttachRolePolicy)."),
        ("AWS_REGION", "The region, as --region (default us-east-1)."),
        ("AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL_IAM", "Send AWS calls elsewhere (all, or one service), as --endpoint-url."),
        ("XDG_RUNTIME_DIR", "Where the Unix socket goes: $XDG_RUNTIME_DIR/s3-credentials/PORT.sock. Unset, or naming a directory that is gone: $TMPDIR/s3-credentials-UID/PORT.sock."),
        ("TMPDIR", "The socket's fallback directory's parent (/tmp when unset)."),
        ("RUST_LOG", "Log verbosity, e.g. debug (the AWS SDK included) or access=off (no access log)."),
        ("LISTEN_FDS, LISTEN_PID", "Set by systemd for socket activation: the server serves the sockets it passes, and removes these from its environment."),
        ("S3C_AWS_TIMEOUT", "Seconds an AWS call may take, retries included (default 20, at least 1); an attempt gets two fifths of it and a connection three twentieths. For a slow network."),
        ("S3C_WAKE_EVERY", "Seconds between the renewer's looks at the wall clock (default 20, at least 1): after a suspend or a clock jump, credentials are renewed within this."),
        ("S3C_METRICS", "off: count nothing for /metrics (its series stay at zero), to measure what counting costs. No setting turns off a security check."),
    ],
);

const SERVER_FILES: Section = (
    "FILES",
    &[
        ("$XDG_RUNTIME_DIR/s3-credentials/PORT.sock", "The Unix socket, 0600 in a 0700 directory; removed on shutdown."),
        ("$TMPDIR/s3-credentials-UID/PORT.sock", "The socket where XDG_RUNTIME_DIR is unset or gone."),
        ("~/.aws/config, ~/.aws/credentials", "The AWS profiles the server's own credentials may come from."),
        ("--auth-token-file FILE", "The token TCP clients must send; yours, mode 0600; made with a random token when missing."),
        ("contrib/systemd/s3-credentials@.service, s3-credentials@.socket", "systemd user units: one server per bucket, optionally socket-activated."),
    ],
);

const SEE_ALSO: Section = (
    "SEE ALSO",
    &[(
        "",
        "s3-credentials(1), s3-credentials-localserver(1), s3-credentials-exec(1), \
         s3-credentials-container-env(1), s3-credentials-doctor(1), s3-credentials-verify(1), \
         s3-credentials-policy(1), s3-credentials-generate(1), s3-credentials-fetch(1), aws(1), \
         systemd.socket(5), systemd.service(5)",
    )],
);

/// The extra sections of the page named `page` (`s3-credentials-fetch`,
/// `s3-credentials-localserver`, ...), in order.
pub fn sections(page: &str) -> Vec<Section> {
    let examples = match page {
        "s3-credentials-localserver" => LOCALSERVER_EXAMPLES,
        "s3-credentials-policy" => POLICY_EXAMPLES,
        "s3-credentials-fetch" => FETCH_EXAMPLES,
        _ => TOP_EXAMPLES,
    };
    let (environment, files) = match page {
        "s3-credentials-fetch" => (FETCH_ENVIRONMENT, FETCH_FILES),
        _ => (SERVER_ENVIRONMENT, SERVER_FILES),
    };
    vec![examples, EXIT_STATUS, environment, files, SEE_ALSO]
}

const TOP_EXAMPLES: Section = (
    "EXAMPLES",
    &[
        (
            "$ s3-credentials localserver my-bucket --duration 1h",
            "Serve read-write credentials for my-bucket, each valid for an hour:",
        ),
        (
            "$ s3-credentials policy my-bucket --read-only",
            "Print the session policy a read-only server would use:",
        ),
        (
            "$ curl -s http://localhost:8094/",
            "From another terminal, fetch the credentials:",
        ),
    ],
);

const LOCALSERVER_EXAMPLES: Section = (
    "EXAMPLES",
    &[
        ("$ s3-credentials localserver my-bucket --duration 1h", "Serve read-write credentials for my-bucket on localhost:8094 and a private Unix socket:"),
        ("$ s3-credentials localserver my-bucket -d 15m --read-only --prefix reports/", "Read-only, and only keys under reports/:"),
        ("$ s3-credentials localserver my-bucket -d 1h --auth-token-file ~/.config/s3-credentials/token", "Require a token from TCP clients (made on first use):"),
        ("$ AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:8094/ecs aws s3 ls s3://my-bucket/", "Any AWS SDK or the AWS CLI, through the container credentials endpoint:"),
        ("$ curl -s http://localhost:8094/healthz", "Check that it holds a valid credential, and for how long:"),
    ],
);

const POLICY_EXAMPLES: Section = (
    "EXAMPLES",
    &[
        (
            "$ s3-credentials policy my-bucket",
            "The read-write policy for my-bucket:",
        ),
        (
            "$ s3-credentials policy my-bucket --write-only --prefix uploads/",
            "Write-only, under uploads/:",
        ),
    ],
);

const FETCH_EXAMPLES: Section = (
    "EXAMPLES",
    &[
        ("$ printf '[profile scoped]\\ncredential_process = s3-credentials-fetch\\n' >> ~/.aws/config", "Make an AWS profile that takes its credentials from the running server:"),
        ("$ aws s3 ls s3://my-bucket/ --profile scoped", "Then use it:"),
        ("$ s3-credentials-fetch --port 9000", "Ask a server started with --port 9000:"),
    ],
);

const FETCH_ENVIRONMENT: Section = (
    "ENVIRONMENT",
    &[
        ("XDG_RUNTIME_DIR", "Where the default socket is looked for: $XDG_RUNTIME_DIR/s3-credentials/PORT.sock; unset or gone: $TMPDIR/s3-credentials-UID/PORT.sock."),
        ("TMPDIR", "The fallback socket directory's parent (/tmp when unset)."),
    ],
);

const FETCH_FILES: Section = (
    "FILES",
    &[
        ("$XDG_RUNTIME_DIR/s3-credentials/PORT.sock", "The default socket; its directory must be yours, mode 0700, and the server on it must run as you."),
        ("/proc/net/tcp, /proc/net/tcp6", "On Linux, who holds a loopback port (read through sock_diag when it can): another user's is refused."),
        ("~/.aws/config", "Where a profile names this program as its credential_process."),
    ],
);
