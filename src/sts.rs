//! Minting: the AWS side of the server. Builds the AWS config, checks the
//! bucket, finds (or creates) the role once, and mints credentials with
//! `AssumeRole` and the session policy.

use crate::cli::AwsArgs;
use crate::duration::SessionDuration;
use crate::policy::Scope;
use crate::Error;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_sts::config::{ProvideCredentials, Region};
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};
use aws_types::service_config::ServiceConfigKey;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;
use time::OffsetDateTime;

/// The role the original creates and assumes when `--role-arn` is not given.
pub const DEFAULT_ROLE_NAME: &str = "s3-credentials.AmazonS3FullAccess";
const S3_FULL_ACCESS: &str = "arn:aws:iam::aws:policy/AmazonS3FullAccess";

/// How long a connection to an AWS endpoint may take to open.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// How long one attempt may take: a connection that stalled (Wi-Fi
/// changed, a VPN dropped) is given up and the call retried on a new one.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(8);
/// How long one AWS call may take, retries included.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(20);

/// One set of temporary credentials from STS.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    /// `AccessKeyId` (not secret).
    pub access_key_id: String,
    /// `SecretAccessKey` (secret).
    pub secret_access_key: String,
    /// `SessionToken` (secret).
    pub session_token: String,
    /// When STS says it stops working.
    pub expiration: OffsetDateTime,
}

// Hand-written so that a stray `{:?}` can never print a secret.
impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("access_key_id", &self.access_key_id)
            .field("expiration", &self.expiration)
            .finish_non_exhaustive()
    }
}

/// A boxed future, so that `Mint` can be used as a trait object.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Something that mints credentials: STS in production, a fake in tests.
pub trait Mint: Send + Sync + 'static {
    /// Mints one new credential (one STS call).
    fn mint(&self) -> BoxFuture<'_, Result<Credential, Error>>;
}

/// Loads the AWS config from the default chain and the command line, and
/// makes sure it holds credentials, so a missing one is reported up front.
pub async fn load_config(aws: &AwsArgs) -> Result<SdkConfig, Error> {
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(CALL_TIMEOUT)
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
    let mut config = loader.load().await;
    if config.region().is_none() {
        // STS and S3 both answer in us-east-1, as boto3 assumes too.
        config = config
            .into_builder()
            .region(Region::from_static("us-east-1"))
            .build();
    }
    check_credentials(&config).await?;
    Ok(config)
}

async fn check_credentials(config: &SdkConfig) -> Result<(), Error> {
    use aws_credential_types::provider::error::CredentialsError;
    let Some(provider) = config.credentials_provider() else {
        return Err(no_credentials(""));
    };
    // A provider may itself call out (SSO, a profile's role): bound it too.
    let provided = tokio::time::timeout(CALL_TIMEOUT, provider.provide_credentials()).await;
    match provided {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(CredentialsError::CredentialsNotLoaded(_))) => Err(no_credentials("")),
        // A provider was configured but failed (a profile's
        // credential_process, SSO): its own words say why.
        Ok(Err(e)) => Err(no_credentials(&format!(" ({})", crate::error::chain(&e)))),
        Err(_) => Err(no_credentials(&format!(
            " (loading them took over {}s)",
            CALL_TIMEOUT.as_secs()
        ))),
    }
}

fn no_credentials(detail: &str) -> Error {
    Error::new(format!(
        "no AWS credentials found{detail}. Set AWS_ACCESS_KEY_ID and \
         AWS_SECRET_ACCESS_KEY, pick a profile with --profile NAME, or run `aws configure`"
    ))
}

/// Mints credentials for one scope with `AssumeRole`.
pub struct Minter {
    sts: aws_sdk_sts::Client,
    /// "STS at URL", for messages.
    sts_endpoint: String,
    role_arn: String,
    session_name: String,
    policy: String,
    duration: SessionDuration,
}

