//! A profile whose credential_process answers with a local credential
//! (its scope is served through the gateway): that credential works at
//! the gateway alone, so the profile must send S3 there. Checked end to
//! end: ListBuckets through the S3 endpoint the SDKs would use for the
//! profile, signed with the credential (the gateway answers it itself,
//! after checking the signature and the session token).

use crate::credential::Credential;
use crate::sts;
use crate::sts::checks::Verdict;

/// Whether `credential` is a local one (issued for the gateway).
pub(super) fn is_local(credential: &Credential) -> bool {
    credential
        .access_key_id
        .starts_with(crate::local::KEY_PREFIX)
}

/// The verdict on `profile`, whose credential_process (`shown`) answered
/// with the local credential `credential`.
pub(super) async fn check(profile: &str, shown: &str, credential: &Credential) -> Verdict {
    let Some(endpoint) = sts::profile_s3_endpoint(profile).await else {
        return Verdict::Fail(format!(
            "`{shown}` answers with a local credential, which works only at the server's \
             gateway, but the profile sends S3 to AWS: add `services = gateway` and a \
             [services gateway] section with `s3 =` / `  endpoint_url = http://127.0.0.1:PORT` \
             (the gateway's port), or set AWS_ENDPOINT_URL_S3"
        ));
    };
    let listed = match sts::s3_client_for(credential, Some(endpoint.clone())).await {
        Ok(s3) => s3.list_buckets().send().await.map_err(|e| {
            let detail = aws_sdk_s3::error::DisplayErrorContext(&e).to_string();
            super::redact::text(&detail)
        }),
        Err(e) => Err(e.to_string()),
    };
    match listed {
        Ok(_) => Verdict::Ok(format!(
            "`{shown}` answers with a local credential, and the gateway at {endpoint} takes it"
        )),
        Err(why) => Verdict::Fail(format!(
            "`{shown}` answers with a local credential, but S3 at {endpoint} (the profile's) \
             refuses it: {why}; point the profile's s3 endpoint_url at the gateway that \
             server runs (its startup line names it)"
        )),
    }
}
