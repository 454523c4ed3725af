//! How the gateway reads a request's Host header: `BUCKET.localhost`, with
//! or without a port, is virtual-host style for BUCKET (as the SDKs send
//! it with `addressing_style = "virtual"` and an endpoint on `localhost`);
//! any other name, `localhost` itself included, is path style. (s3s's
//! `SingleDomain` compares the header with its port still on, so it read
//! `localhost:PORT` as a bucket of that name.) An IP literal never gets
//! here: s3s reads it as path style itself.

use s3s::host::{S3Host, VirtualHost};
use s3s::S3Result;

/// The loopback gateway's reading of Host headers.
pub(super) struct Loopback;

impl S3Host for Loopback {
    fn parse_host_header<'a>(&'a self, host: &'a str) -> S3Result<VirtualHost<'a>> {
        let name = without_port(host);
        let lower = name.to_ascii_lowercase();
        match lower.strip_suffix(".localhost") {
            Some(bucket) if !bucket.is_empty() => {
                Ok(VirtualHost::new("localhost").with_bucket(bucket.to_owned()))
            }
            _ => Ok(VirtualHost::new(name)),
        }
    }
}

/// `host` without a trailing `:PORT`.
fn without_port(host: &str) -> &str {
    match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket(host: &str) -> Option<String> {
        let parsed = Loopback.parse_host_header(host).unwrap();
        parsed.bucket().map(str::to_owned)
    }

    #[test]
    fn a_bucket_comes_only_from_a_localhost_subdomain() {
        assert_eq!(bucket("gwb.localhost:8080").as_deref(), Some("gwb"));
        assert_eq!(bucket("GWB.LocalHost").as_deref(), Some("gwb"));
        assert_eq!(bucket("a.b.localhost:1").as_deref(), Some("a.b"));
        for path_style in [
            "localhost:8080",
            "localhost",
            ".localhost:1",
            "example.com:80",
            "gwb",
        ] {
            assert_eq!(bucket(path_style), None, "{path_style}");
        }
    }
}
