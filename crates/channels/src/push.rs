//! What a push call can answer, the same for every channel, so that delivery in the worker is
//! one loop: per item, applied / stale / failed / not applied; per call, a failure that says
//! whether and when to try again.

use alloc::string::String;

/// The outcome of one quantity inside a batch call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ItemResult {
    /// The channel now shows the number sent.
    Applied,
    /// Compare-and-swap refused (Shopify `CHANGE_FROM_QUANTITY_STALE`): the channel's number is
    /// no longer what the hub last delivered. Read the current number (Shopify:
    /// `build_read_available`) and let the core decide (README: "the stale compare").
    Stale,
    /// This item alone was refused. `permanent` errors (unknown item, not stocked at the
    /// location) will not heal by retrying; the others may.
    Failed(ItemError),
    /// Not applied because *another* item of the same call was refused (an all-or-nothing
    /// mutation): send it again in the next call, without counting an attempt against it.
    NotApplied,
}

/// A channel's error for one item, as it said it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ItemError {
    pub code: String,
    pub message: String,
    pub permanent: bool,
}

/// Why a whole call produced no per-item results. Nothing in it was applied (or, for a lost
/// answer, the shell cannot know; a retry with the same idempotency key is then safe).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallFailure {
    /// Rate-limited: wait `wait_ms` (computed from the channel's own bucket figures, or its
    /// `Retry-After`), then send the same call again. Not a failed attempt.
    Throttled { wait_ms: u64 },
    /// The channel is down or erring (5xx, or 429 on a channel without a cost bucket): back off
    /// as for any failed delivery, at least `retry_after_ms` when the channel named one.
    Unavailable {
        status: u16,
        retry_after_ms: Option<u64>,
    },
    /// 401/403: the credentials are wrong or lack a scope. Retrying will not help until the
    /// merchant fixes the target; the listings are failing with this reason.
    Unauthorized { status: u16, message: String },
    /// Any other refusal of the call as a whole (a GraphQL `errors` entry, a 4xx).
    Rejected { status: u16, message: String },
    /// Shopify: the idempotency key cannot be used again (`IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED`,
    /// `IDEMPOTENCY_KEY_PARAMETER_MISMATCH`): derive a new key (another salt) and resend.
    NewKeyNeeded { code: String },
    /// Shopify: the same key is still being processed (`IDEMPOTENCY_CONCURRENT_REQUEST`):
    /// resend the same call with the same key after a short wait.
    InProgress,
    /// The answer is not the documented shape.
    Malformed(String),
}

impl CallFailure {
    /// Whether this failure should count as a delivery attempt (exponential backoff). Throttling
    /// and an in-progress idempotent call are the channel pacing us, not failing.
    pub fn counts_as_attempt(&self) -> bool {
        !matches!(
            self,
            CallFailure::Throttled { .. }
                | CallFailure::InProgress
                | CallFailure::NewKeyNeeded { .. }
        )
    }

    /// The least time to wait before the next call to this channel, if the channel said so.
    pub fn wait_ms(&self) -> Option<u64> {
        match self {
            CallFailure::Throttled { wait_ms } => Some(*wait_ms),
            CallFailure::Unavailable { retry_after_ms, .. } => *retry_after_ms,
            CallFailure::InProgress => Some(1_000),
            _ => None,
        }
    }
}
