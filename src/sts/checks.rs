//! What `doctor` asks of AWS: this machine's clock against STS's `Date`,
//! and, for each scope, what startup would refuse (a policy over STS's
//! size, role chaining, a duration over the role's `MaxSessionDuration`, a
//! missing bucket) or an attributed scope's first caller would meet (a
//! trust policy without attribution's actions), each found and said on
//! its own.

use super::{explain, trust};
use super::{load_config, minter::check_bucket, Aws, AwsOptions, DEFAULT_ROLE_NAME};
use crate::scope::Scope;
use crate::Error;
use aws_sdk_iam::operation::get_role::GetRoleError;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeDeserializationInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use std::sync::{Arc, Mutex};

/// One finding: fine, worth knowing, or what will fail (each with why).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Fine; what was seen.
    Ok(String),
    /// Works, but worth knowing.
    Warn(String),
    /// Will fail; why, and what to do.
    Fail(String),
}

/// Keeps the `Date` header of the response it sees.
#[derive(Debug, Clone, Default)]
struct DateOf(Arc<Mutex<Option<String>>>);

impl Intercept for DateOf {
    fn name(&self) -> &'static str {
        "s3-credentials doctor: STS's Date"
    }

    fn read_after_transmit(
        &self,
        context: &BeforeDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let date = context.response().headers().get("date").map(str::to_owned);
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = date;
        Ok(())
    }
}

/// STS's clock minus this machine's (positive: ours is behind), read from
/// the `Date` of a GetCallerIdentity answer, whatever it answered (a
/// request signed with a clock far off is refused, with a `Date` still).
/// SigV4 refuses a request more than 5 minutes off (the STS API
/// reference's `SignatureDoesNotMatch`/`RequestExpired`).
pub async fn clock_offset(options: &AwsOptions) -> Result<time::Duration, Error> {
    let config = load_config(options).await?;
    let date = DateOf::default();
    let sent = aws_sdk_sts::Client::new(&config)
        .get_caller_identity()
        .customize()
        .interceptor(date.clone())
        .send()
        .await;
    let now = time::OffsetDateTime::now_utc();
    let seen = date.0.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let Some(seen) = seen else {
        let why = "STS did not answer (no credentials to sign with, or unreachable)";
        return Err(match sent {
            Err(e) => Error::caused(why, e),
            Ok(_) => Error::new(why),
        });
    };
    let at =
        aws_smithy_types::DateTime::from_str(&seen, aws_smithy_types::date_time::Format::HttpDate)
            .map_err(|_| Error::new("STS's Date header is not an HTTP date"))?;
    let at = time::OffsetDateTime::from_unix_timestamp(at.secs())
        .map_err(|_| Error::new("STS's Date header is out of range"))?;
    Ok(at - now)
}

/// The scope's session policy against STS's size limit (no AWS call).
pub fn policy_size(scope: &Scope) -> Verdict {
    if signs_with_own_keys(scope) {
        return Verdict::Ok("none is sent: upstream = \"keys\", the gateway enforces it".into());
    }
    let policy = scope.grant.policy_compact();
    match explain::policy_size(&scope.grant, policy.len()) {
        Ok(()) => Verdict::Ok(format!(
            "{} of STS's {} characters",
            policy.len(),
            crate::policy::MAX_POLICY_CHARS
        )),
        Err(e) => Verdict::Fail(e.to_string()),
    }
}

/// What else startup would check of `scope` with AWS, each on its own.
pub async fn check_scope(aws: &Aws, scope: &Scope) -> Vec<(&'static str, Verdict)> {
    if signs_with_own_keys(scope) {
        let why = "upstream = \"keys\": the server's own keys sign, no STS or IAM call is made";
        return vec![
            ("upstream", Verdict::Ok(why.into())),
            ("buckets", buckets(aws, scope).await),
        ];
    }
    let chaining = match &aws.identity {
        Ok((arn, _)) => match explain::role_chaining(arn, scope.duration) {
            Some(e) => Verdict::Fail(e.to_string()),
            None => Verdict::Ok(format!("{}s is allowed for {arn}", scope.duration)),
        },
        Err(_) => Verdict::Warn("STS did not say who you are: role chaining not checked".into()),
    };
    let buckets = buckets(aws, scope).await;
    let role = RoleSeen::get(aws, scope).await;
    let mut found = vec![
        ("role chaining", chaining),
        ("duration", max_session(&role, scope)),
        ("buckets", buckets),
    ];
    if scope.attribute {
        found.push(("trust policy", trust_policy(&role)));
    }
    found
}