impl Minter {
    /// Startup steps 2 and 3: check the bucket, then settle the role
    /// (`--role-arn`, or the original's role, created if missing). Done once.
    pub async fn prepare(
        config: &SdkConfig,
        scope: &Scope,
        role_arn: Option<&str>,
        duration: SessionDuration,
    ) -> Result<Minter, Error> {
        check_bucket(config, &scope.bucket).await?;
        let sts = aws_sdk_sts::Client::new(config);
        let role_arn = match role_arn {
            Some(arn) => arn.to_owned(),
            None => ensure_default_role(config, &sts).await?,
        };
        Ok(Minter {
            sts,
            sts_endpoint: Service::Sts.endpoint(config),
            role_arn,
            session_name: scope.session_name(),
            policy: scope.policy_compact(),
            duration,
        })
    }

    async fn assume_role(&self) -> Result<Credential, Error> {
        let out = self
            .sts
            .assume_role()
            .role_arn(&self.role_arn)
            .role_session_name(&self.session_name)
            .policy(&self.policy)
            .duration_seconds(self.duration.secs() as i32)
            .send()
            .await
            .map_err(|e| {
                assume_role_error(&e, &self.role_arn, &self.sts_endpoint, self.duration)
            })?;
        let c = out
            .credentials()
            .ok_or_else(|| Error::new("AssumeRole answered without credentials"))?;
        let expiration = OffsetDateTime::from_unix_timestamp_nanos(c.expiration().as_nanos())
            .map_err(|_| Error::new("AssumeRole answered with an impossible Expiration"))?;
        Ok(Credential {
            access_key_id: c.access_key_id().to_owned(),
            secret_access_key: c.secret_access_key().to_owned(),
            session_token: c.session_token().to_owned(),
            expiration,
        })
    }
}

impl Mint for Minter {
    fn mint(&self) -> BoxFuture<'_, Result<Credential, Error>> {
        Box::pin(self.assume_role())
    }
}

async fn check_bucket(config: &SdkConfig, bucket: &str) -> Result<(), Error> {
    let mut s3 = aws_sdk_s3::config::Builder::from(config);
    // A custom endpoint (moto, MinIO, Ceph) rarely has per-bucket DNS names.
    if config.endpoint_url().is_some() {
        s3 = s3.force_path_style(true);
    }
    let s3 = aws_sdk_s3::Client::from_conf(s3.build());
    let Err(err) = s3.head_bucket().bucket(bucket).send().await else {
        return Ok(());
    };
    match http_status(&err) {
        Some(404) => Err(Error::new(format!("Bucket does not exist: {bucket}"))),
        Some(403) => Err(Error::new(format!(
            "Access denied to bucket {bucket}: the AWS identity in use may not read it"
        ))),
        _ => Err(Error::new(format!(
            "could not check bucket {bucket}: {}",
            describe(&err, &Service::S3.endpoint(config))
        ))),
    }
}

async fn ensure_default_role(
    config: &SdkConfig,
    sts: &aws_sdk_sts::Client,
) -> Result<String, Error> {
    let who = sts.get_caller_identity().send().await.map_err(|e| {
        let at = Service::Sts.endpoint(config);
        Error::new(format!("GetCallerIdentity failed: {}", describe(&e, &at)))
    })?;
    let account = who.account().unwrap_or_default();
    let iam = Iam {
        client: aws_sdk_iam::Client::new(config),
        endpoint: Service::Iam.endpoint(config),
    };
    match iam
        .client
        .get_role()
        .role_name(DEFAULT_ROLE_NAME)
        .send()
        .await
    {
        Ok(out) => Ok(arn(out.role())),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_no_such_entity_exception()) =>
        {
            create_default_role(&iam, account).await
        }
        Err(e) => Err(Error::new(format!(
            "could not look up role {DEFAULT_ROLE_NAME}: {}; pass an existing role with --role-arn",
            describe(&e, &iam.endpoint)
        ))),
    }
}

/// The IAM client, and where it sends its calls (for messages).
struct Iam {
    client: aws_sdk_iam::Client,
    endpoint: String,
}

