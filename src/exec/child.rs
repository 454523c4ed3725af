//! exec's child: its environment (our endpoint and token, no other
//! credentials), its token file, the signals passed on to it, and its exit
//! status.

use crate::signals::Signals;
use crate::{log, token, Error};
use std::ffi::OsString;
use std::path::PathBuf;

/// Variables that would give the child other credentials than ours, or
/// send its SDK elsewhere for them: every name the AWS SDKs read as keys,
/// a profile, a role or a credential source, checked against each SDK's
/// docs (the CLI and boto3, Java v1 and v2, Go v1 and v2, JavaScript v2
/// and v3, .NET, Rust, C++, PHP, Ruby) and the AWS SDKs and Tools
/// reference guide's settings list.
const REMOVED: [&str; 22] = [
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    // Java v1's and Go v1's other names for the keys.
    "AWS_ACCESS_KEY",
    "AWS_SECRET_KEY",
    "AWS_CREDENTIAL_EXPIRATION",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    // .NET's and Java v1's profile files.
    "AWS_CREDENTIAL_PROFILES_FILE",
    "AWS_PROFILES_LOCATION",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_SSO_SESSION",
    "AWS_SSO_START_URL",
    "AWS_SSO_ACCOUNT_ID",
    "AWS_SSO_ROLE_NAME",
    "AWS_SDK_LOAD_CONFIG",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT",
];

/// What the child inherits of exec's AWS settings, where its own
/// environment does not say: the region and the endpoint URL.
#[derive(Debug, Default)]
pub(super) struct Inherited {
    pub(super) region: Option<String>,
    pub(super) endpoint_url: Option<String>,
    /// The gateway's URL, for a scope served through it: its local
    /// credentials work nowhere else, so it is set whatever the
    /// environment says.
    pub(super) gateway: Option<String>,
}

/// The token in a file too, for SDKs that read only
/// `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` (Rust's `object_store`, and so
/// polars): 0600, in a 0700 directory of a random name made for it (in
/// `XDG_RUNTIME_DIR`, else the temporary directory), removed with both
/// when exec ends (a SIGKILL of exec leaves them behind).
pub(super) struct TokenFile {
    dir: PathBuf,
    path: PathBuf,
}

impl TokenFile {
    pub(super) fn write(token: &str) -> Result<TokenFile, Error> {
        use std::os::unix::fs::DirBuilderExt;
        let fail = |e: std::io::Error| Error::new(format!("cannot write exec's token file: {e}"));
        let (_, name) = token::random()?;
        let base = crate::socket::runtime_dir()
            .filter(|d| d.is_dir())
            .unwrap_or_else(std::env::temp_dir);
        let dir = base.join(format!("s3-credentials-exec-{}", &name[..16]));
        // A new directory, or none: a name someone made first is refused.
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&dir)
            .map_err(fail)?;
        let file = TokenFile {
            path: dir.join("token"),
            dir,
        };
        crate::trusted::write_private(&file.path, token.as_bytes()).map_err(fail)?;
        Ok(file)
    }
}

impl Drop for TokenFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
        let _ = std::fs::remove_dir(&self.dir);
    }
}

/// The child running `command`: our credentials through the container
/// endpoint on `port`, no other.
pub(super) fn command(
    command: &[OsString],
    inherited: &Inherited,
    port: u16,
    token: &str,
    token_file: &TokenFile,
) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(&command[0]);
    cmd.args(&command[1..]);
    die_with_us(&mut cmd);
    for var in REMOVED {
        cmd.env_remove(var);
    }
    // Profiles may hold keys, a credential_process, SSO or a role, all of
    // which SDKs try before the container endpoint.
    cmd.env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env(
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            format!("http://127.0.0.1:{port}/ecs"),
        )
        .env("AWS_CONTAINER_AUTHORIZATION_TOKEN", token)
        .env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", &token_file.path);
    let unset = |var: &str| std::env::var_os(var).is_none();
    // The region the profile gave (or AWS_REGION): SDKs read one or the other.
    for var in ["AWS_REGION", "AWS_DEFAULT_REGION"] {
        if let Some(region) = inherited.region.as_ref().filter(|_| unset(var)) {
            cmd.env(var, region);
        }
    }
    let endpoint_url = inherited.endpoint_url.as_ref();
    if let Some(url) = endpoint_url.filter(|_| unset("AWS_ENDPOINT_URL")) {
        cmd.env("AWS_ENDPOINT_URL", url);
    }
    if let Some(url) = &inherited.gateway {
        cmd.env("AWS_ENDPOINT_URL_S3", url);
    }
    cmd
}

/// The child runs as the same user, who may read a process's environment
/// and memory through `/proc`, and exec's hold the server's own AWS keys.
/// A process that is not dumpable has its `/proc` files owned by root
/// (proc(5), `PR_SET_DUMPABLE`), so the child cannot read exec's. The
/// child itself is dumpable again once it execs.
pub(super) fn hide_from_child() {
    #[cfg(target_os = "linux")]
    // SAFETY: prctl with integer arguments only.
    unsafe {
        nix::libc::prctl(nix::libc::PR_SET_DUMPABLE, 0);
    }
}

/// The child is sent SIGTERM when exec dies, however it dies (SIGKILL
/// included): its credentials die with exec's endpoint anyway. Linux's
/// `PR_SET_PDEATHSIG`; elsewhere the child outlives a killed exec.
fn die_with_us(cmd: &mut tokio::process::Command) {
    #[cfg(target_os = "linux")]
    {
        let parent = std::process::id() as i32;
        // SAFETY: between fork and exec, only async-signal-safe calls
        // (prctl, getppid) and no allocation.
        unsafe {
            cmd.pre_exec(move || {
                if nix::libc::prctl(nix::libc::PR_SET_PDEATHSIG, nix::libc::SIGTERM) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // exec may have died before the prctl took hold.
                if nix::libc::getppid() != parent {
                    nix::libc::_exit(1);
                }
                Ok(())
            });
        }
    }
}

/// Says why the program did not start; the shell's status for it.
pub(super) fn not_started(program: &OsString, e: &std::io::Error) -> u8 {
    let program = program.to_string_lossy();
    let (why, code) = match e.kind() {
        std::io::ErrorKind::NotFound => ("command not found".to_owned(), 127),
        _ => (e.to_string(), 126),
    };
    log::error(&format!("cannot run {program}: {why}"));
    code
}

/// Every signal `localserver` stops on (`signals::Signals`), caught to be
/// passed on to the child.
pub(super) struct Forwarded(Signals);

impl Forwarded {
    pub(super) fn new() -> Result<Forwarded, Error> {
        Signals::new(false).map(Forwarded)
    }

    /// Waits for the child, passing each signal on to it.
    pub(super) async fn wait(
        &mut self,
        child: &mut tokio::process::Child,
    ) -> Result<std::process::ExitStatus, Error> {
        use nix::sys::signal::{kill, Signal};
        let pid = child.id().map(|id| nix::unistd::Pid::from_raw(id as i32));
        loop {
            let forward = tokio::select! {
                status = child.wait() => {
                    return status.map_err(|e| Error::new(format!("waiting for the command failed: {e}")));
                }
                number = self.0.number() => number,
            };
            if let (Some(pid), Ok(signal)) = (pid, Signal::try_from(forward)) {
                let _ = kill(pid, signal);
            }
        }
    }
}

/// The child's status as a shell reports it.
pub(super) fn exit_code(status: std::process::ExitStatus) -> u8 {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => code as u8,
        (None, Some(signal)) => (128 + signal) as u8,
        (None, None) => 1,
    }
}
