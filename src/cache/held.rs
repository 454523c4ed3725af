//! A credential ready to serve: its bodies rendered once, and when it is
//! to be renewed.

use super::{MIN_RENEW_INTERVAL, RENEW_LEAD, RENEW_SPREAD};
use crate::body::{render_ecs, render_imds, render_process};
use crate::credential::Credential;
use bytes::Bytes;
use std::time::Duration;
use time::OffsetDateTime;

/// A credential ready to serve.
pub struct Held {
    /// The `GET /` body (credential_process format).
    pub process_json: Bytes,
    /// The `GET /ecs` body (container credentials format).
    pub ecs_json: Bytes,
    /// The IMDS credential document.
    pub imds_json: Bytes,
    /// The credential's access key id (not secret), for logs.
    pub access_key_id: String,
    /// The credential itself, for what signs with it (the gateway).
    credential: Credential,
    expiration: OffsetDateTime,
    pub(super) renew_at: OffsetDateTime,
}

// Hand-written: the bodies hold secrets.
impl std::fmt::Debug for Held {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Held")
            .field("access_key_id", &self.access_key_id)
            .field("expiration", &self.expiration)
            .finish_non_exhaustive()
    }
}

impl Held {
    pub(super) fn new(credential: &Credential, margin: Duration, now: OffsetDateTime) -> Held {
        let lifetime = to_std(credential.expiration - now);
        // A credential shorter than the margin (a fake STS, a clock far off)
        // must not make the renewer spin: give it a quarter of its life, and
        // never less than a second.
        // Up to RENEW_SPREAD earlier at random: the scopes of one server,
        // minted together, do not all call STS in the same second again.
        let renew_in = lifetime
            .saturating_sub(margin + RENEW_LEAD)
            .max(lifetime / 4)
            .mul_f64(1.0 - RENEW_SPREAD * fastrand::f64())
            .max(MIN_RENEW_INTERVAL);
        Held {
            process_json: render_process(credential),
            ecs_json: render_ecs(credential),
            imds_json: render_imds(credential, now),
            access_key_id: credential.access_key_id.clone(),
            credential: credential.clone(),
            expiration: credential.expiration,
            renew_at: now + renew_in,
        }
    }

    /// The credential, to sign with.
    pub fn credential(&self) -> &Credential {
        &self.credential
    }

    /// How long it stays valid after `now`.
    pub fn expires_in(&self, now: OffsetDateTime) -> Duration {
        to_std(self.expiration - now)
    }

    pub(super) fn is_valid(&self, now: OffsetDateTime) -> bool {
        now < self.expiration
    }

    /// STS's Expiration is the truth, but one far sooner than the session
    /// `asked` for, just as it arrives, usually means this machine's clock
    /// is off (a suspend cannot cause it: the credential was minted after).
    pub(super) fn warn_if_short(&self, asked: Duration, now: OffsetDateTime) {
        let lives = self.expires_in(now);
        if lives < asked / 2 {
            tracing::warn!(
                "STS's credential expires in {}s though {}s were asked for: \
                 is this machine's clock right? Renewal follows STS's Expiration",
                lives.as_secs(),
                asked.as_secs()
            );
        }
    }

    /// Past its renewal time by more than the lead: the renewer was asleep
    /// (a suspend) or the clock jumped, and serving it as it is would hand
    /// out less than the margin.
    pub(super) fn is_stale(&self, now: OffsetDateTime) -> bool {
        now >= self.renew_at + RENEW_LEAD
    }
}

/// A signed wall-clock span as a `Duration`, negative as zero.
pub(super) fn to_std(span: time::Duration) -> Duration {
    span.try_into().unwrap_or_default()
}
