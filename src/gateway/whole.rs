//! An upload's body, forwarded only as far as its signing is verified.
//!
//! s3s checks a signed chunked body (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD`,
//! and the `-TRAILER` forms) chunk by chunk as it is read, but the final,
//! empty chunk's signature and a trailer's are checked only when the
//! stream is read past the last data byte. The upstream client stops
//! reading at the declared length (`x-amz-decoded-content-length`), so it
//! would complete the upload without that last check. This wrapper holds
//! back each piece until the next one has arrived, and the last until the
//! stream has ended cleanly: a bad last signature fails the upload before
//! its last byte goes upstream (AWS S3 User Guide, "Signature Calculations
//! for the Authorization Header: Transferring Payload in Multiple Chunks").
//!
//! What goes upstream is the decoded body, so its `Content-Encoding` loses
//! `aws-chunked`: S3 would decode the plain bytes as chunks again, and
//! does not store `aws-chunked` as an object's encoding (S3 API
//! Reference, PutObject, `Content-Encoding`).

use bytes::Bytes;
use http_body::{Frame, SizeHint};
use s3s::dto::StreamingBlob;
use s3s::{Body, StdError};
use std::pin::Pin;
use std::task::{Context, Poll};

/// `body`, each piece released once the one after it (or a clean end)
/// has been read; why it failed, if it did, goes to `failed`.
pub(super) fn verified(body: StreamingBlob, failed: Failed) -> StreamingBlob {
    let held = Held {
        body: Body::from(body),
        held: None,
        failed,
    };
    StreamingBlob::from(Body::http_body(held))
}

/// Why an upload's body failed (a chunk's signature, a short stream), for
/// the answer: the upstream client only sees that its body stopped.
pub(super) type Failed = std::sync::Arc<std::sync::Mutex<Option<String>>>;

/// The answer for an upload whose body failed as `failed` says, if it did.
pub(super) fn refusal(failed: &Failed) -> Option<s3s::S3Error> {
    let why = failed.lock().unwrap_or_else(|e| e.into_inner()).clone()?;
    let code = match why.to_ascii_lowercase().contains("signature") {
        true => s3s::S3ErrorCode::SignatureDoesNotMatch,
        false => s3s::S3ErrorCode::IncompleteBody,
    };
    Some(s3s::S3Error::with_message(
        code,
        format!("the upload's body failed its checks ({why}): nothing was stored"),
    ))
}

/// An upload's `Content-Encoding` without `aws-chunked` (which says how
/// the body came, not how it is stored); `None` if nothing else is left.
pub(super) fn stored_encoding(encoding: Option<String>) -> Option<String> {
    let kept: Vec<&str> = (encoding.as_deref().unwrap_or_default().split(','))
        .map(str::trim)
        .filter(|e| !e.is_empty() && !e.eq_ignore_ascii_case("aws-chunked"))
        .collect();
    (!kept.is_empty()).then(|| kept.join(","))
}

struct Held {
    body: Body,
    /// The last piece read, not yet released.
    held: Option<Bytes>,
    failed: Failed,
}

impl http_body::Body for Held {
    type Data = Bytes;
    type Error = StdError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, StdError>>> {
        loop {
            match Pin::new(&mut self.body).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => {
                    // Trailers stay with s3s, which reads them itself.
                    let Ok(next) = frame.into_data() else {
                        continue;
                    };
                    if let Some(previous) = self.held.replace(next) {
                        return Poll::Ready(Some(Ok(Frame::data(previous))));
                    }
                }
                Poll::Ready(Some(Err(e))) => {
                    self.held = None;
                    *self.failed.lock().unwrap_or_else(|e| e.into_inner()) = Some(e.to_string());
                    return Poll::Ready(Some(Err(e)));
                }
                Poll::Ready(None) => {
                    return Poll::Ready(self.held.take().map(|b| Ok(Frame::data(b))))
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.held.is_none() && self.body.is_end_stream()
    }

    /// The body's, plus the piece held back.
    fn size_hint(&self) -> SizeHint {
        let held = self.held.as_ref().map_or(0, Bytes::len) as u64;
        let body = self.body.size_hint();
        let mut hint = SizeHint::new();
        hint.set_lower(body.lower() + held);
        if let Some(upper) = body.upper() {
            hint.set_upper(upper + held);
        }
        hint
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use std::collections::VecDeque;

    /// A body of these pieces, then these errors, then its end.
    struct Pieces(VecDeque<Result<&'static [u8], &'static str>>);

    impl http_body::Body for Pieces {
        type Data = Bytes;
        type Error = StdError;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, StdError>>> {
            Poll::Ready(self.0.pop_front().map(|piece| {
                piece
                    .map(|b| Frame::data(Bytes::from_static(b)))
                    .map_err(StdError::from)
            }))
        }
    }

    /// What `pieces` gives through [`verified`]: data, or `!` for an error.
    async fn through(pieces: Vec<Result<&'static [u8], &'static str>>) -> Vec<String> {
        let blob = StreamingBlob::from(Body::http_body(Pieces(pieces.into())));
        let failed = Failed::default();
        let mut body = Body::from(verified(blob, failed.clone()));
        let mut seen = vec![];
        while let Some(frame) = body.frame().await {
            seen.push(match frame {
                Ok(frame) => String::from_utf8_lossy(&frame.into_data().unwrap()).into_owned(),
                Err(_) => "!".to_owned(),
            });
        }
        // A failure is kept for the answer; none is made up.
        let kept = failed.lock().unwrap().is_some();
        assert_eq!(kept, seen.iter().any(|s| s == "!"), "{seen:?}");
        seen
    }

    #[test]
    fn aws_chunked_is_how_the_body_came_not_how_it_is_stored() {
        assert_eq!(stored_encoding(Some("aws-chunked".into())), None);
        assert_eq!(
            stored_encoding(Some("gzip, aws-chunked".into())).as_deref(),
            Some("gzip")
        );
        assert_eq!(
            stored_encoding(Some("aws-chunked,br".into())).as_deref(),
            Some("br")
        );
        assert_eq!(stored_encoding(None), None);
    }

    #[tokio::test]
    async fn the_last_piece_waits_for_a_clean_end() {
        let failed = through(vec![Ok(b"ab"), Ok(b"c"), Err("bad final chunk")]).await;
        assert_eq!(failed, ["ab", "!"], "c is never released");
        assert_eq!(through(vec![Ok(b"ab"), Ok(b"c")]).await, ["ab", "c"]);
    }
}