/// Whether the gateway signs `scope`'s calls with the server's own keys
/// (`upstream = "keys"`): no session policy, role or STS call applies.
fn signs_with_own_keys(scope: &Scope) -> bool {
    scope.serve == crate::scope::Serve::Gateway(crate::scope::Upstream::Keys)
}

/// The scope's buckets, checked as startup checks them: the first that
/// does not exist or is refused.
async fn buckets(aws: &Aws, scope: &Scope) -> Verdict {
    for bucket in &scope.grant.buckets {
        if let Err(e) = check_bucket(&aws.s3, &aws.config, bucket).await {
            return Verdict::Fail(e.to_string());
        }
    }
    let named: Vec<String> = scope
        .grant
        .buckets
        .iter()
        .map(|b| format!("'{b}'"))
        .collect();
    Verdict::Ok(format!("{} exist", named.join(", ")))
}

/// The role `scope` assumes, as IAM's GetRole answers it (`iam:GetRole`,
/// where allowed; the IAM API reference).
struct RoleSeen {
    /// Its name.
    name: String,
    /// The role; `None`: the default role, which startup makes, does not
    /// exist yet.
    role: Result<Option<aws_sdk_iam::types::Role>, String>,
}

impl RoleSeen {
    async fn get(aws: &Aws, scope: &Scope) -> RoleSeen {
        let name = match &scope.role_arn {
            Some(arn) => arn.rsplit('/').next().unwrap_or(arn).to_owned(),
            None => DEFAULT_ROLE_NAME.to_owned(),
        };
        let iam = aws_sdk_iam::Client::new(&aws.config);
        let role = match iam.get_role().role_name(&name).send().await {
            Ok(found) => Ok(found.role),
            Err(e)
                if scope.role_arn.is_none()
                    && e.as_service_error()
                        .is_some_and(GetRoleError::is_no_such_entity_exception) =>
            {
                Ok(None)
            }
            Err(e) => Err(aws_sdk_iam::error::ProvideErrorMetadata::code(&e)
                .unwrap_or("no answer")
                .to_owned()),
        };
        RoleSeen { name, role }
    }
}

/// The scope's duration against its role's `MaxSessionDuration`.
fn max_session(seen: &RoleSeen, scope: &Scope) -> Verdict {
    let name = &seen.name;
    let role = match &seen.role {
        Ok(Some(role)) => role,
        Ok(None) => {
            return Verdict::Ok(format!(
                "role {name} does not exist yet: startup makes it (MaxSessionDuration 12h)"
            ))
        }
        Err(code) => {
            return Verdict::Warn(format!(
                "cannot read role {name} ({code}): its MaxSessionDuration is not checked"
            ))
        }
    };
    let max = role.max_session_duration.unwrap_or(3600);
    let wanted = scope.duration.secs();
    match wanted <= max as u32 {
        true => Verdict::Ok(format!(
            "{wanted}s is within role {name}'s MaxSessionDuration of {max}s"
        )),
        false => Verdict::Fail(format!(
            "the duration {wanted}s is over role {name}'s MaxSessionDuration of {max}s: lower \
             the duration, or raise the role's: aws iam update-role --role-name {name} \
             --max-session-duration {wanted}"
        )),
    }
}

