//! How AWS failures read: one line, built from each cause's `Display`
//! (never `Debug`), naming the endpoint or the permission at fault, and
//! saying what to do. A newcomer's first error should be their last.

use super::{timeouts, trust};
use crate::duration::SessionDuration;
use crate::error::{chain, find, root_cause};
use crate::policy::MAX_POLICY_CHARS;
use crate::Error;
use aws_config::imds::client::error::ImdsError;
use aws_config::SdkConfig;
use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_s3::operation::head_bucket::HeadBucketError;
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sts::operation::assume_role::AssumeRoleError;
use aws_types::service_config::ServiceConfigKey;

/// At most this much of a cause is quoted before the advice.
const MAX_DETAIL: usize = 200;
/// What AWS says when a session assumed from an assumed role (role
/// chaining) asks for more than an hour.
const CHAINING: &str = "role chaining";

/// An AWS service, as messages name it.
#[derive(Clone, Copy)]
pub(super) enum Service {
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
    pub(super) fn endpoint(self, config: &SdkConfig) -> String {
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

/// The error for a failed call to the service at `endpoint`: a failure to
/// get there reads as such; an answer from the service is put in
/// `context`, with what to do about the common ones. The SDK error is kept
/// as its source, for `chain`.
pub(super) fn failure<E>(
    err: SdkError<E>,
    endpoint: &str,
    context: impl FnOnce(String) -> String,
) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    Error::caused(said(&err, endpoint, context), err)
}

/// `failure`'s one line.
fn said<E>(err: &SdkError<E>, endpoint: &str, context: impl FnOnce(String) -> String) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    if let Some(unreached) = unreached(err, endpoint) {
        return unreached;
    }
    let detail = answered(err);
    match hint(err.code()) {
        Some(hint) => format!("{}; {hint}", context(detail)),
        None => context(detail),
    }
}

/// A call that never got an answer: credentials that could not be
/// loaded to sign it, a timeout, a refused connection, a name that does
/// not resolve. Each is told by the SDK's own types where it has them.
fn unreached<E>(err: &SdkError<E>, endpoint: &str) -> Option<String>
where
    E: std::error::Error + 'static,
{
    // A provider failing (an SSO login that lapsed while the server ran)
    // fails the call before anything is sent: the SDK reports a dispatch
    // failure with the provider's `CredentialsError` inside.
    if let Some(creds) = find::<CredentialsError>(err) {
        return Some(format!(
            "could not load the AWS credentials in use to call {endpoint} ({}); refresh \
             them (aws sso login --profile NAME, or new keys)",
            root_cause(creds)
        ));
    }
    let check = "check the network, or --endpoint-url";
    match err {
        SdkError::TimeoutError(_) => Some(format!(
            "{endpoint} did not answer within {}s; {check}",
            timeouts().call.as_secs()
        )),
        SdkError::DispatchFailure(f) if f.is_timeout() => Some(format!(
            "could not connect to {endpoint} within {}s; {check}",
            timeouts().connect.as_secs_f64()
        )),
        SdkError::DispatchFailure(f) => {
            let cause = root_cause(err);
            // No type says "the name does not resolve": hyper-util's
            // ConnectError ("dns error") is private, and std's getaddrinfo
            // failure an uncategorized io::Error. Only their words tell.
            let lower = cause.to_lowercase();
            if f.is_io() && (lower.contains("lookup address") || lower.contains("dns")) {
                Some(format!(
                    "could not reach {endpoint}: its host name does not resolve; \
                     check --region, --endpoint-url and the network"
                ))
            } else {
                Some(format!("could not reach {endpoint} ({cause})"))
            }
        }
        _ => None,
    }
}

/// One line for the service's answer: `Code: message`.
fn answered<E>(err: &SdkError<E>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match (err.code(), err.message()) {
        (Some(code), Some(msg)) => format!("{code}: {}", one_line(msg)),
        (Some(code), None) => code.to_owned(),
        (None, Some(msg)) => one_line(msg),
        (None, None) => match http_status(err) {
            Some(status) => format!("HTTP {status} with no error code"),
            None => short(&chain(err)),
        },
    }
}

