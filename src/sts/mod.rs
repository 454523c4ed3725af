//! Minting: the AWS side of the server. Builds the AWS config and checks
//! who it is, checks the bucket, finds (or creates) the role once, and
//! mints credentials with `AssumeRole` and the session policy. How its
//! failures read is `explain`'s job.

mod attribution;
#[cfg(test)]
mod canned;
pub mod checks;
mod explain;
mod keys;
mod minter;
mod role;
mod trust;

pub use keys::{KeySource, Keys};
pub use minter::Minter;

use crate::Error;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_sts::config::{ProvideCredentials, Region};
use aws_sdk_sts::error::ProvideErrorMetadata;
use explain::{failure, no_credentials, Service};
use std::time::Duration;

/// The role the original creates and assumes when `--role-arn` is not given.
pub const DEFAULT_ROLE_NAME: &str = "s3-credentials.AmazonS3FullAccess";
const S3_FULL_ACCESS: &str = "arn:aws:iam::aws:policy/AmazonS3FullAccess";

/// How long AWS calls may take.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timeouts {
    /// For a connection to an AWS endpoint to open (3 s).
    pub connect: Duration,
    /// For one attempt: a connection that stalled (Wi-Fi changed, a VPN
    /// dropped) is given up and the call retried on a new one (8 s).
    pub attempt: Duration,
    /// For one call, retries included (20 s).
    pub call: Duration,
}

/// The timeouts in force: `S3C_AWS_TIMEOUT=SECONDS` sets the whole call
/// (default 20; for a slow network, or a test that must not wait), an
/// attempt taking two fifths of it and a connection three twentieths.
pub(crate) fn timeouts() -> Timeouts {
    static SET: std::sync::OnceLock<Timeouts> = std::sync::OnceLock::new();
    *SET.get_or_init(|| {
        let call = std::env::var("S3C_AWS_TIMEOUT")
            .ok()
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|secs| secs.is_finite() && *secs >= 1.0)
            .map_or(Duration::from_secs(20), Duration::from_secs_f64);
        Timeouts {
            connect: call.mul_f64(0.15),
            attempt: call.mul_f64(0.4),
            call,
        }
    })
}

/// How to reach AWS: where the server's own credentials come from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AwsOptions {
    /// The server's own credentials: the default chain, or the original's
    /// key options.
    pub credentials: KeySource,
    /// The AWS profile.
    pub profile: Option<String>,
    /// The region.
    pub region: Option<String>,
    /// One endpoint for every AWS call.
    pub endpoint_url: Option<String>,
}

/// The AWS side, ready: its config, and who the server is in AWS.
pub struct Aws {
    config: SdkConfig,
    /// One STS client (and connection pool) for every scope's minter.
    sts: aws_sdk_sts::Client,
    /// One S3 client for every bucket check.
    s3: aws_sdk_s3::Client,
    /// The server's own identity: GetCallerIdentity's `Arn` and `Account`,
    /// or why there is none (an STS, like Ceph's, without that call).
    identity: Result<(String, String), Error>,
    /// The original's role, once looked up (or made) for the first scope
    /// that needs it.
    default_role: tokio::sync::OnceCell<role::DefaultRole>,
}

impl AwsOptions {
    /// For tests: test keys in us-east-1, every call sent to `url`.
    #[cfg(test)]
    pub(crate) fn test_at(url: &str) -> AwsOptions {
        AwsOptions {
            credentials: KeySource::Keys(Keys {
                access_key_id: "AKIDTEST".into(),
                secret_access_key: "testing".into(),
                session_token: None,
            }),
            region: Some("us-east-1".into()),
            endpoint_url: Some(url.into()),
            profile: None,
        }
    }
}

impl Aws {
    /// For tests: test keys in us-east-1, every call sent to `url`, and a
    /// known identity.
    #[cfg(test)]
    pub(crate) async fn at(url: &str) -> Aws {
        let options = AwsOptions::test_at(url);
        let config = load_config(&options).await.expect("a test config");
        Aws {
            sts: aws_sdk_sts::Client::new(&config),
            s3: s3_client(&config),
            identity: Ok(("arn:aws:iam::1:user/a".into(), "1".into())),
            default_role: tokio::sync::OnceCell::new(),
            config,
        }
    }

    /// The region in use.
    pub fn region(&self) -> Option<&str> {
        self.config.region().map(|r| r.as_ref())
    }

    /// The account the server's own identity is in, where STS said.
    pub fn account(&self) -> Option<&str> {
        self.identity
            .as_ref()
            .ok()
            .map(|(_, account)| account.as_str())
    }

    /// The endpoint every AWS call goes to, when one is set.
    pub fn endpoint_url(&self) -> Option<&str> {
        self.config.endpoint_url()
    }
}

