//! One access line and one count per S3 call through the gateway, written
//! when the answer's body has gone (or was dropped): the caller, the
//! scope, the operation, the bucket and key, bytes in and out, the status
//! and the microseconds. Never a query string (a presigned URL's holds
//! its signature and session token) nor a header.

use super::ops::Op;
use crate::peer::Peer;
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use s3s::path::S3Path;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Instant;

/// What the checks learn of a call, for its line.
#[derive(Default)]
pub(super) struct Ticket {
    note: Mutex<Note>,
    /// Request body bytes read so far.
    pub(super) bytes_in: Arc<AtomicU64>,
}

#[derive(Default)]
struct Note {
    op: Option<&'static str>,
    /// s3s's name for an operation the gateway does not know.
    other_op: Option<String>,
    scope: Option<String>,
    /// The caller's own upstream session, where the scope attributes.
    session: Option<String>,
    bucket: String,
    key: String,
    /// Why the gateway said no, as a metrics label.
    refused: Option<&'static str>,
}

impl Ticket {
    fn note(&self) -> std::sync::MutexGuard<'_, Note> {
        self.note.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The operation s3s parsed, and its path.
    pub(super) fn noted(&self, op: &str, path: &S3Path) {
        let mut note = self.note();
        match Op::named(op) {
            Some(known) => note.op = Some(known.name()),
            None => note.other_op = Some(op.to_owned()),
        }
        if let S3Path::Bucket { bucket } | S3Path::Object { bucket, .. } = path {
            note.bucket = cut(bucket).to_owned();
        }
        if let S3Path::Object { key, .. } = path {
            note.key = cut(key).to_owned();
        }
    }

    /// The scope whose credential signed it, and the caller's session its
    /// calls go out in, where the scope attributes each caller.
    pub(super) fn scoped(&self, scope: &str, session: Option<&str>) {
        let mut note = self.note();
        note.scope = Some(scope.to_owned());
        note.session = session.map(str::to_owned);
    }

    /// The gateway refused it with `error`.
    pub(super) fn refused(&self, error: &s3s::S3Error) {
        let reason = match error.code().as_str() {
            "InvalidToken" => "token",
            "ExpiredToken" => "expired",
            "SignatureDoesNotMatch" | "IncompleteBody" => "signature",
            _ => "grant",
        };
        self.note().refused = Some(reason);
    }

    /// Writes the line and counts the call.
    fn record(&self, peer: Option<&Peer>, status: u16, bytes_out: u64, started: Instant) {
        let note = self.note();
        let scope = note.scope.as_deref().unwrap_or("-");
        let op = note.op.unwrap_or("-");
        // Refused before the checks (a bad signature), or by them.
        let refused = note
            .refused
            .or((note.scope.is_none() && status >= 400).then_some("signature"));
        let outcome = match (refused, status) {
            (Some(reason), _) => {
                crate::metrics::request_refused("gateway", reason);
                "refused"
            }
            (None, 0..=399) => "ok",
            (None, _) => "error",
        };
        crate::metrics::gateway_call(scope, op, outcome);
        let op = note.other_op.as_deref().unwrap_or(op);
        let (bucket, key) = (or_dash(&note.bucket), or_dash(&note.key));
        let bytes_in = self.bytes_in.load(Ordering::Relaxed);
        let took = started.elapsed().as_micros();
        let (uid, pid, exe) = peer.map_or((None, None, None), |p| {
            (Some(p.uid), p.pid, p.exe.as_deref())
        });
        tracing::info!(
            target: "access",
            peer_uid = uid,
            peer_pid = pid,
            peer_exe = exe,
            session = note.session.as_deref(),
            "gateway {scope} {op} {bucket} {key} {status} in={bytes_in} out={bytes_out} {took}us{}",
            refused.map_or(String::new(), |r| format!(" refused={r}"))
        );
    }
}

fn or_dash(s: &str) -> &str {
    if s.is_empty() {
        "-"
    } else {
        s
    }
}

/// Keys are the client's bytes: cut long ones short in the log.
fn cut(s: &str) -> &str {
    match s.char_indices().nth(200) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// A body that counts the bytes it passes on into `count`.
pub(super) struct Counted<B> {
    pub(super) body: B,
    pub(super) count: Arc<AtomicU64>,
}

impl<B: Body<Data = Bytes> + Unpin> Body for Counted<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let polled = Pin::new(&mut self.body).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled {
            if let Some(data) = frame.data_ref() {
                self.count.fetch_add(data.len() as u64, Ordering::Relaxed);
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// An answer's body, counted, that records the call when it is done with
/// (sent, or dropped by a client that went away).
pub(crate) struct CountOut<B> {
    pub(super) body: Counted<B>,
    pub(super) ticket: Arc<Ticket>,
    pub(super) peer: Option<Arc<Peer>>,
    pub(super) status: u16,
    pub(super) started: Instant,
}

impl<B: Body<Data = Bytes> + Unpin> Body for CountOut<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

impl<B> Drop for CountOut<B> {
    fn drop(&mut self) {
        let (peer, bytes_out) = (
            self.peer.as_deref(),
            self.body.count.load(Ordering::Relaxed),
        );
        (self.ticket).record(peer, self.status, bytes_out, self.started);
    }
}
