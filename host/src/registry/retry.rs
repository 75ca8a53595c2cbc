//! When to try a registry request again, and how long to wait first.
//!
//! Mirroring thousands of images over a slow link meets every kind of transient
//! failure: resets, timeouts, 429s, and registries that answer 500 while another
//! client writes the same repository. Users of oc-mirror re-ran whole jobs for
//! each of them; here a transient failure is retried in place with exponential
//! backoff, and only a permanent one (404, 401 after re-authenticating, a refused
//! manifest) ends the operation.

use std::time::Duration;

use oci_client::errors::{OciDistributionError, OciErrorCode};

/// How many times an operation is retried after its first failure (oc-mirror's
/// `--retry-times` default).
pub const DEFAULT_RETRY_TIMES: u32 = 5;
/// First backoff; doubled on each retry.
pub const DEFAULT_BASE_DELAY: Duration = Duration::from_millis(250);
/// Backoff cap, so that a long outage is polled rather than waited out blindly.
pub const DEFAULT_MAX_DELAY: Duration = Duration::from_secs(10);

/// Retries and backoff for one kind of operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub retries: u32,
    /// Delay before the first retry (`Duration::ZERO` still backs off from 250 ms,
    /// as oc-mirror's `--retry-delay 0` means "exponential").
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            retries: DEFAULT_RETRY_TIMES,
            base_delay: DEFAULT_BASE_DELAY,
            max_delay: DEFAULT_MAX_DELAY,
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `retry` (1-based), with a little jitter so
    /// that parallel workers do not retry in lockstep.
    pub fn delay(&self, retry: u32) -> Duration {
        let base = if self.base_delay.is_zero() {
            DEFAULT_BASE_DELAY
        } else {
            self.base_delay
        };
        let exp = base.saturating_mul(1u32 << retry.saturating_sub(1).min(16));
        let capped = exp.min(self.max_delay);
        // Jitter of up to 1/8, derived from the clock: no RNG needed for this.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        capped + capped / 8 * (nanos % 1000) / 1000
    }
}

/// What to do about a failed request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Transient: wait and try again.
    Retry,
    /// The token may have expired: authenticate again, then retry.
    Reauthenticate,
    /// The thing asked for does not exist.
    NotFound,
    /// Permanent: report it.
    Fail,
}

/// Sorts an oci-client error into a [`Verdict`].
pub fn classify(err: &OciDistributionError) -> Verdict {
    use OciDistributionError as E;
    match err {
        E::RequestError(e) => match e.status() {
            Some(s) => status_verdict(s.as_u16()),
            // No status: connect, timeout, reset, body cut short.
            None => Verdict::Retry,
        },
        E::ServerError { code, .. } => status_verdict(*code),
        E::UnauthorizedError { .. } => Verdict::Reauthenticate,
        E::ImageManifestNotFoundError(_) => Verdict::NotFound,
        E::RegistryError { envelope, .. } => {
            let codes: Vec<&OciErrorCode> = envelope.errors.iter().map(|e| &e.code).collect();
            if codes
                .iter()
                .any(|c| matches!(c, OciErrorCode::Toomanyrequests))
            {
                Verdict::Retry
            } else if codes
                .iter()
                .any(|c| matches!(c, OciErrorCode::Unauthorized))
            {
                Verdict::Reauthenticate
            } else if codes.iter().any(|c| {
                matches!(
                    c,
                    OciErrorCode::ManifestUnknown
                        | OciErrorCode::NameUnknown
                        | OciErrorCode::NotFound
                        | OciErrorCode::BlobUnknown
                )
            }) {
                Verdict::NotFound
            } else {
                Verdict::Fail
            }
        }
        E::IoError(_) => Verdict::Retry,
        // A digest that does not match what was asked for may be a corrupted
        // transfer: try once more before calling it tampering.
        E::DigestError(_) => Verdict::Retry,
        _ => Verdict::Fail,
    }
}

fn status_verdict(code: u16) -> Verdict {
    match code {
        401 => Verdict::Reauthenticate,
        404 => Verdict::NotFound,
        408 | 429 | 500..=504 => Verdict::Retry,
        _ => Verdict::Fail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy::default();
        assert!(
            p.delay(1) >= Duration::from_millis(250) && p.delay(1) < Duration::from_millis(300)
        );
        assert!(p.delay(3) >= Duration::from_secs(1));
        assert!(p.delay(30) <= DEFAULT_MAX_DELAY + DEFAULT_MAX_DELAY / 8);
    }

    #[test]
    fn statuses_are_sorted() {
        let server = |code| OciDistributionError::ServerError {
            code,
            url: String::new(),
            message: String::new(),
        };
        assert_eq!(classify(&server(503)), Verdict::Retry);
        assert_eq!(classify(&server(429)), Verdict::Retry);
        assert_eq!(classify(&server(404)), Verdict::NotFound);
        assert_eq!(classify(&server(400)), Verdict::Fail);
        assert_eq!(
            classify(&OciDistributionError::UnauthorizedError { url: String::new() }),
            Verdict::Reauthenticate
        );
    }
}