/// What to do about the errors any call can get, told by the code: no
/// service models these (AssumeRole's `ExpiredTokenException`, the one
/// modeled, carries its code as well).
fn hint(code: Option<&str>) -> Option<&'static str> {
    Some(match code? {
        "InvalidClientTokenId" | "InvalidAccessKeyId" | "UnrecognizedClientException" => {
            "the AWS access key in use does not exist: check AWS_ACCESS_KEY_ID, \
             the profile's keys, or run aws configure"
        }
        "SignatureDoesNotMatch" => {
            "the AWS secret key does not match its access key: check AWS_SECRET_ACCESS_KEY \
             or the profile's keys"
        }
        "ExpiredToken" | "ExpiredTokenException" | "TokenRefreshRequired" => {
            "the AWS credentials in use have expired: refresh them (aws sso login \
             --profile NAME, or new keys) and start again"
        }
        _ => return None,
    })
}

/// Whether an error code says the credentials themselves are refused.
pub(super) fn about_credentials(code: Option<&str>) -> bool {
    hint(code).is_some()
}

/// The HTTP status of the answer, if there was one.
pub(super) fn http_status<E>(err: &SdkError<E>) -> Option<u16> {
    err.raw_response().map(|r| r.status().as_u16())
}

/// No credentials for the server itself: why, if a configured provider
/// said (an SSO login that expired), and how to provide them. The
/// provider's error is kept as the source.
pub(super) fn no_credentials(err: Option<CredentialsError>, profile: Option<&str>) -> Error {
    let advice = "Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, pick a profile with \
                  --profile NAME, or run aws configure";
    let nothing = format!("no AWS credentials found. {advice}");
    let Some(err) = err else {
        return Error::new(nothing);
    };
    let detail = chain(&err);
    let profile = profile.unwrap_or("default");
    let message = match &err {
        // No provider of the chain found any: nothing is configured.
        CredentialsError::CredentialsNotLoaded(_) => nothing,
        // aws-config's SSO errors are private types (its token provider's):
        // only their words say SSO.
        _ if detail.contains("SSO") => format!(
            "the SSO login of profile {profile} has expired or is missing ({}); \
             run: aws sso login --profile {profile}",
            short(&detail)
        ),
        // The chain's last resort is EC2's metadata service: on a laptop its
        // failure only means "nothing else was configured".
        _ if find::<ImdsError>(&err).is_some() => nothing,
        _ => format!("no AWS credentials found ({}). {advice}", short(&detail)),
    };
    Error::caused(message, err)
}

/// `--duration` above an hour when the server's own identity is an assumed
/// role (SSO users, profiles with role_arn): AWS refuses it, so say so
/// before asking.
pub(super) fn role_chaining(identity_arn: &str, duration: SessionDuration) -> Option<Error> {
    (identity_arn.contains(":assumed-role/") && duration.secs() > 3600).then(|| {
        Error::new(format!(
            "--duration {duration}s is over 1 hour, but your AWS identity ({identity_arn}) \
             is itself an assumed role, and AWS caps sessions assumed from one (role chaining) \
             at 1 hour: use --duration 1h or less"
        ))
    })
}

/// What to do about a policy STS finds too large.
const POLICY_ADVICE: &str = "give this scope fewer buckets or statements (--statement), serve \
     one scope per bucket (--config), or pass --role-arn with a role whose own policy grants \
     the access";

/// A session policy (of `size` characters, compact) over STS's limit, said
/// before STS is asked.
pub(super) fn policy_size(grant: &crate::policy::Grant, size: usize) -> Result<(), Error> {
    if size <= MAX_POLICY_CHARS {
        return Ok(());
    }
    let mut buckets: Vec<String> = grant
        .buckets
        .iter()
        .take(3)
        .map(|b| format!("'{b}'"))
        .collect();
    if grant.buckets.len() > 3 {
        buckets.push(format!("and {} more buckets", grant.buckets.len() - 3));
    }
    Err(Error::new(format!(
        "the session policy for {} is {size} characters, over STS's limit of \
         {MAX_POLICY_CHARS}: {POLICY_ADVICE}",
        buckets.join(", ")
    )))
}

