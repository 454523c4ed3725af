//! Forwarding: each operation on the allowlist, checked again on the very
//! typed values that go upstream (a copy's source, a list's prefix, every
//! key of a DeleteObjects), then handed to the scope's `s3s_aws::Proxy`,
//! which signs it with the real credential and streams both bodies.
//! ListBuckets is answered here, with the scope's buckets only. Any other
//! operation is s3s's default: NotImplemented (the checks refused it
//! already).

use super::access::{denied, Allowed};
use super::record::Ticket;
use super::uploads::Uploads;
use super::{fields, whole};
use crate::policy::Action;
use s3s::dto::*;
use s3s::{S3Error, S3ErrorCode, S3Request, S3Response, S3Result, S3};
use std::sync::Arc;

/// The S3 service the gateway runs: the allowlist, forwarded, and the
/// multipart uploads it started.
#[derive(Default)]
pub(super) struct Forward {
    uploads: Uploads,
}

impl Forward {
    /// Refused unless `upload_id` was started through this gateway for
    /// `bucket`/`key` (`uploads`'s module doc says why).
    fn known(&self, upload_id: &str, bucket: &str, key: &str) -> S3Result<()> {
        match self.uploads.is_for(upload_id, bucket, key) {
            true => Ok(()),
            false => Err(denied(format!(
                "upload {upload_id} was not started through this gateway for {bucket}/{key}"
            ))),
        }
    }
}

/// What the checks allowed this request (none: refused, failing closed).
fn allowed<T>(req: &S3Request<T>) -> S3Result<Allowed> {
    (req.extensions.get::<Allowed>().cloned())
        .ok_or_else(|| denied("the request was not checked; the gateway refuses it".into()))
}

/// `checked`, with a refusal noted on the request's ticket.
fn noted<T, V>(req: &S3Request<T>, checked: S3Result<V>) -> S3Result<V> {
    if let (Err(e), Some(ticket)) = (&checked, req.extensions.get::<Arc<Ticket>>()) {
        ticket.refused(e);
    }
    checked
}

/// An upload whose body is held back until verified (`whole`): how it
/// failed, if it did, and the call's ticket, for the answer.
struct HeldBack {
    failed: whole::Failed,
    ticket: Option<Arc<Ticket>>,
}

impl HeldBack {
    /// Holds `body` back, for the call `extensions` belong to.
    fn body(body: &mut Option<StreamingBlob>, extensions: &hyper::http::Extensions) -> HeldBack {
        let failed = whole::Failed::default();
        *body = body
            .take()
            .map(|body| whole::verified(body, failed.clone()));
        let ticket = extensions.get::<Arc<Ticket>>().cloned();
        HeldBack { failed, ticket }
    }

    /// `answer`, unless the body failed its checks: then S3's error for
    /// that (SignatureDoesNotMatch, IncompleteBody), noted on the ticket,
    /// rather than the upstream client's InternalError.
    fn answer<T>(self, answer: S3Result<T>) -> S3Result<T> {
        match (answer, whole::refusal(&self.failed)) {
            (Err(_), Some(refused)) => {
                if let Some(ticket) = &self.ticket {
                    ticket.refused(&refused);
                }
                Err(refused)
            }
            (answer, _) => answer,
        }
    }
}

/// A copy's source needs `s3:GetObject` on it, apart from its destination.
fn source(allowed: &Allowed, source: &CopySource) -> S3Result<()> {
    match source {
        CopySource::Bucket { bucket, key, .. } => {
            allowed.need(Action::GetObject, bucket, Some(key))
        }
        _ => Err(denied(
            "a copy from an access point or outpost is refused: name the source bucket".into(),
        )),
    }
}

/// What an object operation may do: `action` on its bucket and key.
fn object<T>(req: &S3Request<T>, action: Action, bucket: &str, key: &str) -> S3Result<Allowed> {
    let allowed = noted(req, allowed(req))?;
    noted(req, allowed.need(action, bucket, Some(key)))?;
    Ok(allowed)
}

#[async_trait::async_trait]
impl S3 for Forward {
    async fn get_object(
        &self,
        req: S3Request<GetObjectInput>,
    ) -> S3Result<S3Response<GetObjectOutput>> {
        let allowed = object(&req, Action::GetObject, &req.input.bucket, &req.input.key)?;
        noted(&req, fields::read_version(&req.input.version_id))?;
        allowed.proxy.get_object(req).await
    }