async fn create_default_role(iam: &Iam, account: &str) -> Result<String, Error> {
    let trust = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"AWS": format!("arn:aws:iam::{account}:root")},
            "Action": "sts:AssumeRole",
        }],
    });
    let fail = |what: &str, e: String| {
        Error::new(format!(
            "could not {what} role {DEFAULT_ROLE_NAME}: {e}; pass an existing role with --role-arn"
        ))
    };
    let created = iam
        .client
        .create_role()
        .role_name(DEFAULT_ROLE_NAME)
        .description(
            "Role used by the s3-credentials tool to create time-limited credentials \
             that are restricted to specific buckets",
        )
        .assume_role_policy_document(trust.to_string())
        .max_session_duration(crate::duration::MAX_SECS as i32)
        .send()
        .await;
    let arn = match created {
        Ok(out) => arn(out.role()),
        // Another server created it a moment ago: use theirs.
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_entity_already_exists_exception()) =>
        {
            return role_arn(iam).await.map_err(|e| fail("look up", e));
        }
        Err(e) => return Err(fail("create", describe(&e, &iam.endpoint))),
    };
    iam.client
        .attach_role_policy()
        .role_name(DEFAULT_ROLE_NAME)
        .policy_arn(S3_FULL_ACCESS)
        .send()
        .await
        .map_err(|e| fail("attach AmazonS3FullAccess to", describe(&e, &iam.endpoint)))?;
    Ok(arn)
}

async fn role_arn(iam: &Iam) -> Result<String, String> {
    let out = iam
        .client
        .get_role()
        .role_name(DEFAULT_ROLE_NAME)
        .send()
        .await
        .map_err(|e| describe(&e, &iam.endpoint))?;
    Ok(arn(out.role()))
}

/// A role's ARN as IAM answered it.
fn arn(role: Option<&aws_sdk_iam::types::Role>) -> String {
    role.map(|r| r.arn().to_owned()).unwrap_or_default()
}

fn assume_role_error<E>(
    err: &SdkError<E>,
    role_arn: &str,
    endpoint: &str,
    duration: SessionDuration,
) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let about_duration = err.message().is_some_and(|m| m.contains("DurationSeconds"));
    let hint = match (err.code(), http_status(err)) {
        (Some("PackedPolicyTooLarge"), _) => {
            "the session policy is too large: use fewer or shorter --statement values".to_owned()
        }
        (Some("MalformedPolicyDocument"), _) => {
            "STS refused the session policy: check the --statement values".to_owned()
        }
        (Some("AccessDenied"), _) => {
            "the AWS identity in use may not assume this role (see its trust policy)".to_owned()
        }
        // AWS says ValidationError about DurationSeconds; Ceph says nothing.
        (Some("ValidationError"), _) if about_duration => duration_hint(duration),
        (None, Some(400)) => format!(
            "{}, or a --statement may be one STS cannot parse",
            duration_hint(duration)
        ),
        _ => String::new(),
    };
    let detail = describe(err, endpoint);
    match hint.is_empty() {
        true => Error::new(format!("AssumeRole of {role_arn} failed: {detail}")),
        false => Error::new(format!("AssumeRole of {role_arn} failed: {detail}; {hint}")),
    }
}

fn duration_hint(duration: SessionDuration) -> String {
    format!(
        "--duration {duration}s may be longer than the role's MaxSessionDuration \
         (a new role's default is 1 hour): use a shorter \
         --duration or raise the role's limit"
    )
}

/// An AWS service, as messages name it.
#[derive(Clone, Copy)]
enum Service {
    S3,
    Sts,
    Iam,
}

impl Service {
    fn id(self) -> &'static str {
        match self {
            Service::S3 => "S3",
            Service::Sts => "STS",
            Service::Iam => "IAM",
        }
    }

    /// `S3 at URL`: where the SDK sends this service's calls, in its order:
    /// `--endpoint-url`, `AWS_ENDPOINT_URL_<SERVICE>` (or the profile's
    /// `endpoint_url`), `AWS_ENDPOINT_URL`, else AWS's own endpoint.
    fn endpoint(self, config: &SdkConfig) -> String {
        let chosen = config.get_origin("endpoint_url").is_client_config();
        let own = || {
            let key = ServiceConfigKey::builder()
                .service_id(self.id())
                .env("AWS_ENDPOINT_URL")
                .profile("endpoint_url")
                .build()
                .ok()?;
            config.service_config()?.load_config(key)
        };
        let url = match chosen {
            true => config.endpoint_url().map(str::to_owned),
            false => own().or_else(|| config.endpoint_url().map(str::to_owned)),
        };
        let url = url.unwrap_or_else(|| {
            let region = config.region().map_or("us-east-1", |r| r.as_ref());
            match self {
                Service::Iam => "https://iam.amazonaws.com".to_owned(),
                _ => format!(
                    "https://{}.{region}.amazonaws.com",
                    self.id().to_lowercase()
                ),
            }
        });
        format!("{} at {url}", self.id())
    }
}

