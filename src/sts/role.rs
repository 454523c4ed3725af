//! The original's role, `s3-credentials.AmazonS3FullAccess`: looked up,
//! or created as the original creates it (a trust policy for the account's
//! root, `MaxSessionDuration` 43200, `AmazonS3FullAccess` attached), once
//! per server. A role IAM has only just made is not assumable everywhere
//! at once (IAM is eventually consistent: AWS's IAM user guide, "Changes
//! that I make are not always immediately visible"), so one this server
//! made says so, and its first AssumeRole is retried for a while.

use super::explain::{failure, Service};
use super::trust;
use super::{DEFAULT_ROLE_NAME, S3_FULL_ACCESS};
use crate::Error;
use aws_config::SdkConfig;
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};
use std::time::{Duration, Instant};

/// How long AssumeRole's AccessDenied is retried after this server made
/// the role (or attached its policy): AWS's propagation is seconds.
pub(super) const NEW_ROLE_GRACE: Duration = Duration::from_secs(30);

/// The role to assume, and when this server made it (if it did).
#[derive(Debug, Clone)]
pub(super) struct DefaultRole {
    /// Its ARN, as IAM answered it.
    pub arn: String,
    /// When this server created it or attached its policy: AssumeRole's
    /// AccessDenied is retried until `NEW_ROLE_GRACE` after that.
    pub made: Option<Instant>,
}

/// Says, once per server, that AssumeRole waits for IAM.
pub(super) fn say_waiting(role_arn: &str) {
    static SAID: std::sync::Once = std::sync::Once::new();
    SAID.call_once(|| {
        crate::log::say(&format!(
            "Waiting for IAM to make the new role {role_arn} usable (up to {} s)...",
            NEW_ROLE_GRACE.as_secs()
        ))
    });
}

/// The IAM client, and where it sends its calls (for messages).
struct Iam {
    client: aws_sdk_iam::Client,
    endpoint: String,
}

impl Iam {
    /// An IAM failure while doing `what` to the default role, saying which
    /// permission it takes and how to do without it.
    fn failed<E>(&self, what: &str, permission: &str, err: SdkError<E>) -> Error
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
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

pub(super) async fn ensure_default_role(
    config: &SdkConfig,
    account: &str,
) -> Result<DefaultRole, Error> {
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
        Ok(out) => Ok(DefaultRole {
            arn: arn(out.role()),
            made: None,
        }),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_no_such_entity_exception()) =>
        {
            create_default_role(&iam, account).await
        }
        Err(e) => Err(iam.failed("look up", "iam:GetRole", e)),
    }
}

/// Makes the original's role `s3-credentials.AmazonS3FullAccess` in
/// `account`, as the original does: a trust policy for the account's root
/// (which allows attribution's actions too: `trust::default_trust`),
/// `MaxSessionDuration` 43200 s, the managed `AmazonS3FullAccess` attached.
/// A role another server made meanwhile is taken as it is.
async fn create_default_role(iam: &Iam, account: &str) -> Result<DefaultRole, Error> {
    let trust = trust::default_trust(account);
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
            // Made a moment ago: it may not be assumable yet either.
            return out
                .map(|out| DefaultRole {
                    arn: arn(out.role()),
                    made: Some(Instant::now()),
                })
                .map_err(|e| iam.failed("look up", "iam:GetRole", e));
        }
        Err(e) => return Err(iam.failed("create", "iam:CreateRole", e)),
    };
    iam.client
        .attach_role_policy()
        .role_name(DEFAULT_ROLE_NAME)
        .policy_arn(S3_FULL_ACCESS)
        .send()
        .await
        .map_err(|e| iam.failed("attach AmazonS3FullAccess to", "iam:AttachRolePolicy", e))?;
    Ok(DefaultRole {
        arn,
        made: Some(Instant::now()),
    })
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
        let error = iam.failed("create", "iam:CreateRole", err).to_string();
        assert_eq!(
            error,
            "could not create role s3-credentials.AmazonS3FullAccess: AccessDenied: User: \
             arn:aws:iam::1:user/a is not authorized to perform: iam:CreateRole; the AWS \
             identity in use needs iam:CreateRole, or pass an existing role with --role-arn"
        );
    }
}