    async fn head_object(
        &self,
        req: S3Request<HeadObjectInput>,
    ) -> S3Result<S3Response<HeadObjectOutput>> {
        let allowed = object(&req, Action::GetObject, &req.input.bucket, &req.input.key)?;
        noted(&req, fields::read_version(&req.input.version_id))?;
        allowed.proxy.head_object(req).await
    }

    async fn put_object(
        &self,
        mut req: S3Request<PutObjectInput>,
    ) -> S3Result<S3Response<PutObjectOutput>> {
        let allowed = object(&req, Action::PutObject, &req.input.bucket, &req.input.key)?;
        fields::without_private(&mut req.input.acl);
        noted(&req, fields::put(&req.input))?;
        let held_back = HeldBack::body(&mut req.input.body, &req.extensions);
        req.input.content_encoding = whole::stored_encoding(req.input.content_encoding.take());
        held_back.answer(allowed.proxy.put_object(req).await)
    }

    async fn delete_object(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        let allowed = object(
            &req,
            Action::DeleteObject,
            &req.input.bucket,
            &req.input.key,
        )?;
        noted(&req, fields::delete_version(&req.input.version_id))?;
        allowed.proxy.delete_object(req).await
    }

    async fn create_multipart_upload(
        &self,
        mut req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        let allowed = object(&req, Action::PutObject, &req.input.bucket, &req.input.key)?;
        fields::without_private(&mut req.input.acl);
        noted(&req, fields::create(&req.input))?;
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        let answer = allowed.proxy.create_multipart_upload(req).await;
        if let Some(id) = answer
            .as_ref()
            .ok()
            .and_then(|a| a.output.upload_id.as_ref())
        {
            self.uploads.started(id, &bucket, &key);
        }
        answer
    }

    async fn upload_part(
        &self,
        mut req: S3Request<UploadPartInput>,
    ) -> S3Result<S3Response<UploadPartOutput>> {
        let allowed = object(&req, Action::PutObject, &req.input.bucket, &req.input.key)?;
        let (id, bucket, key) = (&req.input.upload_id, &req.input.bucket, &req.input.key);
        noted(&req, self.known(id, bucket, key))?;
        let held_back = HeldBack::body(&mut req.input.body, &req.extensions);
        held_back.answer(allowed.proxy.upload_part(req).await)
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        let allowed = object(&req, Action::PutObject, &req.input.bucket, &req.input.key)?;
        let (id, bucket, key) = (&req.input.upload_id, &req.input.bucket, &req.input.key);
        noted(&req, self.known(id, bucket, key))?;
        let id = id.clone();
        let answer = allowed.proxy.complete_multipart_upload(req).await;
        if answer.is_ok() {
            self.uploads.finished(&id);
        }
        answer
    }

    async fn abort_multipart_upload(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        let allowed = object(
            &req,
            Action::AbortMultipartUpload,
            &req.input.bucket,
            &req.input.key,
        )?;
        allowed.proxy.abort_multipart_upload(req).await
    }

    async fn list_parts(
        &self,
        req: S3Request<ListPartsInput>,
    ) -> S3Result<S3Response<ListPartsOutput>> {
        let allowed = object(
            &req,
            Action::ListMultipartUploadParts,
            &req.input.bucket,
            &req.input.key,
        )?;
        allowed.proxy.list_parts(req).await
    }

    async fn copy_object(
        &self,
        mut req: S3Request<CopyObjectInput>,
    ) -> S3Result<S3Response<CopyObjectOutput>> {
        let allowed = noted(&req, allowed(&req))?;
        let (bucket, key) = (&req.input.bucket, &req.input.key);
        noted(&req, allowed.need(Action::PutObject, bucket, Some(key)))?;
        noted(&req, source(&allowed, &req.input.copy_source))?;
        fields::without_private(&mut req.input.acl);
        noted(&req, fields::copy(&req.input))?;
        allowed.proxy.copy_object(req).await
    }

