//! The `Minter`: one scope's AssumeRole, with its session policy, after
//! its buckets and role are settled (startup steps 2 to 4).

use super::explain::{self, assume_role_error, Service};
use super::{attribution, role, Aws};
use crate::credential::{Ask, BoxFuture, Caller, Credential, Mint};
use crate::duration::SessionDuration;
use crate::scope::Scope;
use crate::Error;
use aws_config::SdkConfig;
use aws_sdk_sts::error::ProvideErrorMetadata;
use std::time::Duration;
use time::OffsetDateTime;

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
    /// When this server made the role, if it did: until
    /// `role::NEW_ROLE_GRACE` after that, AccessDenied is IAM catching up.
    role_made: Option<std::time::Instant>,
    session_name: String,
    policy: String,
    duration: SessionDuration,
    /// Who it mints for, when its scope attributes each caller: sent as
    /// `SourceIdentity` and session tags (docs/GUIDE.md, "Attribution").
    caller: Option<Caller>,
}

impl Minter {
    /// Startup steps 2 and 3 for one scope: a duration AWS would refuse
    /// (role chaining), its buckets, then its role (its own, or the
    /// original's, created if missing, once per server).
    pub async fn prepare(aws: &Aws, scope: &Scope) -> Result<Minter, Error> {
        let policy = scope.grant.policy_compact();
        explain::policy_size(&scope.grant, policy.len())?;
        if let Ok((identity_arn, _)) = &aws.identity {
            if let Some(refused) = explain::role_chaining(identity_arn, scope.duration) {
                return Err(refused);
            }
        }
        let config = &aws.config;
        for bucket in &scope.grant.buckets {
            check_bucket(&aws.s3, config, bucket).await?;
        }
        let role = match (&scope.role_arn, &aws.identity) {
            (Some(arn), _) => role::DefaultRole {
                arn: arn.clone(),
                made: None,
            },
            (None, Ok((_, account))) => aws
                .default_role
                .get_or_try_init(|| role::ensure_default_role(config, account))
                .await?
                .clone(),
            (None, Err(why)) => {
                return Err(Error::caused(
                    format!("{why}; pass an existing role with --role-arn"),
                    why.clone(),
                ))
            }
        };
        Ok(Minter {
            scope: scope.name.clone(),
            minted: std::sync::atomic::AtomicBool::new(false),
            sts: aws.sts.clone(),
            sts_endpoint: Service::Sts.endpoint(config),
            role_arn: role.arn,
            role_made: role.made,
            session_name: scope.session_name.clone(),
            policy,
            duration: scope.duration,
            caller: None,
        })
    }

    /// This minter, its AssumeRole attributed to `caller` (`SourceIdentity`
    /// and session tags; `attribution`). For an attributed scope's own
    /// credential, minted at startup for the server itself (its user, the
    /// program `s3-credentials`): a role whose trust policy does not allow
    /// `sts:SetSourceIdentity` and `sts:TagSession` then fails at startup,
    /// with what to add to it, rather than at a caller's first request.
    pub fn attributed_to(self, caller: &Caller) -> Minter {
        Minter {
            caller: Some(caller.clone()),
            ..self
        }
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

    /// AssumeRole, retried with backoff while a role this server just made
    /// is AccessDenied (IAM has not caught up yet), saying so once.
    async fn call_assume_role(&self) -> Result<Credential, Error> {
        let mut pause = Duration::from_millis(500);
        let out = loop {
            let mut call = self
                .sts
                .assume_role()
                .role_arn(&self.role_arn)
                .role_session_name(&self.session_name)
                .policy(&self.policy)
                .duration_seconds(self.duration.secs() as i32);
            if let Some(caller) = &self.caller {
                call = attribution::attributed(call, &self.scope, caller);
            }
            let sent = call.send().await;
            let settling = self
                .role_made
                .is_some_and(|made| made.elapsed() + pause < role::NEW_ROLE_GRACE);
            match sent {
                Err(e) if settling && e.code() == Some("AccessDenied") => {
                    role::say_waiting(&self.role_arn);
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(4));
                }
                sent => {
                    break sent.map_err(|e| {
                        assume_role_error(e, &self.role_arn, &self.sts_endpoint, self.duration)
                    })?
                }
            }
        };
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

    /// The same role and duration, a narrower policy (checked against
    /// STS's size by its maker, `narrow`, being never larger than the
    /// scope's own but for the names it may add).
    fn narrowed(&self, ask: Ask<'_>) -> Option<Box<dyn Mint>> {
        let Ask {
            policy,
            session_name,
            caller,
            ..
        } = ask;
        Some(Box::new(Minter {
            scope: self.scope.clone(),
            minted: std::sync::atomic::AtomicBool::new(false),
            sts: self.sts.clone(),
            sts_endpoint: self.sts_endpoint.clone(),
            role_arn: self.role_arn.clone(),
            role_made: None,
            session_name,
            policy,
            duration: self.duration,
            caller: caller.cloned(),
        }))
    }
}

pub(super) async fn check_bucket(
    s3: &aws_sdk_s3::Client,
    config: &SdkConfig,
    bucket: &str,
) -> Result<(), Error> {
    let Err(err) = s3.head_bucket().bucket(bucket).send().await else {
        return Ok(());
    };
    Err(explain::bucket_error(
        err,
        bucket,
        &Service::S3.endpoint(config),
    ))
}
