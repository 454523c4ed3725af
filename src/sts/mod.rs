//! Minting: the AWS side of the server. Builds the AWS config and checks
//! who it is, checks the bucket, finds (or creates) the role once, and
//! mints credentials with `AssumeRole` and the session policy. How its
//! failures read is `explain`'s job.

mod explain;
mod keys;

pub use keys::{KeySource, Keys};

use crate::duration::SessionDuration;
use crate::scope::Scope;
use crate::Error;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_sts::config::{ProvideCredentials, Region};
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};
use explain::{assume_role_error, failure, http_status, no_credentials, Service};
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
pub(crate) const CALL_TIMEOUT: Duration = Duration::from_secs(20);

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
    default_role: tokio::sync::OnceCell<String>,
}

impl Aws {
    /// The region in use.
    pub fn region(&self) -> Option<&str> {
        self.config.region().map(|r| r.as_ref())
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
    let config = load_config(aws).await?;
    check_credentials(&config, aws.profile.as_deref()).await?;
    let sts = aws_sdk_sts::Client::new(&config);
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
            return Err(failed(&e))
        }
        // Any other answer only means this STS lacks the call (Ceph's).
        Err(e) => Err(failed(&e)),
    };
    Ok(Aws {
        s3: s3_client(&config),
        sts,
        config,
        identity,
        default_role: tokio::sync::OnceCell::new(),
    })
}

async fn load_config(aws: &AwsOptions) -> Result<SdkConfig, Error> {
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
    use aws_credential_types::provider::error::CredentialsError;
    let Some(provider) = config.credentials_provider() else {
        return Err(no_credentials(None, profile));
    };
    let profile = profile
        .map(str::to_owned)
        .or_else(|| std::env::var("AWS_PROFILE").ok());
    // A provider may itself call out (SSO, a profile's role): bound it too.
    let provided = tokio::time::timeout(CALL_TIMEOUT, provider.provide_credentials()).await;
    match provided {
        Ok(Ok(creds)) => check_printable(&creds),
        Ok(Err(CredentialsError::CredentialsNotLoaded(_))) => {
            Err(no_credentials(None, profile.as_deref()))
        }
        // A provider was configured but failed (a profile's
        // credential_process, SSO): its own words say why.
        Ok(Err(e)) => Err(no_credentials(Some(&e), profile.as_deref())),
        Err(_) => Err(Error::new(format!(
            "loading the AWS credentials took over {}s (a credential_process or SSO \
             that does not answer?); check the profile",
            CALL_TIMEOUT.as_secs()
        ))),
    }
}

/// Mints credentials for one scope with `AssumeRole`.
pub struct Minter {
    /// The scope's name, for metrics.
    scope: String,
    /// Whether a credential was minted already (the next is a renewal).
    minted: std::sync::atomic::AtomicBool,
    sts: aws_sdk_sts::Client,
    /// "STS at URL", for messages.
    sts_endpoint: String,
    role_arn: String,
    session_name: String,
    policy: String,
    duration: SessionDuration,
}

impl Minter {
    /// Startup steps 2 and 3 for one scope: a duration AWS would refuse
    /// (role chaining), its buckets, then its role (its own, or the
    /// original's, created if missing, once per server).
    pub async fn prepare(aws: &Aws, scope: &Scope) -> Result<Minter, Error> {
        if let Ok((identity_arn, _)) = &aws.identity {
            if let Some(refused) = explain::role_chaining(identity_arn, scope.duration) {
                return Err(refused);
            }
        }
        let config = &aws.config;
        for bucket in &scope.grant.buckets {
            check_bucket(&aws.s3, config, bucket).await?;
        }
        let role_arn = match (&scope.role_arn, &aws.identity) {
            (Some(arn), _) => arn.clone(),
            (None, Ok((_, account))) => aws
                .default_role
                .get_or_try_init(|| ensure_default_role(config, account))
                .await?
                .clone(),
            (None, Err(why)) => {
                return Err(Error::new(format!(
                    "{why}; pass an existing role with --role-arn"
                )))
            }
        };
        Ok(Minter {
            scope: scope.name.clone(),
            minted: std::sync::atomic::AtomicBool::new(false),
            sts: aws.sts.clone(),
            sts_endpoint: Service::Sts.endpoint(config),
            role_arn,
            session_name: scope.session_name.clone(),
            policy: scope.grant.policy_compact(),
            duration: scope.duration,
        })
    }

