//! Each failure a newcomer meets, built from the SDK's own error types
//! (with AWS's exact words where they matter), read as one line.

use super::*;
use aws_sdk_sts::error::ErrorMetadata;
use aws_sdk_sts::operation::assume_role::AssumeRoleError;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::http::Response;
use aws_smithy_types::body::SdkBody;

/// AssumeRole's error as the SDK's parser builds it from STS's answer:
/// the modeled variant for a code it models, with the code and message in
/// its metadata, else `generic`.
fn answer(status: u16, code: Option<&str>, message: Option<&str>) -> SdkError<AssumeRoleError> {
    use aws_sdk_sts::types::error::*;
    let mut meta = ErrorMetadata::builder();
    if let Some(code) = code {
        meta = meta.code(code);
    }
    if let Some(message) = message {
        meta = meta.message(message);
    }
    let (meta, message) = (meta.build(), message.map(str::to_owned));
    let modeled = match code {
        Some("MalformedPolicyDocument") => AssumeRoleError::MalformedPolicyDocumentException(
            MalformedPolicyDocumentException::builder()
                .set_message(message)
                .meta(meta)
                .build(),
        ),
        Some("PackedPolicyTooLarge") => AssumeRoleError::PackedPolicyTooLargeException(
            PackedPolicyTooLargeException::builder()
                .set_message(message)
                .meta(meta)
                .build(),
        ),
        Some("RegionDisabledException") => AssumeRoleError::RegionDisabledException(
            RegionDisabledException::builder()
                .set_message(message)
                .meta(meta)
                .build(),
        ),
        Some("ExpiredTokenException") => AssumeRoleError::ExpiredTokenException(
            ExpiredTokenException::builder()
                .set_message(message)
                .meta(meta)
                .build(),
        ),
        _ => AssumeRoleError::generic(meta),
    };
    let raw = Response::new(status.try_into().unwrap(), SdkBody::empty());
    SdkError::service_error(modeled, raw)
}

fn assume_error(err: SdkError<AssumeRoleError>, secs: u64) -> Error {
    let duration = SessionDuration::from_secs(secs).unwrap();
    assume_role_error(err, "arn:aws:iam::1:role/r", "STS at x", duration)
}

fn assume(err: SdkError<AssumeRoleError>, secs: u64) -> String {
    assume_error(err, secs).to_string()
}

fn unreachable(io: std::io::Error) -> String {
    let err: SdkError<AssumeRoleError> =
        SdkError::dispatch_failure(ConnectorError::io(Box::new(io)));
    failure(err, "S3 at http://127.0.0.1:1", |d| format!("context: {d}")).to_string()
}

/// One line, no `Debug` output.
fn readable(message: &str) {
    assert_eq!(message.lines().count(), 1, "{message}");
    for debug in ["{ source:", "Some(", "ServiceError(", "DispatchFailure("] {
        assert!(!message.contains(debug), "{message}");
    }
}