/// Step 1: loads the AWS config from the default chain and the command
/// line, and asks STS who that is, so missing, invalid or expired
/// credentials are reported up front, each in its own words.
pub async fn connect(aws: &AwsOptions) -> Result<Aws, Error> {
    connect_for(aws, true).await
}

/// The same; without `needs_sts` (every scope signs with the server's own
/// keys: `upstream = "keys"`) STS is not asked, nor ever called.
pub async fn connect_for(aws: &AwsOptions, needs_sts: bool) -> Result<Aws, Error> {
    let config = load_config(aws).await?;
    check_credentials(&config, aws.profile.as_deref()).await?;
    let sts = aws_sdk_sts::Client::new(&config);
    if !needs_sts {
        let why = "the server started with no scope that uses STS: restart it to serve one";
        return Ok(Aws {
            s3: s3_client(&config),
            sts,
            config,
            identity: Err(Error::new(why)),
            default_role: tokio::sync::OnceCell::new(),
        });
    }
    let failed = |e| {
        failure(e, &Service::Sts.endpoint(&config), |detail| {
            format!("GetCallerIdentity failed: {detail}")
        })
    };
    let identity = match sts.get_caller_identity().send().await {
        Ok(who) => Ok((
            who.arn().unwrap_or_default().to_owned(),
            who.account().unwrap_or_default().to_owned(),
        )),
        // Unreachable, or the credentials refused: nothing will work.
        Err(e) if e.raw_response().is_none() || explain::about_credentials(e.code()) => {
            return Err(failed(e))
        }
        // Any other answer only means this STS lacks the call (Ceph's).
        Err(e) => Err(failed(e)),
    };
    if let Ok((arn, account)) = &identity {
        explain::refuse_root(arn, account)?;
    }
    Ok(Aws {
        s3: s3_client(&config),
        sts,
        config,
        identity,
        default_role: tokio::sync::OnceCell::new(),
    })
}

async fn load_config(aws: &AwsOptions) -> Result<SdkConfig, Error> {
    let limits = timeouts();
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(limits.connect)
        .operation_attempt_timeout(limits.attempt)
        .operation_timeout(limits.call)
        .build();
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).timeout_config(timeouts);
    if let Some(profile) = &aws.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = &aws.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(url) = &aws.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    if let Some(keys) = aws.credentials.keys().await? {
        loader = loader.credentials_provider(aws_credential_types::Credentials::new(
            keys.access_key_id,
            keys.secret_access_key,
            keys.session_token,
            None,
            "s3-credentials options",
        ));
    }
    let config = loader.load().await;
    Ok(match config.region() {
        Some(_) => config,
        // STS and S3 both answer in us-east-1, as boto3 assumes too.
        None => config
            .into_builder()
            .region(Region::from_static("us-east-1"))
            .build(),
    })
}

/// The keys the chain found (the environment, a profile, a process) must
/// be printable ASCII: the SDK panics signing with a control character.
fn check_printable(creds: &aws_credential_types::Credentials) -> Result<(), Error> {
    let fields = [
        ("access key id", Some(creds.access_key_id())),
        ("secret access key", Some(creds.secret_access_key())),
        ("session token", creds.session_token()),
    ];
    match fields
        .into_iter()
        .find(|(_, v)| v.is_some_and(|v| !keys::printable(v)))
    {
        None => Ok(()),
        Some((field, _)) => Err(Error::new(format!(
            "the AWS {field} found (in the environment or a profile) holds a character \
             that is not printable ASCII; copy the key again"
        ))),
    }
}

async fn check_credentials(config: &SdkConfig, profile: Option<&str>) -> Result<(), Error> {
    let Some(provider) = config.credentials_provider() else {
        return Err(no_credentials(None, profile));
    };
    let profile = profile
        .map(str::to_owned)
        .or_else(|| std::env::var("AWS_PROFILE").ok());
    // A provider may itself call out (SSO, a profile's role): bound it too.
    let provided = tokio::time::timeout(timeouts().call, provider.provide_credentials()).await;
    match provided {
        Ok(Ok(creds)) => check_printable(&creds),
        // None found, or a provider was configured but failed (a
        // profile's credential_process, SSO): `no_credentials` tells which.
        Ok(Err(e)) => Err(no_credentials(Some(e), profile.as_deref())),
        Err(_) => Err(Error::new(format!(
            "loading the AWS credentials took over {}s (a credential_process or SSO \
             that does not answer?); check the profile",
            timeouts().call.as_secs()
        ))),
    }
}

