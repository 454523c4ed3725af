//! How a credentials provider's failures read: none configured, an SSO
//! login that lapsed, a provider failing in the middle of a call; each from
//! the SDK's own types (IMDS's client answering for real, on loopback).

use super::*;

#[derive(Debug)]
struct Said(&'static str);

impl std::fmt::Display for Said {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for Said {}

#[test]
fn an_expired_sso_login_says_which_command_to_run() {
    // aws-config's SsoTokenProviderError::ExpiredToken, word for word.
    let err =
        CredentialsError::provider_error(Said("the SSO token has expired and cannot be refreshed"));
    let error = no_credentials(Some(err), Some("work"));
    let kept = std::error::Error::source(&error).and_then(|c| c.downcast_ref::<CredentialsError>());
    assert!(matches!(kept, Some(CredentialsError::ProviderError(_))));
    let error = error.to_string();
    readable(&error);
    assert!(
        error.contains("run: aws sso login --profile work"),
        "{error}"
    );
}

/// What the IMDS client says when something at its address refuses every
/// request (403), as a laptop's network may: the SDK's own `ImdsError`.
async fn imds_refusing() -> aws_config::imds::client::error::ImdsError {
    let refusing = crate::sts::canned::answering("403 Forbidden", "").await;
    let imds = aws_config::imds::Client::builder()
        .endpoint(&refusing.url)
        .unwrap()
        .build();
    let asked = imds
        .get("/latest/meta-data/iam/security-credentials/")
        .await;
    let err = asked.unwrap_err();
    use aws_config::imds::client::error::ImdsError;
    assert!(matches!(err, ImdsError::FailedToLoadToken(_)), "{err}");
    err
}

#[tokio::test]
async fn nothing_configured_is_one_short_line() {
    // As aws-config's IMDS provider, the chain's last, wraps its client's error.
    let imds = CredentialsError::provider_error(imds_refusing().await);
    let none = CredentialsError::not_loaded("no providers in chain provided credentials");
    for error in [
        no_credentials(Some(imds), None),
        no_credentials(Some(none), None),
        no_credentials(None, None),
    ] {
        assert_eq!(
            error.to_string(),
            "no AWS credentials found. Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, \
             pick a profile with --profile NAME, or run aws configure"
        );
    }
    let long =
        CredentialsError::provider_error(Said(Box::leak("word ".repeat(100).into_boxed_str())));
    let error = no_credentials(Some(long), None).to_string();
    let before_advice = error.split(". Set").next().unwrap();
    assert!(before_advice.len() <= 240, "{error}");
}

/// A credentials provider that always fails, as an expired SSO login does.
#[derive(Debug)]
struct Expired;

impl aws_credential_types::provider::ProvideCredentials for Expired {
    fn provide_credentials<'a>(
        &'a self,
    ) -> aws_credential_types::provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        let said = Said("the SSO token has expired and cannot be refreshed");
        aws_credential_types::provider::future::ProvideCredentials::ready(Err(
            CredentialsError::provider_error(said),
        ))
    }
}

#[tokio::test]
async fn credentials_failing_mid_call_are_not_a_network_failure() {
    // The SDK asks the provider again when the server's own credentials
    // expire (a long-running server, an SSO login that lapsed).
    let config = aws_sdk_sts::Config::builder()
        .behavior_version_latest()
        .region(aws_sdk_sts::config::Region::new("us-east-1"))
        .endpoint_url("http://127.0.0.1:9")
        .credentials_provider(Expired)
        .build();
    let err = aws_sdk_sts::Client::from_conf(config)
        .get_caller_identity()
        .send()
        .await
        .unwrap_err();
    let error = failure(err, "STS at http://127.0.0.1:9", |d| d);
    readable(&error.to_string());
    assert_eq!(
        error.to_string(),
        "could not load the AWS credentials in use to call STS at http://127.0.0.1:9 (the \
         SSO token has expired and cannot be refreshed); refresh them (aws sso login \
         --profile NAME, or new keys)"
    );
    use aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityError;
    let kept = sdk_source::<GetCallerIdentityError>(&error);
    assert!(matches!(kept, SdkError::DispatchFailure(_)), "{kept:?}");
}

#[test]
fn a_configured_providers_own_words_are_never_hidden() {
    // A credential_process that itself tried EC2's address: its failure is
    // the user's to read, whatever words it uses.
    let process = CredentialsError::provider_error(Said(
        "credential_process: curl: (28) connect to 169.254.169.254 port 80 timed out",
    ));
    let error = no_credentials(Some(process), None).to_string();
    assert!(
        error.contains("credential_process: curl: (28) connect to 169.254.169.254"),
        "{error}"
    );
}