/// The root user's keys: AWS lets no root user assume a role, so say so
/// before any IAM call (its ARN is `arn:aws:iam::ACCOUNT:root`).
pub(super) fn refuse_root(identity_arn: &str, account: &str) -> Result<(), Error> {
    match identity_arn.ends_with(":root") {
        false => Ok(()),
        true => Err(Error::new(format!(
            "these are the root user's keys of AWS account {account}, and AWS lets no root \
             user assume a role: use an IAM user's keys, a role (a profile with role_arn), \
             or SSO (aws configure sso)"
        ))),
    }
}

/// AssumeRole's failure, with what to change, told by the SDK's modeled
/// errors where it has them, else by the code; the SDK error is kept as
/// the source.
pub(super) fn assume_role_error(
    err: SdkError<AssumeRoleError>,
    role_arn: &str,
    endpoint: &str,
    duration: SessionDuration,
) -> Error {
    let message = err.message().unwrap_or_default();
    let hint = match (err.as_service_error(), err.code()) {
        (Some(AssumeRoleError::PackedPolicyTooLargeException(_)), _) => {
            format!("the session policy is too large for STS once packed: {POLICY_ADVICE}")
        }
        (Some(AssumeRoleError::MalformedPolicyDocumentException(_)), _) => {
            "STS refused the session policy: check the --statement values".to_owned()
        }
        // ValidationError is no modeled error of AssumeRole's, and only its
        // words tell role chaining from MaxSessionDuration.
        (_, Some("ValidationError")) if message.contains(CHAINING) => format!(
            "your AWS identity is itself an assumed role, and AWS caps sessions assumed \
             from one (role chaining) at 1 hour: use --duration 1h or less \
             (it was {duration}s)"
        ),
        (_, Some("AccessDenied")) if trust::refuses_attribution(message) => {
            trust::ADVICE.to_owned()
        }
        (_, Some("AccessDenied")) => "the AWS identity in use may not assume this role: it \
             needs sts:AssumeRole on it, and the role's trust policy must allow it"
            .to_owned(),
        // AWS says ValidationError about DurationSeconds; Ceph says nothing.
        (_, Some("ValidationError")) if message.contains("DurationSeconds") => {
            duration_hint(duration)
        }
        (_, None) if http_status(&err) == Some(400) => format!(
            "{}, or a --statement may be one STS cannot parse",
            duration_hint(duration)
        ),
        _ => String::new(),
    };
    let failed = said(&err, endpoint, |detail| {
        format!("AssumeRole of {role_arn} failed: {detail}")
    });
    match hint.is_empty() {
        true => Error::caused(failed, err),
        false => Error::caused(format!("{failed}; {hint}"), err),
    }
}

/// HeadBucket's failure: S3's modeled `NotFound` (a 404, which has no
/// body to say more), a bare 403, or else as any call's.
pub(super) fn bucket_error(err: SdkError<HeadBucketError>, bucket: &str, endpoint: &str) -> Error {
    if err
        .as_service_error()
        .is_some_and(HeadBucketError::is_not_found)
    {
        // The original's words first; then where it was looked for.
        let message = format!(
            "Bucket does not exist: {bucket} (asked {endpoint}: check the name, \
             --endpoint-url and --region)"
        );
        return Error::caused(message, err);
    }
    if http_status(&err) == Some(403) {
        let message = format!(
            "Access denied to bucket {bucket}: the AWS identity in use needs s3:ListBucket on it"
        );
        return Error::caused(message, err);
    }
    failure(err, endpoint, |detail| {
        format!("could not check bucket {bucket}: {detail}")
    })
}

fn duration_hint(duration: SessionDuration) -> String {
    format!(
        "--duration {duration}s may be longer than the role's MaxSessionDuration \
         (a new role's default is 1 hour): use a shorter \
         --duration or raise the role's limit"
    )
}

fn one_line(text: &str) -> String {
    short(&crate::error::one_line(text))
}

/// At most `MAX_DETAIL` characters, cut at a word.
fn short(text: &str) -> String {
    if text.chars().count() <= MAX_DETAIL {
        return text.to_owned();
    }
    let cut: String = text.chars().take(MAX_DETAIL).collect();
    let cut = cut.rsplit_once(' ').map_or(cut.as_str(), |(head, _)| head);
    format!("{cut}...")
}

#[cfg(test)]
mod tests;
