//! The operations the gateway knows, an allowlist: each one's name as
//! s3s parses it, and what it needs of a grant. Anything else is refused
//! before it is read further, never forwarded.

use crate::policy::Action;

/// An S3 operation the gateway forwards (or, ListBuckets, answers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Op {
    GetObject,
    HeadObject,
    PutObject,
    DeleteObject,
    CreateMultipartUpload,
    UploadPart,
    CompleteMultipartUpload,
    AbortMultipartUpload,
    ListParts,
    ListMultipartUploads,
    CopyObject,
    UploadPartCopy,
    DeleteObjects,
    ListObjects,
    ListObjectsV2,
    ListBuckets,
    HeadBucket,
    GetBucketLocation,
}

/// Every operation, with s3s's name for it.
const ALL: [(Op, &str); 18] = [
    (Op::GetObject, "GetObject"),
    (Op::HeadObject, "HeadObject"),
    (Op::PutObject, "PutObject"),
    (Op::DeleteObject, "DeleteObject"),
    (Op::CreateMultipartUpload, "CreateMultipartUpload"),
    (Op::UploadPart, "UploadPart"),
    (Op::CompleteMultipartUpload, "CompleteMultipartUpload"),
    (Op::AbortMultipartUpload, "AbortMultipartUpload"),
    (Op::ListParts, "ListParts"),
    (Op::ListMultipartUploads, "ListMultipartUploads"),
    (Op::CopyObject, "CopyObject"),
    (Op::UploadPartCopy, "UploadPartCopy"),
    (Op::DeleteObjects, "DeleteObjects"),
    (Op::ListObjects, "ListObjects"),
    (Op::ListObjectsV2, "ListObjectsV2"),
    (Op::ListBuckets, "ListBuckets"),
    (Op::HeadBucket, "HeadBucket"),
    (Op::GetBucketLocation, "GetBucketLocation"),
];

/// What an operation needs of the grant, judged from its path alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Needs {
    /// This action on the path's object.
    Object(Action),
    /// This action on the path's bucket (ListBucket: without a prefix).
    Bucket(Action),
    /// The path's bucket in the grant; the rest is judged on the typed
    /// request (a list's prefix, each key of a DeleteObjects).
    BucketThenTyped,
    /// Nothing of a bucket: answered here (ListBuckets).
    Nothing,
}

impl Op {
    /// The operation s3s parsed as `name`, if the gateway knows it.
    pub(super) fn named(name: &str) -> Option<Op> {
        ALL.iter().find(|(_, n)| *n == name).map(|(op, _)| *op)
    }

    /// s3s's name for it.
    pub(super) fn name(self) -> &'static str {
        ALL.iter()
            .find(|(op, _)| *op == self)
            .map_or("-", |(_, n)| *n)
    }

    /// The names of every allowed operation, for a refusal's message.
    pub(super) fn allowlist() -> String {
        let names: Vec<&str> = ALL.iter().map(|(_, n)| *n).collect();
        names.join(", ")
    }

    /// What it needs of the grant, from its path. A copy's source is
    /// judged on the typed request, as a second need (`s3:GetObject`).
    pub(super) fn needs(self) -> Needs {
        use Action as A;
        match self {
            Op::GetObject | Op::HeadObject => Needs::Object(A::GetObject),
            Op::PutObject
            | Op::CreateMultipartUpload
            | Op::UploadPart
            | Op::CompleteMultipartUpload
            | Op::CopyObject
            | Op::UploadPartCopy => Needs::Object(A::PutObject),
            Op::DeleteObject => Needs::Object(A::DeleteObject),
            Op::AbortMultipartUpload => Needs::Object(A::AbortMultipartUpload),
            Op::ListParts => Needs::Object(A::ListMultipartUploadParts),
            Op::ListMultipartUploads => Needs::Bucket(A::ListBucketMultipartUploads),
            Op::HeadBucket => Needs::Bucket(A::ListBucket),
            Op::GetBucketLocation => Needs::Bucket(A::GetBucketLocation),
            Op::DeleteObjects | Op::ListObjects | Op::ListObjectsV2 => Needs::BucketThenTyped,
            Op::ListBuckets => Needs::Nothing,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_is_named_once_and_found_by_its_name() {
        for (op, name) in ALL {
            assert_eq!(Op::named(name), Some(op));
        }
        for refused in [
            "PutObjectAcl",
            "GetBucketPolicy",
            "CreateBucket",
            "SelectObjectContent",
        ] {
            assert_eq!(Op::named(refused), None, "{refused}");
        }
    }
}