#[test]
fn aws_refusing_the_duration_names_max_session_duration() {
    let message = "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.";
    let error = assume(answer(400, Some("ValidationError"), Some(message)), 7200);
    readable(&error);
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
fn role_chaining_says_what_is_true() {
    let message = "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.";
    let error = assume(answer(400, Some("ValidationError"), Some(message)), 7200);
    readable(&error);
    assert!(
        error.contains("your AWS identity is itself an assumed role"),
        "{error}"
    );
    assert!(error.contains("use --duration 1h or less"), "{error}");
    assert!(!error.contains("raise the role's limit"), "{error}");
    // Said before asking, when the identity shows it.
    let duration = SessionDuration::from_secs(7200).unwrap();
    let sso = "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Admin_0123/alice";
    let early = role_chaining(sso, duration).unwrap().to_string();
    assert!(
        early.contains(sso) && early.contains("--duration 1h or less"),
        "{early}"
    );
    assert!(role_chaining("arn:aws:iam::123456789012:user/alice", duration).is_none());
    let hour = SessionDuration::from_secs(3600).unwrap();
    assert!(role_chaining(sso, hour).is_none());
}

#[test]
fn a_codeless_400_names_both_likely_causes() {
    let error = assume(answer(400, None, None), 7200);
    assert!(error.contains("HTTP 400 with no error code"), "{error}");
    assert!(
        error.contains("MaxSessionDuration") && error.contains("--statement"),
        "{error}"
    );
}

#[test]
fn policy_and_permission_errors_say_what_to_change() {
    let error = assume(
        answer(400, Some("PackedPolicyTooLarge"), Some("too big")),
        900,
    );
    assert!(
        error.contains(
            "too large for STS once packed: give this scope fewer buckets or \
                        statements (--statement), serve one scope per bucket"
        ),
        "{error}"
    );
    let error = assume(
        answer(403, Some("AccessDenied"), Some("not authorized")),
        900,
    );
    assert!(error.contains("it needs sts:AssumeRole on it"), "{error}");
    let error = assume(answer(500, Some("InternalFailure"), Some("oops")), 900);
    assert_eq!(
        error,
        "AssumeRole of arn:aws:iam::1:role/r failed: InternalFailure: oops"
    );
}

#[test]
fn a_trust_policy_without_attributions_actions_names_the_statement_to_add() {
    for action in ["sts:SetSourceIdentity", "sts:TagSession"] {
        let said = format!(
            "User: arn:aws:iam::1:user/a is not authorized to perform: {action} on resource: \
             arn:aws:iam::1:role/r"
        );
        let error = assume(answer(403, Some("AccessDenied"), Some(&said)), 900);
        readable(&error);
        assert_eq!(
            error,
            format!(
                "AssumeRole of arn:aws:iam::1:role/r failed: AccessDenied: {said}; the role's \
                 trust policy must allow sts:SetSourceIdentity and sts:TagSession for \
                 attribute = \"caller\": add \"Action\": [\"sts:AssumeRole\", \
                 \"sts:SetSourceIdentity\", \"sts:TagSession\"] to its statement for this \
                 principal"
            )
        );
    }
}

#[test]
fn stss_modeled_errors_are_told_by_their_variant() {
    let refused = "The policy is not in the valid JSON format.";
    let error = assume_error(
        answer(400, Some("MalformedPolicyDocument"), Some(refused)),
        900,
    );
    assert_eq!(
        error.to_string(),
        "AssumeRole of arn:aws:iam::1:role/r failed: MalformedPolicyDocument: The policy is \
         not in the valid JSON format.; STS refused the session policy: check the \
         --statement values"
    );
    let kept = sdk_source::<AssumeRoleError>(&error).as_service_error();
    assert!(kept.is_some_and(AssumeRoleError::is_malformed_policy_document_exception));
    let packed = "Serialized policy too large: 112% of the allowed size.";
    let error = assume_error(answer(400, Some("PackedPolicyTooLarge"), Some(packed)), 900);
    let kept = sdk_source::<AssumeRoleError>(&error).as_service_error();
    assert!(kept.is_some_and(AssumeRoleError::is_packed_policy_too_large_exception));
    assert!(
        error.to_string().contains("too large for STS once packed"),
        "{error}"
    );
    // AWS's own words say what to do.
    let disabled = "STS is not activated in this region for account:1. Your account \
                    administrator can activate STS in this region using the IAM Console.";
    let error = assume(
        answer(403, Some("RegionDisabledException"), Some(disabled)),
        900,
    );
    assert_eq!(
        error,
        format!("AssumeRole of arn:aws:iam::1:role/r failed: RegionDisabledException: {disabled}")
    );
    let expired = "Token expired: current date/time 1 must be before the expiration date/time 0";
    let error = assume(
        answer(400, Some("ExpiredTokenException"), Some(expired)),
        900,
    );
    assert!(
        error.contains("the AWS credentials in use have expired"),
        "{error}"
    );
}

fn head_bucket(status: u16, modeled: HeadBucketError) -> Error {
    let raw = Response::new(status.try_into().unwrap(), SdkBody::empty());
    let err = SdkError::service_error(modeled, raw);
    bucket_error(err, "b", "S3 at http://127.0.0.1:1")
}

#[test]
fn a_missing_or_refused_bucket_says_so() {
    use aws_sdk_s3::types::error::NotFound;
    // HeadBucket answers with no body: S3's parser names a 404 NotFound.
    let meta = ErrorMetadata::builder().code("NotFound").build();
    let found = HeadBucketError::NotFound(NotFound::builder().meta(meta).build());
    let error = head_bucket(404, found);
    assert_eq!(
        error.to_string(),
        "Bucket does not exist: b (asked S3 at http://127.0.0.1:1: check the name, \
         --endpoint-url and --region)"
    );
    let kept = sdk_source::<HeadBucketError>(&error).as_service_error();
    assert!(kept.is_some_and(HeadBucketError::is_not_found));
    let error = head_bucket(
        403,
        HeadBucketError::generic(ErrorMetadata::builder().build()),
    );
    assert_eq!(
        error.to_string(),
        "Access denied to bucket b: the AWS identity in use needs s3:ListBucket on it"
    );
    sdk_source::<HeadBucketError>(&error);
    let meta = ErrorMetadata::builder()
        .code("InternalError")
        .message("oops")
        .build();
    let error = head_bucket(500, HeadBucketError::generic(meta));
    assert_eq!(
        error.to_string(),
        "could not check bucket b: InternalError: oops"
    );
}

#[test]
fn bad_or_expired_keys_say_so() {
    let invalid = "The security token included in the request is invalid.";
    let error = assume(
        answer(403, Some("InvalidClientTokenId"), Some(invalid)),
        900,
    );
    readable(&error);
    assert!(
        error.contains("the AWS access key in use does not exist"),
        "{error}"
    );
    let expired = "The security token included in the request is expired";
    let error = assume(answer(400, Some("ExpiredToken"), Some(expired)), 900);
    assert!(
        error.contains("the AWS credentials in use have expired"),
        "{error}"
    );
}

#[test]
fn an_unreachable_endpoint_is_named_with_its_cause() {
    let refused = unreachable(std::io::ErrorKind::ConnectionRefused.into());
    assert_eq!(
        refused,
        "could not reach S3 at http://127.0.0.1:1 (connection refused)"
    );
    // What hyper-util's resolver says for a name that does not resolve.
    let dns = unreachable(std::io::Error::other(
        "failed to lookup address information: Name or service not known",
    ));
    readable(&dns);
    assert!(dns.contains("its host name does not resolve"), "{dns}");
    assert!(dns.contains("--region"), "{dns}");
}

#[test]
fn a_stalled_endpoint_is_named_with_the_timeout() {
    let stalled: SdkError<AssumeRoleError> = SdkError::timeout_error("no answer");
    let error = failure(stalled, "STS at http://127.0.0.1:9", |d| d).to_string();
    assert_eq!(
        error,
        "STS at http://127.0.0.1:9 did not answer within 20s; check the network, or --endpoint-url"
    );
}

/// The SDK error an `Error` was made from: its `source`, downcast.
fn sdk_source<E: std::error::Error + 'static>(error: &Error) -> &SdkError<E> {
    std::error::Error::source(error)
        .and_then(|cause| cause.downcast_ref::<SdkError<E>>())
        .unwrap_or_else(|| panic!("no SDK error behind: {error}"))
}

#[test]
fn a_failure_keeps_the_sdk_error_as_its_source() {
    let err = answer(403, Some("AccessDenied"), Some("not authorized"));
    let duration = SessionDuration::from_secs(900).unwrap();
    let error = assume_role_error(err, "arn:aws:iam::1:role/r", "STS at x", duration);
    assert!(
        error.to_string().contains("it needs sts:AssumeRole on it"),
        "{error}"
    );
    let kept = sdk_source::<AssumeRoleError>(&error);
    assert_eq!(kept.code(), Some("AccessDenied"));
    let err: SdkError<AssumeRoleError> = SdkError::dispatch_failure(ConnectorError::io(Box::new(
        std::io::Error::from(std::io::ErrorKind::ConnectionRefused),
    )));
    let error = failure(err, "S3 at http://127.0.0.1:1", |d| d);
    assert!(matches!(
        sdk_source::<AssumeRoleError>(&error),
        SdkError::DispatchFailure(_)
    ));
    assert_eq!(
        chain(&error),
        "could not reach S3 at http://127.0.0.1:1 (connection refused): dispatch failure: \
         io error: connection refused"
    );
}

mod credentials;