    async fn upload_part_copy(
        &self,
        req: S3Request<UploadPartCopyInput>,
    ) -> S3Result<S3Response<UploadPartCopyOutput>> {
        let allowed = noted(&req, allowed(&req))?;
        let (bucket, key) = (&req.input.bucket, &req.input.key);
        noted(&req, allowed.need(Action::PutObject, bucket, Some(key)))?;
        noted(&req, source(&allowed, &req.input.copy_source))?;
        noted(&req, fields::source_version(&req.input.copy_source))?;
        noted(&req, self.known(&req.input.upload_id, bucket, key))?;
        allowed.proxy.upload_part_copy(req).await
    }

    /// Every key is checked before anything is sent: one outside the
    /// scope refuses the whole request.
    async fn delete_objects(
        &self,
        req: S3Request<DeleteObjectsInput>,
    ) -> S3Result<S3Response<DeleteObjectsOutput>> {
        let allowed = noted(&req, allowed(&req))?;
        let (bucket, objects) = (&req.input.bucket, &req.input.delete.objects);
        if objects.len() > fields::MAX_DELETE_KEYS {
            let why = format!(
                "at most {} keys in one DeleteObjects",
                fields::MAX_DELETE_KEYS
            );
            return noted(
                &req,
                Err(S3Error::with_message(S3ErrorCode::MalformedXML, why)),
            );
        }
        for object in objects {
            let key = Some(object.key.as_str());
            noted(&req, allowed.need(Action::DeleteObject, bucket, key))?;
            noted(&req, fields::delete_version(&object.version_id))?;
        }
        allowed.proxy.delete_objects(req).await
    }

    async fn list_objects(
        &self,
        req: S3Request<ListObjectsInput>,
    ) -> S3Result<S3Response<ListObjectsOutput>> {
        let allowed = noted(&req, allowed(&req))?;
        let (bucket, prefix) = (&req.input.bucket, req.input.prefix.as_deref());
        noted(&req, allowed.need(Action::ListBucket, bucket, prefix))?;
        allowed.proxy.list_objects(req).await
    }

    async fn list_objects_v2(
        &self,
        req: S3Request<ListObjectsV2Input>,
    ) -> S3Result<S3Response<ListObjectsV2Output>> {
        let allowed = noted(&req, allowed(&req))?;
        let (bucket, prefix) = (&req.input.bucket, req.input.prefix.as_deref());
        noted(&req, allowed.need(Action::ListBucket, bucket, prefix))?;
        allowed.proxy.list_objects_v2(req).await
    }

    async fn list_multipart_uploads(
        &self,
        req: S3Request<ListMultipartUploadsInput>,
    ) -> S3Result<S3Response<ListMultipartUploadsOutput>> {
        let allowed = noted(&req, allowed(&req))?;
        let action = Action::ListBucketMultipartUploads;
        noted(&req, allowed.need(action, &req.input.bucket, None))?;
        allowed.proxy.list_multipart_uploads(req).await
    }

    async fn head_bucket(
        &self,
        req: S3Request<HeadBucketInput>,
    ) -> S3Result<S3Response<HeadBucketOutput>> {
        let allowed = noted(&req, allowed(&req))?;
        noted(
            &req,
            allowed.need(Action::ListBucket, &req.input.bucket, None),
        )?;
        allowed.proxy.head_bucket(req).await
    }

    async fn get_bucket_location(
        &self,
        req: S3Request<GetBucketLocationInput>,
    ) -> S3Result<S3Response<GetBucketLocationOutput>> {
        let allowed = noted(&req, allowed(&req))?;
        let action = Action::GetBucketLocation;
        noted(&req, allowed.need(action, &req.input.bucket, None))?;
        allowed.proxy.get_bucket_location(req).await
    }

    /// The scope's buckets, answered here: the credential upstream may
    /// not list buckets (the session policy does not allow it), and the
    /// client has no business seeing others.
    async fn list_buckets(
        &self,
        req: S3Request<ListBucketsInput>,
    ) -> S3Result<S3Response<ListBucketsOutput>> {
        let allowed = noted(&req, allowed(&req))?;
        let created = Timestamp::from(std::time::SystemTime::UNIX_EPOCH);
        let buckets = (allowed.issued.grant.buckets.iter())
            .map(|name| Bucket {
                name: Some(name.clone()),
                creation_date: Some(created.clone()),
                ..Default::default()
            })
            .collect();
        Ok(S3Response::new(ListBucketsOutput {
            buckets: Some(buckets),
            ..Default::default()
        }))
    }
}