fn http_status<E>(err: &SdkError<E>) -> Option<u16> {
    err.raw_response().map(|r| r.status().as_u16())
}

/// One line for an SDK error from the service at `endpoint`: `Code:
/// message`, or what went wrong on the way there.
fn describe<E>(err: &SdkError<E>, endpoint: &str) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match err {
        SdkError::TimeoutError(_) => {
            return format!(
                "{endpoint} did not answer within {}s; check the network, or --endpoint-url",
                CALL_TIMEOUT.as_secs()
            )
        }
        SdkError::DispatchFailure(failure) if failure.is_timeout() => {
            return format!(
                "could not connect to {endpoint} within {}s; check the network, or --endpoint-url",
                CONNECT_TIMEOUT.as_secs()
            )
        }
        SdkError::DispatchFailure(_) => {
            return format!(
                "could not reach {endpoint} ({})",
                crate::error::root_cause(err)
            )
        }
        _ => {}
    }
    match (err.code(), err.message()) {
        (Some(code), Some(msg)) => format!("{code}: {msg}"),
        (Some(code), None) => code.to_owned(),
        (None, Some(msg)) => msg.to_owned(),
        (None, None) => match http_status(err) {
            Some(status) => format!("HTTP {status} with no error code"),
            None => crate::error::chain(err),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sts::error::ErrorMetadata;
    use aws_sdk_sts::operation::assume_role::AssumeRoleError;
    use aws_smithy_runtime_api::http::Response;
    use aws_smithy_types::body::SdkBody;

    fn failed(status: u16, code: Option<&str>, message: Option<&str>) -> String {
        let mut meta = ErrorMetadata::builder();
        if let Some(code) = code {
            meta = meta.code(code);
        }
        if let Some(message) = message {
            meta = meta.message(message);
        }
        let raw = Response::new(status.try_into().unwrap(), SdkBody::empty());
        let err = SdkError::service_error(AssumeRoleError::generic(meta.build()), raw);
        let duration = SessionDuration::from_secs(7200).unwrap();
        assume_role_error(&err, "arn:aws:iam::1:role/r", "STS at x", duration).to_string()
    }

    #[test]
    fn a_stalled_or_unreachable_endpoint_is_named() {
        let at = "STS at http://127.0.0.1:9";
        let stalled: SdkError<AssumeRoleError> = SdkError::timeout_error("no answer");
        assert_eq!(
            describe(&stalled, at),
            "STS at http://127.0.0.1:9 did not answer within 20s; check the network, or --endpoint-url"
        );
    }

    #[test]
    fn aws_refusing_the_duration_names_max_session_duration() {
        let message =
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.";
        let error = failed(400, Some("ValidationError"), Some(message));
        assert!(
            error.starts_with(
                "AssumeRole of arn:aws:iam::1:role/r failed: ValidationError: The requested"
            ),
            "{error}"
        );
        assert!(
            error.contains("--duration 7200s may be longer than the role's MaxSessionDuration"),
            "{error}"
        );
        assert!(!error.contains("--statement"), "{error}");
    }

    #[test]
    fn a_codeless_400_names_both_likely_causes() {
        let error = failed(400, None, None);
        assert!(error.contains("HTTP 400 with no error code"), "{error}");
        assert!(
            error.contains("MaxSessionDuration") && error.contains("--statement"),
            "{error}"
        );
    }

    #[test]
    fn policy_and_permission_errors_say_what_to_change() {
        let error = failed(400, Some("PackedPolicyTooLarge"), Some("too big"));
        assert!(
            error.ends_with("use fewer or shorter --statement values"),
            "{error}"
        );
        let error = failed(403, Some("AccessDenied"), Some("not authorized"));
        assert!(error.contains("may not assume this role"), "{error}");
        let error = failed(500, Some("InternalFailure"), Some("oops"));
        assert_eq!(
            error,
            "AssumeRole of arn:aws:iam::1:role/r failed: InternalFailure: oops"
        );
    }
}
