//! Value parsers: each flag's value checked as it is parsed, so bad input
//! is a usage error that names the flag (exit 2).

use clap::builder::{PossibleValue, TypedValueParser};

/// AWS's regions, offered by shell completion (others are accepted).
pub(super) const REGIONS: &[&str] = &[
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "af-south-1",
    "ap-east-1",
    "ap-south-1",
    "ap-south-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ca-central-1",
    "ca-west-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
];

/// A value parser that offers `values` to shell completion, while still
/// taking any value `inner` takes.
#[derive(Clone)]
pub(crate) struct Suggest<P> {
    inner: P,
    values: &'static [&'static str],
}

pub(super) fn suggest<P>(inner: P, values: &'static [&'static str]) -> Suggest<P> {
    Suggest { inner, values }
}

impl<P: TypedValueParser> TypedValueParser for Suggest<P> {
    type Value = P::Value;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<Self::Value, clap::Error> {
        self.inner.parse_ref(cmd, arg, value)
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(self.values.iter().map(|v| PossibleValue::new(*v))))
    }
}

pub(super) fn parse_scope_name(s: &str) -> Result<String, String> {
    crate::scope::check_scope_name(s)?;
    Ok(s.to_owned())
}

pub(super) fn parse_bucket(s: &str) -> Result<String, String> {
    crate::policy::check_bucket_name(s)?;
    Ok(s.to_owned())
}

/// An `http://` or `https://` URL with a host.
pub(super) fn parse_endpoint_url(s: &str) -> Result<String, String> {
    let uri: hyper::Uri = s
        .parse()
        .map_err(|_| "must be a URL like http://127.0.0.1:5000".to_owned())?;
    let scheme_ok = matches!(uri.scheme_str(), Some("http" | "https"));
    if !scheme_ok || uri.host().is_none_or(str::is_empty) {
        return Err("must be an http:// or https:// URL, like http://127.0.0.1:5000".into());
    }
    Ok(s.to_owned())
}

/// A host name or an IP address (IPv6 bare or in brackets).
pub(super) fn parse_host(s: &str) -> Result<String, String> {
    let inner = s.strip_prefix('[').and_then(|h| h.strip_suffix(']'));
    let ok = match inner {
        Some(v6) => v6.parse::<std::net::Ipv6Addr>().is_ok(),
        None if s.contains(':') => s.parse::<std::net::Ipv6Addr>().is_ok(),
        None => {
            !s.is_empty()
                && s.len() <= 253
                && s.split('.').all(|label| {
                    !label.is_empty()
                        && label
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                })
        }
    };
    match ok {
        true => Ok(inner.unwrap_or(s).to_owned()),
        false => Err("must be a host name or an IP address, like localhost or ::1".into()),
    }
}

/// An AWS region's shape (`us-east-1`, `eu-central-2`, `us-gov-west-1`).
pub(super) fn parse_region(s: &str) -> Result<String, String> {
    let parts: Vec<&str> = s.split('-').collect();
    let shaped = parts.len() >= 3
        && parts[0].len() == 2
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[parts.len() - 1].parse::<u8>().is_ok();
    match shaped {
        true => Ok(s.to_owned()),
        false => Err("not an AWS region name (like us-east-1 or eu-west-2)".into()),
    }
}

pub(super) fn parse_timeout(s: &str) -> Result<std::time::Duration, String> {
    let secs: f64 = s.parse().map_err(|_| "must be a number of seconds")?;
    if secs.is_finite() && secs > 0.0 && secs <= 3600.0 {
        Ok(std::time::Duration::from_secs_f64(secs))
    } else {
        Err("must be more than 0 and at most 3600 seconds".into())
    }
}

/// The address ECS gives its container credentials endpoint, which every
/// AWS SDK accepts over plain http://.
const CONTAINER_HOST: std::net::Ipv4Addr = std::net::Ipv4Addr::new(169, 254, 170, 2);

/// `--container-endpoint [ADDR:]PORT`: `PORT` alone is on 169.254.170.2;
/// an IPv6 address goes in brackets (`[fd00:ec2::23]:80`).
pub(super) fn parse_container_endpoint(s: &str) -> Result<std::net::SocketAddr, String> {
    if let Ok(port) = s.parse::<u16>() {
        return Ok((CONTAINER_HOST, port).into());
    }
    s.parse().map_err(|_| {
        format!("'{s}' is not PORT or ADDR:PORT, e.g. 8095 (on {CONTAINER_HOST}) or {CONTAINER_HOST}:8095")
    })
}

/// `--gateway [ADDR:]PORT`: `PORT` alone is on 127.0.0.1; an address
/// must be loopback (checked where it is bound, with the reason).
pub(super) fn parse_gateway(s: &str) -> Result<std::net::SocketAddr, String> {
    if let Ok(port) = s.parse::<u16>() {
        return Ok((std::net::Ipv4Addr::LOCALHOST, port).into());
    }
    s.parse().map_err(|_| {
        format!("'{s}' is not PORT or ADDR:PORT, e.g. 8096 (on 127.0.0.1) or [::1]:8096")
    })
}

/// `--token-file-at PATH`: an absolute path inside the container, with no
/// control character (it is printed as one line of an env file).
pub(super) fn parse_container_path(s: &str) -> Result<String, String> {
    match s.starts_with('/') && !s.chars().any(char::is_control) {
        true => Ok(s.to_owned()),
        false => Err(format!(
            "'{}' must be an absolute path in the container, e.g. /run/secrets/s3-credentials-token",
            s.escape_default()
        )),
    }
}

/// An S3 key or prefix given on the command line: not empty, no control
/// character (it is printed in a report line).
pub(super) fn parse_key(s: &str) -> Result<String, String> {
    match !s.is_empty() && !s.chars().any(char::is_control) {
        true => Ok(s.to_owned()),
        false => Err("give a key without control characters, e.g. reports/2026/a.csv".into()),
    }
}
