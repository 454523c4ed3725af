//! A profile whose credential_process answers with a local credential
//! (its scope is served through the gateway): that credential works at
//! the gateway alone, so the profile must send S3 there. Checked end to
//! end: ListBuckets through the S3 endpoint the SDKs would use for the
//! profile, signed with the credential (the gateway answers it itself,
//! after checking the signature and the session token), and once more
//! with a wrong secret, which only a store that knows the credential
//! refuses (moto, say, takes any signature).

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
    let forged = Credential {
        secret_access_key: format!("{}-not-it", credential.secret_access_key),
        ..credential.clone()
    };
    let fix = "point the profile's s3 endpoint_url at the gateway that server runs (its \
               startup line names it)";
    let (real, wrong) = (
        list(credential, &endpoint).await,
        list(&forged, &endpoint).await,
    );
    match (real, wrong) {
        (Ok(()), Err(_)) => Verdict::Ok(format!(
            "`{shown}` answers with a local credential, and the gateway at {endpoint} takes it"
        )),
        (Err(why), _) => Verdict::Fail(format!(
            "`{shown}` answers with a local credential, but S3 at {endpoint} (the profile's) \
             refuses it: {why}; {fix}"
        )),
        (Ok(()), Ok(())) => Verdict::Fail(format!(
            "`{shown}` answers with a local credential, but S3 at {endpoint} (the profile's) \
             takes any signature, so it is not the gateway that issued it; {fix}"
        )),
    }
}

/// One ListBuckets at `endpoint`, signed with `credential`; why not, in
/// one line.
async fn list(credential: &Credential, endpoint: &str) -> Result<(), String> {
    let s3 = (sts::s3_client_for(credential, Some(endpoint.to_owned())).await)
        .map_err(|e| e.to_string())?;
    match s3.list_buckets().send().await {
        Ok(_) => Ok(()),
        Err(e) => {
            let detail = aws_sdk_s3::error::DisplayErrorContext(&e).to_string();
            Err(super::redact::text(&detail))
        }
    }
}