/// For an attributed scope: whether its role's trust policy allows
/// `sts:SetSourceIdentity` and `sts:TagSession`, without which each
/// caller's AssumeRole is AccessDenied.
fn trust_policy(seen: &RoleSeen) -> Verdict {
    let name = &seen.name;
    let document = match &seen.role {
        Ok(Some(role)) => role.assume_role_policy_document().unwrap_or_default(),
        Ok(None) => {
            return Verdict::Ok(format!(
                "role {name} does not exist yet: startup makes it with a trust policy that \
                 allows sts:SetSourceIdentity and sts:TagSession"
            ))
        }
        Err(code) => {
            return Verdict::Warn(format!(
                "cannot read role {name} ({code}): its trust policy is not checked"
            ))
        }
    };
    match trust::missing(document) {
        Ok(missing) if missing.is_empty() => Verdict::Ok(format!(
            "role {name}'s trust policy allows sts:SetSourceIdentity and sts:TagSession"
        )),
        Ok(missing) => Verdict::Fail(format!(
            "role {name}'s trust policy does not allow {}: {}",
            missing.join(" or "),
            trust::ADVICE
        )),
        Err(why) => Verdict::Warn(format!(
            "cannot read role {name}'s trust policy ({why}): it is not checked"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sts::canned;

    #[tokio::test]
    async fn a_clock_not_checked_keeps_why() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", closed.local_addr().unwrap());
        drop(closed);
        let error = clock_offset(&AwsOptions::test_at(&url)).await.unwrap_err();
        assert_eq!(
            error.to_string(),
            "STS did not answer (no credentials to sign with, or unreachable)"
        );
        let chain = crate::error::chain(&error);
        assert!(
            chain.ends_with("Connection refused (os error 111)"),
            "{chain}"
        );
    }

    fn scope() -> Scope {
        Scope {
            name: "default".into(),
            grant: crate::policy::Grant {
                buckets: vec!["b".into()],
                access: Default::default(),
                prefix: "*".into(),
                statements: vec![],
            },
            duration: crate::duration::SessionDuration::from_secs(7200).unwrap(),
            role_arn: None,
            session_name: "s3.read-write.b".into(),
            uids: Default::default(),
            token_file: None,
            serve: Default::default(),
            attribute: false,
        }
    }

    #[tokio::test]
    async fn only_iams_no_such_entity_means_startup_makes_the_role() {
        let missing = "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">\
            <Error><Type>Sender</Type><Code>NoSuchEntity</Code><Message>The role with name \
            s3-credentials.AmazonS3FullAccess cannot be found.</Message></Error>\
            <RequestId>r</RequestId></ErrorResponse>";
        let iam = canned::answering("404 Not Found", missing).await;
        let seen = RoleSeen::get(&Aws::at(&iam.url).await, &scope()).await;
        for verdict in [max_session(&seen, &scope()), trust_policy(&seen)] {
            assert!(
                matches!(&verdict, Verdict::Ok(said) if said.contains("does not exist yet")),
                "{verdict:?}"
            );
        }
        // An endpoint that is no IAM (an S3-only store) answers 404 to
        // anything: that role is not known to be missing, nor creatable.
        let not_iam = canned::answering("404 Not Found", "").await;
        let seen = RoleSeen::get(&Aws::at(&not_iam.url).await, &scope()).await;
        for verdict in [max_session(&seen, &scope()), trust_policy(&seen)] {
            assert!(matches!(verdict, Verdict::Warn(_)), "{verdict:?}");
        }
    }

    #[tokio::test]
    async fn a_scope_signed_with_the_servers_own_keys_checks_its_buckets_alone() {
        let keys = Scope {
            serve: crate::scope::Serve::Gateway(crate::scope::Upstream::Keys),
            ..scope()
        };
        assert!(matches!(policy_size(&keys), Verdict::Ok(said) if said.contains("none is sent")));
        let store = canned::answering("200 OK", "").await;
        let found = check_scope(&Aws::at(&store.url).await, &keys).await;
        let names: Vec<&str> = found.iter().map(|(what, _)| *what).collect();
        assert_eq!(names, ["upstream", "buckets"]);
        assert!(
            found.iter().all(|(_, v)| matches!(v, Verdict::Ok(_))),
            "{found:?}"
        );
    }

    #[tokio::test]
    async fn an_attributed_scopes_trust_policy_is_read_from_get_role() {
        let role = |document: &str| {
            format!(
                "<GetRoleResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><GetRoleResult>\
                 <Role><Path>/</Path><RoleName>r</RoleName><RoleId>AROA1</RoleId>\
                 <Arn>arn:aws:iam::1:role/r</Arn><CreateDate>2024-01-01T00:00:00Z</CreateDate>\
                 <AssumeRolePolicyDocument>{document}</AssumeRolePolicyDocument>\
                 </Role></GetRoleResult></GetRoleResponse>"
            )
        };
        let attributed = Scope {
            attribute: true,
            role_arn: Some("arn:aws:iam::1:role/r".into()),
            ..scope()
        };
        let only_assume = "%7B%22Statement%22%3A%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22sts%3AAssumeRole%22%7D%7D";
        let iam = canned::answering("200 OK", &role(only_assume)).await;
        let seen = RoleSeen::get(&Aws::at(&iam.url).await, &attributed).await;
        let verdict = trust_policy(&seen);
        assert_eq!(
            verdict,
            Verdict::Fail(format!(
                "role r's trust policy does not allow sts:SetSourceIdentity or sts:TagSession: {}",
                trust::ADVICE
            ))
        );
        let all = only_assume.replace("sts%3AAssumeRole", "sts%3A%2A");
        let iam = canned::answering("200 OK", &role(&all)).await;
        let seen = RoleSeen::get(&Aws::at(&iam.url).await, &attributed).await;
        assert!(matches!(trust_policy(&seen), Verdict::Ok(_)));
    }
}
