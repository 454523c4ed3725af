//! `s3-credentials container-env`: what a container needs to reach one
//! scope through the container endpoint (`--container-endpoint`), asked of
//! the running server over its Unix socket (checked as fetch checks it)
//! and printed for `docker run --env-file`, compose's `environment:` or a
//! shell.

use crate::fetch;
use crate::Error;
use serde::Deserialize;

/// How to print the variables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// `VAR=value` lines, as `docker run --env-file` reads them (no quoting:
    /// Docker takes the rest of the line as it is).
    #[default]
    Docker,
    /// An `environment:` map for docker compose (YAML double-quoted).
    Compose,
    /// `export VAR='value'` lines for a shell.
    Env,
}

impl Format {
    /// Every format's name, as `--format` takes it.
    pub(crate) const NAMES: [&'static str; 3] = ["docker", "compose", "env"];

    /// The format called `name`.
    pub fn named(name: &str) -> Option<Format> {
        let all = [Format::Docker, Format::Compose, Format::Env];
        Format::NAMES
            .iter()
            .position(|n| *n == name)
            .map(|i| all[i])
    }
}

/// What `container-env` is asked to do, in plain types.
#[derive(Debug, Clone)]
pub struct Options {
    /// The server's socket (`--port`/`--socket`) and the scope (required).
    pub fetch: fetch::Options,
    /// How to print.
    pub format: Format,
    /// `--token-file-at PATH`: name a token file at PATH in the container
    /// (bind-mounted there) instead of printing the token.
    pub token_file_at: Option<String>,
}

/// The server's answer on `/scope/NAME/container-env`.
#[derive(Deserialize)]
struct Answer {
    full_uri: String,
    token: String,
    region: String,
    /// The gateway's URL for containers, for a scope served through it.
    #[serde(default)]
    gateway: Option<String>,
}

/// The text to print for `options`, asked of the running server.
pub async fn text(options: &Options) -> Result<String, Error> {
    let Some(scope) = options.fetch.scope.as_deref() else {
        return Err(Error::new("container-env needs --scope NAME"));
    };
    let route = format!("{}{scope}/container-env", crate::body::SCOPE_PATH);
    let answer: Answer = fetch::ask_socket(&options.fetch, Some(route), |body| {
        serde_json::from_slice(body).map_err(|_| "its answer is not a container-env answer".into())
    })
    .await?;
    check_holder(&answer.full_uri, options)?;
    Ok(render(&answer, options))
}

/// The container endpoint's port must be the server's: another user that
/// holds it (a restart the server lost to it) would get the token a
/// container sends.
fn check_holder(full_uri: &str, options: &Options) -> Result<(), Error> {
    let server_uid = (options.fetch.server_uid).unwrap_or_else(|| nix::unistd::geteuid().as_raw());
    let addr = full_uri
        .strip_prefix("http://")
        .and_then(|rest| rest.split('/').next())
        .and_then(|authority| authority.parse::<std::net::SocketAddr>().ok());
    match addr.and_then(|addr| crate::peer::other_listener_uid(addr, server_uid)) {
        Some(uid) => Err(Error::new(format!(
            "the container endpoint {} is held by uid {uid} too, not only by the server: a \
             container would hand it its token; stop that program and restart the server",
            addr.map(|a| a.to_string()).unwrap_or_default()
        ))),
        None => Ok(()),
    }
}

/// The variables, in `options.format`.
fn render(answer: &Answer, options: &Options) -> String {
    let mut vars = vec![(
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        answer.full_uri.as_str(),
    )];
    match &options.token_file_at {
        Some(path) => vars.push(("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", path.as_str())),
        None => vars.push(("AWS_CONTAINER_AUTHORIZATION_TOKEN", answer.token.as_str())),
    }
    if let Some(url) = &answer.gateway {
        vars.push(("AWS_ENDPOINT_URL_S3", url.as_str()));
    }
    vars.push(("AWS_REGION", answer.region.as_str()));
    vars.push(("AWS_DEFAULT_REGION", answer.region.as_str()));
    let mut out = match options.format {
        Format::Compose => "environment:\n".to_owned(),
        _ => String::new(),
    };
    for (var, value) in vars {
        let line = match options.format {
            Format::Docker => format!("{var}={value}\n"),
            // YAML's double quotes, then compose's own `$` interpolation.
            Format::Compose => format!(
                "  {var}: \"{}\"\n",
                (value.replace('\\', "\\\\").replace('"', "\\\"")).replace('$', "$$")
            ),
            Format::Env => format!("export {var}='{}'\n", value.replace('\'', "'\\''")),
        };
        out.push_str(&line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(format: Format, token_file_at: Option<&str>) -> Options {
        Options {
            fetch: fetch::Options::over_socket(8094, None, Some("prod".into()), String::new()),
            format,
            token_file_at: token_file_at.map(str::to_owned),
        }
    }

    fn answer() -> Answer {
        Answer {
            full_uri: "http://169.254.170.2:8095/scope/prod/ecs".into(),
            token: "t0k'\"\\en$HOME".into(),
            region: "eu-west-1".into(),
            gateway: None,
        }
    }

    #[test]
    fn each_format_carries_the_uri_the_token_and_the_region_quoted_for_its_reader() {
        let docker = render(&answer(), &options(Format::Docker, None));
        assert_eq!(
            docker,
            "AWS_CONTAINER_CREDENTIALS_FULL_URI=http://169.254.170.2:8095/scope/prod/ecs\n\
             AWS_CONTAINER_AUTHORIZATION_TOKEN=t0k'\"\\en$HOME\nAWS_REGION=eu-west-1\n\
             AWS_DEFAULT_REGION=eu-west-1\n"
        );
        let compose = render(&answer(), &options(Format::Compose, None));
        assert!(
            compose.starts_with("environment:\n  AWS_CONTAINER_CREDENTIALS_FULL_URI: \"http://")
        );
        assert!(
            compose.contains("  AWS_CONTAINER_AUTHORIZATION_TOKEN: \"t0k'\\\"\\\\en$$HOME\"\n"),
            "{compose}"
        );
        let env = render(&answer(), &options(Format::Env, None));
        assert!(
            env.contains("export AWS_CONTAINER_AUTHORIZATION_TOKEN='t0k'\\''\"\\en$HOME'\n"),
            "{env}"
        );
        let file = render(
            &answer(),
            &options(Format::Docker, Some("/run/secrets/s3c")),
        );
        assert!(file.contains("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=/run/secrets/s3c\n"));
        assert!(!file.contains("t0k"), "{file}");
    }
}