    /// One AssumeRole, counted and timed.
    async fn assume_role(&self) -> Result<Credential, Error> {
        let started = std::time::Instant::now();
        let minted = self.call_assume_role().await;
        let renewal =
            minted.is_ok() && self.minted.swap(true, std::sync::atomic::Ordering::Relaxed);
        crate::metrics::sts_call(&self.scope, minted.is_ok(), renewal, started.elapsed());
        minted
    }

    async fn call_assume_role(&self) -> Result<Credential, Error> {
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

fn s3_client(config: &SdkConfig) -> aws_sdk_s3::Client {
    let mut s3 = aws_sdk_s3::config::Builder::from(config);
    // A custom endpoint (moto, MinIO, Ceph) rarely has per-bucket DNS names.
    if config.endpoint_url().is_some() {
        s3 = s3.force_path_style(true);
    }
    aws_sdk_s3::Client::from_conf(s3.build())
}

async fn check_bucket(
    s3: &aws_sdk_s3::Client,
    config: &SdkConfig,
    bucket: &str,
) -> Result<(), Error> {
    let Err(err) = s3.head_bucket().bucket(bucket).send().await else {
        return Ok(());
    };
    match http_status(&err) {
        Some(404) => Err(Error::new(format!("Bucket does not exist: {bucket}"))),
        Some(403) => Err(Error::new(format!(
            "Access denied to bucket {bucket}: the AWS identity in use needs \
             s3:ListBucket on it"
        ))),
        _ => Err(failure(&err, &Service::S3.endpoint(config), |detail| {
            format!("could not check bucket {bucket}: {detail}")
        })),
    }
}

/// The IAM client, and where it sends its calls (for messages).
struct Iam {
    client: aws_sdk_iam::Client,
    endpoint: String,
}

impl Iam {
    /// An IAM failure while doing `what` to the default role, saying which
    /// permission it takes and how to do without it.
    fn failed<E>(&self, what: &str, permission: &str, err: &SdkError<E>) -> Error
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let denied = err.code() == Some("AccessDenied");
        failure(err, &self.endpoint, |detail| {
            let needs = match denied {
                true => format!("the AWS identity in use needs {permission}, or "),
                false => String::new(),
            };
            format!(
                "could not {what} role {DEFAULT_ROLE_NAME}: {detail}; {needs}pass an existing \
                 role with --role-arn"
            )
        })
    }
}

async fn ensure_default_role(config: &SdkConfig, account: &str) -> Result<String, Error> {
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
        Err(e) => Err(iam.failed("look up", "iam:GetRole", &e)),
    }
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
            let out = iam
                .client
                .get_role()
                .role_name(DEFAULT_ROLE_NAME)
                .send()
                .await;
            return out
                .map(|out| arn(out.role()))
                .map_err(|e| iam.failed("look up", "iam:GetRole", &e));
        }
        Err(e) => return Err(iam.failed("create", "iam:CreateRole", &e)),
    };
    iam.client
        .attach_role_policy()
        .role_name(DEFAULT_ROLE_NAME)
        .policy_arn(S3_FULL_ACCESS)
        .send()
        .await
        .map_err(|e| iam.failed("attach AmazonS3FullAccess to", "iam:AttachRolePolicy", &e))?;
    Ok(arn)
}

/// A role's ARN as IAM answered it.
fn arn(role: Option<&aws_sdk_iam::types::Role>) -> String {
    role.map(|r| r.arn().to_owned()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_iam::operation::create_role::CreateRoleError;
    use aws_smithy_runtime_api::http::Response;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;

    #[test]
    fn iam_access_denied_names_the_permission_and_the_way_around() {
        let iam = Iam {
            client: aws_sdk_iam::Client::from_conf(
                aws_sdk_iam::Config::builder()
                    .behavior_version_latest()
                    .build(),
            ),
            endpoint: "IAM at https://iam.amazonaws.com".into(),
        };
        let meta = ErrorMetadata::builder()
            .code("AccessDenied")
            .message("User: arn:aws:iam::1:user/a is not authorized to perform: iam:CreateRole")
            .build();
        let raw = Response::new(403.try_into().unwrap(), SdkBody::empty());
        let err = SdkError::service_error(CreateRoleError::generic(meta), raw);
        let error = iam.failed("create", "iam:CreateRole", &err).to_string();
        assert_eq!(
            error,
            "could not create role s3-credentials.AmazonS3FullAccess: AccessDenied: User: \
             arn:aws:iam::1:user/a is not authorized to perform: iam:CreateRole; the AWS \
             identity in use needs iam:CreateRole, or pass an existing role with --role-arn"
        );
    }
}
