//! What a call's other fields ask of the grant, beyond the action its
//! operation needs: s3s_aws forwards every typed field, and S3 judges
//! them by other actions, which the original's session policies never
//! grant (AWS Service Authorization Reference, Amazon S3): an ACL or a
//! grant on a write needs `s3:PutObjectAcl`, tags `s3:PutObjectTagging`,
//! object lock `s3:PutObjectRetention`/`s3:PutObjectLegalHold`, a version
//! `s3:GetObjectVersion` or `s3:DeleteObjectVersion`. The gateway agrees
//! with the policy, so these are refused here, naming what they need.

use super::access::denied;
use s3s::dto::*;
use s3s::S3Result;

/// Refused when `asked`, naming what it would need.
fn refuse_if(asked: bool, field: &str, needs: &str) -> S3Result<()> {
    match asked {
        true => Err(denied(format!(
            "{field} needs {needs}, which no scope's session policy grants; send the call \
             without it"
        ))),
        false => Ok(()),
    }
}

/// The fields a write may carry that need more than `s3:PutObject`.
struct Extras {
    acl: bool,
    grants: bool,
    tagging: bool,
    lock: bool,
}

fn extras(e: Extras) -> S3Result<()> {
    refuse_if(e.acl, "x-amz-acl", "s3:PutObjectAcl")?;
    refuse_if(e.grants, "an x-amz-grant-* header", "s3:PutObjectAcl")?;
    refuse_if(e.tagging, "x-amz-tagging", "s3:PutObjectTagging")?;
    refuse_if(
        e.lock,
        "object lock",
        "s3:PutObjectRetention or s3:PutObjectLegalHold",
    )
}

/// `acl` with `private` taken out: the default every object gets, which
/// grants no one anything. rclone sends it on every upload; dropped, the
/// call needs `s3:PutObject` alone upstream too, and stores the same.
pub(super) fn without_private(acl: &mut Option<ObjectCannedACL>) {
    if acl
        .as_ref()
        .is_some_and(|a| a.as_str() == ObjectCannedACL::PRIVATE)
    {
        *acl = None;
    }
}

/// The extras of a write's input: PutObject's, CreateMultipartUpload's
/// and CopyObject's name these fields alike (s3s's generated types).
macro_rules! extras_of {
    ($i:expr) => {
        Extras {
            acl: $i.acl.is_some(),
            grants: $i.grant_full_control.is_some()
                || $i.grant_read.is_some()
                || $i.grant_read_acp.is_some()
                || $i.grant_write_acp.is_some(),
            tagging: $i.tagging.is_some(),
            lock: $i.object_lock_mode.is_some()
                || $i.object_lock_retain_until_date.is_some()
                || $i.object_lock_legal_hold_status.is_some(),
        }
    };
}

/// PutObject's extras.
pub(super) fn put(i: &PutObjectInput) -> S3Result<()> {
    extras(extras_of!(i))
}

/// CreateMultipartUpload's extras.
pub(super) fn create(i: &CreateMultipartUploadInput) -> S3Result<()> {
    extras(extras_of!(i))
}

/// CopyObject's extras (tags replaced count as tags), and a copy of a
/// source's version.
pub(super) fn copy(i: &CopyObjectInput) -> S3Result<()> {
    let replaces_tags =
        (i.tagging_directive.as_ref()).is_some_and(|d| d.as_str() == TaggingDirective::REPLACE);
    let mut asked = extras_of!(i);
    asked.tagging |= replaces_tags;
    extras(asked)?;
    source_version(&i.copy_source)
}

/// A copy source's version needs `s3:GetObjectVersion`.
pub(super) fn source_version(source: &CopySource) -> S3Result<()> {
    let versioned = matches!(
        source,
        CopySource::Bucket {
            version_id: Some(_),
            ..
        }
    );
    refuse_if(
        versioned,
        "a copy source's versionId",
        "s3:GetObjectVersion",
    )
}

/// A read of a version needs `s3:GetObjectVersion`.
pub(super) fn read_version(version: &Option<String>) -> S3Result<()> {
    refuse_if(version.is_some(), "versionId", "s3:GetObjectVersion")
}

/// A delete of a version needs `s3:DeleteObjectVersion`.
pub(super) fn delete_version(version: &Option<String>) -> S3Result<()> {
    refuse_if(version.is_some(), "versionId", "s3:DeleteObjectVersion")
}

/// S3 takes at most 1,000 keys in one DeleteObjects (S3 API Reference).
pub const MAX_DELETE_KEYS: usize = 1000;