/// An S3 client signing with `credential` (a served one, for `verify`),
/// its region and endpoint from the environment, the profile or
/// `endpoint_url`, as the server's own are found.
pub async fn s3_client_for(
    credential: &crate::credential::Credential,
    endpoint_url: Option<String>,
) -> Result<aws_sdk_s3::Client, Error> {
    let options = AwsOptions {
        credentials: KeySource::Keys(Keys {
            access_key_id: credential.access_key_id.clone(),
            secret_access_key: credential.secret_access_key.clone(),
            session_token: Some(credential.session_token.clone()),
        }),
        endpoint_url,
        ..AwsOptions::default()
    };
    Ok(s3_client(&load_config(&options).await?))
}

/// The S3 client the gateway forwards a scope's calls with: the server's
/// region and endpoint, signing with `credentials` (a scope's STS
/// credential), or with the server's own keys when `None`. Bodies stream
/// for as long as they take, so only connecting is timed; the client
/// retries itself, so the gateway does not; checksums are added only where
/// S3 requires one (the client's own pass through, checked upstream).
pub(crate) fn gateway_client(
    aws: &Aws,
    credentials: Option<aws_sdk_s3::config::SharedCredentialsProvider>,
) -> aws_sdk_s3::Client {
    use aws_sdk_s3::config::{
        IdentityCache, RequestChecksumCalculation, ResponseChecksumValidation,
        StalledStreamProtectionConfig,
    };
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(timeouts().connect)
        .build();
    let mut s3 = aws_sdk_s3::config::Builder::from(&aws.config)
        .timeout_config(timeouts)
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .stalled_stream_protection(StalledStreamProtectionConfig::disabled())
        .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
        .response_checksum_validation(ResponseChecksumValidation::WhenRequired);
    if let Some(credentials) = credentials {
        // The provider is a cache that renews ahead: the SDK asks it on
        // every call rather than keep a credential until its last seconds.
        s3 = (s3.credentials_provider(credentials)).identity_cache(IdentityCache::no_cache());
    }
    if s3_endpoint_overridden(&aws.config) {
        s3 = s3.force_path_style(true);
    }
    aws_sdk_s3::Client::from_conf(s3.build())
}

/// Checks each of `scope`'s buckets with the server's own keys (HeadBucket):
/// startup's step 2 for a scope that makes no STS call.
pub(crate) async fn check_buckets(aws: &Aws, scope: &crate::scope::Scope) -> Result<(), Error> {
    for bucket in &scope.grant.buckets {
        minter::check_bucket(&aws.s3, &aws.config, bucket).await?;
    }
    Ok(())
}

/// The S3 endpoint the SDKs would send `profile`'s calls to: the
/// environment's (`AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`), the
/// profile's `services` section's for s3, or its `endpoint_url`; `None`:
/// AWS's. Read by the SDK's own loader, with no credential looked up.
pub(crate) async fn profile_s3_endpoint(profile: &str) -> Option<String> {
    let unused = aws_credential_types::Credentials::new("-", "-", None, None, "doctor");
    let config = aws_config::defaults(BehaviorVersion::latest())
        .profile_name(profile)
        .region(Region::from_static("us-east-1"))
        .credentials_provider(unused)
        .load()
        .await;
    s3_endpoint(&config)
}

fn s3_client(config: &SdkConfig) -> aws_sdk_s3::Client {
    let mut s3 = aws_sdk_s3::config::Builder::from(config);
    // A custom endpoint (moto, MinIO, Ceph, `localhost`) rarely has
    // per-bucket DNS names, wherever it was set.
    if s3_endpoint_overridden(config) {
        s3 = s3.force_path_style(true);
    }
    aws_sdk_s3::Client::from_conf(s3.build())
}

/// Whether S3's endpoint is not AWS's: `--endpoint-url`, `AWS_ENDPOINT_URL`
/// or `AWS_ENDPOINT_URL_S3`, or a profile's `endpoint_url` (its own, or its
/// `services` section's for s3), as the SDK's configured endpoints read them.
fn s3_endpoint_overridden(config: &SdkConfig) -> bool {
    s3_endpoint(config).is_some()
}

/// S3's configured endpoint in `config`: its own for s3
/// (`AWS_ENDPOINT_URL_S3`, a profile's `services` section), else the one
/// for every service; `None`: AWS's.
fn s3_endpoint(config: &SdkConfig) -> Option<String> {
    use aws_types::service_config::ServiceConfigKey;
    let key = ServiceConfigKey::builder()
        .service_id("s3")
        .env("AWS_ENDPOINT_URL_S3")
        .profile("endpoint_url")
        .build()
        .ok();
    (key.and_then(|key| config.service_config()?.load_config(key)))
        .or_else(|| config.endpoint_url().map(str::to_owned))
}
